"""Real recordings through the zero-shot captioner (P9, issue 18): does it name the right animal or sound class?

Used by ``captioning.artifacts`` (the ``caption_eval`` builder stores the result in its meta), the P9 notebook and
the captions dashboard view (reads it from the meta).

The data are ``workbench.datasets.real``: ten CC0 animal recordings (cat cow dog duck frog horse owl pig rooster
sheep, labelled by file name) and pyannote's 30 s two-speaker conversation. For each recording the captioner
(greedy and MAGIC, l keywords) runs on its loudest window of the scorer's input length (``loudest_window``; the
whole clip up to ``captioner.MAX_SECONDS`` when the scorer has no fixed length), and we record:

* **keyword hit** — a vocabulary keyword for the right class is among the ``top`` keywords the audio-text model
  ranks first (``ANIMAL_KEYWORDS`` / ``SPEECH_KEYWORDS``, kept only where the vocabulary has them: labels the
  vocabulary has no word for — cow, pig, sheep in the bundled one — are listed in ``no_keyword`` and left out of
  the keyword rate);
* **caption hit** — the caption contains a word for the class (``ANIMAL_WORDS`` / ``SPEECH_WORDS``, word forms
  with s/es/ing/ed).

The default profile's audio-text model was trained on the synthetic corpus only (no animal but a bird, no real
speech), so these rates say how far its keywords and captions carry to real sound — not a benchmark.
"""
from __future__ import annotations

import re

import numpy as np

from workbench import WorkbenchError

ANIMAL_KEYWORDS = {"cat": ("Cat", "Meow"), "cow": ("Cattle, bovinae", "Moo", "Cow"), "dog": ("Dog", "Bark"),
                   "duck": ("Duck", "Quack"), "frog": ("Frog", "Croak"), "horse": ("Horse", "Neigh, whinny"),
                   "owl": ("Owl", "Hoot"), "pig": ("Pig", "Oink"), "rooster": ("Chicken, rooster", "Crowing, cock-a-doodle-doo"),
                   "sheep": ("Sheep", "Bleat")}
ANIMAL_WORDS = {"cat": ("cat", "meow", "kitten", "purr"), "cow": ("cow", "moo", "cattle"),
                "dog": ("dog", "bark", "puppy", "woof"), "duck": ("duck", "quack"), "frog": ("frog", "croak", "toad"),
                "horse": ("horse", "neigh", "whinny"), "owl": ("owl", "hoot"), "pig": ("pig", "oink", "grunt"),
                "rooster": ("rooster", "crow", "cock", "chicken", "hen"), "sheep": ("sheep", "bleat", "lamb", "baa")}
SPEECH_KEYWORDS = ("Speech", "Male speech, man speaking", "Female speech, woman speaking", "Conversation",
                   "Narration, monologue", "Child speech, kid speaking")
SPEECH_WORDS = ("speech", "speak", "talk", "voice", "say", "says", "conversation", "speaker", "spoke", "word")
DECODERS = ("greedy", "magic")


def _says(text: str, words) -> bool:
    pattern = r"\b(" + "|".join(re.escape(w) for w in words) + r")(s|es|ing|ed|ers?)?\b"
    return re.search(pattern, str(text).lower()) is not None


