"""Domain taxonomy (P1, P2, P4): the three dimensions as a sunburst sized by prompt counts, search, examples, and the
safety classifier on real prompts written by others (the ``safety_real`` artifact: accuracy with CI, confusion,
per-domain recall)."""
from __future__ import annotations

import streamlit as st

from dashboard import cache
from dashboard.components import build_panel, show_figure, show_table
from dashboard.registry import View

PAPER = "P1"
ARTIFACT = "seed_classification"
REAL = "safety_real"


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
    show_figure(fig, width="stretch")

    query = st.text_input("Search domains (name or description)", key="tax-search").strip().lower()
    if query:
        hits = shown[shown["name"].str.lower().str.contains(query, regex=False)
                     | shown["description"].str.lower().str.contains(query, regex=False)]
        if hits.empty:
            st.info(f"No domain matches '{query}'.")
        else:
            show_table(hits[["dimension", "name", "parent", "description"]], hide_index=True, width="stretch")

    _real_prompts(profile)
    if frame is None:
        st.caption("Build the artifacts above to see counts, example prompts and the semantic-type breakdown.")
    else:
        _examples(frame, meta, taxonomy)


def _examples(frame, meta, taxonomy) -> None:
    from workbench.taxonomy import DIMENSIONS

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


def _real_prompts(profile: str) -> None:
    """The safety classifier on real StrongREJECT / HarmBench prompts, mapped onto the 14 domains."""
    import pandas as pd

    from workbench.viz import stamp
    from workbench.viz.safety_real import confusion_heatmap, recall_bars

    st.subheader("Safety classifier on real prompts written by others")
    records, meta = cache.artifact_records(PAPER, REAL, profile)
    if records is None:
        st.info("Not built yet: `workbench build P1` (or `python benchmarks/safety_real.py --save`) classifies the "
                "StrongREJECT and HarmBench prompts mapped onto the safety domains.")
        return
    by = {r["name"]: r for r in records}
    cfg = meta.config
    data = "real: StrongREJECT / HarmBench, mapped (data/taxonomy/real_mapping_*.csv)"
    st.caption(f"profile: {meta.profile} · models: {', '.join(meta.models)} · data: {data} · "
               f"after = top-{cfg.get('top_k')} pooled similarity over descriptions, facets, seed prompts and the "
               f"real fit half (T = {cfg.get('temperature')}); before = mean prototypes of descriptions and seed "
               f"prompts · report half: {cfg.get('n_report')} prompts, fit half: {cfg.get('n_fit')} · excluded "
               f"(unclear / out of taxonomy): {cfg.get('excluded', {}).get('unclear')} / "
               f"{cfg.get('excluded', {}).get('out_of_taxonomy')}" + (" · smoke build" if cfg.get("smoke") else ""))
    cols = st.columns(3)
    for col, name, label in zip(cols, ("report_before", "report_after", "check_after"),
                                ("top-1 before (real)", "top-1 after (real)", "top-1 after (our check set)")):
        if name in by:
            r = by[name]
            col.metric(label, f"{r['accuracy']:.3f}", help=f"95 % bootstrap CI [{r['ci_low']:.3f}, "
                                                          f"{r['ci_high']:.3f}], n = {r['n']}")
    table = pd.DataFrame([{"evaluation": r["name"], "method": r["method"], "data": r["data"], "n": r["n"],
                           "top-1": r["accuracy"], "CI low": r["ci_low"], "CI high": r["ci_high"]} for r in records])
    show_table(table, hide_index=True, width="stretch")
    choice = st.radio("Confusion matrix of", ["after", "before"], horizontal=True, key="tax-real-method")
    record = by.get(f"report_{choice}")
    if record is not None:
        show_figure(stamp(confusion_heatmap(record), meta.profile, meta.models, data=data), width="stretch")
    pair = {k: by[f"report_{k}"] for k in ("before", "after") if f"report_{k}" in by}
    if pair:
        show_figure(stamp(recall_bars(pair), meta.profile, meta.models, data=data), width="stretch")


VIEW = View(key="taxonomy", title="Domain taxonomy", render=render, section="Benchmarks",
            icon=":material/account_tree:", papers=("P1", "P2", "P4"), order=10)
