"""The safety classifier on real prompts written by others: before/after, bootstrap CIs, confusion, per-domain recall,
cross-source, the check set, and the fit-half selection of ``top_k`` and temperature (``benchmarks/safety_real.py``,
the P1 ``safety_real`` artifact, the *Domain taxonomy* view).

*before* is the classifier as it was: the ``prototype`` aggregate over descriptions and seed prompts only. *after* is
the default today: the ``topk`` aggregate over descriptions, facets, seed prompts and the real ``fit`` half. Every
number is reported on the ``report`` half (HarmBench test + half of StrongREJECT), which nothing is selected on;
cross-source rows put one source's mapped prompts in the pool and test on all of the other's.
"""
from __future__ import annotations

import numpy as np

from workbench.taxonomy.realdev import OUT, UNCLEAR, evaluate, mapped_prompts, safety_domains

NAME = "safety_real"
GRID_K = (1, 2, 3, 4, 5, 6)
GRID_T = (0.01, 0.015, 0.02, 0.03)
FOLDS = 5


class MemoEncoder:
    """Wraps a sentence encoder so that every distinct text is encoded once (the evaluations share most texts)."""

    def __init__(self, encoder):
        self.encoder, self.name, self._seen = encoder, encoder.name, {}

    def encode(self, texts: list[str]) -> np.ndarray:
        unseen = list(dict.fromkeys(t for t in texts if t not in self._seen))
        if unseen:
            for t, v in zip(unseen, np.asarray(self.encoder.encode(unseen))):
                self._seen[t] = v
        return np.array([self._seen[t] for t in texts])


def _seed_exemplars() -> dict[str, list[str]]:
    from workbench.datasets import seed_prompts
    seeds = seed_prompts()
    seeds = seeds[seeds["dimension"] == "safety"]
    return {k: g["text"].tolist() for k, g in seeds.groupby("domain")}


def _with(base: dict, rows) -> dict[str, list[str]]:
    out = {k: list(v) for k, v in base.items()}
    for key, group in rows.groupby("domain"):
        out.setdefault(key, []).extend(group["prompt"].tolist())
    return out


def before(texts, encoder):
    """The classifier as it was (prototype aggregate, seed prompts, no facets)."""
    from workbench.taxonomy.classify import classify_embedding
    return classify_embedding(texts, "safety", encoder, aggregate="prototype", exemplars=_seed_exemplars(),
                              facet_texts={})


def after(texts, encoder, *, exemplars=None, **kw):
    """The default classifier (topk aggregate, facets); ``exemplars`` default: seeds + the real fit half."""
    from workbench.taxonomy.classify import classify_embedding
    return classify_embedding(texts, "safety", encoder, exemplars=exemplars, **kw)


def select_topk(encoder, fit_rows, *, grid_k=GRID_K, grid_t=GRID_T, folds: int = FOLDS, seed: int = 0) -> dict:
    """``top_k`` and temperature by ``folds``-fold cross-validated top-1 accuracy on ``fit_rows`` only (each fold's
    prompts leave the pool while they are classified); ties go to the lower log-loss. Returns the choice and the
    grid."""
    from workbench.taxonomy.classify import Classification, softmax, topk_scores
    from workbench.taxonomy import dimension
    from workbench.taxonomy.classify import facets

    dim = dimension("safety")
    keys = [d.key for d in dim.domains]
    fac, seeds = facets("safety"), _seed_exemplars()
    base_texts = [f"{d.name}: {d.description}" for d in dim.domains]
    base_labels = list(keys)
    for key in keys:
        for t in fac.get(key, []) + seeds.get(key, []):
            base_texts.append(t)
            base_labels.append(key)
    base = encoder.encode(base_texts)
    vecs = encoder.encode(fit_rows["prompt"].tolist())
    gold = fit_rows["domain"].to_numpy()
    fold = np.random.default_rng(seed).permutation(len(fit_rows)) % folds
    scores = {k: np.zeros((len(fit_rows), len(keys))) for k in grid_k}
    for f in range(folds):
        train, test = fold != f, fold == f
        pool = np.vstack([base, vecs[train]])
        labels = base_labels + list(gold[train])
        for k in grid_k:
            scores[k][test] = topk_scores(vecs[test], pool, labels, keys, k)
    gold_idx = np.array([keys.index(g) for g in gold])
    grid = []
    for k in grid_k:
        for t in grid_t:
            probs = softmax(scores[k], t)
            pred = Classification("safety", tuple(keys), probs, "embedding", encoder.name).top1()
            nll = float(-np.log(np.clip(probs[np.arange(len(gold)), gold_idx], 1e-12, None)).mean())
            grid.append({"top_k": k, "temperature": t, "cv_top1": float(np.mean(np.array(pred) == gold)),
                         "cv_nll": nll})
    best = max(grid, key=lambda g: (g["cv_top1"], -g["cv_nll"]))
    return {"top_k": best["top_k"], "temperature": best["temperature"], "cv_top1": best["cv_top1"], "grid": grid}


def _record(name: str, method: str, data: str, gold, pred, n_boot: int) -> dict:
    res = evaluate(gold, pred, n_boot=n_boot)
    return {"name": name, "method": method, "data": data, **res}


