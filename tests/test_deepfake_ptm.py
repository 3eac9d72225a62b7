"""The PTM ablation of P6 (``deepfake.ptm``): a frozen Whisper encoder through CTranslate2 beside the log-mel CNN,
the same detectors on both, scored on the same rows with a paired bootstrap.

Whisper here is a tiny random-weight model built from its config and converted to CTranslate2 in the test (the
same ``WhisperEncoder`` path as ``whisper-base``); the clips are tones, the fakes carry planted broadband noise.
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench import WorkbenchError

SR = 16000


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory):
    """A CTranslate2 folder of a 1-layer Whisper (d_model 16), random and seeded."""
    import ctranslate2
    import torch
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    root = tmp_path_factory.mktemp("whisper")
    config = WhisperConfig(vocab_size=64, d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                           decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
                           max_source_positions=100, max_target_positions=16, num_mel_bins=80,
                           decoder_start_token_id=1, pad_token_id=0, bos_token_id=1, eos_token_id=2,
                           suppress_tokens=[], begin_suppress_tokens=[])
    torch.manual_seed(0)
    WhisperForConditionalGeneration(config).save_pretrained(root / "hf")
    return Path(ctranslate2.converters.TransformersConverter(str(root / "hf")).convert(str(root / "ct2")))


def _clips(folder: Path, n: int, seed: int) -> pd.DataFrame:
    """``n`` bona fide tones and ``n`` fakes (the same tones with broadband noise: the planted signal), 1 s each."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    t = np.arange(SR) / SR
    for i in range(2 * n):
        fake = i >= n
        tone = 0.3 * np.sin(2 * np.pi * rng.uniform(150, 400) * t) * rng.uniform(0.5, 1.0)
        audio = tone + (0.3 * rng.normal(size=SR) if fake else 0)
        path = folder / f"clip-{seed}-{i}.wav"
        sf.write(path, audio.astype(np.float32), SR)
        rows.append({"path": str(path), "y": 0 if fake else 1, "modality": "audio", "source": "planted",
                     "id": path.stem, "attack": "noise" if fake else "-"})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def ablation(tiny_whisper, tmp_path_factory):
    """Both models trained on the same planted rows, the ablation on 24 held-out rows."""
    from workbench.deepfake import ptm
    from workbench.deepfake.config import PipelineConfig
    from workbench.deepfake.training import train_model
    from workbench.media.audio_encoders import CNNConfig

    root = tmp_path_factory.mktemp("ptm")
    train, rows = _clips(root / "train", 12, seed=1), _clips(root / "eval", 12, seed=2)
    base = PipelineConfig(audio_cnn=CNNConfig(epochs=3, max_seconds=1.0, channels=(8, 16), dim=16),
                          detector_epochs=15, projection=8, max_seconds=1.0, lip_sync=False,
                          calibrate_reasoning=False)
    mp = pytest.MonkeyPatch()
    mp.setattr(ptm, "whisper_folder", lambda name: tiny_whisper)
    models = {name: train_model(train, root / name, PipelineConfig.from_dict({**base.to_dict(),
                                                                               "audio_encoder": name}))
              for name in ("logmel-cnn", "whisper-base")}
    report, frame = ptm.ptm_ablation(models, rows, bootstrap=200)
    yield report, frame, models
    mp.undo()


