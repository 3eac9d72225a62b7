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
