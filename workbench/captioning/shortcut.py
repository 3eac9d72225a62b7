"""Evaluations a shortcut cannot pass (P9, issue 18): the phrasing overlap between what the scorer learnt and the
references, and a surface-feature shortcut baseline beside the synthetic headline.

Used by ``captioning.artifacts`` (the ``caption_eval`` builder stores both in its meta), the P9 notebook, the
captions dashboard view (reads them from the meta) and ``claims.media`` (the ledger's ``shortcut`` column).

* ``phrasing_overlap(train_texts, eval_texts)`` — how much of the eval references' wording the scorer's training
  captions already hold: the share of eval word types (and word 2-, 3-, 4-gram types) that occur in the training
  captions, and how many reference sentences are verbatim training captions. Shared class nouns ("siren", "rain")
  are expected; shared sentences are what issue 18 removes.
* ``surface_features(paths)`` — per file: duration (s), file size (bytes), RMS level (dBFS) — how the clip was
  recorded and stored, which says nothing about *what* sounds (``SURFACE``) — and the sound-structure cues: peak
  level (with the RMS level it gives the crest factor, i.e. impulsiveness), silence ratio (share of 20 ms frames
  more than 30 dB below the clip's loudest frame) and mean spectral centroid (Hz) (``STRUCTURE`` adds them).
* ``shortcut_baseline(train, eval)`` — a trivial captioner: 1-nearest-neighbour on z-scored surface features over
  the train clips, emitting the neighbour's first caption; scored with the same NLG metrics
  (``metrics.evaluate_captions``) on the same eval clips and references. Beside it the chance level: the NLG mean
  of a random train clip's first caption for every eval clip (averaged over ``draws`` seeded draws), and the
  neighbour's class accuracy against chance (a class drawn at the train rates). Run once with the surface set
  (``SURFACE``, what ``tests/test_caption_shortcut.py`` bounds near chance; the generator draws each clip's level
  and noise floor independently of its class so that it stays there) and once with the structure cues added
  (``STRUCTURE``: reported, not bounded — impulsive, sparse or bright sounds are what the classes *are*, so it is a
  crude acoustic model rather than a shortcut; its score says how easy the synthetic classes are).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

SURFACE = ("duration_s", "file_bytes", "rms_dbfs")
STRUCTURE = SURFACE + ("peak_dbfs", "silence_ratio", "centroid_hz")
FRAME_S = 0.02
SILENCE_DB = 30.0          # a frame is "silent" when this far below the clip's loudest frame
_WORD = re.compile(r"[a-z0-9'-]+")


# ---------------------------------------------------------------------------------------------- phrasings


def _ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = _WORD.findall(str(text).lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def phrasing_overlap(train_texts, eval_texts) -> dict:
    """{"words": share of eval word types seen in train, "2-grams"/"3-grams"/"4-grams": the same for n-gram types,
    "sentences": eval sentences that are verbatim train sentences, "eval_sentences", "train_sentences"}."""
    train = [str(t).strip() for t in train_texts]
    evals = [str(t).strip() for t in eval_texts]
    out = {}
    for n, key in ((1, "words"), (2, "2-grams"), (3, "3-grams"), (4, "4-grams")):
        seen = set().union(*(_ngrams(t, n) for t in train)) if train else set()
        grams = set().union(*(_ngrams(t, n) for t in evals)) if evals else set()
        out[key] = float(len(grams & seen) / len(grams)) if grams else 0.0
    norm = {t.lower().rstrip(".") for t in train}
    out["sentences"] = int(sum(t.lower().rstrip(".") in norm for t in set(evals)))
    out["eval_sentences"] = len(set(evals))
    out["train_sentences"] = len(set(train))
    return out


# ---------------------------------------------------------------------------------------------- surface features


def surface_features(paths, sr: int = 16000):
    """A frame with one row per file and the ``STRUCTURE`` columns (which include ``SURFACE``)."""
    import pandas as pd

    from workbench.media.audio import load_audio

    rows = []
    for path in paths:
        y = np.asarray(load_audio(path, sr=sr), np.float64)
        hop = max(1, int(FRAME_S * sr))
        frames = np.pad(y, (0, (-len(y)) % hop)).reshape(-1, hop)
        level = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
        power = np.abs(np.fft.rfft(frames * np.hanning(hop), axis=1)) ** 2
        freqs = np.fft.rfftfreq(hop, 1 / sr)
        centroid = (power @ freqs) / np.maximum(power.sum(1), 1e-12)
        rows.append({"duration_s": len(y) / sr, "file_bytes": float(Path(path).stat().st_size),
                     "rms_dbfs": float(10 * np.log10(np.mean(y ** 2) + 1e-12)),
                     "peak_dbfs": float(20 * np.log10(np.abs(y).max() + 1e-12)),
                     "silence_ratio": float(np.mean(level < level.max() - SILENCE_DB)),
                     "centroid_hz": float(np.mean(centroid))})
    return pd.DataFrame(rows)


def _nearest(train_x: np.ndarray, eval_x: np.ndarray) -> np.ndarray:
    mu, sd = train_x.mean(0), train_x.std(0)
    sd = np.where(sd > 1e-9, sd, 1.0)                    # a constant feature carries nothing
    a, b = (train_x - mu) / sd, (eval_x - mu) / sd
    d = ((b[:, None, :] - a[None, :, :]) ** 2).sum(-1)
    return np.argmin(d, axis=1)


def shortcut_baseline(train, evals, *, features=SURFACE, draws: int = 20, seed: int = 0,
                      train_features=None, eval_features=None) -> dict:
    """The 1-NN surface-feature captioner and its chance level on ``evals`` (frames with ``path``, ``class``,
    ``captions``): {"features", "nlg_mean", "scores", "random_nlg_mean", "random_nlg_std", "class_accuracy",
    "chance_accuracy", "clips", "captions"}. ``*_features`` reuse ``surface_features`` frames already computed."""
    from workbench.captioning.metrics import evaluate_captions

    train, evals = train.reset_index(drop=True), evals.reset_index(drop=True)
    tf = surface_features(train["path"]) if train_features is None else train_features
    ef = surface_features(evals["path"]) if eval_features is None else eval_features
    cols = list(features)
    nn = _nearest(tf[cols].to_numpy(float), ef[cols].to_numpy(float))
    firsts = [list(c)[0] for c in train["captions"]]
    refs = [list(c) for c in evals["captions"]]
    predicted = [firsts[j] for j in nn]
    result = evaluate_captions(predicted, refs)
    rng = np.random.default_rng(seed)
    random_means = [evaluate_captions([firsts[j] for j in rng.integers(0, len(train), len(evals))], refs)["nlg_mean"]
                    for _ in range(draws)]
    classes = train["class"].astype(str).to_numpy()
    truth = evals["class"].astype(str).to_numpy()
    counts = {c: float(np.mean(classes == c)) for c in set(classes)}
    chance = float(sum(counts.get(c, 0.0) for c in truth) / len(truth))   # a class drawn at the train rates
    return {"features": cols, "nlg_mean": float(result["nlg_mean"]),
            "scores": {k: 100 * v for k, v in result["scores"].items()},
            "random_nlg_mean": float(np.mean(random_means)), "random_nlg_std": float(np.std(random_means)),
            "class_accuracy": float(np.mean(classes[nn] == truth)), "chance_accuracy": chance,
            "clips": len(evals), "captions": predicted}


def shortcut_report(train, evals, *, draws: int = 20, seed: int = 0) -> dict:
    """{"surface": shortcut_baseline over ``SURFACE``, "structure": over ``STRUCTURE``} (features computed once)."""
    tf, ef = surface_features(train["path"]), surface_features(evals["path"])
    kw = dict(draws=draws, seed=seed, train_features=tf, eval_features=ef)
    return {"surface": shortcut_baseline(train, evals, features=SURFACE, **kw),
            "structure": shortcut_baseline(train, evals, features=STRUCTURE, **kw)}


def shortcut_line(report: dict) -> str:
    """One line for the claims ledger's ``shortcut`` column and the views."""
    s, t = report.get("surface") or {}, report.get("structure") or {}
    if not s:
        return ""
    line = (f"surface-feature 1-NN caption ({', '.join(s['features'])}): NLG mean {s['nlg_mean']:.2f} vs "
            f"random train caption {s['random_nlg_mean']:.2f} ± {s['random_nlg_std']:.2f}; its class accuracy "
            f"{s['class_accuracy']:.2f}, chance {s['chance_accuracy']:.2f} ({s['clips']} eval clips)")
    if t:
        line += (f"; + structure cues (peak, silence ratio, spectral centroid): NLG mean {t['nlg_mean']:.2f}, class "
                 f"accuracy {t['class_accuracy']:.2f}")
    return line


__all__ = ["STRUCTURE", "SURFACE", "phrasing_overlap", "shortcut_baseline", "shortcut_line", "shortcut_report",
           "surface_features"]
