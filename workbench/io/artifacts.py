"""The artifact store: DataFrames (parquet), records (jsonl) and tensors (safetensors), each with a meta.json.

An artifact is a folder holding one data file and ``meta.json`` (profile, model names, seed, config, package
version, git commit, created-at, and the data's schema). Folders are written under a temporary name and renamed
into place, so a write that fails midway leaves neither a partial artifact nor a damaged earlier one. Reading
checks meta.json and the schema and names what is missing or wrong. There is no pickle anywhere: parquet, JSON
and safetensors only.

Used by every pipeline that saves results, by the notebooks and by the dashboard (``ArtifactStore``).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
import uuid
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from workbench import __version__
from workbench.io.files import ArtifactError, atomic_dir, json_safe
from workbench.paths import REPO_ROOT, artifacts_dir

KINDS = {"frame": "data.parquet", "records": "data.jsonl", "tensors": "tensors.safetensors"}
META_FILE = "meta.json"
META_KEYS = ("kind", "profile", "models", "seed", "config", "package_version", "git_commit", "created_at", "schema")


@dataclass(frozen=True)
class ArtifactMeta:
    kind: str                      # frame | records | tensors
    profile: str                   # the profile that produced it
    models: tuple[str, ...]        # model names used
    seed: int | None
    config: dict[str, Any]
    schema: dict[str, Any]         # columns [{name, dtype}], record keys, or tensor name→{shape, dtype}
    package_version: str = __version__
    git_commit: str | None = None
    created_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["models"] = list(self.models)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], where: Path) -> "ArtifactMeta":
        missing = [k for k in META_KEYS if k not in data]
        if missing:
            raise ArtifactError(f"{where}: meta.json lacks {', '.join(missing)}")
        if data["kind"] not in KINDS:
            raise ArtifactError(f"{where}: unknown artifact kind '{data['kind']}'; expected one of {', '.join(KINDS)}")
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["models"] = tuple(known["models"])
        return cls(**known)


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The checkout's commit, when the package runs from a git checkout; ``None`` otherwise."""
    if not (REPO_ROOT / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None
def _meta(kind: str, *, profile: str, models: Iterable[str], seed: int | None, config: dict | None,
          schema: dict, extra: dict | None) -> ArtifactMeta:
    from workbench.models import rehearsal

    extra = dict(extra or {})
    if (current := rehearsal.active()) is not None:   # random-weight stand-ins: never to be read as results
        extra["rehearsal"] = {"size": current.size, "dtype": current.dtype, "weights": "random"}
    return ArtifactMeta(
        kind=kind, profile=profile, models=tuple(models), seed=seed, config=dict(config or {}), schema=schema,
        git_commit=git_commit(), created_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        extra=dict(extra or {}),
    )


def _write_meta(folder: Path, meta: ArtifactMeta) -> None:
    (folder / META_FILE).write_text(json.dumps(meta.to_json(), indent=2, sort_keys=True, default=str) + "\n")


def read_meta(path: str | Path) -> ArtifactMeta:
    """Read and validate an artifact folder's meta.json."""
    path = Path(path)
    if not path.is_dir():
        raise ArtifactError(f"no artifact at {path}")
    meta_path = path / META_FILE
    if not meta_path.is_file():
        raise ArtifactError(f"{path}: meta.json is missing; the artifact is incomplete")
    try:
        data = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{meta_path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    meta = ArtifactMeta.from_json(data, path)
    if not (path / KINDS[meta.kind]).is_file():
        raise ArtifactError(f"{path}: {KINDS[meta.kind]} is missing; the artifact is incomplete")
    return meta


def _check_kind(meta: ArtifactMeta, kind: str, path: Path) -> None:
    if meta.kind != kind:
        raise ArtifactError(f"{path} holds {meta.kind}, not {kind}")


# --- DataFrames ---------------------------------------------------------------------------------------------

def save_frame(df, path: str | Path, *, profile: str, models: Iterable[str] = (), seed: int | None = None,
               config: dict | None = None, extra: dict | None = None) -> Path:
    """Save a pandas DataFrame as ``path/data.parquet`` + ``path/meta.json``, atomically."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise ArtifactError(f"save_frame expects a pandas DataFrame, got {type(df).__name__}")
    # A list, not a dict: meta.json is written with sorted keys and column order matters.
    schema = {"columns": [{"name": str(c), "dtype": str(t)} for c, t in df.dtypes.items()], "rows": int(len(df))}
    meta = _meta("frame", profile=profile, models=models, seed=seed, config=config, schema=schema, extra=extra)
    path = Path(path)
    with atomic_dir(path) as tmp:
        df.to_parquet(tmp / KINDS["frame"], index=False)
        _write_meta(tmp, meta)
    return path


def load_frame(path: str | Path, *, required_columns: Iterable[str] = ()):
    """Load a frame artifact; checks the columns against meta.json and ``required_columns``."""
    import pandas as pd

    path = Path(path)
    meta = read_meta(path)
    _check_kind(meta, "frame", path)
    try:
        df = pd.read_parquet(path / KINDS["frame"])
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise ArtifactError(f"{path / KINDS['frame']}: cannot be read as parquet ({exc})") from None
    expected = [c["name"] for c in meta.schema.get("columns", [])]
    if list(map(str, df.columns)) != expected:
        raise ArtifactError(f"{path}: columns {list(df.columns)} differ from meta.json's {expected}")
    missing = [c for c in required_columns if c not in df.columns]
    if missing:
        raise ArtifactError(f"{path}: missing column(s) {', '.join(missing)}; has {', '.join(map(str, df.columns))}")
    return df


def save_table(df, path: str | Path, *, profile: str, models: Iterable[str] = (), seed: int | None = None,
               config: dict | None = None, extra: dict | None = None) -> Path:
    """Write ``df`` as one parquet file at ``path`` (what CLI commands with ``--out FILE.parquet`` produce),
    atomically, with the same provenance as an artifact's meta.json stored in the file's schema metadata
    under the key ``workbench``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if path.suffix != ".parquet":
        raise ArtifactError(f"{path}: output must end in .parquet")
    schema = {"columns": [{"name": str(c), "dtype": str(t)} for c, t in df.dtypes.items()], "rows": int(len(df))}
    meta = _meta("frame", profile=profile, models=models, seed=seed, config=config, schema=schema, extra=extra)
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           b"workbench": json.dumps(meta.to_json(), default=str).encode()})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
def table_meta(path: str | Path) -> ArtifactMeta:
    """The provenance stored in a parquet file written by ``save_table``."""
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        metadata = pq.read_schema(path).metadata or {}
    except Exception as exc:
        raise ArtifactError(f"{path}: cannot be read as parquet ({exc})") from None
    if b"workbench" not in metadata:
        raise ArtifactError(f"{path}: no workbench provenance in the file")
    return ArtifactMeta.from_json(json.loads(metadata[b"workbench"]), path)


