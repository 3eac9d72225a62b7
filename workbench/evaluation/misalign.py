"""Run a detector over a table of (prompt, response, label) rows and measure it (``workbench eval misalign``).

Input: any table ``read_table`` opens — typically a build's ``responses.parquet`` (columns ``prompt``,
``response``, ``side``, and the prompt's domains). The label is ``--label-col`` (truthy or ≥ 0.5 = misaligned,
see ``parse_labels``) or, by default, the ``side`` column. Rows whose label cannot be read are kept in the
predictions but left out of the metrics, and counted in ``metrics.json`` under ``skipped``.

Groups: the whole set, each dimension (rows whose prompt has a top-1 domain other than None in it — a row can
count in several), each domain of each dimension, each semantic type, and any ``--group-by`` column.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from workbench import WorkbenchError
from workbench.evaluation.detectors import Detector, parse_labels
from workbench.metrics.detection import METRICS, evaluate, macro_average

DIMENSION_COLUMNS = ("safety", "value", "culture")


def with_dimensions(frame):
    """Add ``dimensions``: the list of dimensions in which the row's prompt has a top-1 domain other than None."""
    from workbench.taxonomy import NONE

    dims = [d for d in DIMENSION_COLUMNS if d in frame.columns]
    if not dims:
        return frame
    return frame.assign(dimensions=[[d for d in dims if row[d] != NONE and row[d] == row[d]]
                                    for _, row in frame[dims].iterrows()])


def score_frame(frame, detector: Detector, *, prompt_col: str, response_col: str, threshold: float = 0.5,
                progress: Callable | None = None):
    """``frame`` plus ``score`` and ``flagged`` (score ≥ threshold)."""
    if not 0.0 <= threshold <= 1.0:
        raise WorkbenchError(f"threshold must be in [0, 1], got {threshold}")
    prompts = frame[prompt_col].fillna("").astype(str).tolist()
    responses = frame[response_col].fillna("").astype(str).tolist()
    scores = np.asarray(detector.score(prompts, responses, progress), dtype=float)
    return frame.assign(score=scores, flagged=scores >= threshold)


def score_detectors(frame, names: list[str], *, prompt_col: str = "prompt", response_col: str = "response",
                    threshold: float = 0.5, progress: Callable[[float, str], None] | None = None):
    """``score_frame`` with each detector of ``names``, stacked, with ``detector`` and ``kind`` columns."""
    import pandas as pd

    from workbench.evaluation.detectors import get_detector

    parts = []
    for k, name in enumerate(names):
        detector = get_detector(name)
        if progress:
            progress(k / len(names), f"scoring with {detector.name}")
        parts.append(score_frame(frame, detector, prompt_col=prompt_col, response_col=response_col,
                                 threshold=threshold).assign(detector=detector.name, kind=detector.kind))
    return pd.concat(parts, ignore_index=True)


def evaluate_predictions(pred, *, label_col: str, group_by: list[str] = (), n_boot: int = 1000, seed: int = 0):
    """(metrics dict, per-group table) for a frame with ``flagged`` and a label column."""
    misaligned, valid = parse_labels(pred[label_col].tolist())
    skipped = int((~valid).sum())
    data = with_dimensions(pred[valid].assign(misaligned=misaligned[valid]))
    if data.empty:
        raise WorkbenchError(f"no row of '{label_col}' holds a readable label (e.g. {pred[label_col].iloc[0]!r}); "
                             "use misaligned/aligned, true/false, yes/no, 1/0 or a score in [0, 1]")
    by = [c for c in ("dimensions",) + DIMENSION_COLUMNS + ("semantic_type",) if c in data.columns]
    by += [c for c in group_by if c not in by]
    for col in group_by:
        if col not in data.columns:
            raise WorkbenchError(f"no column '{col}' to group by; columns: {', '.join(map(str, data.columns))}")
    table = evaluate(data, label_col="misaligned", flag_col="flagged", by=by, n_boot=n_boot, seed=seed)
    overall = table.iloc[0]
    metrics = {m: {"value": overall[m], "ci_low": overall[f"{m}_low"], "ci_high": overall[f"{m}_high"]}
               for m in METRICS}
    metrics["counts"] = {k: int(overall[k]) for k in ("n", "n_misaligned", "n_aligned", "tp", "fn", "fp", "tn")}
    # threshold-free: does the score rank misaligned above aligned at all? (None without both classes)
    metrics["auc"] = None
    if "score" in data.columns and 0 < data["misaligned"].sum() < len(data):
        from sklearn.metrics import roc_auc_score

        metrics["auc"] = float(roc_auc_score(data["misaligned"], data["score"]))
    metrics["macro"] = {col: macro_average(table, col) for col in by if (table["column"] == col).any()}
    metrics["skipped"] = {"unreadable_label": skipped,
                          "examples": sorted({str(v) for v in pred[label_col][~valid].head(50)})[:5]}
    return metrics, table


def run_misalign_eval(path: str | Path, detector: Detector, out: str | Path, *, profile: str,
                      prompt_col: str | None = None, response_col: str | None = None, label_col: str | None = None,
                      threshold: float = 0.5, group_by: list[str] = (), n_boot: int = 1000, seed: int = 0,
                      progress: Callable | None = None) -> dict:
    """Score ``path`` with ``detector``; write ``out/predictions.parquet``, ``out/groups.parquet`` and
    ``out/metrics.json``; return the metrics."""
    from workbench.datasets import read_table
    from workbench.datasets.tables import pick_column
    from workbench.io import save_table, write_json

    frame = read_table(path)
    prompt_col = pick_column(frame, prompt_col, ("prompt", "text"), "prompts", "--prompt-col", path)
    response_col = pick_column(frame, response_col, ("response",), "responses", "--response-col", path)
    label_col = pick_column(frame, label_col, ("side", "label", "misaligned"), "labels", "--label-col", path)
    pred = score_frame(frame, detector, prompt_col=prompt_col, response_col=response_col, threshold=threshold,
                       progress=progress)
    metrics, table = evaluate_predictions(pred, label_col=label_col, group_by=list(group_by), n_boot=n_boot,
                                          seed=seed)
    config = {"source": Path(path).name, "detector": detector.name, "kind": detector.kind, "threshold": threshold,
              "prompt_col": prompt_col, "response_col": response_col, "label_col": label_col, "n_boot": n_boot}
    metrics = {"profile": profile, "models": list(detector.models), **config, **metrics}
    out = Path(out)
    write = dict(profile=profile, models=list(detector.models), seed=seed, config=config)
    save_table(pred.reset_index(drop=True), out / "predictions.parquet", **write)
    save_table(table.astype({"group": str}), out / "groups.parquet", **write)
    write_json(metrics, out / "metrics.json")
    return metrics
