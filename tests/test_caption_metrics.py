"""Captioning metrics (P9): hand-computed cases for BLEU, ROUGE-L, CIDEr-D, METEOR (exact+stem), the report, errors."""
from __future__ import annotations

import math

import pytest

from workbench import WorkbenchError
from workbench.captioning.metrics import (
    METEOR_NAME,
    bleu,
    cider_d,
    evaluate_captions,
    meteor,
    porter_stem,
    rouge_l,
    tokenize,
)

APPROX = dict(abs=1e-6)


# --- tokenisation ---------------------------------------------------------------------------------------------------

def test_tokenize_lowercases_and_drops_ptb_punctuation():
    assert tokenize('A Dog, barking "loudly" (outside)... !?;:') == ["a", "dog", "barking", "loudly", "outside"]
    assert tokenize("[a] {b} `c' - d -- e") == ["a", "b", "c", "d", "e"]


def test_tokenize_splits_clitics_and_keeps_numbers_and_hyphenated_words():
    assert tokenize("The dog's bark, don't worry") == ["the", "dog", "'s", "bark", "do", "n't", "worry"]
    assert tokenize("3.5 seconds, 1,000 birds at 10:30.") == ["3.5", "seconds", "1,000", "birds", "at", "10:30"]
    assert tokenize("a black-and-white cat \u2014 purring") == ["a", "black-and-white", "cat", "purring"]
    assert tokenize("\u2018quoted\u2019 o'clock") == ["quoted", "o'clock"]
    assert tokenize("   ") == []


# --- BLEU -----------------------------------------------------------------------------------------------------------

def test_bleu_identical_is_one():
    # Every n-gram precision is 1 and the lengths are equal: BLEU-1..4 = 1 up to pycocoevalcap's 1e-9 constants.
    scores = bleu(["a dog barks at the cat"], [["a dog barks at the cat"]])
    assert len(scores) == 4
    assert scores == pytest.approx([1.0] * 4, **APPROX)
    assert all(s <= 1.0 for s in scores)


def test_bleu_worked_example_with_brevity_penalty():
    # cand "a dog barking loudly" (4 words), ref "a dog is barking loudly outside" (6 words).
    # unigrams: a, dog, barking, loudly all in ref -> 4/4
    # bigrams: "a dog" yes, "dog barking" no, "barking loudly" yes -> 2/3
    # trigrams: "a dog barking", "dog barking loudly" -> 0/2
    # BP = exp(1 - 6/4) = exp(-0.5)
    # BLEU-1 = 1 * e^-0.5 = 0.60653; BLEU-2 = sqrt(1 * 2/3) * e^-0.5 = 0.49523; BLEU-3 ~ 0 (1e-15 smoothing)
    b = bleu(["a dog barking loudly"], [["a dog is barking loudly outside"]])
    bp = math.exp(-0.5)
    assert b[0] == pytest.approx(bp, **APPROX)
    assert b[1] == pytest.approx(math.sqrt(2 / 3) * bp, **APPROX)
    assert b[1] == pytest.approx(0.495230, abs=1e-6)
    assert b[2] < 1e-4 and b[3] < 1e-4


def test_bleu_closest_reference_length_prefers_shorter_on_ties():
    # cand has 4 words; refs have 3 and 5 words: both at distance 1, the shorter (3) is taken -> ratio 4/3, no BP.
    # unigrams a, dog, barks, loudly all occur in some ref -> BLEU-1 = 1 (with 5 it would be e^-0.25).
    # bigrams "a dog" yes, "dog barks" yes, "barks loudly" no -> BLEU-2 = sqrt(2/3).
    b = bleu(["a dog barks loudly"], [["a dog barks", "a dog barks very loudly"]], n=2)
    assert len(b) == 2
    assert b[0] == pytest.approx(1.0, **APPROX)
    assert b[1] == pytest.approx(math.sqrt(2 / 3), **APPROX)


def test_bleu_is_corpus_level_not_a_mean_of_clips():
    # clip A: "a dog" vs "a dog" -> 2/2 unigrams; clip B: "a bird sings" vs "the cat sings" -> 1/3.
    # corpus BLEU-1 = (2 + 1) / (2 + 3) = 0.6 (equal lengths, no BP), not the mean (1 + 1/3)/2 = 0.667.
    b = bleu(["a dog", "a bird sings"], [["a dog"], ["the cat sings"]], n=1)
    assert b == pytest.approx([0.6], **APPROX)


