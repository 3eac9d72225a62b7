import pytest
import torch

from workbench import WorkbenchError
from workbench import profiles
from workbench.models import MODELS


def test_default_profile_is_active_without_settings():
    assert profiles.active_profile().name == "default"


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("WORKBENCH_PROFILE", "paper")
    assert profiles.active_profile().name == "paper"


def test_unknown_profile_names_the_choices():
    with pytest.raises(WorkbenchError, match="unknown profile 'gpu'.*default, paper"):
        profiles.get_profile("gpu")


def test_every_profile_model_is_registered():
    for profile in profiles.PROFILES.values():
        for name in profile.model_names():
            assert name in MODELS, (profile.name, name)


def test_default_profile_uses_only_offline_models():
    for name in profiles.get_profile("default").model_names():
        assert MODELS[name].source_kind in {"wheel", "config"}, name


def test_paper_profile_uses_papers_models():
    paper = profiles.get_profile("paper")
    assert paper.model_for("classifier") == "mistral-7b-instruct-v0.3"
    assert paper.model_for("expander") == "llama-3.1-8b-instruct"
    assert set(paper.roles["raters"]) == {"gemma-7b", "llama-2-7b"}


def test_model_for_unknown_role():
    with pytest.raises(WorkbenchError, match="no model for role 'oracle'"):
        profiles.get_profile("default").model_for("oracle")


def test_auto_device_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(profiles, "_available", lambda d: d in {"cpu", "mps", "cuda"})
    assert profiles.pick_device("auto") == "cuda"
    monkeypatch.setattr(profiles, "_available", lambda d: d in {"cpu", "mps"})
    assert profiles.pick_device() == "mps"
    monkeypatch.setattr(profiles, "_available", lambda d: d == "cpu")
    assert profiles.pick_device() == "cpu"


def test_device_override_by_environment(monkeypatch):
    monkeypatch.setattr(profiles, "_available", lambda d: True)
    monkeypatch.setenv("WORKBENCH_DEVICE", "cpu")
    assert profiles.pick_device() == "cpu"
    assert profiles.pick_device("cuda:1") == "cuda:1"   # an explicit argument beats the environment


def test_unavailable_or_unknown_device_is_an_error(monkeypatch):
    monkeypatch.setattr(profiles, "_available", lambda d: d == "cpu")
    with pytest.raises(WorkbenchError, match="'cuda' was asked for but is not available"):
        profiles.pick_device("cuda")
    with pytest.raises(WorkbenchError, match="unknown device 'tpu'"):
        profiles.pick_device("tpu")


def test_half_precision_only_on_cuda(monkeypatch):
    assert profiles.pick_dtype("cpu") == torch.float32
    assert profiles.pick_dtype("mps") == torch.float32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert profiles.pick_dtype("cuda") == torch.bfloat16
    assert profiles.pick_dtype("cuda", half_ok=False) == torch.float32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert profiles.pick_dtype("cuda:0") == torch.float16
