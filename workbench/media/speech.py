"""Synthetic speech: sentences written for this project, spoken by ``espeak-ng``.

Used by the synthetic corpora of the deepfake detector (deepfake.synth.speech, deepfake.synth.video) and of audio
captioning (captioning.synth' speech class). ``espeak-ng`` is a Debian package; the workbench's setup installs it.

* ``speak(text, voice, rate, pitch, sr)`` → ``text`` spoken by espeak-ng, resampled to ``sr``, mono float32.
* ``espeak_binary()`` → the executable's path, or a ``WorkbenchError`` saying how to install it.
* ``SENTENCES`` — 24 everyday sentences; corpora split them between train and eval by sentence.
"""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from workbench import WorkbenchError
from workbench.media.files import require_executable

SR = 16000
SENTENCES = (
    "The train to the coast leaves at seven in the morning.",
    "Please remember to water the plants on the balcony.",
    "Our meeting has been moved to Thursday afternoon.",
    "The library closes early on public holidays.",
    "She painted the fence a pale shade of green.",
    "A cold wind blew across the empty harbour.",
    "Turn left after the bakery and walk for two minutes.",
    "The results of the survey will be published next week.",
    "He forgot his umbrella at the station again.",
    "Fresh bread smells wonderful on a winter morning.",
    "The children built a small boat out of cardboard.",
    "Could you send me the report before lunch?",
    "The old bridge was repaired after the storm.",
    "We watched the sun set behind the hills.",
    "The museum has a new exhibition about the ocean.",
    "My neighbour plays the piano every evening.",
    "The price of coffee went up again this month.",
    "Keep the receipt in case you need to return it.",
    "The garden is full of bees in early summer.",
    "Their flight was delayed by almost three hours.",
    "The recipe needs two eggs and a cup of flour.",
    "A quiet street can still be full of stories.",
    "The doctor will see you in about ten minutes.",
    "They are planning a picnic by the river on Sunday.",
)


def espeak_binary() -> str:
    return require_executable("espeak-ng", "the synthetic speech needs it")


def speak(text: str, *, voice: str = "en-us", rate: int = 160, pitch: int = 50, sr: int = SR) -> np.ndarray:
    """``text`` spoken by espeak-ng, resampled to ``sr`` mono float32."""
    import librosa
    import soundfile as sf

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        try:
            subprocess.run([espeak_binary(), "-v", voice, "-s", str(rate), "-p", str(pitch), "-w", str(wav), text],
                           check=True, capture_output=True, timeout=60)
        except subprocess.CalledProcessError as exc:
            raise WorkbenchError(f"espeak-ng failed for voice '{voice}': {exc.stderr.decode(errors='replace')}")
        audio, native = sf.read(wav, dtype="float32", always_2d=True)
    audio = audio.mean(1)
    return librosa.resample(audio, orig_sr=native, target_sr=sr) if native != sr else audio


__all__ = ["SENTENCES", "SR", "espeak_binary", "speak"]
