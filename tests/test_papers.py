import pytest

from workbench import WorkbenchError
from workbench.papers import all_papers, claims_frame, get_paper


def test_ten_papers_in_order():
    papers = all_papers()
    assert [p.id for p in papers] == [f"P{i}" for i in range(1, 11)]
    assert len({p.arxiv for p in papers}) == 10


def test_lookup_by_id_or_short_name():
    assert get_paper("p3").short_name == "AlignX"
    assert get_paper("TrinityX").id == "P10"
    with pytest.raises(WorkbenchError, match="unknown paper 'P11'; choose from P1, P2"):
        get_paper("P11")


def test_every_paper_is_complete():
    for p in all_papers():
        assert p.title and p.venue and p.capabilities and p.views and p.claims
        assert p.notebook.startswith("notebooks/") and p.notebook.endswith(".py")
        assert p.url == f"https://arxiv.org/abs/{p.arxiv}"


def test_shared_capabilities_follow_the_design():
    assert set(get_paper("P3").capabilities) == set(get_paper("P10").capabilities)
    assert "steering" in get_paper("P7").capabilities and "steering" in get_paper("P8").capabilities
    for pid in ("P1", "P2", "P4"):
        assert {"taxonomy", "dedup"} <= set(get_paper(pid).capabilities)


def test_claims_are_data():
    frame = claims_frame("P1")
    assert list(frame.columns) == ["paper", "metric", "value", "unit", "claim"]
    assert 97.6 in frame["value"].tolist()
    p4 = claims_frame("P4").set_index("metric")["value"]
    assert p4["ICC (best rater)"] == 0.87 and p4["demographic sensitivity DS"] == 0.12
    assert claims_frame("P9").query("metric == 'NLG mean score, MAGIC search (WavCaps)'")["value"].item() == 7.3
    assert len(claims_frame()) == sum(len(p.claims) for p in all_papers())
