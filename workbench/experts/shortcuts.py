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

* **The matched set** (``matched_routing``) — the same surface routers, and the learned router, scored a second
  time on the lexically matched test set (``data.matched_axis_data``: per topic one helpful, one harmful and one
  honesty prompt sharing their opening, content words and length). Surface cues cannot route it, so a bag of
  words falls towards chance (1/3) there, while a router that reads the meaning should not. The learned router
  reads the matched prompts exactly as it read its test rows: the mixture's pooled hidden state (adapters off)
  and geometric features (``realcheck.route_real``), its fitted calibrators (``mixture.routing_probs``), the same
  report (``mixture.calibration_report``). The accuracy intervals resample whole topics (95 % percentile
  bootstrap, ``token_router.prompt_cluster_ci``): the three prompts of a topic are not independent.

``build_hhh_shortcuts`` writes both as the ``hhh_shortcuts`` artifact of P3 and P10 (metrics in the ``hhh_eval``
layout, with ``shortcut`` naming the system; the surface routers on the test rows and on the matched set in its
config).
"""
from __future__ import annotations

import numpy as np

from workbench import WorkbenchError
from workbench.evaluation.hhh import REFUSAL

RESPONSE_SHORTCUTS = ("refuse all", "echo prompt")
SURFACE_C = 1.0          # fixed a priori: nothing is tuned, so no split is spent on choosing it
ROUTER_CALIBRATORS = ("uncalibrated", "temperature")   # the learned router's rows beside the surface routers
MATCHED_DATA = "bundled: data/experts/matched.jsonl (lexically matched axis prompts, written for this project, CC0)"


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


def surface_probs(train_prompts, train_labels, test_prompts, n_axes: int, *, seed: int = 0) -> dict[str, np.ndarray]:
    """Each surface router's (module doc) routing distribution [N_test, ``n_axes``] for ``test_prompts``, trained on
    the train rows; labels are axis indices 0 … ``n_axes`` − 1."""
    from sklearn.linear_model import LogisticRegression

    y_train = np.asarray(train_labels, int)
    if len(y_train) == 0 or len(test_prompts) == 0:
        raise WorkbenchError("surface routing needs train and test rows")
    if len(y_train) != len(train_prompts):
        raise WorkbenchError("one label per prompt is needed for surface routing")
    n_test = len(test_prompts)
    probs = {}
    for kind in ("bag of words", "length"):
        x_train, fitted = surface_features(list(train_prompts), kind)
        x_test, _ = surface_features(list(test_prompts), kind, fitted)
        p = np.zeros((n_test, n_axes))
        if len(set(y_train)) < 2:
            p[:, y_train[0]] = 1.0
        else:
            model = LogisticRegression(C=SURFACE_C, max_iter=2000, random_state=seed).fit(x_train, y_train)
            p[:, model.classes_] = model.predict_proba(x_test)
        probs[kind] = p
    majority = np.bincount(y_train, minlength=n_axes).astype(float)
    probs["majority"] = np.tile(majority / majority.sum(), (n_test, 1))
    return probs


def surface_routing(train_prompts, train_labels, test_prompts, test_labels, n_axes: int, *, seed: int = 0) -> dict:
    """Accuracy, ECE and Brier (``mixture.calibration_report``) on the test rows of the surface routers (module
    doc) trained on the train rows; labels are axis indices 0 … ``n_axes`` − 1."""
    if len(np.asarray(test_labels)) != len(test_prompts):
        raise WorkbenchError("one label per prompt is needed for surface routing")
    return _report(surface_probs(train_prompts, train_labels, test_prompts, n_axes, seed=seed), test_labels)


def _report(probs: dict[str, np.ndarray], labels) -> dict:
    """``mixture.calibration_report`` of named routing distributions, without its "uncalibrated" shortcut keys."""
    from workbench.experts.mixture import calibration_report

    report = calibration_report({"uncalibrated": next(iter(probs.values())), **probs}, np.asarray(labels, int))
    report.pop("accuracy")
    if "uncalibrated" not in probs:
        report.pop("uncalibrated")
    return report


def matched_routing(train_prompts, train_labels, matched, axes, *, router_probs: dict | None = None, seed: int = 0,
                    n_boot: int = 2000) -> dict:
    """The surface routers trained on the train rows, and the learned router's distributions ``router_probs``
    (calibrator → [N, K], rows in ``matched``'s order; ``router_matched_probs``), on the matched set ``matched``
    (``data.matched_axis_data``): ``surface_routing``'s report with ``router`` (per calibrator), ``topics`` and
    ``ci`` — the 95 % accuracy interval of the bag of words and of each router calibrator, resampling topics."""
    from workbench.experts.token_router import prompt_cluster_ci

    index = {a: i for i, a in enumerate(axes)}
    unknown = sorted(set(matched["axis"]) - set(index))
    if unknown:
        raise WorkbenchError(f"matched rows with an axis outside the mixture's ({unknown[0]})")
    labels, topics = matched["axis"].map(index).to_numpy(int), matched["topic"].to_numpy()
    probs = surface_probs(list(train_prompts), train_labels, matched["prompt"].tolist(), len(axes), seed=seed)
    out = _report(probs, labels)
    ci = {"bag of words": probs["bag of words"]}
    if router_probs:
        bad = [c for c, p in router_probs.items() if np.shape(p) != (len(labels), len(axes))]
        if bad:
            raise WorkbenchError(f"router distribution '{bad[0]}' needs one row of {len(axes)} per matched prompt")
        out["router"] = _report(router_probs, labels)
        out["router"].pop("n")
        ci |= {f"router ({c})": p for c, p in router_probs.items()}
    out["topics"] = int(len(set(topics)))
    out["ci"] = {name: prompt_cluster_ci(np.asarray(p).argmax(1) == labels, topics, n_boot=n_boot, seed=seed)
                 for name, p in ci.items()}
    return out


def router_matched_probs(mixture, report: dict, matched) -> dict[str, np.ndarray]:
    """The learned router's uncalibrated and temperature-scaled distributions [N, K] on ``matched``'s prompts,
    computed the way its test rows were (module doc); ``report`` is the mixture's ``report.json``."""
    from workbench.experts.mixture import routing_probs
    from workbench.experts.realcheck import route_real

    rows = route_real(mixture, matched.assign(expected=matched["axis"]))
    probs = routing_probs(rows, report["calibration"], report["axes"])
    return {c: probs[c] for c in ROUTER_CALIBRATORS if c in probs}


def surface_table(surface: dict):
    """``surface_routing``'s (or ``mixture_surface_routing``'s) report as one frame: per set of rows (``test``,
    then ``matched`` when present) accuracy, its topic-resampled 95 % interval (matched set only), ECE and Brier
    per router, the learned router's rows (when present) last."""
    import pandas as pd

    rows = []
    for name, part in (("test", surface), ("matched", surface.get("matched"))):
        if not part:
            continue
        routers = {r: part[r] for r in ("bag of words", "length", "majority")}
        routers |= {f"router ({c})": m for c, m in part.get("router", {}).items()}
        ci = part.get("ci", {})
        rows += [{"rows": name, "n": part["n"], "router": r, "accuracy": m["accuracy"],
                  "ci_low": ci.get(r, (np.nan, np.nan))[0], "ci_high": ci.get(r, (np.nan, np.nan))[1],
                  "ece": m["ece"], "brier": m["brier"]} for r, m in routers.items()]
    return pd.DataFrame(rows)


def mixture_surface_routing(folder, *, smoke: bool, seed: int = 0, mixture=None, matched: bool = True) -> dict:
    """``surface_routing`` for a trained mixture's folder: trained on the prompts its router trained on (the
    mixture's train split), tested on its router's test rows (``routing``, split "test"), beside the learned
    router's own test report; with ``matched``, the same on the matched set under ``"matched"``
    (``matched_routing``; the router reads the matched prompts through ``mixture``, the folder's
    ``MixtureOfExperts``, loaded here when not given)."""
    import json
    from pathlib import Path

    from workbench.experts.artifacts import mixture_data
    from workbench.experts.data import matched_axis_data
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
    y_train = train["axis"].map(index).to_numpy()
    out = surface_routing(train["prompt"].tolist(), y_train, test["prompt"].tolist(), test["label"].to_numpy(),
                          len(axes), seed=seed)
    out["router"] = {k: report["test"][k] for k in ROUTER_CALIBRATORS if k in report["test"]}
    if matched:
        from workbench.experts.moe import MixtureOfExperts

        rows = matched_axis_data()
        mixture = mixture if mixture is not None else MixtureOfExperts.load(folder)
        out["matched"] = matched_routing(train["prompt"].tolist(), y_train, rows, axes, seed=seed,
                                         router_probs=router_matched_probs(mixture, report, rows))
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
    routing = mixture_surface_routing(folder, smoke=ctx.smoke, seed=ctx.seed)   # test rows and the matched set
    judge = ctx.profile.model_for("judge")
    eval_set = hhh_eval_set(ctx.smoke, real_honest=SMOKE_REAL_HONEST if ctx.smoke else REAL_HONEST, seed=ctx.seed)
    ctx.progress(0.4, "judging the response shortcuts")
    metrics, items = shortcut_hhh(eval_set, judge)
    config = {"mixture": folder.name, "smoke": ctx.smoke, "judge": judge, "eval_rows": len(eval_set),
              "paper_setup": MIXTURES[ctx.paper], "shortcuts": list(RESPONSE_SHORTCUTS), "refusal": REFUSAL,
              "surface_routing": routing, "surface_c": SURFACE_C, "matched_data": MATCHED_DATA,
              "data_kinds": {str(k): int(v) for k, v in eval_set["data_kind"].value_counts().items()}}
    models = hhh_models(backbone, judge)
    save_frame(metrics, ctx.path(ctx.paper, "hhh_shortcuts"), profile=ctx.profile.name, models=models,
               seed=ctx.seed, config=config)
    save_frame(items, ctx.path(ctx.paper, "hhh_shortcut_responses"), profile=ctx.profile.name, models=models,
               seed=ctx.seed, config=config)


__all__ = ["REFUSAL", "RESPONSE_SHORTCUTS", "build_hhh_shortcuts", "matched_routing", "mixture_surface_routing",
           "router_matched_probs", "shortcut_hhh", "shortcut_responses", "surface_features", "surface_probs",
           "surface_routing", "surface_table"]
