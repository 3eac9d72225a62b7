"""First use after preparation: how long the first `deepfake score`, `meme classify` and `caption run` take, and how
many (prompt, response) pairs per second `eval misalign` scores with SmolLM2 (issue 23).

Run after `workbench models prepare --all` (or `make demo` once its preparation is done; what is not prepared yet is
prepared first, outside the timings). Each command runs as a user runs it, in a fresh process (`python -m
workbench.cli … --json`), so its time includes starting Python and loading the models; its input is a held-out file
of the synthetic corpus that preparation made (a clip, a meme, a sound).
Targets: each command under 30 s.

`eval misalign` throughput: the bundled pairs (`data/eval/response_pairs.csv`, one row per response) scored by the
SmolLM2 joint detector as the command does (long pairs cut to ``detectors.TRUNCATION`` tokens, questions batched by
length), the model loaded beforehand; the baseline is one pair at a time without the cut, measured on the first
rows in the same run; and the slowest case, the same pairs lengthened until every prompt and response is cut at its
limit. Target: at least 2 pairs per second.

    python benchmarks/first_use.py [--pairs N] [--baseline-pairs N] [--smoke]

``--smoke``: the tiny models the tests prepare (`workbench models prepare --all --smoke`), a few pairs; checks the
script, not the targets. Ends with `first_deepfake_score_s`, `first_meme_classify_s`, `first_caption_s`,
`misalign_pairs_per_s`, `misalign_baseline_pairs_per_s`, `misalign_speedup`, `misalign_rows_cut`,
`misalign_pairs_per_s_at_cut` and `misalign_at_cut_rows_cut`.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

TARGET_FIRST_USE_S = 30.0
TARGET_PAIRS_PER_S = 2.0


def timed(command: list[str]) -> tuple[float, dict | None]:
    """Wall seconds of ``workbench COMMAND --json`` in a fresh process, and its JSON (None when it failed)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "workbench.cli", *command, "--json"], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        print(f"  failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:] or ''}")
        return seconds, None
    return seconds, json.loads(done.stdout)


def inputs(smoke: bool) -> dict[str, list[str]]:
    """The three commands, each on a held-out file of the corpus its model was trained on (made by preparation)."""
    from workbench.captioning.synth import sound_corpus
    from workbench.memes.ablation import synthetic_set
    from workbench.prepare import prepare_steps, smoke_clap

    steps = {s.name: s for s in prepare_steps(smoke=smoke)}
    missing = [s for s in steps.values() if not s.ready()]
    if missing:                    # what `workbench models prepare --all` does; not part of the first-use times
        from workbench.cli.progress import stage
        from workbench.prepare import prepare

        print(f"== preparing first (not timed as first use): {', '.join(s.name for s in missing)}")
        with stage("preparing") as update:
            prepare(missing, progress=update, say=print)
    from workbench.deepfake.training import SyntheticSpec, smoke_spec, synthetic_data
    from workbench.memes.ablation import smoke_configs

    clips = synthetic_data(smoke_spec() if smoke else SyntheticSpec())
    clip = clips[(clips["split"] == "eval") & clips["path"].str.endswith(".mp4")]["path"].iloc[0]
    memes = synthetic_set(smoke_configs()[0] if smoke else None).frame
    meme = memes[memes["split"] != "train"].iloc[0]
    sounds = sound_corpus(smoke_clap()[0] if smoke else None)
    sound = sounds[sounds["split"] == "eval"]["path"].iloc[0]
    # smoke: the tiny models by folder (the commands' defaults are the full ones); caption run has no folder option
    deepfake_model = ["--model", str(steps["deepfake"].folder)] if smoke else []
    meme_model = ["--model", str(steps["memes"].folder)] if smoke else []
    commands = {"first_deepfake_score_s": ["deepfake", "score", str(clip), *deepfake_model],
                "first_meme_classify_s": ["meme", "classify", str(meme["image"]), "--text", str(meme["text"]),
                                          *meme_model]}
    if not smoke:
        commands["first_caption_s"] = ["caption", "run", str(sound), "--decoder", "magic"]
    return commands


