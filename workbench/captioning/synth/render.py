"""The twelve synthetic sound classes of the P9 corpus and how one finished clip is rendered.

Used by ``captioning.synth.corpus`` (the cached corpus), the dashboard's captions view and the CLI tests (one
siren, rain or speech clip: ``render("siren", seed)``), and ``benchmarks/magic_decoding.py``.

Classes and how they are made [ours: every recipe below is our own choice]. Each generator
``fn(rng, seconds, sr, variant) -> ndarray`` draws its parameters (pitch, rate, level, envelope) per clip from the
clip's random generator and returns the clean signal; ``render`` then adds fades, background noise at a random SNR
and scales the clip to a random loudness (``finish_clip``). Each class has two or three *variants* (``VARIANTS``) that change labels and captions:

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
* ``speech`` — ``male`` / ``female``: espeak-ng sentences (``workbench.media.speech.SENTENCES``) with male or female
  voice variants and pitches, 140–190 words a minute, padded or cut to the clip length;
* ``music`` — ``piano`` (pentatonic melody, slightly inharmonic partials with exponential decays) or ``organ``
  (sustained notes with fixed harmonic "drawbars", sometimes a third above);
* ``water`` — ``stream`` (band-passed noise plus many small rising-pitch bubble blips) or ``gurgle`` (fewer, lower,
  longer bubbles).

API: ``CLASSES`` (name → generator), ``VARIANTS``, ``render(class_name, rng, seconds, sr, variant=None)`` (one
finished float32 clip), ``render_mixture(first, second, …)`` (two classes overlaid, the second 0–10 dB quieter);
``clean_clip`` and ``finish_clip`` are the two halves of ``render``, which the corpus calls separately.
"""
from __future__ import annotations

import numpy as np

from workbench import WorkbenchError
from workbench.captioning.synth.dsp import (add_at, burst, capped, filtered, harmonics, mode, phase_of, pink, ramp,
                                            samples, smooth)

SR = 16000


# ---------------------------------------------------------------------------------------------- the classes


def siren(rng, seconds, sr, variant):
    n = samples(seconds, sr)
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
    phase = phase_of(capped(freq, sr, 0.15), sr)
    return env * harmonics(phase, [1.0, rng.uniform(0.1, 0.4), rng.uniform(0.05, 0.3)])


def alarm(rng, seconds, sr, variant):
    out = np.zeros(samples(seconds, sr))
    freq = float(capped(rng.uniform(1800, 3500), sr, 0.3))
    third = rng.uniform(0.1, 0.4) if 3 * freq < 0.45 * sr else 0.0
    if variant == "steady":
        on, off = rng.uniform(0.06, 0.2), rng.uniform(0.06, 0.25)
        starts = np.arange(-rng.uniform(0, on + off), seconds, on + off)
    else:                                                # alarm clock: groups of quick beeps, then a pause
        on, off, pause = rng.uniform(0.05, 0.09), rng.uniform(0.05, 0.08), rng.uniform(0.3, 0.6)
        group = int(rng.integers(3, 6))
        firsts = np.arange(rng.uniform(0, 0.3), seconds, group * (on + off) + pause)
        starts = np.array([f + k * (on + off) for f in firsts for k in range(group)])
    t = np.arange(samples(on, sr)) / sr
    beep = ramp(np.sin(2 * np.pi * freq * t) + third * np.sin(2 * np.pi * 3 * freq * t), sr, 4)
    for start in starts:
        add_at(out, beep, int(round(start * sr)))
    return out


