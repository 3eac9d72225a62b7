import shutil

import numpy as np
import pytest

from workbench import WorkbenchError
from workbench.deepfake.synth import speech as synth
from workbench.deepfake.synth import video as synth_video
from workbench.deepfake.synth.faces import (draw_head, face_mask, random_identity, random_sbi_params, sbi_reach,
                                            self_blend)
from workbench.deepfake.synth.video import AVCorpusConfig, av_corpus
from workbench.media import speech as tts
from workbench.media.audio import extract_audio_track
from workbench.media.video import sample_video

needs_tools = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is needed")
TINY = AVCorpusConfig(n_real=2, n_fake=4, size=64, fps=10, seed=1)


def _identity(seed=0, size=64):
    return random_identity(np.random.default_rng(seed), size)


def test_drawing_is_deterministic_and_the_mouth_opens():
    ident = _identity()
    closed, opened = draw_head(ident, 0.5, 0.0), draw_head(ident, 0.5, 1.0)
    assert closed.shape == (64, 64, 3) and closed.dtype == np.uint8
    assert np.array_equal(closed, draw_head(_identity(), 0.5, 0.0))
    changed = np.argwhere(np.abs(opened.astype(int) - closed.astype(int)).sum(-1) > 0)
    assert len(changed) > 20 and changed[:, 0].min() > 32        # only the lower half of the face moves
    assert opened.mean() < closed.mean()                          # an open mouth is a dark hole
    assert not np.array_equal(draw_head(ident, 0.5, 0.0, blink=1.0), closed)


def test_self_blend_stays_near_the_face_and_changes_it():
    ident = _identity(3)
    frame, mask = draw_head(ident, 0.2, 0.6), face_mask(ident, 0.2)
    params = random_sbi_params(np.random.default_rng(5), 64)
    out = self_blend(frame, mask, params)
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert np.array_equal(out, self_blend(frame, mask, params))
    import cv2

    reach = sbi_reach(params, 64)
    near = cv2.dilate(mask.astype(np.uint8), np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)) > 0
    assert (~near).any() and np.array_equal(out[~near], frame[~near])       # untouched away from the face
    inside = mask > 0
    assert np.abs(out[inside].astype(int) - frame[inside].astype(int)).mean() > 2
    with pytest.raises(WorkbenchError, match="self_blend needs"):
        self_blend(frame, mask[:10], params)


@needs_tools
def test_tiny_corpus_labels_split_files_and_cache(tmp_path, monkeypatch):
    manifest = av_corpus(TINY, root=tmp_path)
    assert len(manifest) == 6 and (manifest["y"] == 1).sum() == 2
    real = manifest[manifest["label"] == "bonafide"]
    assert set(real["attack"]) == {"-"} and (real[["video_y", "audio_y", "sync_y"]] == 1).all().all()
    fakes = manifest[manifest["y"] == 0].set_index("attack")
    assert set(fakes.index) == set(synth_video.FAKE_TYPES) and set(manifest["modality"]) == {"audiovisual"}
    assert list(fakes.loc["sbi", ["video_y", "audio_y", "sync_y"]]) == [0, 1, 1]
    assert list(fakes.loc["mismatched_audio", ["video_y", "audio_y", "sync_y"]]) == [1, 1, 0]
    assert list(fakes.loc["fake_audio", ["video_y", "audio_y", "sync_y"]]) == [1, 0, 1]
    assert list(fakes.loc["converted_audio", ["video_y", "audio_y", "sync_y"]]) == [1, 0, 1]
    assert fakes.loc["mismatched_audio", "audio_sentence"] != fakes.loc["mismatched_audio", "sentence"]
    same = manifest[manifest["attack"] != "mismatched_audio"]
    assert (same["audio_sentence"] == same["sentence"]).all()

    # split by sentence, as synth.speech._plan does: same held-out sentences for the same seed
    plan = synth._plan(synth.AudioCorpusConfig(seed=1, n_bonafide=40, n_spoof=0))
    eval_sentences = {r["sentence"] for r in plan if r["split"] == "eval"}
    for _, row in manifest.iterrows():
        assert (row["split"] == "eval") == (row["sentence"] in eval_sentences)
        assert (row["split"] == "eval") == (row["audio_sentence"] in eval_sentences)

    sample = sample_video(manifest["path"].iloc[0], n=4, size=32)
    assert sample.frames.shape == (4, 32, 32, 3) and sample.fps == pytest.approx(10)
    audio = extract_audio_track(manifest["path"].iloc[0])
    assert len(audio) / 16000 == pytest.approx(sample.frame_count / sample.fps, abs=0.15)

    monkeypatch.setattr(tts, "speak", lambda *a, **k: (_ for _ in ()).throw(AssertionError("re-rendered")))
    again = av_corpus(TINY, root=tmp_path)                       # from the cache, nothing re-rendered
    assert list(again["id"]) == list(manifest["id"]) and list(again["path"]) == list(manifest["path"])
    assert [p.name for p in tmp_path.iterdir()] == [f"av-{TINY.key()}"]   # no temporary folder left behind


