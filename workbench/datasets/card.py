"""Dataset cards and exports for the built datasets: SAVACU (P1), MISALIGNTRADE (P2), Demo-SafetyBench (P4).

A built dataset is a set of tables — ``prompts`` (the kept prompts with their labels and split), ``responses``
(accepted responses joined to their prompt), ``decisions`` (every judged attempt), ``removed`` (near-duplicates)
— each a parquet file carrying the workbench's provenance (profile, models, seed, config). They live either in
a folder written by ``workbench build DATASET --source … --out DIR`` (``dataset.parquet``, ``responses.parquet``,
…) or in the artifact store as a paper's ``construction_*`` artifacts (``workbench build P1``).

``write_card(folder)`` gives a build folder a Hugging Face dataset card: ``README.md`` whose YAML header lists one
config per table with its ``data_files``, the licence and the provenance, so that
``datasets.load_dataset(folder, "prompts")`` loads it. ``export`` writes a dataset as parquet or JSON-lines files
(one per config and split, with a card) or in the ``datasets`` library's ``save_to_disk`` layout (one
``DatasetDict`` folder per config). The YAML is written as JSON values (JSON is YAML), so no YAML library is
needed. Used by ``taxonomy.construct.build_dataset`` and ``workbench export``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from workbench import WorkbenchError
from workbench.paths import DATA_DIR

CARD = "README.md"
FORMATS = ("parquet", "jsonl", "hf")
# table (config) name → file in a build folder, artifact name in the store; in this order on the card
BUILD_FILES = {"prompts": "dataset.parquet", "responses": "responses.parquet", "decisions": "decisions.parquet",
               "removed": "removed.parquet"}
STORE_ARTIFACTS = {"prompts": "construction_dataset", "responses": "construction_responses",
                   "decisions": "construction_decisions"}
TABLE_HELP = {
    "prompts": "the kept prompts: text, top-1 domain, score and labels per dimension, origin (seed or expanded), "
               "SimHash fingerprint and split",
    "responses": "accepted responses (aligned and misaligned side) joined to their prompt's text, labels and split",
    "decisions": "every judged response attempt of the two-stage rejection sampling: verdict, acceptance "
                 "probability and the judge's reason",
    "removed": "near-duplicate prompts removed by SimHash, with the kept prompt each duplicates",
}
PRETTY = {"savacu": "SAVACU", "misaligntrade": "MISALIGNTRADE", "demo-safety": "Demo-SafetyBench"}
SPLIT_ORDER = ("train", "validation", "test")
# Licence by data kind: the bundled prompt sets and what the workbench synthesises are CC0 (data/prompts/README.md);
# real data keeps its source's licence (DICES: CC BY 4.0; another prompt table: the user's to state).
LICENCES = {"bundled": "cc0-1.0", "synthetic": "cc0-1.0"}
REAL_LICENCES = {"demo-safety": "cc-by-4.0"}


@dataclass(frozen=True)
class Provenance:
    """Where a built dataset comes from, read from its tables' meta.json (or the parquet files' copy of it)."""
    dataset: str               # savacu | misaligntrade | demo-safety
    paper: str
    profile: str
    models: tuple[str, ...]
    seed: int | None
    source: str                # the source table's name, as the build recorded it
    data_kind: str             # real | bundled | synthetic
    created_at: str
    git_commit: str | None
    package_version: str

    @property
    def licence(self) -> str:
        return LICENCES.get(self.data_kind) or REAL_LICENCES.get(self.dataset, "other")


@dataclass(frozen=True)
class BuiltDataset:
    """A built dataset's tables (config name → parquet file) and provenance."""
    tables: dict[str, Path]
    provenance: Provenance


def data_kind(source: str) -> str:
    """``bundled`` for a file shipped in ``data/``, ``synthetic`` for a generated fixture, else ``real``."""
    text = str(source)
    if "synthetic" in text.lower() or "fixture" in Path(text).stem.lower():
        return "synthetic"
    name = Path(text).name
    if name and any(DATA_DIR.rglob(name)):
        return "bundled"
    return "real"


def _provenance(meta, dataset: str) -> Provenance:
    from workbench.taxonomy.construct import DATASETS

    source = str(meta.config.get("source", "unknown"))
    return Provenance(dataset=dataset, paper=DATASETS[dataset].paper, profile=meta.profile,
                      models=tuple(meta.models), seed=meta.seed, source=source, data_kind=data_kind(source),
                      created_at=meta.created_at, git_commit=meta.git_commit, package_version=meta.package_version)


