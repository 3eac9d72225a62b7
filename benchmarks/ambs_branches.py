"""AMBS throughput: one shared pass through the branch layer then N = 3 batched branches, against the naive 1-to-N
baseline of N independent full passes, on the same prompts, with the outputs checked identical (bound inactive).

    python benchmarks/ambs_branches.py [--model NAME] [--prompts 4] [--tokens 16] [--repeats 3]

Prompt pass: for L shared blocks of D the compute bound is N / (L/D + N·(1 − L/D)) — 1.5× for N = 3 at half
depth; the target is ≥ 90 % of it. End-to-end generation is reported too: ``combined`` decoding keeps the prefix
shared at every step, ``branches`` decoding shares only the prompt pass. The three vectors are random directions
scaled to 10 % of the residual stream's typical norm (timing does not depend on what they encode). Ends with one
`figure_name: value` line per figure.
"""
from __future__ import annotations

import argparse

import torch

PROMPT = ("Summarise the following note for a colleague in two sentences, keeping every number: the quarterly "
          "review moved to Thursday at 10:30, the budget for the field study rose from 12,000 to 14,500 euros, "
          "two new interviewers start on the 3rd, and the ethics board asked for the consent form in plain "
          "language before the pilot with 40 participants. Topic {i}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="a causal LM (default: the profile's steering LM)")
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from transformers.utils import logging as hf_logging

    from workbench.models import load
    from workbench.profiles import active_profile
    from workbench.steering.ambs import Branches, _encode, decode, time_prompt_pass
    from workbench.steering.hooks import decoder_layers
    from workbench.steering.vectors import read_activations
    from workbench.timing import best_of

    hf_logging.disable_progress_bar()
    name = args.model or active_profile().model_for("steering_lm")
    lm = load(name)
    depth = len(decoder_layers(lm.model))
    prompts = [PROMPT.format(i=i) for i in range(args.prompts)]
    ids, mask = _encode(lm, prompts)
    print(f"model {name} ({depth} blocks) on {lm.device}; {len(prompts)} prompts of {ids.shape[1]} tokens; N = 3")
    g = torch.Generator().manual_seed(0)
    figures = {}
    for shared in sorted({max(1, depth // 4), depth // 2, (3 * depth) // 4}):
        layer = shared - 1
        scale = read_activations(lm, prompts[:1], ["ok"], [layer])[layer].norm().item() * 0.1
        vectors = {k: torch.randn(lm.model.config.hidden_size, generator=g) for k in ("a", "b", "c")}
        vectors = {k: v / v.norm() * scale for k, v in vectors.items()}
        branches = Branches.from_vectors(lm.model, layer, vectors)
        r = time_prompt_pass(lm.model, ids, mask, branches, repeats=args.repeats)
        print(f"L = {shared:>2}/{depth}: prompt pass shared {r['shared_s'] * 1000:.0f} ms, naive "
              f"{r['naive_s'] * 1000:.0f} ms, speedup {r['speedup']:.2f}× (bound {r['bound']:.2f}×, "
              f"{100 * r['speedup'] / r['bound']:.0f} % of it); same next token: {r['same_argmax']}, max |Δlogit| "
              f"{r['max_logit_diff']:.1e}")
        figures[shared] = r
        if shared == depth // 2:
            for mode in ("combined", "branches"):
                ours = decode(lm.model, ids, mask, branches, args.tokens, mode=mode)
                same = torch.equal(ours, decode(lm.model, ids, mask, branches, args.tokens, mode=mode, naive=True))
                t_ours = best_of(lambda: decode(lm.model, ids, mask, branches, args.tokens, mode=mode),
                                 args.repeats)
                t_naive = best_of(lambda: decode(lm.model, ids, mask, branches, args.tokens, mode=mode,
                                                 naive=True), args.repeats)
                figures[mode] = {"speedup": t_naive / t_ours, "same": same,
                                 "tokens_per_s": len(prompts) * args.tokens / t_ours}
                print(f"  generation ({mode}, {args.tokens} tokens): ours {t_ours:.2f} s, naive {t_naive:.2f} s, "
                      f"speedup {t_naive / t_ours:.2f}×; identical tokens: {same}")
    half = figures[depth // 2]
    print(f"speedup_n3_half_depth: {half['speedup']:.3f}")
    print(f"bound_n3_half_depth: {half['bound']:.3f}")
    print(f"fraction_of_bound_half_depth: {half['speedup'] / half['bound']:.3f}")
    for shared in sorted(k for k in figures if isinstance(k, int)):
        print(f"speedup_n3_L{shared}_of_{depth}: {figures[shared]['speedup']:.3f}")
    print(f"generation_speedup_combined: {figures['combined']['speedup']:.3f}")
    print(f"generation_speedup_branches: {figures['branches']['speedup']:.3f}")
    identical = all(f["same_argmax"] for k, f in figures.items() if isinstance(k, int)) and all(
        figures[m]["same"] for m in ("combined", "branches"))
    print(f"outputs_identical: {int(identical)}")


if __name__ == "__main__":
    main()
