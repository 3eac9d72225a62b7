"""Reading the rows of a meme dataset: cleaning fields, JSONL and CSV readers, and the per-split collector.

Every format in ``datasets.formats`` reads its files through these: a bad row raises ``_BadRow`` with the
reason, which ``_collect`` turns into a ``file:line: reason`` problem; ``_Rows`` keeps one record per split and
id (see the package docstring for which row wins). Used only inside ``workbench.memes.datasets``.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from workbench import WorkbenchError

SPLITS = ("train", "dev", "test")
SPLIT_ALIASES = {
    "train": "train", "training": "train",
    "dev": "dev", "dev_seen": "dev", "dev_unseen": "dev", "val": "dev", "valid": "dev", "validation": "dev",
    "test": "test", "test_seen": "test", "test_unseen": "test", "testing": "test", "eval": "test",
}
BASE_COLUMNS = ["id", "image", "text", "label", "split"]
LABEL_COLUMNS = ("label", "target", "intensity")


class _BadRow(Exception):
    """A row to skip; the message is the reason reported in ``MemeSet.problems``."""


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
