import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from workbench import WorkbenchError
from workbench.metrics.calibration import brier, ece, fit_temperature, reliability_curve, softmax


def test_ece_by_hand():
    # two bins of width 0.5: {0.2, 0.4} with 1 hit of 2 → |0.5 − 0.3|; {0.9, 0.8} with 2 hits → |1 − 0.85|
    p = np.array([0.2, 0.4, 0.9, 0.8])
    y = np.array([1, 0, 1, 1])
    assert ece(p, y, n_bins=2) == pytest.approx(0.5 * 0.2 + 0.5 * 0.15)
    # top-label form: confidences 0.6 (wrong) and 0.7 (right)
    probs = np.array([[0.6, 0.4], [0.3, 0.7]])
    assert ece(probs, np.array([1, 1]), n_bins=1) == pytest.approx(abs(0.5 - 0.65))


@pytest.mark.parametrize("strategy,sk", [("width", "uniform"), ("mass", "quantile")])
def test_curve_matches_sklearn(strategy, sk):
    rng = np.random.default_rng(0)
    p = rng.random(2000)
    y = (rng.random(2000) < p ** 1.5).astype(int)
    ours = reliability_curve(p, y, n_bins=8, strategy=strategy)
    true, pred = calibration_curve(y, p, n_bins=8, strategy=sk)
    np.testing.assert_allclose(ours["accuracy"], true, atol=1e-12)
    np.testing.assert_allclose(ours["confidence"], pred, atol=1e-12)
    assert brier(p, y) == pytest.approx(brier_score_loss(y, p))


def test_calibrated_vs_overconfident_and_temperature_recovery():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 1.5, size=(20000, 3))
    labels = np.array([rng.choice(3, p=row) for row in softmax(z)])        # calibrated by construction
    calibrated = ece(softmax(z), labels)
    overconfident = ece(softmax(3 * z), labels)
    assert calibrated < 0.015 < 0.1 < overconfident
    assert ece(softmax(z), labels, strategy="mass") < 0.015
    t = fit_temperature(3 * z, labels)
    assert t == pytest.approx(3.0, rel=0.05)
    assert ece(softmax(3 * z, t), labels) < 0.02
    assert brier(softmax(z), labels) < brier(softmax(3 * z), labels)


def test_bad_inputs():
    with pytest.raises(WorkbenchError, match="must sum to 1"):
        ece(np.array([[0.5, 0.6]]), np.array([0]))
    with pytest.raises(WorkbenchError, match="binary labels must be 0 or 1"):
        brier(np.array([0.2]), np.array([2]))
    with pytest.raises(WorkbenchError, match="unknown binning 'log'"):
        reliability_curve(np.array([0.2]), np.array([1]), strategy="log")
    with pytest.raises(WorkbenchError, match="no predictions"):
        ece(np.array([]), np.array([]))


def test_equal_mass_bins_with_identical_confidences():
    p = np.full(10, 0.9)
    y = np.array([1] * 8 + [0] * 2)
    assert ece(p, y, strategy="mass") == pytest.approx(0.1)
