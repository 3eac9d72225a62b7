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


def test_the_router_calibration_view_shows_the_token_router_of_a_p10_artifact(tiny_mixture, tmp_path):
    from conftest import chart_texts, view_app

    from workbench.experts.artifacts import calibration_config, mixture_report
    from workbench.io import ArtifactStore, load_frame, save_frame

    folder, data = tiny_mixture
    if not TokenRouter.stored(folder):                     # this test alone: train it here
        from workbench.experts.moe import MixtureOfExperts

        MixtureOfExperts.load(folder, device="cpu", token_data=data).ensure_token_router()
    config = calibration_config("P10", folder, mixture_report(folder), {}, True)
    assert [b["block"] for b in config["token_routing"]["blocks"]] == [0, 1]
    save_frame(load_frame(folder / "routing"), ArtifactStore(tmp_path).path("P10", "router_calibration", "default"),
               profile="default", models=["tiny-llama"], seed=0, config=config)
    at = view_app("router_calibration", tmp_path).run()
    at.segmented_control(key="calib-paper").set_value("P10").run()
    assert not at.exception, at.exception
    assert "Routing accuracy per adapted block" in chart_texts(at)
    assert any("one linear router per adapted block" in c.value for c in at.caption)


def test_the_accuracy_per_block_figure_shows_the_planted_signal_against_the_prompt_router():
    from workbench.viz.experts import token_routing_figure

    train, y_train, _ = planted(60, 8, 1)
    cal, y_cal, _ = planted(15, 8, 2)
    test, y_test, p_test = planted(15, 8, 3)
    prompt_router = (np.arange(15) % 5 != 0).astype(float)        # a prompt router right on 12 of 15 prompts
    router = train_token_router(train, y_train, cal, y_cal, test, y_test, p_test, RouterConfig(hidden_size=H),
                                epochs=15, prompt_router_correct=prompt_router)
    report = router.report
    assert report["prompt_router_accuracy"] == 0.8
    noise, signal = report["blocks"]
    assert signal["vs_prompt_router"]["points"] == pytest.approx(20.0)            # 100 % vs 80 %, paired
    assert 0 <= signal["vs_prompt_router"]["ci"][0] < 20.0 < signal["vs_prompt_router"]["ci"][1]
    assert noise["vs_prompt_router"]["points"] < 0
    lo, hi = signal["accuracy_ci"]
    assert lo <= signal["test"]["accuracy"] <= hi and noise["accuracy_ci"][1] < lo
    fig = token_routing_figure(report)
    traces = {t.name: t for t in fig.data}
    per_token = traces["token router: per token"]
    assert list(per_token.x) == [0, 1] and per_token.y[1] > traces["prompt router (pooled last layer)"].y[0] > \
        per_token.y[0]
    assert traces["majority axis (ignores its input)"].y[0] == pytest.approx(1 / 3, abs=0.01)
    assert "120 tokens of 15 held-out prompts" in fig.layout.title.text
