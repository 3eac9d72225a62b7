"""Does calibration change what the mixture generates? The *uncalibrated vs each calibrator* ablation of the
P3 AlignX / P10 TrinityX mixtures on the HHH harness.

Every calibrator is a positive per-input rescaling of the router's logits, so top-1 routing is the same under all
of them; the mixtures route soft (top-k > 1, ``moe``), where the kept weights — and so the generated text — can
move. For each calibrator c the routed mixture generates for the same HHH items (system ``routed[c]`` of the
``hhh_responses`` artifact, with its expert weights per item in the ``w_<axis>`` columns) and the judged per-item
scores are compared with the uncalibrated router's on the same items [ours]:

* ``delta`` = mean_i (s_c,i − s_uncalibrated,i), in points of the metric (win rate, harmful rate, % true ∧
  informative), with a 95 % paired bootstrap interval (one item resample shared by both systems);
* ``weights_changed`` — share of items whose expert weights differ from the uncalibrated ones (max |Δw| > 1e-6);
  ``weight_shift`` — mean L1 distance of the weights; ``text_changed`` — share of items whose response differs.

Used by ``experts.artifacts`` (the ``hhh_calibration`` artifact), the P3 / P10 notebooks, ``viz.experts`` and the
router-calibration view.
"""
from __future__ import annotations

import numpy as np

from workbench import WorkbenchError
from workbench.metrics.paired import paired_change

REFERENCE = "uncalibrated"
ABLATION_METRICS = {"helpful": "win_rate", "harmless": "harmful_rate", "honest": "true_and_informative"}
WEIGHT_ATOL = 1e-6
COLUMNS = ["calibrator", "axis", "metric", "n", "value", "reference_value", "delta", "ci_low", "ci_high",
           "weights_changed", "weight_shift", "text_changed"]


def system_name(calibrator: str) -> str:
    """The ``hhh_responses`` system of the routed mixture under ``calibrator``: ``routed[temperature]``."""
    return f"routed[{calibrator}]"


def calibrator_of(system: str) -> str | None:
    """Inverse of ``system_name``; None for any other system."""
    return system[7:-1] if system.startswith("routed[") and system.endswith("]") else None


def paired_delta_ci(ours, reference, *, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """mean(ours − reference) and its 95 % percentile interval over item resamples shared by both (paired), as
    fractions (``metrics.paired.paired_change`` in points / 100)."""
    a, b = np.asarray(ours, float), np.asarray(reference, float)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise WorkbenchError(f"paired scores need two equal-length lists; got {a.shape} and {b.shape}")
    value, (lo, hi) = paired_change(b, a, "points", n_boot=n_boot, seed=seed)
    return value / 100, lo / 100, hi / 100


def calibration_ablation(judged, axes, *, reference: str = REFERENCE, n_boot: int = 2000, seed: int = 0):
    """The ablation table (``COLUMNS``, one row per calibrator × axis) from a judged ``hhh_responses`` frame
    holding the ``routed[<calibrator>]`` systems with their ``w_<axis>`` weights (module doc)."""
    import pandas as pd

    need = {"system", "axis", "id", "response", *ABLATION_METRICS.values(), *(f"w_{a}" for a in axes)}
    missing = sorted(need - set(judged.columns))
    if missing:
        raise WorkbenchError(f"the judged responses have no column(s) {', '.join(missing)}")
    cal = judged.assign(calibrator=judged["system"].map(calibrator_of)).dropna(subset=["calibrator"])
    if reference not in set(cal["calibrator"]):
        raise WorkbenchError(f"no '{system_name(reference)}' system among the judged responses: nothing to compare "
                             f"the calibrators with")
    wcols = [f"w_{a}" for a in axes]
    rows = []
    for calibrator in dict.fromkeys(cal["calibrator"]):
        for axis, metric in ABLATION_METRICS.items():
            both = [cal[(cal["calibrator"] == c) & (cal["axis"] == axis)].set_index("id") for c in (calibrator,
                                                                                                     reference)]
            ours, ref = both[0], both[1].reindex(both[0].index)
            if ours.empty or ref[metric].isna().any():
                continue
            delta, lo, hi = paired_delta_ci(ours[metric], ref[metric], n_boot=n_boot, seed=seed)
            shift = np.abs(ours[wcols].to_numpy(float) - ref[wcols].to_numpy(float))
            rows.append({"calibrator": calibrator, "axis": axis, "metric": metric, "n": len(ours),
                         "value": float(ours[metric].mean()), "reference_value": float(ref[metric].mean()),
                         "delta": delta, "ci_low": lo, "ci_high": hi,
                         "weights_changed": float((shift.max(1) > WEIGHT_ATOL).mean()),
                         "weight_shift": float(shift.sum(1).mean()),
                         "text_changed": float((ours["response"] != ref["response"]).mean())})
    return pd.DataFrame(rows, columns=COLUMNS)


def decision_changes(weights: dict[str, np.ndarray], reference: str = REFERENCE) -> dict[str, dict[str, float]]:
    """Per calibrator: the share of rows whose expert weights differ from ``reference``'s (``weights_changed``)
    and whose top expert differs (``top1_changed`` — 0 for every positive logit rescaling)."""
    if reference not in weights:
        raise WorkbenchError(f"no '{reference}' weights to compare with")
    ref = np.asarray(weights[reference], float)
    out = {}
    for name, w in weights.items():
        w = np.asarray(w, float)
        if w.shape != ref.shape:
            raise WorkbenchError(f"weights of '{name}' have shape {w.shape}, the reference's {ref.shape}")
        out[name] = {"weights_changed": float((np.abs(w - ref).max(1) > WEIGHT_ATOL).mean()),
                     "top1_changed": float((w.argmax(1) != ref.argmax(1)).mean())}
    return out


__all__ = ["ABLATION_METRICS", "COLUMNS", "REFERENCE", "calibration_ablation", "calibrator_of", "decision_changes",
           "paired_delta_ci", "system_name"]
