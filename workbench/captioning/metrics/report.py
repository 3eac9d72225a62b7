"""The captioning report of P9: every computable metric of a corpus, and the paper's "NLG mean" convention.

Used by ``captioning.evaluation`` (one report per decoder and per keyword count); re-exported by
``captioning.metrics``.

The paper's code reports an "NLG mean score": the mean of BLEU-1..4, METEOR, ROUGE-L, CIDEr, SPICE and SPIDEr,
each ×100.

SPICE needs Java and Stanford CoreNLP models downloaded at run time, so it is not computed, and neither is SPIDEr
= (CIDEr-D + SPICE)/2. ``evaluate_captions`` lists both under "not_computed".

NLG mean convention: every score is put on the ×100 scale of the paper's table (a BLEU-1 of 0.4 → 40; a CIDEr-D
of 0.3 → 30, i.e. CIDEr-D on its own 0–10 scale times 100) and ``nlg_mean`` is the plain mean of those ×100
values over the metrics in ``nlg_mean_over`` (here 7 of the paper's 9, so it is not directly comparable with
the paper's mean over 9).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from workbench.captioning.metrics.coco import (bleu_clip_counts, bleu_from_counts, bleu_tokens, cider_tokens,
                                               rouge_tokens)
from workbench.captioning.metrics.meteor import METEOR_NAME, meteor_tokens
from workbench.captioning.metrics.tokens import tokenized

NOT_COMPUTED = {
    "SPICE": "needs Java and Stanford CoreNLP models, which are downloaded at run time; not available offline",
    "SPIDEr": "needs SPICE",
}


def evaluate_captions(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> dict:
    """All computable captioning metrics of a corpus (one candidate and ≥ 1 references per clip).

    Returns {"scores": {name: raw score}, "not_computed": {name: reason}, "nlg_mean": mean of the scores ×100,
    "nlg_mean_over": [names averaged], "nlg_mean_note": str, "per_clip": {name: [per-clip scores]},
    "n_clips": int}. Raw scores are on each metric's own scale (BLEU, METEOR, ROUGE-L in [0, 1]; CIDEr-D 0–10);
    the paper's tables show all of them ×100.
    """
    cands, refs = tokenized(candidates, references)
    b = bleu_tokens(cands, refs, 4)
    met, met_clips = meteor_tokens(cands, refs)
    rouge, rouge_clips = rouge_tokens(cands, refs, 1.2)
    cider, cider_clips = cider_tokens(cands, refs, 4, 6.0)
    scores = {f"BLEU-{k + 1}": b[k] for k in range(4)}
    scores.update({METEOR_NAME: met, "ROUGE-L": rouge, "CIDEr-D": cider})
    over = list(scores)
    return {
        "scores": scores,
        "not_computed": dict(NOT_COMPUTED),
        "nlg_mean": float(sum(100.0 * scores[k] for k in over) / len(over)),
        "nlg_mean_over": over,
        "nlg_mean_note": (f"mean of the ×100 scores of {len(over)} of the paper's 9 metrics (SPICE and SPIDEr not "
                          f"computed; METEOR without synonyms/paraphrases), so not directly comparable with the "
                          f"paper's NLG mean"),
        "per_clip": {"CIDEr-D": cider_clips, "ROUGE-L": rouge_clips, METEOR_NAME: met_clips},
        "n_clips": len(cands),
    }


@dataclass(frozen=True)
class ClipScores:
    """Per-clip pieces of ``evaluate_captions``' NLG mean, so that the NLG mean of any resample of the clips costs
    a sum (used by the claims ledger's paired bootstrap, ``workbench.claims.media``)."""
    bleu: np.ndarray        # [clips, 2 + 2·4] BLEU's per-clip counts (``coco.bleu_clip_counts``)
    meteor: np.ndarray      # [clips]
    rouge: np.ndarray       # [clips]
    cider: np.ndarray       # [clips] CIDEr-D with the document frequencies of the whole corpus

    def nlg_mean(self, clips=None) -> float:
        """The NLG mean (×100) of the clips at the indices ``clips`` (all when None; repeats count again). With all
        clips it equals ``evaluate_captions``' ``nlg_mean``; on a resample, CIDEr-D keeps the whole corpus's
        document frequencies [ours] while BLEU, METEOR and ROUGE-L are exactly the resample's corpus scores."""
        idx = np.arange(len(self.meteor)) if clips is None else np.asarray(clips, int)
        bleu = bleu_from_counts(self.bleu[idx].sum(axis=0).tolist(), 4)
        scores = [*bleu, self.meteor[idx].mean(), self.rouge[idx].mean(), self.cider[idx].mean()]
        return float(100.0 * sum(scores) / len(scores))


def clip_scores(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> ClipScores:
    """The per-clip pieces of the NLG mean of a corpus (see ``ClipScores``)."""
    cands, refs = tokenized(candidates, references)
    _, met = meteor_tokens(cands, refs)
    _, rouge = rouge_tokens(cands, refs, 1.2)
    _, cider = cider_tokens(cands, refs, 4, 6.0)
    return ClipScores(np.asarray(bleu_clip_counts(cands, refs, 4), float), np.asarray(met, float),
                      np.asarray(rouge, float), np.asarray(cider, float))


__all__ = ["NOT_COMPUTED", "ClipScores", "clip_scores", "evaluate_captions"]
