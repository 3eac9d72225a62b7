"""Figures of the captioning capability (P9 zero-shot audio captioning): a clip's keywords, the caption metrics per
decoder, the keyword-count ablation beside the ZerAuCap ablation as reported, and the audio–caption cosine.

Inputs are what ``workbench.captioning`` produces: ``Captioner.caption``'s keyword list (``{"keyword", "score"}``),
the ``metrics`` / ``ablation`` records of the ``caption_eval`` artifact's meta (metric values already ×100) and its
per-clip frame (``decoder``, ``l``, ``audio_score``). A clip's waveform and log-mel spectrogram are drawn by
``workbench.viz.deepfake`` (``waveform_figure``, ``spectrogram_figure``).
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

# The caption metrics in display order; the records' values are ×100 already.
METRICS = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR (exact+stem)", "ROUGE-L", "CIDEr-D", "NLG mean")
DECODER_COLORS = {"greedy": "#7f7f7f", "contrastive": "#1f77b4", "magic": "#d62728"}
# The keyword counts of ZerAuCap's ablation as reported; the NLG means are read from the paper registry (P9).
PAPER_ABLATION_L = (0, 1, 2, 3, 5, 10)
PAPER_ABLATION_LABEL = "ZerAuCap ablation as reported: NLG mean (AudioCaps, a different dataset)"


def paper_ablation() -> dict[int, float]:
    """ZerAuCap's keyword-count ablation as reported ({l: NLG mean ×100}, AudioCaps), from ``data/papers.json``
    (P9's reported numbers ``NLG mean, l = … keywords``)."""
    from workbench.papers import get_paper

    paper = get_paper("P9")
    return {l: paper.number(f"NLG mean, l = {l} keywords").value for l in PAPER_ABLATION_L}


def keyword_bars(keywords) -> go.Figure:
    """The clip's keywords as horizontal bars of their cosine with the clip, the first-ranked at the top."""
    words = [str(kw["keyword"]) for kw in keywords]
    scores = [float(kw["score"]) for kw in keywords]
    fig = go.Figure(go.Bar(x=scores, y=words, orientation="h", marker_color="#1f77b4", name="cosine",
                           text=[f"{s:+.3f}" for s in scores], textposition="auto",
                           hovertemplate="%{y}: cosine %{x:.3f}<extra></extra>"))
    fig.update_layout(title="Keywords: cosine of each with the clip (audio-text model)",
                      height=max(200, 90 + 40 * len(words)), xaxis_title="cosine with the clip",
                      yaxis={"autorange": "reversed", "title": ""}, showlegend=False)
    if not words:
        fig.add_annotation(text="no keywords (l = 0): the prompt names no objects", showarrow=False,
                           xref="paper", yref="paper", x=0.5, y=0.5)
    return fig


def _metric_keys(records) -> list[str]:
    present = {k for r in records for k in r}
    return [m for m in METRICS if m in present]


def metrics_figure(metrics_records) -> go.Figure:
    """Grouped bars: one group per metric, one bar per decoder (the records' values, ×100 already)."""
    records = list(metrics_records)
    keys = _metric_keys(records)
    fig = go.Figure()
    for r in records:
        name = str(r["decoder"])
        values = [float(r[k]) for k in keys]
        fig.add_bar(x=keys, y=values, name=name, marker_color=DECODER_COLORS.get(name),
                    text=[f"{v:.1f}" for v in values], textposition="outside",
                    hovertemplate=f"{name}<br>%{{x}}: %{{y:.2f}}<extra></extra>")
    ls = sorted({int(r["l"]) for r in records if "l" in r})
    fig.update_layout(title="Caption metrics per decoder" + (f" (l = {', '.join(map(str, ls))} keywords)" if ls
                                                             else "") + ", ×100",
                      barmode="group", height=420, yaxis_title="score ×100", xaxis_title="metric",
                      legend_title="decoder")
    return fig


def ablation_figure(ablation_records) -> go.Figure:
    """NLG mean and CIDEr-D of MAGIC against the number of keywords l (ours), with ZerAuCap's reported NLG mean
    ablation (AudioCaps, a different dataset) as a dashed second series."""
    records = sorted(ablation_records, key=lambda r: int(r["l"]))
    ls = [int(r["l"]) for r in records]
    fig = go.Figure()
    for key, color in (("NLG mean", "#d62728"), ("CIDEr-D", "#ff7f0e")):
        if records and all(key in r for r in records):
            fig.add_scatter(x=ls, y=[float(r[key]) for r in records], mode="lines+markers", name=f"ours: {key}",
                            line={"color": color}, hovertemplate=f"l = %{{x}}<br>{key} %{{y:.2f}}<extra></extra>")
    reported = paper_ablation()
    fig.add_scatter(x=list(reported), y=list(reported.values()), mode="lines+markers",
                    name=PAPER_ABLATION_LABEL, line={"color": "#7f7f7f", "dash": "dash"},
                    marker={"symbol": "diamond"},
                    hovertemplate="ZerAuCap (AudioCaps), l = %{x}<br>NLG mean %{y:.1f}<extra></extra>")
    ticks = sorted(set(ls) | set(reported))
    fig.update_layout(title="Keyword ablation: MAGIC's scores against the number of keywords l, ×100", height=420,
                      xaxis={"title": "keywords in the prompt (l)", "tickvals": ticks},
                      yaxis_title="score ×100", legend={"orientation": "h", "y": -0.25})
    return fig


def audio_score_figure(outputs, l: int | None = None, column: str = "audio_score",
                       scorer: str = "self-scored: the audio-text model that guides MAGIC") -> go.Figure:
    """The audio–caption cosine of every caption as a box per decoder (points shown, mean dashed); ``outputs`` is
    the per-clip frame (or its records); ``l`` keeps the rows with that many keywords; ``column`` is the score drawn
    (``audio_score``: the guide's own cosine; ``judge_score``: the independent judge's) and ``scorer`` says which."""
    import pandas as pd

    frame = outputs if isinstance(outputs, pd.DataFrame) else pd.DataFrame(list(outputs))
    if l is not None and "l" in frame.columns:
        frame = frame[frame["l"] == l]
    fig = go.Figure()
    for name in dict.fromkeys(frame["decoder"]) if len(frame) else ():
        part = frame[frame["decoder"] == name]
        values = part[column].to_numpy(float)
        fig.add_box(y=values, name=name, boxpoints="all", jitter=0.4, pointpos=0, boxmean=True,
                    marker_color=DECODER_COLORS.get(name), text=part["id"].astype(str).tolist()
                    if "id" in part.columns else None,
                    hovertemplate=f"{name} · %{{text}}<br>cosine %{{y:.3f}}<extra></extra>")
    means = {t.name: float(np.mean(t.y)) for t in fig.data if len(t.y)}
    note = " · ".join(f"{k} {v:.3f}" for k, v in means.items())
    fig.update_layout(title="Audio–caption cosine per decoder" + (f" (l = {l})" if l is not None else "")
                      + f" — {scorer}"
                      + (f"<br><sup>means: {note}</sup>" if note else ""), height=400, showlegend=False,
                      yaxis_title=f"cosine of caption and clip ({scorer.split(':')[0]})", xaxis_title="decoder")
    return fig


__all__ = ["METRICS", "PAPER_ABLATION_L", "ablation_figure", "audio_score_figure", "keyword_bars",
           "metrics_figure", "paper_ablation"]


def scorer_strength_figure(comparison: dict, recall: str = "audio_to_text R@1") -> go.Figure:
    """Caption quality against the audio–text scorer's retrieval quality (P9 scorer comparison,
    ``captioning.compare``): one point per scorer and keyword count l — x the scorer's ``recall`` on held-out clips,
    y the independent judge's mean audio–caption cosine of the MAGIC captions it guided — with 95 % intervals on
    both axes; the lines join the scorers at each l. Vertical lines mark the retrieval baselines' ``recall``
    (``compare.retrieval_baselines``: surface features dashed, chance dotted) where the comparison has them.
    ``comparison``: the ``caption_scorers`` artifact's config (or ``compare_scorers``' result)."""
    from workbench.captioning.compare import CHANCE, strength_rows

    fig = go.Figure()
    ls = sorted({int(r["l"]) for r in comparison["ablation"]})
    for i, l in enumerate(ls):
        rows = sorted(strength_rows(comparison, l, recall), key=lambda r: r["recall"])
        x, y = [r["recall"] for r in rows], [r["judge"] for r in rows]
        xerr = [(r["recall_ci"] or [r["recall"]] * 2) for r in rows]
        yerr = [(r["judge_ci"] or [r["judge"]] * 2) for r in rows]
        fig.add_scatter(
            x=x, y=y, mode="lines+markers+text", name=f"l = {l} keywords", text=[r["scorer"] for r in rows],
            textposition="top center", marker={"size": 10},
            line={"color": px_color(i)},
            error_x={"type": "data", "symmetric": False, "array": [hi - v for (lo, hi), v in zip(xerr, x)],
                     "arrayminus": [v - lo for (lo, hi), v in zip(xerr, x)]},
            error_y={"type": "data", "symmetric": False, "array": [hi - v for (lo, hi), v in zip(yerr, y)],
                     "arrayminus": [v - lo for (lo, hi), v in zip(yerr, y)]},
            customdata=[[r["nlg_mean"]] for r in rows],
            hovertemplate="%{text}<br>" + recall + " %{x:.2f}<br>judge cosine %{y:.3f}<br>NLG mean "
                          "%{customdata[0]:.2f}<extra>" + f"l = {l}" + "</extra>")
    for row in comparison.get("baselines") or []:                   # the surface baseline dashed, chance dotted
        if row.get(recall) is not None:
            fig.add_vline(x=float(row[recall]), line={"color": "#7f7f7f",
                                                      "dash": "dot" if row["scorer"] == CHANCE else "dash"},
                          annotation={"text": f"{row['scorer']} {float(row[recall]):.2f}", "textangle": -90})
    fig.update_layout(title="Caption quality against the audio–text model's retrieval quality (held-out clips)",
                      height=440, xaxis_title=f"scorer {recall.replace('_', ' ')} (label-set relevance)",
                      yaxis_title="independent judge: audio–caption cosine", legend={"orientation": "h", "y": -0.25})
    return fig


def px_color(i: int) -> str:
    """The i-th colour of plotly's default qualitative sequence."""
    import plotly.express as px

    palette = px.colors.qualitative.Plotly
    return palette[i % len(palette)]
