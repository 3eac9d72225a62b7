"""Label scoring with the shared prefix computed once (its KV cache reused by all labels, packed in one pass)
against the naive way
(one full forward pass per label), on the same prompts with the taxonomy classifier's real prompt.

    python benchmarks/label_scoring.py [--model smollm2-135m-instruct] [--n-prompts 1]

Checks the label probabilities agree within 1e-4, prints the measured speedups and the bound set by the tokens
each way processes (naive L·(P+S) against P + L·S), and ends with `speedup_safety_vs_naive` and
`speedup_value_vs_naive`.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from workbench.datasets import safety_check_set
from workbench.models import load
from workbench.taxonomy import dimension
from workbench.taxonomy.classify import classify_llm, llm_continuations, llm_prefix


def measure(lm, texts, dim_name, max_packed_tokens):
    timings, results = {}, {}
    for reuse in (True, False):
        start = time.perf_counter()
        results[reuse] = classify_llm(texts, dim_name, lm, reuse_prefix=reuse, max_packed_tokens=max_packed_tokens)
        timings[reuse] = time.perf_counter() - start
    diff = float(np.abs(results[True].probs - results[False].probs).max())
    dim = dimension(dim_name)
    tok = lm.tokenizer
    p = np.mean([len(tok.encode(llm_prefix(lm, dim, t), add_special_tokens=False)) for t in texts])
    conts = [len(tok.encode(c, add_special_tokens=False)) for c in llm_continuations(dim)]
    naive_tokens, shared_tokens = sum(p + s for s in conts), p + sum(conts)
    return timings[False] / timings[True], naive_tokens / shared_tokens, diff, timings, p, len(conts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--n-prompts", type=int, default=1)
    parser.add_argument("--max-packed-tokens", type=int, default=2048)
    args = parser.parse_args()

    lm = load(args.model)
    texts = safety_check_set()["text"].tolist()[: args.n_prompts]
    classify_llm(texts[:1], "safety", lm)                              # warm-up, not timed
    figures = {}
    for dim_name in ("safety", "value"):
        speedup, bound, diff, timings, p, n_labels = measure(lm, texts, dim_name, args.max_packed_tokens)
        print(f"{dim_name}: {n_labels} labels, prefix {p:.0f} tokens; shared {timings[True]:.1f} s, "
              f"naive {timings[False]:.1f} s; speedup {speedup:.1f}x (token bound {bound:.1f}x); "
              f"max |Δp| {diff:.2e}")
        if diff > 1e-4:
            raise SystemExit(f"{dim_name}: scores differ by {diff:.2e} > 1e-4")
        figures[dim_name] = (speedup, bound)
    print(f"model: {args.model}, {len(texts)} prompts, device {lm.device}")
    print(f"bound_safety_tokens: {figures['safety'][1]:.1f}")
    print(f"bound_value_tokens: {figures['value'][1]:.1f}")
    print(f"speedup_safety_vs_naive: {figures['safety'][0]:.1f}")
    print(f"speedup_value_vs_naive: {figures['value'][0]:.1f}")


if __name__ == "__main__":
    main()