def test_bleu_clips_candidate_counts_by_max_reference_count():
    # "the the the" vs refs "the cat" / "the the dog": "the" is clipped at max ref count 2 -> BLEU-1 = 2/3
    # (closest ref length to 3 is 3, no BP).
    assert bleu(["the the the"], [["the cat", "the the dog"]], n=1)[0] == pytest.approx(2 / 3, **APPROX)


def test_bleu_tokenizes_first_and_short_sentences_have_no_4grams():
    assert bleu(["A dog, barking loudly."], [["a dog barking loudly"]]) == pytest.approx([1.0] * 4, **APPROX)
    # Three words have no 4-grams: precision (0 + 1e-15) / (0 + 1e-9) = 1e-6, so BLEU-4 = (1e-6)^(1/4) = 0.0316,
    # as in pycocoevalcap.
    b = bleu(["A dog, barking."], [["a dog barking"]])
    assert b[:3] == pytest.approx([1.0] * 3, **APPROX)
    assert b[3] == pytest.approx(1e-6 ** 0.25, rel=1e-6)


# --- ROUGE-L --------------------------------------------------------------------------------------------------------

def test_rouge_l_identical_is_one():
    score, per_clip = rouge_l(["a dog barks at the cat"], [["a dog barks at the cat"]])
    assert score == pytest.approx(1.0) and per_clip == [pytest.approx(1.0)]


def test_rouge_l_worked_lcs_example():
    # cand "a man is speaking loudly" (5), ref "a man speaks very loudly in a room" (8)
    # LCS = "a man loudly" = 3 -> P = 3/5, R = 3/8
    # F = (1 + 1.2^2) P R / (R + 1.2^2 P) = 2.44 * 0.225 / (0.375 + 0.864) = 0.549 / 1.239 = 0.443099
    score, per_clip = rouge_l(["a man is speaking loudly"], [["a man speaks very loudly in a room"]])
    assert score == pytest.approx(0.549 / 1.239, **APPROX)
    assert per_clip[0] == pytest.approx(0.443099, abs=1e-6)


def test_rouge_l_takes_max_precision_and_max_recall_separately():
    # cand "a man is speaking loudly" (5)
    # ref A "a man" (2): LCS 2 -> P 0.4, R 1.0
    # ref B "a man is speaking loudly in a room" (8): LCS 5 -> P 1.0, R 0.625
    # max P = 1.0 (from B), max R = 1.0 (from A) -> F = 1.0; B alone: 2.44 * 0.625 / (0.625 + 1.44) = 0.738499
    cand = ["a man is speaking loudly"]
    both, _ = rouge_l(cand, [["a man", "a man is speaking loudly in a room"]])
    only_b, _ = rouge_l(cand, [["a man is speaking loudly in a room"]])
    assert both == pytest.approx(1.0)
    assert only_b == pytest.approx(2.44 * 0.625 / 2.065, **APPROX)


def test_rouge_l_corpus_is_mean_and_empty_candidate_scores_zero():
    score, per_clip = rouge_l(["a man is speaking loudly", ""], [["a man speaks very loudly in a room"], ["a cat"]])
    assert per_clip[1] == 0.0
    assert score == pytest.approx((0.549 / 1.239) / 2, **APPROX)


# --- CIDEr-D --------------------------------------------------------------------------------------------------------

def test_cider_d_unigram_idf_by_hand():
    # n = 1, two clips, every sentence 3 words long (so no length penalty under any convention).
    # clip 1: cand "dog dog barks", refs "a dog barks", "the dog barks"
    # clip 2: cand "a cat barks",   refs "a cat meows"
    # df (clips whose refs contain the word): a 2, dog 1, barks 1, the 1, cat 1, meows 1; N = 2 clips
    # idf = log N - log max(1, df): a -> 0, every other word -> L = log 2 (candidate-only words too)
    # clip 1: cand vec {dog: 2L, barks: L}, norm L sqrt5
    #   ref "a dog barks": {a: 0, dog: L, barks: L}, norm L sqrt2
    #     clipped dot = min(2L, L) L + min(L, L) L = 2 L^2 -> cos = 2 / sqrt10      (unclipped would be 3 / sqrt10)
    #   ref "the dog barks": {the: L, dog: L, barks: L}, norm L sqrt3 -> 2 L^2 / (L^2 sqrt15) = 2 / sqrt15
    #   clip score = 10 * (2/sqrt10 + 2/sqrt15) / 2 = 5.744267
    # clip 2: cand {a: 0, cat: L, barks: L} vs ref {a: 0, cat: L, meows: L}: L^2 / (2 L^2) = 0.5 -> 5.0
    # corpus = (5.744267 + 5.0) / 2
    cands = ["dog dog barks", "a cat barks"]
    refs = [["a dog barks", "the dog barks"], ["a cat meows"]]
    score, per_clip = cider_d(cands, refs, n=1)
    clip1 = 10 * (2 / math.sqrt(10) + 2 / math.sqrt(15)) / 2
    assert clip1 == pytest.approx(5.744267, abs=1e-6)
    assert per_clip == pytest.approx([clip1, 5.0], **APPROX)
    assert score == pytest.approx((clip1 + 5.0) / 2, **APPROX)