def _dataset_name(meta, where: Path) -> str:
    from workbench.taxonomy.construct import DATASETS

    name = meta.config.get("dataset")
    if name not in DATASETS:
        raise WorkbenchError(f"{where}: not a built dataset (its provenance names dataset {name!r}; "
                             f"expected one of {', '.join(DATASETS)})")
    return name


def from_build_folder(folder: str | Path) -> BuiltDataset:
    """The dataset in a folder written by ``build_dataset`` (``workbench build DATASET --out DIR``)."""
    from workbench.io import table_meta

    folder = Path(folder)
    tables = {name: folder / file for name, file in BUILD_FILES.items() if (folder / file).is_file()}
    if "prompts" not in tables:
        raise WorkbenchError(f"{folder}: no {BUILD_FILES['prompts']}; not a folder written by "
                             "`workbench build DATASET --out`")
    meta = table_meta(tables["prompts"])
    return BuiltDataset(tables, _provenance(meta, _dataset_name(meta, folder)))


def from_store(dataset: str, profile: str, store=None) -> BuiltDataset:
    """Dataset ``dataset`` as its paper's ``construction_*`` artifacts in ``store`` (default: the home store)."""
    from workbench.io import ArtifactStore, read_meta
    from workbench.taxonomy.construct import DATASETS

    store = store or ArtifactStore()
    paper = DATASETS[dataset].paper
    folders = {name: store.path(paper, artifact, profile) for name, artifact in STORE_ARTIFACTS.items()}
    tables = {name: path / "data.parquet" for name, path in folders.items() if (path / "data.parquet").is_file()}
    if "prompts" not in tables:
        raise WorkbenchError(f"{dataset} is not built for profile {profile} (no {folders['prompts']}); "
                             f"run `workbench build {paper}` first")
    return BuiltDataset(tables, _provenance(read_meta(folders["prompts"]), dataset))


def resolve(dataset: str, profile: str, store=None) -> BuiltDataset:
    """A dataset name (from the store, for ``profile``) or a build folder; one clear error otherwise."""
    from workbench.taxonomy.construct import DATASETS

    if dataset in DATASETS:
        return from_store(dataset, profile, store)
    if Path(dataset).is_dir():
        return from_build_folder(dataset)
    raise WorkbenchError(f"unknown dataset '{dataset}'; choose from {', '.join(DATASETS)} "
                         "or a folder written by `workbench build DATASET --out`")


# --- the card ------------------------------------------------------------------------------------------------

def _rows_and_columns(path: Path) -> tuple[int, list[str]]:
    import pyarrow.parquet as pq

    meta = pq.read_metadata(path)
    return meta.num_rows, [str(n) for n in meta.schema.to_arrow_schema().names]


def card_text(built: BuiltDataset, files: dict[str, dict[str, str]] | None, *, layout: str) -> str:
    """The card: YAML header (``configs`` with ``data_files`` when ``files`` — config → split → path relative to
    the card — is given, licence, provenance) and a short body saying what each table holds and how to load it."""
    p = built.provenance
    q = json.dumps
    name = PRETTY[p.dataset]
    lines = ["---", f"pretty_name: {q(name)}", f"license: {q(p.licence)}", "language:", "- en",
             "tags:", "- alignment", "- safety", "- workbench"]
    if files:
        lines.append("configs:")
        for i, (config, splits) in enumerate(files.items()):
            lines += [f"- config_name: {q(config)}", "  data_files:"]
            for split, path in splits.items():
                lines += [f"  - split: {q(split)}", f"    path: {q(path)}"]
            if i == 0:
                lines.append("  default: true")
    lines += ["workbench:", f"  dataset: {q(p.dataset)}", f"  paper: {q(p.paper)}", f"  profile: {q(p.profile)}",
              f"  models: {q(list(p.models))}", f"  seed: {q(p.seed)}", f"  source: {q(p.source)}",
              f"  data_kind: {q(p.data_kind)}", f"  created_at: {q(p.created_at)}",
              f"  git_commit: {q(p.git_commit)}", f"  package_version: {q(p.package_version)}", "---", ""]
    kind = {"real": "real data (your source table)", "bundled": "the prompt set bundled with the workbench",
            "synthetic": "a synthetic fixture the workbench generates (for checks, not for results)"}[p.data_kind]
    lines += [f"# {name}", "",
              f"Built by the workbench ({p.paper}) on the `{p.profile}` profile from `{p.source}` — {kind} — "
              f"with {', '.join(p.models) or 'no models'} (seed {p.seed}).", "",
              "| config | rows | what |", "|---|---|---|"]
    for config, path in built.tables.items():
        rows, _ = _rows_and_columns(path)
        lines.append(f"| `{config}` | {rows:,} | {TABLE_HELP[config]}{'' if rows else ' (empty: no config)'} |")
    lines.append("")
    if layout == "build":
        lines += ["Each config's single file holds every row; its `split` column (where it has one) says train, "
                  "validation or test. `workbench export` writes the splits as separate files.", ""]
    if layout == "hf":
        lines += ["Each config is a `DatasetDict` folder: `datasets.load_from_disk(\"<folder>/prompts\")`.", ""]
    else:
        lines += ["```python", "import datasets", "",
                  f"prompts = datasets.load_dataset(\"<this folder>\", \"{next(iter(built.tables))}\")", "```", ""]
    lines += [f"Licence: `{p.licence}`" + (" (the source's own terms apply)" if p.data_kind == "real" else "")
              + ". Generated text comes from the models named above under their own licences.", ""]
    return "\n".join(lines)


