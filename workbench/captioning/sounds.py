"""Synthetic sound-event corpus with reference captions for zero-shot audio captioning (P9), made and cached here.

The default profile trains its own small CLAP-style audio-text model, so it needs audio clips paired with captions
and sound-event labels. This module renders them with plain numpy/scipy DSP (and ``espeak-ng`` for speech, through
``workbench.deepfake.synth.speak``), so nothing is downloaded.

Classes and how they are made [ours: every recipe below is our own choice]. Each generator draws its parameters
(pitch, rate, level, envelope) per clip from the clip's random generator; ``render`` then adds fades, background
noise at a random SNR and peak-normalises. Each class has two or three *variants* that change labels and captions:

* ``siren`` — ``wail`` (slow rise and fall, 2–4.5 s period) or ``yelp`` (fast, 0.18–0.4 s) frequency-modulated
  tone with a few harmonics, sometimes a pass-by (loudness bump plus a small Doppler drop);
* ``alarm`` — ``steady`` repeated square-ish beeps at 1.8–3.5 kHz, or ``clock``: groups of 3–5 quick beeps;
* ``tone`` — ``sine`` (steady 200–2000 Hz sine) or ``hum`` (50/60/100/120 Hz with harmonics);
* ``chirp`` — ``rising`` / ``falling`` exponential sweeps (the AudioSet "Chirp tone") or ``bird`` (phrases of short,
  fast frequency-modulated chirps at 2.5–5.5 kHz);
* ``rain`` — ``light`` / ``heavy``: high-passed broadband noise plus random decaying drop impacts;
* ``wind`` — ``breeze`` / ``gusts``: first-order low-passed noise plus a band of "howl", under a slowly varying
  random gust envelope;
* ``engine`` — ``idle`` (25–45 Hz firing rate with rpm wobble) or ``revving`` (rpm rises and falls): a harmonic
  buzz (phase-accumulated harmonics) plus low-passed noise pulsed by the firing cycle;
* ``knock`` — ``door`` (groups of 2–4 knocks: decaying resonant modes plus a click) or ``footsteps`` (heel and toe
  thumps every 0.45–0.65 s with jitter);
* ``clock`` — ``tick`` / ``ticktock``: short resonant ticks at an exactly regular period (0.25–0.55 s); tick-tock
  alternates a high and a lower tick;
* ``speech`` — ``male`` / ``female``: espeak-ng sentences (``SENTENCES`` of the deepfake corpus) with male or female
  voice variants and pitches, 140–190 words a minute, padded or cut to the clip length;
* ``music`` — ``piano`` (pentatonic melody, slightly inharmonic partials with exponential decays) or ``organ``
  (sustained notes with fixed harmonic "drawbars", sometimes a third above);
* ``water`` — ``stream`` (band-passed noise plus many small rising-pitch bubble blips) or ``gurgle`` (fewer, lower,
  longer bubbles).

``mixtures`` extra clips overlay two different classes (the second 0–10 dB quieter); their labels are the union and
their captions join a clause of each ("… while …", "… as …", "…, and in the background …").

Labels are keywords of ``data/captioning/vocabulary.csv`` (AudioSet ontology display names), spelled exactly as
there; a clip also carries the ontology parents that the vocabulary holds (e.g. a siren is also "Alarm" and
"Emergency vehicle", rain is also "Water") [ours]. Captions (4–5 per clip) are drawn without replacement from
hand-written, AudioCaps-style sentences per class and variant [ours]; they avoid words that name vocabulary
distractors (``in_corpus`` = 0) so that the labels and captions agree.

Determinism: each clip has its own ``SeedSequence`` from the corpus seed, the class name (CRC-32) and the clip
index, spawned into an audio and a text stream, so the same seed gives the same files (PCM16 WAV) and captions
whatever other classes are chosen. Within a class the variants take turns (from a seeded offset), so they are
balanced; ``SoundCorpusConfig.classes`` [ours] renders a subset (e.g. without speech where espeak-ng is missing),
and a mixture draws its two classes from that set. Eval clips are held out per class (and among mixtures) by a
seeded permutation: ``round(eval_fraction · n)`` of them, at least one when there are two or more clips and
``eval_fraction > 0``.

API: ``CLASSES`` maps a class name to its generator ``fn(rng, seconds, sr, variant) -> ndarray`` (the clean
signal); ``VARIANTS`` lists each class's variants; ``render(class_name, rng, seconds, sr, variant=None)`` gives one
finished float32 clip (a notebook or a CLI test can make a siren, rain or speech clip this way);
``render_mixture`` overlays two classes; ``LABELS`` / ``CLAUSES`` map (class, variant) to labels and caption clauses;
``load_vocabulary(path=None)`` reads the bundled vocabulary or a full AudioSet label list.

The corpus is cached under ``$WORKBENCH_HOME/data/synthetic/sounds-<key>/`` by ``synth.cached_corpus`` (atomic
write); ``manifest.parquet`` holds id, path (``wav/<id>.wav``, 16 kHz mono PCM16, peak ≈ 0.5), class (the class name,
or ``mixture``), variant, sources (list of class names), labels (list), captions (list), split (train | eval),
seconds. ``sound_corpus`` returns it with absolute paths and Python lists.
"""
from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from workbench import WorkbenchError
from workbench.paths import DATA_DIR

SR = 16000
VOCABULARY_PATH = DATA_DIR / "captioning" / "vocabulary.csv"


# ---------------------------------------------------------------------------------------------- DSP helpers


