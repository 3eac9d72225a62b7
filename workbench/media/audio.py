"""Read audio: a checked file (or a video's sound track) in, mono float32 samples out.

Used by the deepfake detector, the captioning pipeline and CLAP, their CLI commands and dashboard views.

* ``load_audio(path, sr=16000, max_seconds=None)`` → float32 ``[samples]``, mono, at ``sr`` Hz, after
  ``files.check_media``. .wav/.flac/.ogg are decoded by soundfile (libsndfile) only; .mp3/.m4a are tried with
  soundfile first and then with PyAV (FFmpeg's libraries, bundled in its wheel: no ``ffmpeg`` executable needed).
  Channels are averaged; resampling is librosa's default (soxr "soxr_hq"). Undecodable content → "cannot be
  decoded as audio"; a decode with no samples, with NaN/inf samples, or whose peak is at most ``SILENCE_PEAK``
  (-100 dBFS) → an error too [ours: a silent clip carries no evidence either way, so it is refused rather than
  scored].
* ``extract_audio_track(video_path, sr=16000)`` → the first audio stream of a video as ``load_audio`` would return
  it, decoded by PyAV in this process (frames stay OpenCV's, ``media.video``). A video with no audio stream, or
  one PyAV cannot decode, gets an error that says so.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench import WorkbenchError
from workbench.media.files import check_media

SILENCE_PEAK = 1e-5

_SOUNDFILE_ONLY = (".wav", ".flac", ".ogg")


def _check_rate(sr) -> int:
    if not isinstance(sr, (int, np.integer)) or isinstance(sr, bool) or sr <= 0:
        raise WorkbenchError(f"sample rate must be a positive integer, not {sr!r}")
    return int(sr)


def _check_max_seconds(max_seconds) -> float | None:
    if max_seconds is None:
        return None
    if not np.isfinite(max_seconds) or max_seconds <= 0:
        raise WorkbenchError(f"max_seconds must be positive, not {max_seconds!r}")
    return float(max_seconds)


def _decode_soundfile(path: Path, max_seconds: float | None) -> tuple[np.ndarray, int]:
    import soundfile as sf

    with sf.SoundFile(str(path)) as fh:
        rate = int(fh.samplerate)
        frames = -1 if max_seconds is None else int(round(max_seconds * rate))
        data = fh.read(frames=frames, dtype="float32", always_2d=True)
    return data.mean(axis=1), rate


def _decode_av(path: Path, max_seconds: float | None) -> tuple[np.ndarray, int]:
    """The first audio stream of ``path`` at its own rate, channels averaged (PyAV; raises ``av`` errors, or
    LookupError when the container has no audio stream)."""
    import av

    with av.open(str(path), mode="r") as container:
        if not container.streams.audio:
            raise LookupError("no audio stream")
        source = container.streams.audio[0]
        rate = int(source.rate or source.codec_context.sample_rate)
        limit = None if max_seconds is None else int(round(max_seconds * rate))
        # planar float keeps the source layout and rate: to_ndarray() is then [channels, samples]
        resampler = av.AudioResampler(format="fltp", rate=rate)
        chunks, total = [], 0
        for frame in container.decode(source):
            for out in resampler.resample(frame):
                chunk = out.to_ndarray().mean(axis=0)  # [samples]
                chunks.append(chunk)
                total += chunk.size
            if limit is not None and total >= limit:
                break
        else:
            chunks += [out.to_ndarray().mean(axis=0) for out in resampler.resample(None)]
    y = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    return (y if limit is None else y[:limit]), rate


def _finish_audio(y: np.ndarray, rate: int, sr: int, max_seconds: float | None, name) -> np.ndarray:
    y = np.asarray(y, dtype=np.float32).reshape(-1)
    if y.size == 0:
        raise WorkbenchError(f"{name}: decodes to zero audio samples")
    if not np.all(np.isfinite(y)):
        raise WorkbenchError(f"{name}: the decoded audio has NaN or infinite samples")
    if float(np.max(np.abs(y))) <= SILENCE_PEAK:
        raise WorkbenchError(f"{name}: the audio is silent (peak at most {SILENCE_PEAK:g}, i.e. -100 dBFS)")
    if rate != sr:
        import librosa

        y = librosa.resample(y, orig_sr=rate, target_sr=sr).astype(np.float32, copy=False)
    if max_seconds is not None:
        y = y[: int(round(max_seconds * sr))]
    return np.ascontiguousarray(y, dtype=np.float32)


def load_audio(path: str | Path, *, sr: int = 16000, max_seconds: float | None = None) -> np.ndarray:
    """Mono float32 samples at ``sr`` Hz (channels averaged), at most ``max_seconds`` long when given."""
    sr = _check_rate(sr)
    max_seconds = _check_max_seconds(max_seconds)
    path = check_media(path, "audio")
    try:
        y, rate = _decode_soundfile(path, max_seconds)
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError, TypeError for bad headers
        if path.suffix.lower() in _SOUNDFILE_ONLY:
            raise WorkbenchError(f"{path}: cannot be decoded as audio ({type(exc).__name__}: {exc})") from None
        try:
            y, rate = _decode_av(path, max_seconds)
        except Exception as exc2:  # av.error.FFmpegError (InvalidDataError, ...), LookupError: no audio stream
            raise WorkbenchError(f"{path}: cannot be decoded as audio (soundfile: {type(exc).__name__}; "
                                 f"PyAV: {type(exc2).__name__}: {exc2})") from None
    return _finish_audio(y, rate, sr, max_seconds, path)


def extract_audio_track(video_path: str | Path, *, sr: int = 16000, max_seconds: float | None = None) -> np.ndarray:
    """The first audio stream of a video as mono float32 at ``sr`` Hz (decoded by PyAV, no ``ffmpeg`` executable)."""
    sr = _check_rate(sr)
    max_seconds = _check_max_seconds(max_seconds)
    path = check_media(video_path, "video")
    try:
        y, rate = _decode_av(path, max_seconds)
    except LookupError:
        raise WorkbenchError(f"{path}: the video has no audio stream") from None
    except Exception as exc:  # av.error.FFmpegError: InvalidDataError for a file that is no video, decode errors
        raise WorkbenchError(f"{path}: the audio track cannot be decoded ({type(exc).__name__}: {exc})") from None
    return _finish_audio(y, rate, sr, max_seconds, f"{path} (audio track)")
