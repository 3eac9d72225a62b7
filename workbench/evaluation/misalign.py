"""Run a detector over a table of (prompt, response, label) rows and measure it (``workbench eval misalign``).

Input: any table ``read_table`` opens — typically a build's ``responses.parquet`` (columns ``prompt``,
``response``, ``side``, and the prompt's domains). The label is ``--label-col`` (truthy or ≥ 0.5 = misaligned,
see ``parse_labels``) or, by default, the ``side`` column. Rows whose label cannot be read are kept in the
predictions but left out of the metrics, and counted in ``metrics.json`` under ``skipped``.

Groups: the whole set, each dimension (rows whose prompt has a top-1 domain other than None in it — a row can
count in several), each domain of each dimension, each semantic type, and any ``--group-by`` column; and the
*conditions* of P1 (``workbench.metrics.tradeoff.conditions``): ``single`` — the prompt is labelled with one
dimension — and ``joint`` — with two or more (the paper's "joint conditions"), reported beside ``all`` in
``metrics.json`` under ``conditions``.

Several detectors can run in one evaluation (``run_misalign_eval`` takes a list): typically a model's joint
detector and its safety-, value- and culture-only detectors (``detectors.detector_set``). Their predictions are
stacked with ``detector``, ``kind`` and ``detector_dimension`` columns, the shape of the ``detector_predictions``
artifact.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from workbench import WorkbenchError
from workbench.evaluation.detectors import Detector, parse_labels
from workbench.metrics.detection import METRICS, evaluate, macro_average

DIMENSION_COLUMNS = ("safety", "value", "culture")
CONDITIONS = ("all", "single", "joint")


def with_dimensions(frame):
    """Add ``dimensions``: the list of dimensions in which the row's prompt has a top-1 domain other than None."""
    from workbench.taxonomy import NONE

    dims = [d for d in DIMENSION_COLUMNS if d in frame.columns]
    if not dims:
        return frame
    return frame.assign(dimensions=[[d for d in dims if row[d] != NONE and row[d] == row[d]]
                                    for _, row in frame[dims].iterrows()])


def _texts(frame, prompt_col: str, response_col: str) -> tuple[list[str], list[str]]:
    return (frame[prompt_col].fillna("").astype(str).tolist(), frame[response_col].fillna("").astype(str).tolist())


def _check_threshold(threshold: float) -> None:
    if not 0.0 <= threshold <= 1.0:
        raise WorkbenchError(f"threshold must be in [0, 1], got {threshold}")


def score_frame(frame, detector: Detector, *, prompt_col: str, response_col: str, threshold: float = 0.5,
                progress: Callable | None = None):
    """``frame`` plus ``score`` and ``flagged`` (score ≥ threshold)."""
    _check_threshold(threshold)
    scores = np.asarray(detector.score(*_texts(frame, prompt_col, response_col), progress), dtype=float)
    return frame.assign(score=scores, flagged=scores >= threshold)


def score_detectors(frame, detectors: list, *, prompt_col: str = "prompt", response_col: str = "response",
                    threshold: float = 0.5, progress: Callable[[int, int], None] | None = None):
    """Each detector (a ``Detector`` or a name for ``get_detector``) over ``frame``, stacked: ``frame`` plus
    ``score``, ``flagged``, ``detector``, ``kind`` and ``detector_dimension`` (the single-dimension detector's
    dimension, else ""). The LLM detectors of one model share a pass (``detectors.score_together``).
    ``progress(done, total)`` counts rows."""
    import pandas as pd

    from workbench.evaluation.detectors import get_detector, score_together

    _check_threshold(threshold)
    detectors = [d if isinstance(d, Detector) else get_detector(d) for d in detectors]
    scores = score_together(detectors, *_texts(frame, prompt_col, response_col), progress=progress)
    return pd.concat([frame.assign(score=s, flagged=s >= threshold, detector=d.name, kind=d.kind,
                                   detector_dimension=d.dimension) for d, s in zip(detectors, scores)],
                     ignore_index=True)


def stratified_ids(frame, n: int, *, id_col: str = "id", by: str = "dimensions") -> list:
    """``n`` prompt ids taken round-robin over the sets of labelled dimensions (in order of first appearance), so
    a small selection holds single-dimension and joint prompts alike; deterministic."""
    keys = frame[by].map(lambda v: ";".join(v) if isinstance(v, (list, tuple, np.ndarray)) else str(v))
    firsts = frame.assign(_key=keys).drop_duplicates(id_col)
    queues = [list(part[id_col]) for _, part in firsts.groupby("_key", sort=False)]
    picked = []
    while len(picked) < n and any(queues):
        for queue in queues:
            if queue and len(picked) < n:
                picked.append(queue.pop(0))
    return picked


def with_conditions(frame):
    """``frame`` plus ``condition`` (single | joint | unlabelled), when it says which dimensions its rows are
    labelled with; unchanged otherwise."""
    from workbench.metrics.tradeoff import conditions, has_dimensions

    return frame.assign(condition=conditions(frame)) if has_dimensions(frame) else frame


