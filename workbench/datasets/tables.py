"""Load any prompt table from disk, checking what the pipelines rely on.

Errors name the file and the problem: missing file, empty file, unknown format, bytes that are not UTF-8 (with the
offset), no rows, a missing text column (listing the columns there are), empty or non-text values in the text
column (with the first bad rows), duplicate ids. Files above ``MAX_FILE_BYTES`` are refused rather than read into
memory by accident; long texts are accepted as they are (fingerprints and embeddings handle them).
"""
from __future__ import annotations

from pathlib import Path

from workbench import WorkbenchError
from workbench.paths import DATA_DIR

MAX_FILE_BYTES = 2 * 1024**3
FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "json", ".parquet": "parquet"}


def _check_utf8(path: Path) -> None:
    with open(path, "rb") as fh:
        offset = 0
        decoder = __import__("codecs").getincrementaldecoder("utf-8")("strict")
        while chunk := fh.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise WorkbenchError(f"{path}: not valid UTF-8 (byte 0x{chunk[exc.start]:02x} at offset "
                                     f"{offset + exc.start}); re-save the file as UTF-8") from None
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise WorkbenchError(f"{path}: not valid UTF-8 (the file ends inside a multi-byte character)") from None


def read_table(path: str | Path, *, text_col: str | None = None, id_col: str | None = None,
               max_bytes: int = MAX_FILE_BYTES):
    """A pandas DataFrame from ``path``; with ``text_col``, that column must exist and hold non-empty strings."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(f"{path}: no such file")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise WorkbenchError(f"{path}: unknown format '{path.suffix}'; use one of {', '.join(FORMATS)}")
    size = path.stat().st_size
    if size == 0:
        raise WorkbenchError(f"{path}: the file is empty")
    if size > max_bytes:
        raise WorkbenchError(f"{path}: {size / 1024**2:.0f} MiB is over the {max_bytes / 1024**2:.0f} MiB limit")
    try:
        if fmt in {"csv", "tsv", "jsonl", "json"}:
            _check_utf8(path)
        if fmt == "csv":
            df = pd.read_csv(path, encoding="utf-8", dtype=str, keep_default_na=False)
        elif fmt == "tsv":
            df = pd.read_csv(path, sep="\t", encoding="utf-8", dtype=str, keep_default_na=False)
        elif fmt == "jsonl":
            df = pd.read_json(path, lines=True, encoding="utf-8", dtype=False)
        elif fmt == "json":
            df = pd.read_json(path, encoding="utf-8", dtype=False)
        else:
            df = pd.read_parquet(path)
    except WorkbenchError:
        raise
    except Exception as exc:  # pandas/pyarrow raise many types for malformed files
        raise WorkbenchError(f"{path}: cannot be read as {fmt} ({type(exc).__name__}: {exc})") from None
    if len(df) == 0:
        raise WorkbenchError(f"{path}: no rows")
    if text_col is not None:
        check_text_column(df, text_col, path)
    if id_col is not None:
        if id_col not in df.columns:
            raise WorkbenchError(f"{path}: no id column '{id_col}'; columns: {', '.join(map(str, df.columns))}")
        dupes = df[id_col][df[id_col].duplicated()].unique().tolist()
        if dupes:
            raise WorkbenchError(f"{path}: {len(dupes)} duplicate id(s) in '{id_col}', e.g. {dupes[:3]}")
    return df


def pick_column(frame, given: str | None, candidates: tuple[str, ...], what: str, flag: str, path=None) -> str:
    """``given`` when the frame has it, else the first of ``candidates`` it has; otherwise an error asking for
    ``flag`` and listing the columns."""
    where = f"{path}: " if path is not None else ""
    columns = ", ".join(map(str, frame.columns))
    if given:
        if given not in frame.columns:
            raise WorkbenchError(f"{where}no column '{given}'; columns: {columns}")
        return given
    for c in candidates:
        if c in frame.columns:
            return c
    raise WorkbenchError(f"{where}say which column holds the {what} with {flag}; columns: {columns}")


def check_text_column(df, text_col: str, path) -> None:
    """Raise unless ``df[text_col]`` exists and holds non-empty strings (errors name ``path`` and the rows)."""
    if text_col not in df.columns:
        raise WorkbenchError(f"{path}: no column '{text_col}'; columns: {', '.join(map(str, df.columns))}")
    bad = [i for i, v in enumerate(df[text_col].tolist()) if not isinstance(v, str) or not v.strip()]
    if bad:
        shown = ", ".join(map(str, bad[:5])) + (" …" if len(bad) > 5 else "")
        raise WorkbenchError(f"{path}: column '{text_col}' has {len(bad)} empty or non-text value(s) "
                             f"(rows {shown})")


def seed_prompts():
    """The bundled seed prompts (id, text, dimension, domain): a few per domain, written for this project."""
    return read_table(DATA_DIR / "prompts" / "seed_prompts.csv", text_col="text", id_col="id")


def safety_check_set():
    """The held-out safety check set (id, text, domain): six clearly single-domain prompts per safety domain."""
    return read_table(DATA_DIR / "prompts" / "safety_check.csv", text_col="text", id_col="id")


def response_pairs():
    """The bundled evaluation pairs in long form: one row per response (id, prompt, response, side, dimensions
    as a list, semantic_type) — a prompt's aligned and misaligned response, written for this project."""
    import pandas as pd

    wide = read_table(DATA_DIR / "eval" / "response_pairs.csv", text_col="prompt", id_col="id")
    parts = [wide.assign(response=wide[f"{side}_response"], side=side) for side in ("aligned", "misaligned")]
    long = pd.concat(parts, ignore_index=True).sort_values(["id", "side"], kind="stable").reset_index(drop=True)
    long["dimensions"] = long["dimensions"].str.split(";")
    return long[["id", "prompt", "response", "side", "dimensions", "semantic_type"]]
