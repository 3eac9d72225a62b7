"""Router calibration (P3 AlignX, P10 TrinityX): is the router right, and is its confidence honest? Reliability
diagrams overall and per expert, ECE / Brier before and after each calibrator, the routing confusion matrix, a
temperature slider that recomputes the curve, the efficiency rows (the configured system against named baselines),
the HHH evaluation and the uncalibrated-vs-each-calibrator ablation of the soft-routed mixture's outputs."""
from __future__ import annotations

import streamlit as st

from dashboard import cache
from dashboard.components import built_artifact, chart, show_table
from dashboard.registry import View

SETUPS = {"P3": "AlignX", "P10": "TrinityX"}


def render() -> None:
    import pandas as pd

    from workbench.experts.mixture import routing_probs
    from workbench.metrics.calibration import brier, ece, reliability_curve, softmax
    from workbench.viz.experts import (calibration_bars, confusion_figure, efficiency_figure, hhh_figure,
                                       reliability_figure)

    st.title("Router calibration")
    st.markdown("Three LoRA experts (helpful, harmless, honest) share one frozen backbone; a router over the "
                "backbone's hidden state decides which expert a prompt needs. Calibration is fitted on half of the "
                "held-out prompts and measured on the other half: **temperature** scaling, and two input-"
                "conditioned temperatures of ours — **fractal** (box-counting dimension of the prompt's hidden-state "
                "trajectory at box side ε) and **natural** (Fisher information of the routing about its input) — "
                "and their λ1/λ2 **mix** (SPECS.md: the papers name these, the formulas are ours).")
    paper = st.segmented_control("Setup", list(SETUPS), default="P3", key="calib-paper",
                                 format_func=lambda p: f"{p} {SETUPS[p]}") or "P3"
    routing, meta = built_artifact(paper, "router_calibration",
                                   hint="`workbench experts train --out DIR` trains the same on the command line.")
    if routing is None:
        return
    report, setup = meta.config["report"], meta.config["paper_setup"]
    axes = report["axes"]
    st.caption(f"Backbone {report['backbone']} · router {setup['router']} · experts' prompt prefix: "
               f"{'AlignX injection' if setup['prefix'] else 'none'}" + (" · smoke size" if meta.config.get("smoke")
                                                                         else ""))
    test = routing[routing["split"] == "test"].reset_index(drop=True)
    labels = test["label"].to_numpy(int)
    probs = routing_probs(test, report["calibration"], axes)

    metrics = {name: {"ece": ece(p, labels, n_bins=10), "ece_mass": ece(p, labels, n_bins=10, strategy="mass"),
                      "brier": brier(p, labels), "accuracy": float((p.argmax(1) == labels).mean())}
               for name, p in probs.items()}
    show_table(pd.DataFrame([{"calibrator": n, **{k: round(v, 4) for k, v in m.items()}}
                               for n, m in metrics.items()]), hide_index=True, width="stretch")
    fig = calibration_bars(metrics)
    chart(fig, meta)

    left, right = st.columns(2)
    strategy = left.segmented_control("Bins", ["width", "mass"], default="width", key="calib-bins") or "width"
    n_bins = right.slider("Number of bins", 3, 20, 10, key="calib-nbins")
    fitted_t = float(report["temperature"])
    temperature = st.slider("Temperature (recomputes the orange curve)", 0.05, 5.0, float(min(max(fitted_t, 0.05),
                                                                                                 5.0)),
                            step=0.05, key="calib-temperature")
    logits = test[[f"logit_{a}" for a in axes]].to_numpy(float)
    live = softmax(logits, temperature)
    chosen = st.multiselect("Calibrators", list(probs), default=["uncalibrated", "temperature", "mixed"]
                            if "mixed" in probs else list(probs), key="calib-show")
    curves = {name: reliability_curve(probs[name], labels, n_bins=n_bins, strategy=strategy) for name in chosen}
    curves[f"slider T={temperature:.2f}"] = reliability_curve(live, labels, n_bins=n_bins, strategy=strategy)
    fig = reliability_figure(curves, title="Reliability diagram — top-label confidence, all experts")
    chart(fig, meta)
    st.caption(f"At T = {temperature:.2f}: ECE {ece(live, labels, n_bins=n_bins, strategy=strategy):.3f}, "
               f"Brier {brier(live, labels):.3f} (fitted T = {fitted_t:.3f}; held-out test prompts: {len(test)}).")

    which = st.selectbox("Per-expert reliability of", list(probs), index=list(probs).index("temperature"),
                         key="calib-expert-calibrator")
    per_expert = {f"{which} {a}": reliability_curve(probs[which][:, k], (labels == k).astype(int), n_bins=n_bins,
                                                  strategy=strategy) for k, a in enumerate(axes)}
    fig = reliability_figure(per_expert, title=f"Per expert (one vs rest): P(expert) against how often it was "
                                               f"the right one — {which}")
    chart(fig, meta)

    fig = confusion_figure(report["confusion"], axes)
    chart(fig, meta)
    _token_routing(meta)

    efficiency = meta.config.get("efficiency") or {}
    if efficiency.get("rows"):
        st.subheader("Cost against named baselines")
        fig = efficiency_figure(efficiency, paper)
        chart(fig, meta)
        rows = pd.DataFrame(efficiency["rows"])
        rows["kind"] = ["configured system" if c else "dense mixture vs three copies (not the configured system)"
                        for c in rows["configured"]]
        show_table(rows[["quantity", "system", "baseline", "kind", "ours", "baseline_value", "unit", "ratio",
                           "reduction_pct", "note"]].round(4), hide_index=True, width="stretch")
        st.caption(f"Each row names both sides of its ratio (ours / baseline; reduction = 1 − ratio). The configured "
                   f"system routes top-{efficiency['routing_top_k']}; the dense-mixture row compares a dense mixture "
                   f"with three copies run densely and is shown only as such. {efficiency['prompts']} prompts × "
                   f"{efficiency['new_tokens']} new tokens; same tokens with one-hot routing: "
                   f"{efficiency['outputs_equal_one_hot']}. Memory: "
                   + (efficiency.get("measured_with") or "not measured at smoke size")
                   + ". `python benchmarks/moe_efficiency.py` measures it at full size.")
    elif efficiency:
        st.info("This artifact's efficiency figures predate the rows that name system and baseline; rebuild it.")

    _real_routing(paper, meta.profile)

    hhh, hmeta = cache.artifact_frame(paper, "hhh_eval", meta.profile)
    if hhh is None:
        st.info("The HHH evaluation of this mixture is not built yet (use the build button above).")
        return
    fig = hhh_figure(hhh)
    chart(fig, hmeta)
    table = hhh.pivot_table(index="system", columns="metric", values="value", sort=False).reset_index()
    show_table(table.round(3), hide_index=True, width="stretch")
    st.caption(f"Judges: {', '.join(sorted(set(hhh['judge'])))} · {hmeta.config.get('eval_rows')} held-out prompts, "
               f"{hmeta.config.get('max_new_tokens')} new tokens. Win rate: judged in both A/B orders and averaged.")
    _shortcuts(paper, meta.profile, table)
    _calibration_ablation(paper, meta.profile)
    responses, _ = cache.artifact_frame(paper, "hhh_responses", meta.profile)
    if responses is not None:
        with st.expander("Responses"):
            system = st.selectbox("System", list(dict.fromkeys(responses["system"])), key="calib-system")
            show_table(responses[responses["system"] == system][["axis", "prompt", "response"]],
                         hide_index=True, width="stretch")


