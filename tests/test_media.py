import shutil
import subprocess
import warnings

import numpy as np
import pytest
import soundfile as sf

from workbench import WorkbenchError
from workbench.media import files, video
from workbench.media.audio import extract_audio_track, load_audio
from workbench.media.features import log_mel, spectral_flatness
from workbench.media.files import media_kind
from workbench.media.image import load_image
from workbench.media.video import sample_frames, sample_video, video_fps_and_count

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is not on PATH")


def _tone(seconds=1.0, rate=22050, freq=440.0, amp=0.5):
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def tone_wav(tmp_path):
    path = tmp_path / "tone.wav"
    sf.write(path, _tone(), 22050)
    return path


def _write_video(tmp_path, frames=20, w=64, h=48, fps=10):
    """A clip of a white rectangle moving right; mp4v .mp4, or MJPG .avi where that writer will not open."""
    import cv2

    for name, fourcc in (("clip.mp4", "mp4v"), ("clip.avi", "MJPG")):
        path = tmp_path / name
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
        if not writer.isOpened():
            writer.release()
            continue
        for i in range(frames):
            frame = np.zeros((h, w, 3), np.uint8)
            cv2.rectangle(frame, (2 * i, 10), (2 * i + 12, 30), (255, 255, 255), -1)
            writer.write(frame)
        writer.release()
        if path.is_file() and path.stat().st_size > 0:
            return path
    pytest.skip("no OpenCV video writer could be opened")


@pytest.fixture
def clip(tmp_path):
    return _write_video(tmp_path)


# ----------------------------------------------------------------------------------------------------- audio


def test_load_audio_resamples_to_16k_mono(tone_wav):
    y = load_audio(tone_wav)
    assert y.dtype == np.float32 and y.ndim == 1
    assert len(y) == 16000
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spectrum) * 16000 / len(y) - 440) <= 2
    assert abs(float(np.max(np.abs(y))) - 0.5) < 0.02


def test_load_audio_other_rate_and_max_seconds(tone_wav):
    assert len(load_audio(tone_wav, sr=8000)) == 8000
    assert len(load_audio(tone_wav, max_seconds=0.5)) == 8000
    with pytest.raises(WorkbenchError, match="max_seconds must be positive"):
        load_audio(tone_wav, max_seconds=0)
    with pytest.raises(WorkbenchError, match="sample rate"):
        load_audio(tone_wav, sr=0)


def test_stereo_becomes_mono(tmp_path):
    left = _tone()
    path = tmp_path / "stereo.flac"
    sf.write(path, np.stack([left, np.zeros_like(left)], axis=1), 22050)
    y = load_audio(path)
    assert y.ndim == 1 and len(y) == 16000
    assert abs(float(np.max(np.abs(y))) - 0.25) < 0.02  # the average of the two channels


def test_log_mel_and_flatness(tone_wav):
    y = load_audio(tone_wav)
    mel = log_mel(y)
    assert mel.shape == (64, 1 + 16000 // 160) and mel.dtype == np.float32 and np.isfinite(mel).all()
    assert log_mel(y, n_mels=40).shape[0] == 40
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, 16000).astype(np.float32)
    assert spectral_flatness(noise, 16000) > 10 * spectral_flatness(y, 16000)
    with pytest.raises(WorkbenchError, match="non-empty 1-D"):
        log_mel(np.zeros((2, 10)))


def test_corrupt_audio_cannot_be_decoded(tmp_path):
    path = tmp_path / "bad.wav"
    path.write_bytes(np.random.default_rng(1).bytes(4096))
    with pytest.raises(WorkbenchError, match=r"bad\.wav: cannot be decoded as audio"):
        load_audio(path)


def test_silent_audio_is_refused(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(16000, np.float32), 16000)
    with pytest.raises(WorkbenchError, match="silent"):
        load_audio(path)


def test_file_checks(tmp_path, tone_wav, monkeypatch):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(WorkbenchError, match=r"empty\.wav: the file is empty"):
        load_audio(empty)
    with pytest.raises(WorkbenchError, match=r"nope\.wav: no such file"):
        load_audio(tmp_path / "nope.wav")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(WorkbenchError, match=r"notes\.txt: unsupported extension '\.txt'"):
        load_audio(text)
    with pytest.raises(WorkbenchError, match="unsupported extension '.wav' for video"):
        sample_frames(tone_wav)
    monkeypatch.setattr(files, "MAX_MEDIA_BYTES", 100)
    with pytest.raises(WorkbenchError, match=r"tone\.wav: .* over the .* limit"):
        load_audio(tone_wav)


def test_media_kind():
    assert media_kind("a/b.FLAC") == "audio" and media_kind("x.m4a") == "audio"
    assert media_kind("clip.webm") == "video" and media_kind("clip.MOV") == "video"
    with pytest.raises(WorkbenchError, match="unsupported extension"):
        media_kind("frame.png")


def test_mp3_if_libsndfile_writes_it(tmp_path):
    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile has no MP3 support")
    path = tmp_path / "tone.mp3"
    sf.write(path, _tone(), 22050)
    y = load_audio(path)
    assert abs(len(y) - 16000) < 1600 and float(np.max(np.abs(y))) > 0.3


# ----------------------------------------------------------------------------------------------------- video


