"""The frame every deepfake dataset loader returns, and the checks the loaders share.

Used by deepfake.datasets.formats (each layout's loader ends in ``to_frame``) and deepfake.datasets' dispatch.

Columns of every loader's DataFrame, in this order, then the dataset's own extras:

* ``id`` — unique within the frame (the dataset's utterance/clip id, or the path relative to ``root`` without
  extension where the dataset has none);
* ``path`` — the media file as an absolute path (str), checked to exist (see *missing files* below);
* ``label`` — "bonafide" | "spoof"; datasets that say real/fake are mapped to the same two values (real →
  "bonafide", fake → "spoof") [ours: one vocabulary, so sets can be concatenated];
* ``y`` — int: 1 = bona fide / real, 0 = spoof / fake;
* ``modality`` — "audio" | "video" | "audiovisual";
* ``split`` — the dataset's own split name; "all" where the dataset has no official split [ours];
* ``source`` — the dataset name ("ASVspoof2019-LA", "DECRO", "FakeAVCeleb", "DFDC", or the folder's name);
* ``attack`` — the attack id or generation method, "" for bona fide rows and where the dataset does not say;
* ``language`` — ISO 639-1 code, or "" where unknown or mixed.

Missing files: a protocol or metadata file that names media absent from disk raises a ``WorkbenchError`` giving
the count and the first few paths; with ``missing="skip"`` those rows are dropped and the count is reported with
``warnings.warn``. A duplicated row (same id and same file) is dropped with a warning; one id naming two files is
an error. Metadata files above ``MAX_META_BYTES`` are refused. A loader that finds no media is an error.
"""
from __future__ import annotations

import warnings
from pathlib import Path

from workbench import WorkbenchError
from workbench.media.files import check_size

MAX_META_BYTES = 256 * 1024**2
COLUMNS = ["id", "path", "label", "y", "modality", "split", "source", "attack", "language"]
LABEL_Y = {"bonafide": 1, "spoof": 0}
MISSING_SHOWN = 5


def check_root(root) -> Path:
    root = Path(root)
    if not root.exists():
        raise WorkbenchError(f"{root}: no such folder")
    if not root.is_dir():
        raise WorkbenchError(f"{root}: not a folder")
    return root


def check_missing_mode(missing: str) -> str:
    if missing not in ("error", "skip"):
        raise WorkbenchError(f"missing must be 'error' or 'skip', not {missing!r}")
    return missing


def read_text(path: Path, what: str) -> str:
    if not path.is_file():
        raise WorkbenchError(f"{path}: no such file (the {what})")
    check_size(path, MAX_META_BYTES, "metadata files")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WorkbenchError(f"{path}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def check_splits(splits, allowed: tuple[str, ...]) -> tuple[str, ...]:
    splits = (splits,) if isinstance(splits, str) else tuple(splits)
    bad = [s for s in splits if s not in allowed]
    if bad or not splits:
        raise WorkbenchError(f"unknown split(s) {bad or '(none given)'}; use some of {', '.join(allowed)}")
    return splits


def to_frame(rows: list[dict], extras: list[str], *, where, missing: str):
    """The loaders' common ending: missing files, duplicates, column order, dtypes."""
    import pandas as pd

    absent = [r for r in rows if not Path(r["path"]).is_file()]
    if absent:
        shown = ", ".join(str(r["path"]) for r in absent[:MISSING_SHOWN]) + (" …" if len(absent) > MISSING_SHOWN
                                                                             else "")
        if missing == "error":
            raise WorkbenchError(f"{where}: {len(absent)} of {len(rows)} listed media file(s) are missing, e.g. "
                                 f"{shown}; pass missing='skip' to drop them")
        warnings.warn(f"{where}: dropped {len(absent)} of {len(rows)} row(s) whose media file is missing, e.g. "
                      f"{shown}", stacklevel=3)
        keep = {id(r) for r in rows} - {id(r) for r in absent}
        rows = [r for r in rows if id(r) in keep]
    if not rows:
        raise WorkbenchError(f"{where}: no media files to load")
    frame = pd.DataFrame(rows)
    frame["path"] = [str(Path(p).absolute()) for p in frame["path"]]
    exact = frame.duplicated(["id", "path"])
    if exact.any():
        warnings.warn(f"{where}: dropped {int(exact.sum())} duplicated row(s), e.g. "
                      f"{frame.loc[exact, 'id'].head(3).tolist()}", stacklevel=3)
        frame = frame[~exact]
    clash = frame["id"][frame["id"].duplicated()].unique().tolist()
    if clash:
        raise WorkbenchError(f"{where}: {len(clash)} id(s) name more than one file, e.g. {clash[:3]}")
    frame["y"] = frame["label"].map(LABEL_Y).astype("int64")
    return frame[COLUMNS + extras].reset_index(drop=True)




__all__ = ["COLUMNS", "LABEL_Y", "MAX_META_BYTES", "check_missing_mode", "check_root", "check_splits", "read_text",
           "to_frame"]
