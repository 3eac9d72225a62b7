"""`workbench deepfake synth|train|eval|score` on the smoke-sized synthetic corpora."""
import json

import numpy as np
import pandas as pd
import pytest

from workbench.cli.main import main


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("df") / "data"
    assert main(["deepfake", "synth", "--smoke", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def model_dir(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("df-model") / "model"
    assert main(["deepfake", "train", "--data", str(data_dir), "--smoke", "--out", str(out)]) == 0
    return out


def test_synth_writes_a_manifest_folder(data_dir, capsys):
    manifest = pd.read_csv(data_dir / "manifest.csv")
    assert {"audio", "audiovisual"} == set(manifest["modality"]) and {"train", "eval"} == set(manifest["split"])
    assert all((data_dir / p).is_file() for p in manifest["path"])
    assert main(["deepfake", "synth", "--smoke", "--out", str(data_dir)]) == 1       # not empty: refused
    assert "not empty" in capsys.readouterr().err


def test_train_eval_and_score(data_dir, model_dir, tmp_path, capsys):
    meta = json.loads((model_dir / "model.json").read_text())
    assert set(meta["detectors"]) == {"audio", "video", "audiovisual"} and "[train]" in meta["data"]["name"]
    capsys.readouterr()
    assert main(["deepfake", "eval", "--data", str(data_dir), "--model", str(model_dir), "--no-reasoning",
                 "--out", str(tmp_path / "eval")]) == 0
    out = capsys.readouterr().out
    assert "[eval]" in out and "detector (pipeline)" in out and "EER" in out
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert report["stages"]["detector (pipeline)"]["n_bonafide"] > 0
    scores = pd.read_parquet(tmp_path / "eval" / "scores.parquet")
    assert set(scores["split"]) == {"eval"} and scores["score"].notna().all()

    video = pd.read_csv(data_dir / "manifest.csv").query("modality == 'audiovisual'")["path"].iloc[0]
    assert main(["deepfake", "score", str(data_dir / video), "--model", str(model_dir), "--json",
                 "--no-reasoning"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"score", "verdict", "rationale", "modalities"} <= set(result)
    assert set(result["modalities"]) == {"audio", "video", "audiovisual"}


def test_score_refuses_bad_files_with_exit_2(model_dir, tmp_path, capsys):
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")
    assert main(["deepfake", "score", str(bad), "--model", str(model_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "clip.mp4" in err
    assert main(["deepfake", "score", str(tmp_path / "absent.wav"), "--model", str(model_dir)]) == 2
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["deepfake", "score", str(tmp_path / "notes.txt"), "--model", str(model_dir)]) == 2
    assert "notes.txt" in capsys.readouterr().err


def test_score_without_a_model_trains_the_default_once(data_dir, monkeypatch, capsys):
    from workbench.deepfake import training as pipeline

    calls = []
    real = pipeline.default_model

    def smoke_default(progress=None):
        calls.append(1)
        return real(spec=pipeline.smoke_spec(), config=pipeline.smoke_config(), progress=progress)

    monkeypatch.setattr(pipeline, "default_model", smoke_default)
    wav = pd.read_csv(data_dir / "manifest.csv").query("modality == 'audio'")["path"].iloc[0]
    assert main(["deepfake", "score", str(data_dir / wav), "--no-reasoning"]) == 0
    text = capsys.readouterr().out
    assert "verdict" in text and "profile default" in text and calls == [1]


def _ffmpeg(*args):
    import shutil
    import subprocess

    subprocess.run([shutil.which("ffmpeg"), "-nostdin", "-loglevel", "error", "-y", *map(str, args)], check=True,
                   timeout=120)


def test_score_media_it_has_never_seen(model_dir, tmp_path, capsys):
    """Files unlike the training data: a 640×360 test-pattern video with a tone (H.264 + AAC), the same without
    sound, and an MP3 of speech-like noise."""
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=2", "-f", "lavfi", "-i",
            "sine=frequency=330:duration=2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
            tmp_path / "pattern.mp4")
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1", "-c:v", "libx264", "-pix_fmt",
            "yuv420p", "-an", tmp_path / "mute.mp4")
    _ffmpeg("-f", "lavfi", "-i", "anoisesrc=duration=2:color=pink:amplitude=0.3", "-ar", "22050",
            tmp_path / "noise.mp3")
    expected = {"pattern.mp4": {"audio", "video", "audiovisual"}, "mute.mp4": {"video"}, "noise.mp3": {"audio"}}
    for name, streams in expected.items():
        capsys.readouterr()
        assert main(["deepfake", "score", str(tmp_path / name), "--model", str(model_dir), "--json",
                     "--no-reasoning"]) == 0, capsys.readouterr().err
        result = json.loads(capsys.readouterr().out)
        assert set(result["modalities"]) == streams and np.isfinite(result["score"])
        assert result["verdict"] in ("real", "fake")
