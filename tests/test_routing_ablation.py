"""Calibration that changes what runs: planted routers whose calibration moves (or cannot move) the mixture's
decision, and the uncalibrated-vs-each-calibrator ablation table on planted per-item scores."""
import numpy as np
import pandas as pd
import pytest
import torch

from workbench import WorkbenchError
from workbench.experts.ablation import (calibration_ablation, calibrator_of, decision_changes, paired_delta_ci,
                                        system_name)
from workbench.experts.geometry import (CalibrationConfig, ConditionedTemperature, RouterCalibration,
                                        fit_calibration)
from workbench.experts.router import mix_weights

AXES = ("helpful", "harmless", "honest")


def planted_calibration(temperature: float) -> RouterCalibration:
    return RouterCalibration(CalibrationConfig(fractal=False, natural=False),
                             ConditionedTemperature(a=float(np.log(temperature))))


def decision(weights: torch.Tensor, outputs: torch.Tensor) -> int:
    """The token a mixture picks when expert e adds ``outputs[e]`` to the logits with weight w_e."""
    return int((weights[:, None] * outputs).sum(0).argmax())


def test_a_sharpening_calibrator_flips_the_soft_mixture_decision_but_never_top1():
    logits = np.array([[1.0, 0.6, -3.0]])             # expert 0 first, expert 1 close behind
    outputs = torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])   # expert 0 → token 0, expert 1 → token 1
    cal = planted_calibration(0.25)                    # a fitted T < 1: the router was under-confident
    probs = cal.probs(logits)
    soft = {n: mix_weights(torch.from_numpy(p), 2)[0] for n, p in probs.items()}
    hard = {n: mix_weights(torch.from_numpy(p), 1)[0] for n, p in probs.items()}
    assert decision(soft["uncalibrated"], outputs) == 1        # 0.60 · 1 < 0.40 · 2
    assert decision(soft["temperature"], outputs) == 0         # 0.83 · 1 > 0.17 · 2: calibration flips it
    assert decision(hard["uncalibrated"], outputs) == decision(hard["temperature"], outputs) == 0
    changes = decision_changes({n: w[None].numpy() for n, w in soft.items()})
    assert changes["temperature"] == {"weights_changed": 1.0, "top1_changed": 0.0}
    with pytest.raises(WorkbenchError, match="no 'uncalibrated' weights"):
        decision_changes({"temperature": np.ones((1, 3))})


def test_calibration_components_reproduce_each_calibrators_probabilities():
    rng = np.random.default_rng(0)
    logits, labels = rng.normal(size=(60, 3)) * 3, rng.integers(0, 3, 60)
    fractal, natural = rng.normal(size=60), rng.normal(size=60)
    cal = fit_calibration(logits, labels, fractal=fractal, natural=natural)
    probs = cal.probs(logits, fractal=fractal, natural=natural)
    for name, p in probs.items():
        parts = cal.components(name, len(logits), fractal=fractal, natural=natural)
        z = torch.from_numpy(logits)
        rebuilt = sum(c * torch.softmax(z / torch.from_numpy(t)[:, None], -1) for c, t in parts).numpy()
        np.testing.assert_allclose(rebuilt, p, atol=1e-10)
    with pytest.raises(WorkbenchError, match="unknown or disabled calibrator 'platt'"):
        cal.components("platt", 3)


def judged_frame():
    """Two calibrators and the reference on 6 items per axis: ``temperature`` wins every helpful item the
    uncalibrated router loses and moves the weights; ``natural`` is the uncalibrated router's twin."""
    rows = []
    for cal, win, text in (("uncalibrated", 0.0, "a"), ("temperature", 1.0, "b"), ("natural", 0.0, "a")):
        for axis in AXES:
            for i in range(6):
                w = [0.6, 0.4, 0.0] if cal != "temperature" else [0.8, 0.2, 0.0]
                rows.append({"system": system_name(cal), "axis": axis, "id": f"{axis}-{i}", "response": text,
                             "win_rate": win if axis == "helpful" else np.nan,
                             "harmful_rate": float(i % 2) if axis == "harmless" else np.nan,
                             "true_and_informative": 1.0 if axis == "honest" else np.nan,
                             **{f"w_{a}": v for a, v in zip(AXES, w)}})
    rows.append({"system": "base", "axis": "helpful", "id": "helpful-0", "response": "z", "win_rate": 1.0})
    return pd.DataFrame(rows)