def tone(rng, seconds, sr, variant):
    t = np.arange(samples(seconds, sr)) / sr
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
    n = samples(seconds, sr)
    out = np.zeros(n)
    if variant in ("rising", "falling"):
        dur = min(rng.uniform(0.3, 1.0), 0.8 * seconds)
        gap = rng.uniform(0.05, 0.4)
        f1, f2 = rng.uniform(200, 600), float(capped(rng.uniform(2000, 5000), sr, 0.4))
        t = np.arange(samples(dur, sr)) / sr
        freq = f1 * (f2 / f1) ** (t / dur)
        if variant == "falling":
            freq = freq[::-1]
        sweep = ramp(np.sin(phase_of(freq, sr)), sr, 10)
        for start in np.arange(rng.uniform(0, 0.2), seconds, dur + gap):
            add_at(out, sweep, int(round(start * sr)))
        return out
    start = rng.uniform(0, 0.2)
    while start < seconds:                                  # phrases of short chirps
        for _ in range(int(rng.integers(2, 7))):
            dur = rng.uniform(0.03, 0.12)
            t = np.arange(samples(dur, sr)) / sr
            centre, depth = rng.uniform(2500, 5500), rng.uniform(500, 1500) * rng.choice([-1, 1])
            if rng.uniform() < 0.3:                           # a trill
                freq = centre + depth * np.sin(2 * np.pi * rng.uniform(30, 60) * t)
            else:
                freq = centre + depth * (t / dur - 0.5)
            add_at(out, np.sin(phase_of(capped(freq, sr), sr)) * np.hanning(len(t)) * rng.uniform(0.5, 1.0),
                 int(round(start * sr)))
            start += dur + rng.uniform(0.04, 0.2)
        start += rng.uniform(0.2, 0.8)
    return out


def rain(rng, seconds, sr, variant):
    n = samples(seconds, sr)
    heavy = variant == "heavy"
    level = rng.uniform(0.5, 0.8) if heavy else rng.uniform(0.12, 0.25)
    out = level * filtered(rng.standard_normal(n), sr, lo=rng.uniform(300, 800), order=1)
    out *= smooth(rng, n, sr, 2.0, 0.8, 1.0)
    rate = rng.uniform(80, 200) if heavy else rng.uniform(20, 60)
    clicks = filtered(rng.standard_normal(n + samples(0.04, sr)), sr, lo=1000)
    for start in rng.uniform(0, seconds, rng.poisson(rate * seconds)):
        tau = rng.uniform(0.001, 0.006)
        drop = mode(rng.uniform(1500, 6000), tau, sr)
        j = int(rng.integers(n))
        drop += 0.5 * clicks[j:j + len(drop)] * np.exp(-np.arange(len(drop)) / sr / (tau / 2))
        add_at(out, drop * rng.uniform(0.2, 1.0), int(start * sr))
    return out


def wind(rng, seconds, sr, variant):
    n = samples(seconds, sr)
    base = filtered(rng.standard_normal(n), sr, hi=rng.uniform(200, 600), order=1)
    howl = filtered(rng.standard_normal(n), sr, lo=rng.uniform(250, 400), hi=rng.uniform(700, 1200))
    if variant == "gusts":
        gust = smooth(rng, n, sr, rng.uniform(0.8, 1.8), 0.1, 1.0) ** 1.5
    else:
        gust = smooth(rng, n, sr, rng.uniform(0.3, 0.6), 0.6, 1.0)
    return gust * (base / (np.std(base) + 1e-12) + rng.uniform(0.1, 0.4) * howl / (np.std(howl) + 1e-12))


