"""Small building blocks shared by views: the environment banner, a paper's build panel (a background job) and
the table and figure helpers that add download buttons (CSV; HTML, and PNG where kaleido is installed)."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import cache


def banner() -> None:
    env = cache.environment()
    st.caption(f"Profile **{env['profile']}** · device **{env['device']}** · models: {', '.join(env['models'])}")


def build_status(paper_id: str, profile: str) -> dict[str, bool]:
    """Artifact name → built? (a few file checks; read fresh on every run so a finished build shows at once)."""
    from workbench.build import build_status as status, discover

    discover()
    return status(paper_id, profile)


def _roles_file(paper_id: str) -> str | None:
    """The roles file typed into ``paper_id``'s panel, checked (an error is shown; None when it is bad)."""
    path = st.text_input("Roles file (optional TOML: role = \"model\")", key=f"roles-{paper_id}").strip()
    if path:
        from workbench import WorkbenchError
        from workbench.profiles import load_roles

        try:
            load_roles(path)
        except (WorkbenchError, OSError) as exc:
            st.error(f"Roles file: {exc}")
            return None
        return str(Path(path).resolve())        # the build runs from the repository root
    return path


def job_progress(job) -> None:
    """A job's status line, progress bar and the last lines of its log."""
    from workbench import jobs

    shown = jobs.progress(job)
    minutes, seconds = divmod(int(job.elapsed()), 60)
    when = f"{minutes} min {seconds:02d} s"
    if job.active:
        st.progress(shown.fraction or 0.0, text=f"{job.paper} building ({when}): {shown.message[:100] or 'starting…'}")
    elif job.status == jobs.DONE:
        st.caption(f"{job.paper}: the last build finished in {when}.")
    else:
        st.error(f"{job.paper}: the last build {job.status} after {when}"
                 + (f" (exit status {job.returncode})" if job.returncode is not None else "")
                 + (f": {shown.message[:200]}" if shown.message else "") + f". Log: `{job.log}`")
    if shown.tail:
        with st.expander("Build log (last lines)"):
            st.code("\n".join(shown.tail), language=None)


def build_panel(paper_id: str, *, smoke: bool = False, roles: bool = False) -> bool:
    """Show whether ``paper_id``'s artifacts are built; offer a button that starts the build as a background job
    (``workbench.jobs``: it goes on when the page is left or reloaded; Home lists it), then its progress and a
    cancel button (with ``roles``, an optional roles file path: TOML role → model, as ``workbench build --roles``).

    Returns True when every artifact is built.
    """
    from workbench import jobs
    from workbench.profiles import active_profile

    profile = active_profile()
    status = build_status(paper_id, profile.name)
    if not status:
        st.info(f"No artifact builder is registered for {paper_id} yet.")
        return False
    job = jobs.get(paper_id)
    if job is not None and job.active:
        _running_job(paper_id)
        return False
    missing = [name for name, ok in status.items() if not ok]
    if not missing:
        st.success(f"{paper_id} artifacts are built on the {profile.name} profile: {', '.join(status)}.")
        return True
    st.warning(f"Not built yet on the {profile.name} profile: {', '.join(missing)}.")
    if job is not None and job.status != jobs.DONE:
        job_progress(job)
    roles_file = _roles_file(paper_id) if roles else ""
    if st.button(f"Build {paper_id} artifacts", key=f"build-{paper_id}", disabled=roles_file is None):
        from workbench import WorkbenchError
        from workbench.paths import REPO_ROOT

        try:
            jobs.start(paper_id, jobs.build_command(paper_id, profile=profile.name, smoke=smoke,
                                                    roles=roles_file or None), cwd=REPO_ROOT)
        except WorkbenchError as exc:
            st.error(str(exc))
            return False
        st.rerun()
    return False


@st.fragment(run_every=2)
def _running_job(paper_id: str) -> None:
    """A running job's progress and cancel button, refreshed every 2 s; the whole page reruns when it ends."""
    from workbench import jobs

    job = jobs.get(paper_id)
    if job is None or not job.active:
        st.rerun(scope="app")
    job_progress(job)
    if st.button(f"Cancel the {paper_id} build", key=f"cancel-{paper_id}", icon=":material/cancel:"):
        jobs.cancel(paper_id)
        st.rerun(scope="app")


def built_artifact(paper_id: str, name: str, *, records: bool = False, hint: str = "", roles: bool = False):
    """The build panel of ``paper_id`` (``roles``: with a roles-file input), then artifact ``name`` of the active
    profile and its meta; when it is not built yet, (None, None) after a caption with ``hint`` (how to make the same
    from the command line)."""
    build_panel(paper_id, roles=roles)
    profile = cache.environment()["profile"]
    reader = cache.artifact_records if records else cache.artifact_frame
    data, meta = reader(paper_id, name, profile)
    if data is None:
        st.caption("Build the artifacts above" + (f"; {hint}" if hint else "."))
    return data, meta


def _download(label: str, data, file_name: str, mime: str) -> None:
    """A download button whose file name is unique on the page (``name``, ``name-2``, … where a page shows two
    of the same name); ``data`` is a callable, run only when the button is pressed."""
    from streamlit.errors import StreamlitDuplicateElementId

    stem, dot, ext = file_name.rpartition(".")
    for n in range(1, 100):
        try:
            st.download_button(label, data, file_name=file_name if n == 1 else f"{stem}-{n}{dot}{ext}", mime=mime,
                               on_click="ignore", type="tertiary", icon=":material/download:")
            return
        except StreamlitDuplicateElementId:
            continue


def _slug(text: str, default: str) -> str:
    import re

    text = re.sub(r"<[^>]+>", " ", text or "")                  # plotly titles may hold <br>, <sub>…
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or default


def show_table(data, name: str = "table", **kwargs):
    """``st.dataframe(data, **kwargs)`` with a button that downloads the same table as ``<name>.csv`` (the index
    kept unless ``hide_index``); returns what ``st.dataframe`` returns (a selection with ``on_select``)."""
    import pandas as pd

    frame = getattr(data, "data", data)                          # a Styler's frame
    frame = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
    shown = st.dataframe(data, **kwargs)
    _download("CSV", lambda: frame.to_csv(index=not kwargs.get("hide_index", False)).encode(),
              f"{_slug(name, 'table')}.csv", "text/csv")
    return shown


def show_figure(fig, name: str | None = None, **kwargs) -> None:
    """``st.plotly_chart`` (full width unless ``width`` is given) with buttons that download the figure as a
    self-contained HTML file (plotly.js inside: it opens offline) and, where kaleido is installed, as PNG."""
    import importlib.util

    st.plotly_chart(fig, **{"width": "stretch", **kwargs})
    title = fig.layout.title.text if fig.layout.title is not None else ""
    stem = _slug(name or title, "figure")
    _download("HTML", lambda: fig.to_html(include_plotlyjs=True, full_html=True).encode(), f"{stem}.html",
              "text/html")
    if importlib.util.find_spec("kaleido") is not None:
        _download("PNG", lambda: fig.to_image(format="png", scale=2), f"{stem}.png", "image/png")


def chart(fig, meta, name: str | None = None) -> None:
    """A figure stamped with the profile, models and (where its config names them) data of the artifact ``meta``
    it was drawn from, full width, with its downloads."""
    from workbench.viz import stamp

    data = (meta.config or {}).get("data")
    stamp(fig, meta.profile, meta.models, data=data if isinstance(data, str) else "")
    show_figure(fig, name)
