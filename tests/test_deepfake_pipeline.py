"""The P6 pipeline end to end on tiny synthetic corpora: train → model folder → evaluate → score one file."""
import json

import numpy as np
import pytest
import soundfile as sf

from workbench import WorkbenchError
from workbench.deepfake.config import PipelineConfig
from workbench.deepfake.datasets import detect_format, load_dataset, load_manifest
from workbench.deepfake.evaluation import evaluate
from workbench.deepfake.model import DeepfakeModel
from workbench.deepfake.synth.speech import AudioCorpusConfig, audio_corpus
from workbench.deepfake.synth.video import AVCorpusConfig, av_corpus
from workbench.deepfake.training import train_model
from workbench.media.audio_encoders import CNNConfig
from workbench.media.video_encoders import FrameCNNConfig

TINY = PipelineConfig(audio_cnn=CNNConfig(epochs=6, max_seconds=2.0, channels=(8, 16), dim=32),
                      video_cnn=FrameCNNConfig(epochs=6, frames=6, size=32, channels=(8, 16), dim=32),
                      detector_epochs=30, projection=16, max_seconds=3.0)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpora")
    audio = audio_corpus(AudioCorpusConfig(n_bonafide=12, n_spoof=12, seed=3), root=root)
    av = av_corpus(AVCorpusConfig(n_real=8, n_fake=15, size=64, fps=10, seed=3), root=root)
    return audio, av


@pytest.fixture(scope="module")
def trained(corpora, tmp_path_factory):
    import pandas as pd
    from pathlib import Path

    from workbench.models import load

    frames = [load_manifest(Path(m["path"].iloc[0]).parent.parent) for m in corpora]
    data = pd.concat(frames, ignore_index=True)
    folder = tmp_path_factory.mktemp("model") / "detector"
    model = train_model(data[data["split"] == "train"], folder, TINY, data_name="tiny synthetic",
                        reasoner=load("tiny-llama"))
    return data, model


def test_manifest_layout_is_detected_and_loaded(corpora):
    from pathlib import Path

    audio, av = corpora
    folder = Path(av["path"].iloc[0]).parent.parent
    assert detect_format(folder) == "manifest"
    frame = load_dataset(folder)
    assert set(frame["modality"]) == {"audiovisual"} and {"video_y", "audio_y", "sync_y"} <= set(frame.columns)
    mismatched = frame[frame["attack"] == "mismatched_audio"]
    assert (mismatched["y"] == 0).all() and (mismatched["audio_y"] == 1).all() and (mismatched["video_y"] == 1).all()
    assert set(load_dataset(Path(audio["path"].iloc[0]).parent.parent)["modality"]) == {"audio"}


