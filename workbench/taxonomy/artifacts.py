"""Artifacts of the taxonomy capability, registered as builders for P1, P2 and P4.

``seed_classification``: the bundled seed prompts classified into all three dimensions and the semantic types,
with their SimHash fingerprints and keep-first duplicates — what the Domain taxonomy view shows before a full
dataset is built. Default profile: the MiniLM embedding classifier (seconds on a CPU); paper profile: the
profile's classifier LLM — the paper's own (``Profile.for_paper``: P2 classifies with Gemma-2-9B-it).

``construction_funnel`` (P1, P2): the paper's dataset built from the seed prompts by ``build_dataset``
(``construction_dataset``: the kept prompts with their labels and 80/10/10 split, the split recorded in the
config; ``construction_responses``: the accepted responses, one row a (prompt, response) sample;
``construction_decisions``: every judged attempt) and its funnel. ``construction_dataset`` (P4): Demo-SafetyBench
stage I over the DICES-shaped fixture (or a real DICES CSV named by ``$DICES_CSV``): one row per conversation, with
its raters' shares and count.
"""
from __future__ import annotations

from workbench.build import BuildContext, register_builder, rehearsal_limit
from workbench.taxonomy import DIMENSIONS

NAME = "seed_classification"


def build_seed_classification(ctx: BuildContext) -> None:
    from workbench.datasets import seed_prompts
    from workbench.dedup import deduplicate
    from workbench.io import save_frame
    from workbench.taxonomy.classify import classify_with, profile_classifier

    seeds = seed_prompts().reset_index(drop=True)
    if ctx.smoke:
        seeds = seeds.groupby("dimension", group_keys=False).head(rehearsal_limit(ctx, 8, 1)).reset_index(drop=True)
    texts = seeds["text"].tolist()
    model_name, use_llm = profile_classifier(ctx.profile.for_paper(ctx.paper))
    ctx.progress(0.05, f"loading {model_name}")
    frame = seeds.rename(columns={"dimension": "seed_dimension", "domain": "seed_domain"})
    steps = list(DIMENSIONS) + ["semantic_type"]
    for k, dim in enumerate(steps):
        ctx.progress(0.1 + 0.8 * k / len(steps), f"classifying {dim}")
        frame = frame.join(classify_with(texts, dim, model_name, use_llm=use_llm).frame())
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


# The papers' reported funnels (SPECS.md), for the "paper vs ours" view; None where a paper does not say.
# P2: the MisAlign-Profile README (4 responses per prompt); P1 states only SAVACU's total (its "SAVACU samples"
# claim in data/papers.json, read by ``paper_funnel``), 8 responses per prompt.
PAPER_FUNNEL = {
    "P1": {"classified": None, "after_expansion": None, "removed_by_dedup": None, "kept": None,
           "responses": None, "responses_per_prompt": 8},
    "P2": {"classified": 35_928, "after_expansion": 50_584, "removed_by_dedup": 2_898, "kept": 47_686,
           "responses": 190_744, "responses_per_prompt": 4},
}
FUNNEL_STAGES = ("classified", "after_expansion", "removed_by_dedup", "kept")


def paper_funnel(paper: str) -> dict:
    """``PAPER_FUNNEL[paper]`` with P1's totals from the registry: its responses (SAVACU samples) and the kept
    prompts they imply (responses / responses per prompt)."""
    from workbench.papers import get_paper

    funnel = dict(PAPER_FUNNEL[paper])
    if paper == "P1":
        funnel["responses"] = int(get_paper("P1").number("SAVACU samples").value)
        funnel["kept"] = funnel["responses"] // funnel["responses_per_prompt"]
    return funnel


def construction_sizes(smoke: bool, profile: str):
    """What the dashboard's construction build runs: the seed prompts (smoke: 20, no expansion), answered
    for a few kept prompts only — a CPU-sized look at the response stage, not a dataset. The default profile's
    judge, SmolLM2-135M, answers No to nearly everything, so it judges contrastively (``lm_judge``)."""
    from workbench.taxonomy.construct import ResponseConfig

    contrastive = profile == "default"
    if smoke:
        return dict(limit=20, target=0), ResponseConfig(k=1, max_iterations=1, max_new_tokens=8, prompt_limit=1,
                                                        critique_tokens=8, contrastive_judge=contrastive)
    return dict(limit=None, target=3), ResponseConfig(k=1, max_iterations=2, max_new_tokens=48, prompt_limit=4,
                                                      critique_tokens=24, contrastive_judge=contrastive)