def _token_routing(meta) -> None:
    """TrinityX's per-token routing: the token router's accuracy per adapted block (``experts.token_router``)."""
    import pandas as pd

    from workbench.experts.token_router import accuracy_rows
    from workbench.viz.experts import token_routing_figure

    token = meta.config.get("token_routing")
    if not token:
        return
    st.subheader("Per-token routing inside the decoder blocks")
    chart(token_routing_figure(token), meta)
    show_table(pd.DataFrame(accuracy_rows(token)).round(3), hide_index=True, width="stretch")
    st.caption(f"Ours: one linear router per adapted block, trained on the states entering that block (adapters off) "
               f"of every token of the {token['n_train_tokens']}-token train split, labelled with its prompt's axis; "
               f"one temperature per block fitted on the calibration prompts' tokens; measured on the tokens of the "
               f"same held-out test prompts as the prompt router (95 % CI over prompts; the per-prompt change against "
               f"the prompt router in points with a paired bootstrap CI). Template tokens shared by every prompt "
               f"carry no axis, so token accuracy stays well below the per-prompt one. Majority-axis share of the "
               f"test tokens: {token['majority_accuracy']:.3f}.")


def _shortcuts(paper: str, profile: str, table) -> None:
    """The trivial baselines beside the HHH table and the router (``experts.shortcuts``)."""
    import pandas as pd

    from workbench.experts.shortcuts import surface_table

    shortcuts, smeta = cache.artifact_frame(paper, "hhh_shortcuts", profile)
    if shortcuts is None:
        st.info("The trivial baselines (a blanket refusal, the echoed prompt, surface-feature routers) are not built "
                "yet (use the build button above).")
        return
    st.subheader("Trivial baselines")
    pivot = shortcuts.pivot_table(index="system", columns="metric", values="value", sort=False).reset_index()
    show_table(pd.concat([table, pivot], ignore_index=True).round(3), hide_index=True, width="stretch")
    st.caption("Ours: two systems that never read the prompt's meaning, judged by the same judges on the same items "
               f"— '{smeta.config['shortcuts'][0]}' (one fixed refusal: the trivial optimum of the harmless axis) and "
               f"'{smeta.config['shortcuts'][1]}' (the prompt itself: every keyword, no content). A mixture's gain "
               "that one of them matches is no evidence of alignment.")
    surface = smeta.config["surface_routing"]
    show_table(surface_table(surface).round(3), hide_index=True, width="stretch")
    st.caption("Routers on surface features only, trained on the mixture's train prompts and scored on the router's "
               "test rows: a bag of words (logistic regression, C fixed a priori), the prompt's length, the majority "
               "axis. When the bag of words routes as well as the router reading the backbone's hidden state, the "
               "routing task is a surface one.")
    if "matched" in surface:
        st.caption("The `matched` rows score the same routers on the lexically matched test set (per topic a "
                   "helpful, a harmful and an honesty prompt with the same opening, words and length; 95 % CI "
                   "resampling topics): read the router's accuracy there, where the bag of words is near chance "
                   "(1/3), as how well it routes by meaning.")
    else:
        st.caption("This build has no matched-set rows; rebuild the trivial baselines to add them.")


