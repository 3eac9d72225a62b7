"""Figures of the safety classifier on real prompts (``workbench.taxonomy.safety_eval`` records): the confusion
matrix heatmap and per-domain recall bars (the *Domain taxonomy* view, ``benchmarks/safety_real.py``)."""
from __future__ import annotations

import plotly.graph_objects as go


def _short(key: str) -> str:
    return key.split(",")[0].replace("_", " ")


def confusion_heatmap(record: dict) -> go.Figure:
    """Rows: mapped (gold) domain; columns: predicted domain, the last one ``None``/other."""
    labels = list(record["labels"])
    matrix = record["confusion"]
    cols = [_short(k) for k in labels] + ["None / other"]
    fig = go.Figure(go.Heatmap(z=matrix, x=cols, y=[_short(k) for k in labels], colorscale="Blues",
                               text=[[str(v) for v in row] for row in matrix], texttemplate="%{text}",
                               hovertemplate="mapped %{y}, predicted %{x}: %{z}<extra></extra>"))
    fig.update_layout(title=f"Confusion: {record['method']} ({record['data']}, n = {record['n']})", height=560,
                      yaxis={"autorange": "reversed", "title": "mapped domain"},
                      xaxis={"title": "predicted", "tickangle": -40})
    return fig


def recall_bars(records: dict[str, dict]) -> go.Figure:
    """Per-domain recall, one bar group per domain, one bar per named record (e.g. before / after)."""
    fig = go.Figure()
    for name, record in records.items():
        labels = list(record["labels"])
        recall = record["recall"]
        fig.add_bar(name=name, x=[_short(k) for k in labels], y=[recall.get(k) for k in labels],
                    hovertemplate="%{x}: recall %{y:.2f}<extra>" + name + "</extra>")
    fig.update_layout(title="Per-domain recall on the real report half", barmode="group", height=420,
                      yaxis={"title": "recall", "range": [0, 1.05]}, xaxis={"tickangle": -40})
    return fig
