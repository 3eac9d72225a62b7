"""Read audio and video for deepfake detection (P6 ConLLM): checked files in, plain numpy arrays out.

Every reader first checks its file with ``check_media``: it must exist, carry an extension of the right kind, be
non-empty and be at most ``MAX_MEDIA_BYTES`` (read at call time, so tests and callers can lower it). Every problem
is a ``WorkbenchError`` naming the file and the problem.

Audio — ``AUDIO_EXTS`` = .wav .flac .mp3 .ogg .m4a

* ``load_audio(path, sr=16000, max_seconds=None)`` → float32 ``[samples]``, mono, at ``sr`` Hz. .wav/.flac/.ogg
  are decoded by soundfile (libsndfile) only; .mp3/.m4a are tried with soundfile first and then with librosa's
  audioread fallback (which needs ffmpeg or GStreamer for .m4a). Channels are averaged; resampling is librosa's
  default (soxr "soxr_hq"). Undecodable content → "cannot be decoded as audio"; a decode with no samples, with
  NaN/inf samples, or whose peak is at most ``SILENCE_PEAK`` (-100 dBFS) → an error too [ours: a silent clip
  carries no evidence either way, so it is refused rather than scored].
* ``log_mel(audio, sr, n_mels=64, n_fft=400, hop=160)`` → float32 ``[n_mels, frames]`` = ``log(mel power + 1e-6)``
  (librosa, centred frames: ``frames = 1 + len(audio) // hop``).
* ``spectral_flatness(audio, sr)`` → float, the mean of librosa's spectral flatness over 25 ms windows with a
  10 ms hop [ours: the window follows ``sr``; 400/160 samples at 16 kHz] — a simple measured cue (vocoded speech
  often has flatter high bands), not a detector.

Video — ``VIDEO_EXTS`` = .mp4 .avi .mov .mkv .webm (decoded by OpenCV's bundled FFmpeg)

* ``video_fps_and_count(path)`` → ``(fps, frame_count)``; fps is 0.0 when the container does not say; the count
  is the container's, or counted by decoding when the container reports none.
* ``sample_video(path, n=16, size=224, face_crop=False)`` → ``FrameSample``: ``frames`` uint8 ``[n, size, size,
  3]`` RGB at ``indices`` = ``np.linspace(0, count - 1, n)`` rounded (a clip shorter than ``n`` frames repeats
  frames), plus ``has_face`` per frame, ``faces_found``, ``detector``, ``fps`` and ``frame_count``.
  ``sample_frames(...)`` is the same call returning only the ``frames`` array.

  - Without ``face_crop`` the whole frame is resized to ``size × size`` [ours: aspect is not kept, so nothing is
    cut away].
  - With ``face_crop`` each frame goes through OpenCV's Haar cascade
    (``cv2.data.haarcascades + "haarcascade_frontalface_default.xml"``) on a grey copy scaled to at most
    ``DETECT_MAX_SIDE`` pixels [ours]; the largest face is cropped as a square of ``FACE_MARGIN`` × its longer
    side [ours: 1.3, some context around the face], centred on it and shifted to stay inside the frame. A frame
    with no face gets the centre square crop, and ``has_face`` is False there. OpenCV 5 wheels ship neither
    ``cv2.CascadeClassifier`` nor the cascade files: then every frame gets the centre crop, ``detector`` is
    ``"none"`` and a warning says why; pass ``cascade_path`` to use a cascade file of your own (an unusable
    explicit path is an error). ``detector`` is ``"haar"`` when faces were searched for and ``None`` without
    ``face_crop``.
* ``extract_audio_track(video_path, sr=16000)`` → the first audio stream as ``load_audio`` would return it, via
  the ``ffmpeg`` executable (no shell, a timeout, a temporary folder removed afterwards). Without ffmpeg on PATH,
  or for a video with no audio stream, the error says so.
* ``media_kind(path)`` → "audio" | "video" from the extension.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench import WorkbenchError

MAX_MEDIA_BYTES = 200 * 1024**2
AUDIO_EXTS = (".wav", ".flac", ".mp3", ".ogg", ".m4a")
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm")
SILENCE_PEAK = 1e-5
DETECT_MAX_SIDE = 640
FACE_MARGIN = 1.3
HAAR_CASCADE = "haarcascade_frontalface_default.xml"
FFMPEG_TIMEOUT_S = 300

_SOUNDFILE_ONLY = (".wav", ".flac", ".ogg")


def media_kind(path: str | Path) -> str:
    """"audio" or "video" from the file's extension; anything else is an error listing the extensions."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext in AUDIO_EXTS:
        return "audio"
    if ext in VIDEO_EXTS:
        return "video"
    raise WorkbenchError(f"{path}: unsupported extension '{path.suffix}'; audio: {' '.join(AUDIO_EXTS)}; "
                         f"video: {' '.join(VIDEO_EXTS)}")