def write_card(folder: str | Path) -> Path:
    """Write ``folder/README.md`` (atomically) for a build folder, its configs pointing at the tables in place."""
    from workbench.io import write_text

    folder = Path(folder)
    built = from_build_folder(folder)
    files = {config: {"train": path.name} for config, path in built.tables.items()
             if _rows_and_columns(path)[0]}              # datasets cannot load an empty file: no config for it
    return write_text(card_text(built, files, layout="build"), folder / CARD)


# --- export --------------------------------------------------------------------------------------------------

def _split_frames(config: str, frame, split_of) -> dict:
    """Split name → rows: by the ``split`` column, else by the prompt ``id``'s split, else all rows as train."""
    if "split" not in frame.columns and split_of is not None and "id" in frame.columns and config != "removed":
        frame = frame.assign(split=frame["id"].map(split_of))
    if "split" not in frame.columns or frame["split"].isna().any():
        return {"train": frame}
    names = sorted(frame["split"].unique(), key=lambda s: (SPLIT_ORDER.index(s) if s in SPLIT_ORDER else 9, s))
    return {name: frame[frame["split"] == name].reset_index(drop=True) for name in names}


def _check_out(out: Path) -> None:
    """Refuse a non-empty folder unless it holds an earlier export (which is replaced)."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / CARD).is_file())):
        raise WorkbenchError(f"{out} exists and is not an earlier export; give a new or empty folder")


def export(built: BuiltDataset, fmt: str, out: str | Path) -> dict[str, dict[str, int]]:
    """Write ``built`` to folder ``out`` as ``fmt`` (parquet | jsonl: ``CONFIG/SPLIT.EXT`` + card; hf: one
    ``save_to_disk`` DatasetDict per config + card), atomically; returns config → split → rows. An empty table
    gets no config (the ``datasets`` library cannot load an empty file)."""
    import pandas as pd

    from workbench.io import atomic_dir

    if fmt not in FORMATS:
        raise WorkbenchError(f"unknown format '{fmt}'; choose from {', '.join(FORMATS)}")
    out = Path(out)
    _check_out(out)
    frames = {config: pd.read_parquet(path) for config, path in built.tables.items()}
    prompts = frames["prompts"]
    split_of = prompts.set_index("id")["split"] if {"id", "split"} <= set(prompts.columns) else None
    counts: dict[str, dict[str, int]] = {}
    files: dict[str, dict[str, str]] = {}
    with atomic_dir(out) as tmp:
        for config, frame in frames.items():
            if frame.empty:                               # datasets cannot load an empty file: no config for it
                continue
            splits = _split_frames(config, frame, split_of)
            counts[config] = {split: len(rows) for split, rows in splits.items()}
            if fmt == "hf":
                import datasets

                datasets.disable_progress_bars()          # a bar per config and split is noise in a CLI export
                datasets.DatasetDict({split: datasets.Dataset.from_pandas(rows, preserve_index=False)
                                      for split, rows in splits.items()}).save_to_disk(str(tmp / config))
                continue
            (tmp / config).mkdir()
            files[config] = {}
            for split, rows in splits.items():
                rel = f"{config}/{split}.{fmt}"
                if fmt == "parquet":
                    rows.to_parquet(tmp / rel, index=False)
                else:
                    rows.to_json(tmp / rel, orient="records", lines=True, force_ascii=False)
                files[config][split] = rel
        (tmp / CARD).write_text(card_text(built, files or None, layout=fmt))
    return counts
