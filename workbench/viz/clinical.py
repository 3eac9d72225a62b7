"""Figures of P7 (MEDASSESS-X): the four-way clinical QA comparison — general vs fine-tuned model, each with and
without steering — and the paired changes between them, with their bootstrap intervals.

Data in (``steering.medassess.arm_intervals`` / ``comparisons`` frames), ``go.Figure`` out.
"""
from __future__ import annotations

import math

import plotly.graph_objects as go

METRIC_LABELS = {"accuracy": "Accuracy ↑", "factual_consistency": "Factual Consistency ↑",
                 "safety_error_rate": "Safety Error Rate ↓"}
ARM_LABELS = {"unsteered": "general", "steered": "general + steering", "finetuned": "specialised",
              "finetuned_steered": "specialised + steering"}      # specialised: fine-tuned or a medical LM
ARM_COLOURS = {"unsteered": "#9e9e9e", "steered": "#1f77b4", "finetuned": "#ff7f0e", "finetuned_steered": "#2ca02c"}


def _finite(v) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)


def comparison_figure(intervals, *, models: dict | None = None) -> go.Figure:
    """Grouped bars: x = metric, one bar per arm (its test-split value in %), error bars = the 95 % bootstrap
    interval. ``intervals``: ``arm_intervals``' frame. ``models``: system → model name, for the legend. A metric
    without a value (NaN) draws no bar for that arm."""
    models = models or {}
    fig = go.Figure()
    for arm, part in intervals.groupby("arm", sort=False):
        part = part.set_index("metric").reindex(list(METRIC_LABELS))
        value = [100 * v if _finite(v) else None for v in part["value"]]
        plus = [100 * (h - v) if _finite(v) and _finite(h) else None for v, h in zip(part["value"], part["ci_high"])]
        minus = [100 * (v - lo) if _finite(v) and _finite(lo) else None
                 for v, lo in zip(part["value"], part["ci_low"])]
        model = models.get("finetuned" if arm.startswith("finetuned") else "base")
        name = ARM_LABELS.get(arm, arm) + (f" ({model})" if model else "")
        fig.add_bar(x=list(METRIC_LABELS.values()), y=value, name=name, marker_color=ARM_COLOURS.get(arm),
                    error_y={"type": "data", "symmetric": False, "array": plus, "arrayminus": minus},
                    text=["" if v is None else f"{v:.0f}%" for v in value], textposition="outside")
    fig.update_layout(title="Clinical QA with and without steering, general vs specialised model (test split, "
                            "95 % bootstrap CI)", barmode="group", height=420, yaxis={"title": "%", "range": [0, 115]},
                      legend={"orientation": "h", "y": -0.15})
    return fig


def changes_figure(table) -> go.Figure:
    """One horizontal bar per (comparison, metric) of ``comparisons``' frame: the paired change (points, or a
    relative reduction in %) with its paired bootstrap CI; 0 marked. Undefined changes draw no bar."""
    fig = go.Figure()
    for metric, part in table.groupby("metric", sort=False):
        value = [v if _finite(v) else None for v in part["value"]]
        fig.add_bar(y=part["comparison"], x=value, orientation="h", name=METRIC_LABELS.get(metric, metric),
                    error_x={"type": "data", "symmetric": False,
                             "array": [h - v if _finite(v) and _finite(h) else None
                                       for v, h in zip(part["value"], part["ci_high"])],
                             "arrayminus": [v - lo if _finite(v) and _finite(lo) else None
                                            for v, lo in zip(part["value"], part["ci_low"])]})
    fig.add_vline(x=0, line_color="#888888")
    fig.update_layout(title="Paired changes on the test split (accuracy, consistency: points; safety errors: "
                            "relative reduction %)", barmode="group", height=380, xaxis_title="change (%)")
    return fig


def loss_figure(info: dict) -> go.Figure:
    """The clinical fine-tune's training loss: one point per optimiser step (``info["losses"]``) and each epoch's
    mean as a step line (``info["loss_per_epoch"]``); ``info``: ``steering.finetune``'s ``specialist.json`` (the
    artifact config's ``finetuned``). An info without losses (the profile's medical LM: nothing was trained) gives
    an empty figure that says so."""
    fig = go.Figure()
    losses, epochs = info.get("losses") or [], info.get("loss_per_epoch") or []
    if not losses:
        fig.update_layout(title=f"No fine-tune loss to show ({info.get('kind', 'no training recorded')})")
        return fig
    fig.add_scatter(x=list(range(1, len(losses) + 1)), y=losses, mode="lines+markers", name="loss per step")
    start = 0
    for e in epochs:
        fig.add_scatter(x=[start + 0.5, start + e["steps"] + 0.5], y=[e["mean"], e["mean"]], mode="lines",
                        line={"dash": "dash", "color": "#ff7f0e"}, name=f"epoch {e['epoch']} mean",
                        showlegend=e["epoch"] == 1)
        start += e["steps"]
    fig.update_layout(title=f"Fine-tune training loss ({info.get('target', 'response tokens')}): "
                            f"{losses[0]:.2f} → {losses[-1]:.2f}", height=320,
                      xaxis_title="optimiser step", yaxis_title="cross-entropy (nats / token)")
    return fig


__all__ = ["comparison_figure", "changes_figure", "loss_figure"]
