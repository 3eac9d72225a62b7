"""The audio track of a video (and .m4a audio) decoded by PyAV, with the ``ffmpeg`` executable hidden from PATH.

Test videos are written with PyAV too: an MPEG-4 picture of a moving bar and an AAC (or MP3) track carrying a
planted tone, so the extracted samples must show that tone at its frequency and the clip's length."""
from __future__ import annotations

import shutil
from fractions import Fraction

import numpy as np
import pytest

from workbench import WorkbenchError
from workbench.media import audio
from workbench.media.audio import extract_audio_track, load_audio

av = pytest.importorskip("av")

RATE = 22050  # the planted track's rate; extraction resamples to the rate asked for


@pytest.fixture
def no_ffmpeg(monkeypatch, tmp_path):
    """PATH is an empty folder: neither ffmpeg nor anything else can be run."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert shutil.which("ffmpeg") is None


def _tone(seconds, freq, channels=2):
    t = np.arange(int(seconds * RATE)) / RATE
    mono = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([mono] * channels)  # [channels, samples]


def _audio_codec(container):
    for name in ("aac", "mp3", "libmp3lame"):
        try:
            return container.add_stream(name, rate=RATE, layout="stereo")
        except Exception:  # codec not in this PyAV build
            continue
    pytest.skip("PyAV has no AAC or MP3 encoder")


def _write_audio(stream, container, samples):
    """Encode ``samples`` [channels, n] (float planar) in the encoder's frame size."""
    size = stream.codec_context.frame_size or 1024
    for start in range(0, samples.shape[1], size):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + size]), format="fltp",
                                           layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = RATE, start, Fraction(1, RATE)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def write_video(path, *, seconds=1.0, freq=440.0, with_audio=True, fps=10):
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        sound = _audio_codec(container) if with_audio else None
        for i in range(int(seconds * fps)):
            img = np.zeros((48, 64, 3), np.uint8)
            img[10:30, 2 * i:2 * i + 12] = 255
            for packet in video.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        if sound is not None:
            _write_audio(sound, container, _tone(seconds, freq))
    return path


def _peak_hz(y, sr):
    return np.argmax(np.abs(np.fft.rfft(y))) * sr / len(y)


def test_audio_track_without_ffmpeg_on_path(tmp_path, no_ffmpeg):
    video = write_video(tmp_path / "talk.mp4", seconds=1.0, freq=440.0)
    y = extract_audio_track(video)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - 16000) < 1600  # the encoder's priming samples
    assert abs(_peak_hz(y, 16000) - 440) <= 5
    assert 0.3 < float(np.max(np.abs(y))) < 0.7  # the stereo tone averaged to mono, not summed
    short = extract_audio_track(video, sr=8000, max_seconds=0.5)
    assert len(short) == 4000 and abs(_peak_hz(short, 8000) - 440) <= 10


def test_a_second_planted_tone_is_found_too(tmp_path, no_ffmpeg):
    y = extract_audio_track(write_video(tmp_path / "high.mkv", seconds=1.0, freq=1000.0), sr=8000)
    assert abs(_peak_hz(y, 8000) - 1000) <= 10


def test_video_without_audio_stream_says_so(tmp_path, no_ffmpeg):
    video = write_video(tmp_path / "silent.mp4", with_audio=False)
    with pytest.raises(WorkbenchError, match="has no audio stream"):
        extract_audio_track(video)


def test_file_that_is_no_video_says_so(tmp_path, no_ffmpeg):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    with pytest.raises(WorkbenchError, match="audio track cannot be decoded"):
        extract_audio_track(bad)


def test_compressed_audio_file_through_pyav(tmp_path, no_ffmpeg):
    path = tmp_path / "tone.m4a"
    with av.open(str(path), mode="w", format="mp4") as container:
        _write_audio(_audio_codec(container), container, _tone(1.0, 440.0))
    y = load_audio(path)
    assert abs(len(y) - 16000) < 1600 and abs(_peak_hz(y, 16000) - 440) <= 5
    assert not hasattr(audio, "subprocess")  # nothing in the module runs a program
