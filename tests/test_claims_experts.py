"""The P3 / P10 claims measurements (hhh_gain, efficiency_reduction) on hand-made artifacts."""
import numpy as np
import pandas as pd
import pytest

from workbench.claims import MemorySources, ledger, measure
from workbench.claims.experts import paired_bootstrap
from workbench.experts.artifacts import ITEM_METRICS
from workbench.experts.efficiency import efficiency_rows
from workbench.papers import get_paper


def claim(paper, kind, **params):
    return next(c for c in get_paper(paper).claims if c.kind == kind and all(c.params.get(k) == v
                                                                               for k, v in params.items()))


def hhh_frame(values: dict) -> pd.DataFrame:
    """values: (system, axis, metric) → value."""
    return pd.DataFrame([{"system": s, "axis": a, "metric": m, "value": v, "n": 4, "judge": "pairwise:tiny"}
                         for (s, a, m), v in values.items()])


BASE_HHH = {("base", "helpful", "win_rate"): 0.25, ("routed", "helpful", "win_rate"): 0.5,
            ("base", "harmless", "harmful_rate"): 0.5, ("routed", "harmless", "harmful_rate"): 0.25,
            ("base", "honest", "true"): 0.5, ("routed", "honest", "true"): 0.75,
            ("base", "honest", "true_and_informative"): 0.25, ("routed", "honest", "true_and_informative"): 0.5}


def responses_frame(per_item: dict) -> pd.DataFrame:
    """per_item: (system, axis, metric) → list of item scores."""
    rows = {}
    for (system, axis, metric), scores in per_item.items():
        for i, v in enumerate(scores):
            row = rows.setdefault((system, axis, i), {"system": system, "axis": axis, "id": f"{axis}-{i}",
                                                      "prompt": "p", "response": "r",
                                                      **{m: np.nan for m in ITEM_METRICS}})
            row[metric] = v
    return pd.DataFrame(list(rows.values()))


def sources(paper="P3", hhh=None, responses=None, efficiency=None):
    src = MemorySources("default")
    if hhh is not None:
        src.add(paper, "hhh_eval", hhh, models=["tiny"], config={"eval_rows": 12})
    if responses is not None:
        src.add(paper, "hhh_responses", responses, models=["tiny"])
    if efficiency is not None:
        src.add(paper, "router_calibration", pd.DataFrame(), models=["tiny"], config={"efficiency": efficiency})
    return src


def test_hhh_gain_not_built_when_the_artifact_is_missing():
    ours = measure("P3", claim("P3", "hhh_gain", metric="win_rate"), sources())
    assert ours.status == "not measured" and "P3/hhh_eval is not built" in ours.reason


def test_hhh_gain_relative_gain_of_the_mixture_not_comparable_without_ci():
    ours = measure("P3", claim("P3", "hhh_gain", metric="win_rate"), sources(hhh=hhh_frame(BASE_HHH)))
    assert ours.status == "not comparable" and ours.value == pytest.approx(100.0)       # (0.5 − 0.25) / 0.25
    assert ours.ci is None and "baseline is not named" in ours.reason and "no per-item scores" in ours.detail
    assert ours.data_kind == "bundled" and ours.models == ("tiny",)
    ours = measure("P3", claim("P3", "hhh_gain", metric="truthful_informative"), sources(hhh=hhh_frame(BASE_HHH)))
    assert ours.value == pytest.approx(100.0)


def test_hhh_gain_harmful_rate_is_a_reduction_and_safety_score_its_complement():
    src = sources("P10", hhh=hhh_frame(BASE_HHH))
    fewer = measure("P3", claim("P3", "hhh_gain", metric="harmful_rate"), sources(hhh=hhh_frame(BASE_HHH)))
    assert fewer.value == pytest.approx(50.0) and "relative or in percentage points" in fewer.reason
    safety = measure("P10", claim("P10", "hhh_gain", metric="safety_score"), src)
    assert safety.value == pytest.approx(50.0)                                          # (0.75 − 0.5) / 0.5
    assert "1 − harmful rate" in safety.reason
    truth = measure("P10", claim("P10", "hhh_gain", metric="truthfulness"), src)
    assert truth.value == pytest.approx(50.0)