def engine(rng, seconds, sr, variant):
    n = samples(seconds, sr)
    t = np.arange(n) / sr
    f0 = rng.uniform(25, 45)
    wobble = 1 + 0.03 * np.sin(2 * np.pi * rng.uniform(0.5, 2.0) * t) + smooth(rng, n, sr, 4.0, -0.02, 0.02)
    if variant == "revving":
        bump = np.zeros(n)
        for _ in range(int(rng.integers(1, 3))):
            centre, width = rng.uniform(0.25, 0.75) * seconds, rng.uniform(0.15, 0.3) * seconds
            bump = np.maximum(bump, np.exp(-((t - centre) / width) ** 2))
        wobble = wobble * (1 + rng.uniform(1.5, 3.0) * bump)
    freq = f0 * wobble
    phase = phase_of(freq, sr, rng.uniform(0, 2 * np.pi))
    count = int(min(60, 0.45 * sr / freq.max()))
    slope = rng.uniform(1.0, 1.4)
    formant = rng.uniform(200, 600)
    amps = [k ** -slope * (1 + 2 * np.exp(-((k * f0 - formant) / 200) ** 2)) for k in range(1, count + 1)]
    buzz = harmonics(phase, amps)
    pulse = 0.5 + 0.5 * np.cos(phase)
    noise = filtered(rng.standard_normal(n), sr, hi=800) * pulse
    return buzz / (np.std(buzz) + 1e-12) + rng.uniform(0.2, 0.5) * noise / (np.std(noise) + 1e-12)


def knock(rng, seconds, sr, variant):
    n = samples(seconds, sr)
    out = np.zeros(n)
    if variant == "door":
        base = rng.uniform(120, 250)
        tau = rng.uniform(0.015, 0.04)
        start = rng.uniform(0.05, 0.3)
        while start < seconds:
            spacing = rng.uniform(0.12, 0.25)
            for _ in range(int(rng.integers(2, 5))):
                hit = sum(mode(base * r, tau / r ** 0.5, sr, 6 * tau, rng.uniform(0, 2 * np.pi)) / r
                          for r in (1.0, 2.3, 3.8))                          # three wooden modes
                add_at(hit, 0.6 * burst(rng, 0.002, sr, lo=1500), 0)         # plus the click of the knuckle
                add_at(out, hit * rng.uniform(0.7, 1.0), int(start * sr))
                start += spacing * rng.uniform(0.9, 1.1)
            start += rng.uniform(0.6, 1.2)
        return out
    period = rng.uniform(0.45, 0.65)
    low, tau = rng.uniform(60, 120), rng.uniform(0.02, 0.04)
    start = rng.uniform(0, period)
    while start < seconds:
        step = mode(low, tau, sr, 0.2)                                       # the heel's thump ...
        add_at(step, 0.5 * burst(rng, 0.01, sr, hi=2000), 0)
        add_at(step, 0.5 * burst(rng, 0.008, sr, hi=3000), samples(rng.uniform(0.02, 0.06), sr))   # ... and the toe
        add_at(out, step * rng.uniform(0.7, 1.0), int(start * sr))
        start += period * rng.uniform(0.95, 1.05)
    return out


def clock(rng, seconds, sr, variant):
    n = samples(seconds, sr)
    out = np.zeros(n)
    period = rng.uniform(0.25, 0.55)
    high = rng.uniform(2000, 4500)
    low = high * rng.uniform(0.5, 0.7)
    tock_level = rng.uniform(0.6, 0.9)
    for k, start in enumerate(np.arange(rng.uniform(0, period), seconds, period)):
        tock = variant == "ticktock" and k % 2 == 1
        freq = low if tock else high
        tick = mode(freq, 0.004, sr, 0.03)
        add_at(tick, 0.7 * burst(rng, 0.0015, sr, lo=1500), 0)
        add_at(out, tick * (tock_level if tock else 1.0), int(round(start * sr)))
    return out


# espeak-ng voice+variant names; a variant after plain "en-gb" is silently ignored, so the female voices use
# "en-us", "en-gb-x-rp" and "en-gb-scotland" (measured median f0 about 180–250 Hz, the male ones about 85–110 Hz).
MALE_VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-us+m3", "en-gb-x-rp+m2")
FEMALE_VOICES = ("en-us+f2", "en-us+f3", "en-us+f5", "en-gb-x-rp+f5", "en-gb-x-rp+f2", "en-gb-scotland+f3")


