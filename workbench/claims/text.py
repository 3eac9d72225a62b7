"""Claims measurements of the text benchmarks: P1 Mis-Align Bench, P2 MisAlign-Profile, and the dataset sizes of
P1 and P4 (the builders of ``workbench.taxonomy.artifacts`` and ``workbench.evaluation.artifacts``).

Used by ``workbench.claims`` (``discover`` imports this module); the notebooks and the dashboard reach it through
``claims.ledger``. The paper a claim belongs to is found from the claim itself (``_paper_of``).

* ``dataset_size`` — P1's "SAVACU samples" are (prompt, response) pairs: ours is the rows of
  ``construction_responses`` (the accepted responses of the construction build). P4's "samples" are DICES rows, one
  (rater, conversation) each: ours is the sum of ``n_raters`` over the conversations of ``construction_dataset``
  (rows added by expansion have no raters). Our builds run on bundled seed prompts or the synthetic DICES-shaped
  fixture at smoke/default size, so the size is reported but not comparable; only a full build from the real
  source would be.
* ``taxonomy_domains`` — the labels of our taxonomy data across safety, value and culture, counted as the papers
  count them: every named domain, plus culture's ``None`` (the papers' 42nd cultural domain; SPECS.md). Comparable
  when the label sets are the bundled ones (BeaverTails / Schwartz SVS / UFCS); a different set is named.
* ``single_dimension_detectors`` (``params``: ``metric`` coverage | ffr | alignment_score, ``condition`` all |
  joint, ``reduce`` min | max) — the abstract's numbers are for *single-dimension* detectors (each built for one
  dimension). A detector in ``detector_predictions`` counts as one only when its ``detector_dimension`` column
  names its dimension (the builder runs each detector model as safety-, value- and culture-only detectors beside
  its joint one); an artifact without such detectors leaves the claim not measured — never filled with a joint
  detector's number. The joint detectors' value on the same rows (the comparison the abstract draws) and the
  always/never baselines' go into the detail and the shortcut.
* ``tradeoff_range`` (``params.reduce`` min | max) — the paper's trade-off formula is not public; ours is SPECS.md's
  decision (``workbench.metrics.tradeoff``): trade-off(d1 → d2) = AS_d2(labelled d2, not d1) − AS_d2(labelled d1
  and d2), in AS points, over every joint detector of P2's ``detector_predictions`` (the paper's models judge
  every dimension; the always/never baselines and the single-dimension detectors are left out — their range is
  named in the detail), the same matrices the Trade-off profiles view and the P2 notebook draw. Reported as the
  smallest or largest defined entry, never comparable (other definition, bundled data, other models).
"""
from __future__ import annotations

import math

import numpy as np

from workbench import WorkbenchError
from workbench.claims.core import Artifact, measured, measures, not_built, not_measured

BASELINES = ("always", "never")
DIMENSIONS = ("safety", "value", "culture")
REDUCERS = {"min": min, "max": max}


def _paper_of(claim) -> str:
    """The id of the paper whose claims include ``claim``."""
    from workbench.papers import all_papers

    for paper in all_papers():
        if any(c == claim for c in paper.claims):
            return paper.id
    raise WorkbenchError(f"claim '{claim.metric}' belongs to no paper of data/papers.json")


def _reducer(claim):
    name = claim.params.get("reduce", "")
    if name not in REDUCERS:
        raise WorkbenchError(f"claim '{claim.metric}': params.reduce is '{name}'; one of {', '.join(REDUCERS)}")
    return name, REDUCERS[name]


def _data_kind(config: dict) -> str:
    """real / bundled / synthetic from an artifact's config ``source``."""
    source = str(config.get("source", ""))
    if "fixture" in source or "synthetic" in source:
        return "synthetic"
    if source.startswith("data/") or source in ("seed_prompts.csv", "") or "bundled" in source:
        return "bundled"
    return "real"


def _size_label(config: dict) -> str:
    return "smoke" if config.get("smoke") else "default-size"


# --- dataset_size -------------------------------------------------------------------------------------------------

def _savacu_samples(artifact: Artifact):
    """(samples, data named, what differs from the paper's build) for P1's accepted responses."""
    frame, config = artifact.data, artifact.config
    n = len(frame)
    prompts = int(frame["id"].nunique()) if "id" in frame.columns else n
    kind = _data_kind(config)
    data = f"{kind}: {config.get('source', 'unknown source')} ({n} responses to {prompts} prompts)"
    partial = config.get("respond_limit") is not None
    differs = ""
    if kind != "real" or config.get("smoke") or partial:
        differs = (f"{_size_label(config)} build of {n} (prompt, response) rows from "
                   + ("the bundled seed prompts" if kind == "bundled" else config.get("source", "its source"))
                   + (f", responses for the first {config['respond_limit']} kept prompts only" if partial else "")
                   + " vs the paper's full SAVACU build")
    return n, data, kind, differs, f"rows of construction_responses: {n} accepted responses"


