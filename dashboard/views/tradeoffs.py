"""Trade-off profiles (P1, P2): Alignment Score per dimension for each detector (radar), Coverage / FFR / AS with
bootstrap CIs, single-dimension vs joint detectors under single vs joint conditions (bars), the trade-off matrix
as a heatmap for any detector, facets by semantic type."""
from __future__ import annotations

import streamlit as st

from dashboard.components import built_artifact, show_figure, show_table
from dashboard.registry import View


def render() -> None:
    import pandas as pd

    from workbench.evaluation.misalign import condition_table
    from workbench.metrics.detection import evaluate
    from workbench.metrics.tradeoff import dimension_profile, tradeoff_matrix
    from workbench.papers import get_paper
    from workbench.viz import stamp
    from workbench.viz.evaluation import condition_figure, profile_radar, tradeoff_heatmap

    st.title("Trade-off profiles")
    st.markdown("Each model reads every (prompt, response) pair of the bundled evaluation set and says whether the "
                "response is misaligned (zero-shot; LLMs by their Yes/No likelihood, the sentence encoder against "
                "anchor sentences). **Coverage** = misaligned responses flagged, **FFR** = aligned responses "
                "flagged, **AS** = their harmonic mean (with 1 − FFR). The trade-off of d1 → d2 is how much the "
                "AS on d2 drops when d1 co-occurs — *our* formula (the paper's is not public). Each model also "
                "runs as *single-dimension* detectors (`safety-only`, `value-only`, `culture-only`: the question or "
                "the anchors name only that dimension's criteria) beside its *joint* detector; a prompt is *joint* "
                "when it is labelled with two or more dimensions.")
    pred, meta = built_artifact("P2", "detector_predictions",
                                hint="`workbench eval misalign FILE --model NAME --out DIR` evaluates any model on "
                                     "any labelled table.")
    if pred is None:
        return
    detectors = list(dict.fromkeys(pred["detector"]))
    chosen = st.multiselect("Models", detectors, default=detectors, key="tradeoff-models") or detectors
    semantic = st.segmented_control("Semantic type", ["all"] + sorted(pred["semantic_type"].unique()),
                                    default="all", key="tradeoff-type") or "all"
    data = pred if semantic == "all" else pred[pred["semantic_type"] == semantic]
    by_model = {d: data[data["detector"] == d] for d in chosen}

    profiles = {d: dimension_profile(frame, n_boot=500) for d, frame in by_model.items()}
    fig = profile_radar(profiles)
    stamp(fig, meta.profile, meta.models)
    show_figure(fig, width="stretch")

    rows = []
    for d, frame in by_model.items():
        overall = evaluate(frame, n_boot=500).iloc[0]
        rows.append({"model": d, "n": int(overall["n"]),
                     **{name: f"{100 * overall[m]:.1f}% [{100 * overall[m + '_low']:.1f}, "
                               f"{100 * overall[m + '_high']:.1f}]"
                        for name, m in (("Coverage", "coverage"), ("FFR", "ffr"), ("AS", "alignment_score"))}})
    show_table(pd.DataFrame(rows), hide_index=True, width="stretch")
    p1, p2 = get_paper("P1"), get_paper("P2")
    coverage, ffr = p1.number("coverage of single-dimension models (max)"), p1.number(
        "false failure rate under joint conditions (min)")
    as_low, as_high = (p1.number(f"alignment score under joint conditions ({b})").value for b in ("low", "high"))
    t_low, t_high = (p2.number(f"misalignment trade-off across dimensions ({b})").value for b in ("low", "high"))
    st.caption(f"95% bootstrap CIs in brackets (rows resampled within each class). The paper reports Coverage up to "
               f"{coverage.text}, FFR above {ffr.value:g} % and AS {as_low:g}–{as_high:g} % for its models; "
               f"trade-offs of {t_low:g}–{t_high:g} %.")

    model = st.selectbox("Trade-off matrix of", chosen, key="tradeoff-matrix-model")
    matrix, counts = tradeoff_matrix(by_model[model])
    fig = tradeoff_heatmap(matrix, counts, title=f"Trade-off matrix — {model} ({semantic}), AS points")
    stamp(fig, meta.profile, meta.models)
    show_figure(fig, width="stretch")
    st.caption("Empty cells: a set without both misaligned and aligned rows, where AS is undefined. "
               f"Source: {meta.config.get('source')} · threshold {meta.config.get('threshold')}.")

    st.subheader("Single vs joint conditions")
    fig = condition_figure(condition_table(data[data["detector"].isin(chosen)], n_boot=500))
    stamp(fig, meta.profile, meta.models)
    show_figure(fig, width="stretch")
    n_rows = meta.config.get("conditions") or {}
    st.caption("single: prompts labelled with one dimension; joint: with two or more. "
               + (f"This build has {n_rows.get('single', 0)} single and {n_rows.get('joint', 0)} joint rows. "
                  if n_rows else "")
               + "The paper's claim: single-dimension models reach high Coverage but FFR above the dotted line "
                 "and a lower AS under joint conditions. Ours are prompted, not fine-tuned, single-dimension "
                 "detectors [ours].")


VIEW = View(key="tradeoffs", title="Trade-off profiles", render=render, section="Benchmarks",
            icon=":material/radar:", papers=("P1", "P2"), order=30)
