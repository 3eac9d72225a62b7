"""Plotly figure builders: data in, ``go.Figure`` out. No streamlit import here."""
from workbench.viz.figures import claims_figure, model_sizes_figure, stamp
from workbench.viz.taxonomy import counts_from_frame, funnel_figure, response_funnel_figure, taxonomy_sunburst

__all__ = ["claims_figure", "counts_from_frame", "funnel_figure", "model_sizes_figure", "response_funnel_figure",
           "stamp", "taxonomy_sunburst"]
