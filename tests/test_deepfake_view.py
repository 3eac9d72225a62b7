"""The deepfake predictions view (P6) through Streamlit's AppTest, its upload helper and its figures.

The artifact is made the way ``build_deepfake_eval`` makes it, but from a real tiny model trained on tiny
synthetic corpora and evaluated with the tiny test LM, so the test takes seconds rather than the builder's minutes.
"""
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from conftest import view_app
from workbench import WorkbenchError



def _view_app(artifacts) -> AppTest:
    return view_app("deepfake", artifacts)


def _save(frame, report, model, root, *, data, config, model_folder=None):
    """Save ``frame`` where the view reads P6/deepfake_eval, with the meta ``build_deepfake_eval`` writes."""
    from workbench.io import ArtifactStore, save_frame

    save_frame(frame, ArtifactStore(root).path("P6", "deepfake_eval", "default"), profile="default",
               models=report["models"], seed=0,
               config={"report": report["stages"], "model_folder": str(model_folder or model.folder),
                       "data": data, "pipeline": config.to_dict(), "smoke": True,
                       "trained_detectors": model.meta["detectors"],
                       "split": "eval (sentences held out from training)"})


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """(per-clip frame, report, model, data config, pipeline config) of a tiny trained model."""
    import pandas as pd

    from workbench.deepfake.config import PipelineConfig
    from workbench.deepfake.datasets import load_manifest
    from workbench.deepfake.evaluation import evaluate
    from workbench.deepfake.synth.speech import AudioCorpusConfig, audio_corpus
    from workbench.deepfake.synth.video import AVCorpusConfig, av_corpus
    from workbench.deepfake.training import train_model
    from workbench.media.audio_encoders import CNNConfig
    from workbench.media.video_encoders import FrameCNNConfig
    from workbench.models import load

    root = tmp_path_factory.mktemp("deepfake")
    audio_config = AudioCorpusConfig(n_bonafide=6, n_spoof=6, seed=5)
    av_config = AVCorpusConfig(n_real=4, n_fake=6, size=64, fps=10, seed=5)
    manifests = [audio_corpus(audio_config, root=root), av_corpus(av_config, root=root)]
    data = pd.concat([load_manifest(Path(m["path"].iloc[0]).parent.parent) for m in manifests], ignore_index=True)
    config = PipelineConfig(audio_cnn=CNNConfig(epochs=3, max_seconds=2.0, channels=(8, 16), dim=32),
                            video_cnn=FrameCNNConfig(epochs=3, frames=6, size=32, channels=(8, 16), dim=32),
                            detector_epochs=15, projection=16, max_seconds=3.0)
    model = train_model(data[data["split"] == "train"], root / "model", config, data_name="tiny synthetic")
    # The tiny corpora's eval split holds four clips; every row is scored so each attack and stage shows up
    # (the view reads the frame the same way whatever rows it holds).
    frame, report = evaluate(model, data, reasoning=True, lm=load("tiny-llama"), rationale_tokens=4)
    frame["file"] = [Path(p).name for p in frame["path"]]
    return frame, report, model, {"audio": asdict(audio_config), "av": asdict(av_config)}, config


@pytest.fixture(scope="module")
def artifacts(evaluated, tmp_path_factory):
    frame, report, model, data, config = evaluated
    root = tmp_path_factory.mktemp("store")
    _save(frame, report, model, root, data=data, config=config)
    _save_ptm(frame, root)
    return root


def _save_ptm(frame, root):
    """A planted ``deepfake_ptm`` artifact beside the evaluation (the view only reads and shows it)."""
    from workbench.io import ArtifactStore, save_frame

    save_frame(frame[["path", "y", "file"]], ArtifactStore(root).path("P6", "deepfake_ptm", "default"),
               profile="default", models=["whisper-base", "logmel-cnn"], seed=0, config=_planted_ptm(len(frame)))


# ------------------------------------------------------------------------------------------------ upload helper


def test_handle_upload_writes_a_temporary_file_with_the_suffix(temp_dir):
    from dashboard.views.deepfake import handle_upload

    path = handle_upload("My Clip.WAV", b"RIFF-some-bytes", limit=1024)
    assert path.parent.parent == temp_dir and path.suffix == ".wav" and path.read_bytes() == b"RIFF-some-bytes"
    assert handle_upload("again.wav", b"RIFF-some-bytes", limit=1024) == path       # same content, same file
    assert handle_upload("clip.mp4", b"other", limit=1024).suffix == ".mp4"


