"""Construction funnel (P1, P2): classified → expanded → removed by dedup → kept → responses, ours beside the
paper's, and the rejection-sampling decision log for auditing."""
from __future__ import annotations

import streamlit as st

from dashboard import cache
from dashboard.components import built_artifact, show_figure, show_table
from dashboard.registry import View


def render() -> None:
    import pandas as pd

    from workbench.viz import funnel_figure, response_funnel_figure, stamp

    st.title("Construction funnel")
    st.markdown("The dataset pipeline — classify → expand sparse domains → SimHash dedup (τ = 10) → aligned and "
                "misaligned responses with two-stage rejection sampling — run on the bundled seed prompts, beside "
                "the funnel the paper reports. On a CPU only the first few kept prompts are answered; "
                "`workbench build` answers all of them.")
    paper = st.segmented_control("Paper", ["P1", "P2"], default="P1", key="funnel-paper") or "P1"
    records, meta = built_artifact(paper, "construction_funnel", records=True, roles=True,
                                   hint=f"`workbench build {'savacu' if paper == 'P1' else 'misaligntrade'} --source "
                                        "FILE --out DIR [--roles FILE]` builds it from any prompt table.")
    if records is None:
        return
    fig = funnel_figure(records)
    stamp(fig, meta.profile, meta.models)
    show_figure(fig, width="stretch")
    show_table(pd.DataFrame(records)[["stage", "ours", "paper"]], hide_index=True, width="stretch")
    if any(r["paper"] is None for r in records):
        st.caption("The paper reports only some of these stages; the others are left empty.")

    responses = meta.extra.get("responses")
    if responses:
        st.subheader("Responses: two-stage rejection sampling")
        reported = meta.extra.get("paper_responses", {})
        cols = st.columns(4)
        cols[0].metric("prompts answered", f"{responses['responded_prompts']:,}")
        cols[1].metric("candidates generated", f"{responses['generated']:,}")
        cols[2].metric("responses accepted", f"{responses['responses']:,}")
        cols[3].metric("prompts with both sides", f"{responses['prompts_with_both_sides']:,}")
        fig = response_funnel_figure(responses["per_side"])
        stamp(fig, meta.profile, meta.models)
        show_figure(fig, width="stretch")
        if reported:
            st.caption(f"The paper keeps {reported['per_prompt']} responses per prompt "
                       f"({reported['responses']:,} in all); its stage-1/stage-2 counts are not reported. "
                       f"Ours: k = {meta.config.get('k')} candidate(s) per side, at most "
                       f"{meta.config.get('max_iterations')} critique-guided retries, "
                       f"{meta.config.get('response_tokens')} new tokens each.")
        decisions, _ = cache.artifact_frame(paper, "construction_decisions", meta.profile)
        if decisions is not None and len(decisions):
            st.markdown("**Decision log** — every judged attempt, with the judge's p(accept) and critique.")
            verdict = st.segmented_control("Show", ["all", "accepted", "rejected"], default="all",
                                           key="funnel-verdict") or "all"
            shown = decisions if verdict == "all" else decisions[decisions["verdict"] == (verdict == "accepted")]
            show_table(shown[["id", "prompt", "side", "candidate", "iteration", "verdict", "p_accept", "text",
                                "reason"]], hide_index=True, width="stretch")

    per_domain = meta.extra.get("per_domain", {})
    if per_domain:
        dim = st.selectbox("Kept prompts per domain", list(per_domain), key="funnel-dim")
        counts = pd.Series(per_domain[dim], name="prompts").sort_values(ascending=False)
        st.bar_chart(counts)
    st.caption(f"profile: {meta.profile} · models: {', '.join(meta.models)} · expansion target: "
               f"{meta.config.get('target')} · source: bundled seed prompts")


VIEW = View(key="funnel", title="Construction funnel", render=render, section="Benchmarks",
            icon=":material/filter_alt:", papers=("P1", "P2", "P4"), order=20)
