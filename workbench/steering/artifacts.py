"""Artifacts of the steering capability, registered as builders.

* **P8 AMBS** — ``steering_vectors``: one CAA (mean-difference) vector per objective (helpful, harmless, honest;
  the bundled pairs' train split) at a few layers of the profile's steering LM, with the cosine between the three
  aggregators in the meta; ``steering_sweep``: the behaviour probability on the held-out pairs for every
  objective × aggregator × layer × multiplier, and the AMBS prompt-pass timing (shared prefix vs N = 3 naive
  passes, outputs compared) in its meta; ``steering_generations``: held-out prompts answered unsteered and at ×2,
  each generation placed nearer the positive or the negative reference answer by sentence-embedding cosine;
  ``ambs_vs_naive``: unsteered, the naive 1-to-N (independent vectors, full passes), AMBS (shared prefix + KL
  policy–reference bound, ε chosen on the dev half) and a fixed-refusal baseline on the test half of the bundled
  HHH eval items, judged through the HHH harness, per item (``steering.ambs_eval``); beside it ``ambs_items``
  (every system and ε on every item), ``ambs_sweep`` (per ε: the bound's action, KL quantiles, scores,
  consistency), ``ambs_steps`` (per decoding step: KL before and after the bound) and ``ambs_consistency``.
* **P7 MEDASSESS-X** — ``clinical_steering``: Accuracy, Factual Consistency and Safety Error Rate on the *test*
  split of the clinical eval items (bundled, plus the eval half of a real PubMedQA / MedQA file named by
  ``$PUBMEDQA_JSON`` / ``$MEDQA_JSONL``) for four arms: the general (steering) LM unsteered and steered, and the
  specialised model (``steering.finetune``: the profile's medical LM, or a LoRA SFT of the general LM on the train
  items) unsteered and steered; each model's vector is trained on its own activations of the consistent vs
  inconsistent answers of the train items (bundled train split plus the files' train half,
  ``medassess.training_pool``), at the layer and multiplier chosen for it on the *dev* split
  (``steering.medassess.run_comparison``; the split, the choices and the fine-tune are in the config);
  ``clinical_items``: every test item's choice, response and judge scores in every arm.
"""
from __future__ import annotations

import torch

from workbench.build import BuildContext, register_builder

OBJECTIVES = ("helpful", "harmless", "honest")
AGGREGATOR_NAMES = ("mean_difference", "pca", "learned_cosine")


