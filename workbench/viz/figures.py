"""Figure builders shared by notebooks and the dashboard.

Every figure that shows results is stamped with the profile and models that produced it (``stamp``).
"""
from __future__ import annotations

from typing import Iterable

import plotly.graph_objects as go


def stamp(fig: go.Figure, profile: str, models: Iterable[str], *, data: str = "") -> go.Figure:
    """Write "profile · models · data" under the plot so a saved or shared figure says where it came from."""
    models = list(models)
    text = (f"profile: {profile}" + (f" · models: {', '.join(models)}" if models else "")
            + (f" · data: {data}" if data else ""))
    # a fixed distance in pixels below the plot (under the tick labels and the axis title), whatever its height
    fig.add_annotation(text=text, xref="paper", yref="paper", x=0, y=0, yshift=-58, showarrow=False,
                       xanchor="left", yanchor="top", font={"size": 10, "color": "gray"})
    fig.update_layout(margin={"b": 90})
    fig.layout.meta = {"profile": profile, "models": models, "data": data}
    return fig


def model_sizes_figure(frame) -> go.Figure:
    """Horizontal bars of parameter counts (log scale), coloured by profile.

    ``frame`` needs columns ``name``, ``params_m``, ``profile`` and ``available`` (bool).
    """
    fig = go.Figure()
    for profile, group in frame.groupby("profile", sort=False):
        group = group.sort_values("params_m")
        fig.add_bar(y=group["name"], x=group["params_m"], orientation="h", name=profile,
                    customdata=group["available"].map({True: "available", False: "missing"}),
                    hovertemplate="%{y}: %{x:,.1f}M parameters (%{customdata})<extra></extra>")
    fig.update_layout(title="Model zoo: parameters (millions, log scale)", xaxis_type="log",
                      xaxis_title="parameters (M)", height=120 + 24 * len(frame), legend_title="profile")
    return fig


STATUS_COLOURS = {"comparable": "#2e7d32", "not comparable": "#f9a825", "not measured": "#9e9e9e"}


def claims_figure(ledger) -> go.Figure:
    """Stacked bars: per paper, how many of its claims are comparable, not comparable or not measured (a
    ``claims.ledger_frame``)."""
    papers = list(dict.fromkeys(ledger["paper"]))
    fig = go.Figure()
    for status, colour in STATUS_COLOURS.items():
        counts = [int(((ledger["paper"] == p) & (ledger["status"] == status)).sum()) for p in papers]
        fig.add_trace(go.Bar(x=papers, y=counts, name=status, marker_color=colour))
    profile = ", ".join(sorted(set(ledger["profile"]))) if len(ledger) else ""
    fig.update_layout(barmode="stack", title=f"Claims per paper by status (profile {profile})",
                      xaxis_title="paper", yaxis_title="claims", height=360, legend_title="status")
    return fig
