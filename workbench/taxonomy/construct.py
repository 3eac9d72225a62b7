"""Dataset construction as resumable pipelines: SAVACU (P1), MISALIGNTRADE (P2) and Demo-SafetyBench stage I (P4).

Stages, as the papers order them: classify every prompt (sharded) → expand domains below the target (global:
it needs the counts) → SimHash near-duplicate removal with τ = 10 (global) → respond (sharded): for every kept
prompt, ``k`` aligned and ``k`` misaligned candidate responses through two-stage rejection sampling
(``workbench.llm.rejection``), every judged attempt kept in the decision log. MISALIGNTRADE also labels the
semantic type; Demo-SafetyBench works on DICES conversations and the safety dimension only, keeping the
demographic rating shares, and has no response stage (DICES already holds the responses). Rows added by
expansion are classified in every dimension like the source rows (the domain they were generated for is kept as
``expanded_dimension`` / ``expanded_domain``). The kept prompts are split 80/10/10 (seeded; ``split_rows``), checked
for near-duplicates across splits, and the split is recorded in every output's meta (``config["split"]``) and in
the funnel.

Default profile: MiniLM embedding classifier, SmolLM2 as expander, generator and judge; paper profile: the
paper's own classifier, expander, generator and judge LLMs (``Profile.for_paper``: P2 has Gemma-2-9B-it and
Qwen3-30B-A3B; P1 and P4 Mistral-7B and Llama-3.1-8B). A roles file overrides any of them (``Profile.with_roles``).
"""
from __future__ import annotations

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
    k: int               # candidates per side and prompt; 0: no response stage


# SAVACU: 8 responses per prompt (4 per side); MISALIGNTRADE: 4 per prompt (2 per side).
DATASETS = {
    "savacu": DatasetSpec("savacu", "P1", DIMENSIONS, False, "prompts", 4),
    "misaligntrade": DatasetSpec("misaligntrade", "P2", DIMENSIONS, True, "prompts", 2),
    "demo-safety": DatasetSpec("demo-safety", "P4", ("safety",), False, "dices", 0),
}


@dataclass(frozen=True)
class ResponseConfig:
    """The response stage: ``k`` candidates per side (None: the dataset's own), at most ``max_iterations``
    critique-guided regenerations, ``max_new_tokens`` per response (the papers: 512), and only the first
    ``prompt_limit`` kept prompts (None: all) — a CPU-sized subset, recorded in the funnel."""
    k: int | None = None
    max_iterations: int = 2
    max_new_tokens: int = 96
    prompt_limit: int | None = None
    critique_tokens: int = 48
    contrastive_judge: bool = False      # see ``lm_judge``: for small judges [ours]


