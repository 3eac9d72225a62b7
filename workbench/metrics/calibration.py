"""Calibration of probabilistic predictions (P3, P10: the router's confidence): ECE, Brier, reliability curves,
temperature scaling.

Inputs are either binary probabilities ``p`` of the positive class (shape ``[N]``, labels 0/1) — curves then
follow ``sklearn.calibration.calibration_curve`` — or class distributions (shape ``[N, K]``, integer labels), for
which the curve and the ECE use the *top label*: confidence = max_k p_k, correct = (argmax = label).

* ECE = Σ_b (n_b / N) · |accuracy_b − confidence_b| over bins b, with equal-width bins on [0, 1]
  (``strategy="width"``) or equal-mass bins holding the same number of predictions (``"mass"``); empty bins are
  left out.
* Brier = mean over predictions of Σ_k (p_k − 1[k = label])² (binary: (p − y)², as ``brier_score_loss``).
* Temperature scaling (Guo et al. 2017): the T > 0 minimising the negative log-likelihood of softmax(logits / T)
  on held-out data.
"""
from __future__ import annotations

import numpy as np

from workbench import WorkbenchError

STRATEGIES = ("width", "mass")


def _prepare(probs, labels) -> tuple[np.ndarray, np.ndarray, bool]:
    p, y = np.asarray(probs, float), np.asarray(labels)
    if p.ndim not in (1, 2) or len(p) != len(y):
        raise WorkbenchError(f"need probabilities [N] or [N, K] and N labels; got shapes {p.shape} and {y.shape}")
    if len(p) == 0:
        raise WorkbenchError("no predictions")
    if np.isnan(p).any() or (p < -1e-9).any() or (p > 1 + 1e-9).any():
        raise WorkbenchError("probabilities must lie in [0, 1]")
    if p.ndim == 2:
        if not np.allclose(p.sum(1), 1.0, atol=1e-4):
            raise WorkbenchError("each row of class probabilities must sum to 1")
        if y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= p.shape[1]:
            raise WorkbenchError(f"labels must be class indices in [0, {p.shape[1]})")
    elif not np.isin(y, (0, 1)).all():
        raise WorkbenchError("binary labels must be 0 or 1")
    return p, y, p.ndim == 1


def reliability_curve(probs, labels, *, n_bins: int = 10, strategy: str = "width"):
    """One row per non-empty bin: lower, upper, count, confidence (mean predicted), accuracy (observed)."""
    import pandas as pd

    if strategy not in STRATEGIES:
        raise WorkbenchError(f"unknown binning '{strategy}'; choose from {', '.join(STRATEGIES)}")
    if n_bins < 1:
        raise WorkbenchError("n_bins must be at least 1")
    p, y, binary = _prepare(probs, labels)
    conf = p if binary else p.max(1)
    hit = y.astype(float) if binary else (p.argmax(1) == y).astype(float)
    if strategy == "width":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        inner = np.quantile(conf, np.linspace(0.0, 1.0, n_bins + 1))[1:-1]
        edges = np.unique(np.concatenate([[0.0], inner, [1.0]]))
    # bin i holds edges[i] < c <= edges[i+1] (the first bin also holds its lower edge), as sklearn does
    which = np.clip(np.searchsorted(edges[1:-1], conf, side="left"), 0, len(edges) - 2)
    rows = []
    for b in range(len(edges) - 1):
        mask = which == b
        if mask.any():
            rows.append({"lower": edges[b], "upper": edges[b + 1], "count": int(mask.sum()),
                         "confidence": float(conf[mask].mean()), "accuracy": float(hit[mask].mean())})
    return pd.DataFrame(rows)


def ece(probs, labels, *, n_bins: int = 15, strategy: str = "width") -> float:
    """Expected calibration error (see the module doc)."""
    curve = reliability_curve(probs, labels, n_bins=n_bins, strategy=strategy)
    weights = curve["count"] / curve["count"].sum()
    return float((weights * (curve["accuracy"] - curve["confidence"]).abs()).sum())


def brier(probs, labels) -> float:
    """Brier score (see the module doc)."""
    p, y, binary = _prepare(probs, labels)
    if binary:
        return float(np.mean((p - y) ** 2))
    onehot = np.eye(p.shape[1])[y]
    return float(np.mean(((p - onehot) ** 2).sum(1)))


def softmax(logits, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, float) / temperature
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def fit_temperature(logits, labels, *, bounds: tuple[float, float] = (0.05, 20.0)) -> float:
    """The temperature minimising the held-out NLL of softmax(logits / T) (bounded scalar search on log T)."""
    from scipy.optimize import minimize_scalar

    z, y = np.asarray(logits, float), np.asarray(labels)
    if z.ndim != 2 or len(z) != len(y) or len(z) == 0:
        raise WorkbenchError(f"need logits [N, K] and N labels; got shapes {z.shape} and {y.shape}")

    def nll(log_t: float) -> float:
        s = z / np.exp(log_t)
        s = s - s.max(1, keepdims=True)
        return float(np.mean(np.log(np.exp(s).sum(1)) - s[np.arange(len(y)), y]))

    result = minimize_scalar(nll, bounds=(np.log(bounds[0]), np.log(bounds[1])), method="bounded",
                             options={"xatol": 1e-6})
    return float(np.exp(result.x))
