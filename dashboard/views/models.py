"""Model zoo: every registered model with its availability, and a place to try the default models."""
from __future__ import annotations

import streamlit as st

from dashboard import cache
from dashboard.components import show_figure, show_table
from dashboard.registry import View

GENERATOR = "smollm2-135m-instruct"
ENCODER = "minilm-l6"


def render() -> None:
    from workbench.viz import model_sizes_figure

    st.title("Model zoo")
    profile = st.segmented_control("Profile", ["default", "paper", "test"], default="default",
                                   key="zoo-profile") or "default"
    frame = cache.models_table(profile)
    show_table(frame[["name", "role", "size", "source", "available", "prepared", "detail"]],
                 hide_index=True, width="stretch")
    missing = frame[~frame["available"]]
    if len(missing):
        st.info(f"{len(missing)} model(s) of the {profile} profile are not on this machine. "
                "`workbench info --profile paper` and the README say how to add them to the local "
                "Hugging Face cache.")
    show_figure(model_sizes_figure(cache.models_table(None)), width="stretch")

    st.subheader("Try the default models")
    left, right = st.columns(2)
    with left:
        prompt = st.text_input("Prompt for SmolLM2-135M-Instruct", "What is the capital of France?")
        if st.button("Generate", key="generate"):
            if not prompt.strip():
                st.error("Type a prompt first.")
            else:
                st.write(cache.completion(GENERATOR, prompt.strip(), 48))
                st.caption(f"profile: default · model: {GENERATOR} · greedy decoding")
    with right:
        a = st.text_input("Sentence A", "The cat sat on the mat.")
        b = st.text_input("Sentence B", "A kitten was sitting on a rug.")
        if st.button("Compare", key="compare"):
            st.metric("Cosine similarity (MiniLM)", f"{cache.similarity(ENCODER, a, b):.3f}")
            st.caption(f"profile: default · model: {ENCODER}")


VIEW = View(key="models", title="Model zoo", render=render, icon=":material/memory:", order=10)
