"""The LLM-over-embeddings stage (P6, ``deepfake.soft_prompt``) on a planted signal: the label is linearly
readable from synthetic "aligned embeddings"; a projector into the tiny test LM's input space must carry it to the
verdict's token likelihoods, and one trained on shuffled labels must not."""
import json

import numpy as np
import pytest

from workbench import WorkbenchError
from workbench.deepfake.soft_prompt import (SoftPromptConfig, load_stage, model_fingerprint, save_stage,
                                            train_projector)
from workbench.metrics.eer import eer

CONFIG = SoftPromptConfig(n_soft=2, hidden=32, epochs=6, lr=3e-3, batch_size=16, seed=0)


def planted(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """[n, 12] unit-norm-ish features whose first coordinate says the label (1 = bona fide), the rest noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.normal(size=(n, 12)).astype(np.float32)
    x[:, 0] += 3.0 * (2 * y - 1)
    return x / np.linalg.norm(x, axis=1, keepdims=True), y


@pytest.fixture(scope="module")
def lm():
    from workbench.models import load

    return load("tiny-llama")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Two stand-in model folders (a model.json each, different): the one trained for and another."""
    root = tmp_path_factory.mktemp("models")
    for name in ("model-a", "model-b"):
        (root / name).mkdir()
        (root / name / "model.json").write_text(json.dumps({"kind": "conllm-deepfake", "name": name}))
    return root / "model-a", root / "model-b"


@pytest.fixture(scope="module")
def trained(lm, folders):
    x, y = planted(64, seed=0)
    meta = {"model_folder": str(folders[0]), "model_fingerprint": model_fingerprint(folders[0])}
    return train_projector(lm, x, y, CONFIG, meta=meta)


def test_planted_signal_separates_and_shuffled_labels_do_not(lm, trained):
    x_eval, y_eval = planted(48, seed=1)
    scores = trained.scores(x_eval)
    assert scores.shape == (48,) and np.isfinite(scores).all()
    assert eer(scores, y_eval)[0] < 0.2
    x, y = planted(64, seed=0)
    shuffled = train_projector(lm, x, np.random.default_rng(5).permutation(y), CONFIG)
    assert eer(shuffled.scores(x_eval), y_eval)[0] > 0.25


def test_save_load_round_trip_gives_identical_scores(lm, trained, folders, tmp_path):
    x_eval, _ = planted(8, seed=2)
    folder = save_stage(trained, tmp_path / "stage")
    assert {p.name for p in folder.iterdir()} == {"projector.safetensors", "projector.json"}
    loaded = load_stage(folder, lm, model_folder=folders[0])
    np.testing.assert_array_equal(loaded.scores(x_eval), trained.scores(x_eval))
    text = loaded.rationales(x_eval[:1], ["real"], max_new_tokens=4)
    assert len(text) == 1 and text[0].startswith("Because")


def test_wrong_lm_model_or_width_is_refused_in_one_line(trained, folders, tmp_path):
    from workbench.models import load

    folder = save_stage(trained, tmp_path / "stage")
    with pytest.raises(WorkbenchError) as err:
        load_stage(folder, load("tiny-gpt2"))
    assert "tiny-llama" in str(err.value) and "tiny-gpt2" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(WorkbenchError) as err:
        load_stage(folder, trained.lm, model_folder=folders[1])
    assert "model-a" in str(err.value) and "model-b" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(WorkbenchError, match="12 features"):
        trained.scores(np.zeros((3, 5), np.float32))
    with pytest.raises(WorkbenchError, match="both classes"):
        train_projector(trained.lm, np.zeros((4, 12), np.float32), np.ones(4), CONFIG)


def test_bootstrap_ci_brackets_the_point_and_takes_per_row_thresholds():
    from workbench.metrics.eer import bootstrap_ci, detection_report

    rng = np.random.default_rng(0)
    y = np.arange(200) % 2
    s = rng.normal(size=200) + 1.0 * y                   # overlapping classes: EER well inside (0, 0.5)
    rep = detection_report(s, y, threshold=0.5, bootstrap=300)
    lo, hi = rep["eer_ci"]
    assert lo < rep["eer"] < hi and hi - lo < 0.25
    assert rep["accuracy_ci"][0] < rep["accuracy"] < rep["accuracy_ci"][1]
    per_row = bootstrap_ci(s, y, np.full(200, 0.5), n=300)
    assert per_row == {k: rep[k] for k in ("eer_ci", "accuracy_ci")}
    assert bootstrap_ci(2.0 * y, y, 1.0, n=50) == {"eer_ci": [0.0, 0.0], "accuracy_ci": [1.0, 1.0]}


def test_claims_av_gain_reads_the_llm_over_embeddings_verdict_when_present():
    """Ten audio-visual clips: the re-vote right on all, the LLM over embeddings on 9, the video detector on 8."""
    import pandas as pd

    from workbench.claims import MemorySources, measure
    from workbench.papers import get_paper

    y = np.array([1] * 5 + [0] * 5)
    sign = np.where(y == 1, 1.0, -1.0)
    soft_right = np.arange(10) != 9
    frame = pd.DataFrame({"id": [f"av{i}" for i in range(10)], "modality": "audiovisual", "y": y,
                          "verdict": np.where(y == 1, "real", "fake"),
                          "soft_verdict": np.where(soft_right == (y == 1), "real", "fake"),
                          "score_video": np.where(np.arange(10) < 8, sign, -sign), "score_audio": -sign})
    claim = next(c for c in get_paper("P6").claims if c.kind == "deepfake_accuracy_gain"
                 and c.params.get("modality") == "audio-visual")
    config = {"trained_detectors": {"audio": {"threshold": 0.0}, "video": {"threshold": 0.0}},
              "pipeline": {"audio_encoder": "logmel-cnn", "video_encoder": "frame-cnn"}, "smoke": False}
    ours = measure("P6", claim, MemorySources("default").add("P6", "deepfake_eval", frame, models=["tiny-llama"],
                                                              config=config))
    assert ours.value == pytest.approx(100 * (soft_right.mean() - 0.8))
    assert "LLM over embeddings" in ours.detail and "re-vote: 100.0 %" in ours.detail
