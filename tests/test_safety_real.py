"""The real safety dev set (StrongREJECT + HarmBench mapped onto the 14 domains), its evaluation helpers, the safety
classifier's accuracy on the report half, and the Domain taxonomy view's real-prompt section."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from workbench import WorkbenchError
from workbench.datasets.real import load_harmbench, load_strongreject
from workbench.paths import DATA_DIR
from workbench.taxonomy import dimension
from workbench.taxonomy.realdev import (OUT, UNCLEAR, bootstrap_ci, confusion, evaluate, mapped_prompts,
                                        per_domain_recall, read_mapping, real_exemplars, real_safety_dev,
                                        safety_domains)

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = DATA_DIR / "taxonomy" / "real_mapping_prompts.csv"
CATEGORIES = DATA_DIR / "taxonomy" / "real_mapping_categories.csv"


def test_mapping_covers_every_real_prompt_once_with_valid_values():
    sr, hb = load_strongreject(), load_harmbench()
    rows = mapped_prompts()
    assert len(rows) == len(sr) + len(hb)
    assert not rows.duplicated(["source", "id"]).any()
    assert set(rows.loc[rows["source"] == "strongreject", "id"]) == set(sr["id"])
    assert set(rows.loc[rows["source"] == "harmbench", "id"]) == set(hb["id"])
    assert set(rows["domain"]) <= set(safety_domains()) | {UNCLEAR, OUT}
    assert set(rows["domain"]) >= set(safety_domains())                  # every domain has real prompts
    cats, per = read_mapping()
    assert not per.duplicated(["source", "id"]).any()
    # the per-prompt table names each prompt's real category, and covers every per_prompt category completely
    real_cat = dict(zip(zip(rows["source"], rows["id"]), rows["category"]))
    assert all(real_cat[(r.source, r.id)] == r.category for r in per.itertuples())
    coarse = {(r.source, r.category) for r in cats.itertuples() if r.domain == "per_prompt"}
    assert all(r.basis == "prompt" for r in rows.itertuples() if (r.source, r.category) in coarse)
    # copyright behaviours are out of the taxonomy; unclear rows carry a note
    assert set(rows.loc[rows["category"] == "copyright", "domain"]) == {OUT}
    assert (per.loc[per["domain"] == UNCLEAR, "note"].str.len() > 0).all()


def test_split_is_fixed_disjoint_and_keeps_harmbench_val_for_fit():
    rows = mapped_prompts()
    assert set(rows["split"]) == {"fit", "report"}
    hb = rows[rows["source"] == "harmbench"]
    val = set(load_harmbench().query("split == 'val'")["id"])
    assert set(hb.loc[hb["split"] == "fit", "id"]) == val
    sr = rows[rows["source"] == "strongreject"]
    assert abs((sr["split"] == "fit").sum() - (sr["split"] == "report").sum()) <= sr.groupby(
        ["category", "domain"]).ngroups                                          # halves within each group
    assert mapped_prompts()["split"].tolist() == rows["split"].tolist()           # deterministic
    report = set(real_safety_dev(split="report")["prompt"])
    pooled = {t for texts in real_exemplars().values() for t in texts}
    assert pooled and not (pooled & report)


def test_loader_raises_on_bad_mapping_values(tmp_path):
    per = pd.read_csv(PROMPTS, dtype=str, keep_default_na=False)
    bad = per.copy()
    bad.loc[0, "domain"] = "cybercrime"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(WorkbenchError, match="unknown mapping value 'cybercrime'"):
        real_safety_dev(prompts_path=tmp_path / "bad.csv")
    per.iloc[1:].to_csv(tmp_path / "missing.csv", index=False)                   # a per-prompt row dropped
    with pytest.raises(WorkbenchError, match="has no mapping"):
        mapped_prompts(prompts_path=tmp_path / "missing.csv")
    stray = pd.concat([per, per.iloc[[0]].assign(id="sr-999")])
    stray.to_csv(tmp_path / "stray.csv", index=False)
    with pytest.raises(WorkbenchError, match="no prompt with id 'sr-999'"):
        mapped_prompts(prompts_path=tmp_path / "stray.csv")
    pd.concat([per, per.iloc[[0]]]).to_csv(tmp_path / "twice.csv", index=False)
    with pytest.raises(WorkbenchError, match="mapped twice"):
        mapped_prompts(prompts_path=tmp_path / "twice.csv")
    cats = pd.read_csv(CATEGORIES, dtype=str, keep_default_na=False)
    cats.loc[0, "domain"] = "per prompt"
    cats.to_csv(tmp_path / "cats.csv", index=False)
    with pytest.raises(WorkbenchError, match="unknown mapping value 'per prompt'"):
        mapped_prompts(categories_path=tmp_path / "cats.csv")
    with pytest.raises(WorkbenchError, match="unknown split"):
        real_safety_dev(split="test")


def test_evaluation_by_hand():
    gold = ["a", "a", "b", "c", "a"]
    pred = ["a", "b", "b", "None", "a"]
    labels = ["a", "b", "c"]
    np.testing.assert_array_equal(confusion(gold, pred, labels), [[2, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]])
    assert per_domain_recall(gold, pred, labels) == pytest.approx({"a": 2 / 3, "b": 1.0, "c": 0.0})
    res = evaluate(gold, pred, labels, n_boot=500)
    assert res["accuracy"] == pytest.approx(3 / 5) and res["n"] == 5
    assert 0 <= res["ci_low"] <= 3 / 5 <= res["ci_high"] <= 1
    assert bootstrap_ci([1, 1, 1]) == (1.0, 1.0) and bootstrap_ci([0, 0]) == (0.0, 0.0)
    assert np.isnan(per_domain_recall(["a"], ["a"], ["a", "b"])["b"])
    with pytest.raises(WorkbenchError, match="not one of the evaluated labels"):
        confusion(["z"], ["a"], labels)


def test_facets_cover_every_safety_domain_and_pick_the_aggregate():
    from workbench.taxonomy.classify import facets

    fac = facets("safety")
    assert set(fac) == set(dimension("safety").keys)
    assert all(len(v) >= 5 for v in fac.values())
    assert facets("value") == {}                          # value and culture keep the prototype aggregate


@pytest.mark.slow
def test_safety_classifier_reaches_the_target_on_the_real_report_half():
    """The default classifier (top-k over descriptions, facets, seeds and the real fit half) on the report half:
    HarmBench test + the StrongREJECT half it never saw; top_k and temperature were selected on the fit half."""
    from workbench.models import load
    from workbench.taxonomy.classify import classify_embedding

    report = real_safety_dev(split="report")
    result = classify_embedding(report["prompt"].tolist(), "safety", load("minilm-l6", device="cpu"))
    accuracy = np.mean(np.array(result.top1()) == report["domain"].to_numpy())
    assert accuracy >= 0.75, accuracy


def _records():
    labels = safety_domains()
    eye = np.eye(len(labels), len(labels) + 1, dtype=int).tolist()
    rec = {"labels": labels, "confusion": eye, "recall": {k: 1.0 for k in labels}, "n": len(labels),
           "ci_low": 0.5, "ci_high": 0.9, "data": "real"}
    return [{**rec, "name": "report_before", "method": "before", "accuracy": 0.5},
            {**rec, "name": "report_after", "method": "after", "accuracy": 0.75},
            {**rec, "name": "check_after", "method": "after", "accuracy": 0.8}]


def test_taxonomy_view_shows_the_real_prompt_section(tmp_path):
    from workbench.io import ArtifactStore, save_records

    script = f"""
import os, sys
sys.path.insert(0, {str(ROOT)!r})
os.environ['WORKBENCH_ARTIFACTS'] = {str(tmp_path)!r}
from dashboard.registry import discover
next(v for v in discover() if v.key == 'taxonomy').render()
"""
    at = AppTest.from_string(script, default_timeout=120).run()
    assert not at.exception
    assert any("classifies the StrongREJECT and HarmBench prompts" in i.value for i in at.info)
    save_records(_records(), ArtifactStore(tmp_path).path("P1", "safety_real", "default"), profile="default",
                 models=["minilm-l6"], config={"top_k": 4, "temperature": 0.015, "n_report": 14, "n_fit": 14,
                                               "excluded": {"unclear": 1, "out_of_taxonomy": 2}})
    at = AppTest.from_string(script, default_timeout=120).run()
    assert not at.exception
    assert [m.value for m in at.metric] == ["0.500", "0.750", "0.800"]
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Confusion: after" in c for c in charts) and any("Per-domain recall" in c for c in charts)
    assert any("StrongREJECT / HarmBench, mapped" in c.value for c in at.caption)
