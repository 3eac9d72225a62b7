"""Claims measurements of the steering capability (P7 MEDASSESS-X, P8 AMBS).

``clinical_gain`` (``params.metric``: accuracy | factual_consistency | safety_error_rate) — P7's change from the
unsteered to the steered model on the *test* split of the ``clinical_steering`` artifact, at the layer and
multiplier chosen on the dev split (``steering.medassess``): in percentage points for accuracy and factual
consistency, as a relative reduction in % for the safety error rate. The 95 % interval is a paired bootstrap over
the test items of the per-item results in ``clinical_items`` when that artifact holds them. An artifact built
before the dev / test split (no ``split`` / ``selection`` in its config) compared its multipliers on the items it
reports: it is not measured. The abstract names neither its models nor its data and gives the best of several
models ("up to"), so a measured gain is never ``comparable``. The paper's point is that steering makes a general
model as good as a specialised one: when ``clinical_items`` also holds the specialised model's arms
(``finetuned``, ``finetuned_steered``; ``steering.finetune``), the detail adds the steered general model against
the fine-tuned one (and steering the fine-tuned one) with paired bootstrap CIs; without them it says that no
specialised model was compared.

``ambs_vs_naive`` (``params.metric``: alignment_score | unsafe_rate) — AMBS against an *independent* naive 1-to-N
baseline (each branch its own full pass with its own vector, no shared reference), from the ``P8/ambs_vs_naive``
artifact (``steering.ambs_eval``): a frame with a ``system`` column (``ambs``, ``naive``, …) and the metric's
column, per item (``id``: a paired bootstrap interval), with ``naive: independent`` in its config. AMBS there is
the shared prefix plus a KL policy–reference bound with ε chosen on a dev split, so its outputs differ from the
naive 1-to-N's wherever the bound binds. The alignment score is ours (the abstract does not define it), so a
measured value is never ``comparable``. When the naive baseline's rate is 0 the relative change is undefined:
the row gives the change in points instead, and says so. The steered-vs-unsteered numbers of ``steering_sweep``
measure something else and are never used.
"""
from __future__ import annotations

import math
from dataclasses import replace

from workbench.claims.core import measured, measures, not_built, not_measured

P7, P8 = "P7", "P8"
REAL_PREFIXES = {"pubmedqa-": "PubMedQA", "medqa-": "MedQA"}
AMBS_METRICS = {"alignment_score": "relative gain", "unsafe_rate": "relative reduction"}
AMBS_MISSING = ("AMBS vs an independent naive 1-to-N on an alignment score: without the bound our AMBS is "
                "output-identical to the naive 1-to-N (the shared prefix saves compute only), and the steering "
                "sweep runs no HHH evaluation on the branches; steered-vs-unsteered numbers measure something "
                "else. Needs a P8/ambs_vs_naive artifact (`workbench build P8`: AMBS with its KL bound and an "
                "independent naive baseline scored on the same items)")


def _test_data(config: dict) -> tuple[str, str, int]:
    """(data named, data kind, number of test items) of a P7 artifact's test split."""
    ids = list(config.get("split", {}).get("test_ids", []))
    real = {name: sum(i.startswith(prefix) for i in ids) for prefix, name in REAL_PREFIXES.items()}
    bundled = len(ids) - sum(real.values())
    parts = ([f"bundled clinical items ({bundled})"] if bundled else []) + \
        [f"{name} ({n})" for name, n in real.items() if n]
    kind = "bundled" if bundled else "real"
    return f"{kind}: test split of " + " + ".join(parts), kind, len(ids)


