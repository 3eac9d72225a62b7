"""The words of the P9 sound corpus: the keyword vocabulary, each class's labels and caption clauses.

Used by ``captioning.synth.corpus`` (labels and captions of every clip), ``captioning.clap`` (the keywords the text
tower is distilled on), ``captioning.captioner`` and the dashboard (the vocabulary a clip is scored against).

The data live in ``data/captioning/``: ``vocabulary.csv`` (AudioSet display names, ``in_corpus`` marks the ones
the corpus produces), ``labels.json`` (class → variant → labels) and ``captions.json`` (class → variant → caption
clauses, and the joins of a mixture's two clauses) [ours]. Labels are vocabulary keywords spelled exactly as there;
a clip also carries the ontology parents the vocabulary holds (a siren is also "Alarm" and "Emergency vehicle").
Captions (4–5 per clip) are clauses drawn without replacement, given a capital and a full stop; they avoid words
that name vocabulary distractors (``in_corpus`` = 0) so that labels and captions agree. A mixture's captions join
a clause of each source ("… while …", "… as …", "…, and in the background …").

``LABELS`` and ``CLAUSES`` map (class, variant) to lists; ``JOINS`` holds the mixture templates, ``{A}``/``{a}``
the louder source's clause (capitalised or not), ``{B}``/``{b}`` the quieter one's.

Two sets of phrasings [ours, issue 18]: ``CLAUSES``/``JOINS`` are the **train** phrasings (the captions of train
clips: what the default audio-text model and its text student learn on); ``EVAL_CLAUSES``/``EVAL_JOINS``
(``eval_clauses``/``eval_joins`` in ``captions.json``) are **held-out** phrasings written separately, used only for
the reference captions of eval clips, so that no reference sentence is one the scorer that guides MAGIC was trained
on. ``captions_for`` and ``mixture_captions`` take ``phrasings="train" | "eval"``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from workbench import WorkbenchError
from workbench.paths import DATA_DIR

VOCABULARY_PATH = DATA_DIR / "captioning" / "vocabulary.csv"
LABELS_PATH = DATA_DIR / "captioning" / "labels.json"
CAPTIONS_PATH = DATA_DIR / "captioning" / "captions.json"


def _read(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkbenchError(f"{path}: not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WorkbenchError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise WorkbenchError(f"{path}: expected a JSON object")
    return data


def _per_variant(data: dict, section: str, path: Path) -> dict[tuple[str, str], list[str]]:
    """``{class: {variant: [str]}}`` under ``section`` as ``{(class, variant): [str]}``."""
    try:
        return {(name, variant): [str(x) for x in items] for name, variants in data[section].items()
                for variant, items in variants.items()}
    except (KeyError, AttributeError, TypeError):
        raise WorkbenchError(f"{path}: expected {{'{section}': {{class: {{variant: [...]}}}}}}") from None


def load_labels(path: str | Path | None = None) -> dict[tuple[str, str], list[str]]:
    """(class, variant) → its labels, from ``data/captioning/labels.json`` or a file of the same layout."""
    path = Path(path) if path else LABELS_PATH
    return _per_variant(_read(path), "labels", path)


def load_captions(path: str | Path | None = None) -> tuple[dict[tuple[str, str], list[str]], tuple[str, ...]]:
    """((class, variant) → its caption clauses, the mixture joins), from ``data/captioning/captions.json``."""
    path = Path(path) if path else CAPTIONS_PATH
    data = _read(path)
    joins = data.get("joins")
    if not isinstance(joins, list) or not joins:
        raise WorkbenchError(f"{path}: needs a non-empty 'joins' list of mixture templates")
    return _per_variant(data, "clauses", path), tuple(str(j) for j in joins)


def load_eval_captions(path: str | Path | None = None) -> tuple[dict[tuple[str, str], list[str]], tuple[str, ...]]:
    """((class, variant) → its held-out caption clauses, the held-out mixture joins): the phrasings of the eval
    clips' reference captions (``eval_clauses``/``eval_joins`` of ``captions.json``), disjoint from the train ones."""
    path = Path(path) if path else CAPTIONS_PATH
    data = _read(path)
    joins = data.get("eval_joins")
    if not isinstance(joins, list) or not joins:
        raise WorkbenchError(f"{path}: needs a non-empty 'eval_joins' list of held-out mixture templates")
    return _per_variant(data, "eval_clauses", path), tuple(str(j) for j in joins)


LABELS = load_labels()
CLAUSES, JOINS = load_captions()
EVAL_CLAUSES, EVAL_JOINS = load_eval_captions()
PHRASINGS = ("train", "eval")


def _pools(phrasings: str) -> tuple[dict, tuple[str, ...]]:
    if phrasings not in PHRASINGS:
        raise WorkbenchError(f"unknown phrasings {phrasings!r}; choose from {', '.join(PHRASINGS)}")
    return (CLAUSES, JOINS) if phrasings == "train" else (EVAL_CLAUSES, EVAL_JOINS)


def _sentence(clause: str) -> str:
    return clause[0].upper() + clause[1:] + "."


def captions_for(key: tuple[str, str], rng: np.random.Generator, phrasings: str = "train") -> list[str]:
    """4–5 distinct captions of one (class, variant), drawn from ``rng`` out of the ``phrasings`` pool."""
    pool = _pools(phrasings)[0][key]
    k = int(rng.integers(4, 6))
    return [_sentence(pool[i]) for i in rng.choice(len(pool), size=min(k, len(pool)), replace=False)]


def mixture_captions(first: tuple[str, str], second: tuple[str, str], rng: np.random.Generator,
                     phrasings: str = "train") -> list[str]:
    """4–5 captions of a mixture: a clause of ``first`` (the louder) and of ``second`` through distinct joins, all
    from the ``phrasings`` pool."""
    clauses, templates = _pools(phrasings)
    k = int(rng.integers(4, 6))
    joins = rng.choice(len(templates), size=min(k, len(templates)), replace=False)
    out = []
    for j in joins:
        a = clauses[first][int(rng.integers(len(clauses[first])))]
        b = clauses[second][int(rng.integers(len(clauses[second])))]
        text = templates[j].format(A=a[0].upper() + a[1:], a=a, B=b[0].upper() + b[1:], b=b)
        out.append(text + ".")
    return out


def corpus_labels() -> set[str]:
    """Every vocabulary keyword the synthetic corpus can produce."""
    return {label for labels in LABELS.values() for label in labels}


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


__all__ = ["CAPTIONS_PATH", "CLAUSES", "EVAL_CLAUSES", "EVAL_JOINS", "JOINS", "LABELS", "LABELS_PATH", "PHRASINGS",
           "VOCABULARY_PATH", "captions_for", "corpus_labels", "load_captions", "load_eval_captions", "load_labels",
           "load_vocabulary", "mixture_captions"]