@needs_tools
def test_sbi_frames_differ_from_the_real_rendering(monkeypatch):
    row = next(r for r in synth_video._plan(TINY) if r["attack"] == "sbi")
    speech = tts.speak("Hello there.", voice="en-us")
    monkeypatch.setattr(tts, "speak", lambda *a, **k: speech)
    forged, audio = synth_video.render_clip(row, fps=10)
    real, _ = synth_video.render_clip({**row, "attack": "-"}, fps=10)
    assert forged.shape == real.shape and np.abs(forged.astype(int) - real.astype(int)).mean() > 1
    n = len(speech) * 10 // 16000 * 16000 // 10                  # cut down to whole frames, never padded
    assert len(audio) == n and len(forged) == len(speech) * 10 // 16000
    assert np.allclose(audio, synth.set_level(speech[:n], row["_level_db"]), atol=1e-6)


@needs_tools
def test_dubbed_audio_is_spoken_to_length_not_padded():
    row = next(r for r in synth_video._plan(TINY) if r["attack"] == "mismatched_audio")
    frames, audio = synth_video.render_clip(row, fps=10)
    assert len(audio) == len(frames) * 16000 // 10
    ref, _ = synth_video._whole_frames(tts.speak(tts.SENTENCES[row["audio_sentence"]], **row["_audio"]), 10)
    tail = lambda a: len(a) - np.flatnonzero(~synth.silent_windows(a))[-1]          # noqa: E731
    assert abs(tail(audio) / len(audio) - tail(ref) / len(ref)) < 0.1       # its pause is a genuine one's


def test_mouth_is_drawn_from_the_text_not_the_sound():
    from workbench.deepfake.synth.faces import syllables, viseme_track

    rng = np.random.default_rng(0)
    track = viseme_track("Hello there, this is a test.", 30, 12, rate=160, voice="en-us", rng=rng)
    assert track.shape == (30,) and 0 <= track.min() and track.max() <= 1 and track.max() > 0.4
    assert [k for k, _ in syllables("Hello there.")].count("v") == 3
    fallback = viseme_track("Hello there, this is a test.", 30, 12, rate=160, rng=np.random.default_rng(0))
    assert fallback.shape == (30,) and fallback.max() > 0.4


def test_errors(tmp_path, monkeypatch):
    with pytest.raises(WorkbenchError, match="unknown or missing fake type"):
        av_corpus(AVCorpusConfig(fake_types=("deepfacelab",)), root=tmp_path)
    with pytest.raises(WorkbenchError, match="at least one real"):
        av_corpus(AVCorpusConfig(n_real=0), root=tmp_path)
    with pytest.raises(WorkbenchError, match="even number"):
        av_corpus(AVCorpusConfig(size=63), root=tmp_path)
    with pytest.raises(WorkbenchError, match="even frame sides"):
        synth_video.write_mp4(tmp_path / "x.mp4", np.zeros((2, 31, 32, 3), np.uint8), np.zeros(100), fps=10)
    with pytest.raises(WorkbenchError, match="x.mp4: the video could not be written"):   # no audio samples
        synth_video.write_mp4(tmp_path / "x.mp4", np.zeros((2, 32, 32, 3), np.uint8), np.zeros(0), fps=10)
    assert list(tmp_path.iterdir()) == []


def test_a_clip_with_sound_is_written_and_read_back_without_the_ffmpeg_executable(tmp_path, monkeypatch):
    from workbench.deepfake.inputs import has_sound

    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))                 # nothing can be run, ffmpeg least of all
    assert shutil.which("ffmpeg") is None
    fps, sr, n_frames, freq = 10, 16000, 12, 523.25
    frames = np.zeros((n_frames, 32, 48, 3), np.uint8)
    for i in range(n_frames):
        frames[i, :, 4 * i:4 * i + 4] = 255                # a bar moving right
    t = np.arange(n_frames * sr // fps) / sr
    path = synth_video.write_mp4(tmp_path / "clip.mp4", frames, 0.3 * np.sin(2 * np.pi * freq * t), fps=fps)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "empty-bin"]    # no partial file left
    track = extract_audio_track(path, sr=sr)
    assert abs(len(track) - len(t)) <= 1024                # AAC codes whole 1024-sample frames
    spectrum = np.abs(np.fft.rfft(track))
    assert abs(np.argmax(spectrum) * sr / len(track) - freq) < 5
    assert has_sound(path)
    clip = sample_video(path, n=4, size=32)                # frames still read by OpenCV
    assert clip.frame_count == n_frames and clip.frames.shape == (4, 32, 32, 3)
    bar = [int(np.argmax(f.mean((0, 2)))) for f in clip.frames]
    assert bar == sorted(bar) and bar[0] < bar[-1]           # the bar still moves right
