"""Domain taxonomy (P1, P2, P4): the three dimensions as a sunburst sized by prompt counts, search, examples."""
from __future__ import annotations

import streamlit as st

from dashboard import cache
from dashboard.components import build_panel
from dashboard.registry import View

PAPER = "P1"
ARTIFACT = "seed_classification"


def render() -> None:
    from workbench.taxonomy import DIMENSIONS
    from workbench.viz import counts_from_frame, stamp, taxonomy_sunburst

    st.title("Domain taxonomy")
    st.markdown("14 safety (BeaverTails), 56 value (Schwartz, under the ten motivational types) and 41 cultural "
                "(UNESCO FCS) domains, each dimension with `None`; the descriptions are ours and are what the "
                "classifiers read.")
    profile = cache.environment()["profile"]
    build_panel(PAPER)
    frame, meta = cache.artifact_frame(PAPER, ARTIFACT, profile)
    taxonomy = cache.taxonomy_table()
    dims = st.multiselect("Dimensions", list(DIMENSIONS), default=list(DIMENSIONS), key="tax-dims")
    shown = taxonomy[taxonomy["dimension"].isin(dims or list(DIMENSIONS))]
    counts = counts_from_frame(frame, DIMENSIONS) if frame is not None else None
    title = "Seed prompts by top-1 domain" if frame is not None else "Domain taxonomy"
    fig = taxonomy_sunburst(shown, counts, title=title)
    if meta is not None:
        stamp(fig, meta.profile, meta.models)
    st.plotly_chart(fig, width="stretch")

    query = st.text_input("Search domains (name or description)", key="tax-search").strip().lower()
    if query:
        hits = shown[shown["name"].str.lower().str.contains(query, regex=False)
                     | shown["description"].str.lower().str.contains(query, regex=False)]
        if hits.empty:
            st.info(f"No domain matches '{query}'.")
        else:
            st.dataframe(hits[["dimension", "name", "parent", "description"]], hide_index=True, width="stretch")

    if frame is None:
        st.caption("Build the artifacts above to see counts, example prompts and the semantic-type breakdown.")
        return
    st.subheader("Example prompts")
    left, right = st.columns([1, 2])
    dim = left.selectbox("Dimension", list(DIMENSIONS), key="tax-dim")
    keys = [k for k in taxonomy[taxonomy["dimension"] == dim]["key"] if (frame[dim] == k).any()]
    names = dict(zip(taxonomy["key"], taxonomy["name"]))
    domain = left.selectbox("Domain", keys, format_func=lambda k: f"{names.get(k, k)} ({(frame[dim] == k).sum()})",
                            key="tax-domain")
    rows = frame[frame[dim] == domain][["text", f"{dim}_score", "seed_dimension", "seed_domain"]]
    right.dataframe(rows.sort_values(f"{dim}_score", ascending=False), hide_index=True, width="stretch")
    st.subheader("Semantic types")
    by_type = frame["semantic_type"].value_counts().rename_axis("semantic type").reset_index(name="prompts")
    st.bar_chart(by_type, x="semantic type", y="prompts")
    st.caption(f"profile: {meta.profile} · models: {', '.join(meta.models)} · method: {meta.config.get('method')} · "
               f"δ = {meta.config.get('delta')}" + (f" · {meta.config['note']}" if meta.config.get("note") else ""))


VIEW = View(key="taxonomy", title="Domain taxonomy", render=render, section="Benchmarks",
            icon=":material/account_tree:", papers=("P1", "P2", "P4"), order=10)
