import numpy as np
import pytest
import torch

from workbench import WorkbenchError
from workbench.experts.geometry import (CalibrationConfig, ConditionedTemperature, RouterCalibration,
                                        box_counting_dimension, fisher_sensitivity, fit_calibration)
from workbench.experts.router import Router, RouterConfig
from workbench.metrics.calibration import ece, softmax


def embed(points, dim=40, seed=0):
    """Put low-dimensional points into a random rotation of a higher-dimensional space."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))
    padded = np.zeros((len(points), dim))
    padded[:, :points.shape[1]] = points
    return padded @ q


def test_box_counting_recovers_known_dimensions():
    rng = np.random.default_rng(0)
    t = rng.uniform(size=(4000, 1))
    line = box_counting_dimension(embed(np.hstack([t, 0.5 * t])))
    square = box_counting_dimension(embed(rng.uniform(size=(4000, 2))))
    cube = box_counting_dimension(embed(rng.uniform(size=(20000, 3))))
    assert abs(line - 1) < 0.15 and abs(square - 2) < 0.3 and cube > square + 0.4
    # scale- and rotation-free: the same set shrunk and moved gives the same dimension
    pts = rng.uniform(size=(500, 2))
    assert box_counting_dimension(embed(pts)) == pytest.approx(box_counting_dimension(embed(0.01 * pts + 3, seed=1)))
    assert box_counting_dimension(np.ones((5, 8))) == 0.0
    with pytest.raises(WorkbenchError, match="trajectory"):
        box_counting_dimension(np.zeros(4))
    with pytest.raises(WorkbenchError, match="box side"):
        CalibrationConfig(eps=0)


def test_fisher_sensitivity_matches_the_closed_form_for_a_linear_router():
    torch.manual_seed(0)
    router = Router(RouterConfig(hidden_size=6, inner=0))
    h = torch.randn(10, 6)
    got = fisher_sensitivity(router, h)
    w = router.net.weight.detach()                                     # [K, H]
    p = torch.softmax(router.net(h).detach(), -1)
    # tr(Wᵀ (diag p − p pᵀ) W) = Σ p_k |w_k|² − |Σ p_k w_k|²
    expected = (p * (w ** 2).sum(1)).sum(1) - ((p @ w) ** 2).sum(1)
    np.testing.assert_allclose(got, expected.log().numpy(), rtol=1e-5)
    mlp = fisher_sensitivity(Router(RouterConfig(hidden_size=6, inner=16)), h)
    assert mlp.shape == (10,) and np.isfinite(mlp).all()


def synthetic(n, c, seed):
    """True logits z; the router reports z·exp(c·u): overconfident where the feature u is high."""
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=2.0, size=(n, 3))
    u = rng.normal(size=n)
    p = softmax(z)
    y = np.array([rng.choice(3, p=row) for row in p])
    return z * np.exp(c * u)[:, None], y, u


def test_conditioned_temperature_fixes_feature_dependent_miscalibration():
    logits, y, u = synthetic(3000, 0.8, 0)
    test_logits, test_y, test_u = synthetic(3000, 0.8, 1)
    plain = ConditionedTemperature.fit(logits, y)
    conditioned = ConditionedTemperature.fit(logits, y, u)
    assert conditioned.b == pytest.approx(0.8 * u.std(), abs=0.15)           # T(u) undoes exp(c·u)
    e_raw = ece(softmax(test_logits), test_y)
    e_plain = ece(plain.probs(test_logits), test_y)
    e_cond = ece(conditioned.probs(test_logits, test_u), test_y)
    assert e_cond < e_plain and e_cond < e_raw and e_cond < 0.03
    # a calibrated router stays as it is: T ≈ 1 and no feature effect
    calm_logits, calm_y, calm_u = synthetic(3000, 0.0, 2)
    calm = ConditionedTemperature.fit(calm_logits, calm_y, calm_u)
    assert abs(calm.a) < 0.1 and abs(calm.b) < 0.1


def test_router_calibration_switches_mixing_and_round_trip():
    logits, y, u = synthetic(400, 0.5, 3)
    v = np.random.default_rng(4).normal(size=len(y))
    cal = fit_calibration(logits, y, fractal=u, natural=v)
    probs = cal.probs(logits, fractal=u, natural=v)
    assert list(probs) == ["uncalibrated", "temperature", "fractal", "natural", "mixed"]
    np.testing.assert_allclose(probs["mixed"], 0.6 * probs["fractal"] + 0.4 * probs["natural"])
    again = RouterCalibration.from_dict(cal.to_dict()).probs(logits, fractal=u, natural=v)
    np.testing.assert_allclose(again["mixed"], probs["mixed"])
    only_natural = fit_calibration(logits, y, natural=v, config=CalibrationConfig(fractal=False))
    assert list(only_natural.probs(logits, natural=v)) == ["uncalibrated", "temperature", "natural"]
    assert CalibrationConfig(fractal=False).enabled() == ["uncalibrated", "temperature", "natural"]
    with pytest.raises(WorkbenchError, match="fractal calibrator needs its feature"):
        fit_calibration(logits, y, natural=v)
    with pytest.raises(WorkbenchError, match="one finite value per row"):
        ConditionedTemperature.fit(logits, y, u[:5])