def test_manifest_errors(tmp_path):
    (tmp_path / "manifest.csv").write_text("path,kind\na.wav,real\n")
    with pytest.raises(WorkbenchError, match="no column"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.csv").write_text("path,label\na.wav,maybe\n")
    with pytest.raises(WorkbenchError, match="unknown label"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.csv").write_text("path,label\na.wav,real\n")
    with pytest.raises(WorkbenchError, match="missing"):
        load_manifest(tmp_path)
    (tmp_path / "other" / "clips").mkdir(parents=True)
    with pytest.raises(WorkbenchError, match="not a dataset layout"):
        detect_format(tmp_path / "other")


def test_training_writes_a_complete_model(trained):
    data, model = trained
    assert set(model.detectors) == {"audio", "video", "audiovisual"}
    meta = json.loads((model.folder / "model.json").read_text())
    assert meta["profile"] == "default" and meta["data"]["name"] == "tiny synthetic"
    assert all(d["n_dev"] > 0 and d["eer_on"] in ("dev", "train") for d in meta["detectors"].values())
    assert meta["detectors"]["audio"]["eer_on"] == "dev"          # a dev set with both classes is used when there
    assert "sync_correlation" in meta["cue_reference"] and "spectral_flatness" in meta["cue_reference"]
    assert meta["reasoning"]["model"] == "tiny-llama" and meta["reasoning"]["n_dev"] > 0
    assert model.reasoning_threshold == meta["reasoning"]["threshold"]
    assert not list(model.folder.parent.glob(".*"))                  # no temporary folder left behind
    again = DeepfakeModel.load(model.folder)
    emb = again.embed(data.head(4))
    np.testing.assert_allclose(again.score_embeddings(emb)["score_audio"],
                               model.score_embeddings(model.embed(data.head(4)))["score_audio"], rtol=1e-5)


def test_held_out_evaluation_with_and_without_reasoning(trained):
    from workbench.models import load

    data, model = trained
    held = data[data["split"] == "eval"]
    frame, report = evaluate(model, held, reasoning=True, lm=load("tiny-llama"))
    stages = report["stages"]
    assert {"audio detector", "detector (pipeline)", "detector + reasoning"} <= set(stages)
    for stage in stages.values():
        assert 0.0 <= stage["eer"] <= 1.0 and 0.0 <= stage["accuracy"] <= 1.0
    assert stages["audio detector"]["eer"] < 0.5                          # better than chance on unseen sentences
    assert frame["score"].notna().all() and set(frame["verdict"]) <= {"real", "fake"}
    av = frame[frame["modality"] == "audiovisual"]
    assert av["score_audiovisual"].notna().all() and av["sync_correlation"].notna().all()
    assert frame.loc[frame["modality"] == "audio", "score_video"].isna().all()
    assert "tiny-llama" in report["models"]


def test_score_one_file_of_each_kind(trained, corpora, tmp_path):
    from workbench.models import load

    _, model = trained
    audio, av = corpora
    out = model.score_file(audio["path"].iloc[0], lm=load("tiny-llama"), rationale_tokens=4)
    assert set(out["modalities"]) == {"audio"} and out["verdict"] in ("real", "fake")
    assert {"score", "verdict", "rationale", "modalities"} <= set(out) and out["profile"] == "default"
    out = model.score_file(av["path"].iloc[0], reasoning=False)
    assert set(out["modalities"]) == {"audio", "video", "audiovisual"} and out["agreement"] is not None
    assert out["score"] == out["modalities"]["audiovisual"]["score"] and "sync_correlation" in out["cues"]
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF0000WAVEfmt garbage")
    with pytest.raises(WorkbenchError, match="broken.wav"):
        model.score_file(bad, reasoning=False)
    quiet = tmp_path / "quiet.wav"
    sf.write(quiet, np.zeros(16000, np.float32), 16000)
    with pytest.raises(WorkbenchError, match="silent"):
        model.score_file(quiet, reasoning=False)


def test_training_needs_both_classes(corpora, tmp_path):
    from pathlib import Path

    frame = load_manifest(Path(corpora[0]["path"].iloc[0]).parent.parent)
    with pytest.raises(WorkbenchError, match="bona fide and fake"):
        train_model(frame[frame["y"] == 1], tmp_path / "m", TINY)
    with pytest.raises(WorkbenchError, match="not a deepfake model"):
        DeepfakeModel.load(tmp_path)


def test_paper_profile_path_with_tiny_random_models(corpora, tmp_path, monkeypatch):
    """The `paper` code path (frozen XLS-R and VideoMAE from the registry, detectors on their embeddings) on tiny
    random-weight models built from the same architecture configs, served in place of the cached checkpoints."""
    from pathlib import Path

    import pandas as pd
    from transformers import (VideoMAEConfig, VideoMAEImageProcessor, VideoMAEModel, Wav2Vec2Config,
                              Wav2Vec2FeatureExtractor, Wav2Vec2Model)

    import workbench.models
    from workbench.models.loaders import HFModel
    from workbench.models.registry import get_spec

    tiny = {"wav2vec2-xls-r-1b": (Wav2Vec2Model(Wav2Vec2Config(
                hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, conv_dim=(16, 16),
                conv_kernel=(10, 3), conv_stride=(5, 2), num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
                feat_extract_norm="layer", do_stable_layer_norm=True)), Wav2Vec2FeatureExtractor(
                return_attention_mask=True)),
            "videomae-base": (VideoMAEModel(VideoMAEConfig(
                image_size=32, patch_size=8, num_frames=4, tubelet_size=2, hidden_size=32, num_hidden_layers=2,
                num_attention_heads=2, intermediate_size=64)), VideoMAEImageProcessor(
                size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}))}
    served = []

    def fake_load(name, **_):
        served.append(name)
        model, processor = tiny[name]
        return HFModel(get_spec(name), model.eval(), processor, "cpu")

    monkeypatch.setattr(workbench.models, "load", fake_load)
    monkeypatch.setenv("WORKBENCH_PROFILE", "paper")
    config = PipelineConfig.for_profile("paper", detector_epochs=5, projection=8, max_seconds=2.0, lip_sync=False)
    assert (config.audio_encoder, config.video_encoder) == ("wav2vec2-xls-r-1b", "videomae-base")
    data = pd.concat([load_manifest(Path(m["path"].iloc[0]).parent.parent) for m in corpora], ignore_index=True)
    model = train_model(data[data["split"] == "train"], tmp_path / "paper-model", config,
                        reasoner=workbench.models.loaders.load("tiny-llama"))
    assert set(served) == {"wav2vec2-xls-r-1b", "videomae-base"}
    assert model.meta["profile"] == "paper" and model.models == ["wav2vec2-xls-r-1b", "videomae-base"]
    assert not (model.folder / "audio_encoder").exists()                    # frozen PTMs: nothing trained
    assert model.meta["detectors"]["audio"]["n_train"] > 0 and model.meta["reasoner"] == "mistral-7b-instruct-v0.3"
    out = DeepfakeModel.load(model.folder).score_file(corpora[1]["path"].iloc[0], reasoning=False)
    assert set(out["modalities"]) == {"audio", "video", "audiovisual"} and out["profile"] == "paper"


def test_decision_threshold_is_the_midpoint_above_the_eer_threshold():
    from workbench.deepfake.training import decision_threshold
    from workbench.metrics.eer import eer

    scores, labels = [0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]
    assert eer(scores, labels) == (0.0, 0.2)                 # the ASVspoof threshold is the last fake's score
    assert decision_threshold(scores, labels) == (0.0, pytest.approx(0.5))
    # overlapping classes: EER 0.5 at threshold 0.2 (FRR = FAR = 1/2 there); the next score up is 0.3
    assert decision_threshold([0.1, 0.3, 0.2, 0.4], [0, 0, 1, 1]) == (0.5, pytest.approx(0.25))
