"""The P9 scorer comparison's retrieval baselines (captioning.compare): chance R@k by hand and against enumeration,
the surface-feature baseline on planted clips where duration codes the class (and where it does not), and the
readers (table helper, strength figure, captions view, claims ledger) on artifacts with and without the rows."""
from __future__ import annotations

from itertools import permutations

import numpy as np
import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.captioning.compare import (BASELINE, CHANCE, chance_recall, recall_at_k, retrieval_baselines,
                                          retrieval_table)

CLASSES = ("dog", "rain", "siren", "bell")


def test_chance_recall_by_hand_and_by_enumeration():
    rel = np.array([[1, 0, 0, 0],            # one relevant of four
                    [1, 1, 0, 0],            # two of four
                    [0, 0, 0, 0]], bool)     # none: never a hit
    got = chance_recall(rel, ks=(1, 2, 5))
    assert got[1] == pytest.approx([1 / 4, 2 / 4, 0])
    assert got[2] == pytest.approx([1 - 3 / 6, 1 - 1 / 6, 0])          # 1 − C(n − r, 2) / C(4, 2)
    assert got[5] == pytest.approx([1, 1, 0])                          # k beyond the gallery: every item seen
    orders = list(permutations(range(4)))                              # every ranking, equally likely
    for k in (1, 2):
        mean = np.mean([recall_at_k(-np.tile(np.argsort(o), (3, 1)), rel, ks=(k,))[k] for o in orders], axis=0)
        assert mean == pytest.approx(got[k])


def test_audio_to_text_deals_one_caption_per_label_set_in_turn():
    """Query 0 scores label set B above A: its first caption is B's, its second already A's (not B's paraphrase),
    so it finds its own set at rank 2; every caption is placed once."""
    from workbench.captioning.compare import _dealt, _label_sets

    clips = pd.DataFrame({"labels": [["a"], ["b"], ["a"]],
                          "captions": [["a one", "a two"], ["b one", "b two", "b three"], ["a three"]]})
    score = np.array([[0.2, 0.9, 0.2], [0.1, 0.8, 0.1], [0.7, 0.3, 0.7]])      # [clips, clips] score for j's set
    owner, relevant = _label_sets(clips)
    keys = _dealt(score, clips, owner, np.random.default_rng(0))               # [clips, captions]
    order = np.argsort(-keys[0], kind="stable")
    assert [owner[c] == 1 for c in order[:2]] == [True, False] and sorted(order) == list(range(6))
    hits = recall_at_k(keys, relevant, ks=(1, 2))
    assert hits[1].tolist() == [0, 1, 1] and hits[2].tolist() == [1, 1, 1]


