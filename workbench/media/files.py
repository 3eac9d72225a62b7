"""Which media files the workbench accepts: extensions, kinds and size limits, checked before anything is decoded.

Used by every reader in ``workbench.media`` (audio, video), by deepfake.datasets when it lists a corpus, and by the
dashboard's upload checks.

* ``media_kind(path)`` → "audio" | "video" from the extension (``AUDIO_EXTS`` = .wav .flac .mp3 .ogg .m4a,
  ``VIDEO_EXTS`` = .mp4 .avi .mov .mkv .webm).
* ``check_media(path, kind=None)`` → the path once it exists, carries an extension of the right kind, is non-empty
  and is at most ``MAX_MEDIA_BYTES`` (read at call time, so tests and callers can lower it). Every problem is a
  ``WorkbenchError`` naming the file and the problem.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from workbench import WorkbenchError

MAX_MEDIA_BYTES = 200 * 1024**2
AUDIO_EXTS = (".wav", ".flac", ".mp3", ".ogg", ".m4a")
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm")


def media_kind(path: str | Path) -> str:
    """"audio" or "video" from the file's extension; anything else is an error listing the extensions."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext in AUDIO_EXTS:
        return "audio"
    if ext in VIDEO_EXTS:
        return "video"
    raise WorkbenchError(f"{path}: unsupported extension '{path.suffix}'; audio: {' '.join(AUDIO_EXTS)}; "
                         f"video: {' '.join(VIDEO_EXTS)}")


def check_media(path: str | Path, kind: str | None = None, *, max_bytes: int | None = None) -> Path:
    """``path`` as a Path once it exists, has a supported extension (of ``kind`` "audio"/"video" when given), is
    not empty and is at most ``max_bytes`` (default ``MAX_MEDIA_BYTES``)."""
    path = Path(path)
    if not path.exists():
        raise WorkbenchError(f"{path}: no such file")
    if not path.is_file():
        raise WorkbenchError(f"{path}: not a file")
    found = media_kind(path)
    if kind is not None and found != kind:
        allowed = AUDIO_EXTS if kind == "audio" else VIDEO_EXTS
        raise WorkbenchError(f"{path}: unsupported extension '{path.suffix}' for {kind}; use one of "
                             f"{' '.join(allowed)}")
    check_size(path, MAX_MEDIA_BYTES if max_bytes is None else max_bytes, "media files")
    return path


def check_size(path: Path, limit: int, what: str) -> None:
    """Raise unless ``path`` is not empty and at most ``limit`` bytes (``what``: e.g. "media files")."""
    size = path.stat().st_size
    if size == 0:
        raise WorkbenchError(f"{path}: the file is empty")
    if size > limit:
        raise WorkbenchError(f"{path}: {size / 1024**2:.1f} MiB is over the {limit / 1024**2:.1f} MiB limit "
                             f"for {what}")


def require_executable(name: str, needed_for: str) -> str:
    """The path of the system program ``name`` (ffmpeg, espeak-ng …), or one ``WorkbenchError`` line saying what
    needs it (``needed_for``) and how to install it."""
    path = shutil.which(name)
    if path is None:
        raise WorkbenchError(f"{name} is not installed; {needed_for} (Debian/Ubuntu: apt-get install {name}; "
                             "`make setup` installs it when run as root)")
    return path

