"""BLEU-1..4, ROUGE-L and CIDEr-D of P9 captions, as coco-caption (pycocoevalcap) computes them, in pure Python.

Used by ``captioning.metrics.report`` (``evaluate_captions``) and re-exported by ``captioning.metrics``.

BLEU (``bleu``) reproduces pycocoevalcap's ``Bleu`` / ``BleuScorer.compute_score(option="closest")``: per clip,
n-gram counts of the candidate clipped by the maximum count of that n-gram in any one reference, summed over
the corpus ("correct"), against the number of candidate n-grams ("guess", max(0, len − k + 1)); the effective
reference length of a clip is the reference length closest to the candidate length, the shorter on ties; the
corpus BLEU-k is the geometric mean (k-th root of the product) of the first k precisions (correct + 1e-15) /
(guess + 1e-9), times the brevity penalty exp(1 − 1/ratio) when ratio = (Σ cand len + 1e-15) / (Σ ref len +
1e-9) < 1. Because of these constants an exact copy scores 1 − O(1e-9), not exactly 1, in the reference too.

ROUGE-L (``rouge_l``) reproduces pycocoevalcap's ``Rouge``: per clip and reference, the longest common
subsequence (LCS) of tokens gives precision LCS/len(cand) and recall LCS/len(ref); the maximum precision and the
maximum recall over the references (taken separately, possibly from different references) give
F = (1 + β²)·P·R / (R + β²·P) with β = 1.2 (0 when either is 0); the corpus score is the mean over clips.
[ours] An empty candidate or reference has precision or recall 0 (the reference would divide by a length of 1).

CIDEr-D (``cider_d``) reproduces ``CiderD`` of the cider / coco-caption code (df mode "corpus"): document
frequency df(g) = number of clips whose references contain n-gram g; every sentence becomes, per n = 1..N,
a vector of tf(g)·(log(#clips) − log(max(1, df(g)))); per reference, the similarity for each n is
Σ_g min(cand_g, ref_g)·ref_g / (‖cand‖·‖ref‖) (the clipping of the "D" variant; 0 when a norm is 0), times the
Gaussian length penalty exp(−δ²/(2σ²)), σ = 6; the clip score is 10 × the mean over n of the mean over
references; the corpus score is the mean over clips. As in the reference, δ is the difference of the sentences'
*bigram* counts (the reference counts the length while filling the n = 2 vector), which equals the difference of
word counts for non-empty sentences; with ``n=1`` there are no bigram counts, so no length penalty applies
(replicated, not corrected). With a single clip every idf is log(1) − log(1) = 0 and CIDEr-D is 0, as in the
reference. Note: later coco-caption releases name a plain ``Cider`` (no clipping, no length penalty); we follow
the CIDEr-D of the issue.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

from workbench import WorkbenchError
from workbench.captioning.metrics.tokens import check_order, ngram_counts, tokenized

# ---------------------------------------------------------------------------------------------------------------
# BLEU
# ---------------------------------------------------------------------------------------------------------------

_SMALL, _TINY = 1e-9, 1e-15     # pycocoevalcap's smoothing constants


def bleu_clip_counts(cands, refs, n: int) -> list[list[int]]:
    """Per clip, the counts corpus BLEU sums: [candidate length, effective reference length, guess_1..n,
    correct_1..n] (see the module doc); summing them over any set of clips gives that set's corpus BLEU
    (``bleu_from_counts``), which is how a bootstrap over clips resamples it."""
    rows = []
    for cand, rs in zip(cands, refs):
        max_counts: dict = {}
        for r in rs:
            for g, c in ngram_counts(r, n).items():
                max_counts[g] = max(max_counts.get(g, 0), c)
        length = len(cand)
        ref_len = min((len(r) for r in rs), key=lambda rl: (abs(rl - length), rl))    # "closest", shorter on ties
        guess, correct = [max(0, length - k) for k in range(n)], [0] * n
        for g, c in ngram_counts(cand, n).items():
            correct[len(g) - 1] += min(max_counts.get(g, 0), c)
        rows.append([length, ref_len, *guess, *correct])
    return rows


def bleu_from_counts(totals, n: int) -> list[float]:
    """Corpus BLEU-1..n from the summed ``bleu_clip_counts`` of the clips."""
    test_len, ref_len = totals[0], totals[1]
    guess, correct = totals[2:2 + n], totals[2 + n:2 + 2 * n]
    ratio = (test_len + _TINY) / (ref_len + _SMALL)
    scores = []
    for order in range(1, n + 1):
        product = 1.0
        for k in range(order):
            product *= (correct[k] + _TINY) / (guess[k] + _SMALL)
        score = product ** (1.0 / order)
        if ratio < 1:
            score *= math.exp(1 - 1 / ratio)
        scores.append(float(score))
    return scores


def bleu_tokens(cands, refs, n: int) -> list[float]:
    """Corpus BLEU-1..n of tokenised input (see the module doc)."""
    rows = bleu_clip_counts(cands, refs, n)
    return bleu_from_counts([sum(r[j] for r in rows) for j in range(2 + 2 * n)], n)


def bleu(candidates: Sequence[str], references: Sequence[Sequence[str]], n: int = 4) -> list[float]:
    """Corpus BLEU-1..n as pycocoevalcap's ``Bleu`` computes it (see the module doc); a list of n floats in [0, 1]."""
    n = check_order(n)
    cands, refs = tokenized(candidates, references)
    return bleu_tokens(cands, refs, n)