def test_hhh_gain_not_measured_when_the_metric_or_system_is_missing_or_the_baseline_is_zero():
    without = {k: v for k, v in BASE_HHH.items() if k[2] != "true"}
    ours = measure("P10", claim("P10", "hhh_gain", metric="truthfulness"), sources("P10", hhh=hhh_frame(without)))
    assert ours.status == "not measured" and "honest 'true'" in ours.reason and ours.value is None
    no_routed = {k: v for k, v in BASE_HHH.items() if k[0] != "routed"}
    ours = measure("P3", claim("P3", "hhh_gain", metric="win_rate"), sources(hhh=hhh_frame(no_routed)))
    assert ours.status == "not measured" and "routed" in ours.reason
    zero = {**BASE_HHH, ("base", "helpful", "win_rate"): 0.0}
    ours = measure("P3", claim("P3", "hhh_gain", metric="win_rate"), sources(hhh=hhh_frame(zero)))
    assert ours.status == "not measured" and "undefined" in ours.reason


def test_hhh_gain_ci_is_a_paired_bootstrap_of_the_per_item_scores():
    base = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    routed = [1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]
    hhh = hhh_frame({**BASE_HHH, ("base", "helpful", "win_rate"): np.mean(base),
                     ("routed", "helpful", "win_rate"): np.mean(routed)})
    responses = responses_frame({("base", "helpful", "win_rate"): base, ("routed", "helpful", "win_rate"): routed})
    ours = measure("P3", claim("P3", "hhh_gain", metric="win_rate"), sources(hhh=hhh, responses=responses))
    assert ours.value == pytest.approx(100.0)
    lo, hi = ours.ci
    assert lo <= ours.value <= hi and lo >= 0          # routed never loses an item base wins: no negative resample
    assert "paired bootstrap over 8 items" in ours.detail
    # the same item resample for both systems: identical scores give a zero-width interval
    assert paired_bootstrap(np.array(base), np.array(base), "gain") == (0.0, 0.0)


def efficiency(memory: bool = True, xlora: bool = True) -> dict:
    figures = {"prompts": 8, "new_tokens": 16, "repeats": 3, "experts": 3, "routing_top_k": 1,
               "ours_dense_s_per_token": 0.03, "naive_dense_s_per_token": 0.06,
               "ours_routed_s_per_token": 0.02, "naive_routed_s_per_token": 0.025, "outputs_equal_one_hot": True}
    if xlora:
        figures.update(xlora_s_per_token=0.08, ours_routed_nocache_s_per_token=0.04, latency_ratio_vs_xlora=0.5)
    if memory:
        figures.update(ours_peak_bytes=300, naive_peak_bytes=800, memory_ratio=0.375, memory_routing="routed",
                       measured_with="peak RSS")
    figures["rows"] = efficiency_rows(figures, "AlignX")
    return figures


def test_efficiency_reduction_prefers_x_lora_for_latency_and_names_the_baseline():
    ours = measure("P3", claim("P3", "efficiency_reduction", quantity="latency"),
                   sources(efficiency=efficiency()))
    assert ours.status == "not comparable" and ours.value == pytest.approx(50.0)       # 1 − 0.04 / 0.08
    assert "X-LoRA" in ours.reason and "prior MoEs are not named" in ours.reason
    assert "three separate full copies" in ours.detail                                # the other baseline, beside


def test_efficiency_reduction_without_x_lora_uses_three_routed_copies_never_the_dense_ratio():
    ours = measure("P10", claim("P10", "efficiency_reduction", quantity="latency"),
                   sources("P10", efficiency=efficiency(xlora=False)))
    assert ours.value == pytest.approx(20.0)              # 1 − 0.02 / 0.025, not the dense 1 − 0.03 / 0.06
    assert "model-level MoE we built" in ours.reason and "top-1 routed" in ours.reason
    memory = measure("P10", claim("P10", "efficiency_reduction", quantity="memory"),
                     sources("P10", efficiency=efficiency(xlora=False)))
    assert memory.status == "not comparable" and memory.value == pytest.approx(62.5)


def test_efficiency_reduction_not_measured_when_memory_or_rows_are_missing():
    ours = measure("P3", claim("P3", "efficiency_reduction", quantity="memory"),
                   sources(efficiency=efficiency(memory=False)))
    assert ours.status == "not measured" and "full size only" in ours.reason
    old = {k: v for k, v in efficiency().items() if k != "rows"}
    ours = measure("P3", claim("P3", "efficiency_reduction", quantity="latency"), sources(efficiency=old))
    assert ours.status == "not measured" and "rebuild" in ours.reason
    ours = measure("P3", claim("P3", "efficiency_reduction", quantity="latency"), sources())
    assert ours.status == "not measured" and "router_calibration is not built" in ours.reason