def test_cider_d_length_penalty_with_bigrams():
    # n = 2; clip 1: cand "dog barks", ref "dog barks loudly"; clip 2: cand "a cat", ref "a cat". N = 2.
    # every n-gram has df 1 -> idf L = log 2 for all.
    # clip 1, n=1: cand {dog, barks} norm L sqrt2, ref {dog, barks, loudly} norm L sqrt3 -> 2 / sqrt6
    #         n=2: cand {dog barks} norm L, ref {dog barks, barks loudly} norm L sqrt2 -> 1 / sqrt2
    #   lengths (bigram counts, as the reference counts them): 1 vs 2 -> delta = -1 -> exp(-1 / (2 * 36))
    #   clip score = 10 * mean(2/sqrt6, 1/sqrt2) * exp(-1/72) = 7.512953
    # clip 2: identical, delta 0 -> 10
    score, per_clip = cider_d(["dog barks", "a cat"], [["dog barks loudly"], ["a cat"]], n=2)
    clip1 = 10 * (2 / math.sqrt(6) + 1 / math.sqrt(2)) / 2 * math.exp(-1 / 72)
    assert per_clip == pytest.approx([clip1, 10.0], **APPROX)
    assert score == pytest.approx((clip1 + 10.0) / 2, **APPROX)
    # With n = 1 the reference code has no bigram counts, so no length penalty at all (replicated quirk).
    _, per_clip_1 = cider_d(["dog barks", "a cat"], [["dog barks loudly"], ["a cat"]], n=1)
    assert per_clip_1[0] == pytest.approx(10 * 2 / math.sqrt(6), **APPROX)


def test_cider_d_single_clip_is_zero_and_default_n_is_four():
    # One clip: idf = log 1 - log 1 = 0 for every reference n-gram -> 0, as in the reference.
    assert cider_d(["a dog barks"], [["a dog barks"]])[0] == 0.0
    # A corpus of identical pairs with distinct words: every cosine 1, no length difference -> 10 per clip.
    score, per_clip = cider_d(["a dog barks loudly", "the cat meows softly"],
                              [["a dog barks loudly"], ["the cat meows softly"]])
    assert per_clip == pytest.approx([10.0, 10.0], **APPROX) and score == pytest.approx(10.0, **APPROX)


# --- Porter stemmer and METEOR --------------------------------------------------------------------------------------

@pytest.mark.parametrize("word, stem", [
    ("caresses", "caress"), ("ponies", "poni"), ("cats", "cat"), ("feed", "feed"), ("agreed", "agre"),
    ("plastered", "plaster"), ("motoring", "motor"), ("sing", "sing"), ("hopping", "hop"), ("falling", "fall"),
    ("filing", "file"), ("happy", "happi"), ("sky", "sky"), ("relational", "relat"), ("generalization", "gener"),
    ("triplicate", "triplic"), ("adjustment", "adjust"), ("adoption", "adopt"), ("probate", "probat"),
    ("controll", "control"), ("roll", "roll"), ("dogs", "dog"), ("barking", "bark"), ("barks", "bark"),
    ("is", "is"),
])
def test_porter_stem_paper_examples(word, stem):
    assert porter_stem(word) == stem