def _planted(tmp_path, *, coded: bool, seed: int = 0):
    """Train (16 a class) and held-out (5 a class) clips of one 440 Hz tone at a random level; with ``coded`` the
    clip's duration is its class's (0.2, 0.4, 0.6, 0.8 s), otherwise it is drawn from the same four at random."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    rows = []
    for split, n in (("train", 16), ("eval", 5)):
        for c, name in enumerate(CLASSES):
            for j in range(n):
                seconds = 0.2 * (1 + (c if coded else int(rng.integers(len(CLASSES)))))
                path = tmp_path / f"{split}-{name}-{j}.wav"
                level = 10 ** (rng.uniform(-20, -6) / 20)
                sf.write(path, level * np.sin(2 * np.pi * 440 * np.arange(int(8000 * seconds)) / 8000), 8000)
                rows.append({"path": str(path), "labels": [name], "split": split,
                             "captions": [f"a {name} is heard", f"you can hear a {name}"]})
    frame = pd.DataFrame(rows)
    return frame[frame["split"] == "train"], frame[frame["split"] == "eval"]


def test_surface_baseline_reads_a_planted_duration_and_nothing_else(tmp_path):
    train, held = _planted(tmp_path, coded=True)
    surface, chance = retrieval_baselines(train, held, seed=0)
    assert (surface["scorer"], chance["scorer"]) == (BASELINE, CHANCE) and surface["train_clips"] == len(train)
    for d in ("audio_to_text", "text_to_audio"):
        assert surface[f"{d} R@1"] >= 0.9
        lo, hi = surface[f"{d} R@1_ci"]
        assert lo <= surface[f"{d} R@1"] <= hi
        assert chance[f"{d} R@1"] == pytest.approx(1 / len(CLASSES)) and chance[f"{d} R@1_ci"] is None

    recalls = []                            # duration shuffled: four draws, as one alone is a few dozen queries
    for draw in range(1, 5):
        folder = tmp_path / f"shuffled-{draw}"
        folder.mkdir()
        train, held = _planted(folder, coded=False, seed=draw)
        surface, chance = retrieval_baselines(train, held, seed=0)
        recalls.append([surface[f"{d} R@1"] - chance[f"{d} R@1"] for d in ("audio_to_text", "text_to_audio")])
    above = np.mean(recalls, axis=0)                                    # [directions] R@1 − chance
    assert above.max() < 0.1 and abs(above.mean()) < 0.1, recalls
    with pytest.raises(WorkbenchError, match="needs train clips"):
        retrieval_baselines(train.head(0), held)
    with pytest.raises(WorkbenchError, match="at least two clips"):
        retrieval_baselines(train, held.head(1))


# ------------------------------------------------------------------------------------------------ readers


def _comparison(with_baselines: bool) -> dict:
    from workbench.captioning.compare import DELTA
    from workbench.captioning.evaluation import JUDGE_SCORE

    scorers = [{"scorer": s, "models": [s], "keyword_top3_hit_rate": h, "audio_to_text R@1": r,
                "audio_to_text R@1_ci": [r - 0.1, r + 0.1]} for s, h, r in (("weak", 0.5, 0.4), ("strong", 0.9, 0.8))]
    ablation = [{"scorer": s, "l": 1, "NLG mean": 10.0 * (i + 1), JUDGE_SCORE: 0.1 * (i + 1),
                 f"{JUDGE_SCORE} CI": [0.0, 0.5], DELTA: {"value": 10.0 * i, "ci": None}, "clips": 4}
                for i, s in enumerate(("weak", "strong"))]
    out = {"scorers": scorers, "ablation": ablation, "first": "weak", "settings": {}}
    if with_baselines:
        out["baselines"] = [{"scorer": BASELINE, "models": [], "audio_to_text R@1": 0.3,
                             "audio_to_text R@1_ci": [0.2, 0.4]},
                            {"scorer": CHANCE, "models": [], "audio_to_text R@1": 0.05, "audio_to_text R@1_ci": None}]
    return out


def test_readers_with_and_without_the_baseline_rows():
    from workbench.viz.captions import scorer_strength_figure

    rows, note = retrieval_table(_comparison(True))
    assert [r["scorer"] for r in rows] == ["weak", "strong", BASELINE, CHANCE] and note == ""
    fig = scorer_strength_figure(_comparison(True))
    assert [s.x0 for s in fig.layout.shapes] == [0.3, 0.05]
    assert [s.line.dash for s in fig.layout.shapes] == ["dash", "dot"]

    rows, note = retrieval_table(_comparison(False))                   # an artifact built before the baselines
    assert [r["scorer"] for r in rows] == ["weak", "strong"]
    assert BASELINE in note and CHANCE in note and "not in this build" in note
    assert not scorer_strength_figure(_comparison(False)).layout.shapes


@pytest.mark.parametrize("with_baselines", [True, False])
def test_the_views_scorer_table_reads_old_and_new_artifacts(tmp_path, with_baselines):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from workbench.io import ArtifactStore, save_frame

    store = ArtifactStore(tmp_path)
    save_frame(pd.DataFrame({"id": ["c0"], "scorer": ["weak"]}), store.path("P9", "caption_scorers", "default"),
               profile="default", models=["weak", "strong"], seed=0, config=_comparison(with_baselines))
    root = Path(__file__).resolve().parent.parent
    at = AppTest.from_string(f"""
import os, sys
sys.path.insert(0, {str(root)!r})
os.environ['WORKBENCH_ARTIFACTS'] = {str(tmp_path)!r}
from dashboard.views.captions import _scorer_comparison
_scorer_comparison("default")
""", default_timeout=60).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["scorer"]) == ["weak", "strong"] + ([BASELINE, CHANCE] if with_baselines else [])
    captions = " ".join(c.value for c in at.caption)
    assert ("not in this build" in captions) is not with_baselines


def test_the_ledger_names_the_baselines_where_the_artifact_has_them():
    from workbench.claims.media import _by_scorer

    class _Artifact:
        label, config = "P9/caption_scorers", _comparison(True)

    assert f"{BASELINE} audio→text R@1 0.30" in _by_scorer(_Artifact())
    _Artifact.config = _comparison(False)
    assert BASELINE not in _by_scorer(_Artifact()) and "strong l = 1" in _by_scorer(_Artifact())
