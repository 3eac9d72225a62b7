"""Group-disjoint train/eval splits of a deepfake dataset that ships one split only, and the record of which rows
a model was trained on.

Used by the deepfake CLI (``deepfake train|eval --split-by speaker|source --eval-fraction F``) and
deepfake.training (a model folder lists its training rows, so ``deepfake eval`` can refuse to score them).

FakeAVCeleb (and any folder or manifest without split folders) loads with ``split`` "all": training on it and
evaluating on it would report how well the model fits its own training rows. ``disjoint_split`` assigns whole
groups to "train" or "eval" [ours]:

* ``speaker`` — the ``speaker`` column (ASVspoof 2019 LA's SPEAKER_ID, FakeAVCeleb's ``source`` id): no voice or
  face is heard or seen on both sides;
* ``source`` — the clip a forgery was made from (DFDC's ``original``; a clip with none is its own source): a fake
  and the real clip it was derived from land on the same side.

The groups (their names sorted, then shuffled with ``numpy.random.default_rng(seed)``) go to the eval side until
it holds at least ``eval_fraction`` of the rows; the same data, ``by``, fraction and seed always give the same
split. Each side must hold both classes. ``split_record`` is what the model folder and the evaluation report
record about it.
"""
from __future__ import annotations

import numpy as np

from workbench import WorkbenchError

SPLIT_BY = ("speaker", "source")
SPLIT_HELP = "--split-by speaker|source --eval-fraction F"
EVAL_SPLITS = ("eval", "test")


def has_train_and_eval(frame) -> bool:
    """Whether the dataset brings its own train split and an eval or test split."""
    splits = set(frame["split"])
    return "train" in splits and bool(splits & set(EVAL_SPLITS))


def dataset_label(frame, where: str) -> str:
    """``where (FakeAVCeleb)``: the path or name given, and the dataset it holds."""
    sources = sorted(set(frame["source"].astype(str))) if "source" in frame else []
    return f"{where} ({', '.join(sources)})" if sources else str(where)


def group_keys(frame, by: str, *, where: str = "the data") -> np.ndarray:
    """The group of every row for ``by`` (see the module docstring); an error names the missing column."""
    if by not in SPLIT_BY:
        raise WorkbenchError(f"unknown --split-by {by!r}; choose from {', '.join(SPLIT_BY)}")
    if by == "speaker":
        if "speaker" not in frame.columns:
            raise WorkbenchError(f"{where}: no 'speaker' column to split by (columns: {', '.join(frame.columns)}); "
                                 f"use --split-by source where the data names the clip each fake was made from")
        keys = frame["speaker"].astype(str).str.strip()
        empty = keys == ""
        if empty.any():
            raise WorkbenchError(f"{where}: column 'speaker' is empty in {int(empty.sum())} row(s), e.g. id "
                                 f"{frame.loc[empty, 'id'].iloc[0]!r}; every row needs a speaker to split by it")
        return keys.to_numpy()
    if "original" not in frame.columns:
        raise WorkbenchError(f"{where}: no 'original' column naming the clip each fake was made from (columns: "
                             f"{', '.join(frame.columns)}); use --split-by speaker where the data names speakers")
    original = frame["original"].astype(str).str.strip()
    own = frame["id"].astype(str)
    # a clip with no original is its own source; an original is named by its file name, the id is its stem
    stems = original.str.rsplit(".", n=1).str[0]
    return np.where(original == "", own, stems)


def disjoint_split(frame, by: str, eval_fraction: float, *, seed: int = 0, where: str = "the data"):
    """``frame`` with ``split`` replaced by "train" / "eval", whole ``by``-groups on one side; and its record."""
    if not 0 < eval_fraction < 1:
        raise WorkbenchError(f"--eval-fraction must be between 0 and 1 (exclusive), not {eval_fraction}")
    keys = group_keys(frame, by, where=where)
    groups = sorted(set(keys))
    if len(groups) < 2:
        raise WorkbenchError(f"{where}: one {by} group only ({groups[0]!r}); a {by}-disjoint split needs two or more")
    order = np.random.default_rng(seed).permutation(len(groups))
    sizes = {g: int(n) for g, n in zip(*np.unique(keys, return_counts=True))}
    target = eval_fraction * len(frame)
    held, count = set(), 0
    for i in order:
        if count >= target or len(held) == len(groups) - 1:
            break
        held.add(groups[i])
        count += sizes[groups[i]]
    is_eval = np.isin(keys, list(held))
    out = frame.copy()
    out["split"] = np.where(is_eval, "eval", "train")
    for side in ("train", "eval"):
        labels = set(out.loc[out["split"] == side, "y"])
        if labels != {0, 1}:
            have = "bona fide" if labels == {1} else "fake" if labels == {0} else "no"
            raise WorkbenchError(f"{where}: the {by}-disjoint {side} part (seed {seed}, eval fraction "
                                 f"{eval_fraction}) holds {have} rows only; try another --seed or --eval-fraction")
    return out.reset_index(drop=True), split_record(out, by, eval_fraction, seed, keys)


def split_record(frame, by: str, eval_fraction: float, seed: int, keys) -> dict:
    """How a disjoint split was made, for a model's ``model.json`` and an evaluation's report."""
    train = frame["split"].to_numpy() == "train"
    return {"by": by, "eval_fraction": float(eval_fraction), "seed": int(seed),
            "train_rows": int(train.sum()), "eval_rows": int((~train).sum()),
            f"train_{by}_groups": int(len(set(keys[train]))), f"eval_{by}_groups": int(len(set(keys[~train])))}


def row_keys(frame) -> list[str]:
    """``source/id`` of every row: how a model folder names the rows it was trained on."""
    return (frame["source"].astype(str) + "/" + frame["id"].astype(str)).tolist()


__all__ = ["EVAL_SPLITS", "SPLIT_BY", "SPLIT_HELP", "dataset_label", "disjoint_split", "group_keys",
           "has_train_and_eval", "row_keys", "split_record"]