def check_media(path: str | Path, kind: str | None = None, *, max_bytes: int | None = None) -> Path:
    """``path`` as a Path once it exists, has a supported extension (of ``kind`` "audio"/"video" when given), is
    not empty and is at most ``max_bytes`` (default ``MAX_MEDIA_BYTES``)."""
    path = Path(path)
    if not path.exists():
        raise WorkbenchError(f"{path}: no such file")
    if not path.is_file():
        raise WorkbenchError(f"{path}: not a file")
    found = media_kind(path)
    if kind is not None and found != kind:
        allowed = AUDIO_EXTS if kind == "audio" else VIDEO_EXTS
        raise WorkbenchError(f"{path}: unsupported extension '{path.suffix}' for {kind}; use one of "
                             f"{' '.join(allowed)}")
    check_size(path, MAX_MEDIA_BYTES if max_bytes is None else max_bytes, "media files")
    return path


def check_size(path: Path, limit: int, what: str) -> None:
    """Raise unless ``path`` is not empty and at most ``limit`` bytes (``what``: e.g. "media files")."""
    size = path.stat().st_size
    if size == 0:
        raise WorkbenchError(f"{path}: the file is empty")
    if size > limit:
        raise WorkbenchError(f"{path}: {size / 1024**2:.1f} MiB is over the {limit / 1024**2:.1f} MiB limit "
                             f"for {what}")


# ----------------------------------------------------------------------------------------------------- audio


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


def _check_signal(audio) -> np.ndarray:
    y = np.asarray(audio, dtype=np.float32)
    if y.ndim != 1 or y.size == 0:
        raise WorkbenchError(f"expected a non-empty 1-D audio array, got shape {y.shape}")
    return y


def log_mel(audio, *, sr: int = 16000, n_mels: int = 64, n_fft: int = 400, hop: int = 160) -> np.ndarray:
    """float32 ``[n_mels, 1 + len(audio) // hop]``: ``log(mel power spectrogram + 1e-6)``."""
    import librosa

    y = _check_signal(audio)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa warns when a clip is shorter than n_fft
        mel = librosa.feature.melspectrogram(y=y, sr=_check_rate(sr), n_fft=n_fft, hop_length=hop,
                                             n_mels=n_mels, power=2.0)
    return np.log(mel + 1e-6).astype(np.float32)


def spectral_flatness(audio, sr: int = 16000) -> float:
    """Mean spectral flatness (0 = tonal, 1 = white noise) over 25 ms windows with a 10 ms hop."""
    import librosa

    y = _check_signal(audio)
    sr = _check_rate(sr)
    n_fft, hop = max(16, round(0.025 * sr)), max(1, round(0.010 * sr))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flat = librosa.feature.spectral_flatness(y=y, n_fft=n_fft, hop_length=hop)
    return float(np.mean(flat))


# ----------------------------------------------------------------------------------------------------- video


@dataclass
class FrameSample:
    """Frames sampled from one video, with what face cropping found (see the module docstring)."""

    frames: np.ndarray        # uint8 [n, size, size, 3], RGB
    indices: np.ndarray       # int [n], the frame numbers read
    has_face: np.ndarray      # bool [n], True where a face was found and cropped
    detector: str | None      # "haar", "none" (face_crop asked, no detector here) or None (no face_crop)
    fps: float                # 0.0 when the container does not say
    frame_count: int          # frames in the clip

    @property
    def faces_found(self) -> int:
        """How many sampled frames had a face."""
        return int(self.has_face.sum())


def _open(path: Path):
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise WorkbenchError(f"{path}: cannot be opened as video (OpenCV found no decodable stream; the file may "
                             f"be corrupt or truncated)")
    return cap


def _count_by_decoding(path: Path) -> int:
    cap = _open(path)
    try:
        count = 0
        while cap.grab():
            count += 1
        return count
    finally:
        cap.release()


def _fps_and_reported(path: Path) -> tuple[float, int]:
    import cv2

    cap = _open(path)
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        reported = cap.get(cv2.CAP_PROP_FRAME_COUNT)
    finally:
        cap.release()
    fps = fps if np.isfinite(fps) and fps > 0 else 0.0
    reported = int(reported) if np.isfinite(reported) and reported > 0 else 0
    return fps, reported


def video_fps_and_count(path: str | Path) -> tuple[float, int]:
    """``(fps, frame_count)``; fps 0.0 when unknown; a video with no decodable frame is an error."""
    path = check_media(path, "video")
    fps, count = _fps_and_reported(path)
    if count <= 0:
        count = _count_by_decoding(path)
    if count <= 0:
        raise WorkbenchError(f"{path}: no video frames could be decoded")
    return fps, count


def _read_frames(path: Path, indices: np.ndarray) -> tuple[dict[int, np.ndarray], int, bool]:
    """Decode sequentially up to max(indices); (wanted frames by index, frames decoded, reached the last)."""
    import cv2

    wanted = set(int(i) for i in indices)
    last = max(wanted)
    got: dict[int, np.ndarray] = {}
    cap = _open(path)
    try:
        i = 0
        while i <= last and cap.grab():
            if i in wanted:
                ok, frame = cap.retrieve()
                if not ok or frame is None:
                    break
                if frame.ndim == 2:
                    frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
                got[i] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            i += 1
    finally:
        cap.release()
    return got, i, len(got) == len(wanted)