def _n(seconds: float, sr: int) -> int:
    return max(1, int(round(seconds * sr)))


def _nyq(freq, sr: int, margin: float = 0.45):
    return np.minimum(freq, margin * sr)


def _phase(freq: np.ndarray, sr: int, start: float = 0.0) -> np.ndarray:
    return start + 2 * np.pi * np.cumsum(freq) / sr


def _filter(x: np.ndarray, sr: int, lo: float | None = None, hi: float | None = None, order: int = 2) -> np.ndarray:
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


def _smooth(rng: np.random.Generator, n: int, sr: int, rate: float, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """A slowly varying random control signal in [lo, hi]: random knots ``rate`` per second, cosine-interpolated."""
    knots = int(np.ceil(n / sr * rate)) + 2
    values = rng.uniform(lo, hi, knots)
    pos = np.arange(n) / sr * rate
    i = np.floor(pos).astype(int)
    w = 0.5 - 0.5 * np.cos(np.pi * (pos - i))
    return values[i] * (1 - w) + values[i + 1] * w


def _pink(rng: np.random.Generator, n: int) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=float)
    f[0] = 1.0
    out = np.fft.irfft(spectrum / np.sqrt(f), n)
    return out / (np.std(out) + 1e-12)


def _add(out: np.ndarray, event: np.ndarray, start: int) -> None:
    if start >= len(out) or start + len(event) <= 0:
        return
    if start < 0:
        event, start = event[-start:], 0
    m = min(len(event), len(out) - start)
    out[start:start + m] += event[:m]


def _mode(freq: float, tau: float, sr: int, length: float | None = None, phase: float = 0.0) -> np.ndarray:
    """A decaying sinusoid (one resonant mode)."""
    t = np.arange(_n(length or 6 * tau, sr)) / sr
    return np.sin(2 * np.pi * min(freq, 0.45 * sr) * t + phase) * np.exp(-t / tau)


def _burst(rng: np.random.Generator, tau: float, sr: int, lo=None, hi=None) -> np.ndarray:
    t = np.arange(_n(6 * tau, sr)) / sr
    return _filter(rng.standard_normal(len(t)), sr, lo, hi) * np.exp(-t / tau)


def _ramp(x: np.ndarray, sr: int, ms: float = 5.0) -> np.ndarray:
    k = min(len(x) // 2, _n(ms / 1000, sr))
    if k > 0:
        w = np.linspace(0, 1, k)
        x[:k] *= w
        x[-k:] *= w[::-1]
    return x


def _harmonics(phase: np.ndarray, amps) -> np.ndarray:
    return sum(a * np.sin((k + 1) * phase) for k, a in enumerate(amps) if a)


# ---------------------------------------------------------------------------------------------- the classes


def siren(rng, seconds, sr, variant):
    n = _n(seconds, sr)
    t = np.arange(n) / sr
    lo = rng.uniform(500, 800)
    hi = lo * rng.uniform(1.6, 2.2)
    if variant == "wail":
        shape = 0.5 - 0.5 * np.cos(2 * np.pi * t / rng.uniform(2.0, 4.5) + rng.uniform(0, 2 * np.pi))
    else:
        shape = np.abs(((t / rng.uniform(0.18, 0.4) + rng.uniform()) % 1.0) * 2 - 1)
    freq = lo + (hi - lo) * shape
    env = np.ones(n)
    if rng.uniform() < 0.5:                              # a pass-by: louder in the middle, small Doppler drop
        centre, width = rng.uniform(0.3, 0.7) * seconds, rng.uniform(0.4, 1.0) * seconds
        env = 0.3 + 0.7 * np.exp(-((t - centre) / width) ** 2)
        freq = freq * (1 + 0.03 * np.tanh((centre - t) / (0.2 * width)))
    phase = _phase(_nyq(freq, sr, 0.15), sr)
    return env * _harmonics(phase, [1.0, rng.uniform(0.1, 0.4), rng.uniform(0.05, 0.3)])


def alarm(rng, seconds, sr, variant):
    out = np.zeros(_n(seconds, sr))
    freq = float(_nyq(rng.uniform(1800, 3500), sr, 0.3))
    third = rng.uniform(0.1, 0.4) if 3 * freq < 0.45 * sr else 0.0
    if variant == "steady":
        on, off = rng.uniform(0.06, 0.2), rng.uniform(0.06, 0.25)
        starts = np.arange(-rng.uniform(0, on + off), seconds, on + off)
    else:                                                # alarm clock: groups of quick beeps, then a pause
        on, off, pause = rng.uniform(0.05, 0.09), rng.uniform(0.05, 0.08), rng.uniform(0.3, 0.6)
        group = int(rng.integers(3, 6))
        firsts = np.arange(rng.uniform(0, 0.3), seconds, group * (on + off) + pause)
        starts = np.array([f + k * (on + off) for f in firsts for k in range(group)])
    t = np.arange(_n(on, sr)) / sr
    beep = _ramp(np.sin(2 * np.pi * freq * t) + third * np.sin(2 * np.pi * 3 * freq * t), sr, 4)
    for start in starts:
        _add(out, beep, int(round(start * sr)))
    return out


def tone(rng, seconds, sr, variant):
    t = np.arange(_n(seconds, sr)) / sr
    if variant == "sine":
        freq = float(np.exp(rng.uniform(np.log(200), np.log(2000))))
        return np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
    f0 = float(rng.choice([50, 60])) * float(rng.choice([1, 2]))
    slope = rng.uniform(0.8, 1.5)
    ks = np.arange(1, 13)
    amps = np.where(ks * f0 < 0.45 * sr, ks ** -slope * rng.uniform(0.3, 1.0, len(ks)), 0.0)
    amps[0] = 1.0
    return sum(a * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi)) for k, a in zip(ks, amps))


