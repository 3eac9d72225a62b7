"""MAGIC search (P9 captioning) batched, against greedy decoding and against MAGIC done naively, on one LM.

    python benchmarks/magic_decoding.py [--quick] [--model smollm2-135m-instruct] [--tokens 8] [--repeats 2]

Per prompt (keywords → ``caption_prompt`` with the chat template) it times, best of ``--repeats`` taken
round-robin over the methods (the machine's load then hits them alike):

* ``greedy`` — our own loop on the same LM (prefill, then one token per step on the KV cache);
* ``magic_a0`` — k = 45, α = 0, β = 0.5 (the audio port's setting) as ``magic`` runs it by default: α = 0, so
  only the winner goes through the LM (one scorer call with the 45 texts per step);
* ``magic_a0_full`` — the same search forced through the full batched step (``alpha0_shortcut=False``): one LM
  forward over the 45 candidates per step (the prefix cache repeated 45 times), as the reference code does;
* ``magic_a0.1`` — α = 0.1, batched (the candidates' hidden states are needed); ``tree_a0.1`` — the same with the
  ``tree`` layout (no cache copy);
* ``naive_a0`` / ``naive_a0.1`` — the search with one cache copy, one forward and one scorer call per candidate
  (timed once: it is slow).

Every run generates exactly ``--tokens`` tokens (``stop_at_period=False``) so per-token times compare like with
like; per-token times are decoding times, the prompt pass (the same for every method, and on a loaded CPU several
times a decoding step) left out — the ratio with it included is printed too. The captions shown are cut at the
first sentence end as usual. Batched and naive must choose the same tokens.

Scorer: ``workbench.captioning.clap.default_scorer()`` when it imports and loads, the audio embedding being that
of a synthetic clip of the prompt's sound class (``workbench.captioning.synth.render``; failing that, CLAP's text
embedding of a reference caption). Otherwise a stand-in — MiniLM (``load("minilm-l6")``): text_logits =
10 · cos(MiniLM(text), MiniLM(reference caption)), i.e. the fixed "audio" embedding is the embedding of a
reference caption. The output says which one ran.

Ends with ``magic_vs_greedy_per_token`` (α = 0, k = 45, as ``magic`` runs by default),
``magic_vs_greedy_per_token_alpha_0.1`` (batched), ``speedup_vs_unbatched_magic`` (naive / batched per-token time
at α = 0.1, where both must run all 45 candidates; the α = 0 ratios are printed above it) and ``outputs_equal``
(1 when every batched variant chose the same tokens as naive, for every prompt and both α).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from workbench.captioning.decoding import caption_prompt, greedy, magic, magic_naive
from workbench.models import load
from workbench.timing import best_of

PROMPTS = [   # (synthetic sound class, keywords for the prompt, reference caption)
    ("siren", ["siren", "alarm"], "A siren wails as an emergency vehicle passes by."),
    ("rain", ["rain", "water"], "Heavy rain falls on a roof."),
    ("chirp", ["bird", "chirp"], "A bird chirps and sings in the morning."),
    ("engine", ["engine", "vehicle"], "A car engine idles and then revs up loudly."),
]
K, BETA = 45, 0.5


class MiniLMStandIn:
    """Stand-in audio-text model: 10 · cos(MiniLM(text), audio embedding), the audio being a caption's embedding."""

    name = "stand-in: MiniLM text scorer, 'audio' = MiniLM embedding of a reference caption, logit scale 10"
    logit_scale = 10.0

    def __init__(self):
        self.encoder = load("minilm-l6")

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(list(texts), normalize=True)

    def text_logits(self, audio_embedding, texts):
        a = np.asarray(audio_embedding, dtype=np.float32)
        return self.logit_scale * (self.embed(texts) @ (a / np.linalg.norm(a)))


class Timed:
    """Wraps a scorer, adding up the time spent in it and the number of calls."""

    def __init__(self, scorer):
        self.scorer, self.seconds, self.calls = scorer, 0.0, 0

    def text_logits(self, audio_embedding, texts):
        start = time.perf_counter()
        try:
            return self.scorer.text_logits(audio_embedding, texts)
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1


