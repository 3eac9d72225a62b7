"""The P7 / P8 claims measurements (clinical_gain, ambs_vs_naive) on hand-made artifacts in the builders' shapes."""
import numpy as np
import pandas as pd
import pytest

from workbench.claims import MemorySources, ledger, measure
from workbench.papers import Claim, get_paper


def claim(paper, kind, **params):
    return next(c for c in get_paper(paper).claims if c.kind == kind and all(c.params.get(k) == v
                                                                               for k, v in params.items()))


TEST_IDS = [f"med-{k}" for k in range(16)] + [f"pubmedqa-{k}" for k in range(4)]
CONFIG = {"items": "bundled clinical_qa.jsonl (eval split) (30) + PubMedQA (8)",
          "split": {"seed": 0, "dev_fraction": 0.5, "strata": ["source", "type"], "limit": None,
                    "dev_ids": [f"dev-{k}" for k in range(18)], "test_ids": TEST_IDS, "counts": {}},
          "selection": {"criterion": "dev accuracy; ties → smaller multiplier, then earlier layer", "layers": [6, 12],
                        "multipliers": [1.0, 2.0], "layer": 12, "multiplier": 2.0, "dev_accuracy": 0.5,
                        "dev_unsteered_accuracy": 0.4, "dev_n": 18, "dev_grid": []}}


def per_item(correct_base, correct_steered, errors_base, errors_steered, consistent=None):
    n = len(TEST_IDS)
    consistent = [np.nan] * n if consistent is None else consistent
    rows = []
    for arm, correct, errors in (("unsteered", correct_base, errors_base), ("steered", correct_steered,
                                                                            errors_steered)):
        rows += [{"id": i, "type": "mcq", "answer": "A", "chosen": "A", "correct": bool(c), "response": "r",
                  "p_contradicts": np.nan if np.isnan(k) else 1 - k, "p_unsafe": float(e), "consistent": k,
                  "safety_error": float(e), "source": "pubmedqa" if i.startswith("pubmedqa") else "bundled",
                  "arm": arm, "condition": arm, "part": "test"}
                 for i, c, e, k in zip(TEST_IDS, correct, errors, consistent)]
    return pd.DataFrame(rows)


def summary(items):
    rows = []
    for arm, part in items.groupby("arm", sort=False):
        rows.append({"arm": arm, "condition": arm, "part": "test", "layer": 12 if arm == "steered" else None,
                     "multiplier": 2.0 if arm == "steered" else 0.0, "accuracy": part["correct"].mean(),
                     "factual_consistency": part["consistent"].mean(), "safety_error_rate": part["safety_error"].mean(),
                     "n": len(part), "n_consistency": int(part["consistent"].notna().sum()), "judges": "fake"})
    return pd.DataFrame(rows)


BASE = per_item([1] * 10 + [0] * 10, [1] * 13 + [0] * 7, [1] * 4 + [0] * 16, [1] * 2 + [0] * 18)


def p7_sources(items=BASE, *, with_items=True, config=CONFIG):
    src = MemorySources("default").add("P7", "clinical_steering", summary(items), models=["tiny-lm", "tiny-judge"],
                                       config=config)
    if with_items:
        src.add("P7", "clinical_items", items, models=["tiny-lm", "tiny-judge"], config=config)
    return src


def test_clinical_gain_not_built():
    ours = measure("P7", claim("P7", "clinical_gain", metric="accuracy"), MemorySources("default"))
    assert ours.status == "not measured" and "P7/clinical_steering is not built" in ours.reason


def test_clinical_gain_on_the_test_split_with_paired_ci_never_comparable():
    ours = measure("P7", claim("P7", "clinical_gain", metric="accuracy"), p7_sources())
    assert ours.status == "not comparable" and ours.value == pytest.approx(15.0)        # 50 % → 65 %, in points
    assert ours.ci is not None and ours.ci[0] <= 15.0 <= ours.ci[1]
    assert "names neither its models nor its data" in ours.reason and "points" in ours.reason
    assert ours.data == "bundled: test split of bundled clinical items (16) + PubMedQA (4)"
    assert ours.data_kind == "bundled" and ours.models == ("tiny-lm", "tiny-judge")
    assert "layer 12" in ours.detail and "chosen on 18 dev items" in ours.detail
    assert "clinical_items" in ours.artifact
    safety = measure("P7", claim("P7", "clinical_gain", metric="safety_error_rate"), p7_sources())
    assert safety.status == "not comparable" and safety.value == pytest.approx(50.0)     # 20 % → 10 %, relative
    # without per-item results: the summary's numbers, no CI
    bare = measure("P7", claim("P7", "clinical_gain", metric="accuracy"), p7_sources(with_items=False))
    assert bare.value == pytest.approx(15.0) and bare.ci is None and bare.status == "not comparable"


def test_clinical_gain_real_data_kind():
    config = {**CONFIG, "split": {**CONFIG["split"], "test_ids": [f"medqa-{k:05d}" for k in range(20)]}}
    items = BASE.assign(id=BASE["id"].map(dict(zip(TEST_IDS, config["split"]["test_ids"]))))
    ours = measure("P7", claim("P7", "clinical_gain", metric="accuracy"), p7_sources(items, config=config))
    assert ours.data_kind == "real" and ours.data == "real: test split of MedQA (20)"


