"""The shortcut baseline of the P6 synthetic benchmarks: a trivial model on surface features of the files, trained
on the same train split as the detectors and scored on the same eval rows — what a synthetic headline has to be
read against. If it does well, the generator leaks the label and the benchmark measures the leak.

Used by the P6 builder (``deepfake_eval``'s config ``shortcut``), the P6 notebook, the deepfake view, the claims
ledger (``claims.media``) and ``tests/test_deepfake_shortcut.py``.

* ``surface_features(path)`` → dict of ``SURFACE_FEATURES`` [ours]: the sound's duration (s), RMS level (dB
  full scale), silence ratio (share of 20 ms windows more than 40 dB below the loudest window), trailing silence
  (s: from the end of the last window within 40 dB of the loudest to the end of the file), the file size (kB) and,
  for a video, the mean and the standard deviation of the frames' grey intensity (every frame, read with OpenCV)
  and its frame count; absent streams give 0.
* ``shortcut_baseline(frame, train, test, label)`` → ``{balanced_accuracy, auc, n_train, n_test, chance,
  features, model}``: a standardised logistic regression (scikit-learn, ``C=1``, fixed seed) fitted on the
  ``train`` rows' features and scored on the ``test`` rows. Balanced accuracy (the mean of the two classes'
  recalls, chance 0.5 whatever the class balance) at P = 0.5 and the ROC AUC; higher score = more bona fide.
* ``shortcut_report(data, frame, stages)`` → one ``shortcut_baseline`` per stage of ``evaluation.evaluate``'s
  report, on that stage's rows and labels (``audio detector``: rows with sound, ``audio_y``; ``video detector``:
  rows with pictures, ``video_y``; the pipeline and reasoning stages: every row, ``y``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

SURFACE_FEATURES = ("duration_s", "rms_db", "silence_ratio", "trailing_silence_s", "file_kb", "frame_mean",
                    "frame_std", "n_frames")
SR = 16000
WINDOW_S = 0.02
SILENCE_DB = 40.0
FEW = 20                # fewer eval clips than this: the shortcut line says they are too few to tell
STAGE_ROWS = {"audio detector": ("audio", "audio_y"), "video detector": ("video", "video_y"),
              "audiovisual detector": ("audiovisual", "y"), "detector (pipeline)": ("all", "y"),
              "detector + reasoning": ("all", "y")}


def audio_surface(audio: np.ndarray, sr: int = SR) -> dict:
    """Duration, RMS (dBFS), silence ratio and trailing silence of a mono signal (see the module docstring)."""
    y = np.asarray(audio, np.float64).reshape(-1)
    if not len(y):
        return {"duration_s": 0.0, "rms_db": -120.0, "silence_ratio": 1.0, "trailing_silence_s": 0.0}
    win = max(1, int(round(WINDOW_S * sr)))
    n = int(np.ceil(len(y) / win))
    padded = np.pad(y, (0, n * win - len(y)))
    rms = np.sqrt((padded.reshape(n, win) ** 2).mean(1))
    db = 20 * np.log10(np.maximum(rms, 1e-6))
    loud = db > db.max() - SILENCE_DB
    last = int(np.flatnonzero(loud)[-1]) if loud.any() else -1
    return {"duration_s": len(y) / sr, "rms_db": float(20 * np.log10(max(np.sqrt((y * y).mean()), 1e-6))),
            "silence_ratio": float(1 - loud.mean()),
            "trailing_silence_s": float(max(0.0, len(y) / sr - (last + 1) * win / sr))}


def _frame_stats(path: Path) -> dict:
    import cv2

    cap = cv2.VideoCapture(str(path))
    means, stds = [], []
    try:
        while True:
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
            means.append(float(grey.mean()))
            stds.append(float(grey.std()))
    finally:
        cap.release()
    if not means:
        return {"frame_mean": 0.0, "frame_std": 0.0, "n_frames": 0.0}
    return {"frame_mean": float(np.mean(means)), "frame_std": float(np.mean(stds)), "n_frames": float(len(means))}


def surface_features(path: str | Path) -> dict:
    """``SURFACE_FEATURES`` of one audio or video file."""
    from workbench.media.files import VIDEO_EXTS

    path = Path(path)
    out = {"file_kb": path.stat().st_size / 1024, "frame_mean": 0.0, "frame_std": 0.0, "n_frames": 0.0}
    if path.suffix.lower() in VIDEO_EXTS:
        from workbench.media.audio import extract_audio_track

        out.update(_frame_stats(path))
        try:
            audio = extract_audio_track(path, sr=SR)
        except Exception:                       # a video without sound: its audio features stay empty
            audio = np.zeros(0)
    else:
        from workbench.media.audio import load_audio

        audio = load_audio(path, sr=SR)
    out.update(audio_surface(audio))
    return {k: float(out[k]) for k in SURFACE_FEATURES}


def feature_matrix(paths, cache: dict | None = None) -> np.ndarray:
    """``[len(paths), len(SURFACE_FEATURES)]``; ``cache`` (path → features) is filled and reused."""
    cache = {} if cache is None else cache
    rows = []
    for p in paths:
        if str(p) not in cache:
            cache[str(p)] = surface_features(p)
        rows.append([cache[str(p)][k] for k in SURFACE_FEATURES])
    return np.asarray(rows, np.float64).reshape(len(rows), len(SURFACE_FEATURES))


def shortcut_baseline(x_train, y_train, x_test, y_test, *, seed: int = 0) -> dict:
    """A standardised logistic regression on surface features: balanced accuracy and AUC on the test rows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y_train, y_test = np.asarray(y_train, int), np.asarray(y_test, int)
    out = {"n_train": int(len(y_train)), "n_test": int(len(y_test)), "chance": 0.5,
           "features": list(SURFACE_FEATURES), "model": "standardised logistic regression (C=1)"}
    if len(set(y_train)) < 2 or len(set(y_test)) < 2:
        return {**out, "balanced_accuracy": float("nan"), "auc": float("nan")}
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000, random_state=seed))
    clf.fit(x_train, y_train)
    p = clf.predict_proba(x_test)[:, list(clf.classes_).index(1)]
    return {**out, "balanced_accuracy": float(balanced_accuracy_score(y_test, (p > 0.5).astype(int))),
            "auc": float(roc_auc_score(y_test, p))}


