"""The token-level router (P10 per-token routing): planted signals on synthetic token states, determinism, the
stored file, and the lazy training on a tiny mixture."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from workbench import WorkbenchError
from workbench.experts.router import RouterConfig
from workbench.experts.token_router import TokenRouter, ensure_token_router, prompt_accuracy, train_token_router

H, K = 24, 3


def planted(n_prompts: int, tokens: int, seed: int):
    """Token states of ``n_prompts`` prompts (``tokens`` each, axis = prompt % 3) for two blocks: block 0 holds no
    axis signal (noise and one huge nuisance coordinate), block 1 the axis along one direction per axis under the
    same nuisance. Returns (states per block, token labels, token → prompt)."""
    g = torch.Generator().manual_seed(seed)
    prompt = np.repeat(np.arange(n_prompts), tokens)
    y = prompt % K
    noise = torch.randn(len(y), H, generator=g)
    nuisance = torch.zeros(len(y), H)
    nuisance[:, 0] = 300.0 * torch.randn(len(y), generator=g)           # a massive-activation coordinate
    means = torch.zeros(K, H)
    means[torch.arange(K), torch.arange(1, K + 1)] = 1.0
    signal = means[torch.from_numpy(y)]
    return [noise + nuisance, noise + nuisance + 3.0 * signal], y, prompt


def trained(seed: int = 0):
    train, y_train, _ = planted(60, 8, 1)
    cal, y_cal, _ = planted(15, 8, 2)
    test, y_test, p_test = planted(15, 8, 3)
    return train_token_router(train, y_train, cal, y_cal, test, y_test, p_test,
                              RouterConfig(hidden_size=H, temperature=0.7), epochs=15, seed=seed)


def test_a_linearly_readable_axis_is_learned_per_block_and_noise_is_not():
    router = trained()
    acc = [b["test"]["accuracy"] for b in router.report["blocks"]]
    assert acc[0] < 0.5                                  # no signal: near chance (1/3)
    assert acc[1] > 0.9                                  # planted signal: ≫ chance despite the nuisance
    assert router.report["blocks"][1]["prompt_accuracy"] == 1.0
    assert router.report["majority_accuracy"] == pytest.approx(1 / 3, abs=0.01)
    assert [b["block"] for b in router.report["blocks"]] == [0, 1]
    # the fitted temperature is the calibration's: it leaves the argmax alone and does not worsen held-out NLL much
    assert all(b["test"]["temperature"]["accuracy"] == b["test"]["accuracy"] for b in router.report["blocks"])


def test_same_seed_same_weights_and_the_stored_file_loads(tmp_path):
    a, b, c = trained(0), trained(0), trained(1)
    for ra, rb in zip(a.routers, b.routers):
        torch.testing.assert_close(ra.net.weight, rb.net.weight, rtol=0, atol=0)
    assert not torch.equal(a.routers[1].net.weight, c.routers[1].net.weight)
    assert not TokenRouter.stored(tmp_path)
    a.save(tmp_path)
    assert TokenRouter.stored(tmp_path) and not list(tmp_path.glob(".*tmp*"))   # no temporary file left behind
    loaded = TokenRouter.load(tmp_path)
    x = planted(2, 4, 9)[0][1]
    torch.testing.assert_close(loaded.probs(1, x), a.probs(1, x))
    assert loaded.report == a.report and loaded.temperatures == pytest.approx(a.temperatures)
    with pytest.raises(WorkbenchError, match="calibrator uncalibrated or temperature, not 'mixed'"):
        loaded.probs(0, x, "mixed")
    (tmp_path / "token_router.safetensors").write_bytes(b"junk")
    with pytest.raises(WorkbenchError, match=r"token_router\.safetensors: cannot be read"):
        TokenRouter.load(tmp_path)


def test_prompt_accuracy_takes_the_mean_token_distribution():
    probs = np.array([[0.6, 0.4, 0], [0.1, 0.9, 0], [0.4, 0.6, 0], [0.3, 0.7, 0]])
    # prompt 0: mean (0.35, 0.65) → 1 (its label 1: right); prompt 1: mean (0.35, 0.65) → 1 (label 0: wrong)
    assert prompt_accuracy(probs, np.array([1, 1, 0, 0]), np.array([0, 0, 1, 1])) == 0.5


def test_no_router_and_no_rows_is_one_clear_error(tmp_path):
    mixture = SimpleNamespace(folder=tmp_path, axes=("helpful", "harmless", "honest"))
    with pytest.raises(WorkbenchError, match="no token_router and no saved train rows"):
        ensure_token_router(mixture)
    with pytest.raises(WorkbenchError, match="no folder"):
        ensure_token_router(SimpleNamespace(folder=None))


@pytest.fixture(scope="module")
def tiny_mixture(tmp_path_factory):
    from workbench.experts.mixture import build_mixture
    from workbench.experts.train import ExpertConfig

    out = tmp_path_factory.mktemp("token-mixture")
    rows = [{"id": f"{a}-{i}", "axis": a, "split": "train" if i < 6 else "eval", "prompt": f"{a} request {i}?",
             "response": "Fine."} for a in ("helpful", "harmless", "honest") for i in range(10)]
    data = pd.DataFrame(rows)
    build_mixture("tiny-llama", data, out, experts=ExpertConfig(epochs=1, lr=5e-3), router_epochs=10)
    return out, data


def test_the_token_router_is_trained_lazily_beside_the_mixture_and_reused(tiny_mixture):
    from workbench.experts.moe import MixtureOfExperts

    folder, data = tiny_mixture
    mixture = MixtureOfExperts.load(folder, device="cpu")
    assert mixture.token_router is None and not TokenRouter.stored(folder)
    out = mixture.generate(["helpful request 1?"], level="token", max_new_tokens=2)    # trains on first use
    assert len(out) == 1 and TokenRouter.stored(folder)
    report = mixture.token_router.report
    assert len(report["blocks"]) == len(mixture._blocks()) and report["n_train_tokens"] > 0
    assert report["n_test_prompts"] == (data["split"] == "eval").sum() // 2          # the prompt router's test half
    again = MixtureOfExperts.load(folder, device="cpu", token_data=data)
    assert again.ensure_token_router().info["key"] == mixture.token_router.info["key"]   # same rows: reused
    assert again.generate(["helpful request 1?"], level="token", max_new_tokens=2) == out
    with pytest.raises(WorkbenchError, match="trained on other rows"):
        ensure_token_router(again, data.assign(axis=data["axis"].iloc[::-1].to_numpy()))
    with pytest.raises(WorkbenchError, match="not 'fractal'"):
        again.generate(["x"], level="token", calibrator="fractal", max_new_tokens=1)
