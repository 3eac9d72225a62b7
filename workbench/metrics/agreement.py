"""Rater agreement: intraclass correlations (Shrout & Fleiss 1979) and mean inter-rater correlation.

Input is long-format data, one row per (target, rater) with a numeric rating. It is pivoted to an n × k table
``x[i, j]`` (n targets, k raters); targets lacking any rater's rating are dropped (listwise deletion).

ICC. A two-way ANOVA on the table gives, with grand mean ``m``, target means ``r_i`` and rater means ``c_j``::

    MSR = k Σ_i (r_i - m)² / (n - 1)                      between targets
    MSC = n Σ_j (c_j - m)² / (k - 1)                      between raters
    MSE = (SST - SSR - SSC) / ((n - 1)(k - 1))            residual
    MSW = (SSC + SSE) / (n (k - 1))                       within targets (one-way model)

and the six Shrout & Fleiss (1979) forms (McGraw & Wong 1996 names in brackets)::

    ICC1  [ICC(1,1)] = (MSR - MSW) / (MSR + (k-1) MSW)                  one-way random, single rater
    ICC2  [ICC(A,1)] = (MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE)/n) two-way random, absolute agreement
    ICC3  [ICC(C,1)] = (MSR - MSE) / (MSR + (k-1) MSE)                  two-way mixed, consistency
    ICC1k = (MSR - MSW) / MSR;  ICC2k = (MSR - MSE) / (MSR + (MSC - MSE)/n);  ICC3k = (MSR - MSE) / MSR

F tests: ICC1/ICC1k use F = MSR/MSW on (n-1, n(k-1)) df; the others F = MSR/MSE on (n-1, (n-1)(k-1)) df.

Confidence intervals (McGraw & Wong 1996, Tables 7-8), with F_q(a, b) the q-quantile, q = 1 - alpha/2:

* ICC1, ICC3: F_L = F / F_q(df1, df2), F_U = F · F_q(df2, df1); bounds (F_x - 1) / (F_x + k - 1).
* ICC1k, ICC3k: bounds 1 - 1/F_L, 1 - 1/F_U.
* ICC2: Satterthwaite df ``v = (a·MSC + b·MSE)² / ((a·MSC)²/(k-1) + (b·MSE)²/((n-1)(k-1)))`` with
  a = k·ICC2/(n(1-ICC2)), b = 1 + k·ICC2(n-1)/(n(1-ICC2)) (written below in the equivalent form in terms of
  F_J = MSC/MSE); with F* = F_q(n-1, v), F** = F_q(v, n-1)::

      low  = n (MSR - F*·MSE) / (F* (k·MSC + (kn - k - n) MSE) + n·MSR)
      high = n (F**·MSR - MSE) / (k·MSC + (kn - k - n) MSE + n·F**·MSR)

* ICC2k: the ICC2 bounds stepped up by Spearman-Brown, x·k / (1 + (k-1) x), which equals McGraw & Wong's
  ICC(A,k) interval.

These are the values ``pingouin.intraclass_corr`` reports (it rounds the interval to 2 decimals; we do not).
Degenerate data (no residual variance) give F = inf and may leave some values NaN rather than raising.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from workbench import WorkbenchError

ICC_TYPES = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")
ICC_DESCRIPTIONS = ("Single raters absolute", "Single random raters", "Single fixed raters",
                    "Average raters absolute", "Average random raters", "Average fixed raters")
CORRELATION_METHODS = ("pearson", "spearman")


def _wide(data, targets: str, raters: str, ratings: str) -> tuple[pd.DataFrame, list]:
    """Check long-format ratings and pivot to targets × raters; return (complete table, dropped target ids)."""
    if not isinstance(data, pd.DataFrame):
        raise WorkbenchError(f"ratings data must be a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in (targets, raters, ratings) if c not in data.columns]
    if missing:
        raise WorkbenchError(f"missing column(s) {', '.join(map(repr, missing))}; "
                             f"available: {', '.join(map(str, data.columns))}")
    if not pd.api.types.is_numeric_dtype(data[ratings]):
        raise WorkbenchError(f"ratings column {ratings!r} must be numeric, got dtype {data[ratings].dtype}; "
                             "map labels to numbers first")
    for col in (targets, raters):
        if data[col].isna().any():
            raise WorkbenchError(f"column {col!r} has {int(data[col].isna().sum())} missing id(s)")
    dup = data.duplicated([targets, raters], keep=False)
    if dup.any():
        t, r = (data.loc[dup, c].tolist()[0] for c in (targets, raters))
        raise WorkbenchError(f"{int(dup.sum())} rows repeat a ({targets}, {raters}) pair, "
                             f"e.g. target {t!r} rated by {r!r} more than once")
    n_targets, n_raters = data[targets].nunique(), data[raters].nunique()
    if n_raters < 2:
        raise WorkbenchError(f"agreement needs at least 2 raters in {raters!r}, got {n_raters}")
    if n_targets < 2:
        raise WorkbenchError(f"agreement needs at least 2 targets in {targets!r}, got {n_targets}")
    table = data.pivot(index=targets, columns=raters, values=ratings).astype(float)
    incomplete = table.isna().any(axis=1)
    dropped = table.index[incomplete].tolist()
    table = table.loc[~incomplete]
    if len(table) < 2:
        raise WorkbenchError(f"only {len(table)} target(s) have a rating from every one of the {n_raters} raters "
                             f"({len(dropped)} incomplete target(s) dropped); at least 2 are needed")
    return table, dropped


def icc(data, *, targets: str, raters: str, ratings: str, alpha: float = 0.05) -> pd.DataFrame:
    """All six Shrout & Fleiss ICCs with F tests and (1 - alpha) confidence intervals; formulas in the module doc.

    Returns one row per form (``ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k``) with columns
    ``type, description, icc, F, df1, df2, pval, ci_low, ci_high``. Targets without a rating from every rater
    are dropped; their ids are in ``result.attrs["dropped_targets"]``.
    """
    if not 0 < alpha < 1:
        raise WorkbenchError(f"alpha must be between 0 and 1, got {alpha}")
    table, dropped = _wide(data, targets, raters, ratings)
    x = table.to_numpy()
    n, k = x.shape
    m = x.mean()
    ssr = k * ((x.mean(axis=1) - m) ** 2).sum()
    ssc = n * ((x.mean(axis=0) - m) ** 2).sum()
    sse = ((x - m) ** 2).sum() - ssr - ssc
    df1, dfw, dfe = n - 1, n * (k - 1), (n - 1) * (k - 1)
    msr, msc, mse, msw = ssr / df1, ssc / (k - 1), sse / dfe, (ssc + sse) / dfw
    q = 1 - alpha / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        icc1 = (msr - msw) / (msr + (k - 1) * msw)
        icc2 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
        icc3 = (msr - mse) / (msr + (k - 1) * mse)
        icc1k, icc2k, icc3k = (msr - msw) / msr, (msr - mse) / (msr + (msc - mse) / n), (msr - mse) / msr
        f1, f3 = msr / msw, msr / mse
        p1, p3 = stats.f.sf(f1, df1, dfw), stats.f.sf(f3, df1, dfe)
        # Cases 1 and 3: the F ratio scaled by the F quantiles.
        f1l, f1u = f1 / stats.f.ppf(q, df1, dfw), f1 * stats.f.ppf(q, dfw, df1)
        f3l, f3u = f3 / stats.f.ppf(q, df1, dfe), f3 * stats.f.ppf(q, dfe, df1)

        def single(fl, fu):  # (F - 1) / (F + k - 1), written to give 1 rather than NaN at F = inf
            return 1 - k / (fl + k - 1), 1 - k / (fu + k - 1)

        # Case 2: Satterthwaite degrees of freedom for the denominator.
        fj = msc / mse
        c = n * (1 + (k - 1) * icc2) - k * icc2
        v = dfe * (k * icc2 * fj + c) ** 2 / (df1 * k ** 2 * icc2 ** 2 * fj ** 2 + c ** 2)
        fs, fss = stats.f.ppf(q, df1, v), stats.f.ppf(q, v, df1)
        denom = k * msc + (k * n - k - n) * mse
        l2 = n * (msr - fs * mse) / (fs * denom + n * msr)
        u2 = n * (fss * msr - mse) / (denom + n * fss * msr)
        ci = [single(f1l, f1u), (l2, u2), single(f3l, f3u), (1 - 1 / f1l, 1 - 1 / f1u),
              (l2 * k / (1 + (k - 1) * l2), u2 * k / (1 + (k - 1) * u2)), (1 - 1 / f3l, 1 - 1 / f3u)]
    ci = np.asarray(ci, dtype=float)
    out = pd.DataFrame({
        "type": ICC_TYPES, "description": ICC_DESCRIPTIONS,
        "icc": np.array([icc1, icc2, icc3, icc1k, icc2k, icc3k], dtype=float),
        "F": np.array([f1, f3, f3, f1, f3, f3], dtype=float),
        "df1": [df1] * 6, "df2": [dfw, dfe, dfe, dfw, dfe, dfe],
        "pval": np.array([p1, p3, p3, p1, p3, p3], dtype=float),
        "ci_low": ci[:, 0], "ci_high": ci[:, 1]})
    out.attrs["dropped_targets"] = dropped
    return out


def icc_table_to_dict(frame: pd.DataFrame) -> dict:
    """``{"ICC1": {"icc": .., "ci_low": .., "ci_high": ..}, ...}`` with plain floats, from an ``icc()`` table."""
    missing = [c for c in ("type", "icc", "ci_low", "ci_high") if c not in frame.columns]
    if missing:
        raise WorkbenchError(f"ICC table lacks column(s) {', '.join(missing)}; "
                             f"available: {', '.join(map(str, frame.columns))}")
    return {str(row.type): {"icc": float(row.icc), "ci_low": float(row.ci_low), "ci_high": float(row.ci_high)}
            for row in frame.itertuples(index=False)}


def _check_method(method: str) -> None:
    if method not in CORRELATION_METHODS:
        raise WorkbenchError(f"unknown correlation method {method!r}; choose one of {', '.join(CORRELATION_METHODS)}")


def _corr_matrix(x: np.ndarray, method: str) -> np.ndarray:
    """Correlations between the columns of x: Pearson, or Pearson on average ranks (Spearman)."""
    if method == "spearman":
        x = stats.rankdata(x, axis=0)
    return np.corrcoef(x, rowvar=False)


def inter_rater_correlation(data, *, targets: str, raters: str, ratings: str, method: str = "pearson") -> float:
    """Mean pairwise correlation between raters over the complete targets [ours].

    ``(2 / (k(k-1))) Σ_{j<l} r(x_j, x_l)``, the plain mean of the k(k-1)/2 Pearson (or Spearman) correlations
    between raters' rating vectors, over targets rated by every rater (incomplete targets dropped as in
    ``icc``). Raters whose ratings are constant there have no defined correlation and are left out; at least
    two usable raters are needed.
    """
    _check_method(method)
    x = _wide(data, targets, raters, ratings)[0].to_numpy()
    x = x[:, np.ptp(x, axis=0) > 0]
    if x.shape[1] < 2:
        raise WorkbenchError(f"inter-rater correlation needs at least 2 raters whose ratings vary over the "
                             f"complete targets, got {x.shape[1]}")
    r = _corr_matrix(x, method)
    return float(r[np.triu_indices_from(r, k=1)].mean())


def correlation_with_reference(pred, reference, method: str = "pearson") -> float:
    """Pearson (or Spearman) correlation between predictions and reference scores.

    Pairs where either value is missing are dropped [ours]; at least two pairs and non-constant inputs are needed.
    """
    _check_method(method)
    try:
        a, b = np.asarray(pred, dtype=float).ravel(), np.asarray(reference, dtype=float).ravel()
    except (TypeError, ValueError) as err:
        raise WorkbenchError(f"predictions and reference must be numeric: {err}") from None
    if a.shape != b.shape:
        raise WorkbenchError(f"predictions ({a.size}) and reference ({b.size}) differ in length")
    keep = ~(np.isnan(a) | np.isnan(b))
    x = np.column_stack([a[keep], b[keep]])
    if len(x) < 2:
        raise WorkbenchError(f"correlation needs at least 2 complete pairs, got {len(x)}")
    if (np.ptp(x, axis=0) == 0).any():
        raise WorkbenchError("correlation is undefined: predictions or reference are constant")
    return float(_corr_matrix(x, method)[0, 1])
