"""Deepfake predictions (P6 ConLLM): score an uploaded audio or video file — or a clip of the evaluation set —
with the model of the built ``deepfake_eval`` artifact (per-stream detector scores against their thresholds, the
audio–video agreement, the measured cues, the verdict and the reasoning stage's rationale), and read the held-out
evaluation: EER / AUC / accuracy per stage, DET and ROC curves, score distributions, the three pipeline-level stages
(detector head, score re-vote, LLM over embeddings) side by side on every test with CIs, a per-attack breakdown, the
checks a shortcut cannot pass (the surface-feature shortcut baseline beside every stage, the seen- and
unseen-attack tests, the audio detector on real speech), the PTM ablation (``deepfake_ptm``) and the paper's numbers
beside ours.

The reasoning stage uses the model's own reasoner (the profile's LLM); session state ``deepfake-reasoner`` may
name another causal LM of the zoo (tests use ``tiny-llama``). Uploads are written to a temporary folder under a
name derived from their content (the original suffix kept), so reruns reuse the same file.
"""
from __future__ import annotations

import math
from pathlib import Path

import streamlit as st

from dashboard import cache
from dashboard.components import built_artifact, chart, show_table
from dashboard.registry import View
from dashboard.uploads import MB, accept_upload, file_stamp, upload_input

HINT = ("`workbench deepfake train --data synthetic --out MODEL` then "
        "`workbench deepfake eval --data synthetic --model MODEL` do the same from the command line.")
PREVIEW_FRAMES = 8            # display only: frames shown of a video, their side in pixels, seconds of audio drawn
PREVIEW_SIZE = 160
PREVIEW_SECONDS = 30.0
UPLOAD_FOLDER = "workbench-deepfake-uploads"


# ------------------------------------------------------------------------------------------------ helpers


def _kinds() -> dict[str, tuple[str, ...]]:
    from workbench.media.files import AUDIO_EXTS, VIDEO_EXTS

    return {"audio": AUDIO_EXTS, "video": VIDEO_EXTS}


def handle_upload(name: str, data: bytes, limit: int) -> Path:
    """Write an uploaded file to a temporary file that keeps its suffix; the path. Refused (``WorkbenchError``,
    nothing written) when the suffix is not a supported audio/video one, when it is empty or over ``limit`` bytes.
    The file name comes from the content's hash, so the same upload maps to the same path."""
    return accept_upload(name, data, limit, _kinds(), UPLOAD_FOLDER)[0]


_stamp = file_stamp


def _fmt_pct(value) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.2f} %"


# ------------------------------------------------------------------------------------------------ Predict


def _show_media(path: Path, meta) -> bool:
    """Waveform and spectrogram, or a strip of frames; False (after an error) when the file cannot be read."""
    from workbench import WorkbenchError
    from workbench.deepfake.config import SR
    from workbench.media.features import HOP
    from workbench.viz.deepfake import spectrogram_figure, waveform_figure

    try:
        media = cache.media_preview(str(path), _stamp(path), sr=SR, hop=HOP, frames=PREVIEW_FRAMES,
                                    size=PREVIEW_SIZE, max_seconds=PREVIEW_SECONDS)
    except WorkbenchError as exc:
        st.error(str(exc))
        return False
    if media["kind"] == "audio":
        st.audio(str(path))
    else:
        st.image(list(media["frames"]), caption=[f"frame {i}" for i in media["indices"]], width=110)
        st.caption(f"{PREVIEW_FRAMES} frames sampled evenly over the clip" + (f" ({media['fps']:g} fps)"
                                                                          if media["fps"] else ""))
        if media["track"]:
            st.caption(f"No audio track shown: {media['track']}")
    if media["audio"] is not None:
        label = "Waveform" if media["kind"] == "audio" else "Audio track"
        chart(waveform_figure(media["audio"], SR, title=label), meta)
        chart(spectrogram_figure(media["mel"], SR, HOP), meta)
    return True


