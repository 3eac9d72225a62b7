"""The explanation check's copy-the-prompt baselines (``memes.vlm``: ``cites``, ``copy_explanations``, the
``baselines`` of ``explanation_check`` and their rows in ``grid_tables``) on hand-computed memes. A stand-in VLM
fixes each meme's prediction, occlusion ranking, retrieved triples and explanation, so that every share below is
counted by hand; no language model runs."""
import math

import numpy as np
import pandas as pd
import pytest

from workbench.memes.knowledge import Triple
from workbench.memes.vlm import (COPY_SOURCES, NOT_IN_BUILD, VLMConfig, cites, copy_explanations, explanation_check,
                                 grid_tables)

TEXT_COPY, TRIPLES_COPY = COPY_SOURCES
ZORBLAX = Triple("zorblax", "IsA", "ethnic group", 3.0, "wikidata", "zorblax")


def test_a_copy_of_the_text_names_a_decisive_word_it_contains():
    copied = copy_explanations("the  zorblax people ruin everything", [ZORBLAX])
    assert copied[TEXT_COPY] == "the zorblax people ruin everything"
    assert copied[TRIPLES_COPY] == "the zorblax people ruin everything\nKnowledge: zorblax | IsA | ethnic group"
    found = cites(copied[TEXT_COPY], ["zorblax"], [], "the zorblax people ruin everything")
    assert found["cites_words"] and found["cites_evidence"]
    assert found["novel_evidence"] == [] and not found["cites_novel"]       # the word is the text's own


def test_a_concept_absent_from_the_text_is_named_only_by_the_triples_copy():
    text = "the zorblax people ruin everything"
    copied = copy_explanations(text, [ZORBLAX])
    by_text = cites(copied[TEXT_COPY], [], ["ethnic group"], text)
    by_triples = cites(copied[TRIPLES_COPY], [], ["ethnic group"], text)
    assert by_text["novel_evidence"] == by_triples["novel_evidence"] == ["ethnic group"]
    assert not by_text["cites_knowledge"] and not by_text["cites_novel"] and not by_text["cites_evidence"]
    assert by_triples["cites_knowledge"] and by_triples["cites_novel"] and by_triples["cites_evidence"]


def test_words_are_matched_whole_and_without_punctuation():
    assert not cites("the zorblaxian way", ["zorblax"], [], "zorblax!")["cites_words"]
    assert cites("blame the Zorblax.", ["zorblax!"], [], "zorblax!")["cites_words"]
    assert copy_explanations("monday again", [])[TRIPLES_COPY] == "monday again"     # no triples, no line


class Knowledge:
    """Retrieval of the stand-in: the triples planted for each text (what a +knowledge prompt would hold)."""

    def __init__(self, planted):
        self.planted = planted

    def retrieve(self, text, tags=(), *, top=8):
        return self.planted.get(text, [])[:top]


class StandIn:
    """A VLM whose prediction, occlusion ranking and explanation are planted per meme text."""

    def __init__(self, setting, memes):
        self.config = VLMConfig(setting=setting)
        self.memes = memes
        self.knowledge = Knowledge({t: m["triples"] for t, m in memes.items()})

    def predict(self, images, texts):
        m = self.memes[texts[0]]
        triples = [t.to_dict() for t in m["triples"]] if self.config.uses_knowledge else []
        return [{"label": "abusive", "confidence": 0.9, "tags": [{"tag": "flag", "p": 0.8}], "triples": triples}]

    def word_importance(self, image, text):
        return self.memes[text]["importance"]

    def rationales(self, images, texts, labels):
        return [self.memes[texts[0]]["explanation"]]