def test_the_ablation_table_measures_the_planted_effect_with_paired_cis():
    table = calibration_ablation(judged_frame(), AXES, n_boot=500)
    row = table.set_index(["calibrator", "axis"])
    assert set(table["calibrator"]) == {"uncalibrated", "temperature", "natural"}
    hot = row.loc[("temperature", "helpful")]
    assert hot["delta"] == 1.0 and hot["ci_low"] == hot["ci_high"] == 1.0 and hot["n"] == 6
    assert hot["weights_changed"] == 1.0 and hot["weight_shift"] == pytest.approx(0.4)
    assert hot["text_changed"] == 1.0
    twin = row.loc[("natural", "harmless")]
    assert twin["delta"] == 0.0 and twin["weights_changed"] == 0.0 and twin["text_changed"] == 0.0
    assert row.loc[("uncalibrated", "honest"), "value"] == 1.0
    with pytest.raises(WorkbenchError, match=r"no 'routed\[uncalibrated\]' system"):
        calibration_ablation(judged_frame().query("system != 'routed[uncalibrated]'"), AXES)
    with pytest.raises(WorkbenchError, match="no column"):
        calibration_ablation(judged_frame().drop(columns="w_helpful"), AXES)


def test_paired_delta_ci_and_system_names():
    mean, lo, hi = paired_delta_ci([1, 0, 1, 1], [0, 0, 1, 0], n_boot=2000)
    assert mean == 0.5 and 0.0 <= lo <= mean <= hi <= 1.0
    assert calibrator_of(system_name("mixed")) == "mixed" and calibrator_of("routed top-1") is None
    with pytest.raises(WorkbenchError, match="equal-length"):
        paired_delta_ci([1, 0], [1])


def test_freshqa_items_join_the_honest_axis_as_real_data():
    from workbench.experts.artifacts import freshqa_honest_items, hhh_eval_set, hhh_response_frame

    items = freshqa_honest_items(4, seed=0)
    assert len(items) == 4 and (items["axis"] == "honest").all() and (items["data_kind"] == "real").all()
    assert items["id"].str.startswith("fq-").all() and items["response"].str.len().gt(0).all()
    eval_set = hhh_eval_set(True, real_honest=2)
    assert eval_set["data_kind"].value_counts().to_dict() == {"bundled": 6, "real": 2}
    responses = {"routed": {a: ["x"] * int((eval_set["axis"] == a).sum()) for a in AXES}}
    weights = {"routed": np.tile(np.array([[0.7, 0.3, 0.0]]), (len(eval_set), 1))}
    frame = hhh_response_frame(eval_set, responses, weights=weights, axes=AXES)
    assert frame.groupby("data_kind").size().to_dict() == {"bundled": 6, "real": 2}
    assert frame["w_helpful"].eq(0.7).all()


def test_ablation_figure_shows_the_planted_delta_and_its_interval():
    from workbench.viz.experts import calibration_ablation_figure

    table = calibration_ablation(judged_frame(), AXES, n_boot=200)
    fig = calibration_ablation_figure(table)
    bars = {bar.name: bar for bar in fig.data}
    assert set(bars) == {"uncalibrated", "temperature", "natural"}
    assert list(bars["temperature"].y) == [100.0, 0.0, 0.0]               # helpful, harmless, honest
    assert list(bars["temperature"].error_y.array) == [0.0, 0.0, 0.0]
    assert "weights changed 100 %" in bars["temperature"].text[0]
