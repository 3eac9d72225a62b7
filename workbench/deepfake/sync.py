"""Lip–audio synchronisation cue (P6 ConLLM): how well the mouth's movement follows the sound — a measured cue,
not a detector.

Talking-head forgeries that replace or re-time the audio (dubbing, a cloned voice laid over someone else's video)
leave the mouth moving out of step with the sound. The classic measurement (SyncNet, Chung & Zisserman, ACCV
2016 workshops) learns audio and mouth embeddings; this module measures the same thing with two hand-made 1-D
signals at the video frame rate and their normalised cross-correlation [ours: no learning, so it works offline on
any clip, and on the synthetic audio-visual corpus of ``synth.video`` it separates matched from mismatched audio].

* ``mouth_activity(frames)`` → float ``[T]``: a per-frame proxy of mouth opening. The mouth region is the
  lower-middle part of the face: x from 25 % to 75 % and y from 60 % to 95 % of OpenCV's Haar face box (the
  ``media.video`` detector) when a face is found, otherwise x 35–65 % and y 55–80 % of the frame [ours]. Faces are
  searched on at most ``DETECT_FRAMES`` frames spread over the clip; when at least half of them have a face, every
  frame uses the box of the nearest searched frame that had one, else every frame uses the frame region [ours: one
  region choice per clip, so the signal does not jump when the detector flickers]. The value is the *darkness
  mass* of the region: the mean of ``max(0, ref - grey)`` / 255 with ``ref`` the region's 75th grey percentile
  [ours: an open mouth is a dark hole against skin of any tone; relative to the region's own skin level, so skin
  tone and lighting drop out].
* ``audio_envelope(audio, sr, fps, n_frames)`` → float ``[n_frames]``: the RMS of the samples in the window of
  each video frame, ``[round(k·sr/fps), round((k+1)·sr/fps))``; samples past the end of the audio
  count as silence.
* ``sync_offset(activity, envelope, fps, max_lag_s=0.4)`` → ``{offset_s, correlation, correlation_at_zero}``:
  Pearson correlation of the overlapping parts (each z-scored) for every lag ``L`` in ±``round(max_lag_s·fps)``
  frames, pairing ``activity[t + L]`` with ``envelope[t]``; a positive ``offset_s = L/fps`` means the video lags
  the audio. The lag kept has the highest correlation (ties: the smallest ``|L|``). A constant part gives 0.0,
  never NaN. Lags are capped so that the overlap keeps at least half the frames (and at least ``MIN_FRAMES``)
  [ours].
* ``lip_sync(video_path, max_seconds=10, max_lag_s=0.4)`` → the ``sync_offset`` dict plus ``fps``, ``n_frames``
  and ``face_found``: every frame (up to ``max_seconds``) is read at the native frame rate with OpenCV after
  ``media.files.check_media``, scaled to at most ``READ_MAX_SIDE`` pixels on its longer side [ours: bounds
  memory], and the first audio stream comes from ``media.audio.extract_audio_track`` (a video without audio is
  that function's error).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench import WorkbenchError

SR = 16000
MIN_FRAMES = 4
DETECT_FRAMES = 48
READ_MAX_SIDE = 360
FACE_REGION = (0.25, 0.75, 0.60, 0.95)      # x0, x1, y0, y1 as fractions of the face box [ours]
FRAME_REGION = (0.35, 0.65, 0.55, 0.80)     # the same, of the whole frame, when no face is found [ours]


def _check_frames(frames) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] == 0 or frames.dtype != np.uint8:
        raise WorkbenchError(f"expected uint8 frames [T, H, W, 3], got {frames.dtype} {frames.shape}")
    return frames


def _face_boxes(frames: np.ndarray) -> list[tuple[int, int, int, int]] | None:
    """One face box per frame (nearest searched frame with a face), or None when faces are too rarely found."""
    from workbench.media import video

    clf, _ = video._haar(None)
    if clf is None:
        return None
    searched = np.unique(np.linspace(0, len(frames) - 1, min(len(frames), DETECT_FRAMES)).round().astype(int))
    found = {int(i): box for i in searched if (box := video._largest_face(clf, frames[i])) is not None}
    if 2 * len(found) < len(searched):
        return None
    keys = np.array(sorted(found))
    nearest = keys[np.abs(keys[None, :] - np.arange(len(frames))[:, None]).argmin(1)]
    return [found[int(k)] for k in nearest]


def _region(shape, box, fractions) -> tuple[slice, slice]:
    h, w = shape[:2]
    x, y, bw, bh = box
    fx0, fx1, fy0, fy1 = fractions
    x0, x1 = int(np.clip(round(x + fx0 * bw), 0, w - 1)), int(np.clip(round(x + fx1 * bw), 1, w))
    y0, y1 = int(np.clip(round(y + fy0 * bh), 0, h - 1)), int(np.clip(round(y + fy1 * bh), 1, h))
    return slice(y0, max(y1, y0 + 1)), slice(x0, max(x1, x0 + 1))


def mouth_activity(frames, *, detect_faces: bool = True) -> np.ndarray:
    """float ``[T]``: darkness mass of the mouth region of each RGB frame (see the module docstring)."""
    frames = _check_frames(frames)
    return _activity(frames, _face_boxes(frames) if detect_faces else None)


def _activity(frames: np.ndarray, boxes) -> np.ndarray:
    h, w = frames.shape[1:3]
    grey = frames.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    out = np.empty(len(frames), dtype=np.float64)
    for k in range(len(frames)):
        rows, cols = (_region(frames.shape[1:], boxes[k], FACE_REGION) if boxes is not None
                      else _region(frames.shape[1:], (0, 0, w, h), FRAME_REGION))
        patch = grey[k, rows, cols]
        ref = np.percentile(patch, 75)
        out[k] = float(np.mean(np.maximum(0.0, ref - patch))) / 255.0
    return out


def audio_envelope(audio, sr: int, fps: float, n_frames: int) -> np.ndarray:
    """float ``[n_frames]``: RMS of ``audio`` in each video frame's window (zero after the audio ends)."""
    y = np.asarray(audio, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(y)):
        raise WorkbenchError("the audio has NaN or infinite samples")
    if sr <= 0 or not np.isfinite(fps) or fps <= 0:
        raise WorkbenchError(f"sample rate and frame rate must be positive, not sr={sr!r}, fps={fps!r}")
    if n_frames < 1:
        raise WorkbenchError(f"n_frames must be positive, not {n_frames!r}")
    edges = np.round(np.arange(n_frames + 1) * sr / fps).astype(np.int64)
    counts = np.diff(edges)                              # the full window: missing samples count as silence
    clipped = np.clip(edges, 0, len(y))
    power = np.concatenate([[0.0], np.cumsum(y * y)])
    sums = power[clipped[1:]] - power[clipped[:-1]]
    return np.sqrt(np.maximum(0.0, np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)))


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x - x.mean(), y - y.mean()
    sx, sy = np.sqrt(np.mean(x * x)), np.sqrt(np.mean(y * y))
    if sx < 1e-12 or sy < 1e-12:
        return 0.0
    return float(np.clip(np.mean((x / sx) * (y / sy)), -1.0, 1.0))


