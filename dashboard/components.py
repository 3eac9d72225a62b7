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


def build_panel(paper_id: str, *, smoke: bool = False, roles: bool = False) -> bool:
    """Show whether ``paper_id``'s artifacts are built; offer a button that builds them with a progress bar (with
    ``roles``, an optional roles file path: TOML role → model, as ``workbench build --roles``).

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
    roles_file = st.text_input("Roles file (optional TOML: role = \"model\")", key=f"roles-{paper_id}") \
        if roles else ""
    if st.button(f"Build {paper_id} artifacts", key=f"build-{paper_id}"):
        bar = st.progress(0.0, text="starting…")
        try:
            if roles_file.strip():
                from workbench.profiles import load_roles

                profile = profile.with_roles(load_roles(roles_file.strip()))
            build_paper(paper_id, BuildContext(ArtifactStore(), profile, smoke=smoke,
                                               progress=lambda f, m: bar.progress(min(f, 1.0), text=m)))
        except Exception as exc:  # show the reason, keep the app alive
            st.error(f"Build failed: {exc}")
            return False
        st.rerun()
    return False


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


def chart(fig, meta) -> None:
    """A figure stamped with the profile, models and (where its config names them) data of the artifact ``meta``
    it was drawn from, full width."""
    from workbench.viz import stamp

    data = (meta.config or {}).get("data")
    stamp(fig, meta.profile, meta.models, data=data if isinstance(data, str) else "")
    st.plotly_chart(fig, width="stretch")

