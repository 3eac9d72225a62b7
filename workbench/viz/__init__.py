"""Plotly figure builders: data in, ``go.Figure`` out. No streamlit import here."""
from workbench.viz.figures import claims_figure, model_sizes_figure, stamp

__all__ = ["claims_figure", "model_sizes_figure", "stamp"]
