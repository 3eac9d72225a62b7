"""Flip-group scores (memes.flips) and the surface-feature shortcut baseline (memes.shortcut) for P5."""
from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.memes.datasets import load_memes
from workbench.memes.flips import flip_metrics, flip_report
from workbench.memes.shortcut import shortcut_baseline, shortcut_line, shortcut_record, surface_features
from workbench.memes.synth import MemeCorpusConfig, generate_memes

CLASSES = ["benign", "satire", "abusive"]
# the bound the shortcut must stay under on the synthetic memes' held-out split (fixed corpus seed 0):
# chance is 1/3 for both numbers; a frame-id shortcut on the old generator (one label per frame) scored far above
MAX_SHORTCUT_MACRO_F1 = 0.5
MAX_SHORTCUT_FLIP_ACCURACY = 0.2


def test_flip_report_on_a_hand_computed_example():
    frame = pd.DataFrame({
        "pair_id": ["p1", "p1", "p1", "p2", "p2", "p3", "p3", ""],
        "label": ["benign", "satire", "abusive", "benign", "abusive", "satire", "abusive", "benign"],
        "pred": ["benign", "satire", "abusive", "benign", "benign", "satire", "abusive", "satire"]})
    rep = flip_report(frame, CLASSES, n_boot=0)
    assert rep["groups"] == 3 and rep["rows"] == 7            # the unpaired row is left out
    assert rep["pair_accuracy"] == pytest.approx(2 / 3)       # p1 and p3 all right, p2 not
    assert rep["accuracy"] == pytest.approx(6 / 7)
    # strict F1: p2's right "benign" row counts as a miss. benign tp 1 fp 1 fn 1; satire tp 2; abusive tp 2 fn 1
    assert rep["pair_macro_f1"] == pytest.approx(np.mean([2 / 4, 1.0, 4 / 5]))
    assert rep["macro_f1"] == pytest.approx(np.mean([4 / 5, 1.0, 4 / 5]))
    boot = flip_report(frame, CLASSES, n_boot=200, seed=1)
    assert boot["pair_accuracy_lo"] <= boot["pair_accuracy"] <= boot["pair_accuracy_hi"]
    assert flip_report(frame.assign(pair_id=""), CLASSES, n_boot=10)["groups"] == 0
    per = flip_metrics(pd.concat([frame.assign(setting="a"), frame.assign(setting="b", pred=frame["label"])]),
                       CLASSES, n_boot=0)
    assert [(r["setting"], r["pair_accuracy"]) for r in per] == [("a", pytest.approx(2 / 3)), ("b", 1.0)]
    with pytest.raises(WorkbenchError, match="pred"):
        flip_report(frame.drop(columns="pred"), CLASSES)


def _planted(tmp_path, n=60):
    """Memes whose frame id gives the label away (the flaw the generator used to have)."""
    rows = []
    rng = np.random.default_rng(0)
    for i in range(n):
        label = CLASSES[i % 3]
        path = tmp_path / f"{i}.png"
        cv2.imwrite(str(path), (rng.random((32, 32, 3)) * 255).astype(np.uint8))
        rows.append({"id": f"m{i}", "image": str(path), "text": f"some words number {i}", "label": label,
                     "template": f"{label[0]}{i % 2}", "pair_id": "", "split": "train" if i < 2 * n // 3 else "test"})
    return pd.DataFrame(rows)


def test_the_shortcut_finds_a_planted_frame_shortcut(tmp_path):
    frame = _planted(tmp_path)
    feats = surface_features(frame)
    assert list(feats.columns) == ["template", "chars", "words", "image_mean", "file_kb"]
    assert feats["words"].eq(4).all() and (feats["file_kb"] > 0).all()
    result = shortcut_baseline(frame[frame["split"] == "train"], frame[frame["split"] == "test"], CLASSES,
                               n_boot=50)
    best = next(m for m in result["models"] if m["model"] == result["best"])
    assert best["macro_f1"] == 1.0 and result["chance"] == pytest.approx(1 / 3)
    assert "predictions" not in shortcut_record(result) and "macro-F1 1.00" in shortcut_line(result)
    assert shortcut_line({}) == ""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("shortcut") / "memes"
    generate_memes(MemeCorpusConfig(n_train=300, n_eval=150, size=64, seed=0), out)
    return load_memes(out, format="synthetic")


def test_the_shortcut_stays_near_chance_on_the_synthetic_memes(corpus):
    """Both trivial models on surface features (frame id, text length, word count, image mean intensity, file size),
    trained on the train split, stay near chance on the held-out split: macro-F1 ≤ MAX_SHORTCUT_MACRO_F1 and
    flip-group accuracy ≤ MAX_SHORTCUT_FLIP_ACCURACY (chance: 1/3, and 1/9 for a pair, 1/27 for a triple)."""
    frame = corpus.frame
    result = shortcut_baseline(frame[frame["split"] == "train"], frame[frame["split"] == "test"], corpus.classes,
                               seed=0, n_boot=100)
    assert result["features"] == ["template", "chars", "words", "image_mean", "file_kb"]
    assert result["train_rows"] == 300 and result["eval_rows"] == 150
    for model in result["models"]:
        assert model["macro_f1"] <= MAX_SHORTCUT_MACRO_F1, model
        assert model["pair_accuracy"] <= MAX_SHORTCUT_FLIP_ACCURACY, model
    assert "chance 0.33" in shortcut_line(result)
