"""Grids of images as one plotly figure (used by the P5 notebook to show memes, flip pairs and explained memes)."""
from __future__ import annotations

import plotly.graph_objects as go


def image_grid(images, titles, *, cols: int, title: str, size: int = 230) -> go.Figure:
    """``images`` (RGB uint8 arrays ``[H, W, 3]``) in a grid of ``cols`` columns, each under its title, axes hidden;
    each cell is about ``size`` pixels."""
    from plotly.subplots import make_subplots

    images, titles = list(images), list(titles)
    n_rows = max(1, -(-len(images) // cols))
    fig = make_subplots(rows=n_rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.02,
                        vertical_spacing=0.08)
    for k, image in enumerate(images):
        fig.add_trace(go.Image(z=image), k // cols + 1, k % cols + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(height=size * n_rows + 60, width=size * cols + 40, title=title)
    return fig


def heatmap_row(arrays, titles, *, title: str, height: int = 280) -> go.Figure:
    """2-D arrays (e.g. log-mel spectrograms ``[mels, frames]``) side by side as heatmaps, one per title."""
    from plotly.subplots import make_subplots

    arrays, titles = list(arrays), list(titles)
    fig = make_subplots(rows=1, cols=max(1, len(arrays)), subplot_titles=titles)
    for k, z in enumerate(arrays):
        fig.add_trace(go.Heatmap(z=z, colorscale="Viridis", showscale=False), 1, k + 1)
    fig.update_layout(height=height, title=title)
    return fig


def frame_strips(strips: dict, *, title: str, row_height: int = 150) -> go.Figure:
    """One row per named clip: its frames (``[T, H, W, 3]`` uint8) side by side as one image."""
    import numpy as np
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=max(1, len(strips)), cols=1, subplot_titles=list(strips), vertical_spacing=0.06)
    for k, frames in enumerate(strips.values()):
        fig.add_trace(go.Image(z=np.concatenate(list(frames), axis=1)), k + 1, 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(height=row_height * len(strips), title=title)
    return fig