MEMES = {
    # decisive word "zorblax" (in the text), knowledge link zorblax → ethnic group ("ethnic group" not in the text)
    "the zorblax people ruin everything": {"importance": [("zorblax", 0.4), ("ruin", 0.005)], "triples": [ZORBLAX],
                                           "explanation": "It attacks an ethnic group."},
    # decisive word "monday", nothing retrieved
    "monday again": {"importance": [("monday", 0.2), ("again", 0.02)], "triples": [],
                     "explanation": "A joke about Monday mornings."},
    # no word matters; nothing retrieved
    "nice weather": {"importance": [("nice", 0.0), ("weather", -0.01)], "triples": [], "explanation": "Sunny."},
}


def _frame():
    texts = list(MEMES)
    return pd.DataFrame({"id": ["a", "b", "c"], "image": [np.zeros((8, 8, 3), np.uint8)] * 3, "text": texts,
                         "label": ["abusive", "benign", "benign"]})


def test_explanation_check_counts_the_copies_on_the_same_memes_and_evidence():
    check = explanation_check(StandIn("vlm+knowledge", MEMES), _frame())
    assert (check["rows"], check["with_words"], check["with_concepts"], check["with_novel"]) == (3, 2, 1, 1)
    # decisive words (drop > 0.01): a "zorblax", b "monday" and "again", c none; concepts of a: zorblax, ethnic group
    # the VLM: a names "ethnic group" (a concept, the one absent from the text) but no decisive word; b "monday"
    assert check["word_rate"] == 0.5                          # b, out of a and b
    assert check["knowledge_rate"] == 1.0 and check["novel_rate"] == 1.0
    assert check["evidence_rate"] == pytest.approx(2 / 3)     # b, and c that has no evidence; a lacks a word
    text, triples = check["baselines"][TEXT_COPY], check["baselines"][TRIPLES_COPY]
    # copies of the text name every decisive word and the head "zorblax", never the absent "ethnic group"
    assert (text["word_rate"], text["knowledge_rate"], text["novel_rate"], text["evidence_rate"]) == (1, 1, 0, 1)
    assert (triples["word_rate"], triples["knowledge_rate"], triples["novel_rate"]) == (1, 1, 1)
    first = check["examples"][0]
    assert first["text"] == "the zorblax people ruin everything" and first["novel_evidence"] == ["ethnic group"]


def test_without_knowledge_there_is_no_concept_to_name_and_no_evidence_outside_the_text():
    check = explanation_check(StandIn("vlm", MEMES), _frame())
    assert check["with_concepts"] == 0 and math.isnan(check["knowledge_rate"])     # no knowledge link to name
    assert math.isnan(check["novel_rate"]) and check["with_novel"] == 0           # all evidence is in the text
    for source in COPY_SOURCES:
        shares = check["baselines"][source]
        assert shares["word_rate"] == 1.0 and math.isnan(shares["knowledge_rate"]) and math.isnan(shares["novel_rate"])


def test_grid_tables_put_the_copies_under_each_setting_and_read_older_records():
    check = explanation_check(StandIn("vlm+knowledge", MEMES), _frame())
    record = {"explanations": [{k: v for k, v in check.items() if k != "examples"}]}
    _, table = grid_tables(record)
    assert table["explanation"].tolist() == ["VLM", TEXT_COPY, TRIPLES_COPY]
    assert table["names evidence not in the meme text"].tolist() == [1.0, 0.0, 1.0]
    assert table["names a decisive word"].iloc[0] == 0.5
    assert set(table["memes with evidence not in the text"]) == {1}
    older = {"explanations": [{"setting": "vlm", "rows": 2, "word_rate": 0.5, "knowledge_rate": float("nan"),
                               "evidence_rate": 0.5, "with_words": 2, "with_concepts": 0}]}
    _, table = grid_tables(older)
    assert table["explanation"].tolist() == ["VLM", *(f"{s} — {NOT_IN_BUILD}" for s in COPY_SOURCES)]
    assert table["names a decisive word"].iloc[0] == 0.5 and table["names a decisive word"].iloc[1:].isna().all()
    assert table["names evidence not in the meme text"].isna().all()