def _show_result(result: dict, meta) -> None:
    import pandas as pd

    from workbench.viz.deepfake import modality_figure

    p_real = result.get("p_real")
    line = f"Verdict: {result['verdict']}" + (f" — P(real) {p_real:.2f}" if p_real is not None else "")
    (st.success if result["verdict"] == "real" else st.error)(line)
    if result["verdict"] != result["detector_verdict"]:
        st.caption(f"The detectors alone said **{result['detector_verdict']}** (score {result['score']:+.2f} "
                   f"against threshold {result['threshold']:+.2f}); the reasoning stage overruled them.")
    if result.get("rationale"):
        st.markdown(f"**Rationale** ({result.get('reasoner') or 'no LLM'}):\n\n> {result['rationale']}")
    modalities = result["modalities"]
    table = pd.DataFrame([{"stream": k, "score": round(v["score"], 3), "threshold": round(v["threshold"], 3),
                           "verdict": v["verdict"]} for k, v in modalities.items()])
    show_table(table, hide_index=True, width="stretch")
    chart(modality_figure(modalities), meta)
    left, right = st.columns(2)
    agreement = result.get("agreement")
    left.metric("Audio–video agreement", "–" if agreement is None else f"{agreement:+.2f}",
                help="cosine of the audio and video projections of the audiovisual detector (1 = they match)")
    left.metric("Detector score", f"{result['score']:+.2f}", help=f"threshold {result['threshold']:+.2f}; "
                "higher = more bona fide")
    cues = result.get("cues") or {}
    if cues:
        right.markdown("**Measured cues**")
        right.dataframe(pd.DataFrame([{"cue": k, "value": round(float(v), 4)} for k, v in cues.items()]),
                        hide_index=True, width="stretch")
    st.caption(f"Produced on the **{result['profile']}** profile by {', '.join(result['models'])}"
               + (f" · reasoner {result['reasoner']}" if result.get("reasoner") else
                  " · no reasoning stage (verdict from the detector thresholds)")
               + f" · model folder `{result['model_folder']}`")


def _eval_clips(frame) -> dict[str, dict]:
    """File name → its row, for the evaluation clips whose file still exists."""
    files = frame["file"] if "file" in frame.columns else [Path(p).name for p in frame["path"]]
    out = {}
    for name, row in zip(files, frame.to_dict("records")):
        if Path(row["path"]).is_file():
            out[name if name not in out else f"{name} ({row['id']})"] = row
    return out


def _predict(frame, meta) -> None:
    from workbench import WorkbenchError
    from workbench.media.files import MAX_MEDIA_BYTES

    kinds = _kinds()
    st.markdown("Upload an audio or a video file — or pick a clip of the evaluation set — and the model of this "
                "artifact scores it: each stream's contrastive detector (higher = more bona fide) against its "
                "threshold, then, with the reasoning stage on, an LLM reads that evidence and gives the verdict "
                "with a rationale.")
    reasoning = st.checkbox("Reasoning stage (LLM)", value=True, key="deepfake-reasoning",
                            help="off: the verdict is the detectors' (faster, no LLM)")
    upload = upload_input(f"Audio ({' '.join(kinds['audio'])}) or video ({' '.join(kinds['video'])})",
                          key="deepfake-upload", kinds=kinds, limit=MAX_MEDIA_BYTES, folder_name=UPLOAD_FOLDER)
    clips = _eval_clips(frame)
    picked = st.selectbox("…or pick a clip from the evaluation set", list(clips), index=None,
                          placeholder="choose a clip" if clips else "no evaluation clip is on disk any more",
                          key="deepfake-clip",
                          format_func=lambda f: f"{f} — {'bona fide' if clips[f]['y'] == 1 else 'fake'}, "
                                                f"{clips[f]['modality']}")
    path, row = None, None
    if upload is False:
        return
    if upload is not None:
        path = upload.path
        st.caption(f"Scoring the upload **{upload.name}** ({upload.size / MB:.2f} MB).")
    elif picked is not None:
        row = clips[picked]
        path = Path(row["path"])
        attack = row.get("attack") if row.get("attack") not in (None, "-", "") else None
        st.caption(f"Evaluation clip **{picked}**: truly {'bona fide' if row['y'] == 1 else 'fake'}"
                   + (f" ({attack})" if attack else "") + f", {row['modality']}; the evaluation scored it "
                   f"{row['score']:+.2f} → {row['detector_verdict']}"
                   + (f", with reasoning → {row['verdict']}" if isinstance(row.get("verdict"), str) else "") + ".")
    if path is None:
        st.info("Upload a file or pick an evaluation clip to score it.")
        return
    if not _show_media(path, meta):
        return
    folder = Path(meta.config.get("model_folder", ""))
    if not (folder / "model.json").is_file():
        st.warning(f"The model this artifact was evaluated with is gone ({folder}). Rebuild it with "
                   f"`workbench build P6 --force` (retrains it on the synthetic corpora), or train one with "
                   f"`workbench deepfake train --data synthetic --out MODEL`.")
        return
    model_stamp = _stamp(folder / "model.json")
    try:
        model = cache.deepfake_model(str(folder), model_stamp)
        reasoner = (st.session_state.get("deepfake-reasoner") or model.meta.get("reasoner")) if reasoning else None
        lm = cache.model(reasoner) if reasoner else None
        with st.spinner("Scoring" + (f" (reasoning with {reasoner})…" if reasoner else "…")):
            result = cache.deepfake_score(str(folder), model_stamp, str(path), _stamp(path), reasoning, reasoner,
                                          model, lm)
    except WorkbenchError as exc:
        st.error(str(exc))
        return
    _show_result(result, meta)


