"""Training a ConLLM pipeline (P6): media → per-modality embeddings → contrastive detectors → thresholds, written
as a model folder (``deepfake.model``); and the profile's default model trained on the synthetic corpora.

Used by the deepfake CLI (``deepfake train``, ``deepfake score`` without a model), the P6 builder and notebook.

``train_model(frame, out, config)`` takes a dataset frame (``deepfake.datasets``: ``path``, ``y`` with
1 = bona fide, ``modality`` and, where the dataset gives them, per-modality labels ``audio_y`` / ``video_y``) and
writes a model folder:

* **encoders** — default profile [ours]: a log-mel CNN (``media.audio_encoders.LogMelCNN``) and a frame
  CNN (``media.video_encoders.FrameCNN``) trained on the training rows; ``paper`` profile: wav2vec2-XLS-R-1B and
  VideoMAE-base from the local Hugging Face cache, frozen, mean-pooled (ConLLM's code). Embeddings are cached
  per file as safetensors under ``$WORKBENCH_HOME/cache/embeddings``.
* **detectors** — one ``ContrastiveDetector`` per evidence stream: ``audio`` (rows with sound; label
  ``audio_y`` where given, else ``y``), ``video`` (rows with pictures; ``video_y`` else ``y``) and
  ``audiovisual`` (rows with both; label ``y``, with the cross-modal NT-Xent whose positives are the audio and
  the video of the same genuine clip). A detector is trained only when its rows hold both classes. With
  ``av_cues`` [ours] the audiovisual detector's video input is the video embedding followed by the measured
  lip–audio sync cue (``CUE_FEATURES``: the peak correlation of mouth activity with the sound envelope and the
  |offset| at that peak, ``workbench.deepfake.sync``): pooled clip embeddings cannot tell *when* the mouth moves,
  so a dubbed clip whose picture and sound are each genuine would otherwise pass.
* **thresholds** — a stratified ``dev_fraction`` of the training rows is held out [ours]; each detector's
  decision threshold is its EER threshold on those rows, and the dev EERs are recorded. Reference statistics of
  the measured cues (spectral flatness, lip–audio sync correlation) on the dev bona fide rows are stored too, so
  the reasoning stage can say what a genuine value looks like. Each threshold is the midpoint of the gap above
  the ASVspoof EER threshold (``decision_threshold``); the reasoning stage's threshold is calibrated the same way
  on the dev rows (a small LM rarely balances its two answers).

The default model [ours]: ``synthetic_data(spec)`` joins the synthetic speech corpus (``synth.speech``) and the
synthetic talking-head corpus (``synth.video``) as one dataset frame; ``default_model()`` trains on their train
split — less every clip of the spec's ``held_out_attacks`` (``HELD_OUT_ATTACKS``: the phase-vocoder pitch round
trip, ``pitch_roundtrip`` in the speech corpus and ``converted_audio`` in the talking heads), so that the eval
split's clips of those attacks are an *unseen-attack* test beside the seen-attack one (``training_rows``) — once and
caches the folder under ``$WORKBENCH_HOME/models/deepfake/`` keyed by the data and pipeline configuration
(``io.build_once``). ``smoke_spec`` / ``smoke_config`` are a few clips and epochs for tests and CI.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from workbench import WorkbenchError
from workbench.deepfake.config import DEFAULT_ENCODERS, STREAMS, PipelineConfig
from workbench.deepfake.datasets.splits import row_keys
from workbench.deepfake.inputs import (audio_loader, embed_rows, has_audio, has_video, load_encoder, measure_cues,
                                       row_labels, stream_inputs)
from workbench.deepfake.model import TRAINING_ROWS, DeepfakeModel, load_reasoner
from workbench.io import atomic_dir, build_once, write_json
from workbench.media.audio_encoders import CNNConfig
from workbench.media.video_encoders import FrameCNNConfig

HELD_OUT_ATTACKS = ("pitch_roundtrip", "converted_audio")

if TYPE_CHECKING:
    from workbench.deepfake.synth.speech import AudioCorpusConfig
    from workbench.deepfake.synth.video import AVCorpusConfig


def _stratified_dev(groups: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of held-out rows: about ``fraction`` of each group (a group = modality × label × attack, so
    every kind of forgery reaches both sides), at least one row of a group of three or more, never all of it."""
    rng = np.random.default_rng(seed)
    dev = np.zeros(len(groups), bool)
    if fraction <= 0:
        return dev
    for g in sorted(set(groups)):
        idx = np.flatnonzero(groups == g)
        if len(idx) >= 3:
            k = min(max(1, int(round(fraction * len(idx)))), len(idx) - 2)
            dev[rng.permutation(idx)[:k]] = True
    return dev


