"""Multi-class classification metrics with bootstrap confidence intervals (P5's macro-F1 and its ablation).

* ``f1_scores(y_true, y_pred, n_classes)`` — per-class F1 = 2·TP / (2·TP + FP + FN) (0 for a class that is
  neither present nor predicted — scikit-learn's ``zero_division=0``), macro-F1 = their unweighted mean over all
  ``n_classes``, and accuracy.
* ``f1_report(...)`` — those values plus percentile bootstrap CIs (rows resampled with replacement, ``n_boot``
  times, seeded): the usual nonparametric interval for a test-set metric.
* ``relative_gain(...)`` — paired bootstrap of the relative macro-F1 change (F1_b − F1_a) / F1_a of two systems
  scored on the same rows (the same resample for both), the form of P5's relative F1 claim.
* ``confusion(y_true, y_pred, n_classes)`` — counts, rows = truth, columns = prediction.
"""
from __future__ import annotations

import numpy as np

from workbench import WorkbenchError


def _ints(values, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise WorkbenchError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise WorkbenchError(f"{name} must hold class indices (integers), got {arr.dtype}")
    return arr.astype(np.int64)


def _check(y_true, y_pred, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    t, p = _ints(y_true, "y_true"), _ints(y_pred, "y_pred")
    if len(t) != len(p):
        raise WorkbenchError(f"y_true has {len(t)} rows but y_pred has {len(p)}")
    if not len(t):
        raise WorkbenchError("no rows to score")
    if n_classes < 2:
        raise WorkbenchError("need at least two classes")
    for name, arr in (("y_true", t), ("y_pred", p)):
        if arr.min() < 0 or arr.max() >= n_classes:
            raise WorkbenchError(f"{name} has class indices outside 0..{n_classes - 1}")
    return t, p


def confusion(y_true, y_pred, n_classes: int) -> np.ndarray:
    t, p = _check(y_true, y_pred, n_classes)
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _from_confusion(cm: np.ndarray) -> tuple[np.ndarray, float]:
    tp = np.diag(cm).astype(float)
    denom = 2 * tp + (cm.sum(0) - tp) + (cm.sum(1) - tp)
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return f1, float(tp.sum() / cm.sum())


def f1_scores(y_true, y_pred, n_classes: int) -> dict:
    """{"macro_f1", "per_class_f1" (list), "accuracy"} for class indices in 0..n_classes-1."""
    f1, acc = _from_confusion(confusion(y_true, y_pred, n_classes))
    return {"macro_f1": float(f1.mean()), "per_class_f1": f1.tolist(), "accuracy": acc}


def _boot_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def _batched_scores(t: np.ndarray, p: np.ndarray, idx: np.ndarray, n_classes: int) -> tuple[np.ndarray, ...]:
    """Macro-F1, per-class F1 and accuracy of every resample (rows of ``idx``) at once."""
    codes = t[idx] * n_classes + p[idx]                                  # [B, n]
    offsets = np.arange(len(idx))[:, None] * n_classes * n_classes
    cms = np.bincount((codes + offsets).ravel(), minlength=len(idx) * n_classes * n_classes)
    cms = cms.reshape(len(idx), n_classes, n_classes).astype(float)
    tp = np.diagonal(cms, axis1=1, axis2=2)
    denom = 2 * tp + (cms.sum(1) - tp) + (cms.sum(2) - tp)
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return f1.mean(1), f1, tp.sum(1) / idx.shape[1]


def f1_report(y_true, y_pred, n_classes: int, *, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0) -> dict:
    """``f1_scores`` plus percentile bootstrap intervals: ``macro_f1_ci``, ``accuracy_ci``, ``per_class_f1_ci``."""
    t, p = _check(y_true, y_pred, n_classes)
    point = f1_scores(t, p, n_classes)
    if n_boot < 1:
        raise WorkbenchError("n_boot must be ≥ 1")
    macro, per_class, acc = _batched_scores(t, p, _boot_indices(len(t), n_boot, seed), n_classes)
    q = [100 * alpha / 2, 100 * (1 - alpha / 2)]
    return {**point, "n": int(len(t)), "macro_f1_ci": np.percentile(macro, q).tolist(),
            "accuracy_ci": np.percentile(acc, q).tolist(),
            "per_class_f1_ci": np.percentile(per_class, q, axis=0).T.tolist(), "n_boot": n_boot, "alpha": alpha}


def relative_gain(y_true, pred_a, pred_b, n_classes: int, *, n_boot: int = 1000, alpha: float = 0.05,
                  seed: int = 0) -> dict:
    """Relative macro-F1 change of system b over system a on the same rows: point value and paired bootstrap CI
    (``share_positive``: the fraction of resamples where b beats a)."""
    t, a = _check(y_true, pred_a, n_classes)
    _, b = _check(y_true, pred_b, n_classes)
    fa, fb = f1_scores(t, a, n_classes)["macro_f1"], f1_scores(t, b, n_classes)["macro_f1"]
    if fa == 0:
        raise WorkbenchError("system a has macro-F1 0; a relative gain is undefined")
    idx = _boot_indices(len(t), n_boot, seed)
    ma, mb = _batched_scores(t, a, idx, n_classes)[0], _batched_scores(t, b, idx, n_classes)[0]
    ok = ma > 0
    rel = (mb[ok] - ma[ok]) / ma[ok]
    q = [100 * alpha / 2, 100 * (1 - alpha / 2)]
    return {"relative_gain": (fb - fa) / fa, "ci": np.percentile(rel, q).tolist(), "macro_f1_a": fa,
            "macro_f1_b": fb, "share_positive": float(np.mean(rel > 0)), "n_boot": n_boot}


__all__ = ["confusion", "f1_report", "f1_scores", "relative_gain"]