# ------------------------------------------------------------------------------------------------ Evaluation


def _metrics_table(report: dict):
    import pandas as pd

    rows = []
    for stage, r in report.items():
        threshold = r.get("threshold")
        rows.append({"stage": stage, "EER": _fmt_pct(r.get("eer")),
                     "EER threshold": f"{r['eer_threshold']:+.3f}" if r.get("eer_threshold") is not None else "–",
                     "AUC": round(float(r["auc"]), 4) if r.get("auc") is not None else None,
                     "accuracy": _fmt_pct(r.get("accuracy")),
                     "decision threshold": f"{threshold:+.3f}" if isinstance(threshold, (int, float)) else
                     str(threshold),
                     "bona fide rows": r.get("n_bonafide"), "fake rows": r.get("n_spoof"),
                     "labels": r.get("labels", "y")})
    return pd.DataFrame(rows)


def _reported():
    """ConLLM's audio EERs and video accuracy as the paper registry (P6) records them."""
    from workbench.papers import get_paper

    paper = get_paper("P6")
    return tuple(paper.number(m) for m in ("EER, audio (ASVspoof 2019 LA)", "EER, audio (DECRO)",
                                           "accuracy, video (max)"))


def _checks(config: dict) -> None:
    """The seen / unseen-attack tests with the shortcut baseline beside each stage, and the real-speech test."""
    from workbench.deepfake.artifacts import checks_table, real_speech_table

    st.markdown("**Checks a shortcut cannot pass**")
    if "shortcut" not in config:
        st.info("This artifact was built before the shortcut baseline, the unseen-attack split and the real-speech "
                "test; rebuild it (`workbench build P6 --force`) to see them.")
        return
    show_table(checks_table(config.get("report") or {}, config), hide_index=True, width="stretch")
    st.caption("Shortcut baseline: a logistic regression on surface features of the files only (duration, RMS, "
               "silence ratio, trailing silence, file size, frame intensity mean and spread, frame count), trained "
               "on the same training rows and scored on the same rows as each stage; balanced accuracy and AUC "
               "near 0.5 mean the synthetic corpus does not give the label away. Unseen attacks ("
               + ", ".join(config.get("held_out_attacks") or []) + ") were never trained on.")
    st.markdown("**Real bona fide speech** — pyannote's two-speaker recording cut by its transcript, with local "
                "spoofs; small (one recording, two speakers), so read the 95 % bootstrap CI:")
    show_table(real_speech_table(config), hide_index=True, width="stretch")