def train_model(frame, out: str | Path, config: PipelineConfig | None = None, *, progress=None,
                data_name: str = "", reasoner=None, split: dict | None = None, soft_prompt=None) -> DeepfakeModel:
    """Train encoders (default profile), detectors and thresholds on ``frame``'s rows; write the folder ``out``.

    With ``config.calibrate_reasoning`` the reasoning stage (``reasoner``, default the profile's LLM) is run on the
    dev rows and its decision threshold stored (``DeepfakeModel.reasoning_threshold``). ``split`` (a
    ``datasets.splits.split_record``) says how the rows were held apart from the evaluation rows; it goes into
    ``model.json``. The folder lists every training row (``training_rows.json``) so that an evaluation can refuse
    to score them (``DeepfakeModel.trained_on``). With ``soft_prompt`` (a ``soft_prompt.SoftPromptConfig``) the
    LLM-over-embeddings stage is trained for ``reasoner`` on the same rows and saved beside the folder
    (``evaluation.evaluate`` then reports it)."""
    config = config or PipelineConfig.for_profile()
    frame = _check_rows(frame)
    report = progress or (lambda f, m: None)
    with atomic_dir(Path(out)) as tmp:                 # a folder that exists is always a complete model
        _write_model(tmp, frame, config, report, data_name=data_name, reasoner=reasoner, split=split)
    model = DeepfakeModel.load(out)
    if soft_prompt is not None:
        from workbench.deepfake.soft_prompt import cached_stage

        report(0.98, "LLM over embeddings")
        cached_stage(model, frame, reasoner or load_reasoner(model.meta["profile"]), soft_prompt)
    report(1.0, "done")
    return model


def _check_rows(frame):
    frame = frame.reset_index(drop=True)
    if len(frame) < 4 or set(frame["y"].unique()) != {0, 1}:
        raise WorkbenchError(f"training needs bona fide and fake rows, at least 4 in all; got {len(frame)} row(s) "
                             f"with labels {sorted(frame['y'].unique().tolist())}")
    return frame


def dev_rows(frame, config: PipelineConfig) -> np.ndarray:
    """The training frame's held-out dev rows (a boolean mask): the same rows for the detectors' thresholds and
    the LLM stages' (``soft_prompt``) [ours]."""
    groups = (frame["modality"].astype(str) + "|" + frame["y"].astype(str) + "|"
              + frame["attack"].astype(str)).to_numpy() if "attack" in frame else frame["y"].to_numpy()
    return _stratified_dev(groups, config.dev_fraction, config.seed)


