"""Every ``st.cache_*`` wrapper of the dashboard, in one place.

Models are loaded only through ``st.cache_resource``; frames and small tables through ``st.cache_data``.
Views call these, never ``workbench.models.load`` directly.
"""
from __future__ import annotations

import streamlit as st


@st.cache_resource(show_spinner="Loading model…")
def model(name: str):
    """A model handle from the zoo, loaded once per server process."""
    from workbench.models import load

    return load(name)


@st.cache_data(show_spinner=False)
def models_table(profile: str | None = None):
    """The model zoo with availability, as a DataFrame."""
    import pandas as pd

    from workbench.models import availability, list_specs

    rows = []
    for spec in list_specs(profile=profile):
        state = availability(spec)
        rows.append({"name": spec.name, "role": spec.role, "profile": spec.profile, "params_m": spec.params_m,
                     "size": spec.size_label, "source": spec.source, "available": state.available,
                     "prepared": state.prepared, "detail": state.detail, "description": spec.description})
    return pd.DataFrame(rows)


@st.cache_data(show_spinner=False)
def claims_table():
    from workbench.papers import claims_frame

    return claims_frame()


@st.cache_data(show_spinner=False)
def environment() -> dict:
    """Profile, device and model names for the banner."""
    from workbench.profiles import active_profile, pick_device

    profile = active_profile()
    return {"profile": profile.name, "device": pick_device(), "models": profile.model_names()}


@st.cache_data(show_spinner=False)
def similarity(model_name: str, a: str, b: str) -> float:
    enc = model(model_name)
    vecs = enc.encode([a, b])
    return float(vecs[0] @ vecs[1])


@st.cache_data(show_spinner=False, max_entries=64)
def completion(model_name: str, prompt: str, max_new_tokens: int) -> str:
    from workbench.llm import generate

    return generate(model(model_name), prompt, max_new_tokens=max_new_tokens)


@st.cache_data(show_spinner=False)
def taxonomy_table():
    from workbench.taxonomy import taxonomy_frame

    return taxonomy_frame()


@st.cache_data(show_spinner=False, max_entries=32)
def _artifact_frame(path: str, stamp: str):
    from workbench.io import load_frame

    return load_frame(path)


@st.cache_data(show_spinner=False, max_entries=32)
def _artifact_records(path: str, stamp: str):
    from workbench.io import load_records

    return load_records(path)


def _artifact(paper: str, name: str, profile: str, loader):
    """(data, meta) of an artifact, or (None, None) when it is not built; re-read when its meta.json changes."""
    from workbench.io import ArtifactError, ArtifactStore, read_meta

    path = ArtifactStore().path(paper, name, profile)
    try:
        meta = read_meta(path)
    except ArtifactError:
        return None, None
    return loader(str(path), meta.created_at), meta


def artifact_frame(paper: str, name: str, profile: str):
    """A frame artifact and its meta, or (None, None) when it is not built."""
    return _artifact(paper, name, profile, _artifact_frame)


def artifact_records(paper: str, name: str, profile: str):
    """A records artifact and its meta, or (None, None) when it is not built."""
    return _artifact(paper, name, profile, _artifact_records)