# ---------------------------------------------------------------------------------------------------------------
# ROUGE-L
# ---------------------------------------------------------------------------------------------------------------

def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    if len(a) < len(b):
        a, b = b, a
    row = [0] * (len(b) + 1)
    for x in a:
        prev_diag = 0
        for j, y in enumerate(b, start=1):
            keep = row[j]
            row[j] = prev_diag + 1 if x == y else max(row[j], row[j - 1])
            prev_diag = keep
    return row[-1]


def rouge_tokens(cands, refs, beta: float) -> tuple[float, list[float]]:
    """(corpus, per-clip) ROUGE-L of tokenised input."""
    per_clip = []
    for cand, rs in zip(cands, refs):
        precisions, recalls = [], []
        for r in rs:
            lcs = _lcs(r, cand)
            precisions.append(lcs / len(cand) if cand else 0.0)
            recalls.append(lcs / len(r) if r else 0.0)
        p, rec = max(precisions), max(recalls)
        per_clip.append((1 + beta ** 2) * p * rec / (rec + beta ** 2 * p) if p > 0 and rec > 0 else 0.0)
    return float(sum(per_clip) / len(per_clip)), per_clip


def rouge_l(candidates: Sequence[str], references: Sequence[Sequence[str]],
            beta: float = 1.2) -> tuple[float, list[float]]:
    """(corpus ROUGE-L, per-clip ROUGE-L) as pycocoevalcap's ``Rouge`` computes it (see the module doc)."""
    if not isinstance(beta, (int, float)) or isinstance(beta, bool) or not beta > 0:
        raise WorkbenchError(f"beta must be a positive number, got {beta!r}")
    cands, refs = tokenized(candidates, references)
    return rouge_tokens(cands, refs, float(beta))


# ---------------------------------------------------------------------------------------------------------------
# CIDEr-D
# ---------------------------------------------------------------------------------------------------------------

def cider_tokens(cands, refs, n: int, sigma: float) -> tuple[float, list[float]]:
    """(corpus, per-clip) CIDEr-D of tokenised input, df from these references."""
    cand_counts = [ngram_counts(c, n) for c in cands]
    ref_counts = [[ngram_counts(r, n) for r in rs] for rs in refs]
    doc_freq: Counter = Counter()
    for rs in ref_counts:
        doc_freq.update({g for rc in rs for g in rc})
    log_clips = math.log(float(len(cands)))

    def vectors(counts: Counter):
        vec = [{} for _ in range(n)]
        sq_norm = [0.0] * n
        length = 0
        for g, tf in counts.items():
            k = len(g) - 1
            weight = float(tf) * (log_clips - math.log(max(1.0, doc_freq.get(g, 0))))
            vec[k][g] = weight
            sq_norm[k] += weight * weight
            if k == 1:          # the reference counts the length from the bigrams (see the module doc)
                length += tf
        return vec, [math.sqrt(s) for s in sq_norm], length

    per_clip = []
    for cc, rcs in zip(cand_counts, ref_counts):
        vec, norm, length = vectors(cc)
        total = [0.0] * n
        for rc in rcs:
            vec_r, norm_r, length_r = vectors(rc)
            penalty = math.exp(-float(length - length_r) ** 2 / (2 * sigma ** 2))
            for k in range(n):
                val = sum(min(w, vec_r[k].get(g, 0.0)) * vec_r[k].get(g, 0.0) for g, w in vec[k].items())
                if norm[k] != 0 and norm_r[k] != 0:
                    val /= norm[k] * norm_r[k]
                total[k] += val * penalty
        per_clip.append(float(sum(total) / n / len(rcs) * 10.0))
    return float(sum(per_clip) / len(per_clip)), per_clip


def cider_d(candidates: Sequence[str], references: Sequence[Sequence[str]], n: int = 4,
            sigma: float = 6.0) -> tuple[float, list[float]]:
    """(corpus CIDEr-D, per-clip CIDEr-D) as coco-caption's ``CiderD`` computes it, df from this corpus's
    references (see the module doc). The scale is CIDEr's own (0–10); the paper's tables show it ×100."""
    n = check_order(n)
    if not isinstance(sigma, (int, float)) or isinstance(sigma, bool) or not sigma > 0:
        raise WorkbenchError(f"sigma must be a positive number, got {sigma!r}")
    cands, refs = tokenized(candidates, references)
    return cider_tokens(cands, refs, n, float(sigma))


__all__ = ["bleu", "bleu_clip_counts", "bleu_from_counts", "bleu_tokens", "cider_d", "cider_tokens", "rouge_l", "rouge_tokens"]