@measures("clinical_gain")
def clinical_gain(claim, sources):
    """P7's steered-vs-unsteered change on the test split (module doc)."""
    from workbench.steering.medassess import METRICS, STEERED, UNSTEERED, gain_on_test

    metric = claim.params.get("metric")
    if metric not in METRICS:
        return not_measured(f"we do not compute '{metric}' for P7: our clinical metrics are "
                            f"{', '.join(METRICS)}")
    artifact = sources.get(P7, "clinical_steering")
    if artifact is None:
        return not_built(P7, "clinical_steering")
    config, frame = artifact.config, artifact.data
    if "split" not in config or "selection" not in config:
        return not_measured(f"{artifact.label} predates the dev / test split: its multipliers were compared on the "
                            "items it reports; rebuild it (`workbench build P7 --force`)", artifact=artifact.label)
    if not {"arm", metric} <= set(getattr(frame, "columns", ())):
        return not_measured(f"{artifact.label} has no '{metric}' per arm", artifact=artifact.label)
    arms = frame.set_index("arm")[metric]
    if not {UNSTEERED, STEERED} <= set(arms.index):
        return not_measured(f"{artifact.label} lacks the unsteered or the steered arm", artifact=artifact.label)
    base, steered = float(arms[UNSTEERED]), float(arms[STEERED])
    column, kind = METRICS[metric]
    items = sources.get(P7, "clinical_items")
    ci, n, where = None, None, artifact.label
    if items is not None and {"id", "arm", column} <= set(getattr(items.data, "columns", ())):
        gain = gain_on_test(items.data, metric)
        if gain.undefined:
            return not_measured(f"{metric}: {gain.undefined}", artifact=items.label, models=artifact.models)
        value, ci, n = gain.value, gain.ci, gain.n
        where = f"{artifact.label} + {items.label}" if items.label != artifact.label else \
            f"{artifact.label}: clinical_steering + clinical_items"
    elif math.isnan(base) or math.isnan(steered):
        return not_measured(f"no test item has a {metric} value (factual consistency needs a reference rationale; "
                            "MedQA has none)", artifact=artifact.label, models=artifact.models)
    elif kind == "points":
        value = 100 * (steered - base)
    elif base == 0:
        return not_measured(f"the unsteered {metric} is 0 on the test split, so a relative reduction is undefined",
                            artifact=artifact.label, models=artifact.models)
    else:
        value = 100 * (base - steered) / base
    choice = config["selection"]
    data, data_kind, n_test = _test_data(config)
    stated = "percentage points" if kind == "points" else "relative reduction"
    reason = (f"ours: {', '.join(artifact.models)} on our {data.split(': ', 1)[1]}; the abstract names neither its "
              f"models nor its data and reports the best of several models ('up to')" +
              ("; it does not say whether its gain is relative or in points (ours: points)" if kind == "points"
               else ""))
    detail = (f"{stated}, steered ×{choice['multiplier']:g} at layer {choice['layer']} (chosen on {choice['dev_n']} "
              f"dev items by {choice['criterion']}) vs unsteered on {n or n_test} test items: {base:.3f} → "
              f"{steered:.3f}" + ("; paired bootstrap CI" if ci else ""))
    detail += _versus_finetuned(items.data if items is not None else None, metric, config)
    detail += _baseline_text(config, metric)
    out = measured(artifact, value, reason=reason, ci=ci, data=data, data_kind=data_kind, detail=detail)
    return replace(out, artifact=where)


def _baseline_text(config: dict, metric: str) -> str:
    """The majority-answer baseline (accuracy only) and the fine-tune's loss, when the config records them."""
    text = ""
    majority = config.get("majority_baseline")
    if metric == "accuracy" and isinstance(majority, dict) and "accuracy" in majority:
        text += f"; majority-answer baseline {majority['accuracy']:.3f}"
    curve = (config.get("finetuned") or {}).get("loss_per_epoch")
    if curve:
        means = " → ".join(f"{e['mean']:.2f}" for e in curve)
        text += f"; fine-tune training loss per epoch (mean) {means}"
    return text


def _ci_text(gain) -> str:
    return f" [{gain.ci[0]:+.1f}, {gain.ci[1]:+.1f}]" if gain.ci else ""


