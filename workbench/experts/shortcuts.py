"""Trivial baselines beside the P3 AlignX / P10 TrinityX HHH evaluation and its routing [ours].

A number a shortcut could produce is not a result, so two kinds of shortcut stand next to the mixtures' tables:

* **Response shortcuts** (``RESPONSE_SHORTCUTS``) — systems that do not read the prompt's meaning at all, judged
  by the same judges on the same held-out items as the mixtures (``shortcut_hhh``):

  - ``refuse all`` answers every prompt with one fixed refusal. On the harmless axis it is the trivial optimum
    (a judge that flags it is broken); on the helpful and honest axes it should lose. A mixture whose harmless
    gain a blanket refusal matches has shown no more than refusing does.
  - ``echo prompt`` answers with the prompt itself: every keyword of the question, no content. A judge that
    rewards it on truthfulness or informativeness is reading surface overlap.

* **Surface routers** (``surface_routing``) — which-axis classifiers trained on the mixture's train prompts from
  surface features only, scored on the router's test rows with the same accuracy / ECE / Brier as the learned
  router (``mixture.calibration_report``): a bag of words (word uni- and bigram counts, multinomial logistic
  regression, C = 1 fixed a priori, nothing tuned), the prompt's length alone (characters and words), and the
  majority axis. When the bag of words routes as well as the router reading the backbone's hidden state, the
  routing task is a surface one, and the router's accuracy says nothing about the backbone.

``build_hhh_shortcuts`` writes both as the ``hhh_shortcuts`` artifact of P3 and P10 (metrics in the ``hhh_eval``
layout, with ``shortcut`` naming the system; the surface routers in its config).
"""
from __future__ import annotations

import numpy as np

from workbench import WorkbenchError
from workbench.evaluation.hhh import REFUSAL

RESPONSE_SHORTCUTS = ("refuse all", "echo prompt")
SURFACE_C = 1.0          # fixed a priori: nothing is tuned, so no split is spent on choosing it


def shortcut_responses(eval_set, names=RESPONSE_SHORTCUTS) -> dict[str, dict[str, list[str]]]:
    """``responses[system][axis]`` of the response shortcuts ``names`` for ``eval_set``'s rows, per axis in row
    order (the layout ``evaluation.hhh.evaluate_hhh`` reads)."""
    unknown = sorted(set(names) - set(RESPONSE_SHORTCUTS))
    if unknown:
        raise WorkbenchError(f"unknown response shortcut '{unknown[0]}'; choose from {', '.join(RESPONSE_SHORTCUTS)}")
    axes = list(dict.fromkeys(eval_set["axis"]))
    out = {}
    for name in names:
        answer = (lambda p: REFUSAL) if name == "refuse all" else (lambda p: p)
        out[name] = {a: [answer(p) for p, ax in zip(eval_set["prompt"], eval_set["axis"]) if ax == a] for a in axes}
    return out


def shortcut_hhh(eval_set, judge: str, *, names=RESPONSE_SHORTCUTS):
    """The response shortcuts judged by ``judge``'s four built-in HHH judges on ``eval_set``: (metrics frame in
    ``evaluate_hhh``'s layout, per-item frame in ``hhh_responses``' layout)."""
    from workbench.evaluation.hhh import evaluate_hhh, hhh_judges
    from workbench.experts.artifacts import hhh_response_frame

    responses = shortcut_responses(eval_set, names)
    judges = hhh_judges(judge)
    metrics = evaluate_hhh(eval_set, responses, **judges)
    return metrics, hhh_response_frame(eval_set, responses, judges)


def surface_features(prompts, kind: str, vectorizer=None):
    """(features, vectorizer) of ``prompts``: ``bag of words`` (word uni/bigram counts; the vectorizer is fitted
    when not given) or ``length`` (characters and words, log-scaled)."""
    if kind == "bag of words":
        from sklearn.feature_extraction.text import CountVectorizer

        if vectorizer is None:
            vectorizer = CountVectorizer(ngram_range=(1, 2), lowercase=True)
            return vectorizer.fit_transform(prompts), vectorizer
        return vectorizer.transform(prompts), vectorizer
    if kind == "length":
        x = np.array([[len(p), len(p.split())] for p in prompts], dtype=float)
        return np.log1p(x), None
    raise WorkbenchError(f"unknown surface feature set '{kind}'; choose from bag of words, length")


