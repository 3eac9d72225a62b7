import numpy as np
import pytest

from workbench import WorkbenchError
from workbench.metrics.eer import (accuracy, det_curve, detection_report, eer, eer_from_roc, probit, roc)


def trials(target, nontarget):
    return np.array(list(target) + list(nontarget)), np.array([1] * len(target) + [0] * len(nontarget))


@pytest.mark.parametrize("target, nontarget, expected, threshold", [
    ([3, 4], [1, 2], 0.0, 2),                         # separated: the threshold between the classes
    ([1, 3], [2, 4], 0.5, 2),                         # interleaved
    ([0.9, 0.8, 0.3], [0.1, 0.4], 5 / 12, 0.3),       # FRR 1/3, FAR 1/2 at the closest point
])
def test_eer_on_hand_computed_cases(target, nontarget, expected, threshold):
    s, y = trials(target, nontarget)
    value, t = eer(s, y)
    assert value == pytest.approx(expected) and t == pytest.approx(threshold)


def test_det_curve_by_hand():
    s, y = trials([0.9, 0.8, 0.3], [0.1, 0.4])
    curve = det_curve(s, y)
    np.testing.assert_allclose(curve.frr, [0, 0, 1 / 3, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(curve.far, [1, 0.5, 0.5, 0, 0, 0])
    np.testing.assert_allclose(curve.thresholds[1:], [0.1, 0.3, 0.4, 0.8, 0.9])
    assert curve.thresholds[0] < 0.1


@pytest.mark.parametrize("seed", range(10))
def test_eer_agrees_with_the_scikit_learn_roc_route(seed):
    rng = np.random.default_rng(seed)
    s, y = trials(rng.normal(1.0, 1.0, 97), rng.normal(0.0, 1.0, 113))
    assert eer(s, y)[0] == pytest.approx(eer_from_roc(s, y), abs=1e-12)
    # and a swapped orientation is the mirror image
    assert eer(-s, 1 - y)[0] == pytest.approx(eer(s, y)[0], abs=0.02)


def test_report_accuracy_roc_and_errors():
    s, y = trials([0.9, 0.8, 0.3], [0.1, 0.4])
    report = detection_report(s, y)
    assert report["eer"] == pytest.approx(5 / 12) and report["n_bonafide"] == 3 and report["n_spoof"] == 2
    assert report["auc"] == pytest.approx(5 / 6)                 # 5 of 6 (bona fide, spoof) pairs ordered right
    assert accuracy(s, y, 0.35) == pytest.approx(0.6)           # 0.3 rejected, 0.4 accepted: 3 of 5 right
    assert roc(s, y)["auc"] == pytest.approx(5 / 6)
    assert probit([0.5])[0] == pytest.approx(0.0) and np.isfinite(probit([0.0, 1.0])).all()
    with pytest.raises(WorkbenchError, match="need both classes"):
        eer([0.1, 0.2], [1, 1])
    with pytest.raises(WorkbenchError, match="labels must be 1"):
        eer([0.1, 0.2], [1, 2])
    with pytest.raises(WorkbenchError, match="finite"):
        eer([0.1, float("nan")], [1, 0])
