"""Uploaded files, shared by the views that accept them (deepfake, captions, memes): one upload widget that checks
type and size before anything is written, saves the file under a name derived from its content (same upload →
same path, so reruns reuse it and its cached results), decodes it when the view asks, and removes what it wrote
when the file is refused; each upload folder keeps only its most recent files. A file is removed once its widget
no longer holds it (cleared, or another file uploaded), and every upload folder is emptied when the dashboard
starts (``clear_uploads``, run once per server by ``dashboard.cache.startup``)."""
from __future__ import annotations

import hashlib
import math
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

MB = 1024**2
KEEP = 32                 # files kept per upload folder (the oldest beyond these are removed on each save)
STALE_PART_S = 3600       # a half-written part file older than this is left over from a crash: removed
FOLDERS = "workbench-*-uploads"   # the upload folders under the temporary folder (each view names its own)


@dataclass(frozen=True)
class Upload:
    """An upload the widget accepted: its original name and size, the saved path and what ``check`` returned."""
    name: str
    size: int
    path: Path
    value: Any = None


def _prune(folder: Path, keep: Path) -> None:
    """Keep the ``KEEP`` most recent uploads of ``folder`` (and ``keep``); remove stale part files."""
    now = time.time()
    files = []
    for entry in folder.iterdir():
        try:
            stat = entry.stat()
        except OSError:
            continue
        if entry.name.startswith("."):
            if now - stat.st_mtime > STALE_PART_S:
                entry.unlink(missing_ok=True)
        elif entry.is_file() and entry != keep:
            files.append((stat.st_mtime, entry))
    for _, old in sorted(files, reverse=True)[KEEP - 1:]:
        old.unlink(missing_ok=True)


def clear_uploads(root: Path | None = None) -> int:
    """Remove every file of the upload folders (``FOLDERS``) under ``root`` (the temporary folder); how many."""
    removed = 0
    for folder in Path(root or tempfile.gettempdir()).glob(FOLDERS):
        for entry in folder.iterdir() if folder.is_dir() else ():
            if entry.is_file():
                entry.unlink(missing_ok=True)
                removed += 1
    return removed


def _forget(state, key: str, keep: Path | None) -> None:
    """Remove the file the widget ``key`` held before (``state``: the session state) unless it is ``keep``."""
    held = state.get(f"{key}-saved")
    if held and Path(held) != keep:
        Path(held).unlink(missing_ok=True)
    if keep is None:
        state.pop(f"{key}-saved", None)
    else:
        state[f"{key}-saved"] = str(keep)


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
        try:
            part.write_bytes(data)
            os.replace(part, path)
        finally:
            part.unlink(missing_ok=True)
    _prune(folder, path)
    return path


def accept_upload(name: str, data: bytes, limit: int, kinds: dict[str, tuple[str, ...]], folder_name: str,
                  check: Callable[[Path], Any] | None = None) -> tuple[Path, Any]:
    """``save_upload``, then ``check(path)`` (a decoder: its result is returned beside the path). When ``check``
    refuses the file (``WorkbenchError``), the saved copy is removed and the error names the upload, not the
    temporary path."""
    from workbench import WorkbenchError

    path = save_upload(name, data, limit, kinds, folder_name)
    if check is None:
        return path, None
    try:
        return path, check(path)
    except WorkbenchError as exc:
        path.unlink(missing_ok=True)
        message = str(exc).replace(str(path), name)
        raise WorkbenchError(message if name in message else f"{name}: {message}") from None


def file_stamp(path: Path) -> str:
    """Changes when the file does (a cache key)."""
    stat = Path(path).stat()
    return f"{stat.st_mtime_ns}-{stat.st_size}"


def upload_input(label: str, *, key: str, kinds: dict[str, tuple[str, ...]], limit: int, folder_name: str,
                 what: str = "media files", note: str = "", check: Callable[[Path], Any] | None = None):
    """The upload widget of a view: a file uploader for ``kinds`` (kind → extensions) up to ``limit`` bytes.

    Returns None when nothing is uploaded, False when the upload was refused (the reason is shown as an error and
    nothing of it is left on disk), else the accepted ``Upload`` (``value`` = what ``check`` returned). The file
    saved for an earlier upload of this widget is removed.
    """
    import streamlit as st

    from workbench import WorkbenchError

    exts = [e for group in kinds.values() for e in group]
    upload = st.file_uploader(f"{label}, up to {limit / MB:.0f} MB", type=[e.lstrip(".") for e in exts], key=key,
                              max_upload_size=max(1, math.ceil(limit / MB)),
                              help=f"Files over {limit / MB:.1f} MB, empty files and other types are refused"
                                   + (f"; {note}" if note else "."))
    if upload is None:
        _forget(st.session_state, key, None)
        return None
    if upload.size > limit:
        _forget(st.session_state, key, None)
        st.error(f"{upload.name}: {upload.size / MB:.1f} MB is over the {limit / MB:.1f} MB limit for {what}; "
                 f"it was not read.")
        return False
    try:
        path, value = accept_upload(upload.name, upload.getvalue(), limit, kinds, folder_name, check)
    except WorkbenchError as exc:
        _forget(st.session_state, key, None)
        st.error(str(exc))
        return False
    _forget(st.session_state, key, path)
    return Upload(upload.name, upload.size, path, value)
