import pytest

from workbench import WorkbenchError
from workbench.cli.main import main
from workbench.taxonomy import NONE, dimension, taxonomy_frame

SCHWARTZ = {"Achievement", "Power", "Security", "Conformity", "Tradition", "Self-Direction", "Stimulation",
            "Hedonism", "Universalism", "Benevolence"}
UFCS = {"A Cultural & natural heritage", "B Performance & celebration", "C Visual arts & crafts", "D Books & press",
        "E Audio-visual & interactive media", "F Design & creative services", "Intangible heritage", "H Sports"}


def test_counts_match_the_papers():
    # 14 + 56 + 41 named domains; with culture's None the papers count 14 + 56 + 42 = 112.
    assert [len(dimension(d).labels) for d in ("safety", "value", "culture")] == [14, 56, 41]
    for name in ("safety", "value", "culture"):
        assert dimension(name).domains[-1].key == NONE
    assert [t.key for t in dimension("semantic_type").domains] == ["object", "attribute", "relation"]


def test_safety_keys_are_beavertails_keys():
    keys = dimension("safety").keys
    assert "violence,aiding_and_abetting,incitement" in keys and "self_harm" in keys
    assert dimension("safety").get("privacy_violation").name == "Privacy violation"


def test_groups_and_descriptions():
    assert {d.parent for d in dimension("value").labels} == SCHWARTZ
    assert {d.parent for d in dimension("culture").labels} == UFCS
    assert dimension("culture").get("crafts").parent == "C Visual arts & crafts"
    frame = taxonomy_frame()
    assert frame["description"].str.len().between(20, 300).all()
    assert not frame.duplicated(["dimension", "key"]).any()


def test_unknown_names():
    with pytest.raises(WorkbenchError, match="unknown dimension 'ethics'"):
        dimension("ethics")
    with pytest.raises(WorkbenchError, match="unknown value domain 'greed'"):
        dimension("value").get("greed")


def test_taxonomy_command(capsys):
    assert main(["taxonomy", "--dimension", "culture"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("culture: 41 domains + None") and "Video Games" in out and "H Sports" in out
    assert main(["taxonomy"]) == 0
    assert capsys.readouterr().out.count("domains") == 4
