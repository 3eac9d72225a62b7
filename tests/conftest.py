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


def view_app(key: str, artifacts, timeout: int = 180):
    """An AppTest that renders the dashboard view ``key`` alone, reading artifacts from ``artifacts``."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parent.parent
    script = f"""
import os, sys
sys.path.insert(0, {str(root)!r})
os.environ['WORKBENCH_ARTIFACTS'] = {str(artifacts)!r}
from dashboard.registry import discover
next(v for v in discover() if v.key == {key!r}).render()
"""
    return AppTest.from_string(script, default_timeout=timeout)


def chart_texts(at) -> str:
    """The titles and trace names of an AppTest's plotly charts, as one string."""
    import json

    texts = []
    for element in at.get("plotly_chart"):
        spec = json.loads(element.proto.spec)
        texts.append(str(spec["layout"].get("title", {}).get("text", "")))
        texts += [str(t.get("name", "")) for t in spec["data"]]
    return " | ".join(texts)
