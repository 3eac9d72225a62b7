"""The router on real prompts (P3/P10, ``workbench.experts.realcheck``): the prompt set, the summary on a
hand-computed case, and the figure."""
import numpy as np
import pandas as pd
import pytest

from workbench.experts.geometry import CalibrationConfig, ConditionedTemperature, RouterCalibration
from workbench.experts.realcheck import EXPECTED, SMOKE_PER_SOURCE, real_prompts, real_routing_summary

AXES = ["helpful", "harmless", "honest"]


def test_real_prompts_sources_and_expected_axes():
    full = real_prompts(smoke=False)
    counts = full["source"].value_counts().to_dict()
    assert counts["strongreject"] == 313
    assert counts["harmbench"] == 159 + 41            # HarmBench's standard behaviours, val + test
    assert counts["freshqa-false-premise"] + counts["freshqa-valid-premise"] == 600
    assert full["id"].is_unique
    assert (full["expected"] == full["source"].map(EXPECTED)).all()
    smoke = real_prompts(smoke=True, seed=3)
    assert smoke["source"].value_counts().eq(SMOKE_PER_SOURCE).all()
    assert smoke.equals(real_prompts(smoke=True, seed=3))
    assert not smoke.equals(real_prompts(smoke=True, seed=4))


def _routing(chosen, labels, sources):
    # logits of 10 on the chosen expert, 0 elsewhere: confidence e^10 / (e^10 + 2) under T = 1
    logits = np.zeros((len(chosen), 3))
    logits[np.arange(len(chosen)), chosen] = 10.0
    frame = pd.DataFrame({"source": sources, "label": labels, "fractal": 1.0, "natural": 1.0})
    for k, a in enumerate(AXES):
        frame[f"logit_{a}"] = logits[:, k]
    return frame


def test_summary_hand_computed():
    calibration = RouterCalibration(CalibrationConfig(), ConditionedTemperature(), None, None).to_dict()
    # strongreject: 3 of 4 routed to harmless (1); freshqa-valid-premise: no expected axis
    routing = _routing([1, 1, 0, 1, 2, 0], [1, 1, 1, 1, -1, -1],
                       ["strongreject"] * 4 + ["freshqa-valid-premise"] * 2)
    summary = real_routing_summary(routing, calibration, AXES).set_index("source")
    sr = summary.loc["strongreject"]
    assert sr["n"] == 4 and sr["recall"] == pytest.approx(0.75)
    assert sr["share_harmless"] == pytest.approx(0.75) and sr["share_helpful"] == pytest.approx(0.25)
    conf = np.exp(10) / (np.exp(10) + 2)
    assert sr["confidence"] == pytest.approx(conf)
    # one bin holds all four: |accuracy 0.75 − confidence|
    assert sr["ece"] == pytest.approx(abs(0.75 - conf))
    assert 0.0 <= sr["ci_low"] <= 0.75 <= sr["ci_high"] <= 1.0
    valid = summary.loc["freshqa-valid-premise"]
    assert np.isnan(valid["recall"]) and valid["share_honest"] == pytest.approx(0.5)


def test_figure_names_expected_expert_and_ci():
    from workbench.viz.experts import real_routing_figure

    calibration = RouterCalibration(CalibrationConfig(), ConditionedTemperature(), None, None).to_dict()
    routing = _routing([1, 0], [1, 2], ["strongreject", "freshqa-false-premise"])
    fig = real_routing_figure(real_routing_summary(routing, calibration, AXES))
    notes = [a.text for a in fig.layout.annotations]
    assert any(n.startswith("to harmless: 100%") for n in notes)
    assert any(n.startswith("to honest: 0%") for n in notes)
    assert len(fig.data) == 3
