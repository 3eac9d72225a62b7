"""The surface-feature shortcut baseline beside the P5 headline: what a trivial model gets without reading a meme.

``surface_features(frame)`` — per meme: the text frame's id (``template``, synthetic memes only), the text's
length in characters and in words, the picture's mean grey intensity and its file size in kB. ``shortcut_baseline``
trains two trivial models on them on the train rows — a multinomial logistic regression (one-hot frame id,
standardized numbers) and a depth-4 decision tree — and scores both on the held-out rows: macro-F1 and accuracy
with percentile bootstrap CIs and the flip-group scores of ``memes.flips``. The better of the two on the held-out
macro-F1 is the reported shortcut (chosen on the held-out rows, so the baseline is, if anything, flattered). On
the synthetic memes it should stay near chance (1 / number of classes): the generator gives every frame at least
two labels and decides the label by what fills the frame or by the picture (``memes.synth.generate``);
``tests/test_meme_shortcut.py`` holds the bound.

``shortcut_line(result)`` is the one-line summary the claims ledger's ``shortcut`` field, the notebook and the
Meme explorer show. Used by ``memes.artifacts`` (the ``meme_eval`` config's ``shortcut``), the P5 notebook,
``claims.memes`` and the tests.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from workbench import WorkbenchError

NUMERIC = ("chars", "words", "image_mean", "file_kb")
FEATURE_NAMES = {"template": "text frame id", "chars": "text length", "words": "word count",
                 "image_mean": "image mean intensity", "file_kb": "file size"}
MODELS = ("logistic regression", "decision tree (depth 4)")


def _image_stats(path) -> tuple[float, float]:
    import cv2

    path = Path(str(path))
    if not path.is_file():
        raise WorkbenchError(f"meme image not found: {path}")
    grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if grey is None:
        raise WorkbenchError(f"cannot read meme image {path}")
    return float(grey.mean()), path.stat().st_size / 1024


def surface_features(frame: pd.DataFrame) -> pd.DataFrame:
    """The surface features of each row of ``frame`` (columns text, image, and template where present)."""
    text = frame["text"].fillna("").astype(str)
    stats = [_image_stats(p) for p in frame["image"]]
    out = pd.DataFrame({"chars": text.str.len().astype(float), "words": text.str.split().str.len().astype(float),
                        "image_mean": [s[0] for s in stats], "file_kb": [s[1] for s in stats]}, index=frame.index)
    if "template" in frame.columns:
        out.insert(0, "template", frame["template"].fillna("").astype(str))
    return out


def _design(train: pd.DataFrame, test: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """One-hot frame ids (those seen in training) and standardized numbers."""
    mean, std = train[list(NUMERIC)].mean(), train[list(NUMERIC)].std().replace(0, 1).fillna(1)
    parts_train, parts_test = [((train[list(NUMERIC)] - mean) / std).to_numpy()], \
        [((test[list(NUMERIC)] - mean) / std).to_numpy()]
    if "template" in train.columns:
        seen = sorted(set(train["template"]))
        parts_train.append((train["template"].to_numpy()[:, None] == np.array(seen)[None]).astype(float))
        parts_test.append((test["template"].to_numpy()[:, None] == np.array(seen)[None]).astype(float))
    return np.hstack(parts_train), np.hstack(parts_test)


def shortcut_baseline(train: pd.DataFrame, test: pd.DataFrame, classes, *, seed: int = 0,
                      n_boot: int = 1000) -> dict:
    """Both trivial models trained on ``train`` and scored on ``test`` (module doc); returns the scores of each
    (``models``), the reported one (``best``), the features, chance level and the held-out predictions."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    from workbench.memes.flips import flip_report
    from workbench.metrics.classification import f1_report

    classes = list(classes)
    train, test = train[train["label"].notna()], test[test["label"].notna()]
    if train.empty or test.empty:
        raise WorkbenchError("the shortcut baseline needs labelled train and held-out rows")
    index = {c: j for j, c in enumerate(classes)}
    feats_train, feats_test = surface_features(train), surface_features(test)
    x_train, x_test = _design(feats_train, feats_test)
    y_train = train["label"].map(index).to_numpy()
    y_test = test["label"].map(index).to_numpy()
    makers = {MODELS[0]: lambda: LogisticRegression(max_iter=2000, C=1.0),
              MODELS[1]: lambda: DecisionTreeClassifier(max_depth=4, random_state=seed)}
    results, predictions = [], {}
    for name, make in makers.items():
        model = make().fit(x_train, y_train)
        pred = model.predict(x_test)
        rep = f1_report(y_test, pred, len(classes), n_boot=n_boot, seed=seed)
        scored = test.assign(pred=[classes[p] for p in pred])
        flips = flip_report(scored, classes, n_boot=n_boot, seed=seed) if "pair_id" in test.columns else {}
        results.append({"model": name, "macro_f1": rep["macro_f1"], "macro_f1_lo": rep["macro_f1_ci"][0],
                        "macro_f1_hi": rep["macro_f1_ci"][1], "accuracy": rep["accuracy"],
                        "accuracy_lo": rep["accuracy_ci"][0], "accuracy_hi": rep["accuracy_ci"][1],
                        **{f"pair_{k}": flips.get(f"pair_{k}", float("nan"))
                           for k in ("accuracy", "accuracy_lo", "accuracy_hi", "macro_f1")}})
        predictions[name] = [classes[p] for p in pred]
    best = max(results, key=lambda r: r["macro_f1"])
    features = list(feats_train.columns)
    return {"models": results, "best": best["model"], "features": features,
            "feature_names": [FEATURE_NAMES[f] for f in features], "chance": 1 / len(classes),
            "train_rows": int(len(train)), "eval_rows": int(len(test)), "seed": seed,
            "predictions": pd.DataFrame({"id": test["id"].to_numpy() if "id" in test.columns else test.index,
                                         "label": test["label"].to_numpy(),
                                         **{f"pred {m}": p for m, p in predictions.items()}})}


def shortcut_record(result: dict) -> dict:
    """``shortcut_baseline``'s result without its predictions (what an artifact's config stores)."""
    return {k: v for k, v in result.items() if k != "predictions"}


def shortcut_line(result: dict | None) -> str:
    """One line: the shortcut's model, features, held-out macro-F1 (CI), flip-group accuracy and chance level."""
    if not result or not result.get("models"):
        return ""
    best = next(m for m in result["models"] if m["model"] == result["best"])
    pair = best.get("pair_accuracy")
    pair_text = f", flip-group accuracy {pair:.2f}" if pair is not None and np.isfinite(pair) else ""
    return (f"{best['model']} on surface features ({', '.join(result.get('feature_names') or result['features'])}), "
            f"trained on the same train split: held-out macro-F1 {best['macro_f1']:.2f} "
            f"(95 % CI {best['macro_f1_lo']:.2f}–{best['macro_f1_hi']:.2f}), accuracy {best['accuracy']:.2f}"
            f"{pair_text}; chance {result['chance']:.2f}")


__all__ = ["FEATURE_NAMES", "MODELS", "shortcut_baseline", "shortcut_line", "shortcut_record", "surface_features"]