def chirp(rng, seconds, sr, variant):
    n = _n(seconds, sr)
    out = np.zeros(n)
    if variant in ("rising", "falling"):
        dur = min(rng.uniform(0.3, 1.0), 0.8 * seconds)
        gap = rng.uniform(0.05, 0.4)
        f1, f2 = rng.uniform(200, 600), float(_nyq(rng.uniform(2000, 5000), sr, 0.4))
        t = np.arange(_n(dur, sr)) / sr
        freq = f1 * (f2 / f1) ** (t / dur)
        if variant == "falling":
            freq = freq[::-1]
        sweep = _ramp(np.sin(_phase(freq, sr)), sr, 10)
        for start in np.arange(rng.uniform(0, 0.2), seconds, dur + gap):
            _add(out, sweep, int(round(start * sr)))
        return out
    start = rng.uniform(0, 0.2)
    while start < seconds:                                  # phrases of short chirps
        for _ in range(int(rng.integers(2, 7))):
            dur = rng.uniform(0.03, 0.12)
            t = np.arange(_n(dur, sr)) / sr
            centre, depth = rng.uniform(2500, 5500), rng.uniform(500, 1500) * rng.choice([-1, 1])
            if rng.uniform() < 0.3:                           # a trill
                freq = centre + depth * np.sin(2 * np.pi * rng.uniform(30, 60) * t)
            else:
                freq = centre + depth * (t / dur - 0.5)
            _add(out, np.sin(_phase(_nyq(freq, sr), sr)) * np.hanning(len(t)) * rng.uniform(0.5, 1.0),
                 int(round(start * sr)))
            start += dur + rng.uniform(0.04, 0.2)
        start += rng.uniform(0.2, 0.8)
    return out


def rain(rng, seconds, sr, variant):
    n = _n(seconds, sr)
    heavy = variant == "heavy"
    level = rng.uniform(0.5, 0.8) if heavy else rng.uniform(0.12, 0.25)
    out = level * _filter(rng.standard_normal(n), sr, lo=rng.uniform(300, 800), order=1)
    out *= _smooth(rng, n, sr, 2.0, 0.8, 1.0)
    rate = rng.uniform(80, 200) if heavy else rng.uniform(20, 60)
    clicks = _filter(rng.standard_normal(n + _n(0.04, sr)), sr, lo=1000)
    for start in rng.uniform(0, seconds, rng.poisson(rate * seconds)):
        tau = rng.uniform(0.001, 0.006)
        drop = _mode(rng.uniform(1500, 6000), tau, sr)
        j = int(rng.integers(n))
        drop += 0.5 * clicks[j:j + len(drop)] * np.exp(-np.arange(len(drop)) / sr / (tau / 2))
        _add(out, drop * rng.uniform(0.2, 1.0), int(start * sr))
    return out


def wind(rng, seconds, sr, variant):
    n = _n(seconds, sr)
    base = _filter(rng.standard_normal(n), sr, hi=rng.uniform(200, 600), order=1)
    howl = _filter(rng.standard_normal(n), sr, lo=rng.uniform(250, 400), hi=rng.uniform(700, 1200))
    if variant == "gusts":
        gust = _smooth(rng, n, sr, rng.uniform(0.8, 1.8), 0.1, 1.0) ** 1.5
    else:
        gust = _smooth(rng, n, sr, rng.uniform(0.3, 0.6), 0.6, 1.0)
    return gust * (base / (np.std(base) + 1e-12) + rng.uniform(0.1, 0.4) * howl / (np.std(howl) + 1e-12))


def engine(rng, seconds, sr, variant):
    n = _n(seconds, sr)
    t = np.arange(n) / sr
    f0 = rng.uniform(25, 45)
    wobble = 1 + 0.03 * np.sin(2 * np.pi * rng.uniform(0.5, 2.0) * t) + _smooth(rng, n, sr, 4.0, -0.02, 0.02)
    if variant == "revving":
        bump = np.zeros(n)
        for _ in range(int(rng.integers(1, 3))):
            centre, width = rng.uniform(0.25, 0.75) * seconds, rng.uniform(0.15, 0.3) * seconds
            bump = np.maximum(bump, np.exp(-((t - centre) / width) ** 2))
        wobble = wobble * (1 + rng.uniform(1.5, 3.0) * bump)
    freq = f0 * wobble
    phase = _phase(freq, sr, rng.uniform(0, 2 * np.pi))
    count = int(min(60, 0.45 * sr / freq.max()))
    slope = rng.uniform(1.0, 1.4)
    formant = rng.uniform(200, 600)
    amps = [k ** -slope * (1 + 2 * np.exp(-((k * f0 - formant) / 200) ** 2)) for k in range(1, count + 1)]
    buzz = _harmonics(phase, amps)
    pulse = 0.5 + 0.5 * np.cos(phase)
    noise = _filter(rng.standard_normal(n), sr, hi=800) * pulse
    return buzz / (np.std(buzz) + 1e-12) + rng.uniform(0.2, 0.5) * noise / (np.std(noise) + 1e-12)