def test_meteor_identical_is_one_minus_single_chunk_penalty():
    # m = 6 matches, P = R = 1 -> Fmean = 1; one chunk -> penalty 0.5 (1/6)^3 = 0.5/216
    score, per_clip = meteor(["a dog barks at the cat"], [["a dog barks at the cat"]])
    assert score == pytest.approx(1 - 0.5 / 216, **APPROX)
    assert per_clip == [pytest.approx(1 - 0.5 / 216, **APPROX)]


def test_meteor_chunk_counting_picks_fewest_chunks():
    # cand "the cat sat on the mat" vs ref "on the mat the cat sat": all 6 words match.
    # Best alignment: cand "the cat sat" -> ref 3..5, cand "on the mat" -> ref 0..2: 2 chunks
    # (pairing the two "the"s in order would give 4 chunks). penalty = 0.5 (2/6)^3 = 1/54.
    score, _ = meteor(["the cat sat on the mat"], [["on the mat the cat sat"]])
    assert score == pytest.approx(1 - 1 / 54, **APPROX)


def test_meteor_stem_stage_matches_dogs_barking_with_dog_barks():
    # No exact match; stems dog = dog, bark = bark -> m = 2, P = R = 1, one chunk -> 1 - 0.5 (1/2)^3 = 0.9375
    assert porter_stem("dogs") == porter_stem("dog") and porter_stem("barking") == porter_stem("barks")
    score, _ = meteor(["dogs barking"], [["dog barks"]])
    assert score == pytest.approx(0.9375, **APPROX)


def test_meteor_exact_plus_stem_with_two_chunks():
    # cand "a dog barks loudly" vs ref "a dog is barking": exact a, dog; stem barks~barking -> m = 3.
    # P = R = 3/4 -> Fmean = 0.75; chunks: (a dog) -> ref 0,1 and barks -> ref 3 = 2 chunks
    # penalty = 0.5 (2/3)^3 = 4/27 -> score = 0.75 (1 - 4/27) = 0.638889
    score, _ = meteor(["a dog barks loudly"], [["a dog is barking"]])
    assert score == pytest.approx(0.75 * (1 - 4 / 27), **APPROX)
    assert score == pytest.approx(0.638889, abs=1e-6)


def test_meteor_fmean_weights_recall_and_max_over_references():
    # cand "a dog" vs ref "a dog barks loudly": m = 2, P = 1, R = 0.5
    # Fmean = P R / (0.9 P + 0.1 R) = 0.5 / 0.95; one chunk -> penalty 0.5 (1/2)^3 = 0.0625
    expected = 0.5 / 0.95 * (1 - 0.0625)
    score, _ = meteor(["a dog"], [["a dog barks loudly"]])
    assert score == pytest.approx(expected, **APPROX)
    # With a second, unrelated reference the max over references keeps the better one.
    score2, _ = meteor(["a dog"], [["birds sing", "a dog barks loudly"]])
    assert score2 == pytest.approx(expected, **APPROX)
    # No match at all -> 0; corpus = mean of clips.
    score3, per_clip = meteor(["a dog", "xyz"], [["a dog barks loudly"], ["birds sing"]])
    assert per_clip[1] == 0.0 and score3 == pytest.approx(expected / 2, **APPROX)


def test_meteor_many_repeats_uses_in_order_fallback():
    # 8 identical "a" on both sides: 8! = 40320 alignments > 20 000 -> in-order pairing, one chunk.
    score, _ = meteor(["a " * 8], [["a " * 8]])
    assert score == pytest.approx(1 - 0.5 / 8 ** 3, **APPROX)


# --- the report -----------------------------------------------------------------------------------------------------

CANDS = ["a dog barks loudly", "the cat sat on the mat", "rain falls on a tin roof"]
REFS = [["a dog is barking", "a dog"], ["on the mat the cat sat"], ["rain is falling on a metal roof", "heavy rain"]]