def surface_routing(train_prompts, train_labels, test_prompts, test_labels, n_axes: int, *, seed: int = 0) -> dict:
    """Accuracy, ECE and Brier (``mixture.calibration_report``) on the test rows of the surface routers (module
    doc) trained on the train rows; labels are axis indices 0 … ``n_axes`` − 1."""
    from sklearn.linear_model import LogisticRegression

    from workbench.experts.mixture import calibration_report

    y_train, y_test = np.asarray(train_labels, int), np.asarray(test_labels, int)
    if len(y_train) == 0 or len(y_test) == 0:
        raise WorkbenchError("surface routing needs train and test rows")
    if len(y_train) != len(train_prompts) or len(y_test) != len(test_prompts):
        raise WorkbenchError("one label per prompt is needed for surface routing")
    probs = {}
    for kind in ("bag of words", "length"):
        x_train, fitted = surface_features(list(train_prompts), kind)
        x_test, _ = surface_features(list(test_prompts), kind, fitted)
        if len(set(y_train)) < 2:
            p = np.zeros((len(y_test), n_axes))
            p[:, y_train[0]] = 1.0
        else:
            model = LogisticRegression(C=SURFACE_C, max_iter=2000, random_state=seed).fit(x_train, y_train)
            p = np.zeros((len(y_test), n_axes))
            p[:, model.classes_] = model.predict_proba(x_test)
        probs[kind] = p
    majority = np.bincount(y_train, minlength=n_axes).astype(float)
    probs["majority"] = np.tile(majority / majority.sum(), (len(y_test), 1))
    report = calibration_report({"uncalibrated": probs["bag of words"], **probs}, y_test)
    del report["uncalibrated"], report["accuracy"]
    return report


def surface_table(surface: dict):
    """``surface_routing``'s (or ``mixture_surface_routing``'s) report as one frame: accuracy, ECE and Brier per
    router, the learned router's rows (when present) last."""
    import pandas as pd

    rows = {name: surface[name] for name in ("bag of words", "length", "majority")}
    rows |= {f"router ({c})": m for c, m in surface.get("router", {}).items()}
    return pd.DataFrame([{"router": name, **{k: m[k] for k in ("accuracy", "ece", "brier")}}
                         for name, m in rows.items()])


def mixture_surface_routing(folder, *, smoke: bool, seed: int = 0) -> dict:
    """``surface_routing`` for a trained mixture's folder: trained on the prompts its router trained on (the
    mixture's train split), tested on its router's test rows (``routing``, split "test"), beside the learned
    router's own test report."""
    import json
    from pathlib import Path

    from workbench.experts.artifacts import mixture_data
    from workbench.io import load_frame

    folder = Path(folder)
    report = json.loads((folder / "report.json").read_text())
    axes = list(report["axes"])
    data = mixture_data(smoke)
    train = data[data["split"] == "train"]
    routing = load_frame(folder / "routing")
    test = routing[routing["split"] == "test"]
    index = {a: i for i, a in enumerate(axes)}
    unknown = sorted(set(train["axis"]) - set(index))
    if unknown:
        raise WorkbenchError(f"train rows with an axis outside the mixture's ({unknown[0]})")
    out = surface_routing(train["prompt"].tolist(), train["axis"].map(index).to_numpy(), test["prompt"].tolist(),
                          test["label"].to_numpy(), len(axes), seed=seed)
    out["router"] = {k: report["test"][k] for k in ("uncalibrated", "temperature") if k in report["test"]}
    return out


def build_hhh_shortcuts(ctx) -> None:
    """The ``hhh_shortcuts`` artifact of P3 / P10 (module doc): the response shortcuts judged on the paper's HHH
    items by the profile's judge, with the surface routers of the paper's mixture in the config."""
    from workbench.experts.artifacts import (MIXTURES, REAL_HONEST, SMOKE_REAL_HONEST, hhh_eval_set, hhh_models,
                                             trained_mixture)
    from workbench.io import save_frame

    backbone = ctx.profile.model_for("expert_backbone")
    folder = trained_mixture(ctx.paper, backbone, smoke=ctx.smoke, seed=ctx.seed, profile=ctx.profile.name,
                             progress=lambda f, m: ctx.progress(0.3 * f, m))
    ctx.progress(0.3, "surface routers")
    routing = mixture_surface_routing(folder, smoke=ctx.smoke, seed=ctx.seed)
    judge = ctx.profile.model_for("judge")
    eval_set = hhh_eval_set(ctx.smoke, real_honest=SMOKE_REAL_HONEST if ctx.smoke else REAL_HONEST, seed=ctx.seed)
    ctx.progress(0.4, "judging the response shortcuts")
    metrics, items = shortcut_hhh(eval_set, judge)
    config = {"mixture": folder.name, "smoke": ctx.smoke, "judge": judge, "eval_rows": len(eval_set),
              "paper_setup": MIXTURES[ctx.paper], "shortcuts": list(RESPONSE_SHORTCUTS), "refusal": REFUSAL,
              "surface_routing": routing, "surface_c": SURFACE_C,
              "data_kinds": {str(k): int(v) for k, v in eval_set["data_kind"].value_counts().items()}}
    models = hhh_models(backbone, judge)
    save_frame(metrics, ctx.path(ctx.paper, "hhh_shortcuts"), profile=ctx.profile.name, models=models,
               seed=ctx.seed, config=config)
    save_frame(items, ctx.path(ctx.paper, "hhh_shortcut_responses"), profile=ctx.profile.name, models=models,
               seed=ctx.seed, config=config)


__all__ = ["REFUSAL", "RESPONSE_SHORTCUTS", "build_hhh_shortcuts", "mixture_surface_routing", "shortcut_hhh",
           "shortcut_responses", "surface_features", "surface_routing", "surface_table"]