def _versus_finetuned(per_item, metric: str, config: dict) -> str:
    """The detail's steered-general-vs-fine-tuned part (module doc)."""
    from workbench.steering.medassess import FINETUNED, FINETUNED_STEERED, METRICS, STEERED, change_on_test

    arms = set(per_item["arm"]) if per_item is not None and "arm" in per_item.columns else set()
    if FINETUNED not in arms:
        return ("; no specialised (fine-tuned or medical) model in this artifact, so 'as good as a specialised model' is not "
                "measured here (rebuild: `workbench build P7 --force`)")
    model = config.get("systems", {}).get("finetuned", "the specialised model")
    unit = "points" if METRICS[metric][1] == "points" else "% relative reduction"
    vs = change_on_test(per_item, metric, FINETUNED, STEERED)
    if vs.undefined:
        text = f"; steered general vs specialised ({model}): {vs.undefined}"
    else:
        text = (f"; steered general vs specialised ({model}): {vs.unsteered:.3f} specialised vs {vs.steered:.3f} "
                f"steered general, {vs.value:+.1f} {unit}{_ci_text(vs)}")
    if FINETUNED_STEERED in arms:
        both = change_on_test(per_item, metric, FINETUNED, FINETUNED_STEERED)
        if not both.undefined:
            text += f"; steering the specialised model: {both.value:+.1f} {unit}{_ci_text(both)}"
    return text



def _ambs_values(frame, column: str):
    """Per-item values (aligned by id) or the single value of each system: (ambs, naive) arrays, or None."""
    import numpy as np

    part = frame[frame["system"].isin(["ambs", "naive"])]
    if "id" in part.columns:
        wide = part.pivot(index="id", columns="system", values=column).dropna()
    else:
        wide = part.set_index("system")[[column]].T
    if not {"ambs", "naive"} <= set(wide.columns) or len(wide) == 0:
        return None
    return np.asarray(wide["ambs"], dtype=float), np.asarray(wide["naive"], dtype=float)


@measures("ambs_vs_naive")
def ambs_vs_naive(claim, sources):
    """AMBS against an independent naive 1-to-N (module doc); not measured while no artifact holds both."""
    from workbench.metrics.paired import paired_change

    metric = claim.params.get("metric")
    if metric not in AMBS_METRICS:
        return not_measured(f"we do not compute '{metric}' for AMBS vs naive 1-to-N: one of "
                            f"{', '.join(AMBS_METRICS)}")
    artifact = sources.get(P8, "ambs_vs_naive")
    if artifact is None:
        return not_measured(AMBS_MISSING)
    frame = artifact.data
    if artifact.config.get("naive") != "independent":
        return not_measured(f"{artifact.label}: its naive baseline is not an independent 1-to-N (config naive = "
                            f"{artifact.config.get('naive')!r}); " + AMBS_MISSING, artifact=artifact.label)
    if not {"system", metric} <= set(getattr(frame, "columns", ())):
        return not_measured(f"{artifact.label} has no 'system' / '{metric}' columns; " + AMBS_MISSING,
                            artifact=artifact.label)
    values = _ambs_values(frame, metric)
    if values is None:
        return not_measured(f"{artifact.label} lacks AMBS or the naive baseline on {metric}", artifact=artifact.label)
    ambs, naive = values
    kind = AMBS_METRICS[metric]
    n_boot = 2000 if len(ambs) > 1 else 0                                                # one row each: no CI
    value, ci = paired_change(naive, ambs, kind, n_boot=n_boot)
    undefined = not math.isfinite(value)
    if undefined:                                       # a zero baseline: the change in points, said so
        value, ci = paired_change(naive, ambs, "points", n_boot=n_boot)
        if kind == "relative reduction":
            value, ci = 0.0 - value, (None if ci is None else (0.0 - ci[1], 0.0 - ci[0]))   # no "-0"
        kind = kind.replace("relative ", "") + " in points"
    data = artifact.config.get("data", "")
    data_kind = artifact.config.get("data_kind", "")
    config = artifact.config
    bound = f"; AMBS's KL bound ε = {config['chosen_epsilon']} (chosen on {config.get('chosen_on', 'dev')})" \
        if "chosen_epsilon" in config else ""
    reason = (f"ours: {', '.join(artifact.models) or 'our steering LM'} (not DeepSeek-7B) on "
              f"{data or 'our evaluation items'}; the abstract does not define its alignment score (ours: "
              f"win / not flagged / true∧informative on the item's own axis)" +
              (f"; the naive baseline's {metric} is 0, so the relative change is undefined and the change in "
               "points is given" if undefined else ""))
    return measured(artifact, value, reason=reason, ci=ci, data=data or "unnamed", data_kind=data_kind,
                    detail=f"{kind} of AMBS over the independent naive 1-to-N on {len(ambs)} items: "
                           f"{naive.mean():.3f} → {ambs.mean():.3f}{bound}")
