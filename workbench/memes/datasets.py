"""Meme-benchmark datasets in their public layouts, loaded into one frame layout.

Every loader yields a ``MemeSet`` whose ``frame`` has the columns, in this order:

* ``id`` — str, the dataset's own id (MultiOFF has none: the image file name without extension [ours]);
* ``image`` — the image file as an absolute path (str), checked to exist;
* ``text`` — str, the meme's text, stripped with runs of whitespace collapsed to one space;
* ``label`` — a class name from ``MemeSet.classes``, or None for an unlabelled row;
* ``split`` — "train", "dev" or "test" (dev/dev_seen/dev_unseen/val/valid/validation → "dev", and so on);
* HarMeme only: ``target`` (str or None) and ``intensity`` ("not_harmful" | "somewhat_harmful" | "very_harmful" or
  None); synthetic only: the CSV's other columns, kept (numeric where every value is a number).

Layouts:

* **Hateful Memes** (Facebook) — ``img/NNNNN.png`` and ``train.jsonl``, ``dev.jsonl`` / ``dev_seen.jsonl`` /
  ``dev_unseen.jsonl``, ``test.jsonl`` / ``test_seen.jsonl`` / ``test_unseen.jsonl`` in ``root``; each line
  ``{"id": 42953, "img": "img/42953.png", "label": 0, "text": "..."}`` with the image relative to ``root``;
  label 1 = hateful. Rows without "label" (the original test release) are unlabelled.
* **HarMeme** (MOMENTA release) — ``images/`` and ``train.jsonl``, ``val.jsonl``, ``test.jsonl`` in ``root``, or
  under ``annotations/`` when ``root`` holds none of them; the folder names are matched case-insensitively [ours].
  Each line ``{"id": "covid_memes_18", "image": "covid_memes_18.png", "labels": ["somewhat harmful",
  "individual"], "text": "..."}``; the image is relative to ``images/``; ``labels[0]`` is the intensity, any
  intensity but "not harmful" is the binary class "harmful"; ``labels[1]``, when present, the target.
* **MultiOFF** — ``Labelled Images/`` and ``Split Dataset/{Training,Validation,Testing}_meme_dataset.csv`` with
  columns ``image_name,sentence,label``; label "offensive" or "Non-offensiv" (sic; "non-offensive" too, any case).
  CSVs are read as UTF-8, falling back to latin-1 when they do not decode.
* **synthetic** — the workbench's own generator: ``memes.csv`` in ``root`` with columns ``id,image,text,label,split``
  and any others; images relative to ``root``; labels "benign", "satire", "abusive".

Choices [ours]:

* Bad rows — a malformed JSON line, an unknown label, missing text (absent, null or blank), a missing id or image
  field, an image file that does not exist — are skipped and reported in ``MemeSet.problems``, one line each:
  ``file:line: reason`` with the file relative to ``root``. An empty JSONL file is reported too. Only when no
  valid row is left is it an error. A missing or empty label (or HarMeme "labels") means unlabelled, not bad.
* Several files map onto one split in Hateful Memes (dev.jsonl and dev_seen.jsonl hold the same 500 memes;
  dev_unseen.jsonl overlaps them; test.jsonl is test_seen.jsonl without labels). They are read in the order
  seen, plain, unseen, and rows are de-duplicated by id within a split: the first row of an id is kept, except
  that a labelled row replaces an unlabelled one. Repeats across files with the same label are expected and go
  unreported; a repeat inside one file, or one whose label disagrees with the kept row, is reported as a problem.
  The split is therefore the union of its files. Ids are not checked across splits.
* A CSV without its required columns is not in the format at all: that is an error, not a problem.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench import WorkbenchError

FORMATS = ("hateful_memes", "harmeme", "multioff", "synthetic")
SPLITS = ("train", "dev", "test")
SPLIT_ALIASES = {
    "train": "train", "training": "train",
    "dev": "dev", "dev_seen": "dev", "dev_unseen": "dev", "val": "dev", "valid": "dev", "validation": "dev",
    "test": "test", "test_seen": "test", "test_unseen": "test", "testing": "test", "eval": "test",
}
CLASSES = {
    "hateful_memes": ("not_hateful", "hateful"),
    "harmeme": ("not_harmful", "harmful"),
    "multioff": ("non_offensive", "offensive"),
    "synthetic": ("benign", "satire", "abusive"),
}
BASE_COLUMNS = ["id", "image", "text", "label", "split"]
HARMEME_COLUMNS = ["target", "intensity"]
LABEL_COLUMNS = ("label", "target", "intensity")

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
PROBLEMS_SHOWN = 3


class _BadRow(Exception):
    """A row to skip; the message is the reason reported in ``MemeSet.problems``."""


@dataclass
class MemeSet:
    """Memes of one dataset in the common frame layout (see the module docstring)."""

    frame: pd.DataFrame
    format: str
    classes: tuple[str, ...]
    problems: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """Counts per split (rows, in train/dev/test order) × label (columns; "unlabelled" when any is)."""
        labels = self.frame["label"].map(lambda value: "unlabelled" if value is None else value)
        counts = pd.crosstab(self.frame["split"], labels)
        columns = list(self.classes) + (["unlabelled"] if "unlabelled" in counts.columns else [])
        rows = [split for split in SPLITS if split in counts.index]
        table = counts.reindex(index=rows, columns=columns, fill_value=0).astype(int)
        table.index.name, table.columns.name = "split", "label"
        return table


def label_ids(memeset: MemeSet) -> np.ndarray:
    """Index of each row's label in ``memeset.classes`` (int64), -1 for unlabelled rows."""
    index = {name: i for i, name in enumerate(memeset.classes)}
    return np.array([-1 if value is None else index[value] for value in memeset.frame["label"]], dtype=np.int64)


