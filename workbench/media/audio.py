"""Read audio: a checked file (or a video's sound track) in, mono float32 samples out.

Used by the deepfake detector, the captioning pipeline and CLAP, their CLI commands and dashboard views.

* ``load_audio(path, sr=16000, max_seconds=None)`` → float32 ``[samples]``, mono, at ``sr`` Hz, after
  ``files.check_media``. .wav/.flac/.ogg are decoded by soundfile (libsndfile) only; .mp3/.m4a are tried with
  soundfile first and then with librosa's audioread fallback (which needs ffmpeg or GStreamer for .m4a). Channels
  are averaged; resampling is librosa's default (soxr "soxr_hq"). Undecodable content → "cannot be decoded as
  audio"; a decode with no samples, with NaN/inf samples, or whose peak is at most ``SILENCE_PEAK`` (-100 dBFS) →
  an error too [ours: a silent clip carries no evidence either way, so it is refused rather than scored].
* ``extract_audio_track(video_path, sr=16000)`` → the first audio stream as ``load_audio`` would return it, via
  the ``ffmpeg`` executable (no shell, a timeout, a temporary folder removed afterwards). Without ffmpeg on PATH,
  or for a video with no audio stream, the error says so.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import numpy as np

from workbench import WorkbenchError
from workbench.media.files import check_media

SILENCE_PEAK = 1e-5
FFMPEG_TIMEOUT_S = 300

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


def _decode_audioread(path: Path, max_seconds: float | None) -> tuple[np.ndarray, int]:
    import librosa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "PySoundFile failed. Trying audioread instead." and deprecations
        data, rate = librosa.load(str(path), sr=None, mono=True, duration=max_seconds, dtype=np.float32)
    return np.asarray(data, dtype=np.float32), int(rate)


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
            y, rate = _decode_audioread(path, max_seconds)
        except Exception as exc2:  # audioread: NoBackendError, DecodeError, ...
            hint = ("; decoding .m4a/.mp3 this way needs ffmpeg on PATH, and none was found"
                    if shutil.which("ffmpeg") is None else "")
            raise WorkbenchError(f"{path}: cannot be decoded as audio (soundfile: {type(exc).__name__}; "
                                 f"audioread: {type(exc2).__name__}: {exc2}){hint}") from None
    return _finish_audio(y, rate, sr, max_seconds, path)



def extract_audio_track(video_path: str | Path, *, sr: int = 16000, max_seconds: float | None = None,
                        timeout: float = FFMPEG_TIMEOUT_S) -> np.ndarray:
    """The first audio stream of a video as mono float32 at ``sr`` Hz (needs ``ffmpeg`` on PATH)."""
    import soundfile as sf

    sr = _check_rate(sr)
    max_seconds = _check_max_seconds(max_seconds)
    path = check_media(video_path, "video")
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise WorkbenchError(f"{path}: extracting the audio track of a video needs the ffmpeg executable on PATH, "
                             f"and none was found; install ffmpeg (e.g. 'apt-get install ffmpeg' or 'conda install "
                             f"ffmpeg') or give the audio as a separate file")
    with tempfile.TemporaryDirectory(prefix="workbench-audio-") as tmp:
        out = Path(tmp) / "track.wav"
        cmd = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
               "-i", f"file:{path.absolute()}", "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(sr),
               "-c:a", "pcm_f32le"]
        if max_seconds is not None:
            cmd += ["-t", f"{max_seconds:g}"]
        cmd.append(f"file:{out}")
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise WorkbenchError(f"{path}: ffmpeg did not finish extracting the audio within {timeout:g} s") from None
        except OSError as exc:
            raise WorkbenchError(f"{path}: ffmpeg could not be run ({exc})") from None
        err = proc.stderr.decode("utf-8", "replace").strip()
        if proc.returncode != 0:
            if "matches no streams" in err or "does not contain any stream" in err:
                raise WorkbenchError(f"{path}: the video has no audio stream")
            last = err.splitlines()[-1] if err else f"exit status {proc.returncode}"
            raise WorkbenchError(f"{path}: ffmpeg could not extract the audio track ({last})")
        if not out.is_file() or out.stat().st_size == 0:
            raise WorkbenchError(f"{path}: the video has no audio stream")
        try:
            data, rate = sf.read(str(out), dtype="float32", always_2d=True)
        except Exception as exc:
            raise WorkbenchError(f"{path}: the extracted audio track cannot be decoded ({type(exc).__name__}: "
                                 f"{exc})") from None
    return _finish_audio(data.mean(axis=1), int(rate), sr, max_seconds, f"{path} (audio track)")