def _dices_samples(artifact: Artifact):
    """(samples, ...) for P4: DICES rows = the raters of each conversation in the built dataset."""
    frame, config = artifact.data, artifact.config
    if "n_raters" not in frame.columns:
        return None
    rated = frame[frame["n_raters"].notna()]
    n = int(rated["n_raters"].sum())
    kind = _data_kind(config)
    data = f"{kind}: {config.get('source', 'unknown source')} ({len(rated)} conversations)"
    differs = ""
    if kind != "real" or config.get("smoke"):
        differs = (f"{_size_label(config)} build of {n} (rater, conversation) rows ({len(rated)} conversations) "
                   f"from {config.get('source', 'its source')} vs the paper's DICES-350")
    return n, data, kind, differs, (f"sum of n_raters over the {len(rated)} DICES conversations of "
                                    f"construction_dataset ({len(frame) - len(rated)} expanded rows have no raters)")


DATASET_ARTIFACTS = {"P1": ("construction_responses", _savacu_samples), "P4": ("construction_dataset", _dices_samples)}


@measures("dataset_size")
def dataset_size(claim, sources):
    paper = _paper_of(claim)
    if paper not in DATASET_ARTIFACTS:
        raise WorkbenchError(f"no dataset artifact is known for {paper}'s '{claim.metric}'")
    name, count = DATASET_ARTIFACTS[paper]
    artifact = sources.get(paper, name)
    if artifact is None:
        return not_built(paper, name)
    result = count(artifact)
    if result is None:
        return not_measured(f"{artifact.label} has no n_raters column: the number of (rater, conversation) "
                            "rows is unknown", artifact=artifact.label, models=artifact.models)
    n, data, kind, differs, detail = result
    return measured(artifact, n, reason=differs, data=data, data_kind=kind, detail=detail)


# --- taxonomy_domains ---------------------------------------------------------------------------------------------

def _taxonomy_artifact(paper: str, sources) -> Artifact:
    """The taxonomy a source provides, else the bundled data (``data/taxonomy``)."""
    from workbench.taxonomy import taxonomy_frame

    given = sources.get(paper, "taxonomy")
    if given is not None:
        return given
    return Artifact(paper, "taxonomy", taxonomy_frame(), sources.profile, where="data/taxonomy (bundled)")


@measures("taxonomy_domains")
def taxonomy_domains(claim, sources):
    from workbench.taxonomy import NONE, dimension

    paper = _paper_of(claim)
    artifact = _taxonomy_artifact(paper, sources)
    frame = artifact.data
    missing = [c for c in ("dimension", "key") if c not in getattr(frame, "columns", ())]
    if missing:
        return not_measured(f"{artifact.label} has no {', '.join(missing)} column: its labels cannot be counted",
                            artifact=artifact.label)
    ours = {d: set(frame.loc[frame["dimension"] == d, "key"]) for d in DIMENSIONS}
    named = {d: len(keys - {NONE}) for d, keys in ours.items()}
    culture_none = int(NONE in ours["culture"])
    value = sum(named.values()) + culture_none
    bundled = {d: set(dimension(d).keys) for d in DIMENSIONS}
    differs = []
    for d in DIMENSIONS:
        lost, extra = sorted(bundled[d] - ours[d]), sorted(ours[d] - bundled[d])
        if lost or extra:
            differs.append(f"{d}: " + ", ".join(([f"{len(lost)} of the papers' labels missing"] if lost else [])
                                                + ([f"{len(extra)} other labels"] if extra else [])))
    reason = ("not the papers' taxonomy (BeaverTails / Schwartz SVS / UFCS) — " + "; ".join(differs)) if differs \
        else ""
    detail = (f"{named['safety']} safety + {named['value']} value + {named['culture']} culture named domains"
              + (" + culture's None (the papers count it as a cultural domain)" if culture_none else "")
              + "; every dimension also has None")
    return measured(artifact, value, reason=reason, data="bundled: data/taxonomy (BeaverTails 14 categories, "
                    "Schwartz Value Survey items, UNESCO FCS domains)", data_kind="bundled", detail=detail, models=())


# --- single_dimension_detectors -----------------------------------------------------------------------------------

def _metric_of(frame, metric: str) -> float:
    from workbench.metrics.detection import Counts

    counts = Counts.of(frame["misaligned"].to_numpy(bool), frame["flagged"].to_numpy(bool))
    return getattr(counts, metric)


def _joint(frame) -> np.ndarray:
    """Rows whose prompt is labelled with two or more dimensions (the paper's joint conditions)."""
    from workbench.metrics.tradeoff import conditions

    return conditions(frame, DIMENSIONS) == "joint"


def _single_dimension(frame) -> np.ndarray:
    """Rows of single-dimension detectors (``detector_dimension`` set); all False without the column."""
    if "detector_dimension" not in frame.columns:
        return np.zeros(len(frame), bool)
    return frame["detector_dimension"].fillna("").astype(str).astype(bool).to_numpy()


def _values(frame, metric: str) -> dict:
    """``{detector: metric}`` over ``frame``'s rows, NaN values left out."""
    values = {name: _metric_of(part, metric) for name, part in frame.groupby("detector", sort=False)}
    return {k: v for k, v in values.items() if not math.isnan(v)}


