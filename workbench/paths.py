"""Where the workbench keeps what it builds: converted models and artifacts.

Everything lives under one home folder, ``$WORKBENCH_HOME`` (default ``~/.cache/workbench``):
``models/`` holds converted or locally trained models keyed by their config, ``artifacts/`` the
per-profile, per-paper results that notebooks and the dashboard read.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"


def home() -> Path:
    """The workbench home folder (created on first use)."""
    root = Path(os.environ.get("WORKBENCH_HOME", "~/.cache/workbench")).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def models_dir() -> Path:
    """Converted and locally trained models (``rehearsal_scope``d)."""
    path = rehearsal_scope(home() / "models")
    path.mkdir(parents=True, exist_ok=True)
    return path


def rehearsal_scope(path: Path) -> Path:
    """``path``, or its twin ``path/rehearsals/<size>-<dtype>-seed<n>`` while a rehearsal is active: what
    random-weight stand-ins produce (trained heads, mixtures, cached embeddings keyed by a paper model's name)
    never lands where a real run would read it."""
    from workbench.models.rehearsal import active      # lazy: the rehearsal module imports this one

    current = active()
    return path / "rehearsals" / current.key if current is not None else path


def artifacts_dir() -> Path:
    """Root of the artifact store; ``$WORKBENCH_ARTIFACTS`` overrides it."""
    override = os.environ.get("WORKBENCH_ARTIFACTS")
    path = Path(override).expanduser() if override else home() / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def environ(**values: str | None):
    """Set environment variables (None leaves one alone) for the block, restoring them afterwards."""
    saved = {k: os.environ.get(k) for k, v in values.items() if v is not None}
    os.environ.update({k: v for k, v in values.items() if v is not None})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
