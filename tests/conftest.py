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
