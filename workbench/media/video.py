"""Read video: frames sampled uniformly from a checked file, optionally face-cropped, as uint8 RGB arrays.

Used by the deepfake detector (its video encoders, lip-sync cue and view) and the P6 notebook. Files are decoded
by OpenCV's bundled FFmpeg (``files.VIDEO_EXTS`` = .mp4 .avi .mov .mkv .webm).

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
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench import WorkbenchError
from workbench.media.files import check_media

DETECT_MAX_SIDE = 640
FACE_MARGIN = 1.3
HAAR_CASCADE = "haarcascade_frontalface_default.xml"


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