# ---------------------------------------------------------------------------------------------------- helpers


def _check_root(root: str | Path) -> Path:
    """``root`` as an absolute path, which must be an existing folder."""
    path = Path(root).expanduser().absolute()
    if not path.is_dir():
        raise WorkbenchError(f"meme dataset folder {path} does not exist or is not a folder")
    return path


def _child_dir(parent: Path, name: str) -> Path | None:
    """The sub-folder ``name`` of ``parent``, matched exactly first, then case-insensitively."""
    if (parent / name).is_dir():
        return parent / name
    if not parent.is_dir():
        return None
    for child in sorted(parent.iterdir()):
        if child.name.lower() == name.lower() and child.is_dir():
            return child
    return None


def _normalise_format(format: str) -> str:
    """``format`` as one of ``FORMATS`` (case and '-' forgiven)."""
    name = format.strip().lower().replace("-", "_")
    if name not in FORMATS:
        raise WorkbenchError(f"unknown meme dataset format {format!r}; known formats: {', '.join(FORMATS)}")
    return name


def _normalise_split(split: str) -> str:
    """A split name or alias as "train", "dev" or "test"."""
    name = SPLIT_ALIASES.get(split.strip().lower())
    if name is None:
        raise WorkbenchError(f"unknown split {split!r}; use one of {', '.join(SPLITS)} "
                             f"(aliases: {', '.join(sorted(set(SPLIT_ALIASES) - set(SPLITS)))})")
    return name