def sync_offset(activity, envelope, fps: float, max_lag_s: float = 0.4) -> dict:
    """Best lag of ``activity`` against ``envelope``: ``{offset_s, correlation, correlation_at_zero}``."""
    a = np.asarray(activity, dtype=np.float64).reshape(-1)
    e = np.asarray(envelope, dtype=np.float64).reshape(-1)
    if a.shape != e.shape:
        raise WorkbenchError(f"activity and envelope must have the same length, not {len(a)} and {len(e)}")
    if len(a) < MIN_FRAMES:
        raise WorkbenchError(f"need at least {MIN_FRAMES} frames to measure lip sync, got {len(a)}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(e))):
        raise WorkbenchError("activity and envelope must be finite")
    if not np.isfinite(fps) or fps <= 0 or not np.isfinite(max_lag_s) or max_lag_s < 0:
        raise WorkbenchError(f"fps must be positive and max_lag_s non-negative, not {fps!r}, {max_lag_s!r}")
    n = len(a)
    max_lag = int(min(round(max_lag_s * fps), n - max(MIN_FRAMES, (n + 1) // 2)))
    max_lag = max(0, max_lag)
    best_lag, best = 0, -np.inf
    at_zero = 0.0
    for lag in sorted(range(-max_lag, max_lag + 1), key=abs):   # ties keep the smallest |lag|
        x, y = (a[lag:], e[:n - lag]) if lag >= 0 else (a[:n + lag], e[-lag:])
        corr = _pearson(x, y)
        if lag == 0:
            at_zero = corr
        if corr > best:
            best_lag, best = lag, corr
    return {"offset_s": best_lag / float(fps), "correlation": float(best), "correlation_at_zero": float(at_zero)}


def _read_video(path: Path, max_seconds: float) -> tuple[np.ndarray, float]:
    import cv2

    from workbench.media import video

    cap = video._open(path)
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if not np.isfinite(fps) or fps <= 0:
            raise WorkbenchError(f"{path}: the container does not give a frame rate, so lip sync cannot be timed")
        limit = max(1, int(np.floor(max_seconds * fps + 1e-6)))
        frames = []
        while len(frames) < limit:
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            if frame.ndim == 2:
                frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
            h, w = frame.shape[:2]
            scale = READ_MAX_SIDE / max(h, w)
            if scale < 1.0:
                frame = cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))),
                                   interpolation=cv2.INTER_AREA)
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    finally:
        cap.release()
    if not frames:
        raise WorkbenchError(f"{path}: no video frames could be decoded")
    return np.stack(frames), fps


def lip_sync(video_path: str | Path, *, max_seconds: float = 10, max_lag_s: float = 0.4) -> dict:
    """Lip–audio sync of a video: ``sync_offset``'s dict plus ``fps``, ``n_frames`` and ``face_found``."""
    from workbench.media.audio import extract_audio_track
    from workbench.media.files import check_media

    if not np.isfinite(max_seconds) or max_seconds <= 0:
        raise WorkbenchError(f"max_seconds must be positive, not {max_seconds!r}")
    path = check_media(video_path, "video")
    frames, fps = _read_video(path, float(max_seconds))
    if len(frames) < MIN_FRAMES:
        raise WorkbenchError(f"{path}: only {len(frames)} frame(s); lip sync needs at least {MIN_FRAMES}")
    audio = extract_audio_track(path, sr=SR, max_seconds=len(frames) / fps)
    boxes = _face_boxes(frames)
    result = sync_offset(_activity(frames, boxes), audio_envelope(audio, SR, fps, len(frames)), fps, max_lag_s)
    return {**result, "fps": fps, "n_frames": int(len(frames)), "face_found": boxes is not None}


__all__ = ["audio_envelope", "lip_sync", "mouth_activity", "sync_offset"]
