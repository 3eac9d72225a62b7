"""The change between two systems scored on the same items, with a paired percentile bootstrap interval.

Per-item values [n] of a base system and another one on the same items; the change is expressed as

* ``points`` — 100 · (mean(other) − mean(base));
* ``relative gain`` — 100 · (mean(other) − mean(base)) / mean(base);
* ``relative reduction`` — 100 · (mean(base) − mean(other)) / mean(base) (NaN where mean(base) = 0);

and its interval resamples items — one resample shared by both systems (paired) — and takes the α/2 and 1 − α/2
quantiles of the change over the resamples where it is defined (``metrics.bootstrap.bootstrap_ci``). Used by the P7 clinical comparison, the P8
AMBS-vs-naive ledger rows and the P3 / P10 calibration ablation.
"""
from __future__ import annotations

import math

import numpy as np

from workbench import WorkbenchError
from workbench.metrics.bootstrap import bootstrap_ci

KINDS = ("points", "relative gain", "relative reduction")


def change_statistic(kind: str, base: np.ndarray, other: np.ndarray) -> np.ndarray:
    """The change from ``base`` to ``other`` in % per resample, from [..., n] per-item values of both systems
    (module doc)."""
    b, o = base.mean(axis=-1), other.mean(axis=-1)
    if kind == "points":
        return 100 * (o - b)
    change = (o - b) if kind == "relative gain" else (b - o)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, 100 * change / np.where(b > 0, b, 1), np.nan)


def paired_change(base, other, kind: str, *, n_boot: int = 2000, seed: int = 0, alpha: float = 0.05):
    """``(value, ci)``: the change from ``base`` to ``other`` (per-item values [n] of two systems on the same
    items) in % as ``kind`` says, with a paired percentile bootstrap interval (None when no resample is
    defined); value NaN when the change is undefined (a relative change from 0)."""
    if kind not in KINDS:
        raise WorkbenchError(f"unknown change '{kind}'; choose from {', '.join(KINDS)}")
    base, other = np.asarray(base, dtype=float), np.asarray(other, dtype=float)
    if base.shape != other.shape or base.ndim != 1 or len(base) == 0:
        raise WorkbenchError(f"need per-item values of both systems on the same items (got {base.shape} and "
                             f"{other.shape})")
    value = float(change_statistic(kind, base, other))
    if not math.isfinite(value):
        return value, None
    ci = bootstrap_ci(lambda b, o: change_statistic(kind, b, o), base, other, n_resamples=n_boot,
                      confidence=1 - alpha, seed=seed, vectorized=True)
    return value, ci