def make_scorer():
    """(scorer, audio_for(sound_class, reference_caption) -> embedding, description).

    CLAP (``default_scorer``) with the embedding of a synthetic clip of the class (``workbench.captioning.synth``),
    else CLAP with the text embedding of the reference caption, else the MiniLM stand-in."""
    try:
        from workbench.captioning.clap import default_scorer

        scorer = default_scorer()
        try:
            from workbench.captioning.synth import render

            scorer.embed_audio([render("rain", rng=0)])
            return scorer, (lambda cls, ref: scorer.embed_audio([render(cls, rng=0)])[0]), (
                f"CLAP default_scorer() ({getattr(scorer, 'name', type(scorer).__name__)}); audio = a synthetic "
                "clip of the class (workbench.captioning.synth.render, seed 0)")
        except Exception as exc:   # noqa: BLE001 — no clips: the reference caption's text embedding instead
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:120]
            return scorer, (lambda cls, ref: scorer.embed_text([ref])[0]), (
                f"CLAP default_scorer(); 'audio' = its text embedding of a reference caption (no clip: {reason})")
    except Exception as exc:   # noqa: BLE001 — any failure to get CLAP means the stand-in
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
    stand_in = MiniLMStandIn()
    return stand_in, (lambda cls, ref: stand_in.embed([ref])[0]), f"{stand_in.name} (CLAP not used — {reason})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--quick", action="store_true", help="2 prompts, 5 tokens, 1 repeat")
    parser.add_argument("--prompts", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    n_prompts, n_tokens, repeats = (2, 5, 1) if args.quick else (args.prompts, args.tokens, args.repeats)

    lm = load(args.model)
    raw_scorer, audio_for, description = make_scorer()
    scorer = Timed(raw_scorer)
    print(f"model: {lm.name} on {lm.device}; scorer: {description}")
    print(f"{n_prompts} prompts, {n_tokens} tokens each, k={K}, beta={BETA}, best of {repeats} (naive: 1)")

    warm = caption_prompt(lm, ["cat"])
    greedy(lm, warm, max_new_tokens=2)                                           # warm-up, not timed
    magic(lm, warm, scorer, audio_for(*PROMPTS[0][::2]), k=K, max_new_tokens=2)

    totals: dict[str, list[float]] = {}          # best-of wall clock of the whole call, prefill included
    decode: dict[str, list[float]] = {}          # best decoding time, the prompt pass left out
    tokens: dict[str, list[int]] = {}
    equal = True
    for sound, keywords, reference in PROMPTS[:n_prompts]:
        prompt = caption_prompt(lm, keywords)
        audio = audio_for(sound, reference)
        common = dict(k=K, beta=BETA, max_new_tokens=n_tokens, stop_at_period=False)
        runs = {
            "greedy": lambda: greedy(lm, prompt, max_new_tokens=n_tokens, stop_at_period=False),
            "magic_a0": lambda: magic(lm, prompt, scorer, audio, alpha=0.0, **common),
            "magic_a0_full": lambda: magic(lm, prompt, scorer, audio, alpha=0.0, alpha0_shortcut=False, **common),
            "magic_a0.1": lambda: magic(lm, prompt, scorer, audio, alpha=0.1, **common),
            "tree_a0.1": lambda: magic(lm, prompt, scorer, audio, alpha=0.1, layout="tree", **common),
            "naive_a0": lambda: magic_naive(lm, prompt, scorer, audio, alpha=0.0, **common),
            "naive_a0.1": lambda: magic_naive(lm, prompt, scorer, audio, alpha=0.1, **common),
        }
        # Repeats go round-robin over the methods, so that a change in the machine's load hits them all alike.
        done: dict[str, list] = {name: [] for name in runs}
        totals_now: dict[str, float] = {name: float("inf") for name in runs}
        scorer_s = {name: 0.0 for name in runs}
        for r in range(repeats):
            for name, fn in runs.items():
                if name.startswith("naive") and r:
                    continue                                   # the naive search is timed once
                before = scorer.seconds
                totals_now[name] = min(totals_now[name], best_of(lambda fn=fn, name=name: done[name].append(fn()), 1))
                scorer_s[name] += scorer.seconds - before
        outs = {}
        for name in runs:
            out = min(done[name], key=lambda o: o.decode_seconds)
            outs[name] = out
            totals.setdefault(name, []).append(totals_now[name])
            decode.setdefault(name, []).append(out.decode_seconds)
            tokens.setdefault(name, []).append(out.tokens)
            share = scorer_s[name] / max(1e-9, sum(o.decode_seconds for o in done[name]))
            print(f"  [{'/'.join(keywords)}] {name:13s} {out.per_token_s * 1000:8.1f} ms/token decoding, scorer "
                  f"{share:4.0%} of it; prefill {out.prefill_seconds * 1000:6.0f} ms: {out.text!r}")
        pairs = [("magic_a0", "naive_a0"), ("magic_a0_full", "naive_a0"), ("magic_a0.1", "naive_a0.1"),
                 ("tree_a0.1", "naive_a0.1")]
        for batched, naive in pairs:
            if outs[batched].token_ids != outs[naive].token_ids:
                print(f"  [{'/'.join(keywords)}] {batched} and {naive} chose different tokens")
                equal = False

    per_token = {name: sum(decode[name]) / sum(tokens[name]) for name in decode}
    with_prefill = {name: sum(totals[name]) / sum(tokens[name]) for name in totals}
    for name in per_token:
        print(f"{name}: {per_token[name] * 1000:.1f} ms/token decoding "
              f"({with_prefill[name] * 1000:.1f} ms/token with the prompt pass)")
    ratio = lambda a, b: per_token[a] / per_token[b]   # noqa: E731
    print(f"magic_vs_greedy_per_token_with_prefill: {with_prefill['magic_a0'] / with_prefill['greedy']:.2f}")
    print(f"magic_vs_greedy_per_token_alpha_0_full: {ratio('magic_a0_full', 'greedy'):.2f}")
    print(f"tree_vs_greedy_per_token_alpha_0.1: {ratio('tree_a0.1', 'greedy'):.2f}")
    print(f"speedup_vs_unbatched_magic_alpha_0_full: {ratio('naive_a0', 'magic_a0_full'):.1f}")
    print(f"speedup_vs_unbatched_magic_alpha_0_default: {ratio('naive_a0', 'magic_a0'):.1f}")
    print(f"magic_vs_greedy_per_token: {ratio('magic_a0', 'greedy'):.2f}")
    print(f"magic_vs_greedy_per_token_alpha_0.1: {ratio('magic_a0.1', 'greedy'):.2f}")
    print(f"speedup_vs_unbatched_magic: {ratio('naive_a0.1', 'magic_a0.1'):.1f}")
    print(f"outputs_equal: {int(equal)}")

if __name__ == "__main__":
    main()
