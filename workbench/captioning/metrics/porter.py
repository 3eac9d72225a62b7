"""The Porter (1980) stemmer behind METEOR's stem stage (P9 captioning metrics): nltk's ``PorterStemmer`` in its
``MARTIN_EXTENSIONS`` mode, i.e. Porter's reference implementation — the algorithm of the paper with its two step-2
changes (bli → ble, logi → log) — with words of one or two letters left as they are. (nltk's default mode adds
changes of its own, e.g. "plays" → "play" instead of "plai"; the paper's algorithm is what METEOR's stemmer is.)

Used by ``captioning.metrics.meteor``; ``porter_stem`` is re-exported by ``captioning.metrics``.
"""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _stemmer():
    from nltk.stem.porter import PorterStemmer

    return PorterStemmer(mode=PorterStemmer.MARTIN_EXTENSIONS)


def porter_stem(word: str) -> str:
    """The Porter stem of a lower-case word: "barking" → "bark", "ponies" → "poni", "relational" → "relat"."""
    return _stemmer().stem(word, to_lowercase=False)


__all__ = ["porter_stem"]
