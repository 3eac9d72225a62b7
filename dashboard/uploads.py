"""Uploaded files, shared by the views that accept them: checked before anything is written, then saved under a
name derived from their content (same upload → same path, so reruns reuse it and its cached results)."""
from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from pathlib import Path

MB = 1024**2


def save_upload(name: str, data: bytes, limit: int, kinds: dict[str, tuple[str, ...]], folder_name: str) -> Path:
    """Write ``data`` to ``<temp>/<folder_name>/<content hash><suffix>``; the path. Refused (``WorkbenchError``,
    nothing written) when the suffix is in none of ``kinds`` (kind → extensions), when it is empty or over
    ``limit`` bytes."""
    from workbench import WorkbenchError

    suffix = Path(name).suffix.lower()
    if not any(suffix in exts for exts in kinds.values()):
        allowed = "; ".join(f"{kind}: {' '.join(exts)}" for kind, exts in kinds.items())
        raise WorkbenchError(f"{name}: unsupported file type '{suffix or '(no extension)'}'; {allowed}")
    if not data:
        raise WorkbenchError(f"{name}: the file is empty")
    if len(data) > limit:
        raise WorkbenchError(f"{name}: {len(data) / MB:.1f} MB is over the {limit / MB:.1f} MB limit for "
                             f"media files")
    folder = Path(tempfile.gettempdir()) / folder_name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:20]}{suffix}"
    if not (path.is_file() and path.stat().st_size == len(data)):
        part = folder / f".{path.name}.{uuid.uuid4().hex[:8]}"
        part.write_bytes(data)
        os.replace(part, path)
    return path


def file_stamp(path: Path) -> str:
    """Changes when the file does (a cache key)."""
    stat = Path(path).stat()
    return f"{stat.st_mtime_ns}-{stat.st_size}"