def _stage_rows(frame, stage: str):
    from workbench.deepfake.inputs import has_audio, has_video, row_labels

    kind, label = STAGE_ROWS.get(stage, ("all", "y"))
    if kind == "audio":
        rows = has_audio(frame)
    elif kind == "video":
        rows = has_video(frame)
    elif kind == "audiovisual":
        rows = (frame["modality"] == "audiovisual").to_numpy()
    else:
        rows = np.ones(len(frame), bool)
    return rows, row_labels(frame, label) if label != "y" else frame["y"].to_numpy()


def shortcut_report(train, test, stages, *, seed: int = 0, cache: dict | None = None) -> dict:
    """One ``shortcut_baseline`` per stage name in ``stages``, each on that stage's rows and labels of ``train``
    (fit) and ``test`` (scored)."""
    train, test = train.reset_index(drop=True), test.reset_index(drop=True)
    cache = {} if cache is None else cache
    out = {}
    for stage in stages:
        r_train, y_train = _stage_rows(train, stage)
        r_test, y_test = _stage_rows(test, stage)
        if not r_train.any() or not r_test.any():
            continue
        out[stage] = shortcut_baseline(feature_matrix(train["path"][r_train], cache), y_train[r_train],
                                       feature_matrix(test["path"][r_test], cache), y_test[r_test], seed=seed)
    return out


def shortcut_line(result: dict | None) -> str:
    """One line for a table or the claims ledger: the model, its features, balanced accuracy, AUC and chance (and,
    under ``FEW`` eval clips — a smoke build — that they are too few to tell)."""
    if not result:
        return ""
    few = f"; {result['n_test']} eval clips are too few to tell" if result["n_test"] < FEW else ""
    return (f"surface-feature logistic regression ({', '.join(result['features'])}; train {result['n_train']} / "
            f"eval {result['n_test']}): balanced accuracy {result['balanced_accuracy']:.2f}, AUC "
            f"{result['auc']:.2f}; chance {result['chance']:.2f}{few}")


__all__ = ["SURFACE_FEATURES", "audio_surface", "feature_matrix", "shortcut_baseline", "shortcut_line",
           "shortcut_report", "surface_features"]