def test_whisper_encoder_pools_the_clip_frames(tiny_whisper):
    from workbench.deepfake.ptm import WhisperEncoder

    enc = WhisperEncoder(tiny_whisper, window_s=1.0)
    assert enc.frames == 100 and enc.dim == 16
    rng = np.random.default_rng(0)
    short, long = rng.normal(size=SR // 4).astype(np.float32), rng.normal(size=3 * SR).astype(np.float32)
    _, n_short = enc.features(short)
    _, n_long = enc.features(long)
    assert n_short == 13 and n_long == 50                        # frames covering the samples, capped at the window
    emb = enc.embed([short, long, short])
    assert emb.shape == (3, 16) and np.allclose(emb[0], emb[2], atol=1e-5) and not np.allclose(emb[0], emb[1])
    with pytest.raises(WorkbenchError, match="not a CTranslate2 Whisper model"):
        WhisperEncoder(tiny_whisper.parent)


def test_both_encoders_run_and_the_table_has_both_rows_and_the_paired_delta(ablation):
    from workbench.deepfake.ptm import ptm_table

    report, frame, models = ablation
    assert models["whisper-base"].meta["encoders"]["audio"] == "whisper-base"
    assert report["reference"] == "logmel-cnn" and report["pretrained"] == "whisper-base"
    entry = report["tests"]["all rows"]["audio detector"]
    for name in ("logmel-cnn", "whisper-base"):
        v = entry[name]
        assert v["n_bonafide"] == v["n_spoof"] == 12
        assert v["eer_ci"][0] <= v["eer"] <= v["eer_ci"][1]
        assert v["accuracy_ci"][0] <= v["accuracy"] <= v["accuracy_ci"][1]
    # the planted noise is found by the detectors on both encoders' embeddings
    assert entry["logmel-cnn"]["auc"] > 0.9 and entry["whisper-base"]["auc"] > 0.9
    d = entry["delta"]
    assert d["eer"] == pytest.approx(entry["whisper-base"]["eer"] - entry["logmel-cnn"]["eer"])
    assert d["accuracy"] == pytest.approx(entry["whisper-base"]["accuracy"] - entry["logmel-cnn"]["accuracy"])
    assert d["rows"] == 24 and d["eer_ci"][0] <= d["eer"] + 1e-9 and d["eer"] <= d["eer_ci"][1] + 1e-9
    # the same rows: the frame holds both encoders' scores side by side
    assert np.isfinite(frame["score_audio|logmel-cnn"]).all() and np.isfinite(frame["score_audio|whisper-base"]).all()
    table = ptm_table(report)
    audio = table[(table["test"] == "all rows") & (table["stage"] == "audio detector")]
    assert audio["audio encoder"].tolist() == ["logmel-cnn", "whisper-base", "Δ whisper-base − logmel-cnn"]
    assert audio["EER 95 % CI"].str.startswith("[").all()


def test_the_ablation_needs_two_encoders(ablation):
    from workbench.deepfake.ptm import ptm_ablation

    _, frame, models = ablation
    with pytest.raises(WorkbenchError, match="two audio encoders; got 1"):
        ptm_ablation({"logmel-cnn": models["logmel-cnn"]}, frame)


def test_the_real_speech_test_scores_both_encoders_on_the_same_clips(ablation, tmp_path, monkeypatch):
    """``real_speech_test`` runs the same paired ablation on the real-speech set (planted clips stand in for it
    here); a set that cannot be made gives one line, not a failed build."""
    from workbench.deepfake import ptm, real_speech

    _, _, models = ablation
    clips = _clips(tmp_path, 6, seed=3)
    monkeypatch.setattr(real_speech, "real_speech_corpus", lambda progress=None: clips)
    out = ptm.real_speech_test(models, seed=0)
    assert out["rows"] == 12 and "pyannote" in out["data"]
    entry = out["stages"]["audio detector"]
    assert entry["delta"]["rows"] == 12
    assert entry["delta"]["accuracy"] == pytest.approx(entry["whisper-base"]["accuracy"]
                                                       - entry["logmel-cnn"]["accuracy"])
    table = ptm.ptm_table({"reference": "logmel-cnn", "pretrained": "whisper-base",
                           "tests": {ptm.REAL_TEST: out["stages"]}})
    assert set(table["test"]) == {ptm.REAL_TEST}

    def missing(progress=None):
        raise WorkbenchError("espeak-ng not found: install it (apt install espeak-ng)\nmore")

    monkeypatch.setattr(real_speech, "real_speech_corpus", missing)
    assert ptm.real_speech_test(models) == {"error": "espeak-ng not found: install it (apt install espeak-ng)"}
