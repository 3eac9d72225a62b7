"""Figure builders shared by notebooks and the dashboard.

Every figure that shows results is stamped with the profile and models that produced it (``stamp``).
"""
from __future__ import annotations

from typing import Iterable

import plotly.graph_objects as go


def stamp(fig: go.Figure, profile: str, models: Iterable[str]) -> go.Figure:
    """Write "profile · models" under the plot so a saved or shared figure says where it came from."""
    models = list(models)
    text = f"profile: {profile}" + (f" · models: {', '.join(models)}" if models else "")
    # a fixed distance in pixels below the plot (under the tick labels and the axis title), whatever its height
    fig.add_annotation(text=text, xref="paper", yref="paper", x=0, y=0, yshift=-58, showarrow=False,
                       xanchor="left", yanchor="top", font={"size": 10, "color": "gray"})
    fig.update_layout(margin={"b": 90})
    fig.layout.meta = {"profile": profile, "models": models}
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


def claims_figure(frame, paper_id: str) -> go.Figure:
    """Bars of a paper's claimed headline numbers that are percentages (from ``papers.claims_frame``)."""
    rows = frame[(frame["paper"] == paper_id) & frame["unit"].str.startswith("%")]
    fig = go.Figure(go.Bar(x=rows["value"], y=rows["metric"], orientation="h", text=rows["claim"],
                           textposition="auto", name="claimed"))
    fig.update_layout(title=f"{paper_id}: headline numbers claimed in the abstract", xaxis_title="%",
                      height=160 + 40 * len(rows))
    return fig
