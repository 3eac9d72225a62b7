"""Paper-profile readiness: for each paper, whether its paper-profile pipeline ran end to end on random-weight
models of the papers' architectures (``workbench rehearse``), and which of its models are in the local cache."""
from __future__ import annotations

import streamlit as st

from dashboard.components import show_figure, show_table
from dashboard.registry import View


def render() -> None:
    from workbench.rehearse import read_reports, readiness
    from workbench.viz.rehearsal import rehearsal_figure

    st.title("Paper-profile readiness")
    st.caption("A rehearsal runs each paper's `paper`-profile builders with every paper model replaced by a model "
               "of exactly its architecture with **random weights** (no download): it shows the code path works "
               "and what it costs, never what the models score.")
    reports = read_reports()
    if not reports:
        st.info("No rehearsal has been run yet. Run `workbench rehearse all --size tiny --dtype bfloat16` (a CPU "
                "is enough), or `--size full` on a GPU, then reload this page.")
        st.subheader("The paper profile's models in the local cache")
        show_table(_paper_models(), name="paper models", hide_index=True, width="stretch")
        st.caption("A missing model is fetched on a machine with network access with `hf download ID` and copied "
                   "into the Hugging Face cache; `workbench models list --profile paper` says the same.")
        return
    frame = readiness(reports)
    failed = sum(r["ok"] is False for rep in reports.values() for r in rep["papers"])
    left, mid, right = st.columns(3)
    left.metric("Rehearsals", len(reports))
    mid.metric("Paper runs failed", failed)
    cached = [c for c in frame["in local cache"] if c != "—"]
    right.metric("Papers with all models cached", sum(c.split("/")[0] == c.split("/")[1] for c in cached))
    show_table(frame, hide_index=True, width="stretch")
    choice = st.selectbox("Report", [f"{size} {dtype}" for size, dtype in reports], key="rehearsal-report")
    size, dtype = choice.split(" ")
    report = reports[(size, dtype)]
    show_figure(rehearsal_figure(report), width="stretch")
    st.caption(f"report of {report['created_at']} · device {report['device']} · seed {report['seed']} · "
               "throughput counts tokens (text) or items (media) inside the stand-ins' forward passes")
    for r in report["papers"]:
        if r["error"]:
            st.error(r["error"])


def _paper_models():
    """The model zoo's paper-profile rows (``cache.models_table``): model, role, size, Hugging Face id, whether it
    is in the local cache."""
    import pandas as pd

    from dashboard import cache

    zoo = cache.models_table("paper")
    return pd.DataFrame({"model": zoo["name"], "role": zoo["role"], "size": zoo["size"],
                         "Hugging Face id": zoo["source"].str.split(":", n=1).str[1],
                         "in local cache": zoo["available"].map({True: "yes", False: "no"}),
                         "detail": zoo["detail"] + zoo["gated"].map({True: " (gated: accept the licence first)",
                                                                     False: ""})})


VIEW = View(key="readiness", title="Paper-profile readiness", render=render, icon=":material/checklist:", order=12)