def loudest_window(audio: np.ndarray, seconds: float | None, sr: int = 16000) -> np.ndarray:
    """The ``seconds``-long stretch of ``audio`` with the most energy (the whole clip when shorter or None)."""
    audio = np.asarray(audio, np.float32)
    n = int(round((seconds or 0) * sr))
    if not n or len(audio) <= n:
        return audio
    energy = np.concatenate([[0.0], np.cumsum(audio.astype(np.float64) ** 2)])
    hop = max(1, sr // 20)
    starts = np.arange(0, len(audio) - n + 1, hop)
    best = starts[int(np.argmax(energy[starts + n] - energy[starts]))]
    return audio[best:best + n]


def read_recording(path, sr: int = 16000, max_seconds: float | None = None) -> np.ndarray:
    """Mono float32 at ``sr``: decoded by soundfile (libsndfile reads the mp3s) and resampled with scipy's polyphase
    filter [ours: librosa's first resample costs tens of seconds of start-up on a small CPU]; anything soundfile
    cannot decode goes through ``media.audio.load_audio``."""
    from math import gcd

    import soundfile as sf
    from scipy.signal import resample_poly

    try:
        y, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception:  # noqa: BLE001 - libsndfile raises several types; load_audio says what is wrong
        from workbench.media.audio import load_audio

        return load_audio(path, sr=sr, max_seconds=max_seconds)
    y = y.mean(axis=1)
    if max_seconds:
        y = y[:int(max_seconds * rate)]
    if rate != sr:
        g = gcd(int(rate), int(sr))
        y = resample_poly(y, sr // g, int(rate) // g)
    if not len(y) or not np.isfinite(y).all():
        raise WorkbenchError(f"{path}: no usable samples")
    return np.asarray(y, np.float32)


def _window_seconds(scorer) -> float | None:
    config = getattr(getattr(scorer, "model", None), "config", None)
    return getattr(getattr(config, "audio", None), "max_seconds", None)


def real_items(vocabulary: list[str]) -> tuple[list[dict], list[str]]:
    """([{source, label, path, keywords (the vocabulary's words for it), words}], labels without a keyword)."""
    from workbench.datasets.real import animal_recordings, speech_sample

    vocab = set(vocabulary)
    items, no_keyword = [], []
    for row in animal_recordings().to_dict("records"):
        label = str(row["label"])
        keywords = [k for k in ANIMAL_KEYWORDS.get(label, ()) if k in vocab]
        if not keywords:
            no_keyword.append(label)
        items.append({"source": "animals (CC0)", "label": label, "path": str(row["path"]), "keywords": keywords,
                      "words": list(ANIMAL_WORDS.get(label, (label,)))})
    wav, _ = speech_sample()
    keywords = [k for k in SPEECH_KEYWORDS if k in vocab]
    if not keywords:
        no_keyword.append("speech")
    items.append({"source": "pyannote sample", "label": "speech", "path": str(wav), "keywords": keywords,
                  "words": list(SPEECH_WORDS)})
    return items, no_keyword


def real_keyword_hits(captioner, *, l: int = 2, top: int = 3, k: int = 45, alpha: float = 0.0, beta: float = 0.5,
                      max_new_tokens: int = 20, limit: int | None = None, progress=None) -> dict:
    """Caption the real recordings; {"rows": [per recording], "summary": {...}, "no_keyword": [labels]} or
    {"unavailable": reason} when the real-data wheels are not installed."""
    from workbench.captioning.captioner import MAX_SECONDS

    report = progress or (lambda f, m: None)
    try:
        items, no_keyword = real_items(captioner.vocabulary)
    except WorkbenchError as exc:
        return {"unavailable": str(exc)}
    if limit is not None:                       # smoke runs: a few animals and the speech sample
        items = items[:max(0, limit - 1)] + items[-1:]
    seconds = _window_seconds(captioner.scorer)
    rows = []
    for n, item in enumerate(items):
        audio = loudest_window(read_recording(item["path"], max_seconds=MAX_SECONDS), seconds)
        emb = captioner.scorer.embed_audio([audio])[0]
        ranked = [kw["keyword"] for kw in captioner.keywords(emb, max(top, l))]
        out = captioner.caption(None, l=l, decoders=DECODERS, k=k, alpha=alpha, beta=beta,
                                max_new_tokens=max_new_tokens, audio_embedding=emb)
        row = {"source": item["source"], "label": item["label"], "keywords": ranked[:top],
               "keyword_hit": bool(set(ranked[:top]) & set(item["keywords"])) if item["keywords"] else None}
        for d in DECODERS:
            row[f"{d}_caption"] = out["captions"][d]
            row[f"{d}_hit"] = _says(out["captions"][d], item["words"])
        rows.append(row)
        report((n + 1) / len(items), f"real recordings {n + 1}/{len(items)}")
    animals = [r for r in rows if r["label"] != "speech"]
    scored = [r for r in animals if r["keyword_hit"] is not None]
    speech = next((r for r in rows if r["label"] == "speech"), None)
    summary = {"animals": len(animals), "animals_with_keyword": len(scored),
               "keyword_hit_rate": float(np.mean([r["keyword_hit"] for r in scored])) if scored else None,
               "keyword_chance": (float(np.mean([min(1.0, top * len([k for k in ANIMAL_KEYWORDS[r["label"]]
                                                                       if k in captioner.vocabulary])
                                                     / len(captioner.vocabulary)) for r in scored]))
                                  if scored else None),
               **{f"{d}_caption_hit_rate": float(np.mean([r[f"{d}_hit"] for r in animals])) if animals else None
                  for d in DECODERS},
               "speech_keyword_hit": None if speech is None else speech["keyword_hit"],
               **{f"speech_{d}_hit": None if speech is None else speech[f"{d}_hit"] for d in DECODERS},
               "top": top, "l": l, "window_s": seconds}
    return {"rows": rows, "summary": summary, "no_keyword": sorted(set(no_keyword) & {i["label"] for i in items})}


def real_line(real: dict) -> str:
    """One line summarising ``real_keyword_hits`` for tables and the ledger."""
    if not real or "unavailable" in real:
        return f"real recordings not available: {(real or {}).get('unavailable', 'not run')}"
    s = real["summary"]

    def pct(v):
        return "–" if v is None else f"{100 * v:.0f} %"

    def yn(v):
        return "n/a" if v is None else ("yes" if v else "no")
    missing = f"; no vocabulary word for {', '.join(real['no_keyword'])}" if real.get("no_keyword") else ""
    return (f"{s['animals']} CC0 animal recordings: right animal among the top-{s['top']} keywords "
            f"{pct(s['keyword_hit_rate'])} (of {s['animals_with_keyword']} with a vocabulary word; chance "
            f"{pct(s['keyword_chance'])}), named in the caption greedy {pct(s['greedy_caption_hit_rate'])} / MAGIC "
            f"{pct(s['magic_caption_hit_rate'])}{missing}; pyannote speech sample: speech keyword "
            f"{yn(s['speech_keyword_hit'])}, caption says speech/talking greedy {yn(s['speech_greedy_hit'])} / MAGIC "
            f"{yn(s['speech_magic_hit'])}")


__all__ = ["ANIMAL_KEYWORDS", "ANIMAL_WORDS", "SPEECH_KEYWORDS", "SPEECH_WORDS", "loudest_window",
           "read_recording", "real_items", "real_keyword_hits", "real_line"]
