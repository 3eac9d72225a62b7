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


def _match(out: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Same length and peak level as ``ref`` (so loudness and duration give nothing away)."""
    out = np.pad(out, (0, max(0, len(ref) - len(out))))[:len(ref)]
    peak = np.abs(out).max()
    return (out * (np.abs(ref).max() / peak) if peak > 0 else out).astype(np.float32)


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
            row["path"] = f"wav/{row['id']}.wav"
            sf.write(tmp / row["path"], audio, SR, subtype="PCM_16")
            rows.append(row)
            if progress:
                progress((k + 1) / (config.n_bonafide + config.n_spoof), f"synthetic speech {k + 1}/"
                         f"{config.n_bonafide + config.n_spoof}")

    return cached_corpus(base / f"audio-{config.key()}", config, build)


__all__ = ["ATTACKS", "AudioCorpusConfig", "SPOOFERS", "VOICES", "audio_corpus", "griffin_lim", "pitch_roundtrip"]
