"""Artifacts of the meme capability (P5 CROSS-ALIGN+), registered as builders.

* ``meme_eval`` — the three settings (``none``, ``knowledge``, ``knowledge+lora``; ``ablation.default_models``:
  trained once on the synthetic memes' train split and cached) scored on the held-out split, whose peoples,
  institutions and coded terms never occur in training. One row per meme × setting: text, image path, truth,
  prediction, class probabilities, image tags and retrieved triples; the ``knowledge+lora`` rows also carry
  their explanation cascade's evidence (JSON: visual cue, textual cue, knowledge link, verdict). The meta's
  config holds the headline — the flip-group scores of each setting (``flip_pairs``: accuracy with every member
  of a flip group right, and the strict macro-F1, ``memes.flips``) beside the full held-out split's — the
  surface-feature shortcut baseline trained on the same train split (``shortcut``, ``memes.shortcut``), the
  metrics with bootstrap CIs, the relative gains over ``none``, the confusion matrices, accuracy on the flip
  kinds and by target type, explanation cascades with the LLM's sentences for a sample of
  memes, the datasets it was scored on (``datasets``: only "synthetic" today), and the data, tagger and model
  configuration.
* ``meme_vlm`` — the small vision-language model's four settings (``memes.vlm``) beside the head models and the
  shortcut, with the explanation check (``build_meme_vlm``).
"""
from __future__ import annotations

from workbench.build import BuildContext, register_builder, rehearsal_limit


def slice_accuracy(predictions, column: str) -> list[dict]:
    """Accuracy of each setting on each value of ``column`` (e.g. the flip kind or the target type)."""
    rows = []
    data = predictions[predictions[column].fillna("").astype(str) != ""]
    for (setting, value), part in data.groupby(["setting", column], sort=True):
        rows.append({"setting": setting, column: value, "accuracy": float((part["label"] == part["pred"]).mean()),
                     "rows": int(len(part))})
    return rows


def eval_config(result: dict, predictions, *, corpus, tagger, model, training: dict, explanations: list,
                smoke: bool, shortcut: dict | None = None) -> dict:
    """The ``meme_eval`` artifact's config from ``ablation.evaluate_models``' result on the synthetic memes' held-out
    split (the builder's and the P5 notebook's, so that the claims ledger reads the same shape from both)."""
    from dataclasses import asdict

    from workbench.memes.knowledge import default_knowledge
    from workbench.memes.shortcut import shortcut_record

    return {"flip_pairs": result.get("flips") or [],
            "shortcut": shortcut_record(shortcut) if shortcut else {},
            "metrics": result["metrics"].to_dict("records"), "gains": result["gains"].to_dict("records"),
            "confusion": result["confusion"], "classes": result["classes"],
            "by_flip": slice_accuracy(predictions, "flip"), "by_target": slice_accuracy(predictions, "target_type"),
            "explanations": explanations, "corpus": asdict(corpus), "tagger": asdict(tagger),
            "model": asdict(model), "knowledge": default_knowledge().describe(), "training": training,
            "smoke": smoke, "datasets": ["synthetic"],
            "split": "synthetic memes, held-out split (unseen peoples, institutions and coded terms)"}


def build_meme_eval(ctx: BuildContext) -> None:
    import json

    import pandas as pd

    from workbench.memes.ablation import default_models, evaluate_models, smoke_configs, synthetic_set
    from workbench.memes.explain import STEPS, cascade
    from workbench.memes.model import MemeModelConfig
    from workbench.memes.shortcut import shortcut_baseline
    from workbench.memes.synth import MemeCorpusConfig
    from workbench.memes.vision import TaggerConfig, load_image
    from workbench.io import save_frame
    from workbench.engines import load_engine

    corpus, tagger, config = smoke_configs() if ctx.smoke else (MemeCorpusConfig(), TaggerConfig(),
                                                                 MemeModelConfig())
    ctx.progress(0.0, "synthetic memes")
    memes = synthetic_set(corpus)
    models = default_models(corpus=corpus, tagger=tagger, config=config, profile=ctx.profile.name,
                            progress=lambda f, m: ctx.progress(0.05 + 0.6 * f, m))
    held = memes.frame[memes.frame["split"] == "test"]
    result = evaluate_models(models, held, memes.classes, n_boot=200 if ctx.smoke else 1000, seed=ctx.seed,
                             progress=lambda f, m: ctx.progress(0.65 + 0.2 * f, m))
    preds = result["predictions"]
    ctx.progress(0.85, "surface-feature shortcut baseline")
    shortcut = shortcut_baseline(memes.frame[memes.frame["split"] == "train"], held, memes.classes, seed=ctx.seed,
                                 n_boot=200 if ctx.smoke else 1000)
    best = models["knowledge+lora"]
    # every prediction of the full setting carries its cascade's evidence (model-measured, no LLM) …
    preds["explanation"] = ""
    rows = preds.index[preds["setting"] == "knowledge+lora"]
    for n, r in enumerate(rows):
        if n % 25 == 0:
            ctx.progress(0.85 + 0.05 * n / len(rows), f"explanation evidence {n}/{len(rows)}")
        image = load_image(preds.at[r, "image"])
        pred = best.predict([image], [preds.at[r, "text"]])[0]
        steps = cascade(best, image, preds.at[r, "text"], pred)
        preds.at[r, "explanation"] = json.dumps({k: steps[k]["evidence"] for k in STEPS})
    # … and a sample (one flip pair of each kind, then one meme per class) has the LLM's sentences too
    lm = load_engine(ctx.profile.model_for("meme_explainer"))      # the engine --engine picks
    flips = held[held["flip"].fillna("") != ""].drop_duplicates("flip")
    others = held[~held["id"].isin(flips["id"])].drop_duplicates("label")
    sample = pd.concat([flips, others]).head(2 if ctx.smoke else 6)
    explanations = []
    for i, row in enumerate(sample.itertuples(index=False)):
        ctx.progress(0.9 + 0.1 * i / max(len(sample), 1), f"explaining {row.id}")
        image = load_image(row.image)
        pred = best.predict([image], [row.text])[0]
        explanations.append({"id": row.id, "text": row.text, "image": row.image, "label": row.label,
                             "pred": pred["label"], "confidence": pred["confidence"], "flip": row.flip,
                             "cascade": cascade(best, image, row.text, pred, lm=lm)})
    models_used = sorted({name for m in models.values() for name in m.models} | {lm.name})
    save_frame(preds, ctx.path(ctx.paper, "meme_eval"), profile=ctx.profile.name, models=models_used,
               seed=ctx.seed,
               config=eval_config(result, preds, corpus=corpus, tagger=tagger, model=config,
                                  training={s: m.info for s, m in models.items()}, explanations=explanations,
                                  smoke=ctx.smoke, shortcut=shortcut))
    ctx.progress(1.0, "done")


