"""The P5 ablation end to end: train the three settings on a meme set, score them on held-out memes, compare.

* ``synthetic_set`` — the synthetic meme corpus (``memes.synth``, made once) as a ``MemeSet``; the image and text
  sides the settings share come from ``memes.sides.sides_for_profile``.
* ``train_settings`` — one ``MemeModel`` per setting (``none``, ``knowledge``, ``knowledge+lora``) on the same
  rows, the same image side and the same seed, so that the settings differ only in what the ablation varies.
* ``evaluate_models`` — predictions per meme × setting, macro-F1 / per-class F1 / accuracy with percentile
  bootstrap CIs, the relative macro-F1 gain of each setting over ``none`` (paired bootstrap), confusion
  matrices and, where the memes have flip groups (``pair_id``), the flip-group scores of ``memes.flips``
  (``flips``: every member of a group right; the P5 headline).
* ``default_models`` — the three settings trained on the synthetic train split, cached under
  ``$WORKBENCH_HOME/models/memes/`` by the data and model configuration (the CLI's and dashboard's default);
  ``default_models_folder`` names that folder, ``load_models`` reads saved settings back.

Used by the meme CLI, ``memes.artifacts`` (the P5 build), the dashboard and the P5 notebook.
"""
from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd

from workbench import WorkbenchError
from workbench.memes.model import SETTINGS, MemeModel, MemeModelConfig

SMOKE_MODEL = dict(head_epochs=12, lora_epochs=1, max_length=64, hidden=64)


def folder_name(setting: str) -> str:
    return setting.replace("+", "_")


def smoke_configs():
    """Tiny corpus, tagger and model settings for tests and the notebooks' smoke mode."""
    from workbench.memes.synth import MemeCorpusConfig
    from workbench.memes.vision import TaggerConfig

    return (MemeCorpusConfig(n_train=90, n_eval=45, size=96), TaggerConfig(size=64, epochs=3, corpus_rows=0),
            MemeModelConfig(**SMOKE_MODEL))


def synthetic_set(corpus=None, progress=None):
    """The synthetic meme corpus (generated once, cached) as a ``MemeSet``."""
    from workbench.memes.datasets import load_memes
    from workbench.memes.synth import cached_memes

    return load_memes(cached_memes(corpus, progress=progress), format="synthetic")


def train_settings(frame: pd.DataFrame, classes, *, settings=SETTINGS, config: MemeModelConfig | None = None,
                   image_side, text_side, knowledge=None, profile: str = "default", progress=None) -> dict:
    """One trained ``MemeModel`` per setting on the labelled rows of ``frame`` (columns image, text, label)."""
    from workbench.memes.train import train_meme_model

    report = progress or (lambda f, m: None)
    config = config or MemeModelConfig()
    rows = frame[frame["label"].notna()]
    if rows.empty:
        raise WorkbenchError("no labelled rows to train on")
    models = {}
    for i, setting in enumerate(settings):
        models[setting] = train_meme_model(
            rows["image"].tolist(), rows["text"].tolist(), rows["label"].tolist(), list(classes),
            config=replace(config, setting=setting), image_side=image_side, text_side=text_side,
            knowledge=knowledge, profile=profile,
            progress=lambda f, m, i=i: report((i + f) / len(settings), m))
    return models


def evaluate_models(models: dict, frame: pd.DataFrame, classes, *, n_boot: int = 1000, seed: int = 0,
                    progress=None) -> dict:
    """Scores of each model on the labelled rows of ``frame``; see the module doc for what is returned."""
    from workbench.metrics.classification import confusion, f1_report, relative_gain

    report = progress or (lambda f, m: None)
    rows = frame[frame["label"].notna()].reset_index(drop=True)
    if rows.empty:
        raise WorkbenchError("no labelled rows to evaluate")
    classes = list(classes)
    index = {c: j for j, c in enumerate(classes)}
    y = np.array([index[lab] for lab in rows["label"]])
    preds, metrics, confusions, out = {}, [], {}, []
    for i, (setting, model) in enumerate(models.items()):
        report(i / len(models), f"scoring {setting}")
        prep = model.prepare(rows["image"].tolist(), rows["text"].tolist())
        probs = model.probabilities(prep)
        pred = probs.argmax(1)
        preds[setting] = pred
        rep = f1_report(y, pred, len(classes), n_boot=n_boot, seed=seed)
        metrics.append({"setting": setting, "macro_f1": rep["macro_f1"], "macro_f1_lo": rep["macro_f1_ci"][0],
                        "macro_f1_hi": rep["macro_f1_ci"][1], "accuracy": rep["accuracy"],
                        "accuracy_lo": rep["accuracy_ci"][0], "accuracy_hi": rep["accuracy_ci"][1],
                        **{f"f1_{c}": f for c, f in zip(classes, rep["per_class_f1"])}, "rows": rep["n"],
                        "models": " + ".join(model.models)})
        confusions[setting] = confusion(y, pred, len(classes)).tolist()
        for r, row in rows.iterrows():
            out.append({"id": row["id"], "setting": setting, "text": row["text"], "image": row["image"],
                        "label": row["label"], "pred": classes[pred[r]], "confidence": float(probs[r, pred[r]]),
                        **{f"p_{c}": float(probs[r, j]) for j, c in enumerate(classes)},
                        "tags": "|".join(t for t, _ in prep.tags[r]),
                        "triples": json.dumps([t.to_dict() for t in prep.triples[r]]),
                        **{k: row[k] for k in ("flip", "target_type", "pair_id") if k in rows.columns}})
    gains = []
    if "none" in preds:
        for setting, pred in preds.items():
            if setting != "none":
                g = relative_gain(y, preds["none"], pred, len(classes), n_boot=n_boot, seed=seed)
                gains.append({"setting": setting, "over": "none", "relative_gain": g["relative_gain"],
                              "lo": g["ci"][0], "hi": g["ci"][1], "share_positive": g["share_positive"]})
    from workbench.memes.flips import flip_metrics

    predictions = pd.DataFrame(out)
    flips = flip_metrics(predictions, classes, n_boot=n_boot, seed=seed) if "pair_id" in predictions.columns else []
    report(1.0, "scored")
    return {"predictions": predictions, "metrics": pd.DataFrame(metrics), "gains": pd.DataFrame(gains),
            "confusion": confusions, "classes": classes, "flips": flips}