def _stages(config: dict) -> None:
    """The three pipeline-level stages side by side (detector head, score re-vote, LLM over embeddings) on every
    test's rows, with their 95 % CIs (``deepfake.artifacts.stages_table``)."""
    from workbench.deepfake.artifacts import STAGE_ORDER, stages_table

    table = stages_table(config.get("report") or {}, config)
    st.markdown("**The three stages side by side** — " + " · ".join(STAGE_ORDER) + ":")
    if not len(table):
        st.info("This artifact has none of the pipeline-level stages; rebuild it (`workbench build P6 --force`).")
        return
    show_table(table, "deepfake-stages", hide_index=True, width="stretch")
    if "LLM over embeddings" not in set(table["stage"]):
        st.caption("This artifact was built before the LLM-over-embeddings stage; rebuild it "
                   "(`workbench build P6 --force`) to see it beside the head and the re-vote.")
    st.caption("Same rows for every stage of a test; 95 % bootstrap CIs over rows. The re-vote reads the "
               "detectors' scores as text; the LLM over embeddings reads the aligned embeddings as soft tokens.")


def _ptm(profile: str) -> None:
    """The PTM ablation (``deepfake_ptm``): the same detectors on the log-mel CNN and on a frozen pretrained audio
    encoder, scored on the same rows, with the paired difference; how to build it when it is not there."""
    from workbench.deepfake.ptm import ptm_table

    st.markdown("**PTM ablation** — the same contrastive detectors on the small log-mel CNN and on a frozen "
                "pretrained audio encoder (mean-pooled), on the same rows:")
    frame, meta = cache.artifact_frame("P6", "deepfake_ptm", profile)
    if frame is None:
        st.info("Not built: `workbench build P6` makes the `deepfake_ptm` artifact (`workbench deepfake ptm` "
                "prints the same table without saving it).")
        return
    show_table(ptm_table(meta.config), "deepfake-ptm", hide_index=True, width="stretch")
    real = meta.config.get("real_speech")
    st.caption("Δ = pretrained − CNN on the same rows (EER and accuracy in points), 95 % paired bootstrap CI "
               "over rows; a negative Δ EER or a positive Δ accuracy favours the pretrained encoder. "
               + ("Real speech: not in this build." if real is None else
                  f"Real speech: not run here ({real['error']})." if "error" in real else
                  f"Real speech: {real['rows']} clips, {real['data']}."))


def _claims_table(report: dict, profile: str, config: dict | None = None):
    """ConLLM's reported numbers beside what this artifact measured, and the shortcut baseline beside ours."""
    import pandas as pd

    from workbench.deepfake.shortcut import shortcut_line

    shortcut = (config or {}).get("shortcut_all") or {}

    asv, decro, video_acc = _reported()
    audio = report.get("audio detector", {})
    video = report.get("video detector") or report.get("audiovisual detector") or {}
    video_name = "video detector" if "video detector" in report else "audiovisual detector"
    return pd.DataFrame([
        {"measure": asv.metric, "ConLLM (paper)": asv.text,
         f"ours ({profile}, synthetic)": f"{_fmt_pct(audio.get('eer'))} (audio detector, synthetic speech)",
         "shortcut baseline": shortcut_line(shortcut.get("audio detector")) or "–"},
        {"measure": decro.metric, "ConLLM (paper)": decro.text,
         f"ours ({profile}, synthetic)": "not measured (no DECRO data in the workbench's corpora)",
         "shortcut baseline": "–"},
        {"measure": "accuracy, video", "ConLLM (paper)": f"up to {video_acc.text}",
         f"ours ({profile}, synthetic)": f"{_fmt_pct(video.get('accuracy'))} ({video_name}, synthetic clips)",
         "shortcut baseline": shortcut_line(shortcut.get(video_name)) or "–"},
    ])


