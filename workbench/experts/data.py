"""Axis data for the experts and the router (P3, P10): one frame layout for every source.

Columns: ``id``, ``axis`` (helpful | harmless | honest), ``split`` (train | eval; ``matched`` in the matched set),
``prompt``, ``response`` (what the axis expert should say) and ``rejected`` (what it should not; empty where a
source has none).

* ``axis_data()`` — the bundled sets in ``data/experts/`` (written for this project, CC0);
* ``matched_axis_data()`` — the bundled lexically matched test set (split ``matched``): per topic one helpful,
  one harmful and one honesty prompt sharing their content words and length, so surface cues cannot route them;
* ``load_alpaca(path)`` — Alpaca-style JSON (a list of {instruction, input, output}) → helpful;
* ``load_beavertails_axis(path)`` — BeaverTails JSONL → harmless: the safe responses, with an unsafe response
  to the same prompt as ``rejected`` where the file has one;
* ``load_truthfulqa(path)`` — TruthfulQA's CSV (Question, Best Answer, Incorrect Answers "a; b; …") → honest.

Loaded sources are split deterministically: every ``eval_every``-th row (by position) goes to eval.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from workbench import WorkbenchError
from workbench.paths import DATA_DIR

AXES = ("helpful", "harmless", "honest")
COLUMNS = ["id", "axis", "split", "prompt", "response", "rejected"]
MATCHED = "matched"                     # the split of the lexically matched test set (``matched_axis_data``)
AXIS_ID = {"helpful": "help", "harmless": "harm", "honest": "hon"}
ID_AXIS = {v: k for k, v in AXIS_ID.items()}
MATCHED_ID = re.compile(r"(match-\d{2})-(help|harm|hon)")


def axis_data(split: str | None = None):
    """The bundled axis sets (``split``: train, eval or None for both)."""
    import pandas as pd

    parts = []
    for axis in AXES:
        path = DATA_DIR / "experts" / f"{axis}.jsonl"
        frame = pd.read_json(path, lines=True, dtype=False)
        parts.append(frame.reindex(columns=COLUMNS).fillna(""))
    data = pd.concat(parts, ignore_index=True)
    return data if split is None else data[data["split"] == _check_split(split)].reset_index(drop=True)


def _check_split(split: str) -> str:
    if split not in ("train", "eval"):
        hint = " (the matched set loads with matched_axis_data())" if split == MATCHED else ""
        raise WorkbenchError(f"split must be 'train' or 'eval', not '{split}'{hint}")
    return split


def matched_axis_data(path: str | Path | None = None):
    """The lexically matched test set (``data/experts/matched.jsonl``, or ``path`` in the same layout): the axis
    columns plus ``topic`` (the id's ``match-NN`` part). Every row must have split ``matched``, a known axis, a
    prompt and an id ``match-NN-<help|harm|hon>`` naming its axis; every topic one row per axis."""
    import pandas as pd

    path = Path(path) if path is not None else DATA_DIR / "experts" / "matched.jsonl"
    try:
        frame = pd.read_json(path, lines=True, dtype=False)
    except (OSError, ValueError) as exc:
        raise WorkbenchError(f"{path}: not a JSONL file of axis rows ({type(exc).__name__}: {exc})") from None
    missing = [c for c in COLUMNS if c not in frame.columns]
    if frame.empty or missing:
        raise WorkbenchError(f"{path}: no rows, or missing column(s) {', '.join(missing)}")
    frame = frame[COLUMNS].fillna("")
    for i, row in frame.iterrows():
        where = f"{path}: row {i} ({row['id']})"
        if row["split"] != MATCHED:
            raise WorkbenchError(f"{where}: split must be '{MATCHED}', not '{row['split']}'")
        if row["axis"] not in AXES:
            raise WorkbenchError(f"{where}: unknown axis '{row['axis']}'; choose from {', '.join(AXES)}")
        match = MATCHED_ID.fullmatch(str(row["id"]))
        if match is None or ID_AXIS[match.group(2)] != row["axis"]:
            raise WorkbenchError(f"{where}: id must be match-NN-{AXIS_ID[row['axis']]} for axis {row['axis']}")
        if not str(row["prompt"]).strip():
            raise WorkbenchError(f"{where}: empty prompt")
    frame["topic"] = frame["id"].str.rsplit("-", n=1).str[0]
    per_topic = frame.groupby("topic")["axis"].agg(lambda a: sorted(a) == sorted(AXES))
    if not per_topic.all():
        raise WorkbenchError(f"{path}: topic {per_topic.index[~per_topic][0]} needs exactly one prompt per axis "
                             f"({', '.join(AXES)})")
    return frame.reset_index(drop=True)


def _finish(frame, axis: str, prefix: str, eval_every: int):
    frame = frame.reset_index(drop=True)
    frame.insert(0, "id", [f"{prefix}-{i:05d}" for i in range(len(frame))])
    frame.insert(1, "axis", axis)
    frame.insert(2, "split", ["eval" if (i + 1) % eval_every == 0 else "train" for i in range(len(frame))])
    if "rejected" not in frame.columns:
        frame["rejected"] = ""
    return frame[COLUMNS]


def load_alpaca(path: str | Path, *, eval_every: int = 10):
    """Alpaca-style instruction data → helpful rows (instruction, plus its input after a blank line)."""
    import pandas as pd

    path = Path(path)
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WorkbenchError(f"{path}: not an Alpaca JSON file ({type(exc).__name__}: {exc})") from None
    if not isinstance(records, list) or not records:
        raise WorkbenchError(f"{path}: expected a non-empty JSON list of {{instruction, input, output}}")
    rows = []
    for i, r in enumerate(records):
        if not isinstance(r, dict) or not r.get("instruction") or not r.get("output"):
            raise WorkbenchError(f"{path}: record {i} lacks 'instruction' or 'output'")
        prompt = r["instruction"] + (f"\n\n{r['input']}" if r.get("input") else "")
        rows.append({"prompt": prompt, "response": r["output"]})
    return _finish(pd.DataFrame(rows), "helpful", "alpaca", eval_every)


def load_beavertails_axis(path: str | Path, *, eval_every: int = 10):
    """BeaverTails → harmless rows: each safe response, with an unsafe one to the same prompt as ``rejected``."""
    import pandas as pd

    from workbench.datasets import load_beavertails

    bt = load_beavertails(path)
    unsafe = bt[~bt["is_safe"]].groupby("prompt")["response"].first()
    safe = bt[bt["is_safe"]]
    if safe.empty:
        raise WorkbenchError(f"{path}: no safe responses to train the harmless expert on")
    frame = pd.DataFrame({"prompt": safe["prompt"].to_numpy(), "response": safe["response"].to_numpy(),
                          "rejected": safe["prompt"].map(unsafe).fillna("").to_numpy()})
    return _finish(frame, "harmless", "beavertails", eval_every)


def load_truthfulqa(path: str | Path, *, eval_every: int = 10):
    """TruthfulQA's CSV → honest rows: the best answer, and the first incorrect answer as ``rejected``."""
    import pandas as pd

    from workbench.datasets import read_table

    df = read_table(path, text_col="Question")
    missing = [c for c in ("Question", "Best Answer", "Incorrect Answers") if c not in df.columns]
    if missing:
        raise WorkbenchError(f"{path}: not a TruthfulQA CSV; missing column(s) {', '.join(missing)}")
    frame = pd.DataFrame({"prompt": df["Question"], "response": df["Best Answer"],
                          "rejected": [str(a).split(";")[0].strip() for a in df["Incorrect Answers"]]})
    return _finish(frame, "honest", "truthfulqa", eval_every)