def run_ablation(train: pd.DataFrame, test: pd.DataFrame, classes, *, settings=SETTINGS,
                 config: MemeModelConfig | None = None, image_side, text_side, knowledge=None,
                 profile: str = "default", n_boot: int = 1000, seed: int = 0, progress=None) -> dict:
    """``train_settings`` on ``train`` then ``evaluate_models`` on ``test``; the result also holds the models."""
    report = progress or (lambda f, m: None)
    config = replace(config or MemeModelConfig(), seed=seed)
    models = train_settings(train, classes, settings=settings, config=config, image_side=image_side,
                            text_side=text_side, knowledge=knowledge, profile=profile,
                            progress=lambda f, m: report(0.85 * f, m))
    result = evaluate_models(models, test, classes, n_boot=n_boot, seed=seed,
                             progress=lambda f, m: report(0.85 + 0.15 * f, m))
    result["models"] = models
    return result


def default_models_folder(*, corpus=None, tagger=None, config: MemeModelConfig | None = None,
                          profile: str | None = None) -> Path:
    """Where ``default_models`` caches the settings of these configurations (one ``<setting>/`` folder each); the
    dashboard loads them from here without training."""
    from workbench.io import config_key
    from workbench.memes.knowledge import default_knowledge
    from workbench.memes.synth import MemeCorpusConfig
    from workbench.memes.vision import TaggerConfig
    from workbench.paths import models_dir
    from workbench.profiles import active_profile

    corpus, tagger, config = corpus or MemeCorpusConfig(), tagger or TaggerConfig(), config or MemeModelConfig()
    key = config_key({"corpus": corpus.key(), "tagger": asdict(tagger), "model": config.key(),
                      "knowledge": default_knowledge().fingerprint()})
    return models_dir() / "memes" / f"{profile or active_profile().name}-{key}"


def default_models(*, corpus=None, tagger=None, config: MemeModelConfig | None = None, settings=SETTINGS,
                   profile: str | None = None, progress=None) -> dict:
    """The three settings trained on the synthetic train split on ``profile`` (default: the active one), cached
    (``models/memes/<profile>-<key>/<setting>/``,
    the key covering the corpus, tagger and model configurations and the knowledge snapshot's fingerprint)."""
    from workbench.memes.synth import MemeCorpusConfig
    from workbench.memes.vision import TaggerConfig
    from workbench.profiles import active_profile

    report = progress or (lambda f, m: None)
    corpus, tagger, config = corpus or MemeCorpusConfig(), tagger or TaggerConfig(), config or MemeModelConfig()
    profile = profile or active_profile().name
    root = default_models_folder(corpus=corpus, tagger=tagger, config=config, profile=profile)
    # a paper-profile folder saved before its zero-shot tags were calibrated has no clip_tags.json: retrain it
    needed = ("model.json", "clip_tags.json") if profile == "paper" else ("model.json",)
    missing = [s for s in settings if not all((root / folder_name(s) / f).is_file() for f in needed)]
    if missing:
        from workbench.memes.sides import sides_for_profile

        image_side, text_side = sides_for_profile(profile, corpus=corpus, tagger=tagger,
                                                  max_length=config.max_length,
                                                  progress=lambda f, m: report(0.2 * f, m))
        frame = synthetic_set(corpus).frame
        models = train_settings(frame[frame["split"] == "train"], ("benign", "satire", "abusive"),
                                settings=missing, config=config, image_side=image_side, text_side=text_side,
                                profile=profile, progress=lambda f, m: report(0.2 + 0.8 * f, m))
        for setting, model in models.items():
            model.info["data"] = f"synthetic memes (train split, corpus {corpus.key()})"
            model.save(root / folder_name(setting))
    return {s: MemeModel.load(root / folder_name(s)) for s in settings}


def default_model(setting: str = "knowledge+lora", progress=None) -> MemeModel:
    if setting not in SETTINGS:
        raise WorkbenchError(f"unknown setting '{setting}'; choose from {', '.join(SETTINGS)}")
    return default_models(settings=(setting,), progress=progress)[setting]


def load_models(folder) -> dict:
    """Every setting saved under ``folder`` (as ``train --out`` writes them), or one model folder itself."""
    folder = Path(folder)
    if (folder / "model.json").is_file():
        model = MemeModel.load(folder)
        return {model.config.setting: model}
    found = {s: MemeModel.load(folder / folder_name(s)) for s in SETTINGS
             if (folder / folder_name(s) / "model.json").is_file()}
    if not found:
        raise WorkbenchError(f"no meme models in {folder} (expected model.json or "
                             f"{', '.join(folder_name(s) for s in SETTINGS)}/)")
    return found


__all__ = ["SMOKE_MODEL", "default_model", "default_models", "default_models_folder", "evaluate_models",
           "folder_name", "load_models", "run_ablation", "smoke_configs", "synthetic_set", "train_settings"]
