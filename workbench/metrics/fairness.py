"""Group fairness of safety ratings: demographic parity, equalized odds and demographic sensitivity.

Input is a frame with one row per rating: a binary prediction column (1 = rated unsafe), a group column (a
demographic attribute) and, for equalized odds, a binary truth column. All formulas follow the project's spec
and are [ours] in their details (group-size threshold, handling of undefined rates):

* positive rate of group g: ``P(pred = 1 | group = g)``, the share of g's rows rated unsafe.
* DPD = max_g positive_rate(g) - min_g positive_rate(g), over groups with at least ``min_size`` rows.
* EOD = max(TPR gap, FPR gap), each gap max - min across groups, with TPR(g) = P(pred = 1 | truth = 1, g) and
  FPR(g) = P(pred = 1 | truth = 0, g). A group without truth positives (negatives) has no TPR (FPR) and is left
  out of that gap; a gap defined by fewer than two groups is skipped.
* DS (demographic sensitivity) = the average over attributes of that attribute's DPD, in [0, 1], as the P4
  paper reports it (its DS is "(average)"); the maximum over attributes is returned beside it (``ds_max``).
  Attributes with fewer than two groups are skipped with a reason and count in neither.

Rows whose group value is missing are left out [ours].
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from workbench import WorkbenchError


def _require(frame, columns) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise WorkbenchError(f"fairness metrics need a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise WorkbenchError(f"missing column(s) {', '.join(map(repr, missing))}; "
                             f"available: {', '.join(map(str, frame.columns))}")


def _binary(frame: pd.DataFrame, column: str) -> pd.Series:
    """The column as 0/1 integers; raise unless every value is 0, 1, False or True."""
    col = frame[column]
    ok = col.isin([0, 1]) & col.notna()
    if not ok.all():
        bad = col[~ok].unique()[:3].tolist()
        raise WorkbenchError(f"column {column!r} must be binary (0/1), found e.g. {bad}")
    return col.astype(int)


def _min_size(min_size: int) -> None:
    if int(min_size) != min_size or min_size < 1:
        raise WorkbenchError(f"min_size must be a whole number of at least 1, got {min_size}")


def group_rates(frame, *, group: str, positive: str, min_size: int = 1) -> pd.DataFrame:
    """Per group value: ``n`` (rows) and ``positive_rate`` (share rated 1), indexed by group value [ours].

    Groups with fewer than ``min_size`` rows are left out and listed in ``result.attrs["skipped"]``.
    """
    _require(frame, [group, positive])
    _min_size(min_size)
    pred = _binary(frame, positive)
    stats = pred.groupby(frame[group], dropna=True, observed=True).agg(n="size", positive_rate="mean")
    small = stats["n"] < min_size
    out = stats.loc[~small].astype({"n": int, "positive_rate": float})
    out.attrs["skipped"] = stats.index[small].tolist()
    return out


def _gap(rates: pd.Series) -> float:
    return float(rates.max() - rates.min())


def demographic_parity_difference(frame, *, group: str, positive: str, min_size: int = 1) -> float:
    """DPD = max - min positive rate across groups with at least ``min_size`` rows [ours]; needs two groups."""
    rates = group_rates(frame, group=group, positive=positive, min_size=min_size)
    if len(rates) < 2:
        raise WorkbenchError(f"demographic parity difference needs at least two groups in {group!r} with at "
                             f"least {min_size} row(s); got {len(rates)} (skipped: {rates.attrs['skipped']})")
    return _gap(rates["positive_rate"])


def equalized_odds_difference(frame, *, group: str, positive: str, truth: str, min_size: int = 1) -> float:
    """EOD = max(TPR gap, FPR gap) across groups with at least ``min_size`` rows [ours].

    TPR(g) = mean prediction over g's rows with truth 1, FPR(g) = the same over truth 0. A group lacking truth
    positives (negatives) is left out of the TPR (FPR) gap; a gap with fewer than two defined groups is
    skipped; if both are skipped, raise.
    """
    _require(frame, [group, positive, truth])
    _min_size(min_size)
    pred, true = _binary(frame, positive), _binary(frame, truth)
    keys = frame[group]
    sizes = keys.value_counts()
    keep = keys.isin(sizes.index[sizes >= min_size])
    # Mean prediction per (group, truth) cell; a missing cell means that rate is undefined for that group.
    cells = pred[keep].groupby([keys[keep], true[keep]], observed=True).mean().unstack()
    gaps = {name: _gap(cells[value].dropna()) for name, value in (("TPR", 1), ("FPR", 0))
            if value in cells.columns and cells[value].notna().sum() >= 2}
    if not gaps:
        raise WorkbenchError(f"equalized odds difference needs at least two groups in {group!r} (with at least "
                             f"{min_size} row(s)) having truth positives, or two having truth negatives")
    return max(gaps.values())


def demographic_sensitivity(frame, *, attributes: list[str], positive: str, min_size: int = 1) -> dict:
    """DS = the average over attributes of the largest gap in unsafe rate between that attribute's groups (the
    paper's reading); ``ds_max`` = the largest of those gaps [ours: the per-attribute gap is the DPD].

    Returns ``{"ds": float, "ds_max": float, "per_attribute": {attr: gap}, "skipped": {attr: reason}}``; an
    attribute with fewer than two groups of at least ``min_size`` rows is skipped with a reason. Raise if every
    attribute is skipped.
    """
    if isinstance(attributes, str) or not len(attributes):
        raise WorkbenchError("attributes must be a non-empty list of column names")
    _require(frame, [*attributes, positive])
    per_attribute, skipped = {}, {}
    for attr in attributes:
        rates = group_rates(frame, group=attr, positive=positive, min_size=min_size)
        if len(rates) < 2:
            skipped[attr] = (f"{len(rates)} group(s) with at least {min_size} row(s); need two"
                             + (f" (too small: {rates.attrs['skipped']})" if rates.attrs["skipped"] else ""))
        else:
            per_attribute[attr] = _gap(rates["positive_rate"])
    if not per_attribute:
        raise WorkbenchError(f"demographic sensitivity: every attribute was skipped: {skipped}")
    gaps = list(per_attribute.values())
    return {"ds": float(np.mean(gaps)), "ds_max": float(np.max(gaps)), "per_attribute": per_attribute,
            "skipped": skipped}
