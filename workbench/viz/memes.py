"""Figures of the meme capability (P5 CROSS-ALIGN+): a meme's class probabilities, the ablation's macro-F1 and
accuracy per setting with their bootstrap CIs, the relative macro-F1 gains over ``none`` (an ablation of our own
model; the paper's gain is over other methods, so it is not drawn beside them — the claims ledger says why), a
confusion matrix per setting, accuracy per slice (flip kinds, target types) and the headline: flip-group accuracy
beside the full split's macro-F1 per setting and for the surface-feature shortcut baseline, with chance drawn.

Inputs are what ``workbench.memes`` produces: ``MemeModel.predict``'s ``probabilities`` (class → probability) and
the ``meme_eval`` artifact's meta (``metrics``, ``gains``, ``confusion`` and ``classes``, ``by_flip`` /
``by_target`` records). Scores are fractions in [0, 1]; relative gains are fractions too and drawn in %.
"""
from __future__ import annotations

import plotly.graph_objects as go

SETTINGS = ("none", "knowledge", "knowledge+lora")
SETTING_COLORS = {"none": "#7f7f7f", "knowledge": "#1f77b4", "knowledge+lora": "#d62728"}
CLASS_COLORS = {"benign": "#2ca02c", "satire": "#ff7f0e", "abusive": "#d62728"}


def _settings(records) -> list[str]:
    """The settings of ``records`` in the ablation's order (unknown ones after, as found)."""
    found = list(dict.fromkeys(str(r["setting"]) for r in records))
    return [s for s in SETTINGS if s in found] + [s for s in found if s not in SETTINGS]


def _ci(records, key: str) -> dict:
    """Asymmetric error bars of ``key`` from ``key_lo`` / ``key_hi`` (clipped at zero length)."""
    return {"type": "data", "symmetric": False,
            "array": [max(0.0, float(r[f"{key}_hi"]) - float(r[key])) for r in records],
            "arrayminus": [max(0.0, float(r[key]) - float(r[f"{key}_lo"])) for r in records]}


