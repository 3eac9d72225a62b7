"""Artifacts of the evaluation capability, registered as builders.

``detector_predictions`` (P1, P2): the profile's detector models (role ``detectors``) — each as its joint detector
and as its safety-, value- and culture-only detectors (``detectors.detector_set``; the ``detector_dimension``
column says which) — and the always/never baselines run over the bundled evaluation pairs
(``data/eval/response_pairs.csv``: a prompt, its aligned and its misaligned response, hand-labelled dimensions and
semantic type) — what the Trade-off profiles view and the P1/P2 notebooks measure. A smoke build takes its prompts
round-robin over the sets of labelled dimensions (``misalign.stratified_ids``), so it holds single-dimension and
joint prompts; the config records how many rows of each condition it has. ``rater_agreement`` (P4): the profile's rater models over the DICES-shaped fixture (or a real
DICES CSV named by ``$DICES_CSV``), with personas, their agreement with the human panel, fairness (DS average and
max), per-group rating shares and the δ × τ sweep with its dev-selected setting; the config records the data
(``evaluation.raters.dices_config``) for the claims ledger.
"""
from __future__ import annotations

import os

from workbench.build import BuildContext, register_builder, rehearsal_limit


def detector_names(profile) -> list[str]:
    return list(profile.roles.get("detectors", ())) + ["always", "never"]


def evaluation_pairs(smoke_prompts: int | None = None):
    """The bundled evaluation pairs with ``misaligned`` and ``condition``; with ``smoke_prompts``, that many
    prompts taken round-robin over the sets of labelled dimensions."""
    from workbench.datasets import response_pairs
    from workbench.evaluation.misalign import stratified_ids, with_conditions

    pairs = response_pairs()
    if smoke_prompts is not None:
        pairs = pairs[pairs["id"].isin(stratified_ids(pairs, smoke_prompts))]
    return with_conditions(pairs.assign(misaligned=pairs["side"] == "misaligned")).reset_index(drop=True)


def condition_counts(pairs) -> dict:
    """Rows (responses) per condition of the evaluation pairs, e.g. ``{"single": 6, "joint": 14}``."""
    return {str(k): int(v) for k, v in pairs["condition"].value_counts().sort_index().items()}


def build_detector_predictions(ctx: BuildContext) -> None:
    from workbench.evaluation.detectors import detector_set
    from workbench.evaluation.misalign import score_detectors
    from workbench.io import save_frame

    pairs = evaluation_pairs(rehearsal_limit(ctx, 10) if ctx.smoke else None)
    names = detector_names(ctx.profile)
    detectors = detector_set(names)
    scored = score_detectors(pairs, detectors, progress=lambda done, total: ctx.progress(
        0.05 + 0.9 * done / max(total, 1), f"scoring {len(detectors)} detectors: {done}/{total}"))
    models = [m for m in names if m not in ("always", "never")]
    save_frame(scored, ctx.path(ctx.paper, "detector_predictions"), profile=ctx.profile.name, models=models,
               seed=ctx.seed, config={"source": "data/eval/response_pairs.csv", "threshold": 0.5,
                                      "smoke": ctx.smoke, "detectors": [d.name for d in detectors],
                                      "conditions": condition_counts(pairs)})


def build_rater_agreement(ctx: BuildContext) -> None:
    from pathlib import Path

    from workbench.datasets import dices_fixture, load_dices
    from workbench.evaluation.raters import (SWEEP_RULE, agreement_records, dices_config, evaluate_raters,
                                             profile_sweep, rate_dices)
    from workbench.io import save_frame, save_records

    source = os.environ.get("DICES_CSV")
    dices = load_dices(source) if source else dices_fixture(n_items=rehearsal_limit(ctx, 6, 3) if ctx.smoke else 24,
                                                            n_raters=4 if ctx.smoke else 12, seed=ctx.seed)
    models = list(ctx.profile.roles["raters"])
    ratings = rate_dices(dices, models, personas=True, progress=lambda f, m: ctx.progress(0.8 * f, m))
    metrics = evaluate_raters(dices, ratings)
    ctx.progress(0.85, "δ × τ sweep")
    sweep, classifier = profile_sweep(dices, ratings, models[0], ctx.profile, seed=ctx.seed)
    config = {**dices_config(dices, Path(source).name if source else "synthetic DICES-shaped fixture",
                             real=bool(source)),
              "personas": True, "mode": "likelihood", "smoke": ctx.smoke, "sweep_rater": models[0],
              "classifier": classifier, "sweep_rule": SWEEP_RULE, "seed": ctx.seed}
    used = models + [classifier]
    save_frame(ratings, ctx.path(ctx.paper, "rater_ratings"), profile=ctx.profile.name, models=used,
               seed=ctx.seed, config=config)
    save_frame(sweep, ctx.path(ctx.paper, "rater_sweep"), profile=ctx.profile.name, models=used, seed=ctx.seed,
               config=config)
    records, extra = agreement_records(metrics)
    save_records(records, ctx.path(ctx.paper, "rater_agreement"), profile=ctx.profile.name, models=used,
                 seed=ctx.seed, config=config, extra=extra)


for _paper in ("P1", "P2"):
    register_builder(_paper, "detector_predictions",
                     "detector models and baselines over the bundled evaluation pairs")(build_detector_predictions)
register_builder("P4", "rater_agreement",
                 "LLM raters with personas over DICES: ICC, fairness, δ × τ sweep")(build_rater_agreement)