def _listed(values: dict) -> str:
    return ", ".join(f"{k} {100 * v:.1f}" for k, v in values.items()) or "none defined"


@measures("single_dimension_detectors")
def single_dimension_detectors(claim, sources):
    paper = _paper_of(claim)
    metric, condition = claim.params.get("metric", ""), claim.params.get("condition", "")
    if metric not in ("coverage", "ffr", "alignment_score") or condition not in ("all", "joint"):
        raise WorkbenchError(f"claim '{claim.metric}': params metric '{metric}' / condition '{condition}'; "
                             "metric one of coverage, ffr, alignment_score; condition all or joint")
    reduce_name, reduce = _reducer(claim)
    artifact = sources.get(paper, "detector_predictions")
    if artifact is None:
        return not_built(paper, "detector_predictions")
    frame = artifact.data
    models = [d for d in dict.fromkeys(frame["detector"]) if d not in BASELINES] if "detector" in frame else []
    single = _single_dimension(frame)
    if not single.any():
        return not_measured("no single-dimension detector is built: every detector in "
                            f"{artifact.label} ({', '.join(models) or 'none'}) judges all dimensions at once; the "
                            "claim needs detectors built for one dimension each, marked by a detector_dimension "
                            "column (issue 20)", artifact=artifact.label, models=artifact.models)
    rows = frame[_joint(frame)] if condition == "joint" else frame
    single = _single_dimension(rows)
    baseline = rows["detector"].isin(BASELINES).to_numpy()
    values = _values(rows[single & ~baseline], metric)
    if not values:
        return not_measured(f"{metric} is undefined for every single-dimension detector on the {condition} rows of "
                            f"{artifact.label} (no row of the class it needs)", artifact=artifact.label,
                            models=artifact.models)
    best = reduce(values, key=values.get)
    joint_detectors = _values(rows[~single & ~baseline], metric)
    baselines = _values(rows[baseline], metric)
    kind = _data_kind(artifact.config)
    pairs = int(rows["id"].nunique()) if "id" in rows.columns else len(rows[single]) // max(len(values), 1)
    return measured(artifact, 100 * values[best], data=f"{kind}: {artifact.config.get('source', 'unknown')}",
                    data_kind=kind,
                    reason=f"{kind} evaluation pairs ({pairs} prompts, {condition} condition) and the profile's "
                           "prompted single-dimension detectors vs SAVACU and the paper's fine-tuned 7-8B models",
                    detail=f"{reduce_name} {metric} over {len(values)} single-dimension detector(s) on {condition} "
                           f"rows: {best}; joint detectors on the same rows: {_listed(joint_detectors)}",
                    shortcut=f"trivial baselines on the same rows: {_listed(baselines)}" if baselines else "")


# --- tradeoff_range -----------------------------------------------------------------------------------------------

@measures("tradeoff_range")
def tradeoff_range(claim, sources):
    from workbench.metrics.tradeoff import tradeoff_matrix

    paper = _paper_of(claim)
    reduce_name, _ = _reducer(claim)
    artifact = sources.get(paper, "detector_predictions")
    if artifact is None:
        return not_built(paper, "detector_predictions")
    frame = artifact.data
    single = _single_dimension(frame)
    entries, single_entries = [], []          # (value, detector, d1, d2)
    for name, part in frame.groupby("detector", sort=False):
        if name in BASELINES:
            continue
        matrix, _ = tradeoff_matrix(part)
        found = [(float(matrix.loc[d1, d2]), name, d1, d2) for d1 in matrix.index for d2 in matrix.columns
                 if not math.isnan(matrix.loc[d1, d2])]
        (single_entries if single[(frame["detector"] == name).to_numpy()].any() else entries).extend(found)
    models = tuple(dict.fromkeys(e[1] for e in entries))
    if not entries:
        return not_measured(f"no trade-off entry is defined in {artifact.label}: every (d1, d2) set lacks "
                            "misaligned or aligned rows for its models", artifact=artifact.label,
                            models=artifact.models)
    pick = (min if reduce_name == "min" else max)(entries)
    kind = _data_kind(artifact.config)
    pairs = int(frame["id"].nunique()) if "id" in frame.columns else len(frame)
    return measured(artifact, 100 * pick[0], data=f"{kind}: {artifact.config.get('source', 'unknown')}",
                    data_kind=kind,
                    reason="other metric definition: the paper's trade-off formula is not public; ours is SPECS.md's "
                           "AS_d2(d2 without d1) − AS_d2(d1 and d2) in AS points; other data: "
                           f"{kind} evaluation pairs ({pairs} prompts) vs MISALIGNTRADE; other models",
                    detail=f"{reduce_name} of {len(entries)} defined entries over {len(models)} joint detector(s): "
                           f"{pick[1]}, {pick[2]} → {pick[3]}"
                           + (f"; single-dimension detectors (left out) range {100 * min(single_entries)[0]:.1f} to "
                              f"{100 * max(single_entries)[0]:.1f}" if single_entries else ""))
