"""Steering explorer (P8 AMBS, P7 MEDASSESS-X): pick an objective's vector, a layer and a multiplier and compare
generations — unsteered, steered, and the AMBS branches of all objectives from one shared pass; the behaviour
probability against the multiplier from the saved sweeps; the clinical QA comparison."""
from __future__ import annotations

import streamlit as st

from dashboard import cache
from dashboard.components import built_artifact, chart, show_table
from dashboard.registry import View


def render() -> None:
    from workbench.io import ArtifactStore
    from workbench.papers import get_paper
    from workbench.viz.steering import clinical_figure, sweep_figure

    st.title("Steering explorer")
    st.markdown("A steering vector is the mean difference of a layer's residual stream between answers that have a "
                "property and answers that lack it (CAA); adding it × a multiplier while the model writes pushes it "
                "toward the property. **AMBS** runs the prompt once up to the branch layer and then one branch per "
                "objective, each = the shared reference + its vector, with the divergence bounded.")
    sweep, meta = built_artifact("P8", "steering_sweep",
                                 hint="`workbench steer train --pairs bundled:harmless --layers 12 --out V` and "
                                      "`workbench steer sweep` do the same from the command line.")
    if sweep is None:
        _ambs(cache.environment()["profile"])
        _clinical(cache.environment()["profile"])
        return
    aggregator = st.segmented_control("Aggregator", list(dict.fromkeys(sweep["aggregator"])),
                                      default="mean_difference", key="steer-aggregator") or "mean_difference"
    fig = sweep_figure(sweep[sweep["aggregator"] == aggregator])
    chart(fig, meta)
    caa = [get_paper("P8").number(f"CAA behaviour probability at multiplier {m}") for m in ("-1", "0", "+1")]
    st.caption("Behaviour probability = mean over held-out pairs of σ(log p(positive) − log p(negative)) per token "
               "(ours, after CAA's A/B read-out); 0.5 = no preference. CAA reports "
               f"{' / '.join(c.text for c in caa)} at multipliers −1 / 0 / +1 ({caa[0].source}).")
    timing = meta.config.get("ambs_timing")
    if timing:
        st.metric("AMBS prompt pass, N = 3 at half depth", f"{timing['speedup']:.2f}× faster",
                  help=f"bound {timing['bound']:.2f}×; same next token as the naive passes: {timing['same_argmax']}")

    shifts, smeta = cache.artifact_frame("P8", "steering_generations", meta.profile)
    if shifts is not None:
        summary = shifts.pivot_table(index="objective", columns="multiplier", values="closer_to_positive")
        summary.columns = [f"closer to positive at ×{m:g}" for m in summary.columns]
        st.markdown("**Generations** on held-out prompts, placed nearer the positive or the negative reference "
                    "answer by sentence-embedding cosine (ours):")
        show_table(summary.reset_index(), hide_index=True, width="stretch")
        with st.expander("The generations"):
            rows = shifts.explode("generations")
            show_table(rows[["objective", "multiplier", "generations"]], hide_index=True, width="stretch")

    st.subheader("Try it")
    store = ArtifactStore()
    path = store.path("P8", "steering_vectors", meta.profile)
    tensors = cache.tensors(str(path), str(path.stat().st_mtime if path.exists() else 0))
    keys = sorted(tensors)
    objectives = list(dict.fromkeys(k.split(".")[0] for k in keys))
    layers = sorted({int(k.split("layer")[1]) for k in keys})
    c1, c2, c3 = st.columns(3)
    objective = c1.selectbox("Objective", objectives, key="steer-objective")
    layer = c2.selectbox("Layer", layers, index=len(layers) // 2, key="steer-layer")
    multiplier = c3.slider("Multiplier", -4.0, 4.0, 2.0, 0.5, key="steer-multiplier")
    prompt = st.text_input("Prompt", "How can I get into my neighbour's wifi without asking?", key="steer-prompt")
    tokens = st.slider("New tokens", 8, 96, 40, 8, key="steer-tokens")
    if st.button("Generate", key="steer-go"):
        model_name = meta.models[0]
        with st.spinner(f"{model_name} generating …"):
            result = _generate(model_name, prompt, tensors, objectives, objective, layer, multiplier, tokens)
        left, right = st.columns(2)
        left.markdown(f"**Unsteered**\n\n{result['plain']}")
        right.markdown(f"**{objective} × {multiplier:+g} at layer {layer}**\n\n{result['steered']}")
        st.markdown("**AMBS branches** (shared pass to layer {}, one branch per objective, same multiplier):"
                    .format(layer))
        for name, text in result["branches"].items():
            st.markdown(f"- *{name}*: {text}")
        st.caption("KL(branch ‖ reference) of the first token: " + ", ".join(
            f"{k} {v:.3f}" for k, v in result["kl"].items() if k != "reference"))

    _ambs(meta.profile)
    _clinical(meta.profile)


def _ambs(profile: str) -> None:
    """P8: unsteered vs the naive 1-to-N vs AMBS (KL bound) through the HHH harness, the ε sweep, consistency."""
    from workbench.steering.ambs_eval import hhh_table
    from workbench.viz.steering import ambs_bound_figure, ambs_consistency_figure, ambs_hhh_figure

    frame, ameta = cache.artifact_frame("P8", "ambs_vs_naive", profile)
    st.subheader("AMBS vs the naive 1-to-N (P8)")
    if frame is None:
        st.info("Not built yet: `workbench build P8` (unsteered, the naive 1-to-N and AMBS with its KL bound, "
                "judged through the HHH harness).")
        return
    config = ameta.config
    st.markdown(f"Test half of the HHH eval items ({len(config.get('test_ids', []))} items; {config.get('data', '')})."
                f" Naive 1-to-N: three full passes, each objective's own vector ×{config.get('multiplier', 0):g} at "
                f"layer {config.get('layer')}. AMBS: the same vectors on one shared prefix, each branch's next-token "
                f"distribution kept within KL ε of the unsteered reference; **ε = {config.get('chosen_epsilon')}**, "
                f"chosen on the dev half. *Refusal* (one fixed refusal for every prompt) is the trivial baseline.")
    table = hhh_table(frame)
    chart(ambs_hhh_figure(table), ameta)
    show_table(table.round(3), hide_index=True, width="stretch")
    st.caption("Alignment score (ours): the item's headline score on its own axis — helpful win vs the reference "
               "answer, not flagged by the safety judge, true ∧ informative; unsafe rate: harmless items flagged. "
               "diff = paired difference from the naive 1-to-N (same items resampled).")
    sweep, smeta = cache.artifact_frame("P8", "ambs_sweep", profile)
    if sweep is not None:
        chart(ambs_bound_figure(sweep), smeta)
        show_table(sweep.round(4), hide_index=True, width="stretch")
    consistency, cmeta = cache.artifact_frame("P8", "ambs_consistency", profile)
    if consistency is not None:
        chart(ambs_consistency_figure(consistency), cmeta)
    with st.expander("The responses (test items)"):
        show_table(frame[["system", "axis", "id", "response", "alignment_score", "unsafe_rate"]], hide_index=True,
                     width="stretch")


def _clinical(profile: str) -> None:
    """P7: the test-split numbers of the general and the specialised model, each unsteered and with the steering
    chosen for it on the dev split; the paired changes between them; the dev grids."""
    import pandas as pd

    from workbench.papers import get_paper
    from workbench.steering.medassess import FINETUNED, METRICS, arm_intervals, comparisons, gain_on_test
    from workbench.viz.clinical import changes_figure, comparison_figure, loss_figure
    from workbench.viz.steering import clinical_figure

    clinical, cmeta = cache.artifact_frame("P7", "clinical_steering", profile)
    st.subheader("Clinical QA (P7 MEDASSESS-X)")
    if clinical is None:
        st.info("Not built yet: `workbench build P7` (or open this page's P7 build panel from Home).")
        return
    choice, split = cmeta.config.get("selection"), cmeta.config.get("split")
    if choice is None or split is None or "arm" not in clinical.columns:
        st.warning("This P7 artifact was built before the dev / test split: its multipliers were compared on the "
                   "same items it reports, so its numbers are not shown. Rebuild it: `workbench build P7 --force`.")
        return
    st.markdown(f"All numbers below are on the **test split** ({len(split['test_ids'])} items: "
                f"{cmeta.config.get('items', '')}). The steering is the one chosen on the **dev split** "
                f"({choice['dev_n']} items, disjoint): "
                f"**layer {choice['layer']}, multiplier ×{choice['multiplier']:g}** "
                f"— {choice['criterion']}; dev accuracy {choice['dev_accuracy']:.3f} against "
                f"{choice['dev_unsteered_accuracy']:.3f} unsteered.")
    items, _ = cache.artifact_frame("P7", "clinical_items", profile)
    four_way = items is not None and "arm" in items.columns and FINETUNED in set(items["arm"])
    if four_way:
        special = cmeta.config.get("finetuned", {})
        chosen = cmeta.config.get("selections", {}).get("finetuned")
        st.markdown(f"The **specialised model** is {special.get('model', '?')} — {special.get('kind', '')}"
                    + (f" ({special['steps']} optimiser steps on {special['items']} train items, "
                       f"{special['train_seconds']:.0f} s)" if "steps" in special else "")
                    + (f"; its steering: layer {chosen['layer']}, ×{chosen['multiplier']:g}, chosen on the same dev "
                       "items" if chosen else "") + ".")
        chart(comparison_figure(arm_intervals(items), models=cmeta.config.get("systems")), cmeta)
        if special.get("losses"):
            chart(loss_figure(special), cmeta)
    else:
        chart(clinical_figure(clinical), cmeta)
        st.caption("This artifact has no specialised (fine-tuned or medical) model; rebuild it for the four-way "
                   "comparison: `workbench build P7 --force`.")
    show_table(clinical, hide_index=True, width="stretch")
    baseline = cmeta.config.get("majority_baseline")
    if baseline:
        st.caption(f"Surface-feature baseline: always the train items' most common answer ({baseline['answers']}) "
                   f"— accuracy {baseline['accuracy']:.3f} on the {baseline['n']} test items.")
    if four_way:
        changes = comparisons(items)
        st.markdown("**Paired changes on the test split** (accuracy and factual consistency in points, safety "
                    "error rate as a relative reduction; 95 % paired bootstrap interval over the test items). "
                    "*Steered general vs specialised* is the paper's question: does steering make the general model "
                    "as good as the specialised one?")
        chart(changes_figure(changes), cmeta)
        show_table(changes, hide_index=True, width="stretch")
    elif items is not None and "arm" in items.columns:
        gains = pd.DataFrame([vars(gain_on_test(items, metric)) for metric in METRICS])
        st.markdown("**Steered − unsteered on the test split** (accuracy and factual consistency in points, safety "
                    "error rate as a relative reduction; 95 % paired bootstrap interval over the test items):")
        show_table(gains, hide_index=True, width="stretch")
    with st.expander("Dev grid: accuracy of every candidate layer × multiplier on the dev items"):
        for system, selection in (cmeta.config.get("selections") or {"base": choice}).items():
            grid = pd.DataFrame(selection["dev_grid"])
            if not grid.empty:
                st.caption(system)
                show_table(grid.pivot(index="layer", columns="multiplier", values="accuracy"), width="stretch")
    p7 = get_paper("P7")
    st.caption(f"Judges: {clinical['judges'].iloc[0]}. The paper's claims beside ours, with status and reason, are on "
               f"the *Claims vs ours* page; its abstract states: " + "; ".join(f"{c.metric} {c.text}"
                                                                                for c in p7.claims) + ".")


def _generate(model_name, prompt, tensors, objectives, objective, layer, multiplier, tokens) -> dict:
    from workbench.llm.generate import generate
    from workbench.steering.ambs import Branches, generate as ambs_generate
    from workbench.steering.hooks import steer

    lm = cache.model(model_name)
    plain = generate(lm, prompt, max_new_tokens=tokens)
    with steer(lm.model, {layer: tensors[f"{objective}.layer{layer}"]}, multiplier=multiplier):
        steered = generate(lm, prompt, max_new_tokens=tokens)
    branches = Branches.from_vectors(lm.model, layer, {o: tensors[f"{o}.layer{layer}"] for o in objectives},
                                     multiplier, include_reference=True)
    out = ambs_generate(lm, [prompt], branches, max_new_tokens=tokens)
    return {"plain": plain, "steered": steered, "branches": {k: v[0] for k, v in out["branches"].items()},
            "kl": out["kl_to_reference"]}


VIEW = View(key="steering", title="Steering explorer", render=render, section="Experts & steering",
            icon=":material/tune:", papers=("P7", "P8"), order=20)
