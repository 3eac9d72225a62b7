"""The paper-profile readiness chart (dashboard page *Paper-profile readiness*, ``workbench.rehearse``)."""
from __future__ import annotations

import plotly.graph_objects as go

from workbench.viz.figures import stamp


def rehearsal_figure(report: dict) -> go.Figure:
    """Wall time per paper of one rehearsal report, bars coloured by ok / failed, peak host memory on hover."""
    papers = report["papers"]
    fig = go.Figure()
    for ok, colour, label in ((True, "#2e7d32", "ok"), (False, "#c62828", "failed")):
        part = [p for p in papers if p["ok"] is ok]
        if part:
            fig.add_bar(x=[p["paper"] for p in part], y=[p["wall_s"] for p in part], name=label,
                        marker_color=colour, customdata=[[p["peak_host_mb"], p["peak_gpu_mb"] or 0] for p in part],
                        hovertemplate="%{x}: %{y:.1f} s · host %{customdata[0]:,.0f} MB · "
                                      "GPU %{customdata[1]:,.0f} MB<extra></extra>")
    fig.update_layout(title=f"Rehearsal ({report['size']}, {report['dtype']}, {report['device']}): wall time per "
                            "paper", yaxis_title="seconds", xaxis_title="paper", barmode="group",
                      xaxis={"categoryorder": "array", "categoryarray": [p["paper"] for p in papers]})
    models = sorted({m for p in papers for m in p["models"]})
    return stamp(fig, "paper (rehearsal)", models, data="random weights: a rehearsal, not results")
