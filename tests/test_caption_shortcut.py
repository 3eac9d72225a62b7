"""Evaluations a shortcut cannot pass (P9, issue 18): held-out reference phrasings and their measured overlap, the
surface-feature shortcut baseline held near chance, the real-recording helpers and the independent judge's set-up."""
import re

import numpy as np
import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.captioning.shortcut import STRUCTURE, SURFACE, phrasing_overlap, shortcut_line, shortcut_report
from workbench.captioning.synth import SoundCorpusConfig, sound_corpus
from workbench.captioning.synth import words as sound_words

# the corpus test_caption_clap trains on (cached once per configuration): 8 clips per class, 2 of each held out
CORPUS = SoundCorpusConfig(n_per_class=8, mixtures=4, seconds=2.0, seed=7)
# The bound [ours]: the surface shortcut (1-NN on duration, file size, RMS level) must be within NLG_MARGIN points of
# a random train caption's NLG mean and within ACCURACY_MARGIN of chance class accuracy. Measured when the bound
# was set: shortcut 8.9 vs random 9.5 ± 1.9 NLG mean, accuracy 0.08 vs chance 0.08 (25 eval clips); before the
# generator drew loudness per clip (peak fixed at about 0.5) the RMS level alone picked the class well above chance.
NLG_MARGIN = 4.0
ACCURACY_MARGIN = 0.15


def test_held_out_phrasings_are_disjoint_from_the_train_ones_and_name_no_distractor():
    assert set(sound_words.EVAL_CLAUSES) == set(sound_words.CLAUSES)
    for key, pool in sound_words.EVAL_CLAUSES.items():
        assert len(pool) >= 4 and not set(pool) & set(sound_words.CLAUSES[key]), key
        assert all(c == c.strip() and not c.endswith(".") for c in pool)
    assert len(sound_words.EVAL_JOINS) >= 5 and not set(sound_words.EVAL_JOINS) & set(sound_words.JOINS)
    vocab = pd.read_csv(sound_words.VOCABULARY_PATH, dtype={"keyword": str}, keep_default_na=False)
    distractors = {k.lower() for k in vocab.loc[vocab["in_corpus"] == 0, "keyword"] if re.fullmatch(r"[\w-]+", k)}
    words = {w for pool in sound_words.EVAL_CLAUSES.values() for c in pool for w in re.findall(r"[a-z-]+", c.lower())}
    assert not words & distractors
    with pytest.raises(WorkbenchError, match="unknown phrasings"):
        sound_words.captions_for(("siren", "wail"), np.random.default_rng(0), "test")


def test_phrasing_overlap_on_a_hand_made_example():
    out = phrasing_overlap(["A dog barks.", "A cat meows loudly."], ["A dog barks.", "The cat purrs"])
    # eval word types {a, dog, barks, the, cat, purrs}: a, dog, barks, cat seen -> 4/6
    assert out["words"] == pytest.approx(4 / 6)
    # eval bigrams {a dog, dog barks, the cat, cat purrs}: a dog, dog barks seen -> 2/4
    assert out["2-grams"] == pytest.approx(0.5)
    assert out["sentences"] == 1 and out["eval_sentences"] == 2 and out["train_sentences"] == 2


@pytest.fixture(scope="module")
def corpus():
    return sound_corpus(CORPUS)


def test_eval_references_use_held_out_phrasings(corpus):
    train, held = corpus[corpus["split"] == "train"], corpus[corpus["split"] == "eval"]
    overlap = phrasing_overlap([c for cs in train["captions"] for c in cs], [c for cs in held["captions"] for c in cs])
    assert overlap["sentences"] == 0 and overlap["4-grams"] < 0.05        # no reference is a training sentence
    assert 0 < overlap["words"] < 0.8                                       # class nouns are shared, by design
    train_sentences = {s.lower().rstrip(".") for c in sound_words.CLAUSES.values() for s in c}
    for caps in held["captions"]:
        assert 4 <= len(caps) <= 5 and not {c.lower().rstrip(".") for c in caps} & train_sentences


