"""Synthetic anti-spoofing audio for the default profile (P6), made and cached by the workbench itself.

Used by deepfake.training's ``synthetic_data`` (the default model), deepfake.synth.video (its Griffin-Lim fake
audio), the deepfake CLI and the P6 notebook.

Bona fide speech is rendered by ``espeak-ng`` (``media.speech.speak``) from the sentences written for this project
(``media.speech.SENTENCES``), with several voices, speaking rates and pitches. Spoofed speech is made from a
*different* bona fide rendering by one of two artefact types that are real practice in anti-spoofing research
[ours as a recipe]:

* ``griffin_lim`` — vocoder resynthesis: the 80-band mel spectrogram is inverted with Griffin-Lim (the classic
  "copy synthesis" used to make vocoded spoofs), so phase and fine spectral detail are lost;
* ``pitch_roundtrip`` — a voice-conversion-like artefact: the phase vocoder shifts the pitch up and back down
  (±2 semitones), leaving phasiness and smeared transients.

Shortcuts closed [ours]: a spoof keeps its source's length exactly and its silences (every 20 ms window where the
source is more than 40 dB below its loudest window is copied from the source, so resynthesis smear does not fill
the pauses — the silence ratio is the same as the source's), and every clip, bona fide or spoofed, is scaled to an
RMS level drawn per clip from ``LEVELS_DB`` (so loudness gives nothing away either); ``deepfake.shortcut`` checks
that surface features (duration, RMS, silence ratio, trailing silence, file size) stay near chance.
``speak_to_length`` renders a text to a given number of samples (espeak-ng's rate chosen from a first rendering,
the last few per cent by resampling), never by zero-padding.

Every clip is 16 kHz mono PCM WAV. Sentences are split between train and eval so that eval sentences are never
heard in training. A corpus is cached under ``$WORKBENCH_HOME/data/synthetic/`` keyed by its configuration and
written atomically (``synth.corpus.cached_corpus``), with ``manifest.parquet`` listing id, path (relative to the
corpus folder), label (bonafide | spoof), y (1 = bona fide), attack, voice, rate, pitch, sentence id and split.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from workbench import WorkbenchError
from workbench.io import config_key
from workbench.media import speech as tts
from workbench.deepfake.synth.corpus import cached_corpus
from workbench.media.speech import SENTENCES

SR = 16000
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd")
ATTACKS = ("griffin_lim", "pitch_roundtrip")
LEVELS_DB = (-30.0, -24.0)           # RMS level of every clip, dBFS, drawn uniformly per clip
WINDOW = 320                         # 20 ms at 16 kHz: the silence gate's window
SILENCE_DB = 40.0


@dataclass(frozen=True)
class AudioCorpusConfig:
    n_bonafide: int = 120
    n_spoof: int = 120
    eval_fraction: float = 0.25          # share of sentences held out for eval
    seed: int = 0
    voices: tuple[str, ...] = VOICES
    rates: tuple[int, ...] = (130, 160, 190)
    pitches: tuple[int, ...] = (35, 50, 65)
    attacks: tuple[str, ...] = ATTACKS
    generator: int = 2                   # bumped when the rendering changes, so that old caches are not reused

    def key(self) -> str:
        return config_key(asdict(self))


def griffin_lim(audio: np.ndarray, sr: int = SR, *, n_mels: int = 80, n_iter: int = 32, seed: int = 0) -> np.ndarray:
    """Mel spectrogram → Griffin-Lim copy synthesis (vocoded speech)."""
    import librosa

    mel = librosa.feature.melspectrogram(y=audio, sr=sr, n_fft=1024, hop_length=256, n_mels=n_mels)
    magnitude = librosa.feature.inverse.mel_to_stft(mel, sr=sr, n_fft=1024)
    out = librosa.griffinlim(magnitude, n_iter=n_iter, hop_length=256, n_fft=1024, random_state=seed)
    return _match(out, audio)


def pitch_roundtrip(audio: np.ndarray, sr: int = SR, *, steps: float = 2.0) -> np.ndarray:
    """Phase-vocoder pitch shift up by ``steps`` semitones and back down (conversion artefacts)."""
    import librosa

    up = librosa.effects.pitch_shift(audio, sr=sr, n_steps=steps)
    return _match(librosa.effects.pitch_shift(up, sr=sr, n_steps=-steps), audio)


def silent_windows(audio: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """bool per sample: inside a ``window``-sample window more than ``SILENCE_DB`` below the loudest window."""
    y = np.asarray(audio, np.float64)
    n = int(np.ceil(len(y) / window)) if len(y) else 0
    if not n:
        return np.zeros(0, bool)
    rms = np.sqrt((np.pad(y, (0, n * window - len(y))).reshape(n, window) ** 2).mean(1))
    db = 20 * np.log10(np.maximum(rms, 1e-9))
    return np.repeat(db <= db.max() - SILENCE_DB, window)[:len(y)]


def _match(out: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Same length, peak level and silences as ``ref`` (so duration, loudness and pauses give nothing away)."""
    out = np.pad(out, (0, max(0, len(ref) - len(out))))[:len(ref)]
    peak = np.abs(out).max()
    out = out * (np.abs(ref).max() / peak) if peak > 0 else out
    quiet = silent_windows(ref)
    out = np.where(quiet, ref, out)
    return out.astype(np.float32)


