"""The claims ledger: its nouns, the registry's claims, the ledger over a store and in memory, the CLI and the
dashboard page (the measurements of each paper are tested in tests/test_claims_*.py)."""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench import claims
from workbench.claims import Artifact, MemorySources, Ours, StoreSources, measured, not_built, not_measured
from workbench.io import ArtifactStore, save_frame, save_records
from workbench.papers import all_papers

NUMBER_WORDS = {1: ("single", "one"), 5: ("five",), 8: ("eight",)}


def test_every_claim_has_wording_kind_and_a_registered_measurement():
    registry = claims.discover()
    for paper in all_papers():
        assert paper.claims, paper.id
        for claim in paper.claims:
            assert claim.wording and claim.kind, (paper.id, claim.metric)
            assert claim.kind in registry, f"{paper.id} '{claim.metric}': no measurement '{claim.kind}'"
            assert claim.view in paper.views or claim.view == "", (paper.id, claim.metric, claim.view)


def test_each_claims_wording_states_its_number():
    for paper in all_papers():
        for claim in paper.claims:
            value = claim.value
            forms = {f"{value:g}", f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"}
            forms |= set(NUMBER_WORDS.get(value, ()))
            assert any(re.search(rf"(?<![\d.]){re.escape(f)}(?![\d])", claim.wording) for f in forms), \
                (paper.id, claim.metric, claim.wording)


def test_efficiency_claims_are_attributed_per_quantity():
    """AlignX: latency and memory each over 35 % lower; TrinityX: each over 40 % (two claims per paper)."""
    for pid in ("P3", "P10"):
        paper = next(p for p in all_papers() if p.id == pid)
        rows = {c.params["quantity"]: c for c in paper.claims if c.kind == "efficiency_reduction"}
        assert set(rows) == {"latency", "memory"}
        assert {c.qualifier for c in rows.values()} == {">"}
        assert len({c.value for c in rows.values()}) == 1


def test_p9_note_records_the_abstracts_inconsistency():
    p9 = next(p for p in all_papers() if p.id == "P9")
    greedy, magic = (p9.number(m).value for m in ("NLG mean score, greedy", "NLG mean score, MAGIC search (WavCaps)"))
    gain = p9.number("relative improvement from MAGIC")
    assert round(100 * (magic / greedy - 1)) != gain.value      # +55 %, not the stated 35 %
    assert "55 %" in gain.note and f"{round(100 * (magic / greedy - 1))} %" in gain.note


@pytest.mark.parametrize("kwargs, message", [
    (dict(status="done"), "unknown claim status"),
    (dict(status="not measured", value=1.0, reason="x"), "carries no value"),
    (dict(status="comparable"), "needs a finite value"),
    (dict(status="comparable", value=float("nan")), "needs a finite value"),
    (dict(status="not comparable", value=1.0), "needs a reason"),
    (dict(status="not measured"), "needs a reason"),
    (dict(status="comparable", value=1.0, data_kind="made up"), "unknown data kind"),
])
def test_ours_rejects_inconsistent_rows(kwargs, message):
    with pytest.raises(WorkbenchError, match=message):
        Ours(**kwargs)


def test_measured_is_comparable_only_without_a_reason():
    art = Artifact("P0", "toy", None, "default", ("m",))
    assert measured(art, 1.5, data="synthetic: toy", data_kind="synthetic").status == "comparable"
    row = measured(art, 1.5, reason="other data", ci=(1, 2), data="synthetic: toy", data_kind="synthetic")
    assert row.status == "not comparable" and row.ci == (1.0, 2.0) and row.models == ("m",)
    assert row.artifact == "P0/default/toy"
    assert not_built("P1", "x").reason.startswith("artifact P1/x is not built")


@pytest.fixture
def toy_kind(monkeypatch):
    """A registry with one toy measurement (the mean of column ``v`` in P1/toy, in %)."""
    def toy(claim, sources):
        art = sources.get("P1", "toy")
        if art is None:
            return not_built("P1", "toy")
        return measured(art, 100 * art.data["v"].mean(), reason="toy data", data="synthetic: toy",
                        data_kind="synthetic")

    monkeypatch.setitem(claims.MEASUREMENTS, "toy", toy)
    import dataclasses

    from workbench import papers
    from workbench.papers import Claim

    fake = Claim("toy metric", 50, "%", wording="toy 50%", kind="toy")
    p1 = dataclasses.replace(papers.get_paper("P1"), claims=(fake,))
    monkeypatch.setattr(papers, "get_paper", lambda paper_id: p1)
    return fake


def test_ledger_reads_the_store_and_memory_alike(tmp_path, toy_kind):
    store = ArtifactStore(tmp_path)
    rows = claims.ledger(["P1"], sources=StoreSources("default", store))
    assert [r.status for r in rows] == ["not measured"] and "workbench build P1" in rows[0].reason
    frame = pd.DataFrame({"v": [0.25, 0.75, 0.5]})
    save_frame(frame, store.path("P1", "toy", "default"), profile="default", models=["enc"], seed=0)
    stored = claims.ledger(["P1"], sources=StoreSources("default", store))[0]
    memory = claims.ledger(["P1"], sources=MemorySources("default").add("P1", "toy", frame, models=["enc"]))[0]
    assert stored.value == memory.value == pytest.approx(50.0)
    assert stored.status == memory.status == "not comparable" and stored.models == ("enc",)
    assert stored.artifact == "P1/default/toy" and memory.artifact == "notebook (in memory)"
    assert stored.ours == "50 %" and stored.view == "taxonomy"


def test_ledger_frame_markdown_and_unknown_kinds(toy_kind, monkeypatch):
    sources = MemorySources("default").add("P1", "toy", pd.DataFrame({"v": [0.5]}))
    frame = claims.ledger_frame(["P1"], sources=sources)
    assert list(frame.columns[:len(claims.COLUMNS)]) == claims.COLUMNS and len(frame) == 1
    md = claims.ledger_markdown(claims.ledger(["P1"], sources=sources))
    assert md.splitlines()[0].startswith("| paper | metric |") and "| not comparable |" in md
    monkeypatch.delitem(claims.MEASUREMENTS, "toy")
    with pytest.raises(WorkbenchError, match="no measurement for kind 'toy'"):
        claims.ledger(["P1"], sources=sources)


def test_a_measurement_must_return_ours(toy_kind, monkeypatch):
    monkeypatch.setitem(claims.MEASUREMENTS, "toy", lambda claim, sources: 0.5)
    with pytest.raises(WorkbenchError, match="returned float"):
        claims.ledger(["P1"], sources=MemorySources("default"))


def test_store_sources_read_records_and_skip_missing(tmp_path):
    store = ArtifactStore(tmp_path)
    save_records([{"a": 1}], store.path("P4", "rec", "default"), profile="default", models=["r"])
    sources = StoreSources("default", store)
    assert sources.get("P4", "rec").data == [{"a": 1}] and sources.get("P4", "missing") is None
    assert MemorySources("default", fallback=sources).get("P4", "rec").models == ("r",)


def test_ledger_on_an_empty_store_lists_every_claim(tmp_path):
    rows = claims.ledger(sources=StoreSources("default", ArtifactStore(tmp_path)))
    assert len(rows) == sum(len(p.claims) for p in all_papers())
    from_artifacts = [r for r in rows if r.kind != "taxonomy_domains"]     # the taxonomy is bundled data
    assert all(r.status == "not measured" and r.reason for r in from_artifacts)
    assert {r.status for r in rows if r.kind == "taxonomy_domains"} == {"comparable"}


def test_cli_claims_json_md_and_filter(tmp_path, monkeypatch, capsys):
    from workbench.cli.main import main

    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(tmp_path))
    assert main(["claims", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["claims"]) == sum(len(p.claims) for p in all_papers())
    assert {"paper", "metric", "claim", "ours", "status", "reason", "profile", "models", "data", "artifact",
            "wording", "note", "ci_low", "ci_high"} <= set(out["claims"][0])
    assert main(["claims", "P9", "--md"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("| paper |") and md.count("\n| P9 |") == sum(1 for _ in next(
        p for p in all_papers() if p.id == "P9").claims)
    assert main(["claims", "P3", "--status", "comparable"]) == 0
    assert "0 comparable" in capsys.readouterr().out
    assert main(["claims", "P42"]) != 0
    assert "unknown paper 'P42'" in capsys.readouterr().err


def test_claims_page_renders_filters_and_details(tmp_path):
    from streamlit.testing.v1 import AppTest

    from workbench.paths import REPO_ROOT

    script = f"""
import os, sys
sys.path.insert(0, {str(REPO_ROOT)!r})
os.environ['WORKBENCH_ARTIFACTS'] = {str(tmp_path)!r}
from dashboard.registry import discover
next(v for v in discover() if v.key == "claims").render()
"""
    at = AppTest.from_string(script, default_timeout=120).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Claims vs ours"
    counts = {m.label: m.value for m in at.metric}
    assert sum(int(v) for v in counts.values()) == sum(len(p.claims) for p in all_papers())
    at.multiselect(key="claims-papers").set_value(["P9"]).run()
    assert not at.exception
    counts = {m.label: int(m.value) for m in at.metric}
    assert sum(counts.values()) == len(next(p for p in all_papers() if p.id == "P9").claims)


def test_ledger_averages_the_extra_seeds_stores(tmp_path, toy_kind):
    from workbench.io import seed_store, seed_stores

    main = ArtifactStore(tmp_path)
    for seed, values in ((0, [0.25, 0.75]), (1, [0.5, 0.7]), (2, [0.2, 0.2])):
        store = main if seed == 0 else seed_store(seed, main)
        save_frame(pd.DataFrame({"v": values}), store.path("P1", "toy", "default"), profile="default",
                   models=["enc"], seed=seed)
    (main.root / "seeds" / "seed-x").mkdir()                  # not a seed folder: ignored
    assert list(seed_stores(main)) == [1, 2]
    row = claims.ledger(["P1"], store=main, profile="default")[0]
    # seed values 50, 60, 20 (%): mean 43.33, sample SD 20.82
    assert row.seeds == 3 and row.seed_values == (50.0, 60.0, 20.0)
    assert row.value == pytest.approx(130 / 3)
    assert row.seed_sd == pytest.approx(20.8167, abs=1e-4)
    assert row.ours == "43.33 % (mean of 3 seeds, sd 20.8)"
    import dataclasses
    same = dataclasses.replace(row, value=50.0, seed_sd=0.0, seed_values=(50.0, 50.0, 50.0))
    assert same.ours == "50 % (the same for all 3 seeds)"
    single = claims.ledger(["P1"], store=main, profile="default", seeds=False)[0]
    assert single.seeds == 1 and single.value == pytest.approx(50.0) and single.ours == "50 %"


def test_over_seeds_ignores_other_statuses_and_unmeasured_rows(tmp_path, toy_kind):
    row = claims.ledger(["P1"], sources=MemorySources("default").add("P1", "toy", pd.DataFrame({"v": [0.5]}),
                                                                        models=["enc"]))[0]
    other = claims.Ours("not measured", reason="missing")
    assert claims.over_seeds(row, [other]) == row
    comparable = claims.Ours("comparable", value=10.0)
    assert claims.over_seeds(row, [comparable]) == row         # another status is not the same quantity
