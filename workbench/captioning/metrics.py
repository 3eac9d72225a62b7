"""Captioning metrics for P9 (zero-shot audio captioning), in pure Python: BLEU-1..4, METEOR, ROUGE-L, CIDEr-D.

The paper's code reports an "NLG mean score": the mean of BLEU-1..4, METEOR, ROUGE-L, CIDEr, SPICE and SPIDEr,
each ×100. Its numbers come from pycocoevalcap (coco-caption), which calls Java for tokenisation, METEOR and
SPICE. Nothing here calls Java or downloads anything; each metric below says how close it is to the reference.

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
* the stemmer is a full Porter (1980) stemmer written here, with the two step-2 changes of Porter's reference
  implementation (bli → ble, logi → log) and words of one or two letters left as they are.

The numbers are therefore *not* those of the Meteor 1.5 jar used by pycocoevalcap (other parameters, synonyms,
paraphrases, function-word weighting).

SPICE needs Java and Stanford CoreNLP models downloaded at run time, so it is not computed, and neither is SPIDEr
= (CIDEr-D + SPICE)/2. ``evaluate_captions`` lists both under "not_computed".

NLG mean convention: every score is put on the ×100 scale of the paper's table (BLEU-1 0.445 → 44.5; CIDEr-D
0.291 → 29.1, i.e. CIDEr-D on its own 0–10 scale times 100) and ``nlg_mean`` is the plain mean of those ×100
values over the metrics in ``nlg_mean_over`` (here 7 of the paper's 9, so it is not directly comparable with
the paper's mean over 9).
"""
from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from typing import Sequence

from workbench import WorkbenchError

__all__ = [
    "METEOR_NAME",
    "NOT_COMPUTED",
    "bleu",
    "cider_d",
    "evaluate_captions",
    "meteor",
    "porter_stem",
    "rouge_l",
    "tokenize",
]

METEOR_NAME = "METEOR (exact+stem)"
NOT_COMPUTED = {
    "SPICE": "needs Java and Stanford CoreNLP models, which are downloaded at run time; not available offline",
    "SPIDEr": "needs SPICE",
}

# ---------------------------------------------------------------------------------------------------------------
# Tokenisation
# ---------------------------------------------------------------------------------------------------------------

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

def _check_corpus(candidates, references) -> tuple[list[str], list[list[str]]]:
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


def _tokenized(candidates, references) -> tuple[list[list[str]], list[list[list[str]]]]:
    cands, refs = _check_corpus(candidates, references)
    return [tokenize(c) for c in cands], [[tokenize(r) for r in rs] for rs in refs]


def _check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise WorkbenchError(f"n (the largest n-gram order) must be a positive integer, got {n!r}")
    return n


def _ngram_counts(tokens: Sequence[str], n: int) -> Counter:
    counts: Counter = Counter()
    for k in range(1, n + 1):
        for i in range(len(tokens) - k + 1):
            counts[tuple(tokens[i:i + k])] += 1
    return counts


# ---------------------------------------------------------------------------------------------------------------
# BLEU
# ---------------------------------------------------------------------------------------------------------------

_SMALL, _TINY = 1e-9, 1e-15     # pycocoevalcap's smoothing constants


def _bleu_tokens(cands, refs, n: int) -> list[float]:
    test_len = ref_len = 0
    guess, correct = [0] * n, [0] * n
    for cand, rs in zip(cands, refs):
        max_counts: dict = {}
        for r in rs:
            for g, c in _ngram_counts(r, n).items():
                max_counts[g] = max(max_counts.get(g, 0), c)
        length = len(cand)
        test_len += length
        ref_len += min((len(r) for r in rs), key=lambda rl: (abs(rl - length), rl))    # "closest", shorter on ties
        for k in range(n):
            guess[k] += max(0, length - k)
        for g, c in _ngram_counts(cand, n).items():
            correct[len(g) - 1] += min(max_counts.get(g, 0), c)
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


def bleu(candidates: Sequence[str], references: Sequence[Sequence[str]], n: int = 4) -> list[float]:
    """Corpus BLEU-1..n as pycocoevalcap's ``Bleu`` computes it (see the module doc); a list of n floats in [0, 1]."""
    n = _check_n(n)
    cands, refs = _tokenized(candidates, references)
    return _bleu_tokens(cands, refs, n)


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


def _rouge_tokens(cands, refs, beta: float) -> tuple[float, list[float]]:
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
    cands, refs = _tokenized(candidates, references)
    return _rouge_tokens(cands, refs, float(beta))


# ---------------------------------------------------------------------------------------------------------------
# CIDEr-D
# ---------------------------------------------------------------------------------------------------------------

def _cider_tokens(cands, refs, n: int, sigma: float) -> tuple[float, list[float]]:
    cand_counts = [_ngram_counts(c, n) for c in cands]
    ref_counts = [[_ngram_counts(r, n) for r in rs] for rs in refs]
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
    n = _check_n(n)
    if not isinstance(sigma, (int, float)) or isinstance(sigma, bool) or not sigma > 0:
        raise WorkbenchError(f"sigma must be a positive number, got {sigma!r}")
    cands, refs = _tokenized(candidates, references)
    return _cider_tokens(cands, refs, n, float(sigma))


# ---------------------------------------------------------------------------------------------------------------
# Porter stemmer (Porter 1980, with the reference implementation's bli → ble and logi → log)
# ---------------------------------------------------------------------------------------------------------------