def _write_model(tmp: Path, frame, config: PipelineConfig, report, *, data_name: str, reasoner,
                 split: dict | None = None) -> None:
    """Train everything on ``frame`` and write the model folder's files into ``tmp``."""
    from workbench.deepfake.detector import DetectorConfig, save_detector, score, train_detector
    from workbench.profiles import active_profile, get_profile

    dev = dev_rows(frame, config)
    if not dev.any():
        warnings.warn("too few rows to hold out a dev set; thresholds come from the training rows", stacklevel=3)
    fit = ~dev if dev.any() else np.ones(len(frame), bool)
    encoders = {}
    for kind, rows in (("audio", has_audio(frame)), ("video", has_video(frame))):
        if not (rows & fit).any():
            continue
        labels = row_labels(frame, f"{kind}_y")
        if len(set(labels[rows & fit])) < 2:
            warnings.warn(f"the {kind} rows hold one class only; no {kind} encoder", stacklevel=3)
            continue
        report(0.05 + 0.25 * len(encoders), f"{kind} encoder")
        encoders[kind] = _train_encoder(kind, config, frame[rows & fit], labels[rows & fit], tmp,
                                        lambda f, m, k=len(encoders): report(0.05 + 0.25 * (k + f), m))
    if not encoders:
        raise WorkbenchError("no modality has both classes to train on")
    report(0.55, "embedding")
    emb = embed_rows(encoders.get("audio"), encoders.get("video"), frame, config,
                     progress=lambda f, m: report(0.55 + 0.15 * f, m))
    cues = measure_cues(frame, lip_sync=config.lip_sync, progress=lambda f, m: report(0.7 + 0.1 * f, m))
    detectors, meta_det = {}, {}
    for stream in STREAMS:
        parts = ["audio", "video"] if stream == "audiovisual" else [stream]
        if any(p not in encoders for p in parts):
            continue
        inputs, rows = stream_inputs(stream, emb, cues, config)
        if stream == "audiovisual":
            rows &= (frame["modality"] == "audiovisual").to_numpy()
        labels = row_labels(frame, f"{stream}_y") if stream != "audiovisual" else frame["y"].to_numpy()
        train_rows = rows & fit
        if len(set(labels[train_rows])) < 2 or train_rows.sum() < 4:
            continue
        det_config = DetectorConfig(input_dims=tuple(x.shape[1] for x in inputs), modalities=tuple(parts),
                                    projection=config.projection, lambda_xm=config.lambda_xm,
                                    lambda_sup=config.lambda_sup, epochs=config.detector_epochs,
                                    seed=config.seed)
        start = 0.8 + 0.05 * len(detectors)
        report(start, f"{stream} detector")
        model, history = train_detector([x[train_rows] for x in inputs], labels[train_rows], det_config,
                                        progress=lambda f, m, s=stream, a=start: report(a + 0.05 * f,
                                                                                        f"{s} detector {m}"))
        save_detector(model, tmp / f"detector-{stream}")
        detectors[stream] = model
        held = rows & dev
        scored_rows = held if held.any() and len(set(labels[held])) == 2 else train_rows
        s, _ = score(model, [x[scored_rows] for x in inputs])
        value, threshold = decision_threshold(s, labels[scored_rows])
        meta_det[stream] = {"threshold": float(threshold), "eer": float(value),
                            "eer_on": "dev" if scored_rows is held else "train",
                            "n_train": int(train_rows.sum()), "n_dev": int(held.sum()),
                            "final_loss": history[-1]["total"]}
    if not detectors:
        raise WorkbenchError("no detector could be trained: no stream has both classes")
    report(0.95, "cue references")
    genuine = (frame["y"] == 1).to_numpy() & (dev if dev.any() else True)
    cue_reference = _cue_reference([c for c, g in zip(cues, genuine) if g])
    profile = active_profile().name
    meta = {"kind": "conllm-deepfake", "profile": profile, "config": config.to_dict(),
            "encoders": {k: config.audio_encoder if k == "audio" else config.video_encoder for k in encoders},
            "reasoner": get_profile(profile).model_for("reasoner"),
            "detectors": meta_det, "cue_reference": cue_reference,
            "data": {"name": data_name, "rows": int(len(frame)), "dev_rows": int(dev.sum()),
                     "by_modality": {str(k): int(v) for k, v in frame["modality"].value_counts().items()},
                     "bonafide": int((frame["y"] == 1).sum()), "fake": int((frame["y"] == 0).sum()),
                     **({"split": split} if split else {})},
            "score_orientation": "higher = more bona fide (logit of P(bona fide))"}
    write_json({"rows": row_keys(frame)}, tmp / TRAINING_ROWS)
    write_json(meta, tmp / "model.json")
    if config.calibrate_reasoning and dev.any() and len(set(frame["y"][dev])) == 2:
        report(0.96, "calibrating the reasoning stage on the dev rows")
        lm = reasoner or load_reasoner(profile)
        meta["reasoning"] = _calibrate_reasoning(DeepfakeModel.load(tmp), frame, emb, cues, dev, lm)
        write_json(meta, tmp / "model.json")