_HAAR_CACHE: dict[str, object] = {}


def _haar(cascade_path) -> tuple[object | None, str]:
    """(classifier, "") or (None, why there is none); an explicit unusable ``cascade_path`` is an error."""
    import cv2

    if not hasattr(cv2, "CascadeClassifier"):
        why = f"this OpenCV build ({cv2.__version__}) has no CascadeClassifier"
        if cascade_path is not None:
            raise WorkbenchError(f"{cascade_path}: cannot load a Haar cascade: {why}")
        return None, why
    if cascade_path is None:
        base = getattr(getattr(cv2, "data", None), "haarcascades", "")
        path = Path(base) / HAAR_CASCADE
        if not path.is_file():
            return None, f"OpenCV's bundled {HAAR_CASCADE} is not installed (looked in '{base}')"
    else:
        path = Path(cascade_path)
        if not path.is_file():
            raise WorkbenchError(f"{path}: no such Haar cascade file")
    key = str(path)
    if key not in _HAAR_CACHE:
        clf = cv2.CascadeClassifier(key)
        if clf.empty():
            if cascade_path is not None:
                raise WorkbenchError(f"{path}: not a loadable Haar cascade")
            return None, f"{path} could not be loaded as a Haar cascade"
        _HAAR_CACHE[key] = clf
    return _HAAR_CACHE[key], ""


def _largest_face(clf, rgb: np.ndarray) -> tuple[int, int, int, int] | None:
    import cv2

    h, w = rgb.shape[:2]
    scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
        grey = cv2.resize(grey, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    faces = clf.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
    if len(faces) == 0:
        return None
    x, y, fw, fh = max((tuple(int(v) for v in f) for f in faces), key=lambda f: f[2] * f[3])
    return round(x / scale), round(y / scale), round(fw / scale), round(fh / scale)


def _square(rgb: np.ndarray, cx: float, cy: float, side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    side = int(max(1, min(side, h, w)))
    x0 = int(np.clip(round(cx - side / 2), 0, w - side))
    y0 = int(np.clip(round(cy - side / 2), 0, h - side))
    return rgb[y0:y0 + side, x0:x0 + side]


def sample_video(path: str | Path, *, n: int = 16, size: int = 224, face_crop: bool = False,
                 cascade_path: str | Path | None = None) -> FrameSample:
    """``n`` frames spread uniformly over the clip, ``size × size`` RGB, optionally face-cropped."""
    import cv2

    if not isinstance(n, (int, np.integer)) or n < 1:
        raise WorkbenchError(f"n must be a positive integer, not {n!r}")
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise WorkbenchError(f"size must be a positive integer, not {size!r}")
    path = check_media(path, "video")
    fps, count = _fps_and_reported(path)
    if count <= 0:
        count = _count_by_decoding(path)
    got: dict[int, np.ndarray] = {}
    indices = np.zeros(0, dtype=int)
    for _ in range(2):  # a container may over-report its length: then sample again over what decodes
        if count <= 0:
            break
        indices = np.linspace(0, count - 1, int(n)).round().astype(int)
        got, decoded, complete = _read_frames(path, indices)
        if complete:
            break
        count = _count_by_decoding(path) if decoded > 0 else 0
        got = {}
    if not got:
        raise WorkbenchError(f"{path}: no video frames could be decoded")

    clf, why, detector = None, "", None
    if face_crop:
        clf, why = _haar(cascade_path)
        detector = "haar" if clf is not None else "none"
        if clf is None:
            warnings.warn(f"{path}: no face detector ({why}); using centre crops", stacklevel=2)
    frames = np.empty((len(indices), size, size, 3), dtype=np.uint8)
    has_face = np.zeros(len(indices), dtype=bool)
    for k, idx in enumerate(indices):
        rgb = got[int(idx)]
        if face_crop:
            h, w = rgb.shape[:2]
            box = _largest_face(clf, rgb) if clf is not None else None
            if box is not None:
                x, y, fw, fh = box
                rgb = _square(rgb, x + fw / 2, y + fh / 2, round(FACE_MARGIN * max(fw, fh)))
                has_face[k] = True
            else:
                rgb = _square(rgb, w / 2, h / 2, min(h, w))
        frames[k] = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
    return FrameSample(frames=frames, indices=indices, has_face=has_face, detector=detector, fps=fps,
                       frame_count=int(count))


def sample_frames(path: str | Path, *, n: int = 16, size: int = 224, face_crop: bool = False,
                  cascade_path: str | Path | None = None) -> np.ndarray:
    """uint8 ``[n, size, size, 3]`` RGB: ``sample_video(...).frames`` (use ``sample_video`` for face counts)."""
    return sample_video(path, n=n, size=size, face_crop=face_crop, cascade_path=cascade_path).frames


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
