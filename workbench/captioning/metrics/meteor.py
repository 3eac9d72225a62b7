"""METEOR of P9 captions, reported as "METEOR (exact+stem)": Meteor 1.0 scoring with two matching stages.

Used by ``captioning.metrics.report`` (``evaluate_captions``) and re-exported by ``captioning.metrics``.

METEOR (``meteor``, reported as "METEOR (exact+stem)") [ours: METEOR is a Java jar; this is a Python version of
its scoring with the Meteor 1.0 parameters and only two matching stages]:

* stage 1 matches identical tokens, stage 2 matches still-unmatched tokens whose Porter stems are equal; there is
  no WordNet synonym or paraphrase stage (both need data downloads);
* within a stage every word type (stage 1) or stem (stage 2) is matched min(count in candidate, count in
  reference) times, so the matches are maximal; among those alignments the one with the fewest chunks is chosen
  by exhaustive search, falling back to pairing occurrences in order when more than 20 000 alignments exist;
* a chunk is a maximal run of matches adjacent and in the same order in both sentences;
* P = m / len(cand), R = m / len(ref), Fmean = P·R / (α·P + (1 − α)·R), penalty = γ·(chunks/m)^β,
  score = Fmean·(1 − penalty), α = 0.9, β = 3, γ = 0.5 (0 when m = 0); the score of a clip is the maximum over
  its references and [ours] the corpus score is the mean over clips (the jar aggregates statistics instead).
* the stemmer is nltk's Porter (1980) stemmer in the mode of Porter's reference implementation (its two step-2
  changes, bli → ble and logi → log; words of one or two letters left as they are), see ``porter``.

The numbers are therefore *not* those of the Meteor 1.5 jar used by pycocoevalcap (other parameters, synonyms,
paraphrases, function-word weighting).
"""
from __future__ import annotations

import itertools
import math
from typing import Sequence

from workbench import WorkbenchError
from workbench.captioning.metrics.porter import porter_stem
from workbench.captioning.metrics.tokens import tokenized

METEOR_NAME = "METEOR (exact+stem)"

_MAX_ALIGNMENTS = 20_000


def _classes(cand_keys, ref_keys, cand_free, ref_free) -> list[tuple[list[int], list[int]]]:
    """Positions (candidate, reference) of every key present on both sides, among the free positions."""
    by_key: dict = {}
    for i in cand_free:
        by_key.setdefault(cand_keys[i], ([], []))[0].append(i)
    for j in ref_free:
        if ref_keys[j] in by_key:
            by_key[ref_keys[j]][1].append(j)
    return [(c, r) for c, r in by_key.values() if r]


def _n_pairings(cls) -> int:
    c, r = len(cls[0]), len(cls[1])
    return math.perm(max(c, r), min(c, r))


def _pairings(cls):
    """Every maximal one-to-one pairing inside a class."""
    c, r = cls
    if len(c) <= len(r):
        for perm in itertools.permutations(r, len(c)):
            yield tuple(zip(c, perm))
    else:
        for perm in itertools.permutations(c, len(r)):
            yield tuple(zip(perm, r))


def _in_order(cls):
    return tuple(zip(cls[0], cls[1]))


def _chunks(pairs) -> int:
    chunks, prev = 0, None
    for i, j in sorted(pairs):
        if prev is None or i != prev[0] + 1 or j != prev[1] + 1:
            chunks += 1
        prev = (i, j)
    return chunks


def _align(cand, ref, cand_stems, ref_stems) -> tuple[int, int]:
    """(matches, chunks) of the maximal exact-then-stem alignment with the fewest chunks."""
    exact = _classes(cand, ref, range(len(cand)), range(len(ref)))

    def stem_classes(stage1_pairs):
        used_c = {i for i, _ in stage1_pairs}
        used_r = {j for _, j in stage1_pairs}
        return _classes(cand_stems, ref_stems, [i for i in range(len(cand)) if i not in used_c],
                        [j for j in range(len(ref)) if j not in used_r])

    first = [p for cls in exact for p in _in_order(cls)]
    stems_first = stem_classes(first)
    n_matches = len(first) + sum(min(len(c), len(r)) for c, r in stems_first)
    if n_matches == 0:
        return 0, 0
    count = math.prod(_n_pairings(cls) for cls in exact) * math.prod(_n_pairings(cls) for cls in stems_first)
    if count > _MAX_ALIGNMENTS:       # fallback: occurrences paired in order
        return n_matches, _chunks(first + [p for cls in stems_first for p in _in_order(cls)])
    best = None
    for combo in itertools.product(*(list(_pairings(cls)) for cls in exact)):
        stage1 = [p for pairs in combo for p in pairs]
        for combo2 in itertools.product(*(list(_pairings(cls)) for cls in stem_classes(stage1))):
            chunks = _chunks(stage1 + [p for pairs in combo2 for p in pairs])
            if best is None or chunks < best:
                best = chunks
                if best == 1:
                    return n_matches, 1
    return n_matches, best


def _meteor_pair(cand, ref, cand_stems, ref_stems, alpha, beta, gamma) -> float:
    if not cand or not ref:
        return 0.0
    matches, chunks = _align(cand, ref, cand_stems, ref_stems)
    if matches == 0:
        return 0.0
    p, r = matches / len(cand), matches / len(ref)
    fmean = p * r / (alpha * p + (1 - alpha) * r)
    return fmean * (1 - gamma * (chunks / matches) ** beta)


def meteor_tokens(cands, refs, alpha=0.9, beta=3.0, gamma=0.5) -> tuple[float, list[float]]:
    """(corpus, per-clip) METEOR (exact+stem) of tokenised input."""
    stem_cache: dict = {}

    def stems(tokens):
        for t in tokens:
            if t not in stem_cache:
                stem_cache[t] = porter_stem(t)
        return [stem_cache[t] for t in tokens]

    per_clip = []
    for cand, rs in zip(cands, refs):
        cs = stems(cand)
        per_clip.append(max(_meteor_pair(cand, r, cs, stems(r), alpha, beta, gamma) for r in rs))
    return float(sum(per_clip) / len(per_clip)), per_clip


def meteor(candidates: Sequence[str], references: Sequence[Sequence[str]], alpha: float = 0.9, beta: float = 3.0,
           gamma: float = 0.5) -> tuple[float, list[float]]:
    """(corpus, per-clip) "METEOR (exact+stem)": Meteor 1.0 scoring with exact and Porter-stem matching only, max
    over references, mean over clips. Not the Meteor 1.5 jar's numbers (see the module doc)."""
    for name, value in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise WorkbenchError(f"{name} must be a finite number, got {value!r}")
    if not 0 < alpha < 1 or not 0 <= gamma <= 1 or beta <= 0:
        raise WorkbenchError(f"METEOR needs 0 < alpha < 1, beta > 0 and 0 <= gamma <= 1; got alpha={alpha}, "
                             f"beta={beta}, gamma={gamma}")
    cands, refs = tokenized(candidates, references)
    return meteor_tokens(cands, refs, float(alpha), float(beta), float(gamma))


__all__ = ["METEOR_NAME", "meteor", "meteor_tokens"]