def test_the_ledger_has_a_row_for_every_p3_and_p10_claim():
    rows = ledger(["P3", "P10"], sources=sources(hhh=hhh_frame(BASE_HHH), efficiency=efficiency()))
    assert len(rows) == len(get_paper("P3").claims) + len(get_paper("P10").claims)
    by = {(r.paper, r.metric): r for r in rows}
    assert by[("P3", "latency reduction vs prior MoEs")].status == "not comparable"
    assert by[("P10", "win rate improvement")].status == "not measured"     # P10's artifacts are not given


def test_the_per_item_scores_of_hhh_responses_average_to_the_hhh_metrics():
    from workbench.evaluation.hhh import evaluate_hhh
    from workbench.evaluation.judges import ItemMemo
    from workbench.experts.artifacts import hhh_response_frame

    eval_set = pd.DataFrame({"id": [f"i{k}" for k in range(9)], "axis": ["helpful", "harmless", "honest"] * 3,
                             "prompt": [f"q{k}" for k in range(9)], "response": [f"ref{k}" for k in range(9)]})
    responses = {s: {a: [f"{s}-{a}-{k}" for k in range(3)] for a in ("helpful", "harmless", "honest")}
                 for s in ("base", "routed")}
    calls = []

    def score(*lists):          # deterministic, differs per item: len of the first answer's text mod 4 / 3
        calls.append(1)
        return np.array([(len(a) + i) % 4 / 3 for i, a in enumerate(lists[1])])

    judges = {k: ItemMemo(score) for k in ("pairwise", "safety", "truth", "info")}
    metrics = evaluate_hhh(eval_set, responses, **judges)
    n_calls = len(calls)
    frame = hhh_response_frame(eval_set, responses, judges)
    assert len(calls) == n_calls                      # the per-item scores reuse the judgments: no judge call
    means = frame.groupby(["system", "axis"]).mean(numeric_only=True)
    for row in metrics.itertuples():
        if row.metric in means.columns:
            assert means.loc[(row.system, row.axis), row.metric] == pytest.approx(row.value)
    assert frame[["system", "axis", "id"]].value_counts().max() == 1 and len(frame) == 18


def test_hhh_gain_names_the_routing_and_the_real_freshqa_items():
    per_item = {("routed", "honest", "true_and_informative"): [1, 1, 0, 1],
                ("base", "honest", "true_and_informative"): [0, 1, 0, 0]}
    responses = responses_frame(per_item)
    responses["data_kind"] = ["bundled", "bundled", "real", "real"] * 2
    src = MemorySources("default")
    src.add("P3", "hhh_eval", hhh_frame(BASE_HHH), models=["tiny"],
            config={"eval_rows": 4, "routing": "soft top-2 by the temperature calibrated routing probabilities"})
    src.add("P3", "hhh_responses", responses, models=["tiny"])
    ours = measure("P3", claim("P3", "hhh_gain", metric="truthful_informative"), src)
    assert ours.status == "not comparable" and "soft top-2 by the temperature calibrated" in ours.reason
    assert ours.data_kind == "bundled" and "2 bundled held-out honest prompts + 2 real FreshQA" in ours.data
    responses["data_kind"] = "real"
    ours = measure("P3", claim("P3", "hhh_gain", metric="truthful_informative"), src)
    assert ours.data_kind == "real"


def test_hhh_gain_shows_the_response_shortcuts_beside_the_mixture():
    """A blanket refusal beside the harmless gain: its relative change against the same base, in the shortcut
    column (empty when the hhh_shortcuts artifact is not built)."""
    src = sources(hhh=hhh_frame(BASE_HHH))
    harmful = claim("P3", "hhh_gain", metric="harmful_rate")
    assert measure("P3", harmful, src).shortcut == ""
    src.add("P3", "hhh_shortcuts", hhh_frame({("refuse all", "harmless", "harmful_rate"): 0.0,
                                               ("echo prompt", "harmless", "harmful_rate"): 0.5}), models=["tiny"])
    ours = measure("P3", harmful, src)
    assert ours.value == pytest.approx(50.0)                                      # (0.5 − 0.25) / 0.5
    assert ours.shortcut == "refuse all: +100.0 %; echo prompt: +0.0 %"
