"""The detectors' inputs for a frame of dataset rows: which rows carry which stream, their embeddings and the
measured cues.

Used by deepfake.model (scoring), deepfake.training and deepfake.evaluation, and the P6 notebook's ablation.

* ``has_audio`` / ``has_video`` — the rows whose sound / pictures are evidence; ``row_labels`` — per-modality
  labels (``audio_y``, ``video_y``) where the dataset gives them, else ``y``.
* ``load_encoder(kind, config, folder)`` — the locally trained CNN from a model folder, Whisper's frozen encoder
  (``deepfake.ptm``, the PTM ablation), or a registry model from the local Hugging Face cache; ``embed_rows`` —
  ``{"audio": [N, Da], "video": [N, Dv]}`` with NaN rows where a row lacks the stream, cached per file under
  ``config.embeddings_cache()``.
* ``measure_cues`` — spectral flatness of the sound and, for clips with both streams, the lip–audio sync
  correlation and offset (``deepfake.sync``); ``stream_inputs`` — a detector's inputs, where the audiovisual one
  with ``av_cues`` reads the video embedding followed by the sync cue (``CUE_FEATURES``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench import WorkbenchError
from workbench.deepfake.config import DEFAULT_ENCODERS, SR, PipelineConfig, embeddings_cache


def row_labels(frame, column: str) -> np.ndarray:
    """Per-modality labels where the dataset gives them (≥ 0), else the clip's label."""
    y = frame["y"].to_numpy().astype(int)
    if column in frame.columns:
        own = frame[column].fillna(-1).to_numpy().astype(int)
        y = np.where(own >= 0, own, y)
    return y


def has_audio(frame) -> np.ndarray:
    """Rows whose sound is evidence: audio files and audiovisual clips [ours: ``video`` rows, e.g. DFDC, are judged
    on their pictures; their sound is used only when a single file is scored]."""
    return frame["modality"].isin(["audio", "audiovisual"]).to_numpy()


def has_video(frame) -> np.ndarray:
    """Rows whose pictures are evidence: video files and audiovisual clips."""
    return frame["modality"].isin(["video", "audiovisual"]).to_numpy()


def audio_loader(max_seconds: float):
    """A function path → mono float32 at ``SR``: audio files read directly, videos through their sound track."""
    from workbench.media.audio import extract_audio_track, load_audio
    from workbench.media.files import media_kind

    def load(path):
        if media_kind(path) == "video":
            return extract_audio_track(path, sr=SR, max_seconds=max_seconds)
        return load_audio(path, sr=SR, max_seconds=max_seconds)
    return load


def has_sound(path: Path) -> bool:
    """Whether a video has an audio track that is not silent (decoded by PyAV: ``media.audio.extract_audio_track``);
    a track that cannot be decoded is an error."""
    from workbench.media.audio import extract_audio_track

    try:
        extract_audio_track(path, sr=SR, max_seconds=10.0)
        return True
    except WorkbenchError as exc:
        if "no audio stream" in str(exc) or "silent" in str(exc).lower():
            return False
        raise


def load_encoder(kind: str, config: PipelineConfig, folder: Path | None):
    """The audio or video encoder: locally trained CNN from ``folder`` or a registry model from the HF cache."""
    name = config.audio_encoder if kind == "audio" else config.video_encoder
    if name in (DEFAULT_ENCODERS["audio"], DEFAULT_ENCODERS["video"]):
        if folder is None:
            raise WorkbenchError(f"the {name} encoder is trained with the detector; there is no pretrained one")
        if kind == "audio":
            from workbench.media.audio_encoders import load_cnn

            return load_cnn(folder / "audio_encoder")
        from workbench.media.video_encoders import load_video_cnn

        return load_video_cnn(folder / "video_encoder")
    if kind == "audio":
        from workbench.deepfake.ptm import WHISPER_ENCODERS, load_whisper_encoder

        if name in WHISPER_ENCODERS:                  # CTranslate2 Whisper, frozen (the default profile's PTM)
            return load_whisper_encoder(name, config.max_seconds)
    from workbench.models import load
    from workbench.models.registry import get_spec

    spec = get_spec(name)
    want = f"{kind}-encoder"
    if spec.role != want:
        raise WorkbenchError(f"model '{name}' is a {spec.role}, not an {want}")
    hf = load(name)
    if kind == "audio":
        from workbench.media.audio_encoders import HFAudioEncoder

        extractor = getattr(hf.processor, "feature_extractor", hf.processor)
        return HFAudioEncoder(hf.model, extractor, name, device=hf.device)
    from workbench.media.video_encoders import HFVideoEncoder

    cfg = hf.model.config
    return HFVideoEncoder(hf.model, hf.processor, name, device=hf.device, frames=int(cfg.num_frames),
                          size=int(cfg.image_size))


