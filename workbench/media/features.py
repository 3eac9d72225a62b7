"""Features computed from audio samples: the log-mel spectrogram and spectral flatness.

Used by the deepfake detector's cues and views, the captioning view's spectrogram and the P6 notebook.

* ``log_mel(audio, sr, n_mels=64, n_fft=400, hop=HOP)`` → float32 ``[n_mels, frames]`` = ``log(mel power +
  1e-6)`` (librosa, centred frames: ``frames = 1 + len(audio) // hop``; ``HOP`` = 160, 10 ms at 16 kHz).
* ``spectral_flatness(audio, sr)`` → float, the mean of librosa's spectral flatness over 25 ms windows with a
  10 ms hop [ours: the window follows ``sr``; 400/160 samples at 16 kHz] — a simple measured cue (vocoded speech
  often has flatter high bands), not a detector.
"""
from __future__ import annotations

import warnings

import numpy as np

from workbench import WorkbenchError
from workbench.media.audio import _check_rate

HOP = 160                 # log-mel hop in samples (10 ms at 16 kHz), the default of ``log_mel``


def _check_signal(audio) -> np.ndarray:
    y = np.asarray(audio, dtype=np.float32)
    if y.ndim != 1 or y.size == 0:
        raise WorkbenchError(f"expected a non-empty 1-D audio array, got shape {y.shape}")
    return y


def log_mel(audio, *, sr: int = 16000, n_mels: int = 64, n_fft: int = 400, hop: int = HOP) -> np.ndarray:
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