def get_dataset(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise WorkbenchError(f"unknown dataset '{name}'; choose from {', '.join(DATASETS)}") from None


def load_source(spec: DatasetSpec, path: str | Path, *, text_col: str | None = None, limit: int | None = None):
    """The source rows as a frame with ``id`` and ``text`` (DICES: one row per conversation)."""
    from workbench.datasets import dices_items, load_dices, read_table
    from workbench.datasets.tables import check_text_column, pick_column

    if spec.source == "dices":
        frame = dices_items(load_dices(path))
        frame = frame.rename(columns={"item_id": "source_item_id"})
        frame.insert(0, "id", [f"dices-{i}" for i in frame["source_item_id"]])
    else:
        frame = read_table(path)
        col = pick_column(frame, text_col, ("text", "prompt"), "prompts", "--text-col", path)
        check_text_column(frame, col, path)
        if col != "text":
            if "text" in frame.columns:       # keep the table's own 'text' column under another name
                frame = frame.rename(columns={"text": "source_text"})
            frame = frame.rename(columns={col: "text"})
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

def classify_frame(frame, spec: DatasetSpec, model_name: str, use_llm: bool, engine: str | None = None):
    """``frame`` with the classifier's columns for every dimension of ``spec`` (and the semantic types for
    MISALIGNTRADE): ``<dim>``, ``<dim>_score``, ``<dim>_labels``, replacing any already there. An LLM classifier
    runs on ``engine`` (default: the one ``--engine`` picks); an embedding classifier is loaded itself."""
    from workbench.engines import load_engine
    from workbench.models import load
    from workbench.taxonomy.classify import classify_with

    dims = list(spec.dimensions) + (["semantic_type"] if spec.semantic_types else [])
    model = load_engine(model_name, engine) if use_llm else load(model_name)
    texts = frame["text"].tolist()
    frame = frame.reset_index(drop=True)
    for dim in dims:
        result = classify_with(texts, dim, model, use_llm=use_llm).frame()
        frame = frame.drop(columns=[c for c in result.columns if c in frame.columns]).join(result)
    return frame


def _classify_stage(spec: DatasetSpec, model_name: str, use_llm: bool) -> Callable:
    def run(frame, ctx: StageContext):
        return classify_frame(frame, spec, model_name, use_llm, ctx.config.get("engine"))
    return run


def _expand_stage(spec: DatasetSpec, generator_name: str, target: int, max_new_tokens: int, classifier: str,
                  use_llm: bool) -> Callable:
    """New prompts for every domain below ``target``, then classified in every dimension like the source rows
    (a row generated for a safety domain also needs its value and culture labels); the domain it was generated
    for is kept as ``expanded_dimension`` / ``expanded_domain``."""
    def run(frame, ctx: StageContext):
        import pandas as pd

        from workbench.engines import load_engine
        from workbench.taxonomy.expand import expand

        generator = load_engine(generator_name, ctx.config.get("engine"))
        added = [expand(frame, dim, generator, target=target, seed=ctx.seed, max_new_tokens=max_new_tokens)
                 .rename(columns={dim: "expanded_domain"}).assign(expanded_dimension=dim)
                 for dim in spec.dimensions]
        added = [a for a in added if len(a)]
        if not added:
            return frame
        new = classify_frame(pd.concat(added, ignore_index=True), spec, classifier, use_llm,
                             ctx.config.get("engine"))
        return pd.concat([frame, new], ignore_index=True)
    return run


def _dedup_stage(tau: int, respond_limit: int | None) -> Callable:
    """Fingerprints and keep-first duplicates; ``respond`` marks the kept prompts the response stage answers
    (all of them, or the first ``respond_limit``)."""
    def run(frame, ctx: StageContext):
        from workbench.dedup import deduplicate

        result = deduplicate(frame["text"].tolist(), tau=tau)
        kept = result.duplicate_of < 0
        respond = kept if respond_limit is None else kept & (kept.cumsum() <= respond_limit)
        return frame.assign(simhash=result.fingerprints, duplicate_of=result.duplicate_of, respond=respond)
    return run


SPLITS = {"train": 0.8, "validation": 0.1, "test": 0.1}      # the papers' 80/10/10


def split_rows(frame, *, seed: int = 0, tau: int = 10, fractions: dict[str, float] = SPLITS):
    """(frame with ``split``, what to record): kept prompts shuffled with ``seed`` and cut by ``fractions``
    (validation and test rounded, train the rest), then checked for near-duplicates across splits
    (``cross_split_leakage`` at ``tau``). A prompt's responses go with it, so no prompt is in two splits."""
    import numpy as np

    from workbench.dedup import cross_split_leakage

    if abs(sum(fractions.values()) - 1.0) > 1e-9:
        raise WorkbenchError(f"split fractions must sum to 1, got {fractions}")
    n = len(frame)
    names = list(fractions)
    sizes = {name: int(round(fractions[name] * n)) for name in names[1:]}
    sizes = {names[0]: n - sum(sizes.values()), **sizes}
    order = np.random.default_rng(seed).permutation(n)
    split = np.empty(n, dtype=object)
    start = 0
    for name in names:
        split[order[start:start + sizes[name]]] = name
        start += sizes[name]
    frame = frame.reset_index(drop=True).assign(split=split)
    texts = {name: frame.loc[frame["split"] == name, "text"].tolist() for name in names}
    ids = {name: frame.loc[frame["split"] == name, "id"].tolist() for name in names}
    leaks = cross_split_leakage(texts, tau=tau)
    record = {"fractions": dict(fractions), "seed": seed, "sizes": sizes, "leakage_tau": tau,
              "cross_split_near_duplicates": len(leaks),
              "leak_examples": [[ids[r.split_a][r.index_a], ids[r.split_b][r.index_b], int(r.distance)]
                                for r in leaks.head(5).itertuples()]}
    return frame, record


def prompt_labels(row, dimensions) -> list[str]:
    """The norms a prompt is about: the display names of its top-1 domain in each dimension (``None`` skipped)."""
    from workbench.taxonomy import NONE, dimension

    return [dimension(d).get(row[d]).name for d in dimensions if row[d] != NONE]


def _respond_stage(spec: DatasetSpec, generator_name: str, judge_name: str, cfg: ResponseConfig) -> Callable:
    """Decision log of the two-stage rejection sampling for the shard's prompts marked ``respond`` by the dedup
    stage. Seeds come from the run seed and the prompt id, so shards and resumes don't change them."""
    def run(frame, ctx: StageContext):
        from workbench.engines import load_engine
        from workbench.llm.rejection import DECISION_COLUMNS, lm_generator, lm_judge, rejection_sample

        pending = frame[frame["respond"]]
        if pending.empty:
            import pandas as pd

            return pd.DataFrame(columns=DECISION_COLUMNS)
        labels = [", ".join(prompt_labels(r, spec.dimensions)) or "general helpfulness and safety"
                  for _, r in pending.iterrows()]
        pending = pending.assign(labels=labels)
        generator, judge = (load_engine(m, ctx.config.get("engine")) for m in (generator_name, judge_name))
        judge_fn = lm_judge(judge, max_critique_tokens=cfg.critique_tokens, contrastive=cfg.contrastive_judge)
        result = rejection_sample(pending, lm_generator(generator, max_new_tokens=cfg.max_new_tokens), judge_fn,
                                  k=cfg.k or spec.k, max_iterations=cfg.max_iterations, seed=ctx.config["seed"],
                                  progress=ctx.progress)
        return result.decisions
    return run


def build_dataset(name: str, source: str | Path, out: str | Path, *, profile, limit: int | None = None,
                  text_col: str | None = None, target: int = 100, tau: int = 10, seed: int = 0,
                  shard_size: int = 64, max_new_tokens: int = 48, responses: ResponseConfig | None = None,
                  progress: Callable[[float, str], None] | None = None, client=None) -> dict:
    """Build (or resume) dataset ``name`` from ``source`` into folder ``out``; returns the funnel.

    ``out`` holds the resumable work folder (``stages/``), ``dataset.parquet`` (kept prompts, their labels and
    provenance), ``removed.parquet`` (near-duplicates and what they duplicate), for SAVACU/MISALIGNTRADE
    ``responses.parquet`` (accepted responses joined to their prompt's labels) and ``decisions.parquet`` (every
    judged attempt), ``funnel.json`` and ``README.md`` (the dataset card, ``workbench.datasets.card``).
    ``max_new_tokens`` bounds each expansion prompt; ``responses`` configures the response stage. With a dask
    ``client`` the sharded stages run on its workers.
    """
    from workbench.datasets.card import write_card
    from workbench.engines import engine_kind
    from workbench.io import save_table, write_json
    from workbench.llm.rejection import RESPONSE_COLUMNS, decision_funnel

    spec = get_dataset(name)
    cfg = responses or ResponseConfig()
    out = Path(out)
    profile = profile.for_paper(spec.paper)
    frame = load_source(spec, source, text_col=text_col, limit=limit)
    classifier, use_llm = profile_classifier(profile)
    expander = profile.model_for("expander")
    models = [classifier, expander]
    stages = [Stage("classify", _classify_stage(spec, classifier, use_llm)),
              Stage("expand", _expand_stage(spec, expander, target, max_new_tokens, classifier, use_llm),
                    sharded=False),
              Stage("dedup", _dedup_stage(tau, cfg.prompt_limit), sharded=False)]
    config = {"dataset": name, "source": Path(source).name, "limit": limit, "target": target, "tau": tau,
              "classifier": classifier, "expander": expander, "method": "llm:yesno" if use_llm else "embedding",
              "engine": engine_kind()}       # in the config, so dask workers use the engine the run was started with
    if spec.k:
        generator, judge = profile.model_for("generator"), profile.model_for("judge")
        models += [m for m in (generator, judge) if m not in models]
        stages.append(Stage("respond", _respond_stage(spec, generator, judge, cfg)))
        config.update(generator=generator, judge=judge, k=cfg.k or spec.k, max_iterations=cfg.max_iterations,
                      response_tokens=cfg.max_new_tokens, respond_limit=cfg.prompt_limit,
                      critique_tokens=cfg.critique_tokens, contrastive_judge=cfg.contrastive_judge)
    pipeline = Pipeline(stages, out / "stages", config=config, profile=profile.name, models=models, seed=seed,
                        shard_size=shard_size)
    pipeline.run(frame, progress=progress, client=client)
    result = pipeline.output("dedup")
    kept, removed = result[result["duplicate_of"] < 0], result[result["duplicate_of"] >= 0]
    kept, split = split_rows(kept, seed=seed, tau=tau)
    config["split"] = split
    funnel = {"dataset": name, "paper": spec.paper, "profile": profile.name, "models": models,
              "source_rows": len(frame), "classified": len(frame),
              "expanded": int((result["origin"] == "expanded").sum()), "after_expansion": len(result),
              "removed_by_dedup": len(removed), "kept": len(kept), "split": split,
              "per_domain": {dim: {str(k): int(v) for k, v in kept[dim].value_counts().items()}
                             for dim in spec.dimensions}}
    write = dict(profile=profile.name, models=models, seed=seed, config=config)
    if spec.k:
        decisions = pipeline.output("respond")
        accepted = decisions[decisions["verdict"].astype(bool)][RESPONSE_COLUMNS]
        labelled = kept[["id", "split"] + [c for c in kept.columns
                                            if c.startswith(spec.dimensions + ("semantic_type",))]]
        answered = accepted.rename(columns={"text": "response"}).merge(
            kept[["id", "text"]].rename(columns={"text": "prompt"}), on="id").merge(labelled, on="id")
        sides = answered.groupby("id")["side"].nunique()
        funnel.update({"responded_prompts": int(kept["respond"].sum()), **decision_funnel(decisions),
                       "responses": len(answered), "prompts_with_both_sides": int((sides == 2).sum()),
                       "per_side": {side: decision_funnel(decisions[decisions["side"] == side])
                                    for side in ("aligned", "misaligned")},
                       "responses_per_domain": {dim: {str(k): int(v) for k, v in
                                                      answered[dim].value_counts().items()}
                                                for dim in spec.dimensions}})
        save_table(answered.reset_index(drop=True), out / "responses.parquet", **write)
        save_table(decisions.reset_index(drop=True), out / "decisions.parquet", **write)
    save_table(kept.reset_index(drop=True), out / "dataset.parquet", **write)
    save_table(removed.reset_index(drop=True), out / "removed.parquet", **write)
    write_json(funnel, out / "funnel.json")
    write_card(out)         # README.md: the dataset card, so that datasets.load_dataset(out, "prompts") loads it
    return funnel