def _train_encoder(kind: str, config: PipelineConfig, rows, labels, folder: Path, progress):
    name = config.audio_encoder if kind == "audio" else config.video_encoder
    if name != DEFAULT_ENCODERS[kind]:
        return load_encoder(kind, config, None)                       # pretrained, frozen
    if kind == "audio":
        from workbench.media.audio_encoders import save_cnn, train_logmel_cnn

        load = audio_loader(config.max_seconds)
        audios = [load(p) for p in rows["path"]]
        encoder, _ = train_logmel_cnn(audios, labels, config.audio_cnn, progress=progress)
        save_cnn(encoder, folder / "audio_encoder")
        return encoder
    from workbench.media.video_encoders import CNNVideoEncoder, FrameCNN, save_video_cnn, train_frame_cnn

    probe = CNNVideoEncoder(FrameCNN(config.video_cnn))
    clips = [probe.load(p) for p in rows["path"]]
    encoder, _ = train_frame_cnn(clips, labels, config.video_cnn, progress=progress)
    save_video_cnn(encoder, folder / "video_encoder")
    return encoder


def decision_threshold(scores, labels) -> tuple[float, float]:
    """(EER, a decision threshold): the EER as ASVspoof computes it, and the midpoint between its threshold score
    and the next higher score [ours: the ASVspoof threshold is itself a trial's score, so any clip scoring just
    like that trial falls on the fence; the midpoint of the gap generalises better, most visibly when the dev EER
    is 0 and a whole class sits at one saturated score]."""
    from workbench.metrics.eer import eer

    value, t = eer(scores, labels)
    above = np.asarray(scores, float)
    above = above[above > t]
    return float(value), float((t + above.min()) / 2) if len(above) else float(t)


def _calibrate_reasoning(model: "DeepfakeModel", frame, emb, cues, rows: np.ndarray, lm) -> dict:
    """The reasoning stage's threshold (``decision_threshold`` of its score) and EER on the dev rows."""
    from workbench.deepfake.reasoning import reason

    sub = frame[rows].reset_index(drop=True)
    sub_emb = {k: v[rows] for k, v in emb.items()}
    sub_cues = [c for c, keep in zip(cues, rows) if keep]
    scores = model.score_embeddings(sub_emb, sub_cues)
    evidence = [model.evidence(scores, sub_cues, i) for i in range(len(sub))]
    s = np.array([r["score"] for r in reason(lm, evidence, rationale_tokens=0)])
    value, threshold = decision_threshold(s, sub["y"].to_numpy())
    return {"threshold": threshold, "eer": value, "n_dev": int(len(sub)), "model": lm.name}


def _cue_reference(cues: list[dict]) -> dict:
    """Mean and spread of each cue over genuine rows (what the reasoning stage is told a genuine value is)."""
    ref = {}
    for name in ("spectral_flatness", "sync_correlation"):
        values = np.array([c[name] for c in cues if c[name] is not None], float)
        if len(values):
            ref[name] = {"mean": float(values.mean()), "std": float(values.std()), "n": int(len(values))}
    return ref


# ------------------------------------------------------------------------------ synthetic data, default model


@dataclass(frozen=True)
class SyntheticSpec:
    """The default profile's training data: the synthetic speech corpus and the synthetic talking-head corpus."""

    audio: "AudioCorpusConfig" = field(default_factory=lambda: _audio_config())
    av: "AVCorpusConfig" = field(default_factory=lambda: _av_config(n_real=60, n_fake=120))
    held_out_attacks: tuple[str, ...] = HELD_OUT_ATTACKS      # never trained on: the unseen-attack test

    def key(self) -> str:
        from workbench.io import config_key

        return f"{self.audio.key()}-{self.av.key()}-{config_key({'held_out': list(self.held_out_attacks)})}"


