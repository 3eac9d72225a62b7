"""DSP building blocks of the synthetic sound classes (P9): filters, envelopes, noise, decaying modes, mixing.

Used by ``captioning.synth.render``, whose twelve class generators are written with these. Plain numpy/scipy;
every function that draws takes the clip's random generator, so a clip is a pure function of its seed.
"""
from __future__ import annotations

import numpy as np


def samples(seconds: float, sr: int) -> int:
    """Samples in ``seconds`` at ``sr`` Hz (at least one)."""
    return max(1, int(round(seconds * sr)))


def capped(freq, sr: int, margin: float = 0.45):
    """``freq`` kept below ``margin`` · sr (so no partial aliases)."""
    return np.minimum(freq, margin * sr)


def phase_of(freq: np.ndarray, sr: int, start: float = 0.0) -> np.ndarray:
    """The running phase of an instantaneous frequency track (radians)."""
    return start + 2 * np.pi * np.cumsum(freq) / sr


def filtered(x: np.ndarray, sr: int, lo: float | None = None, hi: float | None = None, order: int = 2) -> np.ndarray:
    """Butterworth high-pass (``lo``), low-pass (``hi``) or band-pass (both) of ``x``; unchanged when neither."""
    from scipy.signal import butter, sosfilt

    nyq = sr / 2
    if lo and hi:
        sos = butter(order, [lo / nyq, min(hi, 0.95 * nyq) / nyq], btype="band", output="sos")
    elif lo:
        sos = butter(order, lo / nyq, btype="high", output="sos")
    elif hi:
        sos = butter(order, min(hi, 0.95 * nyq) / nyq, btype="low", output="sos")
    else:
        return x
    return sosfilt(sos, x)


def smooth(rng: np.random.Generator, n: int, sr: int, rate: float, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """A slowly varying random control signal in [lo, hi]: random knots ``rate`` per second, cosine-interpolated."""
    knots = int(np.ceil(n / sr * rate)) + 2
    values = rng.uniform(lo, hi, knots)
    pos = np.arange(n) / sr * rate
    i = np.floor(pos).astype(int)
    w = 0.5 - 0.5 * np.cos(np.pi * (pos - i))
    return values[i] * (1 - w) + values[i + 1] * w


def pink(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-variance pink (1/f power) noise."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=float)
    f[0] = 1.0
    out = np.fft.irfft(spectrum / np.sqrt(f), n)
    return out / (np.std(out) + 1e-12)


def add_at(out: np.ndarray, event: np.ndarray, start: int) -> None:
    """Add ``event`` into ``out`` from sample ``start``, clipped at both ends (in place)."""
    if start >= len(out) or start + len(event) <= 0:
        return
    if start < 0:
        event, start = event[-start:], 0
    m = min(len(event), len(out) - start)
    out[start:start + m] += event[:m]


def mode(freq: float, tau: float, sr: int, length: float | None = None, phase: float = 0.0) -> np.ndarray:
    """A decaying sinusoid (one resonant mode)."""
    t = np.arange(samples(length or 6 * tau, sr)) / sr
    return np.sin(2 * np.pi * min(freq, 0.45 * sr) * t + phase) * np.exp(-t / tau)


def burst(rng: np.random.Generator, tau: float, sr: int, lo=None, hi=None) -> np.ndarray:
    """A filtered noise burst with an exponential decay of time constant ``tau``."""
    t = np.arange(samples(6 * tau, sr)) / sr
    return filtered(rng.standard_normal(len(t)), sr, lo, hi) * np.exp(-t / tau)


def ramp(x: np.ndarray, sr: int, ms: float = 5.0) -> np.ndarray:
    """Linear fade-in and fade-out of ``ms`` milliseconds (in place; returns ``x``)."""
    k = min(len(x) // 2, samples(ms / 1000, sr))
    if k > 0:
        w = np.linspace(0, 1, k)
        x[:k] *= w
        x[-k:] *= w[::-1]
    return x


def harmonics(phase: np.ndarray, amps) -> np.ndarray:
    """Sum of the harmonics of ``phase`` with amplitudes ``amps`` (the first is the fundamental)."""
    return sum(a * np.sin((k + 1) * phase) for k, a in enumerate(amps) if a)

