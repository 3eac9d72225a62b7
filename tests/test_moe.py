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