def speech(rng, seconds, sr, variant):
    from workbench.media import speech as synth

    n = samples(seconds, sr)
    female = variant == "female"
    voice = str(rng.choice(FEMALE_VOICES if female else MALE_VOICES))
    pitch = int(rng.integers(55, 80) if female else rng.integers(20, 45))
    text = synth.SENTENCES[int(rng.integers(len(synth.SENTENCES)))]
    audio = np.asarray(synth.speak(text, voice=voice, rate=int(rng.integers(140, 191)), pitch=pitch, sr=sr),
                       dtype=float)
    if len(audio) >= n:
        return audio[:n]
    out = np.zeros(n)
    add_at(out, audio, int(rng.integers(0, n - len(audio) + 1)))
    return out


PENTATONIC = (0, 2, 4, 7, 9)


def music(rng, seconds, sr, variant):
    n = samples(seconds, sr)
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
            t = np.arange(samples(min(length + 1.5, 4.0), sr)) / sr
            partials = [k * freq * np.sqrt(1 + 1e-4 * k * k) for k in range(1, 9)]
            note = sum(k ** -1.2 * np.sin(2 * np.pi * f * t) * np.exp(-t / (tau / k ** 0.5))
                       for k, f in enumerate(partials, 1) if f < 0.45 * sr)
            note *= np.minimum(1.0, t / 0.005)
        else:
            t = np.arange(samples(length, sr)) / sr
            note = harmonics(2 * np.pi * freq * t, [a if (k + 1) * freq < 0.45 * sr else 0
                                                     for k, a in enumerate(drawbars)])
            if rng.uniform() < 0.5:                                              # a third above
                third = freq * 2 ** (4 / 12)
                note = note + 0.6 * harmonics(2 * np.pi * third * t, [a if (k + 1) * third < 0.45 * sr else 0
                                                                       for k, a in enumerate(drawbars)])
            note = ramp(note, sr, 20)
        add_at(out, note * rng.uniform(0.7, 1.0), int(round(start * sr)))
        start += length
    return out


def water(rng, seconds, sr, variant):
    n = samples(seconds, sr)
    stream = variant == "stream"
    noise = filtered(rng.standard_normal(n), sr, lo=300, hi=3000)
    out = (rng.uniform(0.2, 0.4) if stream else rng.uniform(0.05, 0.12)) * noise / (np.std(noise) + 1e-12)
    out *= smooth(rng, n, sr, 3.0, 0.6, 1.0)
    rate = rng.uniform(30, 80) if stream else rng.uniform(8, 25)
    for start in rng.uniform(0, seconds, rng.poisson(rate * seconds)):
        f0 = rng.uniform(400, 2500) if stream else rng.uniform(150, 700)
        tau = rng.uniform(0.005, 0.02) if stream else rng.uniform(0.015, 0.05)
        t = np.arange(samples(5 * tau, sr)) / sr
        freq = f0 * (1 + rng.uniform(0.5, 2.0) * t / tau / 5)
        blip = np.sin(phase_of(capped(freq, sr), sr)) * np.exp(-t / tau) * np.minimum(1.0, t / 0.001)
        add_at(out, blip * rng.uniform(0.2, 1.0), int(start * sr))
    return out


CLASSES = {"siren": siren, "alarm": alarm, "tone": tone, "chirp": chirp, "rain": rain, "wind": wind,
           "engine": engine, "knock": knock, "clock": clock, "speech": speech, "music": music, "water": water}
VARIANTS = {"siren": ("wail", "yelp"), "alarm": ("steady", "clock"), "tone": ("sine", "hum"),
            "chirp": ("rising", "falling", "bird"), "rain": ("light", "heavy"), "wind": ("breeze", "gusts"),
            "engine": ("idle", "revving"), "knock": ("door", "footsteps"), "clock": ("tick", "ticktock"),
            "speech": ("male", "female"), "music": ("piano", "organ"), "water": ("stream", "gurgle")}


# ---------------------------------------------------------------------------------------------- rendering