def test_sample_frames_shape_and_motion(clip):
    frames = sample_frames(clip, n=8, size=32)
    assert frames.shape == (8, 32, 32, 3) and frames.dtype == np.uint8
    assert all(not np.array_equal(frames[i], frames[i + 1]) for i in range(7))
    sample = sample_video(clip, n=8, size=32)
    assert sample.indices.tolist() == np.linspace(0, 19, 8).round().astype(int).tolist()
    assert sample.frame_count == 20 and sample.detector is None and sample.faces_found == 0


def test_video_fps_and_count(clip):
    fps, count = video_fps_and_count(clip)
    assert count == 20 and abs(fps - 10.0) < 0.5


def test_short_clip_repeats_frames(clip):
    sample = sample_video(clip, n=30, size=16)
    assert sample.frames.shape == (30, 16, 16, 3)
    assert len(set(sample.indices.tolist())) == 20


def test_face_crop_without_faces_falls_back(clip):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sample = sample_video(clip, n=4, size=24, face_crop=True)
    assert sample.frames.shape == (4, 24, 24, 3)
    assert sample.faces_found == 0 and not sample.has_face.any()
    assert sample.detector in ("haar", "none")
    if sample.detector == "none":
        assert any("no face detector" in str(w.message) for w in caught)


def test_face_crop_centres_on_the_largest_face(clip, monkeypatch):
    class FakeCascade:
        def detectMultiScale(self, grey, **_):
            return np.array([[0, 0, 6, 6], [40, 20, 16, 16]])  # the second is larger

    monkeypatch.setattr(video, "_haar", lambda cascade_path: (FakeCascade(), ""))
    sample = sample_video(clip, n=3, size=21, face_crop=True)
    assert sample.detector == "haar" and sample.faces_found == 3
    # the crop is a square of round(1.3 * 16) = 21 pixels centred on the larger box's centre (48, 28)
    import cv2

    first = cv2.VideoCapture(str(clip))
    ok, frame = first.read()
    first.release()
    assert ok
    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    cx, cy, side = 48, 28, 21
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    np.testing.assert_array_equal(sample.frames[0], rgb[y0:y0 + side, x0:x0 + side])


def test_explicit_bad_cascade_is_an_error(clip, tmp_path):
    with pytest.raises(WorkbenchError, match="cascade"):
        sample_video(clip, n=2, size=8, face_crop=True, cascade_path=tmp_path / "missing.xml")


def test_corrupt_video(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(np.random.default_rng(2).bytes(8192))
    with pytest.raises(WorkbenchError, match=r"broken\.mp4: (cannot be opened as video|no video frames)"):
        sample_frames(path, n=4)
    with pytest.raises(WorkbenchError, match=r"broken\.mp4: (cannot be opened as video|no video frames)"):
        video_fps_and_count(path)


def test_bad_sampling_arguments(clip):
    with pytest.raises(WorkbenchError, match="n must be a positive integer"):
        sample_frames(clip, n=0)
    with pytest.raises(WorkbenchError, match="size must be a positive integer"):
        sample_frames(clip, size=0)


# ------------------------------------------------------------------------------------------- audio of videos


@needs_ffmpeg
def test_extract_audio_track(tmp_path, tone_wav):
    video = tmp_path / "talk.mp4"
    subprocess.run([FFMPEG, "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "color=c=blue:s=64x48:d=1",
                    "-i", str(tone_wav), "-shortest", "-c:v", "mpeg4", "-c:a", "aac", str(video)],
                   check=True, timeout=120)
    y = extract_audio_track(video)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - 16000) < 1600  # AAC adds priming samples
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spectrum) * 16000 / len(y) - 440) <= 5
    assert len(extract_audio_track(video, sr=8000, max_seconds=0.5)) == 4000


@needs_ffmpeg
def test_extract_audio_from_silent_container(clip):
    with pytest.raises(WorkbenchError, match="has no audio stream"):
        extract_audio_track(clip)


@needs_ffmpeg
def test_m4a_through_audioread(tmp_path, tone_wav):
    m4a = tmp_path / "tone.m4a"
    subprocess.run([FFMPEG, "-nostdin", "-loglevel", "error", "-y", "-i", str(tone_wav), str(m4a)], check=True,
                   timeout=120)
    y = load_audio(m4a)
    assert abs(len(y) - 16000) < 1600 and float(np.max(np.abs(y))) > 0.3


# ------------------------------------------------------------------------------------------------- images


def test_load_image_reads_rgb_and_says_what_is_wrong(tmp_path):
    from PIL import Image

    path = tmp_path / "grey.png"
    Image.fromarray(np.full((12, 20), 200, np.uint8)).save(path)
    rgb = load_image(path)
    assert rgb.shape == (12, 20, 3) and rgb.dtype == np.uint8 and int(rgb[0, 0, 0]) == 200
    assert load_image(path.read_bytes()).shape == (12, 20, 3)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(WorkbenchError, match="empty"):
        load_image(empty)
    with pytest.raises(WorkbenchError, match="not found"):
        load_image(tmp_path / "nope.png")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(WorkbenchError, match="not a readable image"):
        load_image(tmp_path / "bad.png")
    with pytest.raises(WorkbenchError, match="too large"):
        load_image(path, max_bytes=10)
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "tiny.png")
    with pytest.raises(WorkbenchError, match="too small"):
        load_image(tmp_path / "tiny.png")
