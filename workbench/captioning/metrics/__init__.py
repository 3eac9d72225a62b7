"""Captioning metrics for P9 (zero-shot audio captioning), in pure Python: BLEU-1..4, METEOR, ROUGE-L, CIDEr-D.

The paper's code reports an "NLG mean score": the mean of BLEU-1..4, METEOR, ROUGE-L, CIDEr, SPICE and SPIDEr,
each ×100. Its numbers come from pycocoevalcap (coco-caption), which calls Java for tokenisation, METEOR and
SPICE. Nothing here calls Java or downloads anything; each metric below says how close it is to the reference.

* ``tokens`` — the PTB-style tokeniser and the input checks every metric shares;
* ``coco`` — BLEU-1..4, ROUGE-L and CIDEr-D as pycocoevalcap computes them;
* ``meteor`` (with ``porter``, its stemmer) — "METEOR (exact+stem)", Meteor 1.0 scoring without synonyms;
* ``report`` — ``evaluate_captions``: all of them, the ones not computed (SPICE, SPIDEr) and the NLG mean.

Used by ``captioning.evaluation``; every module above says how close it is to the reference implementation.
"""
from __future__ import annotations

from workbench.captioning.metrics.coco import bleu, cider_d, rouge_l
from workbench.captioning.metrics.meteor import METEOR_NAME, meteor
from workbench.captioning.metrics.porter import porter_stem
from workbench.captioning.metrics.report import NOT_COMPUTED, ClipScores, clip_scores, evaluate_captions
from workbench.captioning.metrics.tokens import tokenize

__all__ = ["METEOR_NAME", "NOT_COMPUTED", "ClipScores", "bleu", "clip_scores", "cider_d", "evaluate_captions", "meteor", "porter_stem", "rouge_l",
           "tokenize"]