def _evaluation(frame, meta) -> None:
    import numpy as np

    from workbench.viz.deepfake import attack_breakdown, det_figure, roc_figure, score_histogram

    config = meta.config
    report = config.get("report") or {}
    st.markdown(f"**{len(frame)} held-out clips** ({config.get('split', 'eval split')}) of the workbench's "
                f"synthetic corpora" + (" — smoke size" if config.get("smoke") else "")
                + f", scored on the **{meta.profile}** profile by {', '.join(meta.models)}.")
    if not report:
        st.info("The artifact's report has no stage with both classes; nothing to measure.")
    else:
        show_table(_metrics_table(report), hide_index=True, width="stretch")
    st.caption("Scores are oriented **higher = more bona fide**. EER is computed the ASVspoof way: the pooled "
               "scores are sorted, every score is a threshold, and the EER is the mean of the false rejection and "
               "false acceptance rates where they are closest. Accuracy is at each stage's own decision threshold, "
               "set on the dev rows held out from training (the midpoint above the dev EER threshold; for the "
               "reasoning stage, on log P(real) − log P(fake)).")
    if report:
        chart(det_figure(frame, report), meta)
        chart(roc_figure(frame, report), meta)
    thresholds = {m: float(t) for m, t in frame.groupby("modality")["threshold"].first().items() if np.isfinite(t)}
    chart(score_histogram(frame, "score", thresholds=thresholds,
                          title="Pipeline detector score: bona fide vs fake (thresholds per stream)"), meta)
    if "reasoning_score" in frame.columns and frame["reasoning_score"].notna().any():
        reasoning_t = report.get("detector + reasoning", {}).get("threshold", 0.0) if report else 0.0
        chart(score_histogram(frame, "reasoning_score", thresholds={"calibrated threshold": float(reasoning_t)},
                              title="Reasoning stage score log P(real) − log P(fake): bona fide vs fake"), meta)
    if "soft_score" in frame.columns and frame["soft_score"].notna().any():
        chart(score_histogram(frame, "soft_score",
                              thresholds={"dev threshold": float(frame["soft_threshold"].iloc[0])},
                              title="LLM over embeddings log P(real) − log P(fake): bona fide vs fake"), meta)
    _stages(config)
    _checks(config)
    _ptm(meta.profile)
    st.markdown("**Per attack type** (mean pipeline score; accuracy = share of clips called right):")
    show_table(attack_breakdown(frame).round(3), hide_index=True, width="stretch")
    st.markdown("**The paper's numbers beside ours**")
    show_table(_claims_table(report, meta.profile, config), hide_index=True, width="stretch")
    asv, decro, video_acc = _reported()
    st.caption(f"ConLLM's numbers (EER {asv.text} on ASVspoof 2019 LA, {decro.text} on DECRO, video accuracy up to "
               f"{video_acc.text}) are quoted from {asv.source}; ours are measured on the workbench's synthetic "
               f"speech and talking-head corpora (sentences held out from training) on the {meta.profile} profile — "
               "not the same data, so the numbers are not comparable head to head.")
    detectors = config.get("trained_detectors") or {}
    if detectors:
        st.caption("Trained detectors (dev EER, threshold): " + "; ".join(
            f"{k} {_fmt_pct(v.get('eer'))}, {v.get('threshold', float('nan')):+.3f}" for k, v in detectors.items()))
    with st.expander("Every clip, with the rationale"):
        columns = [c for c in ("file", "modality", "label", "attack", "attack_split", "score_audio",
                               "score_video", "score_audiovisual", "agreement", "score", "threshold",
                               "detector_verdict", "spectral_flatness", "sync_correlation", "reasoning_score",
                               "p_real", "verdict", "rationale", "soft_score", "soft_verdict", "soft_rationale")
                   if c in frame.columns]
        show_table(frame[columns], hide_index=True, width="stretch")


# ------------------------------------------------------------------------------------------------ the view


def render() -> None:
    st.title("Deepfake predictions")
    st.markdown("ConLLM (P6) embeds each modality (speech, face video), trains a contrastive detector per stream "
                "and for the audio–video pair, and lets an LLM reason over the detectors' evidence to give a "
                "verdict and a rationale. Here: the model of this profile, trained on the workbench's synthetic "
                "corpora.")
    frame, meta = built_artifact("P6", "deepfake_eval", hint=HINT)
    if frame is None:
        return
    predict, evaluation = st.tabs(["Predict", "Evaluation"])
    with predict:
        _predict(frame, meta)
    with evaluation:
        _evaluation(frame, meta)


VIEW = View(key="deepfake", title="Deepfake predictions", section="Multimodal", icon=":material/policy:",
            papers=("P6",), render=render)