def steering_layers(depth: int, smoke: bool) -> list[int]:
    """Layers to read and steer [ours]: 20 %, 40 % and 60 % of the depth (the middle, where CAA works best)."""
    return [depth // 2] if smoke else sorted({max(0, round(depth * f)) for f in (0.2, 0.4, 0.6)})


def multipliers(smoke: bool) -> list[float]:
    return [-2.0, 0.0, 2.0] if smoke else [-2.0, -1.0, 0.0, 1.0, 2.0]


def _pairs(objective: str, split: str, smoke: bool):
    from workbench.steering.pairs import load_pairs

    return load_pairs(f"bundled:{objective}", split=split).head((8 if split == "train" else 4) if smoke else None)


def build_steering(ctx: BuildContext) -> None:
    import pandas as pd

    from workbench.io import save_frame, save_tensors
    from workbench.models import load
    from workbench.steering.ambs import Branches, _encode, time_prompt_pass
    from workbench.steering.evaluate import generation_shift, sweep
    from workbench.steering.hooks import decoder_layers
    from workbench.steering.vectors import SteeringVector, train_vector

    name = ctx.profile.model_for("steering_lm")
    lm = load(name)
    depth = len(decoder_layers(lm.model))
    layers = steering_layers(depth, ctx.smoke)
    tensors, cosines, tables = {}, {}, []
    aggregators = AGGREGATOR_NAMES[:1] if ctx.smoke else AGGREGATOR_NAMES
    steps = len(OBJECTIVES) * len(aggregators)
    for i, objective in enumerate(OBJECTIVES):
        train, held = _pairs(objective, "train", ctx.smoke), _pairs(objective, "eval", ctx.smoke)
        vecs = {}
        for j, agg in enumerate(aggregators):
            ctx.progress(0.85 * (i * len(aggregators) + j) / steps, f"{objective}: {agg} vectors and sweep")
            vecs[agg] = train_vector(lm, train.prompts, train.positives, train.negatives, layers, aggregator=agg,
                                     position="answer", objective=objective)
            table = sweep(lm, vecs[agg], held.prompts, held.positives, held.negatives,
                          multipliers=multipliers(ctx.smoke))
            tables.append(table.assign(objective=objective, aggregator=agg))
        for layer in layers:
            tensors[f"{objective}.layer{layer}"] = vecs["mean_difference"].vectors[layer].float()
            cosines[f"{objective}.layer{layer}"] = {
                agg: float(torch.nn.functional.cosine_similarity(v.vectors[layer], vecs["mean_difference"]
                                                                 .vectors[layer], dim=0)) for agg, v in vecs.items()}
    ctx.progress(0.86, "steered generations")
    encoder = load(ctx.profile.model_for("sentence_encoder"))
    mid = layers[len(layers) // 2]
    shifts = []
    for objective in OBJECTIVES:
        held = _pairs(objective, "eval", ctx.smoke)
        vec = SteeringVector({mid: tensors[f"{objective}.layer{mid}"]}, name)
        shifts.append(generation_shift(lm, encoder, held.prompts, held.positives, held.negatives, vec, mid,
                                       multipliers=(0.0, 2.0), max_new_tokens=8 if ctx.smoke else 40)
                      .assign(objective=objective, layer=mid))
    ctx.progress(0.9, "AMBS: shared prefix vs three naive passes")
    half = depth // 2 - 1
    if half not in layers:
        for objective in OBJECTIVES:
            train = _pairs(objective, "train", ctx.smoke)
            tensors[f"{objective}.layer{half}"] = train_vector(lm, train.prompts, train.positives, train.negatives,
                                                               [half], position="answer").vectors[half].float()
    branches = Branches.from_vectors(lm.model, half, {o: tensors[f"{o}.layer{half}"] for o in OBJECTIVES})
    prompts = _pairs("helpful", "eval", ctx.smoke).prompts[:4]
    ids, mask = _encode(lm, prompts)
    timing = time_prompt_pass(lm.model, ids, mask, branches, repeats=1 if ctx.smoke else 3)
    config = {"pairs": "data/steering/pairs.jsonl", "layers": layers, "position": "answer", "smoke": ctx.smoke,
              "depth": depth, "multipliers": multipliers(ctx.smoke), "behaviour_p": "mean σ(s(pos) − s(neg))"}
    save_tensors(tensors, ctx.path(ctx.paper, "steering_vectors"), profile=ctx.profile.name, models=[name],
                 seed=ctx.seed, config={**config, "aggregator": "mean_difference"}, extra={"cosines": cosines})
    save_frame(pd.concat(shifts, ignore_index=True), ctx.path(ctx.paper, "steering_generations"),
               profile=ctx.profile.name, models=[name, ctx.profile.model_for("sentence_encoder")], seed=ctx.seed,
               config={**config, "margin": "cos(generation, positive) − cos(generation, negative)"})
    save_frame(pd.concat(tables, ignore_index=True), ctx.path(ctx.paper, "steering_sweep"),
               profile=ctx.profile.name, models=[name], seed=ctx.seed, config={**config, "ambs_timing": timing})


AMBS_MULTIPLIER = 2.0      # [ours] fixed a priori (the sweep's largest), the same for the naive 1-to-N and AMBS


def ambs_vectors(lm, layer: int, smoke: bool) -> dict:
    """One mean-difference vector per objective at ``layer``, each from that objective's own train pairs."""
    from workbench.steering.vectors import train_vector

    vectors = {}
    for objective in OBJECTIVES:
        train = _pairs(objective, "train", smoke)
        vectors[objective] = train_vector(lm, train.prompts, train.positives, train.negatives, [layer],
                                          position="answer", objective=objective).vectors[layer].float()
    return vectors


def ambs_judges(lm, judge: str) -> dict:
    """The HHH harness's four built-in judges on ``judge`` (the loaded ``lm`` itself when it is that model);
    ``ambs_eval.run_comparison`` remembers their answers per item."""
    from workbench.evaluation.hhh import hhh_judges

    return hhh_judges(lm if judge == lm.name else judge, memo=False)


def ambs_data(smoke: bool) -> str:
    return ("bundled: HHH eval items (data/experts, eval split" + (", two per axis" if smoke else "") +
            "), test half; vectors from data/steering/pairs.jsonl (train split)")


def build_ambs_vs_naive(ctx: BuildContext) -> None:
    from workbench.build import rehearsal_limit
    from workbench.experts.artifacts import hhh_eval_set
    from workbench.io import save_frame
    from workbench.models import load
    from workbench.steering.ambs_eval import epsilons, run_comparison
    from workbench.steering.hooks import decoder_layers

    name, judge = ctx.profile.model_for("steering_lm"), ctx.profile.model_for("judge")
    lm = load(name)
    layer = len(decoder_layers(lm.model)) // 2 - 1
    ctx.progress(0.02, f"one vector per objective at layer {layer}, each from its own pairs")
    vectors = ambs_vectors(lm, layer, ctx.smoke)
    eval_set = hhh_eval_set(ctx.smoke)
    run = run_comparison(lm, vectors, layer, eval_set, ambs_judges(lm, judge), multiplier=AMBS_MULTIPLIER,
                         eps_grid=epsilons(ctx.smoke), relative=True,
                         max_new_tokens=rehearsal_limit(ctx, 8, 2) if ctx.smoke else 48,
                         progress=lambda f, m: ctx.progress(0.1 + 0.85 * f, m))
    config, frames = ambs_artifacts(run, smoke=ctx.smoke, judge=judge, eval_rows=len(eval_set))
    models = [name] + ([judge] if judge != name else [])
    for artifact, frame in frames.items():
        save_frame(frame, ctx.path(ctx.paper, artifact), profile=ctx.profile.name, models=models, seed=ctx.seed,
                   config=config)


def ambs_artifacts(run, *, smoke: bool, judge: str, eval_rows: int) -> tuple[dict, dict]:
    """The config and the frames (artifact name → frame) the ``ambs_vs_naive`` builder saves from a
    ``steering.ambs_eval.run_comparison`` run; the P8 notebook reads the same shapes."""
    from workbench.steering.ambs_eval import comparison_frame, sweep_frame

    config = {**run.config, "smoke": smoke, "judge": judge, "data": ambs_data(smoke), "data_kind": "bundled",
              "eval_rows": eval_rows}
    return config, {"ambs_vs_naive": comparison_frame(run), "ambs_items": run.items, "ambs_sweep": sweep_frame(run),
                    "ambs_steps": run.steps, "ambs_consistency": run.consistency}


def clinical_multipliers(smoke: bool) -> list[float]:
    """Candidate multipliers for P7, compared on the dev split [ours]: toward the consistent answers only."""
    return [2.0] if smoke else [0.5, 1.0, 2.0, 4.0]


def clinical_files() -> dict[str, str]:
    """Real clinical QA files named by ``$PUBMEDQA_JSON`` (``ori_pqal.json``) and ``$MEDQA_JSONL`` (a MedQA
    JSONL, e.g. the US ``test.jsonl``): source → path, for the ones set."""
    import os

    return {source: os.environ[var] for source, var in (("pubmedqa", "PUBMEDQA_JSON"), ("medqa", "MEDQA_JSONL"))
            if os.environ.get(var)}


def clinical_layers(smoke: bool):
    """``depth → steering_layers(depth, smoke)``: the candidate layers of a P7 model of any depth (the general and
    the specialised model may differ)."""
    from functools import partial

    return partial(steering_layers, smoke=smoke)


def clinical_smoke(smoke: bool) -> dict:
    """Sizes of a P7 smoke run [ours, sized for CPU tests]: one yes/no/maybe train pair (the shortest prompts: no
    option list), one yes/no/maybe item per side of the split, one multiplier, four new tokens (a full run: every
    train and evaluation item of both types, ``clinical_multipliers``, 48 tokens)."""
    return ({"train": 1, "kinds": ("yesno",), "limit": 1, "max_new_tokens": 4} if smoke else
            {"train": None, "kinds": ("mcq", "yesno"), "limit": None, "max_new_tokens": 48})


def clinical_train(sizes: dict, files: dict | None = None):
    """The train items a P7 run (of ``clinical_smoke``'s sizes) fine-tunes on and trains its vectors on: the
    bundled train items plus the train half of the real files in ``files`` (``medassess.training_pool``)."""
    from workbench.steering.medassess import training_pool

    train = training_pool(**(files or {}))
    return train[train["type"].isin(sizes["kinds"])].head(sizes["train"]).reset_index(drop=True)


def clinical_data_kind(files: dict) -> str:
    """``real`` when a real PubMedQA / MedQA file joins the bundled items, else ``bundled``."""
    return "real + bundled" if files else "bundled"


def build_clinical(ctx: BuildContext) -> None:
    from pathlib import Path

    from workbench.io import save_frame
    from workbench.models import load
    from workbench.steering.finetune import steering_vs_specialised
    from workbench.steering.medassess import describe_sources, evaluation_pool, majority_baseline

    name = ctx.profile.model_for("steering_lm")
    judge = ctx.profile.model_for("judge")
    files = clinical_files()
    sizes = clinical_smoke(ctx.smoke)
    items = evaluation_pool(**files)          # read (and checked) before any model work
    items = items[items["type"].isin(sizes["kinds"])]
    train_items = clinical_train(sizes, files)
    made = steering_vs_specialised(ctx.profile, load(name), items, train_items,
                                   layers_for=clinical_layers(ctx.smoke),
                                   multipliers=clinical_multipliers(ctx.smoke), judge=judge, seed=ctx.seed,
                                   smoke=ctx.smoke, limit=sizes["limit"], max_new_tokens=sizes["max_new_tokens"],
                                   files={s: Path(p).name for s, p in files.items()},
                                   progress=lambda f, m: ctx.progress(0.02 + 0.96 * f, m))
    test = made.run.split[made.run.split["part"] == "test"]
    config = {**made.run.config, "vector_pairs": made.pairs, "smoke": ctx.smoke, "judge": judge,
              "finetuned": made.specialised, "majority_baseline": majority_baseline(train_items, test),
              "train_items": {"n": len(train_items), "sources": describe_sources(train_items, "train")},
              "data_kind": clinical_data_kind(files)}
    models = list(dict.fromkeys([name, made.models["finetuned"].name, judge]))
    for artifact, frame in (("clinical_steering", made.run.summary), ("clinical_items", made.run.per_item)):
        save_frame(frame, ctx.path(ctx.paper, artifact), profile=ctx.profile.name, models=models, seed=ctx.seed,
                   config=config)


register_builder("P8", "steering_sweep", "steering vectors per objective, sweeps, AMBS timing")(build_steering)
register_builder("P8", "ambs_vs_naive", "unsteered vs naive 1-to-N vs AMBS with a KL bound, through the HHH harness",
                 quick=False)(
    build_ambs_vs_naive)
register_builder("P7", "clinical_steering", "clinical QA: general vs fine-tuned model, each with and without a "
                 "consistency vector")(build_clinical)
