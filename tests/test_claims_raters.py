"""P4's claims measurements (workbench.claims.raters) on hand-made artifacts, one test per status."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.claims import MemorySources, measure
from workbench.papers import get_paper

P4 = get_paper("P4")
DELTA = next(c for c in P4.claims if c.kind == "rater_threshold" and c.params["parameter"] == "delta")
TAU = next(c for c in P4.claims if c.kind == "rater_threshold" and c.params["parameter"] == "tau")
ICC = next(c for c in P4.claims if c.kind == "rater_icc")
DS = next(c for c in P4.claims if c.kind == "demographic_sensitivity")

FIXTURE = {"source": "synthetic DICES-shaped fixture", "data_kind": "synthetic", "release": "DICES-350-shaped fixture",
           "n_items": 24, "n_ratings": 288, "limit": None, "smoke": False, "sweep_rater": "smollm2-135m-instruct",
           "classifier": "smollm2-135m-instruct", "sweep_rule": "highest dev ICC(2,1)"}
PAPER_DATA = {**FIXTURE, "source": "diverse_safety_adversarial_dialog_350.csv", "data_kind": "real",
              "release": "DICES-350", "n_items": 350, "n_ratings": 43050, "sweep_rater": "gemma-7b",
              "classifier": "mistral-7b-instruct-v0.3"}


def sweep(selected_at=(0.4, 6)):
    rows = []
    for tau in (0, 6, 10):
        for delta in (0.3, 0.4, 0.5):
            rows.append({"delta": delta, "tau": tau, "n_items": 20, "icc2": 0.5, "icc3": 0.6, "n_dev": 10,
                         "icc2_dev": 0.7 if (delta, tau) == selected_at else 0.4, "n_test": 10, "icc2_test": 0.55,
                         "icc3_test": 0.6, "selected": (delta, tau) == selected_at})
    return pd.DataFrame(rows)


def icc_entry(value, lo, hi):
    return {"icc": value, "ci_low": lo, "ci_high": hi}


def records():
    return [{"model": "a", "n_items": 24, "icc": {"ICC2": icc_entry(0.4, 0.1, 0.6), "ICC3": icc_entry(0.45, 0.2, 0.7)},
             "fairness": {"ds": 0.3, "ds_max": 0.5, "per_attribute": {"rater_gender": {"dpd": 0.5},
                                                                      "rater_age": {"dpd": 0.1}}}},
            {"model": "b", "n_items": 24, "icc": {"ICC2": icc_entry(0.62, 0.4, 0.8), "ICC3": icc_entry(0.66, 0.5, 0.8)},
             "fairness": {"ds": 0.08, "ds_max": 0.12, "per_attribute": {"rater_gender": {"dpd": 0.12},
                                                                        "rater_age": {"dpd": 0.04}}}}]


def sources(config=FIXTURE, sweep_frame=None, agreement=None, models=("smollm2-135m-instruct",)):
    s = MemorySources("default")
    if sweep_frame is not None:
        s.add("P4", "rater_sweep", sweep_frame, models=models, config=config)
    if agreement is not None:
        s.add("P4", "rater_agreement", agreement, models=models, config=config)
    return s


def test_not_built():
    for claim, name in ((DELTA, "rater_sweep"), (ICC, "rater_agreement"), (DS, "rater_agreement")):
        ours = measure("P4", claim, sources())
        assert ours.status == "not measured" and f"P4/{name} is not built" in ours.reason


def test_threshold_is_the_swept_selection_not_the_input():
    s = sources(sweep_frame=sweep((0.4, 6)))
    delta, tau = measure("P4", DELTA, s), measure("P4", TAU, s)
    assert (delta.value, tau.value) == (0.4, 6)
    assert delta.status == "not comparable" and "synthetic data" in delta.reason and "classifier" in delta.reason
    assert "0.700 on 10 dev conversations, 0.550 on 10 held-out" in delta.detail
    assert delta.data_kind == "synthetic" and delta.artifact == "notebook (in memory)"
    # the paper's data and models: comparable
    paper = sources(PAPER_DATA, sweep_frame=sweep((0.5, 10)), models=("gemma-7b", "llama-2-7b",
                                                                      "mistral-7b-instruct-v0.3"))
    ours = measure("P4", TAU, paper)
    assert ours.status == "comparable" and ours.value == 10 and ours.data_kind == "real"


def test_threshold_not_measured_without_a_dev_selection():
    ours = measure("P4", DELTA, sources(sweep_frame=sweep().drop(columns=["selected"])))
    assert ours.status == "not measured" and "without a dev selection" in ours.reason
    ours = measure("P4", DELTA, sources(sweep_frame=sweep(selected_at=None)))
    assert ours.status == "not measured" and "no (δ, τ) setting was eligible" in ours.reason


def test_threshold_parameter_must_be_known():
    from dataclasses import replace

    bad = replace(DELTA, params={"parameter": "gamma"})
    with pytest.raises(WorkbenchError, match="params.parameter is 'gamma'; one of delta, tau"):
        measure("P4", bad, sources(sweep_frame=sweep()))


def test_icc_is_the_best_raters_with_its_ci_and_never_comparable():
    ours = measure("P4", ICC, sources(agreement=records()))
    assert ours.status == "not comparable" and ours.value == 0.62 and ours.ci == (0.4, 0.8)
    assert "GPT-4o" in ours.reason and "synthetic" in ours.reason
    assert ours.detail.startswith("b: ICC(2,1)") and "ICC(3,1) 0.660" in ours.detail and "a 0.400" in ours.detail
    paper = measure("P4", ICC, sources(PAPER_DATA, agreement=records(), models=("gemma-7b", "llama-2-7b")))
    assert paper.status == "not comparable" and "synthetic" not in paper.reason and "GPT-4o" in paper.reason


def test_icc_not_measured_when_no_rater_has_one():
    ours = measure("P4", ICC, sources(agreement=[{"model": "a", "n_items": 1}]))
    assert ours.status == "not measured" and "no rater has an ICC" in ours.reason and ours.value is None


def test_ds_is_the_average_with_the_max_beside_it():
    ours = measure("P4", DS, sources(agreement=records()))
    assert ours.status == "not comparable" and ours.value == 0.08            # rater b: the best ICC
    assert "max 0.120" in ours.detail and "gender 0.120" in ours.detail and "average over 2 attribute" in ours.detail
    assert "personas and DS formula are ours" in ours.reason


def test_ds_not_measured_without_personas():
    plain = [{k: v for k, v in r.items() if k != "fairness"} for r in records()]
    ours = measure("P4", DS, sources(agreement=plain))
    assert ours.status == "not measured" and "personas" in ours.reason
    failed = [{**plain[0], "fairness": {"ds": None, "ds_max": None, "per_attribute": {}, "skipped": "one group"}}]
    assert "one group" in measure("P4", DS, sources(agreement=failed)).reason


def test_ledger_rows_from_a_real_evaluation():
    """The builder's shapes end to end: evaluate_raters + threshold_sweep → the ledger's P4 rows."""
    from workbench.datasets import dices_fixture
    from workbench.evaluation.raters import agreement_records, dices_config, evaluate_raters, human_scores, \
        personas_of, threshold_sweep
    from workbench.taxonomy.classify import Classification

    dices = dices_fixture(n_items=16, n_raters=6)
    items = human_scores(dices)
    rng = np.random.default_rng(0)
    rows = []
    for persona in [None] + personas_of(dices):
        score = np.clip(items["human_score"].to_numpy() + 0.05 * rng.standard_normal(len(items)), 0, 1)
        rows.append(pd.DataFrame({"item_id": items.index, "score": score, "model": "m", "rater": "m",
                                  "rating": np.where(score > 0.5, "Yes", "No"),
                                  "persona_attribute": persona[0] if persona else None,
                                  "persona_value": persona[1] if persona else None}))
    metrics = evaluate_raters(dices, pd.concat(rows, ignore_index=True))
    probs = np.linspace(0.35, 0.95, 16)[:, None] * np.array([[1, 0]]) + np.array([[0, 1]]) * (
        1 - np.linspace(0.35, 0.95, 16)[:, None])
    table = threshold_sweep(items.reset_index(), rows[0]["score"].to_numpy(),
                            classification=Classification("safety", ("animal_abuse", "None"), probs, "embedding", "t"),
                            deltas=(0.3, 0.5), taus=(0, 3))
    config = {**dices_config(dices, "synthetic DICES-shaped fixture", real=False), "sweep_rater": "m",
              "classifier": "c"}
    recs, _ = agreement_records(metrics)
    s = MemorySources("default").add("P4", "rater_sweep", table, models=["m", "c"], config=config).add(
        "P4", "rater_agreement", recs, models=["m", "c"], config=config)
    icc = measure("P4", ICC, s)
    assert icc.status == "not comparable" and icc.ci is not None
    assert icc.value == pytest.approx(metrics["models"]["m"]["icc"]["ICC2"]["icc"])
    assert measure("P4", DS, s).value == pytest.approx(metrics["models"]["m"]["fairness"]["ds"])
    chosen = table[table["selected"]].iloc[0]
    assert measure("P4", DELTA, s).value == chosen["delta"] and measure("P4", TAU, s).value == chosen["tau"]
