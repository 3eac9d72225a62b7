import numpy as np
import pandas as pd
import pytest
import torch

from workbench import WorkbenchError
from workbench.experts.mixture import build_mixture, encode_prompts
from workbench.experts.moe import MixtureOfExperts, one_hot
from workbench.experts.train import ExpertConfig


@pytest.fixture(scope="module")
def mixture(tmp_path_factory):
    out = tmp_path_factory.mktemp("moe")
    rows = []
    for axis, resp in (("helpful", "The answer is four."), ("harmless", "I can't help with that."),
                       ("honest", "Nobody knows that.")):
        rows += [{"id": f"{axis}-{i}", "axis": axis, "split": "train" if i < 12 else "eval",
                  "prompt": f"{axis} question number {i}?", "response": resp} for i in range(16)]
    build_mixture("tiny-llama", pd.DataFrame(rows), out, experts=ExpertConfig(epochs=2, lr=5e-3), router_epochs=30)
    return MixtureOfExperts.load(out, device="cpu")


def logits_of(moe, prompts):
    enc = encode_prompts(moe.tokenizer, prompts)
    with torch.inference_mode():
        return moe.model(**enc).logits


def test_route_gives_calibrated_distributions_and_top1_weights(mixture):
    routed = mixture.route(["helpful question number 3?", "honest question number 20?"], calibrator="mixed")
    np.testing.assert_allclose(routed["probs"].sum(1), 1.0, rtol=1e-6)
    assert ((routed["weights"] > 0).sum(1) == 1).all()                  # top-1 by default
    assert routed["chosen"][0] in mixture.axes and routed["fractal"].shape == (2,)
    with pytest.raises(WorkbenchError, match="unknown or disabled calibrator 'platt'"):
        mixture.route(["x"], calibrator="platt")


