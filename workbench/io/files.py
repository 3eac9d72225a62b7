"""Atomic files and folders: the write primitives every other part of ``workbench.io`` (and the package) uses.

A file is written under a temporary name in its folder and renamed into place; a folder is filled under a
temporary name and renamed when complete (``atomic_dir``), so a crash never leaves a half-written result.
``build_once`` builds a folder keyed by its config (``config_key``) the first time it is asked for.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Iterator

from workbench import WorkbenchError


class ArtifactError(WorkbenchError):
    """An artifact is missing, incomplete or does not have the expected schema."""

@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``target``; on success it replaces ``target`` in one rename.

    On any exception the temporary folder is removed and ``target`` (if it existed) is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        old = None
        if target.exists():
            old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)

def write_json(obj, path: str | Path) -> Path:
    """Write ``obj`` as indented JSON at ``path``, atomically (temporary name, then rename). NaN becomes null."""
    return write_text(json.dumps(json_safe(obj), indent=2, default=str) + "\n", path)


def write_text(text: str, path: str | Path) -> Path:
    """Write ``text`` at ``path`` atomically: a temporary name in the same folder, then a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def json_safe(obj):
    """``obj`` with NaN as None, numpy scalars as Python numbers and dict keys as strings (for JSON)."""
    import math

    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):       # numpy scalars
        return json_safe(obj.item())
    return obj

def config_key(config: dict, length: int = 12) -> str:
    """A short, stable hash of a JSON-able config (sorted keys): the cache key of a folder built from it."""
    import hashlib

    text = json.dumps(json_safe(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]

def build_once(folder: str | Path, build, *, complete: str | None = None) -> Path:
    """Return ``folder``, building it first when it is absent: ``build(tmp)`` fills a temporary folder that is
    renamed into place only when it returns (``atomic_dir``), so a folder that exists is always complete.

    ``complete`` names a file that must exist for an existing folder to count (for folders written before they
    were built atomically); without it, existence is enough. Callers key ``folder`` by their config, e.g.
    ``models_dir() / "clap" / f"tiny-clap-{config_key(asdict(config))}"``.
    """
    folder = Path(folder)
    if folder.is_dir() and (complete is None or (folder / complete).exists()):
        return folder
    with atomic_dir(folder) as tmp:
        build(tmp)
    return folder