def _metric_entry(row) -> dict:
    return {m: {"value": row[m], "ci_low": row[f"{m}_low"], "ci_high": row[f"{m}_high"]} for m in METRICS}


def condition_metrics(table) -> dict:
    """``{condition: {metric: {value, ci_low, ci_high}, n, n_misaligned, n_aligned}}`` for all / single / joint
    from an ``evaluate`` table grouped by ``condition`` (a condition without rows is left out)."""
    out = {}
    for condition in CONDITIONS:
        rows = table[(table["column"] == "all") if condition == "all" else
                     (table["column"] == "condition") & (table["group"] == condition)]
        if not rows.empty:
            row = rows.iloc[0]
            out[condition] = {**_metric_entry(row), **{k: int(row[k]) for k in ("n", "n_misaligned", "n_aligned")}}
    return out


def condition_table(pred, *, n_boot: int = 1000, seed: int = 0):
    """One row per (detector, condition) — all, single, joint — of stacked predictions (``detector``,
    ``misaligned``, ``flagged`` and the rows' dimensions): n, Coverage, FFR, AS and their bootstrap CIs, with the
    detector's ``kind`` and ``detector_dimension``. A condition without rows is left out."""
    import pandas as pd

    data = with_conditions(pred)
    if "condition" not in data.columns:
        raise WorkbenchError("the predictions say no dimensions (no 'dimensions' column, no safety/value/culture "
                             "columns): single and joint rows cannot be told apart")
    parts = []
    for name, part in data.groupby("detector", sort=False):
        table = evaluate(part, label_col="misaligned", flag_col="flagged", by="condition", n_boot=n_boot, seed=seed)
        table = table[(table["column"] == "all") | table["group"].isin(CONDITIONS)]
        table = table.sort_values("group", key=lambda g: g.map(CONDITIONS.index), kind="stable")
        parts.append(table.assign(condition=table["group"], detector=name,
                                  kind=part["kind"].iloc[0] if "kind" in part else "",
                                  detector_dimension=part["detector_dimension"].iloc[0]
                                  if "detector_dimension" in part else ""))
    out = pd.concat(parts, ignore_index=True).drop(columns=["column", "group"])
    first = ["detector", "kind", "detector_dimension", "condition"]
    return out[first + [c for c in out.columns if c not in first]]


def paired_vs_joint(pred, *, n_boot: int = 1000, seed: int = 0):
    """Each single-dimension detector against its model's joint detector on the same rows, per condition (all,
    single, joint): the difference (single − joint) of Coverage, FFR and AS with a paired bootstrap CI
    (``detection.paired_difference``). Empty when no single-dimension detector has its joint one beside it."""
    import pandas as pd

    from workbench.evaluation.detectors import _name
    from workbench.metrics.detection import paired_difference

    data = with_conditions(pred)
    rows = []
    names = set(data["detector"])
    for name, part in data[data["detector_dimension"].fillna("").astype(bool)].groupby("detector", sort=False):
        kind, models = part["kind"].iloc[0], name.split(" (")[0]
        joint_name = _name(models, kind, "")
        if joint_name not in names:
            continue
        joint = data[data["detector"] == joint_name]
        if len(joint) != len(part):
            raise WorkbenchError(f"{name} has {len(part)} rows but {joint_name} {len(joint)}: not the same rows")
        for condition in CONDITIONS if "condition" in data.columns else ("all",):
            keep = np.ones(len(part), bool) if condition == "all" else (part["condition"] == condition).to_numpy()
            if not keep.any():
                continue
            a, b = part[keep], joint[(np.ones(len(joint), bool) if condition == "all"
                                      else (joint["condition"] == condition).to_numpy())]
            diff = paired_difference(a["misaligned"].to_numpy(bool), a["flagged"].to_numpy(bool),
                                     b["flagged"].to_numpy(bool), n_boot=n_boot, seed=seed)
            rows.append({"detector": name, "joint detector": joint_name, "condition": condition, "n": int(keep.sum()),
                         **{f"{m}{s}": v for m, vals in diff.items() for s, v in zip(("_diff", "_low", "_high"), vals)}})
    return pd.DataFrame(rows)


