"""Figures of the experts capability (P3, P10): reliability diagrams, calibration metrics, the routing confusion
matrix, efficiency ratios against their targets and the HHH results."""
from __future__ import annotations

import plotly.graph_objects as go

COLORS = {"uncalibrated": "#888888", "temperature": "#1f77b4", "fractal": "#2ca02c", "natural": "#9467bd",
          "mixed": "#d62728", "slider": "#ff7f0e"}


def reliability_figure(curves: dict, *, title: str = "Reliability diagram") -> go.Figure:
    """``curves``: name → ``reliability_curve`` frame (confidence, accuracy, count per bin). Marker size ∝ count;
    the diagonal is perfect calibration."""
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration",
                    line={"dash": "dot", "color": "#bbbbbb"}, hoverinfo="skip")
    for name, curve in curves.items():
        if curve is None or curve.empty:
            continue
        size = 6 + 18 * curve["count"] / curve["count"].max()
        fig.add_scatter(x=curve["confidence"], y=curve["accuracy"], mode="lines+markers", name=name,
                        marker={"size": size, "color": COLORS.get(name.split(" ")[0])},
                        line={"color": COLORS.get(name.split(" ")[0])},
                        text=[f"{name}: bin ({lo:.2f}, {hi:.2f}] · n {n} · confidence {c:.3f} · accuracy {a:.3f}"
                              for lo, hi, n, c, a in zip(curve["lower"], curve["upper"], curve["count"],
                                                          curve["confidence"], curve["accuracy"])],
                        hoverinfo="text")
    fig.update_layout(title=title, height=440, xaxis={"title": "confidence (mean predicted)", "range": [0, 1.02]},
                      yaxis={"title": "accuracy (observed)", "range": [0, 1.02]})
    return fig


def calibration_bars(metrics: dict) -> go.Figure:
    """ECE (width, mass) and Brier per calibrator; ``metrics``: name → {ece, ece_mass, brier}."""
    names = list(metrics)
    fig = go.Figure()
    for key, label in (("ece", "ECE (equal width)"), ("ece_mass", "ECE (equal mass)"), ("brier", "Brier")):
        fig.add_bar(x=names, y=[metrics[n][key] for n in names], name=label,
                    text=[f"{metrics[n][key]:.3f}" for n in names], textposition="outside")
    fig.update_layout(title="Routing calibration on held-out prompts (lower is better)", barmode="group",
                      height=380, yaxis={"title": "value"})
    return fig


def confusion_figure(matrix, axes) -> go.Figure:
    """Rows: the axis a prompt needs; columns: the expert the router chose."""
    fig = go.Figure(go.Heatmap(z=matrix, x=[f"→ {a}" for a in axes], y=list(axes), colorscale="Blues",
                               text=[[str(v) for v in row] for row in matrix], texttemplate="%{text}",
                               hovertemplate="needs %{y}, routed %{x}: %{z}<extra></extra>"))
    fig.update_layout(title="Routing confusion (true axis × chosen expert)", height=360,
                      yaxis={"autorange": "reversed"})
    return fig


def efficiency_figure(efficiency: dict, paper: str) -> go.Figure:
    """One bar per efficiency row (``efficiency["rows"]``, ``experts.efficiency.efficiency_rows``): ours / baseline,
    each bar labelled with the quantity and its baseline, the configured system's rows in blue and the dense
    mixture's in grey; the paper's claimed bounds (``paper``'s latency / memory claims from the registry) as
    lines at 1 − claimed reduction."""
    from workbench.papers import get_paper

    rows = efficiency["rows"]
    labels = [f"{r['quantity']} vs {r['baseline_kind']}" + ("" if r["configured"] else " — dense mixture")
              for r in rows]
    fig = go.Figure(go.Bar(x=labels, y=[r["ratio"] for r in rows], text=[f"{r['ratio']:.2f}×" for r in rows],
                           textposition="outside",
                           marker_color=["#1f77b4" if r["configured"] else "#aaaaaa" for r in rows],
                           customdata=[[r["system"], r["baseline"]] for r in rows],
                           hovertemplate="%{customdata[0]}<br>vs %{customdata[1]}<br>%{y:.3f}×<extra></extra>"))
    styles = {"latency": ("dash", "#d62728", "top right"), "memory": ("dot", "#9467bd", "bottom right")}
    for claim in get_paper(paper).claims:
        if claim.kind != "efficiency_reduction":
            continue
        quantity = claim.params["quantity"]
        dash, color, where = styles[quantity]
        fig.add_hline(y=1 - claim.value / 100, line_dash=dash, line_color=color, annotation_position=where,
                      annotation_text=f"{paper} claim: {quantity} {claim.qualifier}{claim.value:g} % lower than prior "
                                      f"MoEs")
    fig.add_hline(y=1.0, line_color="#bbbbbb")
    fig.update_layout(title="Cost relative to a named baseline (ours / baseline; lower is cheaper)", height=400,
                      yaxis={"title": "ours / baseline"})
    return fig