def test_clinical_gain_not_measured():
    # built before the dev / test split: the multipliers were compared on the reported items
    old = {"items": "data/medical/clinical_qa.jsonl (eval)", "layer": 15}
    ours = measure("P7", claim("P7", "clinical_gain", metric="accuracy"), p7_sources(config=old))
    assert ours.status == "not measured" and "predates the dev / test split" in ours.reason
    # no reference rationale on any test item (MedQA): factual consistency is not measured
    ours = measure("P7", claim("P7", "clinical_gain", metric="factual_consistency"), p7_sources())
    assert ours.status == "not measured" and "factual_consistency" in ours.reason and ours.value is None
    ours = measure("P7", claim("P7", "clinical_gain", metric="factual_consistency"), p7_sources(with_items=False))
    assert ours.status == "not measured" and "reference rationale" in ours.reason
    # no unsafe answer unsteered: a relative reduction is undefined
    safe = per_item([1] * 20, [1] * 20, [0] * 20, [0] * 20)
    ours = measure("P7", claim("P7", "clinical_gain", metric="safety_error_rate"), p7_sources(safe))
    assert ours.status == "not measured" and "relative reduction is undefined" in ours.reason
    # a metric we do not compute
    other = Claim("clinical F1", 1.0, "%", kind="clinical_gain", params={"metric": "f1"})
    ours = measure("P7", other, p7_sources())
    assert ours.status == "not measured" and "we do not compute 'f1'" in ours.reason


def test_clinical_gain_factual_consistency_with_a_reference():
    consistent = [1.0] * 10 + [0.0] * 10
    items = per_item([1] * 20, [1] * 20, [0] * 20, [0] * 20, consistent)
    steered = items["arm"] == "steered"
    items.loc[steered, "consistent"] = [1.0] * 12 + [0.0] * 8
    ours = measure("P7", claim("P7", "clinical_gain", metric="factual_consistency"), p7_sources(items))
    assert ours.status == "not comparable" and ours.value == pytest.approx(10.0)


# --- P8: AMBS vs an independent naive 1-to-N ---------------------------------------------------------------------

def sweep_frame():
    """The P8 steering_sweep's shape: steered vs unsteered behaviour probabilities — another quantity."""
    return pd.DataFrame({"layer": [15] * 4, "multiplier": [0.0, 2.0, 0.0, 2.0], "behaviour_p": [0.5, 0.8, 0.4, 0.9],
                         "prefers_positive": [0.5, 1.0, 0.5, 1.0], "n": [4] * 4,
                         "objective": ["harmless", "harmless", "helpful", "helpful"],
                         "aggregator": ["mean_difference"] * 4})


@pytest.mark.parametrize("metric", ["alignment_score", "unsafe_rate"])
def test_ambs_vs_naive_not_measured_without_an_independent_naive_baseline(metric):
    src = MemorySources("default").add("P8", "steering_sweep", sweep_frame(), models=["tiny-lm"],
                                       config={"ambs_timing": {"speedup": 1.4, "same_argmax": True}})
    ours = measure("P8", claim("P8", "ambs_vs_naive", metric=metric), src)
    assert ours.status == "not measured" and ours.value is None
    assert "output-identical" in ours.reason and "no HHH evaluation" in ours.reason
    # an artifact whose "naive" is AMBS itself (identical outputs) is no baseline either
    src.add("P8", "ambs_vs_naive", pd.DataFrame({"system": ["ambs", "naive"], metric: [0.6, 0.6]}),
            models=["tiny-lm"], config={"naive": "shared prefix, identical outputs"})
    ours = measure("P8", claim("P8", "ambs_vs_naive", metric=metric), src)
    assert ours.status == "not measured" and "not an independent 1-to-N" in ours.reason


def test_ambs_vs_naive_measured_when_an_artifact_holds_both():
    ids = [f"q{k}" for k in range(10)]
    frame = pd.DataFrame({"system": ["ambs"] * 10 + ["naive"] * 10, "id": ids * 2,
                          "alignment_score": [1.0] * 6 + [0.0] * 4 + [1.0] * 5 + [0.0] * 5,
                          "unsafe_rate": [1.0] * 2 + [0.0] * 8 + [1.0] * 4 + [0.0] * 6})
    src = MemorySources("default").add("P8", "ambs_vs_naive", frame, models=["tiny-lm", "tiny-judge"],
                                       config={"naive": "independent", "data": "bundled HHH prompts (10)",
                                               "data_kind": "bundled"})
    ours = measure("P8", claim("P8", "ambs_vs_naive", metric="alignment_score"), src)
    assert ours.status == "not comparable" and ours.value == pytest.approx(20.0)         # 0.5 → 0.6, relative
    assert ours.ci is not None and "not DeepSeek-7B" in ours.reason and ours.data_kind == "bundled"
    unsafe = measure("P8", claim("P8", "ambs_vs_naive", metric="unsafe_rate"), src)
    assert unsafe.value == pytest.approx(50.0)                                             # 0.4 → 0.2
    other = Claim("x", 1.0, "%", kind="ambs_vs_naive", params={"metric": "win_rate"})
    assert measure("P8", other, src).status == "not measured"


def test_ledger_rows_for_p7_and_p8():
    rows = ledger(["P7", "P8"], sources=p7_sources())
    status = {(r.paper, r.metric): r.status for r in rows}
    assert all(s == "not measured" for (p, _), s in status.items() if p == "P8")
    assert sum(s == "not comparable" for (p, _), s in status.items() if p == "P7") == 2
