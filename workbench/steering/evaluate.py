"""Measuring what a steering vector does.

* ``answer_scores(lm, prompts, answers)`` — the mean per-token log-probability of each answer after its prompt
  (the prompt through the chat template), under whatever steering is active: ``answer_probs`` with
  ``normalize="mean"``, each prompt with its own answer.
* ``behaviour_probability`` [ours, after CAA's A/B behaviour probability] — for held-out (prompt, positive,
  negative) triples: p_i = σ(s(positive_i) − s(negative_i)) with s the mean per-token log-probability, averaged
  over the triples — the readout's ``probs`` of [positive, negative] with ``normalize="mean"``. 0.5 = no
  preference; it rises when steering pushes the model toward the positive answers.
  CAA reads the probability of the matching answer letter in an A/B question; reading whole answers needs no
  reformatting of the pairs and works for free-form ones.
* ``sweep`` — the behaviour probability for every (layer, multiplier), the curve users plot.
* ``generation_shift`` [ours] — whether steered generations land nearer the positive reference answers than the
  negative ones, by sentence-embedding cosine (no LLM judge needed).
"""
from __future__ import annotations

import numpy as np

from workbench import WorkbenchError


def _readout(lm, prompts, answers: list[list[str]], batch_size: int):
    from workbench.llm.generate import build_prompt
    from workbench.llm.readout import answer_probs

    if not prompts or len(answers) != len(prompts):
        raise WorkbenchError(f"need as many answers as prompts (got {len(prompts)} and {len(answers)}), at least one")
    return answer_probs(lm, [build_prompt(lm, p) for p in prompts], answers, normalize="mean", batch_size=batch_size)


def answer_scores(lm, prompts: list[str], answers: list[str], *, batch_size: int = 8) -> np.ndarray:
    """Mean per-token log p(answer | prompt) for each pair [N]."""
    return _readout(lm, list(prompts), [[a] for a in answers], batch_size).logprob[:, 0]


def behaviour_probability(lm, prompts, positives, negatives, *, batch_size: int = 8) -> dict:
    """Mean σ(s(positive) − s(negative)) over the triples, with the per-triple values (see the module doc)."""
    if len(positives) != len(negatives):
        raise WorkbenchError(f"need as many negatives as positives (got {len(positives)} and {len(negatives)})")
    read = _readout(lm, list(prompts), [[p, n] for p, n in zip(positives, negatives)], batch_size)
    pos, neg, p = read.logprob[:, 0], read.logprob[:, 1], read.probs[:, 0]
    return {"behaviour_p": float(p.mean()), "prefers_positive": float((pos > neg).mean()), "n": len(p),
            "per_item": p}


def sweep(lm, vector, prompts, positives, negatives, *, layers=None, multipliers=(-2, -1, 0, 1, 2),
          positions: str = "all", progress=None):
    """Behaviour probability at every (layer, multiplier); one row each (layer, multiplier, behaviour_p,
    prefers_positive, n)."""
    import pandas as pd

    from workbench.steering.hooks import steer

    layers = list(layers) if layers is not None else vector.layers
    missing = [layer for layer in layers if layer not in vector.vectors]
    if missing:
        raise WorkbenchError(f"the vector has no layer(s) {missing}; it has {vector.layers}")
    rows, total = [], len(layers) * len(multipliers)
    for layer in layers:
        for m in multipliers:
            with steer(lm.model, {layer: vector.vectors[layer]}, multiplier=float(m), positions=positions):
                r = behaviour_probability(lm, prompts, positives, negatives)
            rows.append({"layer": layer, "multiplier": float(m), "behaviour_p": r["behaviour_p"],
                         "prefers_positive": r["prefers_positive"], "n": r["n"]})
            if progress:
                progress(len(rows) / total, f"layer {layer}, multiplier {m:+g}: p {r['behaviour_p']:.3f}")
    return pd.DataFrame(rows)


def generation_shift(lm, encoder, prompts, positives, negatives, vector, layer: int, *,
                     multipliers=(0.0, 2.0), max_new_tokens: int = 40, progress=None):
    """Do steered *generations* move toward the positive answers? [ours]

    For each multiplier the model answers the held-out prompts (greedy, steered at every position); a sentence
    encoder embeds each generation and the pair's two reference answers; margin = cos(generation, positive) −
    cos(generation, negative). One row per multiplier: share of generations closer to the positive answer, mean
    margin, and the generations themselves (list)."""
    import pandas as pd

    from workbench.llm.generate import generate
    from workbench.steering.hooks import steer

    if layer not in vector.vectors:
        raise WorkbenchError(f"the vector has no layer {layer}; it has {vector.layers}")
    pos = encoder.encode(list(positives))
    neg = encoder.encode(list(negatives))
    rows = []
    for k, m in enumerate(multipliers):
        with steer(lm.model, {layer: vector.vectors[layer]}, multiplier=float(m)):
            texts = generate(lm, list(prompts), max_new_tokens=max_new_tokens)
        emb = encoder.encode([t or "(empty)" for t in texts])
        margin = (emb * pos).sum(1) - (emb * neg).sum(1)
        rows.append({"multiplier": float(m), "closer_to_positive": float((margin > 0).mean()),
                     "mean_margin": float(margin.mean()), "n": len(texts), "generations": texts})
        if progress:
            progress((k + 1) / len(multipliers), f"generations at ×{m:g}")
    return pd.DataFrame(rows)


__all__ = ["answer_scores", "behaviour_probability", "generation_shift", "sweep"]
