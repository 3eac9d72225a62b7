import shutil

import numpy as np
import pytest

from workbench import WorkbenchError
from workbench.deepfake.synth import faces, video as synth_video
from workbench.deepfake.sync import audio_envelope, lip_sync, mouth_activity, sync_offset

needs_tools = pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("espeak-ng") is None,
                                 reason="ffmpeg and espeak-ng are needed")


def _signal(n, shift=0):
    t = np.arange(n) - shift
    return np.sin(2 * np.pi * t / 37) + 0.5 * np.sin(2 * np.pi * t / 11 + 1.0)


@pytest.mark.parametrize("k", [0, 2, -3])
def test_sync_offset_finds_a_known_shift(k):
    fps = 10
    envelope, activity = _signal(60), _signal(60, shift=k)          # activity[t] = envelope[t - k]: video lags by k
    out = sync_offset(activity, envelope, fps, max_lag_s=0.4)
    assert out["offset_s"] == pytest.approx(k / fps) and out["correlation"] == pytest.approx(1.0, abs=1e-9)
    if k:
        assert out["correlation_at_zero"] < 0.95


def test_sync_offset_constant_and_errors():
    out = sync_offset(np.ones(30), _signal(30), 10)
    assert out == {"offset_s": 0.0, "correlation": 0.0, "correlation_at_zero": 0.0}
    with pytest.raises(WorkbenchError, match="same length"):
        sync_offset(np.ones(30), np.ones(29), 10)
    with pytest.raises(WorkbenchError, match="at least"):
        sync_offset(np.ones(2), np.ones(2), 10)


def test_audio_envelope_is_rms_per_frame():
    audio = np.concatenate([np.full(1600, 0.5), np.zeros(1600), np.full(800, -0.2)])
    env = audio_envelope(audio, 16000, 10, 4)
    assert np.allclose(env, [0.5, 0.0, 0.2 * np.sqrt(0.5), 0.0])


def test_mouth_activity_follows_the_drawn_mouth():
    ident = faces.random_identity(np.random.default_rng(2), 64)
    mouth = np.array([0, 0.2, 0.6, 1.0, 0.5, 0.0, 0.8])
    frames = np.stack([faces.draw_head(ident, k / 10, m) for k, m in enumerate(mouth)])
    assert np.corrcoef(mouth_activity(frames), mouth)[0, 1] > 0.9
    with pytest.raises(WorkbenchError, match="uint8 frames"):
        mouth_activity(frames.astype(float))


@needs_tools
def test_lip_sync_separates_real_from_mismatched_audio(tmp_path):
    config = synth_video.AVCorpusConfig(n_real=4, n_fake=4, fake_types=("mismatched_audio",), seed=2)
    manifest = synth_video.av_corpus(config, root=tmp_path)
    results = {row.id: lip_sync(row.path) for row in manifest.itertuples()}
    real = [results[i] for i in manifest[manifest["y"] == 1]["id"]]
    fake = [results[i] for i in manifest[manifest["y"] == 0]["id"]]
    assert all(r["fps"] == pytest.approx(config.fps) for r in real + fake)
    # the mouths are drawn from espeak-ng's phoneme schedule, not from the envelope the cue measures, so genuine
    # clips agree only as well as two independently made signals can: better than dubbed ones, far from 1
    assert np.mean([abs(r["offset_s"]) <= 3 / config.fps for r in real]) >= 0.75
    real_corr, fake_corr = np.mean([r["correlation"] for r in real]), np.mean([r["correlation"] for r in fake])
    assert 0.3 < real_corr < 0.95 and real_corr > fake_corr, (real_corr, fake_corr)


@needs_tools
def test_lip_sync_needs_an_audio_track(tmp_path):
    path = tmp_path / "silent.mp4"
    import subprocess

    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=size=64x64:rate=10:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)],
                   check=True, timeout=60)
    with pytest.raises(WorkbenchError, match="no audio stream"):
        lip_sync(path)
