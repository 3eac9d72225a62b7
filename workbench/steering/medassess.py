"""The P7 (MEDASSESS-X) protocol: the steering layer and multiplier are chosen on a dev split, and gains are
reported on a disjoint test split only.

Used by ``steering.artifacts.build_clinical``, the P7 notebook and the claims ledger (``claims.steering``).

* ``evaluation_pool(pubmedqa=..., medqa=...)`` — the items steering is evaluated on: the bundled items of the
  ``eval`` split plus the ``eval`` half of a real PubMedQA (``ori_pqal.json``) or MedQA (JSONL) file when one is
  given (``clinical``'s hash rule on the PMID / question text: deterministic, independent of file order).
  ``training_pool(...)`` — the rest: the bundled ``train`` items plus the files' ``train`` half, their
  (consistent, inconsistent) answers filled from the answer key (``clinical.answer_pairs``). The steering
  vectors' pairs and the fine-tune come from the training pool only; ``dev_test_split`` then divides the
  evaluation pool into dev (choices) and test (reported) — a file given is split train / dev / test.
* ``dev_test_split(items, seed=...)`` [ours] — within each stratum (source × type) the items are ordered by
  ``sha256(f"{seed}:{id}")`` and the first ``round(n · dev_fraction)`` go to ``dev`` (at least one, and at least
  one left for ``test``; a stratum of one item goes to ``test``). The split depends on the ids and the seed only,
  so editing an item's text or answer never moves it to the other side. ``limit`` keeps at most that many items
  per stratum on each side (smoke runs).
* ``choose_on_dev(lm, dev, vector, layers, multipliers)`` — the dev accuracy of every (layer, multiplier); the
  choice is the highest, ties broken toward the smaller multiplier and then the earlier layer (the smaller
  intervention). Only accuracy is compared (one forward pass per item, no generation or judge).
* ``run_protocol(...)`` — the split, the choice, then Accuracy, Factual Consistency and Safety Error Rate of the
  unsteered and the chosen steered model on the test items (``medical.evaluate``). Its ``config`` records the
  split (ids per side, counts per stratum) and the choice (criterion, candidates, dev grid).
* ``run_comparison(systems, ...)`` — the same for several models on one split: the general model (arms
  ``unsteered`` / ``steered``) and the specialised one (``steering.finetune``; arms ``finetuned`` /
  ``finetuned_steered``), each with its own vector and its own layer and multiplier chosen on the dev split
  (``config["selections"]``; ``config["selection"]`` is the general model's, as ``run_protocol`` writes it).
* ``comparisons(per_item)`` — the paired changes the claim is about, each with a paired bootstrap CI: steering the
  general model, fine-tuning it, the steered general model against the fine-tuned one (the paper's "as good as a
  specialised model"), and steering the fine-tuned one. ``arm_intervals(per_item)`` — each arm's metric with a
  percentile bootstrap CI over the test items (the figure's error bars). ``majority_baseline`` — the trivial
  surface-feature baseline beside them: the train items' most common answer, given to every test item.
* ``gain_on_test(per_item, metric)`` — the steered-minus-unsteered change on the test items with a paired bootstrap
  CI (items resampled with replacement, both arms together): in percentage points for accuracy and factual
  consistency, as a relative reduction in % for the safety error rate. ``paired_change(base, other, kind)`` is
  the same for any two systems' per-item values (also used by the claims ledger for P8).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workbench import WorkbenchError
from workbench.metrics.bootstrap import bootstrap_ci
from workbench.metrics.paired import KINDS, paired_change  # noqa: F401  (re-exported)

STRATA = ("source", "type")
DEV_FRACTION = 0.5
CRITERION = "dev accuracy; ties → smaller multiplier, then earlier layer"
UNSTEERED, STEERED = "unsteered", "steered"
FINETUNED, FINETUNED_STEERED = "finetuned", "finetuned_steered"
# system → (its unsteered arm, its steered arm)
SYSTEM_ARMS = {"base": (UNSTEERED, STEERED), "finetuned": (FINETUNED, FINETUNED_STEERED)}
ARMS = (UNSTEERED, STEERED, FINETUNED, FINETUNED_STEERED)
# (label, baseline arm, compared arm): the four-way comparison's paired changes [ours]
COMPARISONS = (("steering the general model", UNSTEERED, STEERED),
               ("specialised vs general", UNSTEERED, FINETUNED),
               ("steered general vs specialised", FINETUNED, STEERED),
               ("steering the specialised model", FINETUNED, FINETUNED_STEERED))
# metric → (per-item column of medical.evaluate's frame, how the gain is expressed)
METRICS = {"accuracy": ("correct", "points"), "factual_consistency": ("consistent", "points"),
           "safety_error_rate": ("safety_error", "relative reduction")}
SOURCE_NAMES = {"bundled": "bundled clinical_qa.jsonl ({part} split)", "pubmedqa": "PubMedQA ({part} half)",
                "medqa": "MedQA ({part} half)"}


def _pool(split: str, pubmedqa, medqa):
    import pandas as pd

    from workbench.steering.clinical import clinical_qa, load_medqa, load_pubmedqa

    frames = [clinical_qa(split)]
    for path, reader in ((pubmedqa, load_pubmedqa), (medqa, load_medqa)):
        if path:
            frame = reader(path)
            frames.append(frame[frame["split"] == split])
    pool = pd.concat(frames, ignore_index=True)
    duplicated = pool["id"][pool["id"].duplicated()]
    if len(duplicated):
        raise WorkbenchError(f"clinical items: duplicate id '{duplicated.iloc[0]}' across the {split} sources")
    return pool


def evaluation_pool(*, pubmedqa: str | Path | None = None, medqa: str | Path | None = None):
    """Bundled eval items plus the eval half of the given real files (``CLINICAL_COLUMNS``; module doc)."""
    return _pool("eval", pubmedqa, medqa)


def training_pool(*, pubmedqa: str | Path | None = None, medqa: str | Path | None = None):
    """Bundled train items plus the train half of the given real files, with (consistent, inconsistent) answers
    from the answer key where a file has none (module doc)."""
    from workbench.steering.clinical import answer_pairs

    return answer_pairs(_pool("train", pubmedqa, medqa))


def _rank(seed: int, id_: str) -> str:
    return hashlib.sha256(f"{seed}:{id_}".encode("utf-8")).hexdigest()


def dev_test_split(items, *, seed: int = 0, dev_fraction: float = DEV_FRACTION, limit: int | None = None):
    """``items`` with a ``part`` column (dev | test), stratified by source × type (see the module doc)."""
    import pandas as pd

    if not 0 < dev_fraction < 1:
        raise WorkbenchError(f"dev_fraction must be between 0 and 1, not {dev_fraction!r}")
    if len(items) == 0:
        raise WorkbenchError("no clinical items to split")
    if items["id"].duplicated().any():
        raise WorkbenchError(f"clinical items: duplicate id '{items['id'][items['id'].duplicated()].iloc[0]}'")
    parts = []
    for _, group in items.groupby(list(STRATA), sort=True):
        group = group.assign(_rank=[_rank(seed, i) for i in group["id"]]).sort_values("_rank")
        n = len(group)
        n_dev = 0 if n < 2 else min(n - 1, max(1, round(n * dev_fraction)))
        dev, test = group.iloc[:n_dev], group.iloc[n_dev:]
        if limit is not None:
            dev, test = dev.head(limit), test.head(limit)
        parts += [dev.assign(part="dev"), test.assign(part="test")]
    out = pd.concat(parts, ignore_index=True).drop(columns="_rank")
    if not (out["part"] == "dev").any() or not (out["part"] == "test").any():
        raise WorkbenchError(f"{len(items)} clinical item(s) are too few for a dev and a test split")
    return out


@dataclass(frozen=True)
class Choice:
    layer: int
    multiplier: float
    dev_accuracy: float
    dev_unsteered_accuracy: float
    dev_n: int
    grid: list = field(default_factory=list, compare=False)   # [{layer, multiplier, accuracy}] on dev

    def to_config(self, layers, multipliers) -> dict:
        return {"criterion": CRITERION, "layers": [int(x) for x in layers],
                "multipliers": [float(m) for m in multipliers], "layer": int(self.layer),
                "multiplier": float(self.multiplier), "dev_accuracy": self.dev_accuracy,
                "dev_unsteered_accuracy": self.dev_unsteered_accuracy, "dev_n": self.dev_n, "dev_grid": self.grid}


def choose_on_dev(lm, dev, vector, layers, multipliers, *, progress=None) -> Choice:
    """The (layer, multiplier) with the best dev accuracy (see the module doc); ``dev`` only is read."""
    from workbench.steering import medical

    if len(dev) == 0:
        raise WorkbenchError("no dev items to choose the layer and multiplier on")
    layers, multipliers = list(layers), [float(m) for m in multipliers]
    if not layers or not multipliers:
        raise WorkbenchError("need at least one candidate layer and one multiplier")
    base = medical.accuracy(lm, dev)
    grid = []
    for k, (layer, m) in enumerate((layer, m) for layer in layers for m in multipliers):
        grid.append({"layer": int(layer), "multiplier": m,
                     "accuracy": medical.accuracy(lm, dev, steering=(vector, layer, m))})
        if progress:
            progress((k + 1) / (len(layers) * len(multipliers)), f"dev: layer {layer}, ×{m:g}")
    best = min(grid, key=lambda r: (-r["accuracy"], abs(r["multiplier"]), layers.index(r["layer"])))
    return Choice(best["layer"], best["multiplier"], best["accuracy"], base, len(dev), grid)


@dataclass(frozen=True)
class ClinicalRun:
    summary: object     # one row per arm on the test split (the ``clinical_steering`` artifact)
    per_item: object    # one row per test item and arm (the ``clinical_items`` artifact)
    split: object       # every pool item with its part
    choice: Choice      # the first system's (the general model's)
    config: dict
    choices: dict = field(default_factory=dict)    # system → Choice


def describe_sources(items, part: str = "eval") -> str:
    """``bundled clinical_qa.jsonl (eval split) (23) + PubMedQA (eval half) (500)``: the sources of ``items`` (of
    the ``part`` split: eval or train) with counts."""
    counts = items.groupby("source", sort=False).size()
    return " + ".join(f"{SOURCE_NAMES.get(s, s).format(part=part)} ({n})" for s, n in counts.items())


def run_protocol(lm, vector, items, *, layers, multipliers, judge=None, seed: int = 0,
                 dev_fraction: float = DEV_FRACTION, limit: int | None = None, max_new_tokens: int = 48,
                 files: dict | None = None, progress=None) -> ClinicalRun:
    """Split ``items``, choose the layer and multiplier on dev, evaluate both arms on test (module doc).

    ``files``: the real files' names by source (recorded in the config, e.g. ``{"pubmedqa": "ori_pqal.json"}``).
    """
    return run_comparison([("base", lm, vector, layers)], items, multipliers=multipliers, judge=judge, seed=seed,
                          dev_fraction=dev_fraction, limit=limit, max_new_tokens=max_new_tokens, files=files,
                          progress=progress)


def _condition(system: str, lm, choice: Choice | None) -> str:
    steered = f"steered ×{choice.multiplier:g} at layer {choice.layer} (chosen on dev)" if choice else ""
    if system == "base":
        return steered or UNSTEERED
    return f"specialised ({lm.name})" + (f" + {steered}" if steered else "")


def run_comparison(systems, items, *, multipliers, judge=None, seed: int = 0, dev_fraction: float = DEV_FRACTION,
                   limit: int | None = None, max_new_tokens: int = 48, files: dict | None = None,
                   progress=None) -> ClinicalRun:
    """``systems``: ``[(system, lm, vector, layers)]`` with system ``base`` or ``finetuned`` (``SYSTEM_ARMS``).
    One dev / test split for all; each system's layer and multiplier are chosen on dev from its own vector; every
    arm is evaluated on the test items (module doc)."""
    import pandas as pd

    from workbench.steering import medical

    names = [system for system, *_ in systems]
    unknown = [n for n in names if n not in SYSTEM_ARMS]
    if unknown or len(set(names)) != len(names) or not names:
        raise WorkbenchError(f"systems must be distinct names from {', '.join(SYSTEM_ARMS)}; got {names}")
    report = progress or (lambda fraction, message: None)
    split = dev_test_split(items, seed=seed, dev_fraction=dev_fraction, limit=limit)
    dev, test = (split[split["part"] == p].reset_index(drop=True) for p in ("dev", "test"))
    share = 1 / len(systems)
    choices, rows, frames = {}, [], []
    for s, (system, lm, vector, layers) in enumerate(systems):
        start = s * share
        choice = choose_on_dev(lm, dev, vector, layers, multipliers,
                               progress=lambda f, m: report(start + 0.5 * share * f, f"{system} {m}"))
        choices[system] = choice
        for k, (arm, steering) in enumerate(zip(SYSTEM_ARMS[system],
                                                (None, (vector, choice.layer, choice.multiplier)))):
            condition = _condition(system, lm, choice if steering else None)
            report(start + share * (0.5 + 0.25 * k), f"test split: {condition}")
            metrics, frame = medical.evaluate(lm, test, steering=steering, judge=judge,
                                              max_new_tokens=max_new_tokens)
            rows.append({"arm": arm, "condition": condition, "part": "test", "system": system, "model": lm.name,
                         "layer": choice.layer if steering else None,
                         "multiplier": choice.multiplier if steering else 0.0,
                         **{m: metrics[m] for m in ("accuracy", "factual_consistency", "safety_error_rate", "n",
                                                    "n_consistency")},
                         "judges": ", ".join(metrics["judges"].values())})
            frames.append(frame.assign(source=list(test["source"]), arm=arm, condition=condition, part="test"))
    counts = split.groupby(["part", *STRATA]).size()
    first = choices[names[0]]
    config = {"items": describe_sources(split), "files": dict(files or {}),
              "split": {"seed": seed, "dev_fraction": dev_fraction, "strata": list(STRATA), "limit": limit,
                        "dev_ids": list(dev["id"]), "test_ids": list(test["id"]),
                        "counts": {"/".join(map(str, k)): int(v) for k, v in counts.items()}},
              "selection": first.to_config(systems[0][3], multipliers),
              "selections": {system: choices[system].to_config(layers, multipliers)
                             for system, _, _, layers in systems},
              "systems": {system: lm.name for system, lm, _, _ in systems}, "reported": "test split only"}
    report(1.0, "done")
    return ClinicalRun(pd.DataFrame(rows), pd.concat(frames, ignore_index=True), split, first, config, choices)


@dataclass(frozen=True)
class Gain:
    metric: str
    kind: str                           # "points" or "relative reduction"
    value: float                        # in % (points × 100, or the relative reduction × 100); NaN when undefined
    ci: tuple[float, float] | None
    unsteered: float
    steered: float
    n: int
    undefined: str = ""                 # why ``value`` is NaN


def _arm_values(per_item, metric: str, arms) -> tuple[str, object]:
    """(how the metric's change is expressed, a [item × arm] frame of the metric's per-item values on the items
    that have a value in every one of ``arms``)."""
    if metric not in METRICS:
        raise WorkbenchError(f"unknown clinical metric '{metric}'; choose from {', '.join(METRICS)}")
    column, kind = METRICS[metric]
    missing = [c for c in ("id", "arm", column) if c not in per_item.columns]
    if missing:
        raise WorkbenchError(f"per-item results lack column(s) {', '.join(missing)}")
    wide = per_item.pivot(index="id", columns="arm", values=column)
    if not set(arms) <= set(wide.columns):
        raise WorkbenchError(f"per-item results need both arms ({', '.join(arms)}); got {list(wide.columns)}")
    return kind, wide[list(arms)].astype(float).dropna()


def change_on_test(per_item, metric: str, base_arm: str, other_arm: str, *, n_boot: int = 2000, seed: int = 0,
                   alpha: float = 0.05) -> Gain:
    """The change in ``metric`` from arm ``base_arm`` to arm ``other_arm`` on the items of ``per_item``
    (``run_comparison``'s per-item frame), with a paired percentile bootstrap CI."""
    kind, wide = _arm_values(per_item, metric, (base_arm, other_arm))
    base, other = wide[base_arm].to_numpy(), wide[other_arm].to_numpy()
    n = len(wide)
    if n == 0:
        return Gain(metric, kind, math.nan, None, math.nan, math.nan, 0, f"no test item has a {metric} value")
    value, ci = paired_change(base, other, kind, n_boot=n_boot, seed=seed, alpha=alpha)
    undefined = "" if math.isfinite(value) else \
        f"the {base_arm} rate is 0 on the test split, so a relative reduction is undefined"
    return Gain(metric, kind, value, ci, float(base.mean()), float(other.mean()), n, undefined)


def gain_on_test(per_item, metric: str, *, n_boot: int = 2000, seed: int = 0, alpha: float = 0.05) -> Gain:
    """The steered-vs-unsteered change in ``metric`` on the items of ``per_item`` (``run_protocol``'s per-item
    frame: columns id, arm and the metric's item column), with a paired percentile bootstrap CI."""
    return change_on_test(per_item, metric, UNSTEERED, STEERED, n_boot=n_boot, seed=seed, alpha=alpha)


def comparisons(per_item, *, n_boot: int = 2000, seed: int = 0):
    """One row per (comparison of ``COMPARISONS`` whose arms are present, metric): label, baseline and compared
    arm, metric, kind, value (%), ci_low, ci_high, the two arms' means, n, undefined."""
    import pandas as pd

    present = set(per_item["arm"])
    rows = []
    for label, base, other in COMPARISONS:
        if not {base, other} <= present:
            continue
        for metric in METRICS:
            g = change_on_test(per_item, metric, base, other, n_boot=n_boot, seed=seed)
            rows.append({"comparison": label, "baseline": base, "compared": other, "metric": metric,
                         "kind": g.kind, "value": g.value, "ci_low": g.ci[0] if g.ci else math.nan,
                         "ci_high": g.ci[1] if g.ci else math.nan, "baseline_mean": g.unsteered,
                         "compared_mean": g.steered, "n": g.n, "undefined": g.undefined})
    return pd.DataFrame(rows)


def arm_intervals(per_item, *, n_boot: int = 2000, seed: int = 0, alpha: float = 0.05):
    """One row per (arm, metric): the mean of the per-item values on the test items with a percentile bootstrap
    CI (items resampled with replacement); columns arm, metric, value, ci_low, ci_high, n."""
    import pandas as pd

    arms = [a for a in ARMS if a in set(per_item["arm"])] + \
        [a for a in dict.fromkeys(per_item["arm"]) if a not in ARMS]
    rng = np.random.default_rng(seed)
    rows = []
    for metric, (column, _) in METRICS.items():
        for arm in arms:
            values = per_item.loc[per_item["arm"] == arm, column].astype(float).dropna().to_numpy()
            if len(values) == 0:
                rows.append({"arm": arm, "metric": metric, "value": math.nan, "ci_low": math.nan,
                             "ci_high": math.nan, "n": 0})
                continue
            low, high = bootstrap_ci(lambda v: v.mean(-1), values, n_resamples=n_boot, confidence=1 - alpha,
                                     seed=rng, vectorized=True)
            rows.append({"arm": arm, "metric": metric, "value": float(values.mean()), "ci_low": float(low),
                         "ci_high": float(high), "n": len(values)})
    return pd.DataFrame(rows)


def majority_baseline(train_items, test_items) -> dict:
    """A trivial surface-feature baseline [ours]: always give the answer most common among ``train_items`` of the
    same type (an option letter, or yes / no / maybe; ties → the first in sorted order), never reading the
    question. Returns ``{"accuracy": on test_items, "answers": {type: answer}, "n": len(test_items)}``."""
    if len(test_items) == 0:
        raise WorkbenchError("no test items for the majority-answer baseline")
    answers = {kind: sorted(part["answer"].value_counts().items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
               for kind, part in train_items.groupby("type")}
    missing = sorted(set(test_items["type"]) - set(answers))
    if missing:
        raise WorkbenchError(f"no train items of type {', '.join(missing)} for the majority-answer baseline")
    correct = test_items["answer"] == test_items["type"].map(answers)
    return {"accuracy": float(correct.mean()), "answers": answers, "n": int(len(test_items))}


__all__ = ["ARMS", "COMPARISONS", "Choice", "ClinicalRun", "Gain", "METRICS", "SYSTEM_ARMS", "arm_intervals",
           "change_on_test", "choose_on_dev", "comparisons", "describe_sources", "dev_test_split",
           "evaluation_pool", "gain_on_test", "majority_baseline", "paired_change", "run_comparison", "run_protocol",
           "training_pool"]
