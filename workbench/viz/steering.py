"""Figures of the steering capability (P7, P8): behaviour probability against the multiplier, clinical QA."""
from __future__ import annotations

import plotly.graph_objects as go


def sweep_figure(table) -> go.Figure:
    """One line per (objective, layer): behaviour probability against the multiplier."""
    fig = go.Figure()
    for (objective, layer), part in table.groupby(["objective", "layer"], sort=False):
        part = part.sort_values("multiplier")
        fig.add_scatter(x=part["multiplier"], y=part["behaviour_p"], mode="lines+markers",
                        name=f"{objective} · layer {layer}", legendgroup=objective)
    fig.add_hline(y=0.5, line_dash="dot", line_color="#bbbbbb")
    fig.update_layout(title="Behaviour probability on held-out pairs vs multiplier", height=420,
                      xaxis_title="multiplier", yaxis={"title": "behaviour probability", "range": [0, 1]})
    return fig


def clinical_figure(table) -> go.Figure:
    """Accuracy, Factual Consistency and Safety Error Rate per condition (%); P7's ``clinical_steering`` rows are
    the test split's unsteered and dev-chosen steered arms. A metric that was not measured (NaN) draws no bar."""
    fig = go.Figure()
    for metric, label in (("accuracy", "Accuracy ↑"), ("factual_consistency", "Factual Consistency ↑"),
                          ("safety_error_rate", "Safety Error Rate ↓")):
        fig.add_bar(x=table["condition"], y=100 * table[metric], name=label,
                    text=["" if v != v else f"{100 * v:.0f}%" for v in table[metric]], textposition="outside")
    fig.update_layout(title="Clinical QA with and without the consistency vector (test split)", barmode="group",
                      height=400, yaxis={"title": "%", "range": [0, 110]})
    return fig


def prompt_pass_figure(depth: int, shared: int, speedup: float, *, n: int = 3) -> go.Figure:
    """AMBS's compute bound on the prompt-pass speed-up of ``n`` branches against the number of shared blocks
    (``steering.ambs.compute_bound``), with the speed-up measured when ``shared`` blocks are shared."""
    from workbench.steering.ambs import compute_bound

    blocks = list(range(0, depth + 1, max(1, depth // 6)))
    fig = go.Figure(go.Scatter(x=blocks, y=[compute_bound(n, L, depth) for L in blocks], mode="lines+markers",
                               name="compute bound"))
    fig.add_scatter(x=[shared], y=[speedup], mode="markers", marker={"size": 12}, name="measured")
    fig.update_layout(title=f"Prompt-pass saving of a shared prefix (N = {n})", xaxis_title="shared blocks L",
                      yaxis_title=f"× faster than {n} passes", height=340)
    return fig
