"""The synthetic sound-event corpus of P9: which clips, their seeds and split, and the cached folder they are in.

Used by ``captioning.clap`` (the default scorer trains on the train split), ``captioning.artifacts`` (the
``caption_eval`` builder captions the eval split), the P9 notebook, the CLI (``caption eval`` without ``--data``)
and the dashboard's captions view.

The default profile trains its own small CLAP-style audio-text model, so it needs audio clips paired with captions
and sound-event labels; ``render`` makes them with plain numpy/scipy DSP (and ``espeak-ng`` for speech), so nothing
is downloaded. ``mixtures`` extra clips overlay two different classes (the second 0–10 dB quieter); their labels
are the union and their captions join a clause of each (``words.mixture_captions``).

Determinism: each clip has its own ``SeedSequence`` from the corpus seed, the class name (CRC-32) and the clip
index, spawned into an audio and a text stream, so the same seed gives the same files (PCM16 WAV) and captions
whatever other classes are chosen. Within a class the variants take turns (from a seeded offset), so they are
balanced; ``SoundCorpusConfig.classes`` [ours] renders a subset (e.g. without speech where espeak-ng is missing),
and a mixture draws its two classes from that set. Eval clips are held out per class (and among mixtures) by a
seeded permutation: ``round(eval_fraction · n)`` of them, at least one when there are two or more clips and
``eval_fraction > 0``.

The corpus is built once into ``$WORKBENCH_HOME/data/synthetic/sounds-<key>/`` (``io.build_once``: a temporary
folder renamed into place, so a folder with a ``manifest.parquet`` is complete); ``manifest.parquet`` holds id,
path (``wav/<id>.wav``, 16 kHz mono PCM16, peak ≈ 0.5), class (the class name, or ``mixture``), variant, sources
(list of class names), labels (list), captions (list), split (train | eval), seconds; ``config.json`` the
configuration. Captions of train clips come from the train phrasings, those of eval clips from the held-out ones
(``words.EVAL_CLAUSES``; ``eval_phrasings=False`` draws them from the train phrasings as before issue 18).
``sound_corpus`` returns the manifest with absolute paths and Python lists.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from workbench import WorkbenchError
from workbench.captioning.synth.render import (CLASSES, SR, VARIANTS, check_class, clean_clip, finish_clip,
                                               render_mixture)
from workbench.captioning.synth.words import (LABELS, VOCABULARY_PATH, captions_for, corpus_labels, load_vocabulary,
                                              mixture_captions)


@dataclass(frozen=True)
class SoundCorpusConfig:
    n_per_class: int = 12
    seconds: float = 3.0
    sr: int = SR
    eval_fraction: float = 0.25          # share of each class's clips (and of the mixtures) held out for eval
    mixtures: int = 12
    seed: int = 0
    classes: tuple[str, ...] = tuple(CLASSES)    # [ours] a subset can be rendered (e.g. without espeak-ng)
    eval_phrasings: bool = True          # [ours, issue 18] eval clips' references from the held-out phrasings
    generator: int = 5                   # the renderer's version (5: random loudness, issue 18); keys the
    #                                      cached folder, so a corpus rendered by an older recipe is never reused

    def key(self) -> str:
        from workbench.io import config_key

        return config_key(asdict(self))


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
        check_class(name)
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


def _write(config: SoundCorpusConfig, folder: Path, progress=None) -> None:
    """Render every clip of ``config`` into ``folder/wav/`` and write ``manifest.parquet`` and ``config.json``."""
    import pandas as pd
    import soundfile as sf

    if "speech" in config.classes:
        from workbench.media.speech import espeak_binary

        espeak_binary()
    (folder / "wav").mkdir()
    plan = _plan(config)
    rows = []
    for k, item in enumerate(plan):
        name, i = item["class"], item["index"]
        audio_rng, text_rng = _streams(config.seed, name, i)
        phrasings = "eval" if item["split"] == "eval" and config.eval_phrasings else "train"
        if name == "mixture":
            first, second = (str(c) for c in audio_rng.choice(config.classes, size=2, replace=False))
            audio, va, vb = render_mixture(first, second, audio_rng, config.seconds, config.sr)
            labels = list(dict.fromkeys(LABELS[(first, va)] + LABELS[(second, vb)]))
            captions = mixture_captions((first, va), (second, vb), text_rng, phrasings)
            variant, sources = f"{va}+{vb}", [first, second]
        else:
            variant = item["variant"]
            raw, _ = clean_clip(name, audio_rng, config.seconds, config.sr, variant)
            audio = finish_clip(raw, audio_rng, config.sr)
            labels, captions, sources = list(LABELS[(name, variant)]), captions_for((name, variant), text_rng,
                                                                                        phrasings), [
                name]
        path = f"wav/{item['id']}.wav"
        sf.write(folder / path, audio, config.sr, subtype="PCM_16")
        rows.append({"id": item["id"], "path": path, "class": name, "variant": variant, "sources": sources,
                     "labels": labels, "captions": captions, "split": item["split"],
                     "seconds": len(audio) / config.sr})
        if progress:
            progress((k + 1) / len(plan), f"synthetic sounds {k + 1}/{len(plan)}")
    pd.DataFrame(rows).to_parquet(folder / "manifest.parquet", index=False)
    (folder / "config.json").write_text(json.dumps(asdict(config), indent=2) + "\n")


def rephrase(manifest, phrasings: str = "eval", seed: int = 0):
    """A copy of ``manifest`` whose ``captions`` are drawn anew from the ``phrasings`` pool (``words.PHRASINGS``):
    4–5 per clip, seeded by ``seed`` and the clip id. The independent judge (``clap.judge_scorer``) learns on the
    train clips captioned this way with the held-out phrasings, never on the train phrasings MAGIC's guide saw."""
    out = manifest.copy()
    captions = []
    for row in out.to_dict("records"):
        rng = np.random.default_rng([seed, zlib.crc32(str(row["id"]).encode()), 11])
        if row["class"] == "mixture":
            (first, second), (va, vb) = row["sources"], str(row["variant"]).split("+")
            captions.append(mixture_captions((first, va), (second, vb), rng, phrasings))
        else:
            captions.append(captions_for((row["class"], row["variant"]), rng, phrasings))
    out["captions"] = captions
    return out


def sound_corpus(config: SoundCorpusConfig | None = None, *, root: str | Path | None = None, progress=None):
    """The manifest (absolute paths, list columns as lists) of the synthetic sound corpus, made once and cached."""
    import pandas as pd

    from workbench.io import build_once
    from workbench.paths import home

    config = config or SoundCorpusConfig()
    _validate(config)
    base = Path(root) if root else home() / "data" / "synthetic"
    folder = build_once(base / f"sounds-{config.key()}", lambda tmp: _write(config, tmp, progress),
                        complete="manifest.parquet")
    manifest = pd.read_parquet(folder / "manifest.parquet")
    manifest["path"] = [str(folder / p) for p in manifest["path"]]
    for column in ("sources", "labels", "captions"):
        manifest[column] = [[str(v) for v in value] for value in manifest[column]]
    return manifest


__all__ = ["SoundCorpusConfig", "rephrase", "sound_corpus"]