@pytest.mark.parametrize("name, data, limit, message", [
    ("big.wav", b"x" * 2048, 1024, "over the"),
    ("notes.txt", b"hello", 1024, "unsupported file type '.txt'"),
    ("noext", b"hello", 1024, "no extension"),
    ("empty.mp3", b"", 1024, "empty"),
])
def test_handle_upload_refuses(name, data, limit, message, temp_dir):
    from dashboard.views.deepfake import UPLOAD_FOLDER, handle_upload

    with pytest.raises(WorkbenchError, match=message):
        handle_upload(name, data, limit)
    assert not list((temp_dir / UPLOAD_FOLDER).glob("*"))                        # nothing written


# ------------------------------------------------------------------------------------------------ figures


def _toy_frame(n=40, seed=1):
    import pandas as pd

    rng = np.random.default_rng(seed)
    y = np.array([1] * (n // 2) + [0] * (n // 2))
    score = rng.normal(0, 1, n) + 1.2 * (y == 1)
    audio_y = np.where(np.arange(n) % 5 == 0, 1 - y, -1)            # a few per-modality labels that differ
    return pd.DataFrame({"y": y, "score": score, "score_audio": score + rng.normal(0, 0.5, n),
                         "audio_y": audio_y, "reasoning_score": rng.normal(0, 1, n) + 0.5 * y,
                         "threshold": 0.1, "modality": "audio", "attack": np.where(y == 1, "-", "tts"),
                         "detector_verdict": np.where(score > 0.1, "real", "fake")})


def test_det_figure_marks_the_eer_of_each_stage():
    from scipy.stats import norm

    from workbench.metrics.eer import eer
    from workbench.viz.deepfake import det_figure, stage_columns, stage_scores

    frame = _toy_frame()
    stages = stage_columns(["audio detector", "detector (pipeline)", "detector + reasoning"])
    assert stages["audio detector"] == ("score_audio", "audio_y")
    fig = det_figure(frame, stages)
    names = [t.name for t in fig.data]
    assert names[:2] == ["audio detector", next(n for n in names if n.startswith("audio detector: EER"))]
    for stage, (column, labels) in stages.items():
        s, y = stage_scores(frame, column, labels)
        value, _ = eer(s, y)
        marker = next(t for t in fig.data if t.name.startswith(f"{stage}: EER"))
        assert marker.x[0] == marker.y[0]
        assert norm.cdf(marker.x[0]) == pytest.approx(value, abs=1e-6)
        assert f"{100 * value:.2f}%" in marker.name
    s, y = stage_scores(frame, "score_audio", "audio_y")
    assert (y != frame["y"].to_numpy()).sum() == 8                    # the per-modality labels were used
    ticks = fig.layout.xaxis.ticktext
    assert "10%" in ticks and all(t.endswith("%") for t in ticks)


def test_roc_histogram_breakdown_and_signal_figures():
    from workbench.metrics.eer import roc
    from workbench.viz.deepfake import (attack_breakdown, roc_figure, score_histogram, spectrogram_figure,
                                        waveform_figure)

    frame = _toy_frame()
    fig = roc_figure(frame, {"detector (pipeline)": ("score", "y")})
    auc = roc(frame["score"], frame["y"])["auc"]
    assert fig.data[1].name == f"detector (pipeline) (AUC {auc:.3f})"
    fig = score_histogram(frame, "score", thresholds={"audio": 0.1})
    assert [t.type for t in fig.data] == ["histogram", "histogram"] and len(fig.layout.shapes) == 1
    assert fig.data[0].name == "bona fide (20)" and fig.layout.shapes[0].x0 == 0.1
    table = attack_breakdown(frame)
    assert table["attack"].tolist() == ["bona fide", "tts"] and table["clips"].tolist() == [20, 20]
    assert "with reasoning accuracy" not in table.columns
    audio = np.sin(np.linspace(0, 600, 48000)).astype(np.float32)
    fig = waveform_figure(audio, 16000)
    assert len(fig.data[0].x) <= 4000 and "3.00 s" in fig.layout.title.text
    fig = spectrogram_figure(np.zeros((64, 301)), 16000, 160)
    assert fig.data[0].x[-1] == pytest.approx(3.0)


# ------------------------------------------------------------------------------------------------ the view


def test_view_without_artifact_shows_the_build_panel(tmp_path):
    at = _view_app(tmp_path).run()
    assert not at.exception, at.exception
    assert any("Not built yet" in w.value and "deepfake_eval" in w.value for w in at.warning)
    assert any("workbench deepfake train --data synthetic" in c.value for c in at.caption)


def test_view_with_artifact_evaluation_and_prediction(artifacts, evaluated):
    frame = evaluated[0]
    at = _view_app(artifacts).run()
    assert not at.exception, at.exception
    assert any("artifacts are built" in s.value for s in at.success)
    assert [t.label for t in at.tabs] == ["Predict", "Evaluation"]
    metrics = next(d.value for d in at.dataframe if "EER" in d.value.columns)
    assert {"audio detector", "detector (pipeline)", "detector + reasoning"} <= set(metrics["stage"])
    charts = " ".join(c.proto.spec for c in at.get("plotly_chart"))
    for title in ("DET curves", "ROC curves", "Pipeline detector score", "Reasoning stage score"):
        assert title in charts
    assert '"profile": "default"' in charts.replace("'", '"') or "profile: default" in charts
    breakdown = next(d.value for d in at.dataframe if "detector accuracy" in d.value.columns)
    assert "bona fide" in set(breakdown["attack"]) and "griffin_lim" in set(breakdown["attack"])
    claims = next(d.value for d in at.dataframe if "ConLLM (paper)" in d.value.columns)
    assert claims["ConLLM (paper)"].tolist() == ["0.21 %", "0.01 %", "up to 98.75 %"]
    assert any(i.value.startswith("Upload a file or pick") for i in at.info)

    # an evaluation clip, detectors only
    audio_clip = frame.loc[frame["modality"] == "audio", "file"].iloc[0]
    at.checkbox(key="deepfake-reasoning").uncheck().run()
    at.selectbox(key="deepfake-clip").set_value(audio_clip).run()
    assert not at.exception, at.exception
    verdicts = [m.value for m in list(at.success) + list(at.error) if m.value.startswith("Verdict:")]
    assert len(verdicts) == 1 and verdicts[0].split()[1] in ("real", "fake")
    assert any("no reasoning stage" in c.value for c in at.caption)
    assert "Waveform" in " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert any(set(d.value.columns) >= {"stream", "score", "threshold"} for d in at.dataframe)

    # the reasoning stage, with the tiny LM instead of the profile's reasoner; then an audiovisual clip
    at.session_state["deepfake-reasoner"] = "tiny-llama"
    at.checkbox(key="deepfake-reasoning").check().run()
    assert not at.exception, at.exception
    assert any("reasoner tiny-llama" in c.value for c in at.caption)
    assert any("**Rationale** (tiny-llama)" in m.value for m in at.markdown)
    av_clip = frame.loc[frame["modality"] == "audiovisual", "file"].iloc[0]
    at.selectbox(key="deepfake-clip").set_value(av_clip).run()
    assert not at.exception, at.exception
    assert "Audio track" in " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert len(at.get("image")) == 1                                 # the strip of frames
    assert any(m.label == "Audio–video agreement" and m.value != "–" for m in at.metric)


def test_view_says_how_to_rebuild_a_missing_model(evaluated, tmp_path):
    frame, report, model, data, config = evaluated
    _save(frame, report, model, tmp_path, data=data, config=config, model_folder=tmp_path / "gone")
    at = _view_app(tmp_path).run()
    at.checkbox(key="deepfake-reasoning").uncheck().run()
    at.selectbox(key="deepfake-clip").set_value(frame["file"].iloc[0]).run()
    assert not at.exception, at.exception
    assert any("is gone" in w.value and "workbench build P6 --force" in w.value for w in at.warning)


# ------------------------------------------------------------------------------------------------ the three stages


def test_stage_columns_and_figures_include_the_llm_over_embeddings():
    from workbench.deepfake.soft_prompt import STAGE
    from workbench.viz.deepfake import attack_breakdown, det_figure, roc_figure, stage_columns

    frame = _toy_frame()
    rng = np.random.default_rng(3)
    frame["soft_score"] = rng.normal(0, 1, len(frame)) + 2.0 * frame["y"]
    frame["soft_verdict"] = np.where(frame["soft_score"] > 1.0, "real", "fake")
    stages = stage_columns(["detector (pipeline)", "detector + reasoning", STAGE])
    assert stages[STAGE] == ("soft_score", "y")
    for fig in (det_figure(frame, stages), roc_figure(frame, stages)):
        assert any(t.name.startswith(STAGE) for t in fig.data)
    table = attack_breakdown(frame)
    right = (frame["soft_verdict"] == np.where(frame["y"] == 1, "real", "fake")).groupby(frame["y"]).mean()
    assert table.set_index("attack")[f"{STAGE} accuracy"].tolist() == pytest.approx([right[1], right[0]])


def _planted_ptm(n=20):
    """A ``deepfake_ptm`` report with planted numbers (the view only reads and shows it)."""
    entry = lambda eer, acc: {"eer": eer, "eer_ci": [eer - 0.05, eer + 0.05], "auc": 1 - eer,  # noqa: E731
                              "accuracy": acc, "accuracy_ci": [acc - 0.1, min(1.0, acc + 0.1)],
                              "n_bonafide": n // 2, "n_spoof": n // 2}
    stage = {"logmel-cnn": entry(0.2, 0.75), "whisper-base": entry(0.1, 0.85),
             "delta": {"eer": -0.1, "eer_ci": [-0.2, 0.0], "accuracy": 0.1, "accuracy_ci": [0.0, 0.2], "rows": n}}
    from workbench.deepfake.ptm import REAL_TEST

    return {"reference": "logmel-cnn", "pretrained": "whisper-base", "bootstrap": 200,
            "tests": {"all rows": {"audio detector": stage, "detector (pipeline)": stage},
                      REAL_TEST: {"audio detector": stage}},
            "real_speech": {"rows": 52, "data": "pyannote sample.wav, spoofs made locally"}}


def _planted_eval(root, *, ptm: bool):
    """A ``deepfake_eval`` artifact with planted scores (no model: the evaluation tab only reads the frame and the
    config): 40 audio clips, the LLM over embeddings planted as the best stage; its splits and real-speech test
    given as the builder writes them; with ``ptm``, a ``deepfake_ptm`` beside it. Returns the report's stages."""
    from types import SimpleNamespace

    from workbench.deepfake.evaluation import stage_reports
    from workbench.io import ArtifactStore, save_frame

    frame = _toy_frame()
    rng = np.random.default_rng(0)
    frame["soft_score"] = rng.normal(0, 1, len(frame)) + 3.0 * frame["y"]
    frame["soft_threshold"] = 1.5
    frame["soft_verdict"] = np.where(frame["soft_score"] > 1.5, "real", "fake")
    frame["verdict"] = np.where(frame["reasoning_score"] > 0.25, "real", "fake")
    frame["p_real"] = 0.5
    frame["path"] = [str(root / f"gone-{i}.wav") for i in range(len(frame))]
    frame["file"] = [Path(p).name for p in frame["path"]]
    model = SimpleNamespace(detectors={"audio": None}, thresholds={"audio": 0.1}, reasoning_threshold=0.25)
    stages = stage_reports(model, frame)
    half = np.arange(len(frame)) % 2 == 0
    config = {"report": stages, "model_folder": str(root / "gone"), "smoke": True, "split": "planted",
              "trained_detectors": {"audio": {"eer": 0.1, "threshold": 0.1}},
              "splits": {"seen": stage_reports(model, frame[half]), "unseen": stage_reports(model, frame[~half])},
              "real_speech": {"stages": {k: v for k, v in stage_reports(model, frame[half]).items()
                                         if k != "audio detector"}}}
    save_frame(frame, ArtifactStore(root).path("P6", "deepfake_eval", "default"), profile="default",
               models=["logmel-cnn", "tiny-llama"], seed=0, config=config)
    if ptm:
        _save_ptm(frame, root)
    return stages


def test_view_shows_the_three_stages_their_figures_and_the_ptm_table(tmp_path):
    from workbench.deepfake.soft_prompt import STAGE

    stages = _planted_eval(tmp_path, ptm=True)
    assert STAGE in stages
    at = _view_app(tmp_path).run()
    assert not at.exception, at.exception
    assert any("artifacts are built" in s.value for s in at.success)
    table = next(d.value for d in at.dataframe if {"test", "stage", "EER 95 % CI"} <= set(d.value.columns)
                 and "audio encoder" not in d.value.columns and "shortcut AUC" not in d.value.columns)
    assert set(table["stage"]) == {"detector (pipeline)", "detector + reasoning", STAGE}
    assert set(table["test"]) == {"all eval rows", "seen attacks", "unseen attacks (held out of training)",
                                  "real speech"}
    assert len(table) == 12                                             # three stages × four tests
    soft = table[(table["stage"] == STAGE) & (table["test"] == "all eval rows")].iloc[0]
    assert soft["EER %"] == round(100 * stages[STAGE]["eer"], 1) and soft["EER 95 % CI"].startswith("[")
    charts = " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert "LLM over embeddings: EER" in charts and "LLM over embeddings (AUC" in charts     # DET and ROC
    assert "LLM over embeddings log P(real)" in charts                                         # its histogram
    breakdown = next(d.value for d in at.dataframe if "detector accuracy" in d.value.columns)
    assert f"{STAGE} accuracy" in breakdown.columns
    ptm = next(d.value for d in at.dataframe if "audio encoder" in d.value.columns)
    assert ptm["audio encoder"].tolist()[:3] == ["logmel-cnn", "whisper-base", "Δ whisper-base − logmel-cnn"]
    assert ptm["EER %"].tolist()[:3] == [20.0, 10.0, -10.0]
    from workbench.deepfake.ptm import REAL_TEST

    assert (ptm["test"] == REAL_TEST).sum() == 3                       # two encoders and their Δ on real speech
    assert any("Real speech: 52 clips, pyannote sample.wav" in c.value for c in at.caption)


def test_view_says_how_to_build_the_ptm_ablation(tmp_path):
    _planted_eval(tmp_path, ptm=False)
    at = _view_app(tmp_path).run()
    assert not at.exception, at.exception
    assert any("deepfake_ptm" in i.value and "workbench build P6" in i.value for i in at.info)
