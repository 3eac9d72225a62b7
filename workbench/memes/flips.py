"""Scores on meaning-flip groups: the P5 headline a surface shortcut cannot pass.

A flip group (``pair_id``; two or three memes of one text frame that differ in their target, a coded term or a
drawn hate symbol, and therefore in their label — ``memes.synth.generate``) is right only when *every* member
is classified right. A model that reads the frame, the text length or the picture's brightness rather than what
fills the frame cannot get a group right more often than by luck.

* ``flip_report(frame, classes)`` — on the rows of ``frame`` (columns ``pair_id``, ``label``, ``pred``) that
  belong to a flip group: ``pair_accuracy`` (share of groups with every member right), ``pair_macro_f1`` (macro-F1
  where a row counts as right only when its whole group is right: a row of a missed group is a miss of its true
  class and, when the prediction names another class, a false positive of that class), the row ``accuracy`` and
  ``macro_f1`` on the same rows, and percentile bootstrap CIs that resample whole groups.
* ``flip_metrics(predictions, classes)`` — ``flip_report`` per setting of a predictions table (one row per meme ×
  setting, as ``memes.ablation.evaluate_models`` writes it).
* ``headline_table(config)`` — the P5 headline from a ``meme_eval`` config: per setting, then the surface-feature
  shortcut baseline (``shortcut``), the flip-group accuracy and strict macro-F1 beside the full held-out split's
  macro-F1 and accuracy, each with its 95 % CI.

Used by ``memes.ablation``, ``memes.shortcut``, ``memes.artifacts`` (the ``meme_eval`` config's ``flip_pairs``),
the P5 notebook and the Meme explorer.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from workbench import WorkbenchError
from workbench.metrics.bootstrap import bootstrap_ci


def _strict_f1(y: np.ndarray, pred: np.ndarray, ok: np.ndarray, n_classes: int) -> float:
    """Macro-F1 where row i counts as right only if ``pred == y`` and ``ok[i]`` (its group is all right)."""
    right = (pred == y) & ok
    scores = []
    for c in range(n_classes):
        tp = np.sum(right & (y == c))
        fp = np.sum((pred == c) & (y != c))
        fn = np.sum((y == c) & ~right)
        denom = 2 * tp + fp + fn
        scores.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(scores))


def _row_f1(y: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    return _strict_f1(y, pred, np.ones(len(y), bool), n_classes)


def flip_report(frame: pd.DataFrame, classes, *, n_boot: int = 1000, seed: int = 0, alpha: float = 0.05) -> dict:
    """Scores on the flip groups of ``frame`` (module doc); ``groups`` 0 and NaN scores when there are none."""
    for column in ("pair_id", "label", "pred"):
        if column not in frame.columns:
            raise WorkbenchError(f"flip scores need a '{column}' column; the table has {', '.join(frame.columns)}")
    classes = list(classes)
    rows = frame[frame["pair_id"].fillna("").astype(str) != ""].reset_index(drop=True)
    nan = float("nan")
    if rows.empty:
        return {"groups": 0, "rows": 0, "pair_accuracy": nan, "pair_accuracy_lo": nan, "pair_accuracy_hi": nan,
                "pair_macro_f1": nan, "pair_macro_f1_lo": nan, "pair_macro_f1_hi": nan, "accuracy": nan,
                "macro_f1": nan}
    index = {c: j for j, c in enumerate(classes)}
    unknown = sorted(set(rows["label"]) - set(index))
    if unknown:
        raise WorkbenchError(f"labels {unknown} are not among the classes {classes}")
    y = rows["label"].map(index).to_numpy()
    pred = rows["pred"].map(lambda p: index.get(p, -1)).to_numpy()
    codes, groups = pd.factorize(rows["pair_id"].astype(str))
    right = pred == y
    group_ok = np.ones(len(groups), bool)
    np.logical_and.at(group_ok, codes, right)
    ok = group_ok[codes]
    members = [np.flatnonzero(codes == g) for g in range(len(groups))]

    def scores(sample) -> tuple[float, float]:
        idx = np.concatenate([members[g] for g in sample])
        return float(group_ok[sample].mean()), _strict_f1(y[idx], pred[idx], ok[idx], len(classes))

    pair_acc, pair_f1 = scores(np.arange(len(groups)))
    out = {"groups": int(len(groups)), "rows": int(len(rows)), "pair_accuracy": pair_acc, "pair_macro_f1": pair_f1,
           "accuracy": float(right.mean()), "macro_f1": _row_f1(y, pred, len(classes))}
    # groups resampled whole: the statistic gets the drawn group numbers
    cis = bootstrap_ci(scores, np.arange(len(groups)), n_resamples=n_boot, confidence=1 - alpha,
                       seed=seed) if n_boot else [None, None]
    for ci, name in zip(cis, ("pair_accuracy", "pair_macro_f1")):
        out[f"{name}_lo"], out[f"{name}_hi"] = ci or (nan, nan)
    return out


def flip_metrics(predictions: pd.DataFrame, classes, *, n_boot: int = 1000, seed: int = 0) -> list[dict]:
    """``flip_report`` for each setting of ``predictions`` (columns setting, pair_id, label, pred), in order."""
    out = []
    for setting, part in predictions.groupby("setting", sort=False):
        out.append({"setting": setting, **flip_report(part, classes, n_boot=n_boot, seed=seed)})
    return out


def _with_ci(value, lo=None, hi=None) -> str:
    def finite(v) -> bool:
        return v is not None and isinstance(v, (int, float)) and np.isfinite(v)

    if not finite(value):
        return "–"
    return f"{value:.3f} [{lo:.3f}, {hi:.3f}]" if finite(lo) and finite(hi) else f"{value:.3f}"


def headline_table(config: dict) -> pd.DataFrame:
    """The headline rows of a ``meme_eval`` config (module doc): one per setting, then the shortcut baseline."""
    flips = {r["setting"]: r for r in config.get("flip_pairs") or []}
    rows = []
    for m in config.get("metrics") or []:
        f = flips.get(m["setting"], {})
        rows.append({"model": m["setting"],
                     "flip groups, all right [95 % CI]": _with_ci(f.get("pair_accuracy"), f.get("pair_accuracy_lo"),
                                                                  f.get("pair_accuracy_hi")),
                     "flip groups, strict macro-F1 [95 % CI]": _with_ci(f.get("pair_macro_f1"),
                                                                        f.get("pair_macro_f1_lo"),
                                                                        f.get("pair_macro_f1_hi")),
                     "full split macro-F1 [95 % CI]": _with_ci(m.get("macro_f1"), m.get("macro_f1_lo"),
                                                               m.get("macro_f1_hi")),
                     "full split accuracy [95 % CI]": _with_ci(m.get("accuracy"), m.get("accuracy_lo"),
                                                               m.get("accuracy_hi")),
                     "flip groups": f.get("groups")})
    shortcut = config.get("shortcut") or {}
    for m in shortcut.get("models") or []:
        if m["model"] != shortcut.get("best"):
            continue
        rows.append({"model": f"shortcut: {m['model']} on surface features",
                     "flip groups, all right [95 % CI]": _with_ci(m.get("pair_accuracy"), m.get("pair_accuracy_lo"),
                                                                  m.get("pair_accuracy_hi")),
                     "flip groups, strict macro-F1 [95 % CI]": _with_ci(m.get("pair_macro_f1")),
                     "full split macro-F1 [95 % CI]": _with_ci(m.get("macro_f1"), m.get("macro_f1_lo"),
                                                               m.get("macro_f1_hi")),
                     "full split accuracy [95 % CI]": _with_ci(m.get("accuracy"), m.get("accuracy_lo"),
                                                               m.get("accuracy_hi")),
                     "flip groups": None})
    return pd.DataFrame(rows)


__all__ = ["flip_metrics", "flip_report", "headline_table"]
