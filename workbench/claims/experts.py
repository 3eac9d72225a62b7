"""Claims measurements of the experts capability (P3 AlignX, P10 TrinityX).

``hhh_gain`` (``params.metric``: win_rate | truthful_informative | harmful_rate | safety_score | truthfulness) —
the relative gain of the routed mixture (system ``routed``: the default, soft top-k mixing by the calibrated
routing probabilities, named by the artifact's ``routing``) over the system the ``hhh_eval`` artifact holds as its
baseline (the same backbone without experts, ``base``), in %: (mixture − base) / base · 100 for the metrics where higher is better;
for ``harmful_rate`` the relative reduction (base − mixture) / base · 100 ("fewer safety violations"); for
``safety_score`` the gain of 1 − harmful rate (the share of responses the safety judge does not flag). The 95 %
interval is a paired bootstrap over the items (the same resample for both systems) of the per-item scores in the
``hhh_responses`` artifact, when it holds them. The abstracts do not name the baseline of their gains, and their
data (Alpaca, BeaverTails, TruthfulQA), judges and 7B backbones are not ours, so a measured gain is never
``comparable``.

``efficiency_reduction`` (``params.quantity``: latency | memory) — 100 · (1 − ours / baseline) for the system as
configured (its router's top-k) from the ``router_calibration`` artifact's efficiency rows. The papers' baseline is
"prior MoEs", unnamed: the nearest we have is PEFT's X-LoRA, a published MoE of LoRA experts (latency only, both
sides without a KV cache), then three full fine-tuned copies routed the same way (a model-level MoE we built). Either
way the row is ``not comparable``, the reason naming the baseline. The dense-mixture row is never used: it is not
the configured system.
"""
from __future__ import annotations

import numpy as np

from workbench.claims.core import measured, measures, not_built, not_measured
from workbench.metrics.paired import paired_change

MIXTURE, BASELINE = "routed", "base"
N_BOOT = 2000

# claim metric → (axis, metric of the hhh_eval artifact, direction, how ours is stated)
HHH_METRICS = {
    "win_rate": ("helpful", "win_rate", "gain", "relative gain of the win rate against the reference answers"),
    "truthful_informative": ("honest", "true_and_informative", "gain",
                             "relative gain of % true ∧ informative (per answer, both at once)"),
    "harmful_rate": ("harmless", "harmful_rate", "reduction",
                     "relative reduction of the harmful-response rate, (base − mixture) / base; the abstract does "
                     "not say whether its figure is relative or in percentage points"),
    "safety_score": ("harmless", "harmful_rate", "safety",
                     "relative gain of the safety score, taken as 1 − harmful rate (the share of responses the safety "
                     "judge does not flag); the paper's safety score is not defined in the abstract"),
    "truthfulness": ("honest", "true", "gain", "relative gain of % true (truth judge)"),
}


def _relative(mixture: float, base: float, direction: str) -> float:
    """The claim's relative change in %, NaN when the baseline's value is 0."""
    if direction == "safety":
        mixture, base = 1.0 - mixture, 1.0 - base
    if base == 0:
        return float("nan")
    change = (base - mixture) if direction == "reduction" else (mixture - base)
    return 100.0 * change / base


def _metric_value(frame, system: str, axis: str, metric: str):
    hit = frame[(frame["system"] == system) & (frame["axis"] == axis) & (frame["metric"] == metric)]
    return None if hit.empty else (float(hit["value"].iloc[0]), int(hit["n"].iloc[0]), str(hit["judge"].iloc[0]))


def paired_bootstrap(mixture: np.ndarray, base: np.ndarray, direction: str, *, n_boot: int = N_BOOT,
                     seed: int = 0) -> tuple[float, float] | None:
    """95 % percentile interval of ``_relative`` over item resamples shared by both systems (per-item scores
    aligned by item; ``metrics.paired.paired_change``); None when fewer than two items or when the baseline's
    value is 0."""
    mixture, base = np.asarray(mixture, dtype=float), np.asarray(base, dtype=float)
    if len(mixture) != len(base) or len(base) < 2:
        return None
    if direction == "safety":
        mixture, base, direction = 1.0 - mixture, 1.0 - base, "gain"
    kind = "relative reduction" if direction == "reduction" else "relative gain"
    return paired_change(base, mixture, kind, n_boot=n_boot, seed=seed)[1]


