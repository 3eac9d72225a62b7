"""Artifacts of the taxonomy capability, registered as builders for P1, P2 and P4.

``seed_classification``: the bundled seed prompts classified into all three dimensions and the semantic types,
with their SimHash fingerprints and keep-first duplicates — what the Domain taxonomy view shows before a full
dataset is built. Default profile: the MiniLM embedding classifier (seconds on a CPU); paper profile: the
profile's classifier LLM.
"""
from __future__ import annotations

from workbench.build import BuildContext, register_builder
from workbench.taxonomy import DIMENSIONS

NAME = "seed_classification"


def build_seed_classification(ctx: BuildContext) -> None:
    from workbench.datasets import seed_prompts
    from workbench.dedup import deduplicate
    from workbench.io import save_frame
    from workbench.models import load
    from workbench.taxonomy.classify import classify_with, profile_classifier

    seeds = seed_prompts().reset_index(drop=True)
    if ctx.smoke:
        seeds = seeds.groupby("dimension", group_keys=False).head(8).reset_index(drop=True)
    texts = seeds["text"].tolist()
    model_name, use_llm = profile_classifier(ctx.profile)
    ctx.progress(0.05, f"loading {model_name}")
    model = load(model_name)
    frame = seeds.rename(columns={"dimension": "seed_dimension", "domain": "seed_domain"})
    steps = list(DIMENSIONS) + ["semantic_type"]
    for k, dim in enumerate(steps):
        ctx.progress(0.1 + 0.8 * k / len(steps), f"classifying {dim}")
        frame = frame.join(classify_with(texts, dim, model, use_llm=use_llm).frame())
    ctx.progress(0.92, "fingerprinting")
    dedup = deduplicate(texts, tau=10)
    frame["simhash"] = dedup.fingerprints
    frame["duplicate_of"] = dedup.duplicate_of
    save_frame(frame, ctx.path(ctx.paper, NAME), profile=ctx.profile.name, models=[model_name], seed=ctx.seed,
               config={"method": "llm:yesno" if use_llm else "embedding", "delta": 0.5, "tau": 10,
                       "smoke": ctx.smoke,
                       "note": "" if use_llm else "the embedding prototypes include these seed prompts"})


for _paper in ("P1", "P2", "P4"):
    register_builder(_paper, NAME, "seed prompts classified into the taxonomy, with SimHash duplicates")(
        build_seed_classification)


# The funnel the MisAlign-Profile README reports for its construction (SPECS.md), for the "paper vs ours" view.
PAPER_FUNNEL = {"classified": 35_928, "after_expansion": 50_584, "removed_by_dedup": 2_898, "kept": 47_686}
FUNNEL_STAGES = ("classified", "after_expansion", "removed_by_dedup", "kept")


def build_construction(ctx: BuildContext) -> None:
    """The paper's dataset built from the bundled seed prompts (smoke: 20 prompts, no expansion)."""
    import tempfile

    import pandas as pd

    from workbench.io import save_frame, save_records
    from workbench.paths import DATA_DIR
    from workbench.taxonomy.construct import build_dataset

    name = {"P1": "savacu", "P2": "misaligntrade"}[ctx.paper]
    with tempfile.TemporaryDirectory() as work:
        funnel = build_dataset(name, DATA_DIR / "prompts" / "seed_prompts.csv", work, profile=ctx.profile,
                               limit=20 if ctx.smoke else None, target=0 if ctx.smoke else 3, seed=ctx.seed,
                               progress=lambda f, m: ctx.progress(0.9 * f, m))
        dataset = pd.read_parquet(f"{work}/dataset.parquet")
    models = funnel["models"]
    config = {"dataset": name, "source": "seed_prompts.csv", "target": 0 if ctx.smoke else 3, "smoke": ctx.smoke}
    save_frame(dataset, ctx.path(ctx.paper, "construction_dataset"), profile=ctx.profile.name, models=models,
               seed=ctx.seed, config=config)
    records = [{"stage": s, "ours": int(funnel[s]), "paper": PAPER_FUNNEL[s]} for s in FUNNEL_STAGES]
    save_records(records, ctx.path(ctx.paper, "construction_funnel"), profile=ctx.profile.name, models=models,
                 seed=ctx.seed, config=config, extra={"per_domain": funnel["per_domain"]})


for _paper in ("P1", "P2"):
    register_builder(_paper, "construction_funnel", "the dataset built from the seed prompts, and its funnel")(
        build_construction)
