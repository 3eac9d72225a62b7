"""Figures and tables of the deepfake capability (P6 ConLLM): DET and ROC curves per stage, score histograms of
bona fide against fake clips, a per-attack breakdown, and a clip's waveform and log-mel spectrogram.

Scores follow the workbench's orientation: **higher = more bona fide**. Every curve and EER comes from
``workbench.metrics.eer`` (``det_curve``, ``eer``, ``roc``, ``probit``), never recomputed here.

A *stage* is a column of scores judged against a column of labels: ``stage_columns`` maps the stage names of
``evaluate``'s report ("audio detector", "detector (pipeline)", "detector + reasoning", "LLM over embeddings", …) to
their columns of the per-clip frame; a per-modality label column (``audio_y``, ``video_y``) is used where it is given
(≥ 0), the clip's ``y`` elsewhere, as the pipeline does.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

COLORS = {"audio detector": "#1f77b4", "video detector": "#2ca02c", "audiovisual detector": "#9467bd",
          "detector (pipeline)": "#ff7f0e", "detector + reasoning": "#d62728", "LLM over embeddings": "#8c564b"}
DET_TICKS = (0.0001, 0.001, 0.01, 0.1, 0.5, 1, 2, 5, 10, 20, 40, 60, 80, 90, 95, 98, 99, 99.5, 99.9)  # in %
BONAFIDE_ATTACKS = ("-", "")
SOFT_STAGE = "LLM over embeddings"   # deepfake.soft_prompt.STAGE (not imported: that module loads torch)


def stage_columns(stages) -> dict[str, tuple[str, str]]:
    """Stage name → (score column, label column) for the stage names of a report (a dict or a list of names); the
    report's own ``labels`` entry wins where it has one. Unknown names are left out."""
    fixed = {"detector (pipeline)": ("score", "y"), "detector + reasoning": ("reasoning_score", "y"),
             SOFT_STAGE: ("soft_score", "y")}
    out = {}
    for name in stages:
        info = stages[name] if isinstance(stages, dict) else {}
        if name in fixed:
            out[name] = fixed[name]
        elif name.endswith(" detector"):
            stream = name[: -len(" detector")]
            default = "y" if stream == "audiovisual" else f"{stream}_y"
            out[name] = (f"score_{stream}", (info or {}).get("labels", default))
    return out