def probability_figure(probabilities: dict, *, truth: str | None = None) -> go.Figure:
    """One meme's class probabilities as horizontal bars, the predicted class marked (and the truth, if known)."""
    classes = list(probabilities)
    values = [float(probabilities[c]) for c in classes]
    top = classes[max(range(len(values)), key=values.__getitem__)] if values else None
    labels = [c + (" (predicted)" if c == top else "") + (" ✓ truth" if truth is not None and c == truth else "")
              for c in classes]
    fig = go.Figure(go.Bar(x=values, y=labels, orientation="h", name="probability",
                           marker_color=[CLASS_COLORS.get(c, "#1f77b4") for c in classes],
                           marker_opacity=[1.0 if c == top else 0.45 for c in classes],
                           text=[f"{v:.2f}" for v in values], textposition="auto",
                           hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    fig.update_layout(title="Class probabilities", height=max(200, 110 + 40 * len(classes)),
                      xaxis={"title": "probability", "range": [0, 1]}, yaxis={"autorange": "reversed", "title": ""},
                      showlegend=False)
    return fig


def ablation_figure(metrics_records) -> go.Figure:
    """Macro-F1 and accuracy per setting as grouped bars, each with its 95 % bootstrap CI as error bars."""
    by = {str(r["setting"]): r for r in metrics_records}
    order = _settings(metrics_records)
    records = [by[s] for s in order]
    fig = go.Figure()
    for key, name, color in (("macro_f1", "macro-F1", "#1f77b4"), ("accuracy", "accuracy", "#aec7e8")):
        if records and all(f"{key}_lo" in r and f"{key}_hi" in r for r in records):
            values = [float(r[key]) for r in records]
            fig.add_bar(x=order, y=values, name=name, marker_color=color, error_y=_ci(records, key),
                        text=[f"{v:.3f}" for v in values], textposition="inside",
                        customdata=[[float(r[f"{key}_lo"]), float(r[f"{key}_hi"]), int(r.get("rows", 0))]
                                    for r in records],
                        hovertemplate=f"%{{x}}: {name} %{{y:.3f}}<br>95 % CI %{{customdata[0]:.3f}}–"
                                      f"%{{customdata[1]:.3f}} · %{{customdata[2]}} memes<extra></extra>")
    fig.update_layout(title="Macro-F1 and accuracy per setting (held-out memes, 95 % bootstrap CIs)",
                      barmode="group", height=420, yaxis={"title": "score", "range": [0, 1.05]},
                      xaxis_title="setting", legend_title="metric")
    return fig


def gains_figure(gains_records) -> go.Figure:
    """The relative macro-F1 gain of each setting over its baseline, in %, with the paired-bootstrap 95 % CI."""
    order = _settings(gains_records)
    by = {str(r["setting"]): r for r in gains_records}
    records = [by[s] for s in order]
    values = [100 * float(r["relative_gain"]) for r in records]
    fig = go.Figure(go.Bar(
        x=order, y=values, name="ours: relative macro-F1 gain",
        marker_color=[SETTING_COLORS.get(s, "#1f77b4") for s in order],
        error_y={"type": "data", "symmetric": False,
                 "array": [max(0.0, 100 * float(r["hi"]) - v) for r, v in zip(records, values)],
                 "arrayminus": [max(0.0, v - 100 * float(r["lo"])) for r, v in zip(records, values)]},
        text=[f"{v:+.1f} %" for v in values], textposition="inside",
        customdata=[[str(r.get("over", "none")), 100 * float(r["lo"]), 100 * float(r["hi"]),
                     100 * float(r.get("share_positive", float("nan")))] for r in records],
        hovertemplate="%{x} over %{customdata[0]}: %{y:+.1f} %<br>95 % CI %{customdata[1]:+.1f} to "
                      "%{customdata[2]:+.1f} %<br>%{customdata[3]:.0f} % of resamples above zero<extra></extra>"))
    fig.add_hline(y=0, line_color="#bbbbbb")
    over = ", ".join(dict.fromkeys(str(r.get("over", "none")) for r in records)) or "none"
    fig.update_layout(title=f"Relative macro-F1 gain over '{over}' (%, paired bootstrap 95 % CIs)", height=400,
                      yaxis_title="relative gain (%)", xaxis_title="setting",
                      legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"})
    return fig


def confusion_figure(confusion: dict, classes) -> go.Figure:
    """One heatmap per setting (rows: the true class, columns: the predicted one), counts written in the cells;
    the colour is the share of the true class's memes, so the diagonal reads as per-class recall."""
    from plotly.subplots import make_subplots

    order = _settings([{"setting": s} for s in confusion])
    classes = [str(c) for c in classes]
    fig = make_subplots(rows=1, cols=max(1, len(order)), subplot_titles=order, horizontal_spacing=0.08)
    for i, setting in enumerate(order, 1):
        matrix = [[int(v) for v in row] for row in confusion[setting]]
        share = [[v / max(1, sum(row)) for v in row] for row in matrix]
        fig.add_trace(go.Heatmap(z=share, x=[f"→ {c}" for c in classes], y=classes, zmin=0, zmax=1,
                                 colorscale="Blues", name=setting, showscale=i == len(order),
                                 text=[[str(v) for v in row] for row in matrix], texttemplate="%{text}",
                                 colorbar={"title": "share of row"},
                                 hovertemplate=f"{setting}<br>truly %{{y}}, predicted %{{x}}: %{{text}} memes "
                                               f"(%{{z:.0%}} of the row)<extra></extra>"), row=1, col=i)
        fig.update_yaxes(autorange="reversed", row=1, col=i, showticklabels=i == 1)
    fig.update_layout(title="Confusion matrices per setting (rows: true class; cells: memes)", height=360)
    return fig


def slice_figure(records, column: str, *, title: str | None = None) -> go.Figure:
    """Accuracy per value of ``column`` (a flip kind, a target type …) as grouped bars, one bar per setting;
    ``records``: setting, ``column``, accuracy, rows (the artifact's ``by_flip`` / ``by_target``)."""
    records = list(records)
    values = list(dict.fromkeys(str(r[column]) for r in records))
    fig = go.Figure()
    for setting in _settings(records):
        part = {str(r[column]): r for r in records if str(r["setting"]) == setting}
        fig.add_bar(x=values, y=[float(part[v]["accuracy"]) if v in part else None for v in values], name=setting,
                    marker_color=SETTING_COLORS.get(setting),
                    customdata=[int(part[v]["rows"]) if v in part else 0 for v in values],
                    hovertemplate=f"{setting}<br>%{{x}}: accuracy %{{y:.2f}} over %{{customdata}} memes"
                                  f"<extra></extra>")
    fig.update_layout(title=title or f"Accuracy by {column.replace('_', ' ')}", barmode="group", height=380,
                      yaxis={"title": "accuracy", "range": [0, 1.05]}, xaxis_title=column.replace("_", " "),
                      legend_title="setting")
    if not records:
        fig.add_annotation(text="no rows", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    return fig


def headline_figure(config: dict) -> go.Figure:
    """The P5 headline of a ``meme_eval`` config: per setting and for the shortcut baseline (``shortcut``'s best
    model), the flip-group accuracy (every member of a group right) beside the full split's macro-F1, with their
    95 % CIs; the dotted line is chance macro-F1 (1 / classes)."""
    flips = {str(r["setting"]): r for r in config.get("flip_pairs") or []}
    metrics = {str(r["setting"]): r for r in config.get("metrics") or []}
    names = _settings(list(metrics.values()))
    pair = [flips.get(s) for s in names]
    full = [metrics[s] for s in names]
    shortcut = config.get("shortcut") or {}
    best = next((m for m in shortcut.get("models") or [] if m["model"] == shortcut.get("best")), None)
    if best is not None:
        names = names + ["shortcut baseline"]
        pair.append({"pair_accuracy": best.get("pair_accuracy"), "pair_accuracy_lo": best.get("pair_accuracy_lo"),
                     "pair_accuracy_hi": best.get("pair_accuracy_hi")})
        full.append(best)
    fig = go.Figure()
    if any(p is not None for p in pair):
        rows = [p or {"pair_accuracy": float("nan"), "pair_accuracy_lo": float("nan"),
                      "pair_accuracy_hi": float("nan")} for p in pair]
        fig.add_bar(x=names, y=[float(r["pair_accuracy"]) for r in rows], name="flip groups, all right",
                    marker_color="#d62728", error_y=_ci(rows, "pair_accuracy"),
                    hovertemplate="%{x}<br>flip groups all right: %{y:.3f}<extra></extra>")
    if full:
        fig.add_bar(x=names, y=[float(r["macro_f1"]) for r in full], name="full split macro-F1",
                    marker_color="#aec7e8", error_y=_ci(full, "macro_f1"),
                    hovertemplate="%{x}<br>macro-F1: %{y:.3f}<extra></extra>")
    classes = config.get("classes") or []
    if classes:
        fig.add_hline(y=1 / len(classes), line_dash="dot", line_color="#555",
                      annotation_text="chance macro-F1", annotation_position="top left")
    fig.update_layout(title="Headline: flip groups beside the full held-out split, and the shortcut baseline",
                      barmode="group", height=400, yaxis={"title": "score", "range": [0, 1.05]},
                      legend_title="score")
    if not full:
        fig.add_annotation(text="no metrics", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    return fig


__all__ = ["CLASS_COLORS", "SETTINGS", "SETTING_COLORS", "ablation_figure", "confusion_figure",
           "gains_figure", "headline_figure", "probability_figure", "slice_figure"]