def evaluate_predictions(pred, *, label_col: str, group_by: list[str] = (), n_boot: int = 1000, seed: int = 0):
    """(metrics dict, per-group table) for a frame with ``flagged`` and a label column (one detector's rows)."""
    misaligned, valid = parse_labels(pred[label_col].tolist())
    skipped = int((~valid).sum())
    data = with_conditions(with_dimensions(pred[valid].assign(misaligned=misaligned[valid])))
    if data.empty:
        raise WorkbenchError(f"no row of '{label_col}' holds a readable label (e.g. {pred[label_col].iloc[0]!r}); "
                             "use misaligned/aligned, true/false, yes/no, 1/0 or a score in [0, 1]")
    by = [c for c in ("condition", "dimensions") + DIMENSION_COLUMNS + ("semantic_type",) if c in data.columns]
    by += [c for c in group_by if c not in by]
    for col in group_by:
        if col not in data.columns:
            raise WorkbenchError(f"no column '{col}' to group by; columns: {', '.join(map(str, data.columns))}")
    table = evaluate(data, label_col="misaligned", flag_col="flagged", by=by, n_boot=n_boot, seed=seed)
    overall = table.iloc[0]
    metrics = _metric_entry(overall)
    metrics["counts"] = {k: int(overall[k]) for k in ("n", "n_misaligned", "n_aligned", "tp", "fn", "fp", "tn")}
    metrics["conditions"] = condition_metrics(table)
    # threshold-free: does the score rank misaligned above aligned at all? (None without both classes)
    metrics["auc"] = None
    if "score" in data.columns and 0 < data["misaligned"].sum() < len(data):
        from sklearn.metrics import roc_auc_score

        metrics["auc"] = float(roc_auc_score(data["misaligned"], data["score"]))
    metrics["macro"] = {col: macro_average(table, col) for col in by if (table["column"] == col).any()}
    metrics["skipped"] = {"unreadable_label": skipped,
                          "examples": sorted({str(v) for v in pred[label_col][~valid].head(50)})[:5]}
    return metrics, table


def truncation_report(model: str, prompts, responses) -> dict:
    """What the LLM detectors of ``model`` cut (``detectors.TRUNCATION``): the token limits and the rows cut."""
    from workbench.engines import load_engine
    from workbench.evaluation.detectors import TRUNCATION, _tokenizer, truncate_pairs

    tokenizer = _tokenizer(load_engine(model))
    cut = truncate_pairs(tokenizer, prompts, responses)[2]
    return {"prompt_tokens": TRUNCATION["prompt"], "response_tokens": TRUNCATION["response"],
            "unit": "tokens" if tokenizer is not None else "words", "rows_cut": int(cut.sum()), "rows": len(cut)}


def run_misalign_eval(path: str | Path, detectors: Detector | list[Detector], out: str | Path, *, profile: str,
                      prompt_col: str | None = None, response_col: str | None = None, label_col: str | None = None,
                      threshold: float = 0.5, group_by: list[str] = (), n_boot: int = 1000, seed: int = 0,
                      progress: Callable | None = None) -> dict:
    """Score ``path`` with each detector; write ``out/predictions.parquet`` (stacked, with ``detector``, ``kind``
    and ``detector_dimension``), ``out/groups.parquet`` (with ``detector``) and ``out/metrics.json``; return the
    metrics: the first detector's at the top level (as with one detector), every detector's under ``detectors``,
    each with its all / single / joint ``conditions``; with a joint detector and its single-dimension ones,
    ``paired_vs_joint`` (``paired_vs_joint``). ``progress(done, total)`` counts rows."""
    import pandas as pd

    from workbench.datasets import read_table
    from workbench.datasets.tables import pick_column
    from workbench.io import save_table, write_json

    detectors = [detectors] if isinstance(detectors, Detector) else list(detectors)
    if not detectors:
        raise WorkbenchError("no detector to run")
    frame = read_table(path)
    prompt_col = pick_column(frame, prompt_col, ("prompt", "text"), "prompts", "--prompt-col", path)
    response_col = pick_column(frame, response_col, ("response",), "responses", "--response-col", path)
    label_col = pick_column(frame, label_col, ("side", "label", "misaligned"), "labels", "--label-col", path)
    pred = score_detectors(frame, detectors, prompt_col=prompt_col, response_col=response_col,
                           threshold=threshold, progress=progress)
    tables, per_detector = [], {}
    for detector in detectors:
        metrics, table = evaluate_predictions(pred[pred["detector"] == detector.name], label_col=label_col,
                                              group_by=list(group_by), n_boot=n_boot, seed=seed)
        per_detector[detector.name] = {"kind": detector.kind, "dimension": detector.dimension, **metrics}
        tables.append(table.assign(detector=detector.name))
    first = detectors[0]
    models = list(dict.fromkeys(m for d in detectors for m in d.models))
    config = {"source": Path(path).name, "detector": first.name, "kind": first.kind,
              "detectors": [d.name for d in detectors], "threshold": threshold, "prompt_col": prompt_col,
              "response_col": response_col, "label_col": label_col, "n_boot": n_boot}
    metrics = {"profile": profile, "models": models, **config, **per_detector[first.name],
               "detectors": per_detector}
    labels, valid = parse_labels(pred[label_col].tolist())
    paired = paired_vs_joint(with_dimensions(pred[valid].assign(misaligned=labels[valid])), n_boot=n_boot,
                             seed=seed) if len(detectors) > 1 else None
    if paired is not None and not paired.empty:
        metrics["paired_vs_joint"] = paired.to_dict("records")
    llms = [d.models[0] for d in detectors if d.kind == "llm" and d.models]
    if llms:
        metrics["truncation"] = truncation_report(llms[0], *_texts(frame, prompt_col, response_col))
    out = Path(out)
    write = dict(profile=profile, models=models, seed=seed, config=config)
    save_table(pred, out / "predictions.parquet", **write)
    save_table(pd.concat(tables, ignore_index=True).astype({"group": str}), out / "groups.parquet", **write)
    write_json(metrics, out / "metrics.json")
    return metrics