def set_level(audio: np.ndarray, level_db: float) -> np.ndarray:
    """``audio`` scaled to an RMS of ``level_db`` dBFS (clipped to ±1)."""
    y = np.asarray(audio, np.float64)
    rms = np.sqrt((y * y).mean()) if len(y) else 0.0
    if rms <= 0:
        return y.astype(np.float32)
    return np.clip(y * (10 ** (level_db / 20) / rms), -1.0, 1.0).astype(np.float32)


def resample_to(audio: np.ndarray, n: int) -> np.ndarray:
    """``audio`` resampled (band-limited) to exactly ``n`` samples: a speed change, never padding."""
    import librosa

    y = np.asarray(audio, np.float32)
    if len(y) == n or not len(y):
        return np.resize(y, n).astype(np.float32) if len(y) else np.zeros(n, np.float32)
    out = librosa.resample(y, orig_sr=len(y), target_sr=n, res_type="soxr_hq")
    return np.pad(out, (0, max(0, n - len(out))), mode="edge")[:n].astype(np.float32)


def speak_to_length(text: str, n: int, *, voice: str, rate: int, pitch: int) -> np.ndarray:
    """``text`` spoken by espeak-ng in exactly ``n`` samples: rendered once at ``rate``, again at the rate that
    should give ``n`` samples (80–450 words per minute), and resampled by the few per cent left [ours]."""
    first = tts.speak(text, voice=voice, rate=rate, pitch=pitch)
    new_rate = int(np.clip(round(rate * len(first) / max(n, 1)), 80, 450))
    second = first if new_rate == rate else tts.speak(text, voice=voice, rate=new_rate, pitch=pitch)
    return resample_to(second, n)


SPOOFERS = {"griffin_lim": griffin_lim, "pitch_roundtrip": pitch_roundtrip}


def _plan(config: AudioCorpusConfig) -> list[dict]:
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(SENTENCES))
    n_eval = max(1, round(config.eval_fraction * len(SENTENCES)))
    eval_ids = set(order[:n_eval].tolist())
    rows = []
    for label, n in (("bonafide", config.n_bonafide), ("spoof", config.n_spoof)):
        for i in range(n):
            sentence = int(rng.integers(len(SENTENCES)))
            rows.append({"id": f"{label}-{i:04d}", "label": label, "y": int(label == "bonafide"),
                         "attack": "-" if label == "bonafide" else config.attacks[i % len(config.attacks)],
                         "voice": str(rng.choice(config.voices)), "rate": int(rng.choice(config.rates)),
                         "pitch": int(rng.choice(config.pitches)), "sentence": sentence,
                         "level_db": float(rng.uniform(*LEVELS_DB)),
                         "split": "eval" if sentence in eval_ids else "train"})
    return rows


def audio_corpus(config: AudioCorpusConfig | None = None, *, root: str | Path | None = None,
                 progress=None):
    """The manifest (with absolute paths) of the synthetic corpus for ``config``, made once and cached."""
    import soundfile as sf

    from workbench.paths import home

    config = config or AudioCorpusConfig()
    if config.n_bonafide < 1 or config.n_spoof < 1:
        raise WorkbenchError("the corpus needs at least one bona fide and one spoofed clip")
    unknown = [a for a in config.attacks if a not in SPOOFERS]
    if unknown:
        raise WorkbenchError(f"unknown attack(s) {unknown}; choose from {', '.join(SPOOFERS)}")
    base = Path(root) if root else home() / "data" / "synthetic"

    def build(tmp: Path, rows: list[dict]) -> None:
        tts.espeak_binary()
        (tmp / "wav").mkdir()
        for k, row in enumerate(_plan(config)):
            text = SENTENCES[row["sentence"]]
            audio = tts.speak(text, voice=row["voice"], rate=row["rate"], pitch=row["pitch"])
            if row["label"] == "spoof":
                audio = SPOOFERS[row["attack"]](audio)
            audio = set_level(audio, row["level_db"])
            row["path"] = f"wav/{row['id']}.wav"
            sf.write(tmp / row["path"], audio, SR, subtype="PCM_16")
            rows.append(row)
            if progress:
                progress((k + 1) / (config.n_bonafide + config.n_spoof), f"synthetic speech {k + 1}/"
                         f"{config.n_bonafide + config.n_spoof}")

    return cached_corpus(base / f"audio-{config.key()}", config, build)


__all__ = ["ATTACKS", "AudioCorpusConfig", "LEVELS_DB", "SPOOFERS", "VOICES", "audio_corpus", "griffin_lim",
           "pitch_roundtrip", "resample_to", "set_level", "silent_windows", "speak_to_length"]
