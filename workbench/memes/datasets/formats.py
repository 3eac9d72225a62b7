"""The four meme-dataset layouts: their files, label vocabularies, markers and record parsers.

``_load_hateful``, ``_load_harmeme``, ``_load_multioff`` and ``_load_synthetic`` read one layout's files into a
``rows._Rows``; ``_matches`` says which layouts a folder has. The layouts themselves are described in the package
docstring. Used only by ``workbench.memes.datasets``.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from workbench import WorkbenchError
from workbench.memes.datasets.rows import (BASE_COLUMNS, SPLIT_ALIASES, _BadRow, _child_dir, _clean_id,
                                           _clean_text, _collect, _csv_rows, _decode_csv, _image_path, _is_blank,
                                           _jsonl_objects, _rel, _Rows, _split_files)

FORMATS = ("hateful_memes", "harmeme", "multioff", "synthetic")
CLASSES = {
    "hateful_memes": ("not_hateful", "hateful"),
    "harmeme": ("not_harmful", "harmful"),
    "multioff": ("non_offensive", "offensive"),
    "synthetic": ("benign", "satire", "abusive"),
}
HARMEME_COLUMNS = ["target", "intensity"]

HATEFUL_FILES = {
    "train": ("train.jsonl",),
    "dev": ("dev_seen.jsonl", "dev.jsonl", "dev_unseen.jsonl"),
    "test": ("test_seen.jsonl", "test.jsonl", "test_unseen.jsonl"),
}
HARMEME_FILES = {"train": ("train.jsonl",), "dev": ("val.jsonl", "dev.jsonl", "validation.jsonl"),
                 "test": ("test.jsonl",)}
MULTIOFF_IMAGES = "Labelled Images"
MULTIOFF_SPLITS = "Split Dataset"
MULTIOFF_FILES = {"train": ("Training_meme_dataset.csv",), "dev": ("Validation_meme_dataset.csv",),
                  "test": ("Testing_meme_dataset.csv",)}
MULTIOFF_COLUMNS = ("image_name", "sentence", "label")
MULTIOFF_LABELS = {"offensive": "offensive", "non-offensiv": "non_offensive", "non-offensive": "non_offensive"}
SYNTHETIC_FILE = "memes.csv"
HARM_INTENSITY = {"not harmful": "not_harmful", "somewhat harmful": "somewhat_harmful",
                  "very harmful": "very_harmful"}
HARM_TARGETS = ("individual", "organization", "community", "society")
HATEFUL_LABELS = {0: "not_hateful", 1: "hateful"}

LOOKED_FOR = {
    "hateful_memes": "img/ and train/dev/test jsonl files (dev_seen, test_unseen, ...)",
    "harmeme": "images/ and train/val/test.jsonl (in the folder or under annotations/)",
    "multioff": f"'{MULTIOFF_IMAGES}/' and '{MULTIOFF_SPLITS}/'",
    "synthetic": SYNTHETIC_FILE,
}


def _normalise_format(format: str) -> str:
    """``format`` as one of ``FORMATS`` (case and '-' forgiven)."""
    name = format.strip().lower().replace("-", "_")
    if name not in FORMATS:
        raise WorkbenchError(f"unknown meme dataset format {format!r}; known formats: {', '.join(FORMATS)}")
    return name


# ---------------------------------------------------------------------------------------------------- formats


def _hateful_label(value: object) -> str | None:
    """Hateful Memes label 0/1 (int or digit string) as a class name; None when absent."""
    if _is_blank(value):
        return None
    number = value.strip() if isinstance(value, str) else value
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    if number in ("0", "1"):
        number = int(number)
    if isinstance(number, bool) or not isinstance(number, int) or number not in HATEFUL_LABELS:
        raise _BadRow(f"unknown label {value!r} (expected 0 or 1)")
    return HATEFUL_LABELS[number]


def _load_hateful(root: Path, split: str | None, rows: _Rows) -> None:
    """Hateful Memes records from the jsonl files of ``root``."""
    def parse(obj: dict) -> dict:
        identifier = _clean_id(obj.get("id"))
        label = _hateful_label(obj.get("label"))
        text = _clean_text(obj.get("text"))
        return {"id": identifier, "image": _image_path(root, obj.get("img"), root), "text": text, "label": label}

    for name, path in _split_files(root, root, HATEFUL_FILES, split):
        _collect(_jsonl_objects(path, root, rows.problems), _rel(path, root), name, parse, rows)


def _harm_key(value: object) -> str:
    """A HarMeme label string lower-cased with '_'/'-' and runs of spaces as one space."""
    if not isinstance(value, str):
        raise _BadRow(f"unknown label {value!r}")
    return " ".join(value.replace("_", " ").replace("-", " ").lower().split())


def _harmeme_labels(value: object) -> dict:
    """label, intensity and target from a HarMeme "labels" list; all None when absent or empty."""
    if _is_blank(value):
        return {"label": None, "intensity": None, "target": None}
    if not isinstance(value, list):
        raise _BadRow(f"labels {value!r} is not a list")
    intensity = HARM_INTENSITY.get(_harm_key(value[0]))
    if intensity is None:
        raise _BadRow(f"unknown label {value[0]!r} (expected one of {', '.join(HARM_INTENSITY)})")
    target = None
    if len(value) > 1 and not _is_blank(value[1]):
        target = _harm_key(value[1])
        if target not in HARM_TARGETS:
            raise _BadRow(f"unknown target {value[1]!r} (expected one of {', '.join(HARM_TARGETS)})")
    label = "not_harmful" if intensity == "not_harmful" else "harmful"
    return {"label": label, "intensity": intensity, "target": target}


def _harmeme_annotations(root: Path) -> Path | None:
    """The folder holding HarMeme's jsonl files: ``root`` when it has any, else ``annotations/``."""
    names = {file for files in HARMEME_FILES.values() for file in files}
    for folder in (root, _child_dir(root, "annotations")):
        if folder is not None and any((folder / name).is_file() for name in names):
            return folder
    return None


