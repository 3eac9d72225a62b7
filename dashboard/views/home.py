"""Home: the build jobs, the ten papers, their views, notebooks and artifact status."""
from __future__ import annotations

import streamlit as st

from dashboard import cache
from dashboard.components import build_status, job_progress, show_table
from dashboard.registry import PAGES, View


def _links(paper) -> None:
    shown = False
    for key in paper.views:
        page = PAGES.get(key)
        if page is not None:
            st.page_link(page, label=f"{page.title} view", icon=":material/dashboard:")
            shown = True
    if not shown:
        st.caption("Dashboard views: " + (", ".join(paper.views) + " — not built yet" if paper.views else "none"))


def _job_rows(found) -> list[dict]:
    import time

    from workbench import jobs

    rows = []
    for job in found:
        shown = jobs.progress(job)
        rows.append({"paper": job.paper, "status": job.status,
                     "progress": "" if shown.fraction is None else f"{100 * shown.fraction:.0f}%",
                     "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(job.started)),
                     "minutes": round(job.elapsed() / 60, 1), "last line": shown.message[:120], "log": job.log})
    return rows


ENDED = {"done": "finished", "lost": "stopped"}     # how a queue job's end reads after "the queue"


def _queue() -> None:
    """The demo queue that ``make demo`` starts (``workbench.prepare``): how far it is, what runs now, and each
    item's status (quick passes are smoke size: their views say so)."""
    from workbench import jobs
    from workbench.prepare import QUEUE_JOB, queue_state

    items = queue_state()
    if not items:
        return
    job = jobs.get(QUEUE_JOB)
    finished = sum(i.status in ("done", "skipped", "failed") for i in items)
    running = next((i for i in items if i.status == "running"), None)
    active = job is not None and job.active
    now = (f"now: {running.name}" + (" (smoke size)" if running.phase == "quick" else "")) if running and active \
        else ("starting…" if active else f"the queue {ENDED.get(job.status, job.status) if job else 'stopped'}")
    st.progress(finished / len(items), text=f"Demo queue: {finished}/{len(items)} items finished — {now}")
    with st.expander("Demo queue: quick pass (smoke size), preparation of the default models, full builds"):
        show_table([{"item": i.name, "phase": i.phase, "status": i.status, "command": i.detail} for i in items],
                   name="demo-queue", hide_index=True, width="stretch")


@st.fragment(run_every=3)
def _jobs() -> None:
    """The demo queue and every paper's latest build job (``workbench.jobs``), refreshed every 3 s; running ones
    with a cancel button."""
    from workbench import jobs

    _queue()
    found = jobs.all_jobs()
    if not found:
        st.caption("No build has been started from the dashboard yet; each view offers a build button "
                   "(`make demo` starts every paper's build in the background).")
        return
    for job in found:
        if job.active:
            left, right = st.columns([5, 1])
            with left:
                job_progress(job)
            if right.button("Cancel", key=f"home-cancel-{job.paper}", icon=":material/cancel:"):
                jobs.cancel(job.paper)
                st.rerun()
    show_table(_job_rows(found), name="build-jobs", hide_index=True, width="stretch")


def render() -> None:
    from workbench.papers import all_papers

    st.title("Alignment & multimodal-safety workbench")
    st.markdown(
        "A reference implementation of ten recent papers on LLM alignment and multimodal safety. "
        "Each paper maps onto reusable capabilities of the `workbench` package; this dashboard reads their "
        "artifacts, and each paper has a notebook under `notebooks/`."
    )
    env = cache.environment()
    cols = st.columns(3)
    cols[0].metric("Profile", env["profile"])
    cols[1].metric("Device", env["device"])
    cols[2].metric("Models in profile", len(env["models"]))

    st.subheader("Build jobs")
    _jobs()

    st.subheader("Papers")
    for paper in all_papers():
        with st.container(border=True):
            left, right = st.columns([3, 2])
            with left:
                st.markdown(f"**{paper.id} — {paper.short_name}** · {paper.venue} · "
                            f"[arXiv {paper.arxiv}]({paper.url})")
                st.caption(paper.title)
                st.caption("Capabilities: " + ", ".join(f"`{c}`" for c in paper.capabilities))
            with right:
                status = build_status(paper.id, env["profile"])
                if not status:
                    st.markdown(":grey[Artifacts: no builder registered yet]")
                else:
                    done = sum(status.values())
                    colour = "green" if done == len(status) else "orange"
                    st.markdown(f":{colour}[Artifacts: {done}/{len(status)} built]")
                nb = f"`{paper.notebook}`" + ("" if paper.notebook_exists else " (not written yet)")
                st.markdown(f"Notebook: {nb}")
                _links(paper)


VIEW = View(key="home", title="Home", render=render, icon=":material/home:", order=0, default=True)
