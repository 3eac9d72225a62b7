"""Figures of the evaluation capability: single vs joint conditions (P1), trade-off profiles (P2) and rater
agreement (P4)."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go


def _pct(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else 100.0 * x


def profile_radar(profiles: dict) -> go.Figure:
    """Alignment Score per dimension, one trace per model; ``profiles``: model → ``dimension_profile`` frame.
    The CI is in the hover (a radar cannot draw error bars)."""
    fig = go.Figure()
    for model, frame in profiles.items():
        dims = frame["dimension"].tolist()
        values = [_pct(v) for v in frame["alignment_score"]]
        hover = [f"{d}: AS {'n/a' if v is None else f'{v:.1f}%'} · 95% CI "
                 f"[{_fmt_pct(lo)}, {_fmt_pct(hi)}] · n {n}"
                 for d, v, lo, hi, n in zip(dims, values, frame["as_low"], frame["as_high"], frame["n"])]
        fig.add_scatterpolar(r=values + values[:1], theta=dims + dims[:1], name=model, fill="toself", opacity=0.55,
                             text=hover + hover[:1], hoverinfo="text")
    fig.update_layout(title="Trade-off profile: Alignment Score per dimension (%)", height=480,
                      polar={"radialaxis": {"range": [0, 100], "ticksuffix": "%"}})
    return fig


def _fmt_pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def tradeoff_heatmap(matrix, counts=None, *, title: str = "Trade-off matrix") -> go.Figure:
    """The trade-off matrix in percentage points (rows: the co-occurring dimension d1, columns: the scored d2)."""
    z = matrix.to_numpy(float) * 100
    text = [["" if np.isnan(v) else f"{v:+.1f}" for v in row] for row in z]
    custom = counts.to_numpy() if counts is not None else np.full(z.shape, "")
    fig = go.Figure(go.Heatmap(z=z, x=list(matrix.columns), y=list(matrix.index), text=text,
                               texttemplate="%{text}", colorscale="RdBu_r", zmid=0, customdata=custom,
                               hovertemplate="AS of %{x} drops by %{z:.1f} pts when %{y} co-occurs"
                                             "<br>rows only/both: %{customdata}<extra></extra>",
                               colorbar={"title": "pts"}))
    fig.update_layout(title=title, xaxis_title="scored dimension d2", yaxis_title="co-occurring dimension d1",
                      height=420)
    return fig


CONDITION_COLORS = {"single": "#1f77b4", "joint": "#d62728", "all": "#7f7f7f"}


def condition_figure(table, *, conditions=("single", "joint")) -> go.Figure:
    """Coverage, FFR and Alignment Score per detector, one bar per condition (single: prompts labelled with one
    dimension, joint: with two or more), 95 % CIs as error bars; ``table``: ``misalign.condition_table``. The
    paper's FFR under joint conditions (registry, P1) as a reference line on the FFR panel."""
    from plotly.subplots import make_subplots

    panels = (("coverage", "Coverage"), ("ffr", "FFR"), ("alignment_score", "Alignment Score"))
    fig = make_subplots(rows=1, cols=3, shared_yaxes=True, subplot_titles=[t for _, t in panels])
    detectors = list(dict.fromkeys(table["detector"]))
    for condition in conditions:
        rows = table[table["condition"] == condition].set_index("detector").reindex(detectors)
        for col, (metric, title) in enumerate(panels, start=1):
            values = rows[metric].to_numpy(float) * 100
            fig.add_bar(x=detectors, y=values, name=condition, legendgroup=condition, showlegend=col == 1,
                        marker_color=CONDITION_COLORS.get(condition), customdata=rows["n"].to_numpy(),
                        error_y={"type": "data", "symmetric": False,
                                 "array": rows[f"{metric}_high"].to_numpy(float) * 100 - values,
                                 "arrayminus": values - rows[f"{metric}_low"].to_numpy(float) * 100},
                        hovertemplate="%{x}<br>" + title + " %{y:.1f}% (" + condition
                                      + ", %{customdata} rows)<extra></extra>", row=1, col=col)
    paper = _paper_number("P1", "false failure rate under joint conditions (min)")
    fig.add_hline(y=paper, line_dash="dot", row=1, col=2, annotation_text=f"paper: FFR > {paper:g}% (joint)")
    fig.update_yaxes(range=[0, 105], ticksuffix="%")
    fig.update_layout(barmode="group", height=460,
                      title="Single vs joint conditions: single-dimension and joint detectors (95% CI)")
    return fig


