"""`workbench caption run FILE` and `workbench caption eval --data DIR` (P9 zero-shot audio captioning; formerly
`workbench caption FILE` and `workbench caption-eval`, still accepted as hidden aliases).

Registered by ``workbench.cli.main``; the captioning modules are imported inside the commands."""
from __future__ import annotations

import argparse
import sys

from workbench import WorkbenchError
from workbench.cli.common import (add_json, add_track, command, group, print_json, print_table, progress, tracked,
                                  wants_json)

group("caption", "zero-shot audio captioning (P9): `caption run FILE`, `caption eval --data DIR`")


def _decoding_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--keywords", type=int, default=2, help="l, the number of keywords in the prompt")
    p.add_argument("--k", type=int, default=45, help="candidates per step (contrastive and MAGIC)")
    p.add_argument("--alpha", type=float, default=0.0, help="MAGIC's degeneration penalty α, as in the audio port")
    p.add_argument("--beta", type=float, default=0.5, help="MAGIC's audio weight β, as in the audio port")
    p.add_argument("--max-new-tokens", type=int, default=20)
    p.add_argument("--vocabulary", help="a keyword CSV (a keyword column, or AudioSet's class_labels_indices.csv)")
    p.add_argument("--scorer", help="the audio-text model that ranks keywords and guides MAGIC (default: the "
                                    "profile's; default profile: tiny-clap or tiny-clap-small; paper profile: its "
                                    "CLAP or hf:REPO for another CLAP-family model in the local cache)")


def _caption_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="an audio file (.wav .flac .mp3 .ogg .m4a)")
    p.add_argument("--decoder", default="all", help="magic, greedy, contrastive or all (default)")
    _decoding_args(p)
    add_json(p, "keywords, prompt, captions, audio scores and models")


def _eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="a caption set folder (manifest.parquet, Clotho CSV, CSV or JSON) "
                                                 "or 'synthetic' (the held-out synthetic clips)")
    _decoding_args(p)
    p.add_argument("--ablation", default="0,1,2,3,5", help="keyword counts for the MAGIC ablation")
    p.add_argument("--limit", type=int, help="at most N clips")
    p.add_argument("--out", help="write metrics.csv, ablation.csv and outputs.parquet here")
    p.add_argument("--no-judge", action="store_true",
                   help="skip the independent judge (default profile: a second audio-text model that never guides "
                        "decoding, trained once and cached); the guide's own cosine is then the only audio score")
    add_track(p)
    add_json(p, "the metrics, the keyword ablation and what was not computed")


def _captioner(vocabulary: str | None, scorer: str | None = None, tracker=None):
    from workbench.captioning.captioner import Captioner, captioner_for_profile
    from workbench.captioning.synth import load_vocabulary
    from workbench.cli.common import message
    from workbench.prepare import first_use_notice

    if scorer in (None, "tiny-clap"):
        first_use_notice("tiny-clap", "training the audio-text model (tiny-clap)", message)
    with progress("audio-text model (trained once, then cached)") as update:
        report = tracker.watch(update, "audio-text model") if tracker else update
        captioner = captioner_for_profile(scorer=scorer, progress=report)
    if vocabulary:
        captioner = Captioner(captioner.scorer, captioner.lm, load_vocabulary(vocabulary))
    return captioner


def _check(args) -> None:
    if args.keywords < 0 or args.k < 1 or args.max_new_tokens < 1:
        raise WorkbenchError("--keywords must be ≥ 0, --k and --max-new-tokens ≥ 1")


@command("caption run", "caption an audio clip: keywords, prompt, greedy / contrastive / MAGIC captions (P9)",
         _caption_args)
def _caption(args) -> int:
    from workbench.captioning.captioner import DECODERS, MAX_SECONDS
    from workbench.captioning.clap import SR
    from workbench.media.audio import load_audio

    _check(args)
    decoders = DECODERS if args.decoder == "all" else (args.decoder,)
    if any(d not in DECODERS for d in decoders):
        raise WorkbenchError(f"unknown decoder '{args.decoder}'; choose from {', '.join(DECODERS)} or all")
    try:
        audio = load_audio(args.file, sr=SR, max_seconds=MAX_SECONDS)
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    captioner = _captioner(args.vocabulary, args.scorer)
    out = captioner.caption(audio, l=args.keywords, decoders=decoders, k=args.k, alpha=args.alpha, beta=args.beta,
                            max_new_tokens=args.max_new_tokens)
    if wants_json(args):
        print_json({"keywords": out["keywords"], "prompt": out["prompt"], "captions": out["captions"],
                          "audio_scores": out["audio_scores"], "models": captioner.models})
        return 0
    print("keywords: " + (", ".join(f"{kw['keyword']} ({kw['score']:.3f})" for kw in out["keywords"]) or "(none)"))
    print(f"prompt: {out['prompt']!r}")
    for name, text in out["captions"].items():
        print(f"{name:>12}: {text}   [audio–caption cosine {out['audio_scores'][name]:+.3f}, self-scored]")
    print(f"[{', '.join(captioner.models)}] · the cosine is self-scored: the model that guides MAGIC; "
          "`workbench caption eval` adds an independent judge")
    return 0