def hhh_figure(metrics, *, calibrator_systems: bool = False) -> go.Figure:
    """One group per headline metric (win rate, harmful rate, true×info), one bar per system; the calibration
    ablation's ``routed[<calibrator>]`` systems only with ``calibrator_systems`` (they have their own figure,
    ``calibration_ablation_figure``)."""
    headline = [("helpful", "win_rate", "win rate vs reference ↑"), ("harmless", "harmful_rate", "harmful rate ↓"),
                ("honest", "true_and_informative", "% true ∧ informative ↑")]
    fig = go.Figure()
    for system in dict.fromkeys(metrics["system"]):
        if not calibrator_systems and system.startswith("routed["):
            continue
        part = metrics[metrics["system"] == system]
        ys = []
        for axis, metric, _ in headline:
            hit = part[(part["axis"] == axis) & (part["metric"] == metric)]
            ys.append(100 * float(hit["value"].iloc[0]) if len(hit) else None)
        fig.add_bar(x=[h[2] for h in headline], y=ys, name=system)
    fig.update_layout(title="HHH evaluation (%)", barmode="group", height=400, yaxis={"title": "%"})
    return fig


def loss_figure(losses: dict) -> go.Figure:
    """One training-loss curve per expert; ``losses``: axis → loss per step (``experts.json``'s ``losses``)."""
    fig = go.Figure([go.Scatter(y=curve, name=axis, mode="lines") for axis, curve in losses.items()])
    fig.update_layout(title="Expert training loss (response tokens only)", xaxis_title="step", yaxis_title="loss",
                      height=340)
    return fig


def mix_sweep_figure(sweep, *, paper_lambda: float = 0.6) -> go.Figure:
    """ECE and Brier against λ1 (``experts.mixture.calibrator_mix_sweep``), AlignX's λ1 marked."""
    fig = go.Figure([go.Scatter(x=sweep["lambda1"], y=sweep[m], name=m, mode="lines+markers")
                     for m in ("ece", "brier")])
    fig.add_vline(x=paper_lambda, line_dash="dash", annotation_text=f"AlignX λ1 = {paper_lambda:g}")
    fig.update_layout(title="Mixing the fractal and natural calibrators", xaxis_title="λ1 (λ2 = 1 − λ1)", height=340)
    return fig


def router_ablation_figure(ablation) -> go.Figure:
    """ECE, Brier and routing entropy per router variant (``experts.mixture.router_ablation``), grouped bars."""
    fig = go.Figure([go.Bar(x=ablation["variant"], y=ablation[m], name=m) for m in ("ece", "brier", "entropy")])
    fig.update_layout(title="Router regularisers and temperature (held-out prompts)", barmode="group", height=380)
    return fig


def real_routing_figure(summary) -> go.Figure:
    """Stacked shares of each real source routed to each expert (``realcheck.real_routing_summary``); the
    expected expert and the share routed there (with its 95 % CI) in the bar's label."""
    axes = [c.removeprefix("share_") for c in summary.columns if c.startswith("share_")]
    labels = [f"{s}<br>(n={n}, expects {e or 'none'})" for s, n, e in zip(summary["source"], summary["n"],
                                                                     summary["expected"])]
    fig = go.Figure()
    for axis in axes:
        fig.add_bar(y=labels, x=summary[f"share_{axis}"], name=axis, orientation="h",
                    text=[f"{v:.0%}" for v in summary[f"share_{axis}"]], textposition="inside")
    notes = [f"to {e}: {r:.0%} [{lo:.0%}, {hi:.0%}]" if e else "no expected expert"
             for e, r, lo, hi in zip(summary["expected"], summary.get("recall", [float("nan")] * len(summary)),
                                     summary.get("ci_low", [float("nan")] * len(summary)),
                                     summary.get("ci_high", [float("nan")] * len(summary)))]
    for label, note in zip(labels, notes):
        fig.add_annotation(x=1.0, y=label, text=note, showarrow=False, xanchor="left", xshift=6)
    fig.update_layout(title="The router on real prompts we did not write (top-1 expert share)", barmode="stack",
                      height=140 + 60 * len(summary), xaxis={"title": "share of prompts", "range": [0, 1]},
                      yaxis={"autorange": "reversed"}, margin={"r": 190})
    return fig


