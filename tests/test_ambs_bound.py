"""AMBS's policy–reference KL bound (steering.ambs_bound) on planted signals: a steering vector that pushes the
next-token distribution far from the reference, and the bound that holds it back."""
import math

import pytest
import torch

from workbench import WorkbenchError
from workbench.steering.ambs import Branches, decode
from workbench.steering.ambs_bound import decode_bounded, kl, policy_reference

from test_ambs import IDS, MASK
from test_steering import FAMILIES, H, tiny

TOL = 1e-5


def test_policy_reference_holds_the_bound_and_is_the_branch_when_unbounded():
    g = torch.Generator().manual_seed(0)
    ref = torch.log_softmax(torch.randn(5, 50, generator=g), -1)
    far = torch.log_softmax(torch.randn(5, 50, generator=g) * 6, -1)          # far from the reference
    full = kl(far, ref)
    assert (full > 0.5).all()
    for eps in (0.0, 0.01, 0.1, 0.5):
        out = policy_reference(far, ref, eps)
        assert (out.kl <= eps + TOL).all() and out.bound.all()
        # the largest feasible λ: a little more mixing weight breaks the bound
        from workbench.steering.ambs_bound import mixture
        assert (kl(mixture(far, ref, (out.lam + 1e-3).clamp(max=1)), ref) > eps).all()
    torch.testing.assert_close(policy_reference(far, ref, 0.0).logp, ref, atol=1e-5, rtol=0)
    free = policy_reference(far, ref, math.inf)
    assert torch.equal(free.logp, far) and not free.bound.any() and torch.equal(free.kl, full)
    near = policy_reference(ref + 0.0, ref, 0.1)                               # already within: untouched
    assert (near.lam == 1).all()
    lams = [policy_reference(far, ref, e).lam for e in (0.01, 0.1, 0.5)]
    assert (lams[0] <= lams[1]).all() and (lams[1] <= lams[2]).all()          # looser bound, more of the branch
    with pytest.raises(WorkbenchError, match="ε must be ≥ 0"):
        policy_reference(far, ref, -1.0)


def planted(model, scale=40.0):
    """Three branches whose vectors are large enough to move the next-token distribution far off the reference."""
    g = torch.Generator().manual_seed(3)
    return Branches.from_vectors(model, 1, {k: torch.randn(H, generator=g) * scale
                                            for k in ("helpful", "harmless", "honest")})


def test_bound_holds_on_a_tiny_model_and_naive_differs_when_it_binds():
    model = tiny("llama")
    b = planted(model)
    free = decode_bounded(model, IDS, MASK, b, 6, epsilon=math.inf)
    naive = decode(model, IDS, MASK, b, 6, naive=True)
    assert torch.equal(free.tokens, naive)                                    # ε = ∞: the naive 1-to-N exactly
    eps = 0.004                                     # random tiny models are flat: KL(free) ≈ 0.01
    assert (free.kl > eps).float().mean() > 0.5                               # unbounded, it strays far
    tight = decode_bounded(model, IDS, MASK, b, 6, epsilon=eps)
    assert (tight.kl <= eps + TOL).all()                                      # the bound provably holds
    assert (tight.lam < 1).float().mean() > 0.5                               # and it binds
    assert not torch.equal(tight.tokens, naive)                               # so AMBS and naive differ
    unsteered = decode(model, IDS, MASK, Branches(1, ["plain"], torch.zeros(1, H), [0.0]), 6, naive=True)
    zero = decode_bounded(model, IDS, MASK, b, 6, epsilon=0.0)
    assert torch.equal(zero.tokens, unsteered.expand_as(zero.tokens))       # ε = 0: the reference policy
    assert not torch.equal(naive, unsteered.expand_as(naive))


@pytest.mark.parametrize("family", [f for f in FAMILIES if f != "llama"])
def test_twin_rows_match_independent_passes_on_every_layout(family):
    model = tiny(family)
    b = planted(model, scale=4.0)
    assert torch.equal(decode_bounded(model, IDS, MASK, b, 4, epsilon=math.inf).tokens,
                       decode(model, IDS, MASK, b, 4, naive=True))


def test_combined_mode_and_generate_bounded_steps():
    from workbench.models import load
    from workbench.steering.ambs_bound import generate_bounded

    model = tiny("llama")
    b = planted(model)
    comb = decode_bounded(model, IDS, MASK, b, 3, epsilon=0.004, mode="combined")
    assert comb.tokens.shape == (2, 3) and (comb.kl <= 0.004 + TOL).all() and (comb.lam < 1).any()
    lm = load("tiny-llama")
    g = torch.Generator().manual_seed(0)
    hb = Branches.from_vectors(lm.model, 1, {"a": torch.randn(lm.model.config.hidden_size, generator=g) * 30,
                                             "b": torch.randn(lm.model.config.hidden_size, generator=g) * 30})
    out = generate_bounded(lm, ["Hello there", "What is two plus two?"], hb, epsilon=0.02, max_new_tokens=4)
    steps = out["steps"]
    assert set(out["branches"]) == {"a", "b"} and len(out["branches"]["a"]) == 2
    assert set(steps.columns) >= {"prompt", "branch", "step", "kl_branch", "kl", "lam", "bound"}
    assert (steps["kl"] <= 0.02 + TOL).all() and steps["bound"].any()
    with pytest.raises(WorkbenchError, match="unknown AMBS mode"):
        decode_bounded(model, IDS, MASK, b, 3, epsilon=0.1, mode="vote")


def test_steer_ambs_kl_bound_cli(tmp_path, capsys):
    from workbench.cli.main import main
    from workbench.models import load
    from workbench.steering.vectors import SteeringVector

    h = load("tiny-llama").model.config.hidden_size
    g = torch.Generator().manual_seed(0)
    paths = []
    for name in ("kind", "safe"):
        paths.append(str(SteeringVector({0: torch.randn(h, generator=g) * 30}, "tiny-llama")
                         .save(tmp_path / f"{name}.safetensors")))
    assert main(["steer", "ambs", "Hello", "--vectors", ",".join(paths), "--layer", "0", "--kl-bound", "0.001",
                 "--max-new-tokens", "3"]) == 0
    text = capsys.readouterr().out
    assert "kind:" in text and "safe:" in text and "KL bound ε = 0.001" in text and "of steps bound" in text
    assert main(["steer", "ambs", "Hello", "--vectors", ",".join(paths), "--layer", "0", "--kl-bound", "0.1",
                 "--norm-bound", "0.1"]) == 1
    assert "not both" in capsys.readouterr().err