@command("caption eval", "caption a set and score it: BLEU, METEOR, ROUGE-L, CIDEr-D, NLG mean, keyword "
                         "ablation", _eval_args)
def _caption_eval(args) -> int:
    from pathlib import Path

    from workbench.captioning.evaluation import load_caption_set

    _check(args)
    try:
        ablation = [int(x) for x in args.ablation.split(",") if x.strip()]
    except ValueError:
        raise WorkbenchError(f"--ablation takes comma-separated integers, not '{args.ablation}'") from None
    if args.data == "synthetic":
        from workbench.captioning.synth import sound_corpus

        clips = sound_corpus().query("split == 'eval'")[["id", "path", "captions"]]
    else:
        clips = load_caption_set(args.data)
    if args.limit:
        clips = clips.head(args.limit)
    with tracked(args, "caption eval") as tracker:
        result = _caption_eval_run(args, clips, ablation, tracker)
    if args.out:
        _write_eval(Path(args.out), result)
    if wants_json(args):
        print_json({"clips": len(clips), "keywords": args.keywords, "models": result["models"],
                    "metrics": result["metrics"], "ablation": result["ablation"],
                    "not_computed": result["not_computed"], "judge": result.get("judge"), "out": args.out})
        return 0
    cols = ["decoder", *[c for c in result["metrics"].columns if c not in ("decoder", "l", "clips")]]
    print(f"{len(clips)} clips · l = {args.keywords} · scores ×100 · {', '.join(result['models'])}")
    print_table([{c: (f"{r[c]:.2f}" if isinstance(r[c], float) else r[c]) for c in cols}
                 for r in result["metrics"].to_dict("records")], cols)
    print("not computed: " + "; ".join(f"{k} ({v})" for k, v in result["not_computed"].items()))
    print("audio–caption cosine: self-scored (the model that guides MAGIC)"
          + (f"; independent judge: {result['judge']}" if result.get("judge") else "; no independent judge"))
    print("keyword ablation (MAGIC):")
    print_table([{"l": r["l"], "NLG mean": f"{r['NLG mean']:.2f}", "CIDEr-D": f"{r['CIDEr-D']:.2f}",
                  "cosine (self-scored)": f"{r['audio–caption cosine']:+.3f}"} for r in result["ablation"].to_dict(
                 "records")], ["l", "NLG mean", "CIDEr-D", "cosine (self-scored)"])
    if args.out:
        print(f"wrote {Path(args.out)}/metrics.csv, ablation.csv, outputs.parquet")
    return 0


def _caption_eval_run(args, clips, ablation: list[int], tracker) -> dict:
    """The models (trained on first use: their losses go to ``tracker``), the captions and their scores."""
    from workbench.captioning.evaluation import evaluate

    captioner = _captioner(args.vocabulary, args.scorer, tracker)
    judge = None
    if not args.no_judge:
        from workbench.captioning.clap import judge_scorer
        from workbench.profiles import active_profile

        if active_profile().name == "default":
            with progress("independent judge (trained once, then cached)") as update:
                judge = judge_scorer(progress=tracker.watch(update, "judge"))
    with progress("captioning") as update:
        result = evaluate(captioner, clips, l=args.keywords, ablation=ablation, k=args.k, alpha=args.alpha,
                          beta=args.beta, max_new_tokens=args.max_new_tokens, progress=tracker.watch(update),
                          judge=judge)
    tracker.log_metrics({**{r["decoder"]: r for r in result["metrics"].to_dict("records")},
                         "ablation": {f"l={r['l']}": r for r in result["ablation"].to_dict("records")}})
    return result


def _write_eval(out, result: dict) -> None:
    """``caption eval --out``: metrics.csv, ablation.csv and outputs.parquet, each under a temporary name first."""
    from workbench.io import write_text

    out.mkdir(parents=True, exist_ok=True)
    write_text(result["metrics"].to_csv(index=False), out / "metrics.csv")
    write_text(result["ablation"].to_csv(index=False), out / "ablation.csv")
    tmp = out / ".outputs.parquet.tmp"
    result["outputs"].to_parquet(tmp, index=False)
    tmp.replace(out / "outputs.parquet")