def _rel(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` for messages, or in full when it lies outside."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _clean_text(value: object) -> str:
    """The meme text stripped and whitespace-collapsed; absent, non-string or blank text is a bad row."""
    if not isinstance(value, str) or not value.strip():
        raise _BadRow("text is missing")
    return " ".join(value.split())


def _clean_id(value: object) -> str:
    """The row id (str or int) as str; absent, blank or other ids are a bad row."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise _BadRow("id is missing" if value is None or value == "" else f"id {value!r} is not a str or int")
    return str(value).strip()


def _image_path(base: Path, value: object, root: Path) -> str:
    """The image ``value`` (relative to ``base``) as an absolute path, which must be an existing file."""
    if not isinstance(value, str) or not value.strip():
        raise _BadRow("image path is missing")
    path = base / value.strip()
    if not path.is_file():
        raise _BadRow(f"image {_rel(path, root)} not found")
    return str(path)


def _is_blank(value: object) -> bool:
    """Whether a label value means "no label" (absent, null, empty string or empty list)."""
    if isinstance(value, str):
        return not value.strip()
    return value is None or value == []


def _split_files(root: Path, base: Path, names: dict[str, tuple[str, ...]], split: str | None
                 ) -> list[tuple[str, Path]]:
    """The existing files of each wanted split, as (split, path) in split order; none is an error."""
    wanted = SPLITS if split is None else (split,)
    found = [(name, base / file) for name in wanted for file in names[name] if (base / file).is_file()]
    if not found:
        looked = ", ".join(_rel(base / file, root) for name in wanted for file in names[name])
        raise WorkbenchError(f"{root}: no {split or 'train/dev/test'} files found (looked for {looked})")
    return found


# ---------------------------------------------------------------------------------------------------- readers


def _jsonl_objects(path: Path, root: Path, problems: list[str]) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each JSON line of ``path``; bad lines and an empty file go to ``problems``."""
    where = _rel(path, root)
    seen = False
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        if not raw.strip():
            continue
        seen = True
        try:
            obj = json.loads(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError:
            problems.append(f"{where}:{number}: not valid UTF-8")
            continue
        except json.JSONDecodeError as error:
            problems.append(f"{where}:{number}: malformed JSON ({error.msg})")
            continue
        if not isinstance(obj, dict):
            problems.append(f"{where}:{number}: malformed JSON (expected an object, got {type(obj).__name__})")
            continue
        yield number, obj
    if not seen:
        problems.append(f"{where}: empty file")


def _decode_csv(path: Path, fallback: bool) -> str:
    """The CSV's text as UTF-8 (BOM dropped), or latin-1 when UTF-8 fails and ``fallback`` is set."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if fallback:
            return data.decode("latin-1")
        raise WorkbenchError(f"{path}: not valid UTF-8 ({error.reason} at byte {error.start})") from error


def _csv_rows(path: Path, root: Path, required: tuple[str, ...], problems: list[str], fallback: bool
              ) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row by lower-cased header) for each CSV record; a short or long record is a problem."""
    where = _rel(path, root)
    reader = csv.reader(io.StringIO(_decode_csv(path, fallback), newline=""))
    header = next(reader, None)
    if header is None:
        problems.append(f"{where}: empty file")
        return
    names = [name.strip().lower() for name in header]
    missing = [name for name in required if name not in names]
    if missing:
        raise WorkbenchError(f"{path}: missing column(s) {', '.join(missing)} (has: {', '.join(header)})")
    for record in reader:
        if not record or not any(cell.strip() for cell in record):
            continue
        if len(record) != len(names):
            problems.append(f"{where}:{reader.line_num}: {len(record)} fields, expected {len(names)}")
            continue
        yield reader.line_num, dict(zip(names, record))


@dataclass
class _Rows:
    """Records kept so far (one per split and id) and the problems met, both in reading order."""

    problems: list[str] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)
    index: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, record: dict) -> None:
        """Keep ``record`` unless its id is already in its split (see the module docstring for which wins)."""
        key = (record["split"], record["id"])
        if key not in self.index:
            self.index[key] = len(self.records)
            self.records.append(record)
            return
        first = self.records[self.index[key]]
        if first["label"] is None and record["label"] is not None:
            self.records[self.index[key]] = record
        elif record["label"] is not None and _label_key(record) != _label_key(first):
            self.problems.append(f"{record['_where']}: id {record['id']} labelled {record['label']!r} but "
                                 f"{first['_where']} says {first['label']!r}; kept the first")
        elif record["_file"] == first["_file"]:
            self.problems.append(f"{record['_where']}: duplicate id {record['id']} (first at {first['_where']})")


def _label_key(record: dict) -> tuple:
    """The label fields of a record, compared when one id appears twice in a split."""
    return tuple(record.get(name) for name in LABEL_COLUMNS)


def _collect(lines: Iterator[tuple[int, dict]], where: str, split: str, parse: Callable[[dict], dict],
             rows: _Rows) -> None:
    """Parse each (line number, raw row) into ``rows``; a row that raises ``_BadRow`` becomes a problem."""
    for number, raw in lines:
        try:
            record = parse(raw)
        except _BadRow as reason:
            rows.problems.append(f"{where}:{number}: {reason}")
            continue
        record.setdefault("split", split)
        record["_file"], record["_where"] = where, f"{where}:{number}"
        rows.add(record)


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


def detect_format(root: str | Path) -> str:
    """The one format in ``FORMATS`` whose layout ``root`` has; none or several is an error."""
    path = _check_root(root)
    found = [name for name, hit in _matches(path).items() if hit]
    if len(found) == 1:
        return found[0]
    looked = "; ".join(f"{name}: {LOOKED_FOR[name]}" for name in FORMATS)
    if not found:
        raise WorkbenchError(f"{path}: not a known meme dataset layout (looked for {looked})")
    raise WorkbenchError(f"{path}: matches several meme layouts ({', '.join(found)}); pass format= explicitly")


def _frame(records: list[dict], columns: list[str]) -> pd.DataFrame:
    """The records as a frame with ``columns``; label columns keep None (object dtype)."""
    frame = pd.DataFrame({name: [record[name] for record in records] for name in columns})
    for name in columns:
        if name in LABEL_COLUMNS:
            frame[name] = pd.Series([record[name] for record in records], dtype=object)
        elif name not in BASE_COLUMNS:
            try:
                frame[name] = pd.to_numeric(frame[name])
            except (ValueError, TypeError):
                pass
    return frame


def load_memes(root: str | Path, format: str | None = None, split: str | None = None) -> MemeSet:
    """Load the meme dataset at ``root`` (format detected when None; all splits when ``split`` is None)."""
    path = _check_root(root)
    name = detect_format(path) if format is None else _normalise_format(format)
    wanted = None if split is None else _normalise_split(split)
    rows = _Rows()
    columns = list(BASE_COLUMNS)
    if name == "hateful_memes":
        _load_hateful(path, wanted, rows)
    elif name == "harmeme":
        _load_harmeme(path, wanted, rows)
        columns += HARMEME_COLUMNS
    elif name == "multioff":
        _load_multioff(path, wanted, rows)
    else:
        columns += _load_synthetic(path, wanted, rows)
    order = {split_name: i for i, split_name in enumerate(SPLITS)}
    records = sorted(rows.records, key=lambda record: order[record["split"]])
    problems = rows.problems
    if not records:
        shown = "; ".join(problems[:PROBLEMS_SHOWN]) or "the files hold no rows"
        more = f" (and {len(problems) - PROBLEMS_SHOWN} more)" if len(problems) > PROBLEMS_SHOWN else ""
        raise WorkbenchError(f"{path}: no valid {name} memes{f' in split {wanted}' if wanted else ''}; "
                             f"{len(problems)} problem(s): {shown}{more}")
    return MemeSet(frame=_frame(records, columns), format=name, classes=CLASSES[name], problems=problems)