def knock(rng, seconds, sr, variant):
    n = _n(seconds, sr)
    out = np.zeros(n)
    if variant == "door":
        base = rng.uniform(120, 250)
        tau = rng.uniform(0.015, 0.04)
        start = rng.uniform(0.05, 0.3)
        while start < seconds:
            spacing = rng.uniform(0.12, 0.25)
            for _ in range(int(rng.integers(2, 5))):
                hit = sum(_mode(base * r, tau / r ** 0.5, sr, 6 * tau, rng.uniform(0, 2 * np.pi)) / r
                          for r in (1.0, 2.3, 3.8))                          # three wooden modes
                _add(hit, 0.6 * _burst(rng, 0.002, sr, lo=1500), 0)         # plus the click of the knuckle
                _add(out, hit * rng.uniform(0.7, 1.0), int(start * sr))
                start += spacing * rng.uniform(0.9, 1.1)
            start += rng.uniform(0.6, 1.2)
        return out
    period = rng.uniform(0.45, 0.65)
    low, tau = rng.uniform(60, 120), rng.uniform(0.02, 0.04)
    start = rng.uniform(0, period)
    while start < seconds:
        step = _mode(low, tau, sr, 0.2)                                       # the heel's thump ...
        _add(step, 0.5 * _burst(rng, 0.01, sr, hi=2000), 0)
        _add(step, 0.5 * _burst(rng, 0.008, sr, hi=3000), _n(rng.uniform(0.02, 0.06), sr))   # ... and the toe
        _add(out, step * rng.uniform(0.7, 1.0), int(start * sr))
        start += period * rng.uniform(0.95, 1.05)
    return out


def clock(rng, seconds, sr, variant):
    n = _n(seconds, sr)
    out = np.zeros(n)
    period = rng.uniform(0.25, 0.55)
    high = rng.uniform(2000, 4500)
    low = high * rng.uniform(0.5, 0.7)
    tock_level = rng.uniform(0.6, 0.9)
    for k, start in enumerate(np.arange(rng.uniform(0, period), seconds, period)):
        tock = variant == "ticktock" and k % 2 == 1
        freq = low if tock else high
        tick = _mode(freq, 0.004, sr, 0.03)
        _add(tick, 0.7 * _burst(rng, 0.0015, sr, lo=1500), 0)
        _add(out, tick * (tock_level if tock else 1.0), int(round(start * sr)))
    return out


# espeak-ng voice+variant names; a variant after plain "en-gb" is silently ignored, so the female voices use
# "en-us", "en-gb-x-rp" and "en-gb-scotland" (measured median f0 about 180–250 Hz, the male ones about 85–110 Hz).
MALE_VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-us+m3", "en-gb-x-rp+m2")
FEMALE_VOICES = ("en-us+f2", "en-us+f3", "en-us+f5", "en-gb-x-rp+f5", "en-gb-x-rp+f2", "en-gb-scotland+f3")


def speech(rng, seconds, sr, variant):
    from workbench.deepfake import synth

    n = _n(seconds, sr)
    female = variant == "female"
    voice = str(rng.choice(FEMALE_VOICES if female else MALE_VOICES))
    pitch = int(rng.integers(55, 80) if female else rng.integers(20, 45))
    text = synth.SENTENCES[int(rng.integers(len(synth.SENTENCES)))]
    audio = np.asarray(synth.speak(text, voice=voice, rate=int(rng.integers(140, 191)), pitch=pitch, sr=sr),
                       dtype=float)
    if len(audio) >= n:
        return audio[:n]
    out = np.zeros(n)
    _add(out, audio, int(rng.integers(0, n - len(audio) + 1)))
    return out


PENTATONIC = (0, 2, 4, 7, 9)