def run(encoder, *, n_boot: int = 2000, smoke: bool = False, select: bool = True) -> dict:
    """Every evaluation of the module docstring. ``smoke``: 3 report and 3 pool prompts per domain, 1 check
    prompt per domain, no cross-source rows and no selection grid."""
    from workbench.datasets import safety_check_set
    from workbench.taxonomy.classify import TOP_K, TOPK_TEMPERATURE

    enc = encoder if isinstance(encoder, MemoEncoder) else MemoEncoder(encoder)
    rows = mapped_prompts()
    excluded = {"unclear": int((rows["domain"] == UNCLEAR).sum()), "out_of_taxonomy": int((rows["domain"] == OUT).sum())}
    mapped = rows[~rows["domain"].isin([UNCLEAR, OUT])].reset_index(drop=True)
    fit, report = mapped[mapped["split"] == "fit"], mapped[mapped["split"] == "report"]
    pool_fit = fit
    if smoke:
        report = report.sample(frac=1.0, random_state=0).groupby("domain", group_keys=False).head(3)
        pool_fit = fit.groupby("domain", group_keys=False).head(3)
    seeds = _seed_exemplars()
    selection = select_topk(enc, fit) if select and not smoke else None
    kw = {"top_k": selection["top_k"], "temperature": selection["temperature"]} if selection else \
        {"top_k": TOP_K, "temperature": TOPK_TEMPERATURE}
    texts, gold = report["prompt"].tolist(), report["domain"].tolist()
    records = []
    data = "real: StrongREJECT + HarmBench, mapped; report half (HarmBench test + half of StrongREJECT)"
    pred_before = before(texts, enc).top1()
    pred_after = after(texts, enc, exemplars=_with(seeds, pool_fit), **kw).top1()
    records.append(_record("report_before", "before", data, gold, pred_before, n_boot))
    records.append(_record("report_after", "after", data, gold, pred_after, n_boot))
    for src in ("strongreject", "harmbench"):
        m = (report["source"] == src).to_numpy()
        if m.any():
            g = [x for x, keep in zip(gold, m) if keep]
            records.append(_record(f"report_{src}_before", "before", f"{src}, report half",
                                   g, [p for p, keep in zip(pred_before, m) if keep], n_boot))
            records.append(_record(f"report_{src}_after", "after", f"{src}, report half",
                                   g, [p for p, keep in zip(pred_after, m) if keep], n_boot))
    no_real = after(texts, enc, exemplars=seeds, **kw).top1()
    records.append(_record("report_after_no_real_exemplars", "after, no real exemplars", data, gold, no_real, n_boot))
    for train, test in () if smoke else (("strongreject", "harmbench"), ("harmbench", "strongreject")):
        pool_rows = mapped[mapped["source"] == train]
        test_rows = mapped[mapped["source"] == test]
        t_texts, t_gold = test_rows["prompt"].tolist(), test_rows["domain"].tolist()
        records.append(_record(f"cross_{train}_to_{test}_before", "before", f"all of {test}",
                               t_gold, before(t_texts, enc).top1(), n_boot))
        records.append(_record(f"cross_{train}_to_{test}_after", f"after, pool: {train}", f"all of {test}",
                               t_gold, after(t_texts, enc, exemplars=_with(seeds, pool_rows), **kw).top1(), n_boot))
    check = safety_check_set()
    if smoke:
        check = check.groupby("domain", group_keys=False).head(1)
    c_texts, c_gold = check["text"].tolist(), check["domain"].tolist()
    records.append(_record("check_before", "before", "our check set (safety_check.csv)", c_gold,
                           before(c_texts, enc).top1(), n_boot))
    records.append(_record("check_after", "after", "our check set (safety_check.csv)", c_gold,
                           after(c_texts, enc, exemplars=_with(seeds, pool_fit), **kw).top1(), n_boot))
    config = {"top_k": kw["top_k"], "temperature": kw["temperature"], "selection": selection, "excluded": excluded,
              "n_fit": int(len(fit)), "n_report": int(len(report)), "n_boot": n_boot, "smoke": smoke,
              "labels": safety_domains()}
    return {"records": records, "config": config, "model": enc.name}


def figures(result: dict) -> dict[str, float]:
    """The ``figure_name: value`` lines of the benchmark."""
    by = {r["name"]: r for r in result["records"]}
    out = {"real_dev_n_report": by["report_after"]["n"],
           "real_dev_top1_before": by["report_before"]["accuracy"],
           "real_dev_top1_before_ci_low": by["report_before"]["ci_low"],
           "real_dev_top1_before_ci_high": by["report_before"]["ci_high"],
           "real_dev_top1_after": by["report_after"]["accuracy"],
           "real_dev_top1_ci_low": by["report_after"]["ci_low"],
           "real_dev_top1_ci_high": by["report_after"]["ci_high"],
           "real_dev_top1_after_no_real_exemplars": by["report_after_no_real_exemplars"]["accuracy"]}
    for name in ("cross_strongreject_to_harmbench", "cross_harmbench_to_strongreject"):
        if f"{name}_after" not in by:
            continue
        out[f"{name}_top1_before"] = by[f"{name}_before"]["accuracy"]
        out[f"{name}_top1_after"] = by[f"{name}_after"]["accuracy"]
    out["check_top1_before"] = by["check_before"]["accuracy"]
    out["check_top1_after"] = by["check_after"]["accuracy"]
    cfg = result["config"]
    out["selected_top_k"] = cfg["top_k"]
    out["selected_temperature"] = cfg["temperature"]
    out["excluded_unclear"] = cfg["excluded"]["unclear"]
    out["excluded_out_of_taxonomy"] = cfg["excluded"]["out_of_taxonomy"]
    return out


def save(result: dict, path, *, profile: str, seed: int = 0):
    """The P1 ``safety_real`` records artifact: one record per evaluation."""
    from workbench.io import save_records
    return save_records(result["records"], path, profile=profile, models=[result["model"]], seed=seed,
                        config=result["config"])