def _load_harmeme(root: Path, split: str | None, rows: _Rows) -> None:
    """HarMeme records from the jsonl files of ``root`` or ``root/annotations``."""
    images = _child_dir(root, "images")
    if images is None:
        raise WorkbenchError(f"{root}: no images/ folder for the HarMeme layout")
    base = _harmeme_annotations(root) or root

    def parse(obj: dict) -> dict:
        identifier = _clean_id(obj.get("id"))
        labels = _harmeme_labels(obj.get("labels"))
        text = _clean_text(obj.get("text"))
        return {"id": identifier, "image": _image_path(images, obj.get("image"), root), "text": text, **labels}

    for name, path in _split_files(root, base, HARMEME_FILES, split):
        _collect(_jsonl_objects(path, root, rows.problems), _rel(path, root), name, parse, rows)


def _multioff_label(value: str) -> str | None:
    """MultiOFF's "offensive" / "Non-offensiv" (any case, '-', '_' or ' ') as a class name; None when blank."""
    if not value.strip():
        return None
    key = "-".join(value.replace("_", " ").replace("-", " ").lower().split())
    if key not in MULTIOFF_LABELS:
        raise _BadRow(f"unknown label {value!r} (expected offensive or Non-offensiv)")
    return MULTIOFF_LABELS[key]


def _load_multioff(root: Path, split: str | None, rows: _Rows) -> None:
    """MultiOFF records from ``Split Dataset/*.csv`` with images in ``Labelled Images/``."""
    images = root / MULTIOFF_IMAGES

    def parse(row: dict) -> dict:
        name = row["image_name"].strip()
        identifier = _clean_id(Path(name).stem if name else "")
        label = _multioff_label(row["label"])
        text = _clean_text(row["sentence"])
        return {"id": identifier, "image": _image_path(images, name, root), "text": text, "label": label}

    for name, path in _split_files(root, root / MULTIOFF_SPLITS, MULTIOFF_FILES, split):
        lines = _csv_rows(path, root, MULTIOFF_COLUMNS, rows.problems, fallback=True)
        _collect(lines, _rel(path, root), name, parse, rows)


def _load_synthetic(root: Path, split: str | None, rows: _Rows) -> list[str]:
    """Records of the workbench's own ``memes.csv`` into ``rows``; returns the names of its extra columns."""
    path = root / SYNTHETIC_FILE
    if not path.is_file():
        raise WorkbenchError(f"{root}: no {SYNTHETIC_FILE} for the synthetic layout")
    classes = CLASSES["synthetic"]
    header = next(csv.reader(io.StringIO(_decode_csv(path, fallback=False), newline="")), [])
    extras = [name.strip().lower() for name in header if name.strip().lower() not in BASE_COLUMNS]

    def parse(row: dict) -> dict:
        identifier = _clean_id(row["id"])
        name = SPLIT_ALIASES.get(row["split"].strip().lower())
        if name is None:
            raise _BadRow(f"unknown split {row['split']!r}")
        label = row["label"].strip().lower() or None
        if label is not None and label not in classes:
            raise _BadRow(f"unknown label {row['label']!r} (expected one of {', '.join(classes)})")
        text = _clean_text(row["text"])
        image = _image_path(root, row["image"], root)
        return {"id": identifier, "image": image, "text": text, "label": label, "split": name,
                **{key: row[key] for key in extras}}

    lines = _csv_rows(path, root, tuple(BASE_COLUMNS), rows.problems, fallback=False)
    if split is not None:  # rows of other splits (or of an unknown one) are not looked at
        lines = (line for line in lines if SPLIT_ALIASES.get(line[1]["split"].strip().lower()) == split)
    _collect(lines, _rel(path, root), "", parse, rows)
    return extras


# ---------------------------------------------------------------------------------------------------- public


def _matches(root: Path) -> dict[str, bool]:
    """Which formats' marker files and folders ``root`` has."""
    hateful = {file for files in HATEFUL_FILES.values() for file in files}
    return {
        "hateful_memes": (root / "img").is_dir() and any((root / file).is_file() for file in hateful),
        "harmeme": _child_dir(root, "images") is not None and _harmeme_annotations(root) is not None,
        "multioff": (root / MULTIOFF_IMAGES).is_dir() and (root / MULTIOFF_SPLITS).is_dir(),
        "synthetic": (root / SYNTHETIC_FILE).is_file(),
    }