def _is_cons(w: str, i: int) -> bool:
    ch = w[i]
    if ch in "aeiou":
        return False
    if ch == "y":
        return i == 0 or not _is_cons(w, i - 1)
    return True


def _measure(stem: str) -> int:
    """m in [C](VC)^m[V]: the number of vowel → consonant transitions."""
    m, after_vowel = 0, False
    for i in range(len(stem)):
        if not _is_cons(stem, i):
            after_vowel = True
        elif after_vowel:
            m, after_vowel = m + 1, False
    return m


def _has_vowel(stem: str) -> bool:
    return any(not _is_cons(stem, i) for i in range(len(stem)))


def _double_cons(w: str) -> bool:
    return len(w) >= 2 and w[-1] == w[-2] and _is_cons(w, len(w) - 1)


def _cvc(w: str) -> bool:
    """Ends consonant-vowel-consonant, the last consonant not w, x or y (Porter's *o)."""
    k = len(w) - 1
    return k >= 2 and _is_cons(w, k) and not _is_cons(w, k - 1) and _is_cons(w, k - 2) and w[k] not in "wxy"


_STEP2 = (("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("izer", "ize"),
          ("bli", "ble"), ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous"), ("ization", "ize"),
          ("ation", "ate"), ("ator", "ate"), ("alism", "al"), ("iveness", "ive"), ("fulness", "ful"),
          ("ousness", "ous"), ("aliti", "al"), ("iviti", "ive"), ("biliti", "ble"), ("logi", "log"))
_STEP3 = (("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"), ("ful", ""),
          ("ness", ""))
_STEP4 = ("al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion", "ou", "ism",
          "ate", "iti", "ous", "ive", "ize")
# The longest matching suffix decides; if its condition fails no shorter suffix is tried (as in Porter's code).
_STEP2 = tuple(sorted(_STEP2, key=lambda r: -len(r[0])))
_STEP3 = tuple(sorted(_STEP3, key=lambda r: -len(r[0])))
_STEP4 = tuple(sorted(_STEP4, key=len, reverse=True))


def _replace_suffix(w: str, rules, min_m: int) -> str:
    for suffix, repl in rules:
        if w.endswith(suffix):
            stem = w[:-len(suffix)]
            return stem + repl if _measure(stem) > min_m else w
    return w


def porter_stem(word: str) -> str:
    """The Porter stem of a lower-case word: "barking" → "bark", "ponies" → "poni", "relational" → "relat"."""
    w = word
    if len(w) <= 2:
        return w
    # Step 1a
    if w.endswith("sses") or w.endswith("ies"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    # Step 1b
    removed = False
    if w.endswith("eed"):
        if _measure(w[:-3]) > 0:
            w = w[:-1]
    elif w.endswith("ed") and _has_vowel(w[:-2]):
        w, removed = w[:-2], True
    elif w.endswith("ing") and _has_vowel(w[:-3]):
        w, removed = w[:-3], True
    if removed:
        if w.endswith(("at", "bl", "iz")):
            w += "e"
        elif _double_cons(w) and w[-1] not in "lsz":
            w = w[:-1]
        elif _measure(w) == 1 and _cvc(w):
            w += "e"
    # Step 1c
    if w.endswith("y") and _has_vowel(w[:-1]):
        w = w[:-1] + "i"
    # Steps 2 and 3
    w = _replace_suffix(w, _STEP2, 0)
    w = _replace_suffix(w, _STEP3, 0)
    # Step 4
    for suffix in _STEP4:
        if w.endswith(suffix):
            stem = w[:-len(suffix)]
            if _measure(stem) > 1 and (suffix != "ion" or stem.endswith(("s", "t"))):
                w = stem
            break
    # Step 5a
    if w.endswith("e"):
        m = _measure(w[:-1])
        if m > 1 or (m == 1 and not _cvc(w[:-1])):
            w = w[:-1]
    # Step 5b
    if w.endswith("l") and _double_cons(w) and _measure(w) > 1:
        w = w[:-1]
    return w


# ---------------------------------------------------------------------------------------------------------------
# METEOR (exact + stem stages, Meteor 1.0 parameters)
# ---------------------------------------------------------------------------------------------------------------

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


def _meteor_tokens(cands, refs, alpha=0.9, beta=3.0, gamma=0.5) -> tuple[float, list[float]]:
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
    cands, refs = _tokenized(candidates, references)
    return _meteor_tokens(cands, refs, float(alpha), float(beta), float(gamma))


# ---------------------------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------------------------

def evaluate_captions(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> dict:
    """All computable captioning metrics of a corpus (one candidate and ≥ 1 references per clip).

    Returns {"scores": {name: raw score}, "not_computed": {name: reason}, "nlg_mean": mean of the scores ×100,
    "nlg_mean_over": [names averaged], "nlg_mean_note": str, "per_clip": {name: [per-clip scores]},
    "n_clips": int}. Raw scores are on each metric's own scale (BLEU, METEOR, ROUGE-L in [0, 1]; CIDEr-D 0–10);
    the paper's tables show all of them ×100.
    """
    cands, refs = _tokenized(candidates, references)
    b = _bleu_tokens(cands, refs, 4)
    met, met_clips = _meteor_tokens(cands, refs)
    rouge, rouge_clips = _rouge_tokens(cands, refs, 1.2)
    cider, cider_clips = _cider_tokens(cands, refs, 4, 6.0)
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