def music(rng, seconds, sr, variant):
    n = _n(seconds, sr)
    out = np.zeros(n)
    root = int(rng.integers(48, 65))
    beat = 60.0 / rng.uniform(90, 160)
    degree = int(rng.integers(0, 5))
    start = rng.uniform(0, 0.15)
    drawbars = [1.0, rng.uniform(0.3, 0.8), rng.uniform(0.1, 0.5), rng.uniform(0.1, 0.4), 0.0, rng.uniform(0, 0.3)]
    tau = rng.uniform(0.4, 1.0)
    while start < seconds:
        degree = int(np.clip(degree + rng.integers(-2, 3), 0, 9))
        midi = root + PENTATONIC[degree % 5] + 12 * (degree // 5)
        freq = 440.0 * 2 ** ((midi - 69) / 12)
        length = beat * float(rng.choice([0.5, 1.0, 1.0, 2.0]))
        if variant == "piano":
            t = np.arange(_n(min(length + 1.5, 4.0), sr)) / sr
            partials = [k * freq * np.sqrt(1 + 1e-4 * k * k) for k in range(1, 9)]
            note = sum(k ** -1.2 * np.sin(2 * np.pi * f * t) * np.exp(-t / (tau / k ** 0.5))
                       for k, f in enumerate(partials, 1) if f < 0.45 * sr)
            note *= np.minimum(1.0, t / 0.005)
        else:
            t = np.arange(_n(length, sr)) / sr
            note = _harmonics(2 * np.pi * freq * t, [a if (k + 1) * freq < 0.45 * sr else 0
                                                     for k, a in enumerate(drawbars)])
            if rng.uniform() < 0.5:                                              # a third above
                third = freq * 2 ** (4 / 12)
                note = note + 0.6 * _harmonics(2 * np.pi * third * t, [a if (k + 1) * third < 0.45 * sr else 0
                                                                       for k, a in enumerate(drawbars)])
            note = _ramp(note, sr, 20)
        _add(out, note * rng.uniform(0.7, 1.0), int(round(start * sr)))
        start += length
    return out


def water(rng, seconds, sr, variant):
    n = _n(seconds, sr)
    stream = variant == "stream"
    noise = _filter(rng.standard_normal(n), sr, lo=300, hi=3000)
    out = (rng.uniform(0.2, 0.4) if stream else rng.uniform(0.05, 0.12)) * noise / (np.std(noise) + 1e-12)
    out *= _smooth(rng, n, sr, 3.0, 0.6, 1.0)
    rate = rng.uniform(30, 80) if stream else rng.uniform(8, 25)
    for start in rng.uniform(0, seconds, rng.poisson(rate * seconds)):
        f0 = rng.uniform(400, 2500) if stream else rng.uniform(150, 700)
        tau = rng.uniform(0.005, 0.02) if stream else rng.uniform(0.015, 0.05)
        t = np.arange(_n(5 * tau, sr)) / sr
        freq = f0 * (1 + rng.uniform(0.5, 2.0) * t / tau / 5)
        blip = np.sin(_phase(_nyq(freq, sr), sr)) * np.exp(-t / tau) * np.minimum(1.0, t / 0.001)
        _add(out, blip * rng.uniform(0.2, 1.0), int(start * sr))
    return out


CLASSES = {"siren": siren, "alarm": alarm, "tone": tone, "chirp": chirp, "rain": rain, "wind": wind,
           "engine": engine, "knock": knock, "clock": clock, "speech": speech, "music": music, "water": water}
VARIANTS = {"siren": ("wail", "yelp"), "alarm": ("steady", "clock"), "tone": ("sine", "hum"),
            "chirp": ("rising", "falling", "bird"), "rain": ("light", "heavy"), "wind": ("breeze", "gusts"),
            "engine": ("idle", "revving"), "knock": ("door", "footsteps"), "clock": ("tick", "ticktock"),
            "speech": ("male", "female"), "music": ("piano", "organ"), "water": ("stream", "gurgle")}

# ---------------------------------------------------------------------------------------------- labels, captions

LABELS = {
    ("siren", "wail"): ["Siren", "Alarm", "Emergency vehicle", "Vehicle"],
    ("siren", "yelp"): ["Siren", "Alarm", "Emergency vehicle", "Vehicle"],
    ("alarm", "steady"): ["Alarm", "Beep, bleep"],
    ("alarm", "clock"): ["Alarm", "Alarm clock", "Beep, bleep"],
    ("tone", "sine"): ["Sine wave"],
    ("tone", "hum"): ["Hum", "Mains hum"],
    ("chirp", "rising"): ["Chirp tone"],
    ("chirp", "falling"): ["Chirp tone"],
    ("chirp", "bird"): ["Bird", "Animal", "Bird vocalization, bird call, bird song", "Chirp, tweet"],
    ("rain", "light"): ["Rain", "Raindrop", "Rain on surface", "Water"],
    ("rain", "heavy"): ["Rain", "Raindrop", "Rain on surface", "Water"],
    ("wind", "breeze"): ["Wind"],
    ("wind", "gusts"): ["Wind"],
    ("engine", "idle"): ["Engine", "Idling", "Vehicle"],
    ("engine", "revving"): ["Engine", "Accelerating, revving, vroom", "Vehicle"],
    ("knock", "door"): ["Knock", "Door"],
    ("knock", "footsteps"): ["Walk, footsteps"],
    ("clock", "tick"): ["Clock", "Tick"],
    ("clock", "ticktock"): ["Clock", "Tick", "Tick-tock"],
    ("speech", "male"): ["Speech", "Male speech, man speaking", "Speech synthesizer"],
    ("speech", "female"): ["Speech", "Female speech, woman speaking", "Speech synthesizer"],
    ("music", "piano"): ["Music", "Musical instrument", "Keyboard (musical)", "Piano"],
    ("music", "organ"): ["Music", "Musical instrument", "Keyboard (musical)", "Organ"],
    ("water", "stream"): ["Water", "Stream"],
    ("water", "gurgle"): ["Water", "Gurgling"],
}

# Clauses: a caption is a clause with a capital and a full stop; mixtures join two clauses.
CLAUSES = {
    ("siren", "wail"): [
        "a siren wails as an emergency vehicle passes by", "an emergency vehicle siren rises and falls in pitch",
        "a siren wails loudly and continuously", "a long wailing siren sweeps up and down",
        "a siren wails in the distance", "a siren sounds with a slow rising and falling tone",
        "an emergency siren wails steadily"],
    ("siren", "yelp"): [
        "a siren yelps rapidly", "an emergency vehicle siren warbles quickly up and down",
        "a fast yelping siren sounds", "a siren yelps as an emergency vehicle approaches",
        "a siren warbles with a rapid rising and falling tone", "an emergency siren blares with a quick yelp"],
    ("alarm", "steady"): [
        "an alarm beeps repeatedly", "a high-pitched electronic beep repeats steadily",
        "a device emits a series of short beeps", "an electronic alarm keeps beeping",
        "regular beeps sound from an alarm", "a shrill beeping alarm goes off"],
    ("alarm", "clock"): [
        "an alarm clock beeps in quick bursts", "an alarm clock goes off with groups of beeps",
        "groups of rapid beeps sound from an alarm clock", "an alarm clock rings with repeated electronic beeps",
        "a digital alarm clock beeps several times and pauses", "bursts of beeping come from an alarm"],
    ("tone", "sine"): [
        "a steady pure tone sounds", "a constant sine wave tone plays", "a single steady electronic tone is heard",
        "a continuous tone rings without changing pitch", "a test tone plays at a constant pitch",
        "a clean sine tone holds one note"],
    ("tone", "hum"): [
        "a low electrical hum continues", "a steady mains hum drones in the background",
        "an electrical device hums at a low pitch", "a constant low hum is heard", "a transformer hums steadily",
        "a deep steady hum fills the air"],
    ("chirp", "rising"): [
        "an electronic tone sweeps upward in pitch", "a chirp tone rises quickly from low to high",
        "a synthetic tone glides up in pitch", "rising electronic sweeps repeat",
        "a tone slides upward from a low pitch to a high pitch", "an upward frequency sweep plays"],
    ("chirp", "falling"): [
        "an electronic tone sweeps downward in pitch", "a chirp tone falls quickly from high to low",
        "a synthetic tone glides down in pitch", "falling electronic sweeps repeat",
        "a tone slides downward from a high pitch to a low pitch", "a downward frequency sweep plays"],
    ("chirp", "bird"): [
        "a bird chirps", "birds tweet and chirp", "a small bird sings a series of short chirps",
        "a bird calls with quick high-pitched chirps", "chirping birds are heard", "a songbird tweets repeatedly"],
    ("rain", "light"): [
        "light rain falls with scattered drops", "raindrops fall gently on a surface", "a light rain shower falls",
        "rain drizzles softly", "drops of rain land on a roof", "gentle rain falls steadily"],
    ("rain", "heavy"): [
        "heavy rain pours down", "rain falls steadily on a surface", "rain pours down hard on a roof",
        "a downpour of rain hisses steadily", "heavy rain beats on the ground", "rain falls hard and continuously"],
    ("wind", "breeze"): [
        "wind blows steadily", "a gentle wind blows", "a steady breeze rushes past",
        "wind blows softly and continuously", "air rushes past in a light wind", "a low wind blows without pause"],
    ("wind", "gusts"): [
        "strong wind gusts", "wind blows in strong gusts", "gusts of wind rise and fall",
        "a strong wind howls and gusts", "wind roars in gusts", "wind blows hard and then dies down"],
    ("engine", "idle"): [
        "an engine idles", "a vehicle engine idles steadily", "a vehicle engine runs at idle",
        "an engine rumbles at a low speed", "a motor idles with a low rumble", "a parked vehicle's engine runs idle"],
    ("engine", "revving"): [
        "an engine revs up", "a vehicle engine accelerates and revs", "a vehicle engine revs and slows down",
        "an engine roars as it accelerates", "a motor speeds up and its pitch rises", "a driver revs an engine"],
    ("knock", "door"): [
        "someone knocks on a door", "a person knocks on a door several times", "knocks sound on a wooden door",
        "someone raps on a door repeatedly", "a door is knocked on a few times", "several knocks land on a door"],
    ("knock", "footsteps"): [
        "footsteps walk across a floor", "a person walks with steady footsteps", "someone walks on a hard floor",
        "footsteps approach slowly", "a person is walking", "footsteps sound on the ground"],
    ("clock", "tick"): [
        "a clock ticks", "a clock ticks steadily", "a mechanical clock ticks regularly",
        "regular ticking comes from a clock", "a clock ticks at an even pace", "a clock ticks without stopping"],
    ("clock", "ticktock"): [
        "a clock goes tick-tock", "a clock ticks and tocks steadily", "a pendulum clock ticks regularly",
        "a clock alternates tick and tock sounds", "a wall clock ticks and tocks",
        "steady tick-tock sounds come from a clock"],
    ("speech", "male"): [
        "a man speaks", "a man speaks in a calm voice", "a man is talking", "a male voice says a sentence",
        "a man speaks clearly", "a man says something in a steady voice", "a synthesized male voice speaks"],
    ("speech", "female"): [
        "a woman speaks", "a woman speaks in a calm voice", "a woman is talking", "a female voice says a sentence",
        "a woman speaks clearly", "a woman says something in a steady voice", "a synthesized female voice speaks"],
    ("music", "piano"): [
        "a piano plays a simple melody", "someone plays a short tune on the piano",
        "piano notes ring out one after another", "a gentle piano melody plays", "music plays on a piano",
        "a few piano notes are played"],
    ("music", "organ"): [
        "an organ plays a melody", "music plays on an organ", "sustained organ notes play a tune",
        "an organ plays a simple tune", "organ music plays steadily", "long organ notes form a melody"],
    ("water", "stream"): [
        "water flows in a stream", "a stream runs over rocks", "water runs and babbles in a brook",
        "a small stream flows steadily", "running water gurgles softly", "water flows and bubbles gently"],
    ("water", "gurgle"): [
        "water bubbles and gurgles", "water gurgles", "bubbles rise and pop in water",
        "liquid bubbles and gurgles steadily", "water bubbles as it flows", "gurgling water is heard"],
}
JOINS = ("{A} while {b}", "{A} as {b}", "{A} and {b}", "{A}, and in the background {b}", "{B} while {a}",
         "{B} as {a}")                                      # a = the louder source, b = the quieter one


def _sentence(clause: str) -> str:
    return clause[0].upper() + clause[1:] + "."


def captions_for(key: tuple[str, str], rng: np.random.Generator) -> list[str]:
    pool = CLAUSES[key]
    k = int(rng.integers(4, 6))
    return [_sentence(pool[i]) for i in rng.choice(len(pool), size=min(k, len(pool)), replace=False)]


def mixture_captions(first: tuple[str, str], second: tuple[str, str], rng: np.random.Generator) -> list[str]:
    k = int(rng.integers(4, 6))
    joins = rng.choice(len(JOINS), size=k, replace=False)
    out = []
    for j in joins:
        a = CLAUSES[first][int(rng.integers(len(CLAUSES[first])))]
        b = CLAUSES[second][int(rng.integers(len(CLAUSES[second])))]
        text = JOINS[j].format(A=a[0].upper() + a[1:], a=a, B=b[0].upper() + b[1:], b=b)
        out.append(text + ".")
    return out


def corpus_labels() -> set[str]:
    """Every vocabulary keyword the synthetic corpus can produce."""
    return {label for labels in LABELS.values() for label in labels}


# ---------------------------------------------------------------------------------------------- rendering


def _check_class(class_name: str, variant: str | None = None) -> None:
    if class_name not in CLASSES:
        raise WorkbenchError(f"unknown sound class '{class_name}'; choose from {', '.join(CLASSES)}")
    if variant is not None and variant not in VARIANTS[class_name]:
        raise WorkbenchError(f"unknown variant '{variant}' of '{class_name}'; choose from "
                             f"{', '.join(VARIANTS[class_name])}")


def _finish(audio: np.ndarray, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Fades, background noise at a random SNR (20–40 dB, pink or white), peak normalised to about 0.5."""
    x = np.asarray(audio, dtype=float).copy()
    n = len(x)
    k_in, k_out = (min(n // 2, _n(rng.uniform(0.005, 0.15), sr)) for _ in range(2))
    x[:k_in] *= np.linspace(0, 1, k_in)
    x[n - k_out:] *= np.linspace(1, 0, k_out)
    rms = np.sqrt(np.mean(x ** 2)) + 1e-12
    noise = _pink(rng, n) if rng.uniform() < 0.5 else rng.standard_normal(n)
    x = x + noise * rms * 10 ** (-rng.uniform(20, 40) / 20)
    peak = np.abs(x).max()
    return (x * rng.uniform(0.45, 0.55) / peak).astype(np.float32) if peak > 0 else x.astype(np.float32)


def _raw(class_name: str, rng: np.random.Generator, seconds: float, sr: int, variant: str | None) -> tuple:
    _check_class(class_name, variant)
    variant = variant or VARIANTS[class_name][int(rng.integers(len(VARIANTS[class_name])))]
    n = _n(seconds, sr)
    audio = np.asarray(CLASSES[class_name](rng, seconds, sr, variant), dtype=float)
    return np.pad(audio, (0, max(0, n - len(audio))))[:n], variant


def render(class_name: str, rng: np.random.Generator | int | None = None, seconds: float = 3.0, sr: int = SR, *,
           variant: str | None = None) -> np.ndarray:
    """One finished clip (float32, mono, ``sr`` Hz) of ``class_name``; ``variant`` None = drawn from ``rng``."""
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    audio, _ = _raw(class_name, rng, seconds, sr, variant)
    return _finish(audio, rng, sr)


def render_mixture(first: str, second: str, rng: np.random.Generator | int | None = None, seconds: float = 3.0,
                   sr: int = SR, *, gain_db: float | None = None) -> tuple[np.ndarray, str, str]:
    """``first`` plus ``second`` (``gain_db`` quieter, drawn in 0–10 dB when None) at equal RMS otherwise;
    returns the audio and the two variants."""
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    a, va = _raw(first, rng, seconds, sr, None)
    b, vb = _raw(second, rng, seconds, sr, None)
    gain = 10 ** (-(rng.uniform(0, 10) if gain_db is None else gain_db) / 20)
    mix = a / (np.sqrt(np.mean(a ** 2)) + 1e-12) + gain * b / (np.sqrt(np.mean(b ** 2)) + 1e-12)
    return _finish(mix, rng, sr), va, vb


# ---------------------------------------------------------------------------------------------- the corpus


@dataclass(frozen=True)
class SoundCorpusConfig:
    n_per_class: int = 12
    seconds: float = 3.0
    sr: int = SR
    eval_fraction: float = 0.25          # share of each class's clips (and of the mixtures) held out for eval
    mixtures: int = 12
    seed: int = 0
    classes: tuple[str, ...] = tuple(CLASSES)    # [ours] a subset can be rendered (e.g. without espeak-ng)

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


def _validate(config: SoundCorpusConfig) -> None:
    if config.n_per_class < 1:
        raise WorkbenchError("the sound corpus needs n_per_class >= 1")
    if config.mixtures < 0:
        raise WorkbenchError("mixtures must be >= 0")
    if not 0.1 <= config.seconds <= 60:
        raise WorkbenchError(f"seconds must be in [0.1, 60], not {config.seconds}")
    if not 8000 <= config.sr <= 48000:
        raise WorkbenchError(f"sr must be in [8000, 48000] Hz, not {config.sr}")
    if not 0 <= config.eval_fraction < 1:
        raise WorkbenchError(f"eval_fraction must be in [0, 1), not {config.eval_fraction}")
    if not config.classes:
        raise WorkbenchError("the sound corpus needs at least one class")
    for name in config.classes:
        _check_class(name)
    if len(set(config.classes)) != len(config.classes):
        raise WorkbenchError(f"duplicate classes in {config.classes}")
    if config.mixtures and len(config.classes) < 2:
        raise WorkbenchError("mixtures need at least two classes")
    missing = sorted(corpus_labels() - set(load_vocabulary()))
    if missing:
        raise WorkbenchError(f"labels missing from {VOCABULARY_PATH}: {missing}")


def _n_eval(n: int, fraction: float) -> int:
    return 0 if fraction <= 0 or n < 2 else int(np.clip(round(fraction * n), 1, n - 1))


def _streams(seed: int, tag: str, index: int) -> tuple[np.random.Generator, np.random.Generator]:
    audio, text = np.random.SeedSequence([seed, zlib.crc32(tag.encode()), index]).spawn(2)
    return np.random.default_rng(audio), np.random.default_rng(text)


def _plan(config: SoundCorpusConfig) -> list[dict]:
    rows = []
    split_rng = np.random.default_rng([config.seed, 7])
    groups = [(name, config.n_per_class) for name in config.classes] + [("mixture", config.mixtures)]
    for name, n in groups:
        held = set(split_rng.permutation(n)[:_n_eval(n, config.eval_fraction)].tolist()) if n else set()
        variants = VARIANTS.get(name, ("",))
        offset = int(np.random.default_rng([config.seed, zlib.crc32(name.encode())]).integers(len(variants)))
        for i in range(n):                                   # variants take turns, from a seeded offset
            rows.append({"id": f"{name if name != 'mixture' else 'mix'}-{i:03d}", "class": name, "index": i,
                         "variant": variants[(i + offset) % len(variants)],
                         "split": "eval" if i in held else "train"})
    return rows


def sound_corpus(config: SoundCorpusConfig | None = None, *, root: str | Path | None = None, progress=None):
    """The manifest (absolute paths, list columns as lists) of the synthetic sound corpus, made once and cached."""
    import soundfile as sf

    from workbench.deepfake.synth import cached_corpus
    from workbench.paths import home

    config = config or SoundCorpusConfig()
    _validate(config)
    base = Path(root) if root else home() / "data" / "synthetic"

    def build(tmp: Path, rows: list[dict]) -> None:
        if "speech" in config.classes:
            from workbench.deepfake.synth import espeak_binary

            espeak_binary()
        (tmp / "wav").mkdir()
        plan = _plan(config)
        for k, item in enumerate(plan):
            name, i = item["class"], item["index"]
            audio_rng, text_rng = _streams(config.seed, name, i)
            if name == "mixture":
                first, second = (str(c) for c in audio_rng.choice(config.classes, size=2, replace=False))
                audio, va, vb = render_mixture(first, second, audio_rng, config.seconds, config.sr)
                labels = list(dict.fromkeys(LABELS[(first, va)] + LABELS[(second, vb)]))
                captions = mixture_captions((first, va), (second, vb), text_rng)
                variant, sources = f"{va}+{vb}", [first, second]
            else:
                variant = item["variant"]
                raw, _ = _raw(name, audio_rng, config.seconds, config.sr, variant)
                audio = _finish(raw, audio_rng, config.sr)
                labels, captions, sources = list(LABELS[(name, variant)]), captions_for((name, variant), text_rng), [
                    name]
            path = f"wav/{item['id']}.wav"
            sf.write(tmp / path, audio, config.sr, subtype="PCM_16")
            rows.append({"id": item["id"], "path": path, "class": name, "variant": variant, "sources": sources,
                         "labels": labels, "captions": captions, "split": item["split"],
                         "seconds": len(audio) / config.sr})
            if progress:
                progress((k + 1) / len(plan), f"synthetic sounds {k + 1}/{len(plan)}")

    manifest = cached_corpus(base / f"sounds-{config.key()}", config, build)
    for column in ("sources", "labels", "captions"):
        manifest[column] = [[str(v) for v in value] for value in manifest[column]]
    return manifest


# ---------------------------------------------------------------------------------------------- vocabulary


def load_vocabulary(path: str | Path | None = None) -> list[str]:
    """Sound-event keywords, in file order: the bundled ``data/captioning/vocabulary.csv`` by default, or any CSV
    with a ``keyword`` column, or AudioSet's ``class_labels_indices.csv`` (``index,mid,display_name``)."""
    import pandas as pd

    path = Path(path) if path else VOCABULARY_PATH
    if not path.is_file():
        raise WorkbenchError(f"vocabulary file not found: {path}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise WorkbenchError(f"cannot read vocabulary {path}: {exc}") from exc
    columns = {c.strip().lower(): c for c in frame.columns}
    column = columns.get("keyword") or columns.get("display_name")
    if column is None:
        raise WorkbenchError(f"vocabulary {path} needs a 'keyword' (or AudioSet 'display_name') column; "
                             f"found {list(frame.columns)}")
    keywords = [str(k).strip() for k in frame[column]]
    if not keywords:
        raise WorkbenchError(f"vocabulary {path} is empty")
    blank = [i + 2 for i, k in enumerate(keywords) if not k]
    if blank:
        raise WorkbenchError(f"vocabulary {path} has empty keywords on line(s) {blank[:5]}")
    seen, duplicates = set(), []
    for k in keywords:
        if k in seen:
            duplicates.append(k)
        seen.add(k)
    if duplicates:
        raise WorkbenchError(f"vocabulary {path} repeats keyword(s) {sorted(set(duplicates))[:5]}")
    return keywords


__all__ = ["CLASSES", "CLAUSES", "LABELS", "SR", "SoundCorpusConfig", "VARIANTS", "VOCABULARY_PATH",
           "captions_for", "corpus_labels", "load_vocabulary", "mixture_captions", "render", "render_mixture",
           "sound_corpus"]
