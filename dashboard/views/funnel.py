"""Construction funnel (P1, P2): classified → expanded → removed by dedup → kept, ours beside the paper's."""
from __future__ import annotations

import streamlit as st

from dashboard import cache
from dashboard.components import build_panel
from dashboard.registry import View


def render() -> None:
    import pandas as pd

    from workbench.viz import funnel_figure, stamp

    st.title("Construction funnel")
    st.markdown("The dataset pipeline — classify → expand sparse domains → SimHash dedup (τ = 10) — run on the "
                "bundled seed prompts, beside the funnel the MisAlign-Profile README reports. Response generation "
                "with two-stage rejection sampling is not part of the workbench yet, so the funnel ends at the "
                "kept prompts.")
    paper = st.segmented_control("Paper", ["P1", "P2"], default="P1", key="funnel-paper") or "P1"
    profile = cache.environment()["profile"]
    build_panel(paper)
    records, meta = cache.artifact_records(paper, "construction_funnel", profile)
    if records is None:
        st.caption("Build the artifacts above to see the funnel; `workbench build "
                   f"{'savacu' if paper == 'P1' else 'misaligntrade'} --source FILE --out DIR` builds it from "
                   "any prompt table.")
        return
    fig = funnel_figure(records)
    stamp(fig, meta.profile, meta.models)
    st.plotly_chart(fig, width="stretch")
    st.dataframe(pd.DataFrame(records)[["stage", "ours", "paper"]], hide_index=True, width="stretch")
    per_domain = meta.extra.get("per_domain", {})
    if per_domain:
        dim = st.selectbox("Kept prompts per domain", list(per_domain), key="funnel-dim")
        counts = pd.Series(per_domain[dim], name="prompts").sort_values(ascending=False)
        st.bar_chart(counts)
    st.caption(f"profile: {meta.profile} · models: {', '.join(meta.models)} · expansion target: "
               f"{meta.config.get('target')} · source: bundled seed prompts")


VIEW = View(key="funnel", title="Construction funnel", render=render, section="Benchmarks",
            icon=":material/filter_alt:", papers=("P1", "P2", "P4"), order=20)