def calibration_ablation_figure(table) -> go.Figure:
    """The effect of each calibrator on the mixture's outputs (``experts.ablation.calibration_ablation``): per
    headline metric, one bar per calibrator = its change against the uncalibrated router in points, with the
    paired-bootstrap 95 % interval as error bars; the hover adds how often the weights and the text changed."""
    fig = go.Figure()
    labels = {"win_rate": "win rate ↑", "harmful_rate": "harmful rate ↓", "true_and_informative": "% true ∧ info ↑"}
    for calibrator in dict.fromkeys(table["calibrator"]):
        part = table[table["calibrator"] == calibrator]
        fig.add_bar(x=[labels.get(m, m) for m in part["metric"]], y=100 * part["delta"], name=calibrator,
                    marker={"color": COLORS.get(calibrator)},
                    error_y={"type": "data", "symmetric": False, "array": 100 * (part["ci_high"] - part["delta"]),
                             "arrayminus": 100 * (part["delta"] - part["ci_low"])},
                    text=[f"{calibrator}: {100 * d:+.1f} pts [{100 * lo:+.1f}, {100 * hi:+.1f}] · weights changed "
                          f"{100 * w:.0f} % · text changed {100 * t:.0f} % of {n} items"
                          for d, lo, hi, w, t, n in zip(part["delta"], part["ci_low"], part["ci_high"],
                                                        part["weights_changed"], part["text_changed"], part["n"])],
                    hoverinfo="text", textposition="none")
    fig.update_layout(title="Calibration's effect on the outputs: each calibrator − uncalibrated (points, 95 % "
                            "paired bootstrap CI)", barmode="group", height=420,
                      yaxis={"title": "Δ vs uncalibrated routing (points)"})
    return fig


def token_routing_figure(report: dict) -> go.Figure:
    """The token router per adapted block (``experts.token_router``'s report): token accuracy on the held-out
    prompts' tokens with its 95 % interval over prompts, and the per-prompt accuracy of the prompt's mean token
    distribution, against the prompt router's held-out accuracy on the same prompts and the majority-axis share of
    the test tokens (a router that ignores its input)."""
    from workbench.experts.token_router import accuracy_rows

    rows = accuracy_rows(report)
    blocks = [r["block"] for r in rows]
    acc = [r["token_accuracy"] for r in rows]
    fig = go.Figure()
    fig.add_scatter(x=blocks, y=acc, mode="lines+markers", name="token router: per token",
                    error_y={"type": "data", "symmetric": False,
                             "array": [r["ci_high"] - a for r, a in zip(rows, acc)],
                             "arrayminus": [a - r["ci_low"] for r, a in zip(rows, acc)]},
                    line={"color": COLORS["temperature"]})
    fig.add_scatter(x=blocks, y=[r["prompt_accuracy"] for r in rows], mode="lines+markers",
                    name="token router: per prompt (mean token distribution)",
                    line={"color": COLORS["natural"], "dash": "dash"})
    for value, name, color in ((report.get("prompt_router_accuracy"), "prompt router (pooled last layer)",
                                COLORS["mixed"]),
                               (report.get("majority_accuracy"), "majority axis (ignores its input)",
                                COLORS["uncalibrated"])):
        if value is not None:
            fig.add_scatter(x=[min(blocks), max(blocks)], y=[value, value], mode="lines", name=name,
                            line={"color": color, "dash": "dot"})
    fig.update_layout(title=f"Routing accuracy per adapted block ({report['n_test_tokens']} tokens of "
                            f"{report['n_test_prompts']} held-out prompts)", height=400,
                      xaxis={"title": "decoder block (its input states)"},
                      yaxis={"title": "accuracy", "range": [0, 1.02]})
    return fig