def build_construction(ctx: BuildContext) -> None:
    """The paper's dataset built from the bundled seed prompts, its funnel and the response decision log."""
    import tempfile

    import pandas as pd

    from workbench.io import save_frame, save_records
    from workbench.paths import DATA_DIR
    from workbench.taxonomy.construct import build_dataset

    name = {"P1": "savacu", "P2": "misaligntrade"}[ctx.paper]
    sizes, responses = construction_sizes(ctx.smoke, ctx.profile.name)
    if ctx.smoke:
        sizes["limit"] = rehearsal_limit(ctx, sizes["limit"], 3)
    with tempfile.TemporaryDirectory() as work:
        funnel = build_dataset(name, DATA_DIR / "prompts" / "seed_prompts.csv", work, profile=ctx.profile,
                               seed=ctx.seed, responses=responses, progress=lambda f, m: ctx.progress(0.9 * f, m),
                               **sizes)
        dataset = pd.read_parquet(f"{work}/dataset.parquet")
        answered = pd.read_parquet(f"{work}/responses.parquet")
        decisions = pd.read_parquet(f"{work}/decisions.parquet")
    models = funnel["models"]
    config = {"dataset": name, "source": "seed_prompts.csv", "target": sizes["target"], "smoke": ctx.smoke,
              "k": responses.k, "max_iterations": responses.max_iterations,
              "response_tokens": responses.max_new_tokens, "respond_limit": responses.prompt_limit,
              "contrastive_judge": responses.contrastive_judge, "split": funnel["split"]}
    save_frame(dataset, ctx.path(ctx.paper, "construction_dataset"), profile=ctx.profile.name, models=models,
               seed=ctx.seed, config=config)
    save_frame(answered, ctx.path(ctx.paper, "construction_responses"), profile=ctx.profile.name, models=models,
               seed=ctx.seed, config=config)
    prompts = dataset.set_index("id")["text"]
    decisions.insert(1, "prompt", decisions["id"].map(prompts))
    save_frame(decisions, ctx.path(ctx.paper, "construction_decisions"), profile=ctx.profile.name, models=models,
               seed=ctx.seed, config=config)
    paper = paper_funnel(ctx.paper)
    records = [{"stage": s, "ours": int(funnel[s]), "paper": paper[s]} for s in FUNNEL_STAGES]
    response_keys = ("responded_prompts", "generated", "accepted_stage1", "rejected_stage1", "recovered_stage2",
                     "dropped", "responses", "prompts_with_both_sides", "per_side", "responses_per_domain")
    save_records(records, ctx.path(ctx.paper, "construction_funnel"), profile=ctx.profile.name, models=models,
                 seed=ctx.seed, config=config,
                 extra={"per_domain": funnel["per_domain"], "responses": {k: funnel[k] for k in response_keys},
                        "paper_responses": {"responses": paper["responses"],
                                            "per_prompt": paper["responses_per_prompt"]}})


for _paper in ("P1", "P2"):
    register_builder(_paper, "construction_funnel",
                     "the dataset built from the seed prompts, its funnel and the response decision log")(
        build_construction)


def build_demo_safety(ctx: BuildContext) -> None:
    """Demo-SafetyBench stage I (P4): DICES conversations classified into the safety domains, sparse domains
    expanded, SimHash-deduplicated and split 80/10/10."""
    import os
    import tempfile

    import pandas as pd

    from workbench.datasets import dices_fixture
    from workbench.io import save_frame
    from workbench.taxonomy.construct import build_dataset

    real = os.environ.get("DICES_CSV")
    target = 0 if ctx.smoke else 2
    with tempfile.TemporaryDirectory() as work:
        source = real
        if not real:
            source = f"{work}/dices_fixture.csv"
            dices_fixture(n_items=rehearsal_limit(ctx, 6, 3) if ctx.smoke else 24, n_raters=4 if ctx.smoke else 12,
                          seed=ctx.seed).to_csv(source, index=False)
        funnel = build_dataset("demo-safety", source, f"{work}/out", profile=ctx.profile, seed=ctx.seed,
                               target=target, max_new_tokens=32, progress=lambda f, m: ctx.progress(0.95 * f, m))
        dataset = pd.read_parquet(f"{work}/out/dataset.parquet")
    config = {"dataset": "demo-safety", "source": "DICES CSV" if real else "synthetic DICES-shaped fixture",
              "target": target, "smoke": ctx.smoke, "split": funnel["split"],
              "funnel": {k: funnel[k] for k in ("source_rows", "expanded", "removed_by_dedup", "kept")}}
    save_frame(dataset, ctx.path(ctx.paper, "construction_dataset"), profile=ctx.profile.name,
               models=funnel["models"], seed=ctx.seed, config=config)


register_builder("P4", "construction_dataset",
                 "Demo-SafetyBench stage I: DICES conversations classified, expanded, deduplicated and split")(
    build_demo_safety)


def build_safety_real(ctx: BuildContext) -> None:
    """``safety_real`` (P1): the default-profile embedding classifier (MiniLM) on real StrongREJECT / HarmBench
    prompts mapped onto the safety domains, before and after the facets / top-k change (``safety_eval.run``)."""
    from workbench.models import load
    from workbench.taxonomy import safety_eval

    ctx.progress(0.05, "loading minilm-l6")
    encoder = load("minilm-l6")
    ctx.progress(0.1, "classifying the real prompts (before / after, cross-source, check set)")
    result = safety_eval.run(encoder, n_boot=200 if ctx.smoke else 2000, smoke=ctx.smoke)
    safety_eval.save(result, ctx.path(ctx.paper, safety_eval.NAME), profile=ctx.profile.name, seed=ctx.seed)


register_builder("P1", "safety_real", "the safety classifier on real StrongREJECT / HarmBench prompts, mapped")(
    build_safety_real)
