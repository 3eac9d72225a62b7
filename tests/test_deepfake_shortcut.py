"""The P6 shortcut baseline (``deepfake.shortcut``), the unseen-attack split, the real-speech test set and the
claims ledger's shortcut line — and the bound that keeps the synthetic benchmarks honest: a logistic regression on
surface features of the files, trained on the train split and scored on the eval split with a fixed seed, stays
near chance on every P6 synthetic corpus (balanced accuracy ≤ ``BOUND`` and AUC within ``BOUND`` of 0.5 either
way). When it does not, the generator leaks the label: fix the generator, not this test."""
import shutil

import numpy as np
import pandas as pd
import pytest

from workbench.claims import MemorySources, measure
from workbench.papers import get_paper
from workbench.deepfake.shortcut import (SURFACE_FEATURES, audio_surface, feature_matrix, shortcut_baseline,
                                         shortcut_line, shortcut_report)

needs_tools = pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("espeak-ng") is None,
                                 reason="ffmpeg and espeak-ng are needed")
BOUND = 0.65            # balanced accuracy ≤ 0.65 and 0.35 ≤ AUC ≤ 0.65 on the eval split (seed 0)


def test_surface_features_see_a_padded_tail():
    rng = np.random.default_rng(0)
    speech = rng.normal(0, 0.1, 16000).astype(np.float32)
    padded = np.concatenate([speech, np.zeros(8000, np.float32)])
    plain, pad = audio_surface(speech), audio_surface(padded)
    assert plain["duration_s"] == pytest.approx(1.0) and pad["duration_s"] == pytest.approx(1.5)
    assert plain["silence_ratio"] == pytest.approx(0.0) and pad["silence_ratio"] == pytest.approx(1 / 3, abs=0.02)
    assert pad["trailing_silence_s"] == pytest.approx(0.5, abs=0.02) and plain["trailing_silence_s"] < 0.02
    assert plain["rms_db"] == pytest.approx(-20, abs=0.2)


def test_shortcut_baseline_finds_a_planted_leak_and_not_noise():
    rng = np.random.default_rng(0)
    y = np.tile([0, 1], 60)
    noise = rng.normal(size=(120, 3))
    leak = noise + 4 * y[:, None] * np.array([1, 0, 0])
    found = shortcut_baseline(leak[:80], y[:80], leak[80:], y[80:])
    assert found["balanced_accuracy"] > 0.85 and found["auc"] > 0.95
    chance = shortcut_baseline(noise[:80], y[:80], noise[80:], y[80:])
    assert abs(chance["balanced_accuracy"] - 0.5) < 0.2 and abs(chance["auc"] - 0.5) < 0.2
    assert "balanced accuracy" in shortcut_line(found) and "chance 0.50" in shortcut_line(found)
    one_class = shortcut_baseline(noise[:10], np.ones(10), noise[10:20], y[10:20])
    assert np.isnan(one_class["auc"])


def _check_near_chance(report, stages):
    for stage in stages:
        r = report[stage]
        assert r["balanced_accuracy"] <= BOUND and 1 - BOUND <= r["auc"] <= BOUND, (stage, shortcut_line(r))


@pytest.mark.slow
@needs_tools
def test_synthetic_speech_corpus_gives_no_surface_shortcut():
    from workbench.deepfake.synth.speech import AudioCorpusConfig, audio_corpus

    data = audio_corpus(AudioCorpusConfig(n_bonafide=24, n_spoof=24, eval_fraction=0.5, seed=0))
    data = data.assign(modality="audio")
    report = shortcut_report(data[data["split"] == "train"], data[data["split"] == "eval"], ["audio detector"])
    assert report["audio detector"]["n_test"] >= 16
    _check_near_chance(report, ["audio detector"])


@pytest.mark.slow
@needs_tools
def test_synthetic_talking_heads_give_no_surface_shortcut():
    from workbench.deepfake.synth.video import AVCorpusConfig, av_corpus

    data = av_corpus(AVCorpusConfig(n_real=32, n_fake=32, eval_fraction=0.5, seed=0, size=48))
    cache: dict = {}
    train, test = data[data["split"] == "train"], data[data["split"] == "eval"]
    report = shortcut_report(train, test, ["audiovisual detector", "audio detector", "video detector"], cache=cache)
    _check_near_chance(report, ["audiovisual detector", "audio detector"])
    # the trailing-silence (padding) cue: dubbed clips' pauses look like genuine ones'
    x = pd.DataFrame(feature_matrix(data["path"], cache), columns=SURFACE_FEATURES).assign(attack=data["attack"])
    tail = x.groupby("attack")["trailing_silence_s"].mean()
    assert abs(tail["mismatched_audio"] - tail["-"]) < 0.15, tail.to_dict()
    silence = x.groupby("attack")["silence_ratio"].mean()
    assert (silence.drop("-") - silence["-"]).abs().max() < 0.1, silence.to_dict()