def check_class(class_name: str, variant: str | None = None) -> None:
    if class_name not in CLASSES:
        raise WorkbenchError(f"unknown sound class '{class_name}'; choose from {', '.join(CLASSES)}")
    if variant is not None and variant not in VARIANTS[class_name]:
        raise WorkbenchError(f"unknown variant '{variant}' of '{class_name}'; choose from "
                             f"{', '.join(VARIANTS[class_name])}")


RMS_DBFS = (-40.0, -20.0)            # the finished clip's RMS level (its loudness), drawn per clip


def finish_clip(audio: np.ndarray, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Fades, background noise at a random SNR (20–40 dB, pink or white), then the whole clip scaled to a random RMS
    level (``RMS_DBFS``; the peak kept at most 0.95, which caps the loudest draws of the most impulsive clips).

    [ours, issue 18] Loudness is drawn per clip, independently of the class, so that the level of a file does not
    give the class away: with a fixed peak (before), the RMS level was the crest factor — low for clicks and ticks,
    high for tones — and a nearest-neighbour on it alone picked the class well above chance."""
    x = np.asarray(audio, dtype=float).copy()
    n = len(x)
    k_in, k_out = (min(n // 2, samples(rng.uniform(0.005, 0.15), sr)) for _ in range(2))
    x[:k_in] *= np.linspace(0, 1, k_in)
    x[n - k_out:] *= np.linspace(1, 0, k_out)
    rms = np.sqrt(np.mean(x ** 2)) + 1e-12
    noise = pink(rng, n) if rng.uniform() < 0.5 else rng.standard_normal(n)
    x = x + noise * rms * 10 ** (-rng.uniform(20, 40) / 20)
    rms = np.sqrt(np.mean(x ** 2))
    if not rms > 0:
        return x.astype(np.float32)
    x = x * 10 ** (rng.uniform(*RMS_DBFS) / 20) / rms
    peak = np.abs(x).max()
    return (x * (0.95 / peak if peak > 0.95 else 1.0)).astype(np.float32)


def clean_clip(class_name: str, rng: np.random.Generator, seconds: float, sr: int, variant: str | None) -> tuple:
    """(the clean signal cut or padded to ``seconds``, its variant); ``variant`` None = drawn from ``rng``."""
    check_class(class_name, variant)
    variant = variant or VARIANTS[class_name][int(rng.integers(len(VARIANTS[class_name])))]
    n = samples(seconds, sr)
    audio = np.asarray(CLASSES[class_name](rng, seconds, sr, variant), dtype=float)
    return np.pad(audio, (0, max(0, n - len(audio))))[:n], variant


def render(class_name: str, rng: np.random.Generator | int | None = None, seconds: float = 3.0, sr: int = SR, *,
           variant: str | None = None) -> np.ndarray:
    """One finished clip (float32, mono, ``sr`` Hz) of ``class_name``; ``variant`` None = drawn from ``rng``."""
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    audio, _ = clean_clip(class_name, rng, seconds, sr, variant)
    return finish_clip(audio, rng, sr)


def render_mixture(first: str, second: str, rng: np.random.Generator | int | None = None, seconds: float = 3.0,
                   sr: int = SR, *, gain_db: float | None = None) -> tuple[np.ndarray, str, str]:
    """``first`` plus ``second`` (``gain_db`` quieter, drawn in 0–10 dB when None) at equal RMS otherwise;
    returns the audio and the two variants."""
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    a, va = clean_clip(first, rng, seconds, sr, None)
    b, vb = clean_clip(second, rng, seconds, sr, None)
    gain = 10 ** (-(rng.uniform(0, 10) if gain_db is None else gain_db) / 20)
    mix = a / (np.sqrt(np.mean(a ** 2)) + 1e-12) + gain * b / (np.sqrt(np.mean(b ** 2)) + 1e-12)
    return finish_clip(mix, rng, sr), va, vb


__all__ = ["CLASSES", "SR", "VARIANTS", "check_class", "clean_clip", "finish_clip", "render", "render_mixture"]