def test_surface_shortcut_stays_near_chance_and_structure_cues_are_reported(corpus):
    train, held = corpus[corpus["split"] == "train"], corpus[corpus["split"] == "eval"]
    report = shortcut_report(train, held)
    surface, structure = report["surface"], report["structure"]
    assert surface["features"] == list(SURFACE) and structure["features"] == list(STRUCTURE)
    assert surface["clips"] == len(held) >= 20
    assert abs(surface["nlg_mean"] - surface["random_nlg_mean"]) <= NLG_MARGIN, surface
    assert surface["class_accuracy"] <= surface["chance_accuracy"] + ACCURACY_MARGIN, surface
    assert 0 <= structure["class_accuracy"] <= 1 and structure["nlg_mean"] >= 0
    line = shortcut_line(report)
    assert "surface-feature 1-NN caption" in line and "random train caption" in line and "structure cues" in line


def test_loudness_is_drawn_independently_of_the_class(corpus):
    from workbench.captioning.shortcut import surface_features

    feats = surface_features(corpus["path"])
    feats["class"] = corpus["class"].to_numpy()
    means = feats.groupby("class")["rms_dbfs"].mean()
    assert means.max() - means.min() < 12                                  # RMS range drawn: 20 dB for every class
    assert feats["rms_dbfs"].between(-41, -19).all()


# ------------------------------------------------------------------------------------------------ real recordings


def test_loudest_window_and_word_matching():
    from workbench.captioning.real import _says, loudest_window

    audio = np.zeros(16000 * 4, np.float32)
    audio[16000 * 2:16000 * 3] = 0.5
    window = loudest_window(audio, 1.0)
    assert len(window) == 16000 and np.abs(window).mean() > 0.45
    assert len(loudest_window(audio[:8000], 1.0)) == 8000 and len(loudest_window(audio, None)) == len(audio)
    assert _says("Two dogs are barking", ("dog", "bark")) and _says("A man talks", ("talk",))
    assert not _says("A doghouse creaks", ("dog",)) and not _says("water flows", ("owl",))


def test_real_items_map_labels_to_the_vocabulary_and_name_the_missing():
    from workbench.captioning.real import real_items
    from workbench.captioning.synth import load_vocabulary
    from workbench.datasets.real import RealDataMissing

    try:
        items, no_keyword = real_items(load_vocabulary())
    except RealDataMissing as exc:
        pytest.skip(str(exc))
    labels = {i["label"]: i for i in items}
    assert set(labels) == {"cat", "cow", "dog", "duck", "frog", "horse", "owl", "pig", "rooster", "sheep", "speech"}
    assert sorted(no_keyword) == ["cow", "pig", "sheep"]                     # the bundled vocabulary has no word
    assert labels["dog"]["keywords"] == ["Dog", "Bark"] and "Speech" in labels["speech"]["keywords"]


def test_real_line_reports_unavailable_and_rates():
    from workbench.captioning.real import real_line

    assert "not available" in real_line({"unavailable": "pip install x"})
    summary = {"animals": 10, "animals_with_keyword": 7, "keyword_hit_rate": 0.0, "keyword_chance": 0.02,
               "greedy_caption_hit_rate": 0.1, "magic_caption_hit_rate": 0.2, "speech_keyword_hit": True,
               "speech_greedy_hit": False, "speech_magic_hit": True, "top": 3}
    line = real_line({"rows": [], "summary": summary, "no_keyword": ["cow"]})
    assert "0 % (of 7" in line and "greedy 10 % / MAGIC 20 %" in line and "no vocabulary word for cow" in line
    assert "speech keyword yes" in line and "greedy no / MAGIC yes" in line


def test_the_judge_differs_from_the_guide():
    from workbench.captioning.clap import ClapConfig, default_scorer_folder, judge_config, judge_scorer_folder

    guide = ClapConfig()
    judge = judge_config(guide)
    assert judge.seed != guide.seed and judge.text == "minilm" and guide.text == "student"
    assert judge_scorer_folder(config=guide) != default_scorer_folder(config=guide)
