"""Figures of the taxonomy: a sunburst of dimension → group → domain sized by prompt counts."""
from __future__ import annotations

import plotly.graph_objects as go


def taxonomy_sunburst(taxonomy, counts: dict[tuple[str, str], int] | None = None, *,
                      title: str = "Domain taxonomy") -> go.Figure:
    """Sunburst over ``taxonomy`` rows (dimension, key, name, parent).

    ``counts`` maps (dimension, domain key) to a number of prompts; without it every domain counts 1, so the
    figure shows the structure only. Domains with no prompts are kept, with size 0.
    """
    ids, labels, parents, values, hover = [], [], [], [], []
    structure_only = counts is None
    for dim, rows in taxonomy.groupby("dimension", sort=False):
        dim_total = 0
        groups: dict[str, int] = {}
        leaves = []
        for row in rows.itertuples():
            n = 1 if structure_only else int(counts.get((dim, row.key), 0))
            group = row.parent if isinstance(row.parent, str) and row.parent else None
            parent_id = f"{dim}/{group}" if group else dim
            if group:
                groups[group] = groups.get(group, 0) + n
            leaves.append((f"{dim}/{row.key}", row.name, parent_id, n, row.description))
            dim_total += n
        ids.append(dim); labels.append(dim); parents.append(""); values.append(dim_total); hover.append(dim)
        for group, n in groups.items():
            ids.append(f"{dim}/{group}"); labels.append(group); parents.append(dim); values.append(n)
            hover.append(group)
        for leaf in leaves:
            ids.append(leaf[0]); labels.append(leaf[1]); parents.append(leaf[2]); values.append(leaf[3])
            hover.append(leaf[4])
    fig = go.Figure(go.Sunburst(ids=ids, labels=labels, parents=parents, values=values, branchvalues="total",
                                hovertext=hover, hovertemplate="<b>%{label}</b><br>%{value}<br>%{hovertext}"
                                "<extra></extra>", maxdepth=3))
    fig.update_layout(title=title + (" (structure; no dataset built)" if structure_only else ""), height=650,
                      margin={"t": 60, "l": 0, "r": 0})
    return fig


def counts_from_frame(frame, dimensions) -> dict[tuple[str, str], int]:
    """(dimension, top-1 key) → number of rows, from a classified frame's ``<dimension>`` columns."""
    out: dict[tuple[str, str], int] = {}
    for dim in dimensions:
        if dim in frame.columns:
            for key, n in frame[dim].value_counts().items():
                out[(dim, key)] = int(n)
    return out


def funnel_figure(records: list[dict]) -> go.Figure:
    """Construction funnel, ours beside the paper's, each as a share of its classified prompts (counts on hover).

    ``records``: dicts with ``stage``, ``ours`` and ``paper`` counts, the first stage being ``classified``; a
    side whose classified count is unknown (None) is left out.
    """
    stages = [r["stage"].replace("_", " ") for r in records]
    fig = go.Figure()
    for who in ("ours", "paper"):
        base = records[0][who]
        if not base:
            continue
        fig.add_bar(name=who, x=stages, y=[100.0 * r[who] / base for r in records],
                    customdata=[r[who] for r in records], text=[f"{r[who]:,}" for r in records],
                    textposition="outside", hovertemplate="%{x}: %{customdata:,} (%{y:.1f}% of classified)"
                    "<extra>" + who + "</extra>")
    fig.update_layout(barmode="group", title="Construction funnel (share of classified prompts)",
                      yaxis_title="% of classified", height=450)
    return fig


def response_funnel_figure(per_side: dict[str, dict[str, int]]) -> go.Figure:
    """Candidate responses per side, stacked by fate: accepted in stage 1, recovered in stage 2, dropped.

    ``per_side``: side → the counts of ``workbench.llm.rejection.decision_funnel``.
    """
    sides = list(per_side)
    fig = go.Figure()
    for key, label, color in (("accepted_stage1", "accepted in stage 1", "#2a9d8f"),
                              ("recovered_stage2", "recovered in stage 2 (after critique)", "#e9c46a"),
                              ("dropped", "dropped", "#e76f51")):
        values = [per_side[s][key] for s in sides]
        fig.add_bar(name=label, x=sides, y=values, text=values, marker_color=color,
                    hovertemplate="%{x}: %{y} candidates<extra>" + label + "</extra>")
    fig.update_layout(barmode="stack", title="Response funnel: what happened to each candidate",
                      yaxis_title="candidates", height=400)
    return fig