def test_per_row_mixing_equals_each_expert_alone(mixture):
    prompts = ["helpful question number 1?", "honest question number 2?"]
    singles = {}
    for axis in mixture.axes:
        mixture.model.set_adapter(axis)
        singles[axis] = logits_of(mixture, prompts)
    with mixture.model.disable_adapter():
        base = logits_of(mixture, prompts)
    assert not torch.allclose(singles["helpful"], singles["honest"], atol=1e-4)
    with mixture.mixed(one_hot([0, 2], 3)):
        mixed = logits_of(mixture, prompts)
    torch.testing.assert_close(mixed[0], singles["helpful"][0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(mixed[1], singles["honest"][1], atol=1e-5, rtol=1e-5)
    with mixture.mixed(np.zeros((2, 3), np.float32)):
        torch.testing.assert_close(logits_of(mixture, prompts), base, atol=1e-5, rtol=1e-5)
    assert mixture._weights is None                                     # hooks are inert outside the block
    with pytest.raises(WorkbenchError, match="need weights"):
        with mixture.mixed(np.ones((2, 2))):
            pass


def test_task_vector_merge_equals_static_mixing(mixture):
    gamma = [0.5, 0.3, 0.2]
    prompts = ["harmless question number 4?"]
    mixture.model.set_adapter(mixture.merge(gamma))
    merged = logits_of(mixture, prompts)
    with mixture.mixed(np.array([gamma], np.float32)):
        static = logits_of(mixture, prompts)
    torch.testing.assert_close(merged, static, atol=1e-4, rtol=1e-4)


def test_generate_modes(mixture, tmp_path):
    prompts = ["helpful question number 1?", "harmless question number 2?", "honest question number 3?"]
    for mode in ("routed", "merged", "base", "honest"):
        out = mixture.generate(prompts, mode=mode, max_new_tokens=4, batch_size=2)
        assert len(out) == 3 and all(isinstance(t, str) for t in out)
    # routed generation of a batch equals routing each prompt alone with its chosen expert (top-1)
    chosen = mixture.route(prompts)["chosen"]
    alone = [mixture.generate([p], mode=axis, max_new_tokens=4)[0] for p, axis in zip(prompts, chosen)]
    assert mixture.generate(prompts, mode="routed", max_new_tokens=4, batch_size=3) == alone
    with pytest.raises(WorkbenchError, match="unknown mode 'all'"):
        mixture.generate(prompts, mode="all")
    with pytest.raises(WorkbenchError, match="no experts.json"):
        MixtureOfExperts.load(tmp_path)


def test_load_names_a_corrupt_router_file_in_one_line(tmp_path):
    (tmp_path / "experts.json").write_text('{"backbone": "tiny-llama"}')
    (tmp_path / "router.json").write_text("{not json")
    (tmp_path / "router.safetensors").write_bytes(b"junk")
    with pytest.raises(WorkbenchError, match=r"router\.json: not valid JSON"):
        MixtureOfExperts.load(tmp_path)
    (tmp_path / "router.json").write_text('{"axes": ["helpful"]}')
    with pytest.raises(WorkbenchError, match=r"router\.safetensors: cannot be read"):
        MixtureOfExperts.load(tmp_path)


class _ConstantRouter:
    """Swap the mixture's router for one whose logits are ``bias`` whatever its input (restored on exit)."""

    def __init__(self, mixture, bias):
        self.mixture, self.bias = mixture, torch.tensor(bias, dtype=torch.float32)

    def __enter__(self):
        import copy

        self.saved, router = self.mixture.router, copy.deepcopy(self.mixture.router)
        linear = router.net if isinstance(router.net, torch.nn.Linear) else router.net[-1]
        with torch.no_grad():
            for p in router.net.parameters():
                p.zero_()
            linear.bias.copy_(self.bias)
        self.mixture.router, self.mixture._features = router, {}
        # the token routers too: the same logits in every block, at the prompt calibration's temperature
        self.saved_tokens = self.mixture.ensure_token_router()
        tokens = copy.deepcopy(self.saved_tokens)
        with torch.no_grad():
            for r in tokens.routers:
                r.net.weight.zero_()
                r.net.bias.copy_(self.bias)
        tokens.temperatures = [float(self.mixture.calibration.temperature.temperatures(None, 1)[0])] * len(
            tokens.routers)
        self.mixture.token_router = tokens
        return router

    def __exit__(self, *exc):
        self.mixture.router, self.mixture._features = self.saved, {}
        self.mixture.token_router = self.saved_tokens
        return False


def test_soft_mixing_with_one_hot_weights_equals_top1_exactly(mixture):
    prompts = ["helpful question number 1?", "honest question number 2?"]
    with _ConstantRouter(mixture, [0.0, 1000.0, -1000.0]):        # softmax underflows to an exact one-hot
        w = mixture.route(prompts, calibrator="uncalibrated", top_k=3)["weights"]
        np.testing.assert_array_equal(w, one_hot([1, 1], 3))
        soft = mixture.generate(prompts, calibrator="uncalibrated", top_k=3, max_new_tokens=4)
        top1 = mixture.generate(prompts, calibrator="uncalibrated", top_k=1, max_new_tokens=4)
        assert soft == top1 == [mixture.generate([p], mode="harmless", max_new_tokens=4)[0] for p in prompts]


def test_per_token_mode_with_a_constant_router_equals_per_prompt_mode(mixture):
    prompts = ["helpful question number 1?", "harmless question number 7?"]
    with _ConstantRouter(mixture, [0.5, 0.2, -0.4]):
        view = mixture.route(prompts, calibrator="temperature", top_k=3)
        assert ((view["weights"] > 0).sum(1) == 3).all()                 # soft: all three experts weighted
        with mixture.mixed(view["weights"]):
            per_prompt = logits_of(mixture, prompts)
        with mixture.token_routed(prompts, calibrator="temperature", top_k=3):
            per_token = logits_of(mixture, prompts)
        torch.testing.assert_close(per_token, per_prompt, atol=1e-5, rtol=1e-5)
        assert (mixture.generate(prompts, calibrator="temperature", top_k=3, level="token", max_new_tokens=4)
                == mixture.generate(prompts, calibrator="temperature", top_k=3, max_new_tokens=4))
    # the trained router reads each token's own state: the per-token mixture is not the per-prompt one
    with mixture.token_routed(prompts, calibrator="temperature", top_k=3):
        trained_token = logits_of(mixture, prompts)
    assert mixture._weights is None
    with mixture.mixed(mixture.route(prompts, calibrator="temperature", top_k=3)["weights"]):
        trained_prompt = logits_of(mixture, prompts)
    assert not torch.allclose(trained_token, trained_prompt, atol=1e-4)
    with pytest.raises(WorkbenchError, match="unknown routing level 'layer'"):
        mixture.generate(prompts, level="layer")


def test_calibration_moves_soft_weights_but_never_top1(mixture):
    from workbench.experts.ablation import decision_changes

    prompts = [f"{a} question number {i}?" for a in mixture.axes for i in (1, 13)]
    calibrators = mixture.calibration.config.enabled()
    soft = {c: mixture.route(prompts, calibrator=c, top_k=2)["weights"] for c in calibrators}
    hard = {c: mixture.route(prompts, calibrator=c, top_k=1)["weights"] for c in calibrators}
    assert all(v["top1_changed"] == 0 and v["weights_changed"] == 0 for v in decision_changes(hard).values())
    changed = decision_changes(soft)
    assert changed["temperature"]["weights_changed"] > 0               # fitted T ≠ 1 moves the top-2 weights
    assert all(v["top1_changed"] == 0 for v in changed.values())
    with pytest.raises(WorkbenchError, match="top_k must be between 1 and 3"):
        mixture.route(prompts, top_k=4)