def test_evaluate_captions_structure_and_nlg_mean():
    report = evaluate_captions(CANDS, REFS)
    names = ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", METEOR_NAME, "ROUGE-L", "CIDEr-D"]
    assert list(report["scores"]) == names
    assert report["nlg_mean_over"] == names
    assert set(report["not_computed"]) == {"SPICE", "SPIDEr"}
    assert "Java" in report["not_computed"]["SPICE"] and "SPICE" in report["not_computed"]["SPIDEr"]
    assert report["nlg_mean"] == pytest.approx(sum(100 * report["scores"][k] for k in names) / len(names))
    assert report["n_clips"] == 3
    for key in ("CIDEr-D", "ROUGE-L", METEOR_NAME):
        assert len(report["per_clip"][key]) == 3
        assert sum(report["per_clip"][key]) / 3 == pytest.approx(report["scores"][key])
    # The report agrees with the individual functions.
    assert [report["scores"][f"BLEU-{k}"] for k in range(1, 5)] == pytest.approx(bleu(CANDS, REFS))
    assert report["scores"]["ROUGE-L"] == pytest.approx(rouge_l(CANDS, REFS)[0])
    assert report["scores"]["CIDEr-D"] == pytest.approx(cider_d(CANDS, REFS)[0])
    assert report["scores"][METEOR_NAME] == pytest.approx(meteor(CANDS, REFS)[0])
    assert all(isinstance(v, float) for v in report["scores"].values())


def test_evaluate_captions_identical_corpus():
    report = evaluate_captions(["a dog barks loudly", "the cat meows softly"],
                               [["a dog barks loudly"], ["the cat meows softly"]])
    s = report["scores"]
    assert [s[f"BLEU-{k}"] for k in range(1, 5)] == pytest.approx([1.0] * 4, **APPROX)
    assert s["ROUGE-L"] == pytest.approx(1.0) and s["CIDEr-D"] == pytest.approx(10.0, **APPROX)
    assert s[METEOR_NAME] == pytest.approx(1 - 0.5 / 64, **APPROX)
    assert report["nlg_mean"] == pytest.approx(100 * (4 + 1 + (1 - 0.5 / 64) + 10) / 7, abs=1e-4)


# --- errors ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cands, refs, message", [
    ([], [], "empty"),
    (["a dog"], [["a dog"], ["a cat"]], "1 candidates but 2 reference lists"),
    (["a dog", "a cat"], [["a dog"], []], "clip 1 has no reference captions"),
    (["a dog", 3], [["a dog"], ["a cat"]], "candidates[1] is int"),
    (["a dog"], [["a dog", None]], "references[0][1] is NoneType"),
    (["a dog"], ["a dog"], "references[0] is a single string"),
    ("a dog", [["a dog"]], "not a single string"),
])
def test_errors_name_the_problem(cands, refs, message):
    for fn in (evaluate_captions, bleu, rouge_l, cider_d, meteor):
        with pytest.raises(WorkbenchError, match=message.replace("[", r"\[").replace("]", r"\]")):
            fn(cands, refs)


def test_parameter_errors():
    with pytest.raises(WorkbenchError, match="n "):
        bleu(["a"], [["a"]], n=0)
    with pytest.raises(WorkbenchError, match="sigma"):
        cider_d(["a"], [["a"]], sigma=0)
    with pytest.raises(WorkbenchError, match="beta"):
        rouge_l(["a"], [["a"]], beta=-1)
    with pytest.raises(WorkbenchError, match="alpha"):
        meteor(["a"], [["a"]], alpha=1.5)
    with pytest.raises(WorkbenchError, match="must be a string"):
        tokenize(None)


def test_clip_scores_give_the_corpus_nlg_mean_and_resample_it():
    """``clip_scores`` reproduces ``evaluate_captions``' NLG mean on all clips; on a subset its BLEU, METEOR and
    ROUGE-L parts are that subset's corpus scores (CIDEr-D keeps the whole corpus's document frequencies)."""
    from workbench.captioning.metrics import clip_scores, evaluate_captions
    from workbench.captioning.metrics.coco import bleu_from_counts

    refs = [["a dog barks twice", "a dog is barking"], ["rain falls on a roof", "heavy rain on a tin roof"],
            ["a car engine starts", "an engine revs up"], ["birds sing in the morning", "small birds chirping"]]
    cands = ["a dog is barking loudly", "rain on the roof", "a car starts", "a bird sings"]
    scores = clip_scores(cands, refs)
    assert scores.nlg_mean() == pytest.approx(evaluate_captions(cands, refs)["nlg_mean"], abs=1e-9)
    subset = [0, 2, 2]
    sub = evaluate_captions([cands[i] for i in subset], [refs[i] for i in subset])["scores"]
    expected = [sub[f"BLEU-{k}"] for k in range(1, 5)] + [sub["ROUGE-L"]]
    bleu = bleu_from_counts(scores.bleu[subset].sum(axis=0).tolist(), 4)
    assert bleu + [scores.rouge[subset].mean()] == pytest.approx(expected)
