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


def ambs_hhh_figure(table) -> go.Figure:
    """P8: the mean alignment score and unsafe rate of every system with its bootstrap 95 % CI
    (``steering.ambs_eval.hhh_table``), one group of bars per metric."""
    fig = go.Figure()
    for system, part in table.groupby("system", sort=False):
        fig.add_bar(x=part["metric"], y=part["mean"], name=system,
                    error_y={"type": "data", "symmetric": False, "array": part["high"] - part["mean"],
                             "arrayminus": part["mean"] - part["low"]})
    fig.update_layout(title="Unsteered, naive 1-to-N and AMBS through the HHH harness (test items, 95 % CI)",
                      barmode="group", height=400, yaxis={"title": "mean per item", "range": [0, 1.05]})
    return fig


def ambs_bound_figure(sweep) -> go.Figure:
    """P8: what the KL bound did at each ε (``steering.ambs_eval.sweep_frame``): the share of decoding steps where
    it bound (bars) and the realised KL(branch ‖ reference) per step — median, 90th percentile and max — beside
    the branches' own KL before the bound (median); the dev-chosen ε is marked."""
    from plotly.subplots import make_subplots

    from workbench.steering.ambs_eval import eps_label

    labels = [("ε = " + eps_label(e)) + (" (chosen)" if c else "") for e, c in zip(sweep["epsilon"], sweep["chosen"])]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("steps where the bound binds", "KL per step (nats)"))
    fig.add_bar(x=labels, y=sweep["bound_fraction"], name="bound binds", row=1, col=1)
    for column, name in (("kl_median", "realised, median"), ("kl_p90", "realised, p90"), ("kl_max", "realised, max"),
                         ("kl_branch_median", "unbounded branch, median")):
        fig.add_scatter(x=labels, y=sweep[column], mode="lines+markers", name=name, row=1, col=2)
    fig.update_yaxes(range=[0, 1.05], title_text="fraction of steps", row=1, col=1)
    fig.update_layout(title="AMBS's policy–reference bound across ε", height=400)
    return fig


def ambs_consistency_figure(consistency) -> go.Figure:
    """P8: cross-objective consistency — the mean token overlap of the N branch outputs of one prompt, for the
    naive 1-to-N and AMBS at each ε (``steering.ambs_eval``), with the per-prompt values as points."""
    from workbench.steering.ambs_eval import eps_label

    label = [s if e != e else f"{s} ε = {eps_label(e)}" for s, e in zip(consistency["system"], consistency["epsilon"])]
    frame = consistency.assign(label=label)
    means = frame.groupby("label", sort=False)["consistency"].mean()
    fig = go.Figure(go.Bar(x=means.index, y=means.values, name="mean"))
    fig.add_scatter(x=frame["label"], y=frame["consistency"], mode="markers", name="per prompt",
                    marker={"size": 6, "opacity": 0.5})
    fig.update_layout(title="Cross-objective consistency: overlap of the branches' outputs per prompt", height=380,
                      yaxis={"title": "mean pairwise token overlap", "range": [0, 1.05]})
    return fig
