"""Claims vs ours: every headline claim of the ten abstracts beside our number, its status (comparable / not
comparable / not measured) and why, the profile, models and data behind it, the artifact it was read from, and a
link to the view that shows it. The rows come from ``workbench.claims`` (the same as ``workbench claims`` and the
notebooks' closing tables)."""
from __future__ import annotations

import streamlit as st

from dashboard import cache
from dashboard.components import banner, show_figure, show_table
from dashboard.registry import PAGES, View

STATUS_HELP = {
    "comparable": "the paper's quantity, on data and models that make the numbers comparable",
    "not comparable": "the paper's quantity, but on other data, another model size or another metric definition",
    "not measured": "no number of ours measures this quantity yet; the reason says what is missing",
}


def _details(row) -> None:
    st.markdown(f"**{row['paper']} — {row['metric']}**: paper **{row['claim']}**, ours **{row['ours']}** "
                f"({row['status']})")
    st.markdown(f"> {row['wording']}")
    if row["note"]:
        st.caption(f"Note on the abstract: {row['note']}")
    if row["reason"]:
        st.markdown(f"Why {row['status']}: {row['reason']}")
    if row["detail"]:
        st.caption(f"How ours is computed: {row['detail']}")
    if row["shortcut"]:
        st.markdown(f"Shortcut baseline on the same split: {row['shortcut']}")
    st.caption(f"Profile {row['profile']} · models: {row['models'] or '—'} · data: {row['data'] or '—'} · "
               f"artifact: `{row['artifact'] or '—'}`")
    page = PAGES.get(row["view"])
    if page is not None:
        st.page_link(page, label=f"Open the {page.title} view", icon=":material/dashboard:")


def render() -> None:
    from workbench.viz.figures import claims_figure

    st.title("Claims vs ours")
    banner()
    profile = cache.environment()["profile"]
    ledger = cache.claims_ledger(profile, cache.artifacts_fingerprint(profile))
    st.markdown("Each abstract's headline claims (from `data/papers.json`) beside ours, computed from the built "
                "artifacts. " + " ".join(f"**{s}**: {h}." for s, h in STATUS_HELP.items()))

    left, middle, right = st.columns([2, 2, 3])
    papers = left.multiselect("Papers", list(dict.fromkeys(ledger["paper"])), key="claims-papers")
    statuses = middle.multiselect("Status", list(STATUS_HELP), key="claims-status")
    query = right.text_input("Search metric, reason or data", key="claims-query")
    shown = ledger
    if papers:
        shown = shown[shown["paper"].isin(papers)]
    if statuses:
        shown = shown[shown["status"].isin(statuses)]
    if query:
        text = (shown["metric"] + " " + shown["reason"] + " " + shown["data"]).str.lower()
        shown = shown[text.str.contains(query.lower(), regex=False)]

    cols = st.columns(3)
    for col, status in zip(cols, STATUS_HELP):
        col.metric(status, int((shown["status"] == status).sum()))
    shown = shown.reset_index(drop=True).assign(link=["/" + v for v in shown["view"]])
    table = ["paper", "metric", "claim", "ours", "status", "reason", "shortcut", "models", "data", "artifact", "link"]
    event = show_table(shown[table], hide_index=True, width="stretch", on_select="rerun",
                         selection_mode="single-row", key="claims-table",
                         column_config={"link": st.column_config.LinkColumn("view", display_text=r"/(.*)"),
                                        "reason": st.column_config.TextColumn("why", width="large"),
                                        "shortcut": st.column_config.TextColumn("shortcut baseline")})
    rows = event.selection.rows if event is not None else []
    if rows:
        with st.container(border=True):
            _details(shown.iloc[rows[0]])
    else:
        st.caption("Select a row for the abstract's wording, the note, how ours is computed and a link to its view.")
    st.download_button("Download as CSV", shown[table + ["wording", "note", "detail"]].to_csv(index=False),
                       file_name=f"claims_{profile}.csv", mime="text/csv", key="claims-download")
    show_figure(claims_figure(ledger), key="claims-figure")


VIEW = View(key="claims", title="Claims vs ours", render=render, icon=":material/fact_check:", order=1)