def misalign_throughput(model: str, pairs: int, baseline_pairs: int, long_pairs: int) -> dict[str, float]:
    """Pairs per second of the joint detector as `eval misalign` runs it, of one pair at a time uncut, and of
    pairs that are all cut at the limits (the longest questions the command asks)."""
    import numpy as np

    from workbench.datasets import response_pairs
    from workbench.engines import load_engine
    from workbench.evaluation import detectors
    from workbench.evaluation.misalign import truncation_report

    rows = response_pairs()
    rows = rows.iloc[np.resize(np.arange(len(rows)), pairs)]            # repeated when more are asked for
    prompts, responses = rows["prompt"].tolist(), rows["response"].tolist()
    load_engine(model)                                                    # loaded once, outside the timing
    start = time.perf_counter()
    detectors.llm_scores(model, prompts, responses, [""])
    fast = len(rows) / (time.perf_counter() - start)

    engine = load_engine(model)
    texts = [engine.build_prompt(detectors.question(p, r)) + "Answer:"
             for p, r in zip(prompts[:baseline_pairs], responses[:baseline_pairs])]
    start = time.perf_counter()
    for text in texts:                                                    # one pair at a time, nothing cut
        engine.answer_probs([text], [" Yes", " No"], batch_size=1)
    slow = len(texts) / (time.perf_counter() - start)
    cut = truncation_report(model, prompts, responses)

    # the slowest case a real table can bring: every pair long enough to be cut at both limits (the bundled
    # pairs, each text repeated until it is), so that every question has the longest length the cut allows
    long_p = [" ".join([p] * (1 + 4 * detectors.TRUNCATION["prompt"] // max(len(p.split()), 1)))
              for p in prompts[:long_pairs]]
    long_r = [" ".join([r] * (1 + 4 * detectors.TRUNCATION["response"] // max(len(r.split()), 1)))
              for r in responses[:long_pairs]]
    start = time.perf_counter()
    detectors.llm_scores(model, long_p, long_r, [""])
    longest = len(long_p) / (time.perf_counter() - start)
    long_cut = truncation_report(model, long_p, long_r)
    return {"misalign_pairs_per_s": fast, "misalign_baseline_pairs_per_s": slow, "misalign_speedup": fast / slow,
            "misalign_rows_cut": cut["rows_cut"], "misalign_pairs_per_s_at_cut": longest,
            "misalign_at_cut_rows_cut": long_cut["rows_cut"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=300, help="rows `eval misalign` scores (default: every "
                                                               "bundled response)")
    parser.add_argument("--baseline-pairs", type=int, default=40, help="rows of the one-at-a-time baseline")
    parser.add_argument("--long-pairs", type=int, default=40, help="rows lengthened past both cuts (the slowest "
                                                                     "case)")
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--smoke", action="store_true", help="tiny prepared models, a few pairs (tiny-llama)")
    args = parser.parse_args()
    if args.smoke:
        args.pairs, args.baseline_pairs, args.model = min(args.pairs, 8), min(args.baseline_pairs, 4), "tiny-llama"
        args.long_pairs = min(args.long_pairs, 4)

    figures: dict[str, float] = {}
    for name, command in inputs(args.smoke).items():
        print(f"== workbench {' '.join(command[:2])}")
        seconds, result = timed(command)
        figures[name] = seconds
        print(f"  {seconds:.1f} s (target < {TARGET_FIRST_USE_S:.0f} s){'' if result else ' — FAILED'}")
    print(f"== eval misalign: {args.model}, {args.pairs} pairs (baseline: {args.baseline_pairs}, one at a time)")
    figures.update(misalign_throughput(args.model, args.pairs, args.baseline_pairs, args.long_pairs))
    print(f"  {figures['misalign_pairs_per_s']:.2f} pairs/s (target ≥ {TARGET_PAIRS_PER_S:g}); one at a time uncut "
          f"{figures['misalign_baseline_pairs_per_s']:.2f} pairs/s; ratio {figures['misalign_speedup']:.2f}; "
          f"{figures['misalign_rows_cut']} row(s) cut; every text cut at its limit "
          f"({figures['misalign_at_cut_rows_cut']} of {args.long_pairs} rows): "
          f"{figures['misalign_pairs_per_s_at_cut']:.2f} pairs/s")
    for name, value in figures.items():
        print(f"{name}: {value:.3g}")


if __name__ == "__main__":
    main()