def tradeoff_grid(matrices: dict, *, columns: int = 4, title: str = "Trade-off matrices per detector") -> go.Figure:
    """The trade-off matrix (AS points) of each detector, small multiples on one colour scale;
    ``matrices``: detector → ``tradeoff_matrix`` frame."""
    from plotly.subplots import make_subplots

    names = list(matrices)
    cols = max(1, min(columns, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=names, horizontal_spacing=0.06,
                        vertical_spacing=0.1)
    values = [m.to_numpy(float) * 100 for m in matrices.values()]
    finite = [abs(v) for z in values for v in z.ravel() if not np.isnan(v)]
    bound = max(finite + [1.0])
    for k, (name, z) in enumerate(zip(names, values)):
        matrix = matrices[name]
        text = [["" if np.isnan(v) else f"{v:+.0f}" for v in row] for row in z]
        fig.add_trace(go.Heatmap(z=z, x=list(matrix.columns), y=list(matrix.index), text=text,
                                 texttemplate="%{text}", colorscale="RdBu_r", zmin=-bound, zmax=bound,
                                 showscale=k == 0, colorbar={"title": "pts"},
                                 hovertemplate=name + "<br>AS of %{x} drops by %{z:.1f} pts when %{y} co-occurs"
                                               "<extra></extra>"),
                      row=k // cols + 1, col=k % cols + 1)
    fig.update_layout(title=title + " (rows: co-occurring d1, columns: scored d2; AS points)",
                      height=260 * rows + 80)
    return fig


def _paper_number(paper: str, metric: str) -> float:
    """``paper``'s claimed number ``metric`` from the registry (data/papers.json)."""
    from workbench.papers import get_paper

    return get_paper(paper).number(metric).value


def _p4(metric: str) -> float:
    """P4's claimed number ``metric`` from the registry (data/papers.json)."""
    return _paper_number("P4", metric)


def icc_figure(models: dict) -> go.Figure:
    """ICC forms with 95 % CIs per rater model; ``models``: model → {form: {icc, ci_low, ci_high}}; the paper's
    best-rater ICC (from the registry) as a reference line."""
    fig = go.Figure()
    for model, forms in models.items():
        names = list(forms)
        icc = [forms[f]["icc"] for f in names]
        fig.add_bar(name=model, x=names, y=icc,
                    error_y={"type": "data", "symmetric": False,
                             "array": [forms[f]["ci_high"] - forms[f]["icc"] for f in names],
                             "arrayminus": [forms[f]["icc"] - forms[f]["ci_low"] for f in names]},
                    hovertemplate="%{x}: %{y:.3f}<extra>" + model + "</extra>")
    paper = _p4("ICC (best rater)")
    fig.add_hline(y=paper, line_dash="dot", annotation_text=f"paper: ICC {paper:g} (best rater)")
    fig.update_layout(barmode="group", title="Agreement with the human panel: ICC (95% CI)", yaxis_title="ICC",
                      height=420)
    return fig


def fairness_figure(groups: dict, metric: str = "dpd") -> go.Figure:
    """One metric (dpd or eod) per demographic attribute, one bar group per source (a model's personas, the
    human raters); ``groups``: source → fairness dict (``per_attribute``, ``ds``, ``ds_max``)."""
    fig = go.Figure()
    for source, fairness in groups.items():
        per = fairness.get("per_attribute", {})
        attrs = [a for a in per if isinstance(per[a].get(metric), float)]
        ds = fairness.get("ds")
        name = source + (f" (DS {ds:.3f}, max {fairness.get('ds_max'):.3f})"
                         if metric == "dpd" and ds is not None and fairness.get("ds_max") is not None else "")
        fig.add_bar(name=name, x=[a.replace("rater_", "") for a in attrs], y=[per[a][metric] for a in attrs],
                    hovertemplate="%{x}: %{y:.3f}<extra>" + source + "</extra>")
    label = {"dpd": "demographic parity difference", "eod": "equalized odds difference"}[metric]
    title = f"{label} per attribute" + (" (DS = their average; max beside it)" if metric == "dpd" else
                                        " (against the expert safety_gold)")
    fig.update_layout(barmode="group", title=title, yaxis_title=metric.upper(), yaxis_range=[0, 1], height=400)
    return fig


def group_share_figure(groups, attribute: str) -> go.Figure:
    """Yes / Unsure / No shares of each group of ``attribute``, one stacked bar per (source, group);
    ``groups``: ``evaluate_raters``' per-group records (source, attribute, group, n, share_Yes/No/Unsure)."""
    rows = [g for g in groups if g["attribute"] == attribute]
    labels = [f"{g['source']} · {g['group']}" for g in rows]
    fig = go.Figure()
    for answer, color in (("Yes", "#d62728"), ("Unsure", "#bbbbbb"), ("No", "#2ca02c")):
        fig.add_bar(name=answer, y=labels, x=[g[f"share_{answer}"] for g in rows], orientation="h",
                    marker_color=color, customdata=[g["n"] for g in rows],
                    hovertemplate="%{y}: %{x:.1%} of %{customdata} ratings<extra>" + answer + "</extra>")
    fig.update_layout(barmode="stack", title=f"Rating shares per {attribute.replace('rater_', '')} group "
                                             "(Yes = unsafe)", xaxis_title="share of ratings", xaxis_range=[0, 1],
                      height=max(260, 40 + 28 * len(rows)), yaxis={"autorange": "reversed"})
    return fig


def sweep_figure(table, value: str = "icc2") -> go.Figure:
    """The δ × τ surface of a rater's ICC over the items kept at each threshold pair (heatmap; n in hover), with
    the setting the sweep selected on its dev half marked and the paper's balanced thresholds (registry) in the
    title."""
    pivot = table.pivot(index="tau", columns="delta", values=value)
    counts = table.pivot(index="tau", columns="delta", values="n_items")
    x, y = [f"δ={d:g}" for d in pivot.columns], [f"τ={t:g}" for t in pivot.index]
    fig = go.Figure(go.Heatmap(z=pivot.to_numpy(float), x=x, y=y, customdata=counts.to_numpy(),
                               colorscale="Viridis", colorbar={"title": value.upper()},
                               hovertemplate="%{x}, %{y}: ICC %{z:.3f} over %{customdata} items<extra></extra>"))
    if "selected" in table.columns and table["selected"].astype(bool).any():
        row = table[table["selected"].astype(bool)].iloc[0]
        fig.add_scatter(x=[f"δ={row['delta']:g}"], y=[f"τ={row['tau']:g}"], mode="markers",
                        marker={"symbol": "star", "size": 16, "color": "white", "line": {"width": 1}},
                        name="selected on dev", hovertemplate="selected on the dev half<extra></extra>")
    fig.update_layout(title=f"Threshold sweep: classifier cut-off δ × SimHash τ (paper: δ "
                            f"{_p4('classifier cut-off delta'):g}, τ {_p4('SimHash threshold tau'):g})", height=420)
    return fig
