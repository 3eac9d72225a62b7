"""Rater agreement (P4): LLM safety raters against the human panel (ICC with CIs), their demographic sensitivity
with personas beside the human raters', and the δ × τ threshold surface."""
from __future__ import annotations

import streamlit as st

from dashboard import cache
from dashboard.components import built_artifact, show_figure, show_table
from dashboard.registry import View


def render() -> None:
    import pandas as pd

    from workbench.papers import get_paper
    from workbench.viz import stamp
    from workbench.viz.evaluation import fairness_figure, group_share_figure, icc_figure, sweep_figure

    st.title("Rater agreement")
    st.markdown("LLMs rate each DICES conversation's safety zero-shot (Yes = unsafe / No / Unsure, read from token "
                "likelihoods), plainly and as demographic personas (one rater attribute at a time). Agreement is "
                "the ICC between the model's score and the human panel's mean; DS, as the paper reports it, is the "
                "average over the rater attributes of the largest gap in unsafe rate between one attribute's "
                "personas, shown with the maximum beside it — formulas are ours (SPECS.md).")
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
        show_figure(fig, width="stretch")
    table = pd.DataFrame([{"model": r["model"], "items": r["n_items"],
                           "ICC(2,1)": _ci(r, "ICC2"), "ICC(3,1)": _ci(r, "ICC3"),
                           "ρ": None if r.get("rho") is None else round(r["rho"], 3),
                           "accuracy vs majority": r.get("accuracy_vs_majority"),
                           "DS (personas, average)": (r.get("fairness") or {}).get("ds"),
                           "DS max": (r.get("fairness") or {}).get("ds_max")} for r in records])
    show_table(table, hide_index=True, width="stretch")

    groups = {f"{r['model']} personas": r["fairness"] for r in records if r.get("fairness")}
    if meta.extra.get("human"):
        groups["human raters"] = meta.extra["human"]
    if groups:
        metric = st.segmented_control("Fairness metric", ["dpd", "eod"], default="dpd", key="raters-metric") or "dpd"
        fig = fairness_figure(groups, metric)
        stamp(fig, meta.profile, meta.models)
        show_figure(fig, width="stretch")
        p4 = get_paper("P4")
        ds, icc = p4.number("demographic sensitivity DS").value, p4.number("ICC (best rater)").value
        st.caption(f"The paper reports DS = {ds:g} on average and ICC {icc:g} for its best rater (GPT-4o).")
        human = meta.extra.get("human") or {}
        if human.get("ds") is not None:
            st.caption(f"Human raters by their own demographics: DS {human['ds']:.3f} (average), "
                       f"max {human.get('ds_max', float('nan')):.3f}.")

    shares = meta.extra.get("groups") or []
    if shares:
        st.subheader("Rating shares per demographic group")
        attributes = sorted({g["attribute"] for g in shares}, key=lambda a: (a != "rater_gender", a))
        attribute = st.selectbox("Attribute", attributes, key="raters-attribute",
                                 format_func=lambda a: a.replace("rater_", "")) or attributes[0]
        fig = group_share_figure(shares, attribute)
        stamp(fig, meta.profile, meta.models)
        show_figure(fig, width="stretch")
        show_table(pd.DataFrame([g for g in shares if g["attribute"] == attribute]).drop(columns="attribute"),
                     hide_index=True, width="stretch")
    else:
        st.info("This build has no per-group rating shares: rebuild P4 (`workbench build P4`).")

    sweep, _ = cache.artifact_frame("P4", "rater_sweep", meta.profile)
    if sweep is not None:
        fig = sweep_figure(sweep)
        stamp(fig, meta.profile, meta.models)
        show_figure(fig, width="stretch")
        st.caption(f"ICC(2,1) of {meta.config.get('sweep_rater')} over the items kept at each (δ, τ): an item is kept "
                   "when its best safety-domain probability is at least δ and it is not a SimHash near-duplicate "
                   "(distance ≤ τ) of an earlier item. Empty cells: fewer than 3 items.")
        from workbench.evaluation.raters import selected_setting

        chosen = selected_setting(sweep)
        rule = meta.config.get("sweep_rule", "")
        if chosen is not None:
            test = chosen["icc2_test"]
            st.markdown(f"**Selected:** δ {chosen['delta']:g}, τ {chosen['tau']:g} — ICC(2,1) "
                        f"{chosen['icc2_dev']:.3f} on {int(chosen['n_dev'])} dev conversations, "
                        + ("undefined" if test != test else f"{test:.3f}")
                        + f" on {int(chosen['n_test'])} held-out ones. Rule: {rule}.")
        elif "selected" in sweep.columns:
            st.info(f"No (δ, τ) setting was eligible on the dev conversations (rule: {rule}).")
        else:
            st.info("This sweep was built before the dev/test selection: rebuild P4 to see the selected setting.")
    if meta.extra.get("skipped"):
        st.warning(f"Skipped: {meta.extra['skipped']}")


def _ci(record: dict, form: str) -> str | None:
    icc = (record.get("icc") or {}).get(form)
    if not icc:
        return None
    return f"{icc['icc']:.3f} [{icc['ci_low']:.3f}, {icc['ci_high']:.3f}]"


VIEW = View(key="raters", title="Rater agreement", render=render, section="Benchmarks",
            icon=":material/groups:", papers=("P4",), order=40)
