"""Evaluating a trained ConLLM pipeline (P6) on a dataset frame: every stage's EER, AUC and accuracy, with and
without the reasoning stage, on the same rows.

Used by the deepfake CLI (``deepfake eval``), the P6 builder (``deepfake_eval``) and the P6 notebook.
"""
from __future__ import annotations

import numpy as np

from workbench.deepfake.inputs import measure_cues, row_labels
from workbench.deepfake.model import DeepfakeModel, load_reasoner

BOOTSTRAP = 1000        # resamples for the EER and accuracy CIs of the pipeline-level stages (rows resampled)


def evaluate(model: DeepfakeModel, frame, *, reasoning: bool = True, lm=None, rationale_tokens: int = 0,
             soft_prompt="auto", progress=None):
    """Score every row and report each stage: (per-row frame, report dict).

    The report has one entry per stage that has scores for both classes — each detector on its own rows, the
    pipeline's detector score ("detector (pipeline)"), (with ``reasoning``) the reasoning stage's score
    log P(real) − log P(fake) over the scores written as text ("detector + reasoning") and, given a
    ``soft_prompt`` stage (``deepfake.soft_prompt``; "auto": the one saved beside the model for the reasoning LM,
    when there is one), the LLM reading the aligned embeddings as soft tokens ("LLM over embeddings") — each with
    EER (and its threshold), AUC, accuracy at the stage's own threshold, and their 95 % bootstrap CIs, so "does
    the LLM stage change accuracy?" is answered on the same rows. Columns of the LLM-over-embeddings stage:
    ``soft_score``, ``soft_threshold``, ``soft_verdict`` (and ``soft_rationale`` with ``rationale_tokens``)."""

    report = progress or (lambda f, m: None)
    frame = frame.reset_index(drop=True).copy()
    emb = model.embed(frame, progress=lambda f, m: report(0.4 * f, m))
    cues = measure_cues(frame, lip_sync=model.config.lip_sync, progress=lambda f, m: report(0.4 + 0.2 * f, m))
    for name in ("spectral_flatness", "sync_correlation", "sync_offset_s"):
        frame[name] = [np.nan if c[name] is None else c[name] for c in cues]
    scores = model.score_embeddings(emb, cues)
    for k, v in scores.items():
        frame[k] = v
    final, thr = model.detector_score(scores)
    frame["score"], frame["threshold"] = final, thr
    frame["detector_verdict"] = np.where(final > thr, "real", "fake")
    if reasoning:
        from workbench.deepfake.reasoning import reason

        lm = lm or load_reasoner(model.meta["profile"])
        evidence = [model.evidence(scores, cues, i) for i in range(len(frame))]
        results = []
        for start in range(0, len(evidence), 16):
            results += reason(lm, evidence[start:start + 16], rationale_tokens=rationale_tokens,
                              threshold=model.reasoning_threshold)
            report(0.6 + 0.4 * min(1.0, (start + 16) / len(evidence)), f"reasoning {len(results)}/{len(evidence)}")
        frame["reasoning_score"] = [r["score"] for r in results]
        frame["p_real"] = [r["p_real"] for r in results]
        frame["verdict"] = [r["verdict"] for r in results]
        frame["rationale"] = [r["rationale"] for r in results]
    stage = _soft_stage(model, soft_prompt, lm if reasoning else None)
    if stage is not None:
        from workbench.deepfake.soft_prompt import aligned_features

        report(0.95, "LLM over embeddings")
        x, _ = aligned_features(model, emb, cues)
        soft = stage.scores(x)
        frame["soft_score"], frame["soft_threshold"] = soft, stage.threshold
        frame["soft_verdict"] = np.where(soft > stage.threshold, "real", "fake")
        if rationale_tokens > 0:
            frame["soft_rationale"] = stage.rationales(x, list(frame["soft_verdict"]),
                                                       max_new_tokens=min(rationale_tokens, 32))
    stages = stage_reports(model, frame, reasoning=reasoning)
    report(1.0, "done")
    names = model.models + ([lm.name] if reasoning else [])
    names += [stage.lm.name] if stage is not None and stage.lm.name not in names else []
    return frame, {"stages": stages, "rows": int(len(frame)), "profile": model.meta["profile"],
                   "models": names, "model_folder": str(model.folder)}


def _soft_stage(model: DeepfakeModel, soft_prompt, lm):
    """The LLM-over-embeddings stage to run: the one given (checked against ``model``); for "auto", the one saved
    beside the model for ``lm`` (the reasoning LM; None without the LLM stages or when none is saved); or None."""
    from workbench.deepfake.soft_prompt import saved_stage

    if soft_prompt is None or soft_prompt is False or (soft_prompt == "auto" and lm is None):
        return None
    if soft_prompt != "auto":
        soft_prompt.check_model(model.folder)
        return soft_prompt
    return saved_stage(model, lm)


def stage_reports(model: DeepfakeModel, frame, *, reasoning: bool = True) -> dict:
    """Each stage's EER / AUC / accuracy on the scored rows of ``frame`` (``evaluate``'s per-row frame or a subset
    of it, such as the seen- or unseen-attack rows); a stage needs both classes on its rows."""
    from workbench.metrics.eer import detection_report

    frame = frame.reset_index(drop=True)
    stages = {}
    y = frame["y"].to_numpy()
    for stream in model.detectors:
        s = frame[f"score_{stream}"].to_numpy()
        labels = row_labels(frame, f"{stream}_y") if stream != "audiovisual" else y
        ok = ~np.isnan(s)
        if ok.any() and len(set(labels[ok])) == 2:
            stages[f"{stream} detector"] = {**detection_report(s[ok], labels[ok],
                                                                threshold=model.thresholds[stream],
                                                                bootstrap=BOOTSTRAP),
                                            "labels": f"{stream}_y" if stream != "audiovisual" else "y"}
    final, thr = frame["score"].to_numpy(float), frame["threshold"].to_numpy(float)
    ok = ~np.isnan(final)
    if ok.any() and len(set(y[ok])) == 2:
        stages["detector (pipeline)"] = {**_report_varying(final[ok], y[ok], thr[ok]), "labels": "y"}
        if reasoning and "reasoning_score" in frame:
            stages["detector + reasoning"] = {**detection_report(frame["reasoning_score"].to_numpy()[ok], y[ok],
                                                                 threshold=model.reasoning_threshold,
                                                                 bootstrap=BOOTSTRAP), "labels": "y"}
        if "soft_score" in frame:
            from workbench.deepfake.soft_prompt import STAGE

            stages[STAGE] = {**detection_report(frame["soft_score"].to_numpy(float)[ok], y[ok],
                                                threshold=float(frame["soft_threshold"].iloc[0]),
                                                bootstrap=BOOTSTRAP), "labels": "y"}
    return stages


def _report_varying(scores, y, thresholds) -> dict:
    """``detection_report`` where each row may have its own threshold (the stream it was scored by)."""
    from workbench.metrics.eer import bootstrap_ci, detection_report

    rep = detection_report(scores, y)
    rep["accuracy"] = float(((scores > thresholds).astype(int) == y).mean())
    rep["threshold"] = "per stream"
    return {**rep, **bootstrap_ci(scores, y, thresholds, n=BOOTSTRAP)}


__all__ = ["evaluate", "stage_reports"]
