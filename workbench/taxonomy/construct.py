"""Dataset construction as resumable pipelines: SAVACU (P1), MISALIGNTRADE (P2) and Demo-SafetyBench stage I (P4).

Stages, as the papers order them: classify every prompt (sharded) → expand domains below the target (global:
it needs the counts) → SimHash near-duplicate removal with τ = 10 (global). MISALIGNTRADE also labels the
semantic type; Demo-SafetyBench works on DICES conversations and the safety dimension only, keeping the
demographic rating shares. Response generation with two-stage rejection sampling is not part of these builds
yet, so the output is the prompt set with its labels, provenance and funnel.

Default profile: MiniLM embedding classifier and SmolLM2 as generator; paper profile: the papers' classifier
and expander LLMs (``Profile.roles``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from workbench import WorkbenchError
from workbench.pipeline import Pipeline, Stage, StageContext
from workbench.taxonomy.classify import profile_classifier
from workbench.taxonomy import DIMENSIONS


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    paper: str
    dimensions: tuple[str, ...]
    semantic_types: bool
    source: str          # "prompts" (any table with a text column) or "dices"


DATASETS = {
    "savacu": DatasetSpec("savacu", "P1", DIMENSIONS, False, "prompts"),
    "misaligntrade": DatasetSpec("misaligntrade", "P2", DIMENSIONS, True, "prompts"),
    "demo-safety": DatasetSpec("demo-safety", "P4", ("safety",), False, "dices"),
}


def get_dataset(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise WorkbenchError(f"unknown dataset '{name}'; choose from {', '.join(DATASETS)}") from None


def load_source(spec: DatasetSpec, path: str | Path, *, text_col: str | None = None, limit: int | None = None):
    """The source rows as a frame with ``id`` and ``text`` (DICES: one row per conversation)."""
    from workbench.datasets import dices_items, load_dices, read_table

    if spec.source == "dices":
        frame = dices_items(load_dices(path))
        frame = frame.rename(columns={"item_id": "source_item_id"})
        frame.insert(0, "id", [f"dices-{i}" for i in frame["source_item_id"]])
    else:
        raw = read_table(path)
        col = text_col or next((c for c in ("text", "prompt") if c in raw.columns), None)
        if col is None:
            raise WorkbenchError(f"{path}: say which column holds the prompts with --text-col; "
                                 f"columns: {', '.join(map(str, raw.columns))}")
        frame = read_table(path, text_col=col)
        if col != "text":
            frame = frame.rename(columns={col: "text"}) if "text" not in frame.columns else frame.assign(text=frame[col])
        if "id" not in frame.columns:
            frame.insert(0, "id", [f"src-{i}" for i in range(len(frame))])
        frame["id"] = frame["id"].astype(str)
        if frame["id"].duplicated().any():
            raise WorkbenchError(f"{path}: duplicate ids, e.g. {frame['id'][frame['id'].duplicated()].iloc[0]}")
    if limit is not None:
        frame = frame.head(limit)
    frame = frame.assign(origin="original")
    return frame.reset_index(drop=True)


# Stages load their models by name inside the function (cached per process), so that they also run on dask
# workers, which receive the function, not a loaded model.

def _classify_stage(spec: DatasetSpec, model_name: str, use_llm: bool) -> Callable:
    dims = list(spec.dimensions) + (["semantic_type"] if spec.semantic_types else [])

    def run(frame, ctx: StageContext):
        from workbench.models import load
        from workbench.taxonomy.classify import classify_with

        model = load(model_name)
        texts = frame["text"].tolist()
        for dim in dims:
            result = classify_with(texts, dim, model, use_llm=use_llm)
            frame = frame.drop(columns=[c for c in result.frame().columns if c in frame.columns]).join(
                result.frame())
        return frame
    return run


def _expand_stage(spec: DatasetSpec, generator_name: str, target: int, max_new_tokens: int) -> Callable:
    def run(frame, ctx: StageContext):
        import pandas as pd

        from workbench.models import load
        from workbench.taxonomy.expand import expand

        generator = load(generator_name)
        added = [expand(frame, dim, generator, target=target, seed=ctx.seed, max_new_tokens=max_new_tokens)
                 for dim in spec.dimensions]
        added = [a for a in added if len(a)]
        return pd.concat([frame] + added, ignore_index=True) if added else frame
    return run


def _dedup_stage(tau: int) -> Callable:
    def run(frame, ctx: StageContext):
        from workbench.dedup import deduplicate

        result = deduplicate(frame["text"].tolist(), tau=tau)
        return frame.assign(simhash=result.fingerprints, duplicate_of=result.duplicate_of)
    return run


def build_dataset(name: str, source: str | Path, out: str | Path, *, profile, limit: int | None = None,
                  text_col: str | None = None, target: int = 100, tau: int = 10, seed: int = 0,
                  shard_size: int = 64, max_new_tokens: int = 48,
                  progress: Callable[[float, str], None] | None = None, client=None) -> dict:
    """Build (or resume) dataset ``name`` from ``source`` into folder ``out``; returns the funnel.

    ``out`` holds the resumable work folder (``stages/``), ``dataset.parquet`` (kept prompts, their labels and
    provenance), ``removed.parquet`` (near-duplicates and what they duplicate) and ``funnel.json``. With a dask
    ``client`` the sharded stage (classification) runs on its workers.
    """
    from workbench.io import save_table

    spec = get_dataset(name)
    out = Path(out)
    frame = load_source(spec, source, text_col=text_col, limit=limit)
    classifier, use_llm = profile_classifier(profile)
    expander = profile.model_for("expander")
    stages = [Stage("classify", _classify_stage(spec, classifier, use_llm)),
              Stage("expand", _expand_stage(spec, expander, target, max_new_tokens), sharded=False),
              Stage("dedup", _dedup_stage(tau), sharded=False)]
    config = {"dataset": name, "source": Path(source).name, "limit": limit, "target": target, "tau": tau,
              "classifier": classifier, "expander": expander, "method": "llm:yesno" if use_llm else "embedding"}
    result = Pipeline(stages, out / "stages", config=config, profile=profile.name, models=[classifier, expander],
                      seed=seed, shard_size=shard_size).run(frame, progress=progress, client=client)
    kept, removed = result[result["duplicate_of"] < 0], result[result["duplicate_of"] >= 0]
    funnel = {"dataset": name, "paper": spec.paper, "profile": profile.name, "models": [classifier, expander],
              "source_rows": len(frame), "classified": len(frame),
              "expanded": int((result["origin"] == "expanded").sum()), "after_expansion": len(result),
              "removed_by_dedup": len(removed), "kept": len(kept),
              "per_domain": {dim: {str(k): int(v) for k, v in kept[dim].value_counts().items()}
                             for dim in spec.dimensions}}
    save_table(kept.reset_index(drop=True), out / "dataset.parquet", profile=profile.name,
               models=[classifier, expander], seed=seed, config=config)
    save_table(removed.reset_index(drop=True), out / "removed.parquet", profile=profile.name,
               models=[classifier, expander], seed=seed, config=config)
    tmp = out / "funnel.json.tmp"
    tmp.write_text(json.dumps(funnel, indent=2) + "\n")
    tmp.replace(out / "funnel.json")
    return funnel
