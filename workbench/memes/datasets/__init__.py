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

This package holds the public API (``load_memes``, ``detect_format``, ``MemeSet``, ``label_ids``); the layouts'
parsers are in ``formats`` and the shared row readers in ``rows``. Used by ``memes.ablation``, the meme CLI and the
tests.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench import WorkbenchError
from workbench.memes.datasets.formats import (CLASSES, FORMATS, HARMEME_COLUMNS, LOOKED_FOR, _load_harmeme,
                                              _load_hateful, _load_multioff, _load_synthetic, _matches,
                                              _normalise_format)
from workbench.memes.datasets.rows import (BASE_COLUMNS, LABEL_COLUMNS, SPLIT_ALIASES, SPLITS, _check_root,
                                           _normalise_split, _Rows)

PROBLEMS_SHOWN = 3


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


__all__ = ["CLASSES", "FORMATS", "MemeSet", "SPLITS", "SPLIT_ALIASES", "detect_format", "label_ids", "load_memes"]