register_builder("P5", "meme_eval", "synthetic memes, three settings trained, held-out flip-group accuracy and "
                                   "macro-F1 with CIs, beside a surface-feature shortcut baseline")(
    build_meme_eval)


def build_meme_vlm(ctx: BuildContext) -> None:
    """``meme_vlm``: the small vision-language model's four settings (``memes.vlm``: ``vlm``, ``vlm+knowledge``,
    ``vlm+lora``, ``vlm+knowledge+lora``; trained once on the synthetic memes' train split and cached) scored on the
    held-out split beside the head models of ``meme_eval`` (rows ``head <setting>``, the same cached models) and
    the surface-feature shortcut, with the VLM gains over ``vlm`` and the explanation check. One row per meme ×
    model; the config is ``memes.vlm.grid_record`` plus the data, tagger and VLM configuration and the training
    histories. On the ``paper`` profile the VLM is LLaVA-style (CLIP ViT-L/14 → projector → Mistral-7B-Instruct;
    ``memes.vlm.vlm_lm_name``); a tiny rehearsal trains it on 4 memes a class for one epoch."""
    import time
    from dataclasses import asdict, replace

    from workbench.io import save_frame
    from workbench.memes.ablation import default_models, smoke_configs, synthetic_set
    from workbench.memes.model import MemeModelConfig
    from workbench.memes.shortcut import shortcut_baseline
    from workbench.memes.synth import MemeCorpusConfig
    from workbench.memes.vision import TaggerConfig
    from workbench.memes.vlm import VLMConfig, default_vlms, grid_record, run_vlm_grid, smoke_vlm_config, vlm_lm_name

    corpus, tagger, head = smoke_configs() if ctx.smoke else (MemeCorpusConfig(), TaggerConfig(), MemeModelConfig())
    vlm_config = smoke_vlm_config() if ctx.smoke else VLMConfig()
    if ctx.rehearsal:                  # random weights: the fewest memes that still run every step
        vlm_config = replace(vlm_config, train_per_class=4, epochs=1)
    base = {"corpus": asdict(corpus), "tagger": asdict(tagger), "vlm": asdict(vlm_config), "smoke": ctx.smoke,
            "datasets": ["synthetic"], "split": "synthetic memes, held-out split"}
    lm_name = vlm_lm_name(ctx.profile.name, check=True)
    started = time.monotonic()
    memes = synthetic_set(corpus)
    heads = default_models(corpus=corpus, tagger=tagger, config=head, profile=ctx.profile.name,
                           progress=lambda f, m: ctx.progress(0.1 * f, m))
    vlms = default_vlms(corpus=corpus, tagger=tagger, config=vlm_config, profile=ctx.profile.name,
                        progress=lambda f, m: ctx.progress(0.1 + 0.6 * f, m))
    trained_s = time.monotonic() - started
    frame = memes.frame
    held, train = frame[frame["split"] == "test"], frame[frame["split"] == "train"]
    n_boot = 200 if ctx.smoke else 1000
    shortcut = shortcut_baseline(train, held, memes.classes, seed=ctx.seed, n_boot=n_boot)
    grid = run_vlm_grid(vlms, held, memes.classes, baselines={f"head {s}": m for s, m in heads.items()},
                        shortcut=shortcut, explain=rehearsal_limit(ctx, 4, 1) if ctx.smoke else 24, n_boot=n_boot,
                        seed=ctx.seed,
                        progress=lambda f, m: ctx.progress(0.7 + 0.3 * f, m))
    models = sorted({n for m in [*heads.values(), *vlms.values()] for n in m.models} | {lm_name})
    save_frame(grid["predictions"], ctx.path(ctx.paper, "meme_vlm"), profile=ctx.profile.name, models=models,
               seed=ctx.seed, config={**base, **grid_record(grid),
                                      "training": {s: v.info for s, v in vlms.items()},
                                      "seconds": {"train_or_load": round(trained_s, 1),
                                                  "total": round(time.monotonic() - started, 1)}})
    ctx.progress(1.0, "done")


register_builder("P5", "meme_vlm", "synthetic memes: the small vision-language model's four settings (base, "
                                  "+knowledge, +LoRA, +both) beside the head models and the shortcut, with the "
                                  "explanation check", quick=False)(build_meme_vlm)