# --- records ------------------------------------------------------------------------------------------------

def save_records(records: Iterable[dict], path: str | Path, *, profile: str, models: Iterable[str] = (),
                 seed: int | None = None, config: dict | None = None, extra: dict | None = None) -> Path:
    """Save a list of JSON-serialisable dicts as ``path/data.jsonl`` + ``meta.json``, atomically (NaN and numpy
    scalars become null and plain numbers)."""
    records = list(records)
    bad = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None)
    if bad is not None:
        raise ArtifactError(f"record {bad} is a {type(records[bad]).__name__}, not a dict")
    records, extra = [json_safe(r) for r in records], json_safe(extra) if extra is not None else None
    keys = sorted({k for r in records for k in r})
    meta = _meta("records", profile=profile, models=models, seed=seed, config=config,
                 schema={"keys": keys, "rows": len(records)}, extra=extra)
    path = Path(path)
    with atomic_dir(path) as tmp:
        with open(tmp / KINDS["records"], "w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        _write_meta(tmp, meta)
    return path


def load_records(path: str | Path, *, required_keys: Iterable[str] = ()) -> list[dict]:
    """Load a records artifact; every record must carry ``required_keys``."""
    path = Path(path)
    meta = read_meta(path)
    _check_kind(meta, "records", path)
    records = []
    with open(path / KINDS["records"], encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ArtifactError(f"{path / KINDS['records']}:{lineno}: not valid JSON ({exc.msg})") from None
    if len(records) != meta.schema.get("rows", len(records)):
        raise ArtifactError(f"{path}: {len(records)} records, meta.json says {meta.schema['rows']}")
    required = list(required_keys)
    for i, record in enumerate(records):
        missing = [k for k in required if k not in record]
        if missing:
            raise ArtifactError(f"{path}: record {i} lacks {', '.join(missing)}")
    return records


# --- tensors ------------------------------------------------------------------------------------------------

def save_tensors(tensors: dict, path: str | Path, *, profile: str, models: Iterable[str] = (),
                 seed: int | None = None, config: dict | None = None, extra: dict | None = None) -> Path:
    """Save named torch tensors as ``path/tensors.safetensors`` + ``meta.json``, atomically."""
    import torch
    from safetensors.torch import save_file

    bad = [k for k, v in tensors.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise ArtifactError(f"save_tensors expects torch tensors; not tensors: {', '.join(bad)}")
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    schema = {"tensors": {k: {"shape": list(v.shape), "dtype": str(v.dtype).removeprefix("torch.")}
                          for k, v in tensors.items()}}
    meta = _meta("tensors", profile=profile, models=models, seed=seed, config=config, schema=schema, extra=extra)
    path = Path(path)
    with atomic_dir(path) as tmp:
        save_file(tensors, str(tmp / KINDS["tensors"]))
        _write_meta(tmp, meta)
    return path


def load_tensors(path: str | Path, *, required: Iterable[str] = ()) -> dict:
    """Load a tensors artifact; checks names and shapes against meta.json and ``required``."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    meta = read_meta(path)
    _check_kind(meta, "tensors", path)
    try:
        tensors = load_file(str(path / KINDS["tensors"]))
    except SafetensorError as exc:
        raise ArtifactError(f"{path / KINDS['tensors']}: cannot be read ({exc})") from None
    expected = meta.schema.get("tensors", {})
    for name, info in expected.items():
        if name not in tensors:
            raise ArtifactError(f"{path}: tensor '{name}' listed in meta.json is missing")
        if list(tensors[name].shape) != list(info["shape"]):
            raise ArtifactError(f"{path}: tensor '{name}' has shape {list(tensors[name].shape)}, "
                                f"meta.json says {info['shape']}")
    missing = [n for n in required if n not in tensors]
    if missing:
        raise ArtifactError(f"{path}: missing tensor(s) {', '.join(missing)}; has {', '.join(tensors)}")
    return tensors
# --- the store ----------------------------------------------------------------------------------------------

SEEDS_FOLDER = "seeds"


def seed_store(seed: int, base: "ArtifactStore | None" = None) -> "ArtifactStore":
    """The store of an extra seed's build (``workbench build P --seeds N``): ``ROOT/seeds/seed-<n>/`` under
    ``base``'s root (default: the workbench home's store). The main store keeps the run of ``--seed``."""
    root = (base.root if base is not None else artifacts_dir())
    return ArtifactStore(root / SEEDS_FOLDER / f"seed-{int(seed)}")


def seed_stores(base: "ArtifactStore | None" = None) -> dict[int, "ArtifactStore"]:
    """Seed → store of every extra-seed store under ``base``'s root, in seed order."""
    root = (base.root if base is not None else artifacts_dir()) / SEEDS_FOLDER
    found = {}
    for folder in sorted(root.glob("seed-*")) if root.is_dir() else []:
        suffix = folder.name.removeprefix("seed-")
        if suffix.lstrip("-").isdigit():
            found[int(suffix)] = ArtifactStore(folder)
    return dict(sorted(found.items()))


class ArtifactStore:
    """Artifacts laid out as ``ROOT/PROFILE/PAPER/NAME/`` (default root: ``workbench.paths.artifacts_dir()``)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else artifacts_dir()

    def path(self, paper: str, name: str, profile: str) -> Path:
        return self.root / profile / paper / name

    def exists(self, paper: str, name: str, profile: str) -> bool:
        try:
            read_meta(self.path(paper, name, profile))
        except ArtifactError:
            return False
        return True

    def list(self, paper: str | None = None, profile: str | None = None) -> list[tuple[str, str, str]]:
        """(profile, paper, name) of every complete artifact under the root."""
        found = []
        for meta_path in sorted(self.root.glob("*/*/*/" + META_FILE)):
            folder = meta_path.parent
            prof, pap, name = folder.parent.parent.name, folder.parent.name, folder.name
            if name.startswith("."):
                continue
            if (paper is None or pap == paper) and (profile is None or prof == profile):
                found.append((prof, pap, name))
        return found