def embed_rows(audio_encoder, video_encoder, frame, config: PipelineConfig, *, cache: bool = True,
               progress=None) -> dict[str, np.ndarray]:
    """{"audio": [N, Da], "video": [N, Dv]} for the rows of ``frame``; NaN rows where a row lacks the stream (a
    missing encoder gives an all-NaN [N, 1])."""
    from workbench.media.embeddings import embed_files

    n = len(frame)
    out = {}
    tasks = [(k, enc) for k, enc in (("audio", audio_encoder), ("video", video_encoder)) if enc is not None]
    for t, (kind, enc) in enumerate(tasks):
        rows = has_audio(frame) if kind == "audio" else has_video(frame)
        emb = np.full((n, enc.dim), np.nan, np.float32)
        if rows.any():
            loader = audio_loader(config.max_seconds) if kind == "audio" else enc.load
            step = (lambda f, m, t=t, kind=kind: progress((t + f) / len(tasks), f"{kind}: {m}")) if progress else None
            emb[rows] = embed_files(enc, list(frame["path"][rows]), cache=embeddings_cache() if cache else None,
                                    loader=loader, progress=step)
        out[kind] = emb
    for kind, enc in (("audio", None), ("video", None)):
        out.setdefault(kind, np.full((n, 1), np.nan, np.float32))
    return out


def measure_cues(frame, *, lip_sync: bool = True, progress=None) -> list[dict]:
    """Per row: spectral flatness of the sound and, for clips with both streams, the lip–audio sync correlation
    and offset (``workbench.deepfake.sync``). A cue that cannot be measured is None."""
    from workbench.media.features import spectral_flatness

    loader = audio_loader(10.0)
    out = []
    for i, (path, modality) in enumerate(zip(frame["path"], frame["modality"])):
        cue: dict = {"spectral_flatness": None, "sync_correlation": None, "sync_offset_s": None}
        if modality in ("audio", "audiovisual"):
            cue["spectral_flatness"] = spectral_flatness(loader(path), SR)
        if modality == "audiovisual" and lip_sync:
            from workbench.deepfake.sync import lip_sync as measure

            sync = measure(path)
            cue["sync_correlation"], cue["sync_offset_s"] = sync["correlation"], sync["offset_s"]
        out.append(cue)
        if progress:
            progress((i + 1) / len(frame), f"cues {i + 1}/{len(frame)}")
    return out



CUE_FEATURES = ("sync_correlation", "sync_offset_s")


def cue_matrix(cues: list[dict] | None, n: int) -> np.ndarray:
    """[n, 2]: sync correlation and |offset| in seconds per row; NaN where not measured."""
    out = np.full((n, len(CUE_FEATURES)), np.nan, np.float32)
    for i, c in enumerate(cues or []):
        if c.get("sync_correlation") is not None:
            out[i] = (c["sync_correlation"], abs(c["sync_offset_s"]))
    return out


def stream_inputs(stream: str, emb: dict[str, np.ndarray], cues: list[dict] | None, config: PipelineConfig):
    """(the detector inputs of ``stream`` for every row, the rows that have all of them)."""
    if stream != "audiovisual":
        x = emb[stream]
        return [x], ~np.isnan(x).any(1)
    audio, video = emb["audio"], emb["video"]
    if config.av_cues and config.lip_sync:                 # no cue is measured without lip_sync
        video = np.concatenate([video, cue_matrix(cues, len(video))], 1)
    return [audio, video], ~np.isnan(audio).any(1) & ~np.isnan(video).any(1)


__all__ = ["CUE_FEATURES", "audio_loader", "cue_matrix", "embed_rows", "has_audio", "has_sound", "has_video",
           "load_encoder", "measure_cues", "row_labels", "stream_inputs"]