def test_attack_split_and_training_rows_hold_the_unseen_attacks_out():
    from workbench.deepfake.training import SyntheticSpec, attack_split, training_rows

    spec = SyntheticSpec()
    data = pd.DataFrame({"split": ["train"] * 4 + ["eval"] * 4,
                         "attack": ["-", "griffin_lim", "pitch_roundtrip", "converted_audio"] * 2,
                         "y": [1, 0, 0, 0] * 2})
    assert list(training_rows(data, spec)["attack"]) == ["-", "griffin_lim"]
    masks = attack_split(data[data["split"] == "eval"], spec)
    assert list(masks["seen"]) == [True, True, False, False] and list(masks["unseen"]) == [True, False, True, True]
    assert SyntheticSpec(held_out_attacks=()).key() != spec.key()


def _claim(kind, **params):
    return next(c for c in get_paper("P6").claims if c.kind == kind and all(c.params.get(k) == v
                                                                            for k, v in params.items()))


def _deepfake_sources(**config):
    y = np.array([1, 1, 1, 0, 0, 0])
    sign = np.where(y == 1, 1.0, -1.0)
    frame = pd.DataFrame({"id": [f"av{i}" for i in range(6)], "modality": "audiovisual", "y": y,
                          "verdict": np.where(y == 1, "real", "fake"), "score_video": sign, "score_audio": -sign})
    config = {"trained_detectors": {"audio": {"threshold": 0.0}, "video": {"threshold": 0.0}},
              "pipeline": {"audio_encoder": "logmel-cnn", "video_encoder": "frame-cnn"}, "smoke": False, **config}
    return MemorySources("default").add("P6", "deepfake_eval", frame, models=["logmel-cnn", "frame-cnn"],
                                        config=config)


def test_claims_row_carries_the_shortcut_line():
    result = {"balanced_accuracy": 0.52, "auc": 0.49, "n_train": 40, "n_test": 20, "chance": 0.5,
              "features": list(SURFACE_FEATURES), "model": "standardised logistic regression (C=1)"}
    ours = measure("P6", _claim("deepfake_accuracy_gain", modality="audio-visual"),
                   _deepfake_sources(shortcut_all={"audiovisual detector": result}))
    assert ours.status == "not comparable" and "balanced accuracy 0.52" in ours.shortcut
    older = measure("P6", _claim("deepfake_accuracy_gain", modality="audio-visual"), _deepfake_sources())
    assert "built before" in older.shortcut
    assert "too few to tell" in shortcut_line({**result, "n_test": 5})


def test_checks_tables_read_the_artifact_config():
    from workbench.deepfake.artifacts import checks_table, real_speech_table

    stage = {"eer": 0.1, "auc": 0.9, "accuracy": 0.8, "n_bonafide": 5, "n_spoof": 5}
    sc = {"balanced_accuracy": 0.5, "auc": 0.55}
    checks = {"splits": {"seen": {"audio detector": stage}, "unseen": {"audio detector": stage}},
              "shortcut": {"seen": {"audio detector": sc}, "unseen": {}},
              "shortcut_all": {"audio detector": sc}, "held_out_attacks": ["pitch_roundtrip"],
              "real_speech": {"stage": "audio detector", "eer": 0.4, "auc": 0.6, "accuracy": 0.7, "n_bonafide": 13,
                              "n_spoof": 39, "eer_ci": [0.3, 0.5], "accuracy_ci": [0.6, 0.8],
                              "accuracy_by_attack": {"-": 0.1, "tts": 0.9}}}
    table = checks_table({"audio detector": stage}, checks)
    assert len(table) == 3 and table["shortcut AUC"].tolist()[:2] == [0.55, 0.55]
    assert table["shortcut AUC"].isna().tolist()[2]
    real = real_speech_table(checks)
    assert real["EER % [95 % CI]"].iloc[0] == "40.0 [30.0, 50.0]" and real["acc. bona fide %"].iloc[0] == 10.0
    assert "not run" in real_speech_table({}).iloc[0, 0]


@pytest.mark.slow
@needs_tools
def test_real_speech_clips_and_their_spoofs(tmp_path):
    from workbench.datasets.real import available
    from workbench.deepfake.real_speech import REAL_ATTACKS, real_speech_corpus

    if not available("speech"):
        pytest.skip("pyannote-audio's sample is not installed")
    data = real_speech_corpus(root=tmp_path)
    assert len(data) == 13 * (1 + len(REAL_ATTACKS)) and (data["y"] == 1).sum() == 13
    x = pd.DataFrame(feature_matrix(data["path"]), columns=SURFACE_FEATURES).assign(
        utterance=data["utterance"].to_numpy(), attack=data["attack"].to_numpy())
    for _, group in x.groupby("utterance"):          # every spoof has its clip's length and level
        assert group["duration_s"].nunique() == 1
        assert group["rms_db"].max() - group["rms_db"].min() < 1.0
    assert set(data["speaker"]) == {"Diane", "Sheila"} and set(data["split"]) == {"eval"}