def training_rows(data, spec: SyntheticSpec):
    """The rows the default model trains on: the train split less the held-out attacks."""
    return data[(data["split"] == "train") & ~data["attack"].isin(spec.held_out_attacks)]


def attack_split(frame, spec: SyntheticSpec) -> dict:
    """Boolean masks over ``frame`` (eval rows): ``seen`` — bona fide and the attacks trained on; ``unseen`` —
    bona fide and the held-out attacks."""
    held = frame["attack"].isin(spec.held_out_attacks).to_numpy()
    genuine = (frame["y"] == 1).to_numpy() & ~held
    return {"seen": genuine | ((frame["y"] == 0).to_numpy() & ~held), "unseen": genuine | held}


def _audio_config(**kw):
    from workbench.deepfake.synth.speech import AudioCorpusConfig

    return AudioCorpusConfig(**kw)


def _av_config(**kw):
    from workbench.deepfake.synth.video import AVCorpusConfig

    return AVCorpusConfig(**kw)


def smoke_spec() -> SyntheticSpec:
    """A few clips of each kind: enough for tests, notebooks' smoke runs and CI."""
    return SyntheticSpec(audio=_audio_config(n_bonafide=16, n_spoof=16),
                         av=_av_config(n_real=12, n_fake=12))


def smoke_config(**overrides) -> PipelineConfig:
    return PipelineConfig.for_profile(**{"audio_cnn": CNNConfig(epochs=4, max_seconds=3.0),
                                         "video_cnn": FrameCNNConfig(epochs=4), "detector_epochs": 15,
                                         **overrides})


def synthetic_data(spec: SyntheticSpec | None = None, *, progress=None):
    """Both synthetic corpora as one dataset frame (made and cached on first use), with their train/eval split."""
    import pandas as pd

    from workbench.deepfake.datasets import load_manifest
    from workbench.deepfake.synth.speech import audio_corpus
    from workbench.deepfake.synth.video import av_corpus

    spec = spec or SyntheticSpec()
    report = progress or (lambda f, m: None)
    audio = audio_corpus(spec.audio, progress=lambda f, m: report(0.5 * f, m))
    av = av_corpus(spec.av, progress=lambda f, m: report(0.5 + 0.5 * f, m))
    frames = [load_manifest(Path(corpus["path"].iloc[0]).parent.parent).assign(
        id=lambda f, prefix=prefix: prefix + f["id"]) for prefix, corpus in (("speech/", audio), ("av/", av))]
    return pd.concat(frames, ignore_index=True)


def default_model(*, spec: SyntheticSpec | None = None, config: PipelineConfig | None = None,
                  progress=None) -> DeepfakeModel:
    """The profile's model trained on the synthetic corpora's train split, cached under
    ``$WORKBENCH_HOME/models/deepfake/`` keyed by the data and pipeline configuration."""
    from workbench.paths import models_dir
    from workbench.profiles import active_profile

    spec, config = spec or SyntheticSpec(), config or PipelineConfig.for_profile()
    folder = models_dir() / "deepfake" / f"{active_profile().name}-{spec.key()}-{config.key()}"
    report = progress or (lambda f, m: None)

    def build(tmp: Path) -> None:
        data = synthetic_data(spec, progress=lambda f, m: report(0.4 * f, m))
        _write_model(tmp, _check_rows(training_rows(data, spec)), config,
                     lambda f, m: report(0.4 + 0.6 * f, m), data_name="synthetic (train split)", reasoner=None)

    return DeepfakeModel.load(build_once(folder, build, complete="model.json"))


__all__ = ["HELD_OUT_ATTACKS", "SyntheticSpec", "attack_split", "decision_threshold", "default_model", "dev_rows",
           "smoke_config", "smoke_spec", "synthetic_data", "train_model", "training_rows"]