def _paired_items(responses, axis: str, column: str):
    """Per-item scores of the mixture and the baseline on ``axis`` aligned by item id, or None when the responses
    artifact holds no per-item scores for ``column``."""
    if responses is None or column not in getattr(responses.data, "columns", ()):
        return None
    frame = responses.data
    part = frame[(frame["axis"] == axis) & frame["system"].isin([MIXTURE, BASELINE])]
    table = part.pivot_table(index="id", columns="system", values=column, aggfunc="first")
    if set(table.columns) != {MIXTURE, BASELINE}:
        return None
    table = table.dropna()
    return table[MIXTURE].to_numpy(float), table[BASELINE].to_numpy(float)


def _data_kinds(responses, axis: str) -> dict[str, int]:
    """Items of ``axis`` per data kind (real / bundled) in the responses artifact; {} when it does not say."""
    if responses is None or "data_kind" not in getattr(responses.data, "columns", ()):
        return {}
    part = responses.data[(responses.data["axis"] == axis) & (responses.data["system"] == BASELINE)]
    return {str(k): int(v) for k, v in part["data_kind"].value_counts().items()}


def _data_name(artifact, n: int, axis: str, kinds: dict[str, int]) -> tuple[str, str]:
    """(data description, data kind) of an HHH row: "real" only when every item is real."""
    size = artifact.config.get("eval_rows")
    of = f" of {size} evaluated" if size else ""
    if kinds.get("real"):
        kind = "real" if not kinds.get("bundled") else "bundled"
        return (f"{kinds.get('bundled', 0)} bundled held-out {axis} prompts + {kinds['real']} real FreshQA "
                f"v12182024 questions ({n} items{of})", kind)
    return f"bundled: held-out {axis} prompts of the axis data ({n} items{of})", "bundled"


@measures("hhh_gain")
def hhh_gain(claim, sources):
    """The routed mixture's relative gain over the backbone without experts on one HHH metric (module doc)."""
    name = claim.params.get("metric")
    if name not in HHH_METRICS:
        return not_measured(f"unknown hhh_gain metric '{name}' in data/papers.json; one of {', '.join(HHH_METRICS)}")
    axis, metric, direction, stated = HHH_METRICS[name]
    paper = _paper_of(claim)
    artifact = sources.get(paper, "hhh_eval")
    if artifact is None:
        return not_built(paper, "hhh_eval")
    frame = artifact.data
    if not {"system", "axis", "metric", "value"} <= set(getattr(frame, "columns", ())):
        return not_measured(f"{artifact.label} has no system/axis/metric/value columns", artifact=artifact.label)
    got = {s: _metric_value(frame, s, axis, metric) for s in (MIXTURE, BASELINE)}
    missing = [s for s, v in got.items() if v is None]
    if missing:
        return not_measured(f"{artifact.label} has no {axis} '{metric}' for system(s) {', '.join(missing)} (the "
                            f"routed mixture and the backbone without experts are needed)", artifact=artifact.label)
    (mix, n, judge), (base, _, _) = got[MIXTURE], got[BASELINE]
    value = _relative(mix, base, direction)
    if not np.isfinite(value):
        return not_measured(f"the baseline's {'safety score' if direction == 'safety' else metric} is 0 on {n} "
                            f"items: a relative change is undefined", artifact=artifact.label)
    responses = sources.get(paper, "hhh_responses")
    items = _paired_items(responses, axis, metric)
    ci = paired_bootstrap(*items, direction) if items is not None else None
    data, data_kind = _data_name(artifact, n, axis, _data_kinds(responses, axis))
    routing = artifact.config.get("routing") or "the routed mixture as built"
    reason = (f"ours: {routing} vs the same backbone without experts ({artifact.profile} profile), "
              f"judged by {judge} on {n} held-out items; the paper's baseline is not named in the abstract "
              f"and its gains are on Alpaca / BeaverTails / TruthfulQA with 7B backbones and other judges")
    if direction in ("reduction", "safety"):
        reason += f"; ours is the {stated}"
    detail = (f"{stated}: mixture {mix:.4g}, base {base:.4g}"
              + (f"; 95 % CI: paired bootstrap over {len(items[0])} items ({N_BOOT} resamples)" if ci else
                 "; no CI: the responses artifact holds no per-item scores" if items is None else ""))
    return measured(artifact, value, reason=reason, ci=ci, data=data, data_kind=data_kind, detail=detail,
                    shortcut=_shortcut_gains(sources.get(paper, "hhh_shortcuts"), axis, metric, direction, base))


