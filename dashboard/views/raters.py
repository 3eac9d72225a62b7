"""Rater agreement (P4): LLM safety raters against the human panel (ICC with CIs), their demographic sensitivity
with personas beside the human raters', and the δ × τ threshold surface."""
from __future__ import annotations

import streamlit as st

from dashboard import cache
from dashboard.components import built_artifact
from dashboard.registry import View


def render() -> None:
    import pandas as pd

    from workbench.papers import get_paper
    from workbench.viz import stamp
    from workbench.viz.evaluation import fairness_figure, icc_figure, sweep_figure

    st.title("Rater agreement")
    st.markdown("LLMs rate each DICES conversation's safety zero-shot (Yes = unsafe / No / Unsure, read from token "
                "likelihoods), plainly and as demographic personas (one rater attribute at a time). Agreement is "
                "the ICC between the model's score and the human panel's mean; DS is the largest gap in unsafe "
                "rate between the personas of one attribute — formulas are ours (SPECS.md).")
    records, meta = built_artifact("P4", "rater_agreement", records=True,
                                   hint="`workbench eval raters DICES.csv --raters NAME --personas --out DIR` runs "
                                        "it on a real DICES file.")
    if records is None:
        return
    st.caption(f"Data: {meta.config.get('source')}.")
    with_icc = {r["model"]: r["icc"] for r in records if r.get("icc")}
    if with_icc:
        fig = icc_figure(with_icc)
        stamp(fig, meta.profile, meta.models)
        st.plotly_chart(fig, width="stretch")
    table = pd.DataFrame([{"model": r["model"], "items": r["n_items"],
                           "ICC(2,1)": _ci(r, "ICC2"), "ICC(3,1)": _ci(r, "ICC3"),
                           "ρ": None if r.get("rho") is None else round(r["rho"], 3),
                           "accuracy vs majority": r.get("accuracy_vs_majority"),
                           "DS (personas)": (r.get("fairness") or {}).get("ds")} for r in records])
    st.dataframe(table, hide_index=True, width="stretch")

    groups = {f"{r['model']} personas": r["fairness"] for r in records if r.get("fairness")}
    if meta.extra.get("human"):
        groups["human raters"] = meta.extra["human"]
    if groups:
        metric = st.segmented_control("Fairness metric", ["dpd", "eod"], default="dpd", key="raters-metric") or "dpd"
        fig = fairness_figure(groups, metric)
        stamp(fig, meta.profile, meta.models)
        st.plotly_chart(fig, width="stretch")
        p4 = get_paper("P4")
        ds, icc = p4.number("demographic sensitivity DS").value, p4.number("ICC (best rater)").value
        st.caption(f"The paper reports DS = {ds:g} on average and ICC {icc:g} for its best rater (GPT-4o).")

    sweep, _ = cache.artifact_frame("P4", "rater_sweep", meta.profile)
    if sweep is not None:
        fig = sweep_figure(sweep)
        stamp(fig, meta.profile, meta.models)
        st.plotly_chart(fig, width="stretch")
        st.caption(f"ICC(2,1) of {meta.config.get('sweep_rater')} over the items kept at each (δ, τ): an item is kept "
                   "when its best safety-domain probability is at least δ and it is not a SimHash near-duplicate "
                   "(distance ≤ τ) of an earlier item. Empty cells: fewer than 3 items.")
    if meta.extra.get("skipped"):
        st.warning(f"Skipped: {meta.extra['skipped']}")


def _ci(record: dict, form: str) -> str | None:
    icc = (record.get("icc") or {}).get(form)
    if not icc:
        return None
    return f"{icc['icc']:.3f} [{icc['ci_low']:.3f}, {icc['ci_high']:.3f}]"


VIEW = View(key="raters", title="Rater agreement", render=render, section="Benchmarks",
            icon=":material/groups:", papers=("P4",), order=40)