def stage_scores(frame, score_column: str, label_column: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """(scores, labels) of the rows that have a score: the label column where it is given (≥ 0), else ``y``."""
    if score_column not in frame.columns:
        return np.zeros(0), np.zeros(0, int)
    s = frame[score_column].to_numpy(float)
    y = frame["y"].to_numpy().astype(int)
    if label_column != "y" and label_column in frame.columns:
        own = frame[label_column].to_numpy(float)
        own = np.where(np.isnan(own), -1, own).astype(int)
        y = np.where(own >= 0, own, y)
    ok = np.isfinite(s) & np.isin(y, (0, 1))
    return s[ok], y[ok]


def _resolve(stages) -> dict[str, tuple[str, str]]:
    """``stages`` as stage name → (score column, label column): given so, or derived by ``stage_columns``."""
    if isinstance(stages, dict) and stages and all(isinstance(v, tuple) for v in stages.values()):
        return dict(stages)
    return stage_columns(stages)


def _usable(frame, stages) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Stage → (scores, labels) for the stages with scores of both classes."""
    out = {}
    for name, (column, labels) in _resolve(stages).items():
        s, y = stage_scores(frame, column, labels)
        if len(set(y.tolist())) == 2:
            out[name] = (s, y)
    return out


def _pct(p: float) -> str:
    return f"{100 * p:.2f}%"


def det_figure(frame, stages) -> go.Figure:
    """DET curves (false acceptance of fakes against false rejection of bona fide clips, probit axes labelled in
    %), one per stage with both classes, each with its EER point marked.

    ``stages``: stage name → (score column, label column), or stage names / a report's ``stages`` dict (see
    ``stage_columns``)."""
    from workbench.metrics.eer import det_curve, eer, probit

    fig = go.Figure()
    lo, hi = float(probit(0.001)), float(probit(0.999))
    for name, (s, y) in _usable(frame, stages).items():
        curve = det_curve(s, y)
        value, threshold = eer(s, y)
        x, yy = probit(curve.far), probit(curve.frr)
        color = COLORS.get(name)
        fig.add_scatter(x=x, y=yy, mode="lines", name=name, legendgroup=name, line={"color": color, "shape": "hv"},
                        customdata=np.stack([curve.far, curve.frr, curve.thresholds], axis=1),
                        hovertemplate=(f"{name}<br>FAR %{{customdata[0]:.2%}} · FRR %{{customdata[1]:.2%}}"
                                       "<br>threshold %{customdata[2]:.3f}<extra></extra>"))
        point = float(probit(value))
        fig.add_scatter(x=[point], y=[point], mode="markers", name=f"{name}: EER {_pct(value)}", legendgroup=name,
                        marker={"symbol": "x", "size": 11, "color": color}, customdata=[[value, threshold]],
                        hovertemplate=f"{name}<br>EER {_pct(value)} at threshold {threshold:.3f}<extra></extra>")
        rates = np.concatenate([curve.far, curve.frr])
        inner = rates[(rates > 0) & (rates < 1)]       # 0 and 1 sit at ±4.75 after clipping: not worth the room
        if len(inner):
            lo, hi = min(lo, float(probit(inner.min()))), max(hi, float(probit(inner.max())))
        lo, hi = min(lo, point), max(hi, point)
    lo, hi = lo - 0.2, hi + 0.2
    ticks = [t for t in DET_TICKS if lo <= float(probit(t / 100)) <= hi]
    axis = {"tickvals": [float(probit(t / 100)) for t in ticks], "ticktext": [f"{t:g}%" for t in ticks],
            "range": [lo, hi], "zeroline": False}
    fig.add_scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="FAR = FRR", hoverinfo="skip",
                    line={"dash": "dot", "color": "#bbbbbb"})
    fig.update_layout(title="DET curves on the held-out clips (EER marked ×; nearer the corner is better)",
                      height=480, xaxis={"title": "false acceptance rate (fakes called real)", **axis},
                      yaxis={"title": "false rejection rate (bona fide called fake)", **axis})
    return fig


def roc_figure(frame, stages) -> go.Figure:
    """ROC curves of bona fide detection (true positive = a bona fide clip accepted), AUC in the legend."""
    from workbench.metrics.eer import roc

    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", hoverinfo="skip",
                    line={"dash": "dot", "color": "#bbbbbb"})
    for name, (s, y) in _usable(frame, stages).items():
        r = roc(s, y)
        fig.add_scatter(x=r["fpr"], y=r["tpr"], mode="lines", name=f"{name} (AUC {r['auc']:.3f})",
                        line={"color": COLORS.get(name), "shape": "hv"}, customdata=r["thresholds"],
                        hovertemplate=(f"{name}<br>fakes accepted %{{x:.2%}} · bona fide accepted %{{y:.2%}}"
                                       "<br>threshold %{customdata:.3f}<extra></extra>"))
    fig.update_layout(title="ROC curves on the held-out clips (positive = bona fide)", height=440,
                      xaxis={"title": "false positive rate (fakes accepted)", "range": [-0.01, 1.01]},
                      yaxis={"title": "true positive rate (bona fide accepted)", "range": [-0.01, 1.01]})
    return fig


def score_histogram(frame, column: str, *, thresholds=None, labels: str = "y", title: str | None = None,
                    nbins: int = 30) -> go.Figure:
    """Overlaid distributions of ``column`` for bona fide and fake clips with the decision threshold(s):
    ``thresholds`` is a number or a dict label → number (e.g. one per stream)."""
    s, y = stage_scores(frame, column, labels)
    fig = go.Figure()
    edges = np.histogram_bin_edges(s, bins=nbins) if len(s) else None
    bins = {"start": float(edges[0]), "end": float(edges[-1]), "size": float(edges[1] - edges[0]) or 1.0} \
        if edges is not None else None
    for value, name, color in ((1, "bona fide", "#2ca02c"), (0, "fake", "#d62728")):
        part = s[y == value]
        fig.add_histogram(x=part, name=f"{name} ({len(part)})", marker_color=color, opacity=0.6, xbins=bins)
    if thresholds is not None:
        items = thresholds.items() if isinstance(thresholds, dict) else [("threshold", thresholds)]
        for k, (name, value) in enumerate(items):
            if value is None or not np.isfinite(value):
                continue
            fig.add_vline(x=float(value), line_dash="dash", line_color="#333333",
                          annotation_text=f"{name} {value:+.2f}", annotation_position="top" if k % 2 == 0
                          else "bottom")
    fig.update_layout(title=title or f"{column}: bona fide vs fake (higher = more bona fide)", barmode="overlay",
                      height=380, xaxis_title=column, yaxis_title="clips")
    return fig


def attack_breakdown(frame):
    """One row per (modality, attack): clips, mean detector score, detector accuracy and — where the frame has the
    reasoning stage — its accuracy and mean P(real), and the LLM over embeddings' accuracy where the frame has that
    stage (``soft_verdict``). Attacks "-" / "" are bona fide."""
    import pandas as pd

    df = frame.copy()
    df["attack"] = df["attack"].fillna("").astype(str) if "attack" in df else ""
    df["attack"] = df["attack"].where(~df["attack"].isin(BONAFIDE_ATTACKS), "bona fide")
    truth = np.where(df["y"].to_numpy().astype(int) == 1, "real", "fake")
    df["_detector_right"] = df["detector_verdict"].to_numpy() == truth
    has_reasoning = "verdict" in df and df["verdict"].notna().any()
    if has_reasoning:
        df["_reasoning_right"] = df["verdict"].to_numpy() == truth
    has_soft = "soft_verdict" in df and df["soft_verdict"].notna().any()
    if has_soft:
        df["_soft_right"] = df["soft_verdict"].to_numpy() == truth
    rows = []
    for (modality, attack), part in df.groupby(["modality", "attack"], sort=True):
        row = {"modality": modality, "attack": attack, "clips": int(len(part)),
               "mean score": float(part["score"].mean()), "detector accuracy": float(part["_detector_right"].mean())}
        if has_reasoning:
            row["with reasoning accuracy"] = float(part["_reasoning_right"].mean())
            row["mean P(real)"] = float(part["p_real"].mean())
        if has_soft:
            row[f"{SOFT_STAGE} accuracy"] = float(part["_soft_right"].mean())
        rows.append(row)
    out = pd.DataFrame(rows)
    if len(out):   # bona fide first within each modality
        out["_order"] = (out["attack"] != "bona fide").astype(int)
        out = out.sort_values(["modality", "_order", "attack"]).drop(columns="_order").reset_index(drop=True)
    return out


def waveform_figure(audio, sr: int, *, title: str = "Waveform", max_points: int = 4000) -> go.Figure:
    """The samples against time (min/max envelope per bucket when longer than ``max_points``)."""
    y = np.asarray(audio, float).reshape(-1)
    if len(y) > max_points:
        k = int(np.ceil(len(y) / (max_points // 2)))
        pad = (-len(y)) % k
        blocks = np.pad(y, (0, pad), mode="edge").reshape(-1, k)
        t = np.repeat(np.arange(len(blocks)) * k / sr, 2)
        y = np.stack([blocks.min(1), blocks.max(1)], axis=1).reshape(-1)
    else:
        t = np.arange(len(y)) / sr
    fig = go.Figure(go.Scatter(x=t, y=y, mode="lines", line={"width": 1, "color": "#1f77b4"}, name="amplitude",
                               hovertemplate="%{x:.3f} s: %{y:.3f}<extra></extra>"))
    fig.update_layout(title=f"{title} ({len(np.asarray(audio).reshape(-1)) / sr:.2f} s at {sr} Hz)", height=240,
                      xaxis_title="seconds", yaxis={"title": "amplitude"}, showlegend=False)
    return fig


def spectrogram_figure(log_mel, sr: int, hop: int, *, title: str = "Log-mel spectrogram") -> go.Figure:
    """A ``[n_mels, frames]`` log-mel spectrogram as a heatmap against time (frame × hop / sr)."""
    mel = np.asarray(log_mel, float)
    t = np.arange(mel.shape[1]) * hop / sr
    fig = go.Figure(go.Heatmap(z=mel, x=t, y=np.arange(mel.shape[0]), colorscale="Viridis",
                               colorbar={"title": "log power"},
                               hovertemplate="%{x:.2f} s · mel bin %{y}: %{z:.2f}<extra></extra>"))
    fig.update_layout(title=f"{title} ({mel.shape[0]} mel bands, hop {hop} samples)", height=300,
                      xaxis_title="seconds", yaxis_title="mel band")
    return fig


def modality_figure(modalities: dict) -> go.Figure:
    """One file's detector score per stream as bars, with each detector's threshold as a marker."""
    names = list(modalities)
    scores = [modalities[n]["score"] for n in names]
    colors = ["#2ca02c" if modalities[n]["verdict"] == "real" else "#d62728" for n in names]
    fig = go.Figure(go.Bar(x=names, y=scores, marker_color=colors, name="score",
                           text=[f"{s:+.2f}" for s in scores], textposition="outside"))
    fig.add_scatter(x=names, y=[modalities[n]["threshold"] for n in names], mode="markers", name="threshold",
                    marker={"symbol": "line-ew-open", "size": 40, "color": "#333333", "line": {"width": 3}})
    fig.update_layout(title="Detector score per stream (green = above its threshold = real)", height=320,
                      yaxis_title="score (higher = more bona fide)")
    return fig


__all__ = ["attack_breakdown", "det_figure", "modality_figure", "roc_figure", "score_histogram",
           "spectrogram_figure", "stage_columns", "stage_scores", "waveform_figure"]
