"""A real bona fide speech test set for the P6 audio detector: pyannote's 30 s two-speaker recording
(``datasets.real.speech_sample``) cut into its transcript's utterances, each beside local spoofs of it.

Used by the P6 builder (``deepfake_eval``'s config ``real_speech``), the P6 notebook, the deepfake view and
``tests/test_deepfake_real_speech.py``.

* ``real_speech_corpus()`` → a manifest (the ``deepfake.datasets`` layout, ``modality`` "audio"): every STM
  utterance cut from the recording (``margin_s`` either side, 16 kHz mono) is a bona fide clip; each gets one spoof
  per attack [ours as a recipe]: ``tts`` — espeak-ng speaking the utterance's transcript to exactly the clip's
  length (``synth.speech.speak_to_length``; one espeak-ng voice per speaker), and the
  synthetic corpus's two spoofers applied to the real clip: ``griffin_lim`` (vocoder copy synthesis) and
  ``pitch_roundtrip`` (phase-vocoder conversion artefacts). Every spoof keeps its clip's length and RMS level.
  Cached under ``$WORKBENCH_HOME/data/real/`` keyed by the configuration (``synth.corpus.cached_corpus``).
* ``real_speech_report(model)`` → ``(frame, report)``: the model's audio detector on those clips — EER, AUC and
  accuracy at its threshold, each with a 95 % bootstrap CI over clips, per-attack accuracy, and the set's size. It
  is small (13 utterances, 52 clips, two speakers, one recording): a check of whether the synthetic training
  transfers to human speech, not a benchmark.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from workbench.io import config_key

SR = 16000
REAL_ATTACKS = ("tts", "griffin_lim", "pitch_roundtrip")
VOICES = ("en-us", "en-gb")
BOOTSTRAP = 1000


@dataclass(frozen=True)
class RealSpeechConfig:
    margin_s: float = 0.05
    attacks: tuple[str, ...] = REAL_ATTACKS
    tts_rate: int = 160
    seed: int = 0

    def key(self) -> str:
        return config_key(asdict(self))


def real_speech_corpus(config: RealSpeechConfig | None = None, *, root: str | Path | None = None, progress=None):
    """The manifest (absolute paths) of the real-speech test set, made once and cached."""
    import soundfile as sf

    from workbench.datasets.real import speech_sample
    from workbench.deepfake.synth.corpus import cached_corpus
    from workbench.deepfake.synth.speech import SPOOFERS, set_level, speak_to_length
    from workbench.media import speech as tts
    from workbench.media.audio import load_audio
    from workbench.paths import home

    config = config or RealSpeechConfig()
    base = Path(root) if root else home() / "data" / "real"

    def build(tmp: Path, rows: list[dict]) -> None:
        wav, segments = speech_sample()
        tts.espeak_binary()
        audio = load_audio(wav, sr=SR)
        (tmp / "wav").mkdir()
        speakers = sorted(segments["speaker"].unique())
        total = len(segments) * (1 + len(config.attacks))
        for i, seg in enumerate(segments.itertuples()):
            a = max(0, int(round((seg.start - config.margin_s) * SR)))
            b = min(len(audio), int(round((seg.end + config.margin_s) * SR)))
            clip = audio[a:b].astype(np.float32)
            level = float(20 * np.log10(max(np.sqrt(np.mean(clip.astype(np.float64) ** 2)), 1e-6)))
            voice = VOICES[speakers.index(seg.speaker) % len(VOICES)]
            versions = {"-": clip}
            for attack in config.attacks:
                if attack == "tts":
                    versions[attack] = speak_to_length(seg.text, len(clip), voice=voice, rate=config.tts_rate,
                                                       pitch=50)
                else:
                    versions[attack] = SPOOFERS[attack](clip)
            for attack, samples in versions.items():
                label = "bonafide" if attack == "-" else "spoof"
                row = {"id": f"real-{i:02d}-{attack if attack != '-' else 'bonafide'}", "label": label,
                       "y": int(attack == "-"), "audio_y": int(attack == "-"), "attack": attack,
                       "modality": "audio", "split": "eval", "speaker": seg.speaker, "utterance": i,
                       "text": seg.text, "path": f"wav/real-{i:02d}-{attack.replace('-', 'bonafide')}.wav"}
                sf.write(tmp / row["path"], set_level(samples, level), SR, subtype="PCM_16")
                rows.append(row)
                if progress:
                    progress(len(rows) / total, f"real speech {len(rows)}/{total}")

    return cached_corpus(base / f"speech-{config.key()}", config, build)


def _bootstrap(y: np.ndarray, s: np.ndarray, threshold: float, seed: int = 0) -> dict:
    from workbench.metrics.eer import bootstrap_ci

    return bootstrap_ci(s, y, threshold, n=BOOTSTRAP, seed=seed)


def real_speech_report(model, *, config: RealSpeechConfig | None = None, soft_prompt=None, progress=None):
    """``(per-clip frame, report)``: the model's audio detector on the real-speech test set (and, given a
    ``soft_prompt`` stage, the LLM over embeddings on the same clips: the report's ``stages``)."""
    from workbench.deepfake.evaluation import evaluate
    from workbench.metrics.eer import detection_report

    data = real_speech_corpus(config, progress=progress)
    frame, full = evaluate(model, data, reasoning=False, soft_prompt=soft_prompt)
    if "score_audio" not in frame or "audio" not in model.thresholds:
        return frame, {}
    y = frame["y"].to_numpy(int)
    s = frame["score_audio"].to_numpy(float)
    thr = float(model.thresholds["audio"])
    rep = detection_report(s, y, threshold=thr)
    per_attack = {str(a): float(((s[m] > thr).astype(int) == y[m]).mean())
                  for a in frame["attack"].unique() for m in [(frame["attack"] == a).to_numpy()]}
    report = {"stage": "audio detector", "eer": rep["eer"], "auc": rep["auc"], "accuracy": rep["accuracy"],
              "threshold": thr, "n_bonafide": rep["n_bonafide"], "n_spoof": rep["n_spoof"],
              **_bootstrap(y, s, thr), "accuracy_by_attack": per_attack,
              "data": "pyannote sample.wav (2 speakers, 30 s) cut by its STM transcript; spoofs made locally "
                      f"({', '.join((config or RealSpeechConfig()).attacks)})",
              "note": "small: one recording, two speakers — a transfer check, not a benchmark"}
    if soft_prompt is not None:
        from workbench.deepfake.soft_prompt import STAGE

        report["stages"] = {k: v for k, v in full["stages"].items() if k == STAGE}
    return frame, report


__all__ = ["REAL_ATTACKS", "RealSpeechConfig", "real_speech_corpus", "real_speech_report"]
