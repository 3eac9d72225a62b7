import numpy as np
import pytest
import torch

from workbench import WorkbenchError
from workbench.experts.router import Router, RouterConfig, route_logits, train_router
from workbench.metrics.calibration import ece, fit_temperature, softmax


def planted(n=900, h=32, seed=0):
    """Features whose axis is written along three planted directions, plus noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (n,), generator=g)
    directions = torch.randn(3, h, generator=g)
    x = torch.randn(n, h, generator=g) + 1.2 * directions[labels]
    return x, labels


def test_router_learns_the_planted_signal_and_depends_on_its_input():
    x, y = planted()
    router = train_router(x[:600], y[:600], RouterConfig(hidden_size=32, inner=0), epochs=40)
    held = route_logits(router, x[600:]).argmax(1)
    assert (held == y[600:].numpy()).mean() > 0.85
    # same router, labels shuffled against the inputs: the signal is gone, so is the accuracy
    shuffled = train_router(x[:600], y[:600][torch.randperm(600, generator=torch.Generator().manual_seed(1))],
                            RouterConfig(hidden_size=32, inner=0), epochs=40)
    assert (route_logits(shuffled, x[600:]).argmax(1) == y[600:].numpy()).mean() < 0.6
    # the decision follows the input: the same rows with their planted part swapped to another axis re-route
    g = torch.Generator().manual_seed(0)
    torch.randint(0, 3, (900,), generator=g)
    directions = torch.randn(3, 32, generator=g)
    moved = x[600:] - 1.2 * directions[y[600:]] + 1.2 * directions[(y[600:] + 1) % 3]
    assert (route_logits(router, moved).argmax(1) == ((y[600:] + 1) % 3).numpy()).mean() > 0.85


def test_temperature_scaling_lowers_held_out_ece_of_an_overconfident_router():
    x, y = planted(n=3000, h=16, seed=2)
    router = train_router(x[:300], y[:300], RouterConfig(hidden_size=16, inner=64, entropy_weight=-0.05,
                                                         kl_weight=0.0), epochs=200, lr=1e-2)
    cal, test = slice(300, 1500), slice(1500, 3000)
    logits = route_logits(router, x)
    before = ece(softmax(logits[test]), y[test].numpy())
    t = fit_temperature(logits[cal], y[cal].numpy())
    after = ece(softmax(logits[test], t), y[test].numpy())
    assert t > 1.0 and after < before


def test_weights_top_k_gamma_and_token_level():
    cfg = RouterConfig(hidden_size=4, inner=0, top_k=2, gamma=(1.0, 0.5, 2.0))
    router = Router(cfg)
    logits = torch.tensor([[2.0, 1.0, -5.0]])
    w = router.weights(logits)
    p = torch.softmax(logits, -1)[0]
    assert w[0, 2] == 0 and torch.allclose(w[0, :2], torch.stack([p[0], 0.5 * p[1]]) / (p[0] + p[1]))
    token = Router(RouterConfig(hidden_size=4, inner=8, level="token"))
    assert token.logits(torch.randn(2, 5, 4)).shape == (2, 5, 3)
    seq = Router(RouterConfig(hidden_size=4, inner=8))
    mask = torch.tensor([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1]])
    h = torch.randn(2, 5, 4)
    h2 = h.clone()
    h2[0, 2:] = 100.0                                       # padding must not change a sequence's route
    assert torch.allclose(seq.logits(h, mask)[0], seq.logits(h2, mask)[0])


def test_bad_configs():
    with pytest.raises(WorkbenchError, match="top_k must be between 1 and 3"):
        RouterConfig(hidden_size=4, top_k=4)
    with pytest.raises(WorkbenchError, match="level must be 'sequence' or 'token'"):
        RouterConfig(hidden_size=4, level="layer")
    with pytest.raises(WorkbenchError, match="labels must be expert indices"):
        train_router(torch.randn(3, 4), [0, 1, 5], RouterConfig(hidden_size=4))
