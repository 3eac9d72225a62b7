"""Shared test setup: offline always, seeded, artifacts in a temporary folder.

The model cache (``$WORKBENCH_HOME/models``) is the user's, so converted models are reused between runs;
artifacts written by tests go to a per-session temporary folder.
"""
from __future__ import annotations

import os
import random

# Before anything imports huggingface_hub or transformers: an accidental hub access fails fast.
for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
    os.environ[key] = "1"
os.environ.pop("WORKBENCH_PROFILE", None)
os.environ.pop("WORKBENCH_DEVICE", None)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _artifacts_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("artifacts")
    os.environ["WORKBENCH_ARTIFACTS"] = str(root)
    yield root


@pytest.fixture(autouse=True)
def _seed():
    import torch

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    # Each test starts from the default profile and automatic device choice.
    monkeypatch.delenv("WORKBENCH_PROFILE", raising=False)
    monkeypatch.delenv("WORKBENCH_DEVICE", raising=False)


@pytest.fixture
def store(tmp_path):
    from workbench.io import ArtifactStore

    return ArtifactStore(tmp_path / "store")


@pytest.fixture
def temp_dir(tmp_path, monkeypatch):
    """The system temporary folder, pointed at this test's own folder (no upload outlives the test)."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def build_smoke_artifact(root, paper: str, builder, role: str, lm: str = "tiny-llama") -> None:
    """Run ``builder`` in smoke mode into the artifact store at ``root``, with the default profile's ``role``
    model replaced by ``lm`` (the views' tests use the tiny test LM instead of SmolLM2)."""
    import workbench.models as models
    from workbench.build import BuildContext
    from workbench.io import ArtifactStore
    from workbench.profiles import get_profile

    profile = get_profile("default")
    swapped, real_load = profile.model_for(role), models.load
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(models, "load", lambda name, *a, **kw: real_load(lm if name == swapped else name, *a, **kw))
        builder(BuildContext(ArtifactStore(root), profile, smoke=True, paper=paper))
