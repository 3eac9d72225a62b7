"""Small building blocks shared by views: the environment banner and a paper's build panel."""
from __future__ import annotations

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


def build_panel(paper_id: str, *, smoke: bool = False) -> bool:
    """Show whether ``paper_id``'s artifacts are built; offer a button that builds them with a progress bar.

    Returns True when every artifact is built.
    """
    from workbench.build import BuildContext, build_paper
    from workbench.io import ArtifactStore
    from workbench.profiles import active_profile

    profile = active_profile()
    status = build_status(paper_id, profile.name)
    if not status:
        st.info(f"No artifact builder is registered for {paper_id} yet.")
        return False
    missing = [name for name, ok in status.items() if not ok]
    if not missing:
        st.success(f"{paper_id} artifacts are built on the {profile.name} profile: {', '.join(status)}.")
        return True
    st.warning(f"Not built yet on the {profile.name} profile: {', '.join(missing)}.")
    if st.button(f"Build {paper_id} artifacts", key=f"build-{paper_id}"):
        bar = st.progress(0.0, text="starting…")
        try:
            build_paper(paper_id, BuildContext(ArtifactStore(), profile, smoke=smoke,
                                               progress=lambda f, m: bar.progress(min(f, 1.0), text=m)))
        except Exception as exc:  # show the reason, keep the app alive
            st.error(f"Build failed: {exc}")
            return False
        st.rerun()
    return False


def built_artifact(paper_id: str, name: str, *, records: bool = False, hint: str = ""):
    """The build panel of ``paper_id``, then artifact ``name`` of the active profile and its meta; when it is not
    built yet, (None, None) after a caption with ``hint`` (how to make the same from the command line)."""
    build_panel(paper_id)
    profile = cache.environment()["profile"]
    reader = cache.artifact_records if records else cache.artifact_frame
    data, meta = reader(paper_id, name, profile)
    if data is None:
        st.caption("Build the artifacts above" + (f"; {hint}" if hint else "."))
    return data, meta


def chart(fig, meta) -> None:
    """A figure stamped with the profile and models of the artifact ``meta`` it was drawn from, full width."""
    from workbench.viz import stamp

    stamp(fig, meta.profile, meta.models)
    st.plotly_chart(fig, width="stretch")