def _shortcut_gains(shortcuts, axis: str, metric: str, direction: str, base: float) -> str:
    """The same relative change for each response shortcut of the ``hhh_shortcuts`` artifact (a blanket refusal,
    the prompt echoed: ``experts.shortcuts``) against the same base value; empty when not built."""
    frame = getattr(shortcuts, "data", None)
    if frame is None or not {"system", "axis", "metric", "value"} <= set(frame.columns):
        return ""
    parts = []
    for system in dict.fromkeys(frame["system"]):
        got = _metric_value(frame, system, axis, metric)
        if got is not None:
            parts.append(f"{system}: {_relative(got[0], base, direction):+.1f} %")
    return "; ".join(parts)


def _paper_of(claim) -> str:
    """The paper a claim belongs to (claims carry no paper id: found in the registry)."""
    from workbench import WorkbenchError
    from workbench.papers import all_papers

    for paper in all_papers():
        if any(c is claim or c == claim for c in paper.claims):
            return paper.id
    raise WorkbenchError(f"claim '{claim.metric}' belongs to no paper of data/papers.json")


@measures("efficiency_reduction")
def efficiency_reduction(claim, sources):
    """100 · (1 − ours / baseline) of the configured system against the nearest prior-MoE-like baseline
    (module doc)."""
    quantity = claim.params.get("quantity")
    if quantity not in ("latency", "memory"):
        return not_measured(f"unknown efficiency quantity '{quantity}' in data/papers.json; latency or memory")
    paper = _paper_of(claim)
    artifact = sources.get(paper, "router_calibration")
    if artifact is None:
        return not_built(paper, "router_calibration")
    efficiency = artifact.config.get("efficiency") or {}
    rows = efficiency.get("rows")
    if not rows:
        return not_measured(f"{artifact.label} holds no efficiency rows naming system and baseline (built before "
                            f"they existed): rebuild it", artifact=artifact.label)
    configured = [r for r in rows if r["quantity"] == quantity and r["configured"]]
    if not configured:
        missing = ("peak memory is measured at full size only (not in smoke builds); build without --smoke or run "
                   "benchmarks/moe_efficiency.py" if quantity == "memory" else
                   "no latency row of the configured system")
        return not_measured(f"{artifact.label}: {missing}", artifact=artifact.label)
    order = {"x-lora": 0, "three copies": 1}
    row = min(configured, key=lambda r: order.get(r["baseline_kind"], 2))
    why = ("PEFT's X-LoRA is a published MoE of LoRA experts, but its classifier is untrained here (timing only) and "
           "both sides run without a KV cache" if row["baseline_kind"] == "x-lora" else
           "three full fine-tuned copies routed the same way are a model-level MoE we built, not a published MoE")
    reason = (f"baseline: {row['baseline']} — {why}; the paper's prior MoEs are not named in the abstract; "
              f"{artifact.profile} profile backbone, not the paper's 7B models")
    others = [r for r in configured if r is not row]
    detail = (f"{row['system']}: {row['ours']:.4g} vs {row['baseline_value']:.4g} {row['unit']} "
              f"(ratio {row['ratio']:.3f}; {row['note']})"
              + "".join(f"; vs {r['baseline']}: {r['reduction_pct']:.1f} % lower" for r in others))
    data = (f"bundled: {efficiency.get('prompts')} axis prompts × {efficiency.get('new_tokens')} new tokens, "
            f"best of {efficiency.get('repeats')}")
    return measured(artifact, row["reduction_pct"], reason=reason, data=data, data_kind="bundled", detail=detail)
