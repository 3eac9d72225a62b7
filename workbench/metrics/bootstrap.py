"""Percentile bootstrap intervals: the one resampling helper behind every confidence interval the workbench reports.

``bootstrap_ci(statistic, *samples)`` resamples items with replacement ``n_resamples`` times with a fixed seed,
recomputes ``statistic`` on each resample and returns the (α/2, 1 − α/2) percentiles of the values — the
``percentile`` method of ``scipy.stats.bootstrap``, whose draws it reproduces for one sample (``rng.integers(0, n,
(n_resamples, n))`` from ``np.random.default_rng(seed)``; tested against it). Beyond scipy's interface:

* ``paired=True`` (default): every sample is resampled with the same item indices (two systems scored on the same
  items); ``paired=False``: each sample with its own;
* ``strata``: groups of item indices (e.g. the positive rows, then the negative ones), each resampled within
  itself in the order given, so every resample keeps the groups' sizes (a stratified bootstrap);
* ``clusters``: a label per item; whole clusters are drawn (as many as there are) and a resample holds all their
  items — a cluster bootstrap, for items that are not independent (the tokens of one prompt) [ours: the plain
  cluster bootstrap, no second-stage resampling within clusters];
* a statistic may return ``None`` or a non-finite value where a resample does not define it (one class only, a
  relative change from 0): that resample is skipped, and the interval is ``None`` when fewer than ``min_valid``
  resamples are left;
* a statistic may return several values at once (a tuple): one interval each, from the same resamples.

``resamples`` gives the index draws themselves, for callers that keep the per-resample values (paired
comparisons of several runs). Used by metrics.eer, metrics.paired, captioning.compare, experts.token_router,
experts.realcheck, taxonomy.realdev, steering.medassess, steering.ambs_eval, memes.flips and claims.media.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from workbench import WorkbenchError

Interval = tuple[float, float]


def resamples(n: int, n_resamples: int = 1000, *, seed: int | np.random.Generator = 0, clusters=None,
              strata=None):
    """Item indices of ``n_resamples`` resamples of ``n`` items: an int array [n_resamples, n] (row r is what the
    r-th ``rng.integers(0, n, n)`` call would draw); with ``strata`` (index arrays) the columns of each group drawn
    within it, group after group; with ``clusters`` (a label per item) a list of index arrays, each the items of
    len(unique clusters) clusters drawn with replacement (clusters numbered in sorted order)."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if n < 1 or n_resamples < 1:
        raise WorkbenchError(f"a bootstrap needs at least one item and one resample (got {n} and {n_resamples})")
    if strata is not None:
        if clusters is not None:
            raise WorkbenchError("give strata or clusters, not both")
        groups = [np.asarray(g, int) for g in strata]
        if sum(len(g) for g in groups) != n:
            raise WorkbenchError(f"the strata hold {sum(len(g) for g in groups)} items, not {n}")
        return np.concatenate([g[rng.integers(0, len(g), size=(n_resamples, len(g)))] for g in groups if len(g)],
                              axis=1)
    if clusters is None:
        return rng.integers(0, n, size=(n_resamples, n))
    clusters = np.asarray(clusters)
    if len(clusters) != n:
        raise WorkbenchError(f"{len(clusters)} cluster labels for {n} items")
    _, owner = np.unique(clusters, return_inverse=True)
    order = np.argsort(owner, kind="stable")
    members = np.split(order, np.flatnonzero(np.diff(owner[order])) + 1)         # [clusters] item indices
    draws = rng.integers(0, len(members), size=(n_resamples, len(members)))
    return [np.concatenate([members[c] for c in row]) for row in draws]


def percentile_interval(values, confidence: float = 0.95, *, min_valid: int = 1) -> Interval | None:
    """The (α/2, 1 − α/2) percentiles of the finite ``values`` (α = 1 − ``confidence``), or None when fewer than
    ``min_valid`` are finite."""
    values = np.asarray(values, float).ravel()
    values = values[np.isfinite(values)]
    if len(values) < max(1, min_valid):
        return None
    tail = round((1 - confidence) / 2, 12)          # 0.025, not 0.025000000000000022, for confidence 0.95
    low, high = np.quantile(values, [tail, 1 - tail])
    return float(low), float(high)


def bootstrap_ci(statistic: Callable, *samples, n_resamples: int = 1000, confidence: float = 0.95,
                 seed: int | np.random.Generator = 0, paired: bool = True, clusters=None, strata=None,
                 vectorized: bool = False, min_valid: int = 1) -> Interval | list[Interval | None] | None:
    """Percentile bootstrap interval of ``statistic(*samples)`` (module docstring; cf. ``scipy.stats.bootstrap``
    with ``method="percentile"``). ``samples``: 1-D arrays (of equal length when ``paired``). ``vectorized``: the
    statistic takes the resampled arrays with a leading resample axis ([n_resamples, n]) and reduces the last one,
    returning [n_resamples] (or [n_resamples, k]) values; otherwise it is called once per resample. ``seed``: an
    int, or a generator to draw from (callers computing several intervals from one stream). Returns
    (lo, hi) — a list of them when the statistic returns several values — or None where fewer than ``min_valid``
    resamples define it."""
    if not 0 < confidence < 1:
        raise WorkbenchError(f"confidence must be between 0 and 1, not {confidence!r}")
    if not samples:
        raise WorkbenchError("bootstrap_ci needs at least one sample")
    if n_resamples < 1:                                       # no resamples asked for: no interval
        return None
    samples = [np.asarray(s) for s in samples]
    if any(s.ndim != 1 for s in samples):
        raise WorkbenchError(f"samples must be 1-D arrays, got shapes {[s.shape for s in samples]}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if paired or len(samples) == 1:
        if len({len(s) for s in samples}) != 1:
            raise WorkbenchError(f"paired samples must have the same length, got {[len(s) for s in samples]}")
        draws = [resamples(len(samples[0]), n_resamples, seed=rng, clusters=clusters, strata=strata)] * len(samples)
    elif clusters is not None or strata is not None:
        raise WorkbenchError("cluster and stratified resampling are for paired samples (one group per item)")
    else:
        draws = [resamples(len(s), n_resamples, seed=rng) for s in samples]
    if vectorized and clusters is None:
        values = np.asarray(statistic(*(s[d] for s, d in zip(samples, draws))), float)
    else:
        values = _loop(statistic, samples, draws, n_resamples)
    if values.ndim == 1:
        return percentile_interval(values, confidence, min_valid=min_valid)
    return [percentile_interval(values[:, k], confidence, min_valid=min_valid) for k in range(values.shape[1])]


def _loop(statistic: Callable, samples: Sequence[np.ndarray], draws, n_resamples: int) -> np.ndarray:
    """[n_resamples] or [n_resamples, k] values of ``statistic`` one resample at a time; NaN where it gave None."""
    values = [statistic(*(s[d[r]] for s, d in zip(samples, draws))) for r in range(n_resamples)]
    shape = next((np.shape(v) for v in values if v is not None), ())
    return np.asarray([np.full(shape, np.nan) if v is None else v for v in values], float)


__all__ = ["Interval", "bootstrap_ci", "percentile_interval", "resamples"]