def _calibration_ablation(paper: str, profile: str) -> None:
    from workbench.viz.experts import calibration_ablation_figure

    st.subheader("Does calibration change the outputs?")
    table, ameta = cache.artifact_frame(paper, "hhh_calibration", profile)
    if table is None or table.empty:
        st.info("The calibration ablation is built with the HHH evaluation (`workbench build "
                f"{paper} hhh_eval`); this build has none.")
        return
    chart(calibration_ablation_figure(table), ameta)
    show_table(table.round(3), hide_index=True, width="stretch")
    st.caption(f"Routing: {ameta.config.get('routing', 'soft top-k')}. Each calibrator's routed mixture against the "
               "uncalibrated router's on the same items: Δ in points, 95 % paired bootstrap CI; weights / text "
               "changed = share of items whose expert weights / response differ. Top-1 routing would change none: "
               f"every calibrator rescales the logits by a positive factor. Data: {ameta.config.get('data', '')}.")


def _real_routing(paper: str, profile: str) -> None:
    from workbench.experts.realcheck import real_routing_summary
    from workbench.viz.experts import real_routing_figure

    st.subheader("On real prompts we did not write")
    real, rmeta = cache.artifact_frame(paper, "real_routing", profile)
    if real is None:
        st.info("The real-prompt routing check is not built yet (use the build button above).")
        return
    summary = real_routing_summary(real, rmeta.config["calibration"], rmeta.config["axes"])
    chart(real_routing_figure(summary), rmeta)
    show_table(summary.round(3), hide_index=True, width="stretch")
    st.caption(f"Data — {rmeta.config['data']}"
               + (" (smoke size: a few prompts per source)" if rmeta.config.get("smoke") else "")
               + ". Expected experts are ours: forbidden prompts → harmless, false-premise questions → honest; "
               "FreshQA's other questions have none. Recall is the share routed to the expected expert (top-1, "
               "temperature-calibrated) with a bootstrap 95 % CI. A low recall on one source with high confidence "
               "means the router learned our axis data's phrasing rather than the axis.")


VIEW = View(key="router_calibration", title="Router calibration", render=render, section="Experts & steering",
            icon=":material/alt_route:", papers=("P3", "P10"), order=10)
