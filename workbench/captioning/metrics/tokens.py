"""Tokenisation and input checks shared by every captioning metric of P9 (BLEU, METEOR, ROUGE-L, CIDEr-D).

Used by ``captioning.metrics.coco``, ``.meteor`` and ``.report``; ``tokenize`` is public (the tests and anyone
comparing with pycocoevalcap call it).

Tokenisation (``tokenize``) [ours: a Python approximation of the Stanford PTBTokenizer that pycocoevalcap runs
with ``-lowerCase -preserveLines``, followed by its punctuation filter]:

* lower-case; curly quotes become straight ones, en and em dashes become separate "--" tokens, "…" becomes "...";
* clitics are split off as PTB does: "dog's" → "dog 's", "don't" → "do n't" ('s 're 've 'll 'd 'm n't are kept
  as tokens, as the reference keeps them);
* the punctuation the reference drops is removed: . , ! ? ; : " ` ( ) { } and quote apostrophes (a ``'`` not
  inside a word and not starting a clitic), and tokens made only of hyphens ("-", "--"); leading and trailing
  hyphens of a word are stripped [ours]; hyphens inside a word stay ("black-and-white");
* [ours] square brackets are dropped too (the reference filter has no entry for PTB's -LSB-/-RSB-);
* ``.``, ``,`` and ``:`` between two digits stay ("3.5", "1,000", "10:30"), as PTB keeps such numbers whole;
* ``$`` and ``%`` become tokens of their own, as PTB splits them; every other symbol stays attached;
* known differences: PTB keeps abbreviations such as "u.s." whole (here they become "u s") and splits "cannot".

All scorers split the tokenised text on whitespace, as pycocoevalcap does after its tokenizer.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Sequence

from workbench import WorkbenchError

_CLITICS = frozenset({"'s", "'re", "'ve", "'ll", "'d", "'m", "n't"})
_UNICODE = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2013": " -- ", "\u2014": " -- ", "\u2015": " -- ", "\u2026": " ... ",
    "\t": " ", "\n": " ", "\r": " ",
})
# Placeholders (private-use characters) protect number-internal . , : from the punctuation filter.
_PROTECT = {".": "\ue000", ",": "\ue001", ":": "\ue002"}
_RESTORE = str.maketrans({v: k for k, v in _PROTECT.items()})
_NUMBER_PUNCT = re.compile(r"(?<=\d)([.,:])(?=\d)")
_NT = re.compile(r"(?<=\w)(n't)\b")
_CLITIC = re.compile(r"(?<=\w)('s|'re|'ve|'ll|'d|'m)\b")
_DROP = re.compile(r"[.,!?;:\"`(){}\[\]]")
_OWN_TOKEN = re.compile(r"([$%])")
_QUOTE_APOSTROPHE = re.compile(r"(?<!\w)'|'(?!\w)")


def tokenize(text: str) -> list[str]:
    """PTB-style tokens of one caption, lower-cased and without punctuation (see the module doc)."""
    if not isinstance(text, str):
        raise WorkbenchError(f"a caption must be a string, got {type(text).__name__}")
    t = text.lower().translate(_UNICODE)
    t = _NUMBER_PUNCT.sub(lambda m: _PROTECT[m.group(1)], t)
    t = _NT.sub(r" \1", t)
    t = _CLITIC.sub(r" \1", t)
    t = _DROP.sub(" ", t)
    t = _OWN_TOKEN.sub(r" \1 ", t)
    tokens = []
    for tok in t.split():
        if tok not in _CLITICS:
            tok = _QUOTE_APOSTROPHE.sub(" ", tok)
        for part in tok.split():
            part = part.strip("-")
            if part:
                tokens.append(part.translate(_RESTORE))
    return tokens



# ---------------------------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------------------------


def check_corpus(candidates, references) -> tuple[list[str], list[list[str]]]:
    """The corpus as lists (one candidate, ≥ 1 references per clip), or one ``WorkbenchError`` naming what is wrong."""
    if isinstance(candidates, str):
        raise WorkbenchError("candidates must be a list of caption strings, not a single string")
    if isinstance(references, str):
        raise WorkbenchError("references must be a list of lists of caption strings, not a single string")
    try:
        cands, refs = list(candidates), list(references)
    except TypeError as err:
        raise WorkbenchError(f"candidates and references must be lists: {err}") from None
    if not cands:
        raise WorkbenchError("no candidates: the corpus to evaluate is empty")
    if len(cands) != len(refs):
        raise WorkbenchError(f"{len(cands)} candidates but {len(refs)} reference lists: "
                             "need one list of references per candidate")
    for i, c in enumerate(cands):
        if not isinstance(c, str):
            raise WorkbenchError(f"candidates[{i}] is {type(c).__name__}, expected a caption string")
    out_refs = []
    for i, rs in enumerate(refs):
        if isinstance(rs, str):
            raise WorkbenchError(f"references[{i}] is a single string; expected a list of reference captions")
        try:
            rs = list(rs)
        except TypeError:
            raise WorkbenchError(f"references[{i}] is {type(rs).__name__}, expected a list of reference "
                                 "captions") from None
        if not rs:
            raise WorkbenchError(f"references[{i}] is empty: clip {i} has no reference captions")
        for j, r in enumerate(rs):
            if not isinstance(r, str):
                raise WorkbenchError(f"references[{i}][{j}] is {type(r).__name__}, expected a caption string")
        out_refs.append(rs)
    return cands, out_refs


def tokenized(candidates, references) -> tuple[list[list[str]], list[list[list[str]]]]:
    """Checked and tokenised: (candidate tokens, reference tokens per clip)."""
    cands, refs = check_corpus(candidates, references)
    return [tokenize(c) for c in cands], [[tokenize(r) for r in rs] for rs in refs]


def check_order(n) -> int:
    """The largest n-gram order, checked to be a positive integer."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise WorkbenchError(f"n (the largest n-gram order) must be a positive integer, got {n!r}")
    return n


def ngram_counts(tokens: Sequence[str], n: int) -> Counter:
    """Counts of every 1..n-gram of ``tokens`` (tuples as keys)."""
    counts: Counter = Counter()
    for k in range(1, n + 1):
        for i in range(len(tokens) - k + 1):
            counts[tuple(tokens[i:i + k])] += 1
    return counts


__all__ = ["check_corpus", "check_order", "ngram_counts", "tokenize", "tokenized"]
