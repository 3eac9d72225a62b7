"""Synthetic audio-visual deepfake corpus for the default profile (P6), made and cached by the workbench itself.

Every clip is a cartoon talking head drawn with OpenCV (``synth.faces``), saying a sentence rendered by espeak-ng
(``media.speech.speak``). Forgeries follow real practice in the field: a face-blending forgery on the frames,
and audio swaps on the sound track, each touching one modality so that a detector's per-modality labels can be
checked [ours as a recipe].

Used by deepfake.training's ``synthetic_data`` (the default model), the deepfake CLI and the P6 notebook.

Labels (``y`` and the per-modality ``video_y``, ``audio_y``, ``sync_y``: 1 = genuine):

* real — "bonafide": the mouth follows the clip's own sentence (``faces.viseme_track``: espeak-ng's phoneme schedule
  for the text, voice and rate, never the audio envelope the lip-sync cue measures); all labels 1.
* fake types (``fake_types``, round-robin), "spoof", ``y`` = 0:

  - ``sbi`` — Self-Blended Images (Shiohara & Yamasaki, CVPR 2022): each frame's face is replaced by a blend with
    a transformed copy of the same frame (``faces.self_blend``; the transforms and ranges are described there).
    Parameters are fixed per clip (one forgery method per clip).
    ``video_y`` = 0, audio and sync genuine.
  - ``mismatched_audio`` — the video of rendering A with the bona fide audio of a different rendering B (another
    sentence of the same split — the one whose rendering is closest to A's length — its own voice, rate and
    pitch), spoken to exactly A's length
    (``synth.speech.speak_to_length``: espeak-ng's rate chosen to fit, the last few per cent by resampling — never
    cut or zero-padded, so its pauses look like a genuine clip's): the lips do not follow the sound.
    ``sync_y`` = 0.
  - ``fake_audio`` — the mouth follows the bona fide speech, but the sound track is its Griffin-Lim copy synthesis
    (``synth.speech.griffin_lim``): a vocoded spoof with lip sync kept. ``audio_y`` = 0.
  - ``converted_audio`` — the same with the phase-vocoder pitch round trip (``synth.speech.pitch_roundtrip``)
    instead of Griffin-Lim. ``audio_y`` = 0. The P6 default model holds this attack (and the speech corpus's
    ``pitch_roundtrip``) out of training: it is the *unseen-attack* test (``training.HELD_OUT_ATTACKS``).

Every clip's sound is scaled to an RMS level drawn per clip (``synth.speech.LEVELS_DB``), and a clip is its
speech cut down to whole video frames (never zero-padded), so duration, loudness and trailing silence carry no
label (``deepfake.shortcut`` checks it).

Sentences are split between train and eval exactly as ``synth.speech._plan`` does (``eval_fraction`` of
``SENTENCES``, drawn with the config's seed), so eval sentences — seen or heard — never occur in training. The
same config gives the same frames and audio; the encoder is asked for bit-exact, single-threaded encoding and no
metadata so that the files are byte-identical too with the same PyAV build [ours].

Files: H.264 video (``libx264``, ``yuv420p`` so browsers can play it, constant bit rate ``VIDEO_BITRATE`` with
filler, so that a blurred forgery does not make a smaller file) and AAC audio (64 kb/s, mono, 16 kHz) in ``.mp4``,
encoded and muxed in process by PyAV (the FFmpeg libraries its wheel bundles: no ``ffmpeg`` executable needed). A
corpus is cached under ``$WORKBENCH_HOME/data/synthetic/av-<key>/`` keyed by its configuration and written
atomically (``synth.corpus.cached_corpus``), with ``manifest.parquet`` (paths relative to the corpus folder) and
``config.json``; ``av_corpus`` returns the manifest with absolute paths and columns id, path, label, y, video_y,
audio_y, sync_y, attack ("-" for real clips), modality ("audiovisual"), split, sentence, voice, rate, pitch and
audio_sentence (the sentence actually heard).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from workbench import WorkbenchError
from workbench.deepfake.synth.speech import (LEVELS_DB, VOICES, griffin_lim, pitch_roundtrip, set_level,
                                             speak_to_length)
from workbench.deepfake.synth.faces import (blink_at, draw_head, face_mask, random_identity, random_sbi_params,
                                            self_blend, viseme_track)
from workbench.io import config_key
from workbench.media import speech as tts
from workbench.deepfake.synth.corpus import cached_corpus

SR = 16000
FAKE_TYPES = ("sbi", "mismatched_audio", "fake_audio", "converted_audio")
RATES = (130, 160, 190)
PITCHES = (35, 50, 65)
VIDEO_BITRATE = "300k"       # constant bit rate with filler: a file's size says its duration, not its content


@dataclass(frozen=True)
class AVCorpusConfig:
    n_real: int = 40
    n_fake: int = 60
    fake_types: tuple[str, ...] = FAKE_TYPES
    fps: int = 12
    size: int = 96                       # square frame side in pixels (even, for yuv420p)
    eval_fraction: float = 0.25          # share of sentences held out for eval
    seed: int = 0
    generator: int = 2                   # bumped when the rendering changes, so that old caches are not reused

    def key(self) -> str:
        return config_key(asdict(self))


def _whole_frames(audio: np.ndarray, fps: int) -> tuple[np.ndarray, int]:
    """``audio`` cut down to whole video frames (at least one frame, padded only if shorter than one): (audio,
    frame count)."""
    n_frames = max(1, math.floor(len(audio) * fps / SR))
    n = round(n_frames * SR / fps)
    return np.pad(audio, (0, max(0, n - len(audio))))[:n].astype(np.float32), n_frames



# ---------------------------------------------------------------------------------------------- encoding


def write_mp4(path: str | Path, frames: np.ndarray, audio: np.ndarray, *, fps: float, sr: int = SR) -> Path:
    """Write uint8 RGB ``frames [T, H, W, 3]`` and mono ``audio`` as H.264 + AAC ``.mp4`` with PyAV, under a
    temporary name renamed into place (a file at ``path`` is always complete)."""
    from fractions import Fraction

    import av

    frames = np.ascontiguousarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise WorkbenchError(f"write_mp4 needs uint8 frames [T, H, W, 3], got {frames.dtype} {frames.shape}")
    h, w = frames.shape[1:3]
    if h % 2 or w % 2:
        raise WorkbenchError(f"H.264 in yuv420p needs even frame sides, got {w}x{h}")
    if not fps > 0:
        raise WorkbenchError(f"fps must be positive, not {fps!r}")
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.partial.mp4")
    rate = Fraction(fps).limit_denominator(1001)
    exact = {"flags": "+bitexact"}
    try:
        # fflags +bitexact: no muxer version string; nothing else is written as metadata
        with av.open(str(tmp), mode="w", format="mp4",
                     options={"movflags": "+faststart", "fflags": "+bitexact"}) as out:
            video = out.add_stream("libx264", rate=rate,
                                   options={**exact, "preset": "veryfast", "x264-params": "nal-hrd=cbr:filler=1",
                                            "minrate": VIDEO_BITRATE, "maxrate": VIDEO_BITRATE,
                                            "bufsize": VIDEO_BITRATE})
            video.width, video.height, video.pix_fmt = w, h, "yuv420p"
            video.bit_rate = _bits(VIDEO_BITRATE)
            video.codec_context.thread_count = 1
            sound = out.add_stream("aac", rate=sr, layout="mono", options=exact)
            sound.bit_rate = 64_000
            for i, rgb in enumerate(frames):                                    # [H, W, 3]
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts, frame.time_base = i, 1 / rate
                out.mux(video.encode(frame))
            out.mux(video.encode(None))
            samples = np.asarray(audio, np.float32).reshape(1, -1)              # [channels=1, samples]
            chunk = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts, chunk.time_base = sr, 0, Fraction(1, sr)
            out.mux(sound.encode(chunk))
            out.mux(sound.encode(None))
        tmp.replace(path)
    except Exception as exc:  # av.error.FFmpegError, ValueError: an encoder or muxer refused the input
        tmp.unlink(missing_ok=True)
        raise WorkbenchError(f"{path}: the video could not be written ({type(exc).__name__}: {exc})") from None
    return path


def _bits(rate: str) -> int:
    """``"300k"`` → 300000."""
    return int(float(rate[:-1]) * 1000) if rate.endswith("k") else int(rate)


# ------------------------------------------------------------------------------------------------ corpus


def _check(config: AVCorpusConfig) -> None:
    if config.n_real < 1 or config.n_fake < 1:
        raise WorkbenchError("the corpus needs at least one real and one fake clip")
    unknown = [f for f in config.fake_types if f not in FAKE_TYPES]
    if unknown or not config.fake_types:
        raise WorkbenchError(f"unknown or missing fake type(s) {unknown or list(config.fake_types)}; choose from "
                             f"{', '.join(FAKE_TYPES)}")
    if config.fps < 1:
        raise WorkbenchError(f"fps must be a positive integer, not {config.fps!r}")
    if config.size < 32 or config.size % 2:
        raise WorkbenchError(f"size must be an even number of pixels, at least 32, not {config.size!r}")
    n_eval = max(1, round(config.eval_fraction * len(tts.SENTENCES)))
    if not 0 < config.eval_fraction < 1 or n_eval < 2 or len(tts.SENTENCES) - n_eval < 2:
        raise WorkbenchError(f"eval_fraction {config.eval_fraction!r} must leave at least two of the "
                             f"{len(tts.SENTENCES)} sentences in each of train and eval")


def _plan(config: AVCorpusConfig) -> list[dict]:
    """Every clip's choices, drawn from the seed; the split by sentence is ``synth.speech._plan``'s."""
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(tts.SENTENCES))
    n_eval = max(1, round(config.eval_fraction * len(tts.SENTENCES)))
    eval_ids = set(order[:n_eval].tolist())
    rows = []
    for label, n in (("bonafide", config.n_real), ("spoof", config.n_fake)):
        for i in range(n):
            sentence = int(rng.integers(len(tts.SENTENCES)))
            split = "eval" if sentence in eval_ids else "train"
            attack = "-" if label == "bonafide" else config.fake_types[i % len(config.fake_types)]
            row = {"id": f"{label}-{i:04d}", "label": label, "y": int(label == "bonafide"),
                   "video_y": int(attack != "sbi"),
                   "audio_y": int(attack not in ("fake_audio", "converted_audio")),
                   "sync_y": int(attack != "mismatched_audio"), "attack": attack, "modality": "audiovisual",
                   "split": split, "sentence": sentence, "voice": str(rng.choice(VOICES)),
                   "rate": int(rng.choice(RATES)), "pitch": int(rng.choice(PITCHES)), "audio_sentence": sentence,
                   "_level_db": float(rng.uniform(*LEVELS_DB)),
                   "_identity": random_identity(rng, config.size), "_seed": int(rng.integers(2**31))}
            if attack == "sbi":
                row["_sbi"] = random_sbi_params(rng, config.size)
            if attack == "mismatched_audio":
                same = [s for s in range(len(tts.SENTENCES))
                        if s != sentence and (s in eval_ids) == (split == "eval")]
                row["audio_sentence"] = int(rng.choice(same))
                row["_candidates"] = [int(c) for c in rng.permutation(same)]
                row["_audio"] = {"voice": str(rng.choice(VOICES)), "rate": int(rng.choice(RATES)),
                                 "pitch": int(rng.choice(PITCHES))}
            rows.append(row)
    return rows


def _closest_sentence(candidates: list[int], n: int, voice: dict) -> int:
    """The candidate sentence whose rendering in ``voice`` is closest to ``n`` samples long (so that speaking it to
    length changes the rate, and with it the pauses, as little as possible)."""
    lengths = [len(tts.speak(tts.SENTENCES[c], **voice)) for c in candidates]
    return int(candidates[int(np.argmin([abs(length - n) for length in lengths]))])


def render_clip(row: dict, *, fps: int) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 RGB frames ``[T, size, size, 3]``, float32 audio at ``SR``) for one planned clip."""
    speech = tts.speak(tts.SENTENCES[row["sentence"]], voice=row["voice"], rate=row["rate"], pitch=row["pitch"])
    speech, n_frames = _whole_frames(speech, fps)
    mouth = viseme_track(tts.SENTENCES[row["sentence"]], n_frames, fps, rate=row["rate"], voice=row["voice"],
                         pitch=row["pitch"], rng=np.random.default_rng(row["_seed"]))
    identity = row["_identity"]
    frames = np.stack([draw_head(identity, k / fps, mouth[k], blink_at(identity, k / fps)) for k in range(n_frames)])
    if row["attack"] == "sbi":
        frames = np.stack([self_blend(f, face_mask(identity, k / fps), row["_sbi"]) for k, f in enumerate(frames)])
    audio = speech
    if row["attack"] == "mismatched_audio":
        row["audio_sentence"] = _closest_sentence(row.get("_candidates") or [row["audio_sentence"]], len(speech),
                                                  row["_audio"])
        audio = speak_to_length(tts.SENTENCES[row["audio_sentence"]], len(speech), **row["_audio"])
    elif row["attack"] == "fake_audio":
        audio = griffin_lim(speech, seed=row["_seed"] % 2**31)
    elif row["attack"] == "converted_audio":
        audio = pitch_roundtrip(speech)
    return frames, set_level(audio, row["_level_db"])


