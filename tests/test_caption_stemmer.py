"""METEOR's stemmer (P9): nltk's Porter stemmer gives the same stems as a from-the-paper Porter (1980) stemmer
(the one the captioning metrics carried before) on every word the metric sees here — the bundled captions, labels
and keyword vocabulary, and the words of the metric tests."""
from __future__ import annotations

import json
import re

import pytest

from workbench.captioning.metrics import porter_stem, tokenize
from workbench.captioning.synth import load_vocabulary
from workbench.captioning.synth.words import CAPTIONS_PATH, LABELS_PATH

pytest.importorskip("nltk")


# --- the reference: Porter (1980) as written in his paper, plus his reference code's bli → ble, logi → log -------

def _cons(w, i):
    if w[i] in "aeiou":
        return False
    return i == 0 or not _cons(w, i - 1) if w[i] == "y" else True


def _m(stem):
    m, after_vowel = 0, False
    for i in range(len(stem)):
        if not _cons(stem, i):
            after_vowel = True
        elif after_vowel:
            m, after_vowel = m + 1, False
    return m


def _vowel(stem):
    return any(not _cons(stem, i) for i in range(len(stem)))


def _double(w):
    return len(w) >= 2 and w[-1] == w[-2] and _cons(w, len(w) - 1)


def _cvc(w):
    k = len(w) - 1
    return k >= 2 and _cons(w, k) and not _cons(w, k - 1) and _cons(w, k - 2) and w[k] not in "wxy"


_S2 = sorted([("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("izer", "ize"),
              ("bli", "ble"), ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous"), ("ization", "ize"),
              ("ation", "ate"), ("ator", "ate"), ("alism", "al"), ("iveness", "ive"), ("fulness", "ful"),
              ("ousness", "ous"), ("aliti", "al"), ("iviti", "ive"), ("biliti", "ble"), ("logi", "log")],
             key=lambda r: -len(r[0]))
_S3 = sorted([("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"), ("ful", ""),
              ("ness", "")], key=lambda r: -len(r[0]))
_S4 = sorted(["al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion", "ou", "ism",
              "ate", "iti", "ous", "ive", "ize"], key=len, reverse=True)


def _rules(w, rules):
    for suffix, repl in rules:
        if w.endswith(suffix):
            stem = w[:-len(suffix)]
            return stem + repl if _m(stem) > 0 else w
    return w


def reference_stem(w: str) -> str:
    if len(w) <= 2:
        return w
    if w.endswith(("sses", "ies")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    removed = False
    if w.endswith("eed"):
        w = w[:-1] if _m(w[:-3]) > 0 else w
    elif w.endswith("ed") and _vowel(w[:-2]):
        w, removed = w[:-2], True
    elif w.endswith("ing") and _vowel(w[:-3]):
        w, removed = w[:-3], True
    if removed:
        if w.endswith(("at", "bl", "iz")):
            w += "e"
        elif _double(w) and w[-1] not in "lsz":
            w = w[:-1]
        elif _m(w) == 1 and _cvc(w):
            w += "e"
    if w.endswith("y") and _vowel(w[:-1]):
        w = w[:-1] + "i"
    w = _rules(_rules(w, _S2), _S3)
    for suffix in _S4:
        if w.endswith(suffix):
            stem = w[:-len(suffix)]
            if _m(stem) > 1 and (suffix != "ion" or stem.endswith(("s", "t"))):
                w = stem
            break
    if w.endswith("e") and (_m(w[:-1]) > 1 or (_m(w[:-1]) == 1 and not _cvc(w[:-1]))):
        w = w[:-1]
    if w.endswith("l") and _double(w) and _m(w) > 1:
        w = w[:-1]
    return w


# --- the word list ------------------------------------------------------------------------------------------------

def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _strings(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _strings(value)


# The words of the metric tests and of Porter's paper, among them the ones where nltk's default mode differs
# from the paper ("plays", "dies", "cry", "one", "use", "are") and the two reference-code changes (bli, logi).
TEST_WORDS = ("caresses ponies cats feed agreed plastered motoring sing hopping falling filing happy sky relational "
              "generalization triplicate adjustment adoption probate controll roll dogs barking barks is a dog "
              "loudly meows softly plays played dies cry crying one use are says keys subway sensibli ontology "
              "analogi conditional hopeful goodness electricity")


def metric_words() -> list[str]:
    texts = list(_strings(json.loads(CAPTIONS_PATH.read_text(encoding="utf-8"))))
    texts += list(_strings(json.loads(LABELS_PATH.read_text(encoding="utf-8")))) + load_vocabulary()
    words = {t for text in texts for t in tokenize(text)} | set(TEST_WORDS.split())
    return sorted(w for w in words if re.fullmatch(r"[a-z]+", w))


def test_nltk_porter_gives_the_reference_stems_on_the_metric_word_list():
    words = metric_words()
    assert len(words) > 300  # the bundled captions, labels and vocabulary were all read
    differ = [(w, porter_stem(w), reference_stem(w)) for w in words if porter_stem(w) != reference_stem(w)]
    assert differ == []


def test_reference_code_changes_and_short_words():
    # Step 2's bli → ble and logi → log (Porter's reference code), and words of one or two letters kept as they
    # are: where nltk's ORIGINAL_ALGORITHM mode would differ ("is" → "i", "ontology" → "ontologi").
    assert porter_stem("sensibli") == reference_stem("sensibli") == "sensibl"
    assert porter_stem("ontology") == "ontolog" and porter_stem("is") == "is" and porter_stem("as") == "as"
    # and not nltk's default mode, which keeps "plays" whole where the paper's algorithm gives "plai"
    assert porter_stem("plays") == porter_stem("played") == "plai"
