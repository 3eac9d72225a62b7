"""Knowledge snapshots and retrieval (P5 Stage I): entity linking, lexicon matches, ranking, full ConceptNet dumps."""
import gzip
import json

import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.memes.knowledge import (RULE_PATTERNS, KnowledgeBase, default_knowledge, index_conceptnet,
                                       read_conceptnet_assertions, rule_restating, serialize)


@pytest.fixture(scope="module")
def kb():
    return default_knowledge()


def test_bundled_snapshots_load(kb):
    info = kb.describe()
    assert info["edges"] > 50 and info["entities"] > 30 and info["lexicon"] > 30


def test_the_same_frame_retrieves_people_or_institution_facts(kb):
    """What decides satire vs abuse for an unseen name: is it a people or an organisation?"""
    people = serialize(kb.retrieve("Sorrenians are clowns"))
    firm = serialize(kb.retrieve("Flinco are clowns"))
    assert "Sorrenians | instance of | ethnic group" in people and "ethnic group | IsA | group of people" in people
    assert "Flinco | instance of | insurance company" in firm and "company | IsA | organization" in firm
    assert "clown | IsA | performer" in people and "clown | IsA | performer" in firm


def test_the_snapshots_state_no_labelling_rule(kb):
    """World knowledge only: no edge, fact or lexicon meaning restates how the generator labels a meme. Patterns
    checked on every field of every row (``RULE_PATTERNS``, case-insensitive): protected-ness (``protect…``);
    verdicts and label names (hate speech, hateful, abusive, abuse, benign, satire/satirical, offensive, harmful,
    (un)acceptable, allowed, forbidden, criticism, verdict, label(l)ed); whom a term is aimed at, i.e. the target
    slot's semantics (aimed at, directed at, target(s/ed), victim(s), when used/said about/against)."""
    assert set(RULE_PATTERNS) == {"protected-ness", "verdicts and label names",
                                  "whom a term is aimed at (target-slot semantics)"}
    assert rule_restating(kb) == []
    assert not kb.facts["property"].str.contains("protected", case=False).any()


def test_the_rule_scan_finds_planted_rule_triples(kb):
    """The scan is not vacuous: each kind of rule-restating row that was once bundled is found."""
    edges = pd.concat([kb.edges, pd.DataFrame([
        {"head": "group of people", "relation": "HasProperty", "tail": "protected from hate speech", "weight": 1.0},
        {"head": "organization", "relation": "HasProperty", "tail": "open to criticism and satire", "weight": 1.0}])])
    facts = pd.concat([kb.facts, pd.DataFrame([{"entity": "S1", "label": "Velorians", "aliases": "Velorian",
                                                "property": "protected characteristic", "value": "ethnicity",
                                                "world": "synthetic"}])])
    lexicon = pd.concat([kb.lexicon, pd.DataFrame([{"term": "vermin", "category": "dehumanizing metaphor",
                                                    "meaning": "likens people to pests when aimed at a group",
                                                    "world": "general", "source": "test"}])])
    found = rule_restating(KnowledgeBase(edges, facts, lexicon))
    assert {(table, name) for table, _, name in found} == {
        ("edges", "protected-ness"), ("edges", "verdicts and label names"), ("facts", "protected-ness"),
        ("lexicon", "whom a term is aimed at (target-slot semantics)")}


def test_lexicon_matches_rank_first_and_top_limits(kb):
    triples = kb.retrieve("Velorians? send them back", top=3)
    assert len(triples) == 3
    assert triples[0].source == "lexicon" and triples[0].head == "send them back"
    assert [t.score for t in triples] == sorted((t.score for t in triples), reverse=True)


def test_symbols_articles_and_plurals(kb):
    assert any(t.head == "(((" for t in kb.retrieve("look at (((them)))"))
    assert any(t.head == "a plague" for t in kb.retrieve("they are plague"))            # article optional
    assert any(t.head == "parasite" for t in kb.retrieve("what parasites do"))       # plural folded to a head
    assert not kb.retrieve("me when the")                                             # stopwords only


def test_longest_alias_wins_and_matches_do_not_overlap(kb):
    links = kb.link("crumble airlines lost my bag")
    assert links == [("crumble airlines", "entity", "S27")]


def test_image_tags_reach_the_lexicon(kb):
    triples = kb.retrieve("proud of our heritage", tags=["sunwheel", "park"])
    top = triples[0]
    assert top.head == "sunwheel" and top.tail == "hate symbol" and top.matched == "image: sunwheel"


def _assertions(path, lines):
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for rel, start, end, weight in lines:
            f.write("\t".join([f"/a/[{rel},{start},{end}]", rel, start, end, json.dumps({"weight": weight})]) + "\n")


def test_a_full_conceptnet_dump_in_the_official_format(tmp_path):
    dump = tmp_path / "conceptnet-assertions-5.7.0.csv.gz"
    _assertions(dump, [("/r/IsA", "/c/en/glorp/n", "/c/en/kitchen_tool", 2.5),
                       ("/r/IsA", "/c/fr/chat/n", "/c/fr/animal", 1.0),         # not English: skipped
                       ("/r/RelatedTo", "/c/en/glorp", "/c/de/quirl", 1.0)])    # mixed: skipped
    edges = read_conceptnet_assertions(dump)
    assert edges.to_dict("records") == [{"head": "glorp", "relation": "IsA", "tail": "kitchen tool", "weight": 2.5}]
    table = index_conceptnet(dump, tmp_path / "edges.parquet")
    for source in (dump, table):
        kb = KnowledgeBase.load(conceptnet=source)
        assert serialize(kb.retrieve("my glorp broke")).startswith("glorp | IsA | kitchen tool")
        assert kb.describe()["edges"] == 1
    bad = tmp_path / "bad.csv.gz"
    with gzip.open(bad, "wt") as f:
        f.write("only\ttwo\n")
    with pytest.raises(WorkbenchError, match="line 1: expected 5 tab-separated fields"):
        read_conceptnet_assertions(bad)


def test_bad_snapshot_folders(tmp_path):
    with pytest.raises(WorkbenchError, match="knowledge file not found"):
        KnowledgeBase.load(tmp_path)
    for name in ("wikidata_facts.csv", "hate_lexicon.csv"):
        (tmp_path / name).write_text("")
    pd.DataFrame({"head": ["a"], "relation": ["IsA"], "weight": [1]}).to_csv(tmp_path / "conceptnet_edges.csv",
                                                                            index=False)
    with pytest.raises(WorkbenchError, match="lacks column"):
        KnowledgeBase.load(tmp_path)
    with pytest.raises(WorkbenchError, match="ConceptNet file not found"):
        KnowledgeBase.load(conceptnet=tmp_path / "missing.csv.gz")