def av_corpus(config: AVCorpusConfig | None = None, *, root: str | Path | None = None, progress=None):
    """The manifest (with absolute paths) of the synthetic audio-visual corpus for ``config``, made once, cached."""
    from workbench.paths import home

    config = config or AVCorpusConfig()
    _check(config)
    base = Path(root) if root else home() / "data" / "synthetic"
    columns = ["id", "path", "label", "y", "video_y", "audio_y", "sync_y", "attack", "modality", "split",
               "sentence", "voice", "rate", "pitch", "audio_sentence"]

    def build(tmp: Path, rows: list[dict]) -> None:
        tts.espeak_binary()
        (tmp / "video").mkdir()
        plan = _plan(config)
        for k, row in enumerate(plan):
            frames, audio = render_clip(row, fps=config.fps)
            row["path"] = f"video/{row['id']}.mp4"
            write_mp4(tmp / row["path"], frames, audio, fps=config.fps)
            rows.append({c: row[c] for c in columns})
            if progress:
                progress((k + 1) / len(plan), f"synthetic talking heads {k + 1}/{len(plan)}")

    return cached_corpus(base / f"av-{config.key()}", config, build)


__all__ = ["AVCorpusConfig", "FAKE_TYPES", "SR", "av_corpus", "render_clip", "write_mp4"]
