"""Axis data for the experts and the router (P3, P10): one frame layout for every source.

Columns: ``id``, ``axis`` (helpful | harmless | honest), ``split`` (train | eval), ``prompt``, ``response`` (what
the axis expert should say) and ``rejected`` (what it should not; empty where a source has none).

* ``axis_data()`` — the bundled sets in ``data/experts/`` (written for this project, CC0);
* ``load_alpaca(path)`` — Alpaca-style JSON (a list of {instruction, input, output}) → helpful;
* ``load_beavertails_axis(path)`` — BeaverTails JSONL → harmless: the safe responses, with an unsafe response
  to the same prompt as ``rejected`` where the file has one;
* ``load_truthfulqa(path)`` — TruthfulQA's CSV (Question, Best Answer, Incorrect Answers "a; b; …") → honest.

Loaded sources are split deterministically: every ``eval_every``-th row (by position) goes to eval.
"""
from __future__ import annotations

import json
from pathlib import Path

from workbench import WorkbenchError
from workbench.paths import DATA_DIR

AXES = ("helpful", "harmless", "honest")
COLUMNS = ["id", "axis", "split", "prompt", "response", "rejected"]


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
        raise WorkbenchError(f"split must be 'train' or 'eval', not '{split}'")
    return split


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
