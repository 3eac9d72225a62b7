import numpy as np
import pytest
import torch

from workbench import WorkbenchError
from workbench.media.video_encoders import (CNNVideoEncoder, FrameCNNConfig, HFVideoEncoder, clip_tensor,
                                           embed_videos, load_hf_video_encoder, load_video_cnn, save_video_cnn,
                                           train_frame_cnn)


def tiny_videomae():
    from transformers import VideoMAEConfig, VideoMAEImageProcessor, VideoMAEModel

    torch.manual_seed(0)
    config = VideoMAEConfig(image_size=32, patch_size=8, num_frames=4, tubelet_size=2, hidden_size=32,
                            num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    processor = VideoMAEImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    return VideoMAEModel(config), processor


def toy_clip(rng, fake: bool, frames=8, size=32) -> np.ndarray:
    """A noisy background with a square; bona fide: the square is steady; fake: its brightness flickers
    frame to frame (the mean brightness over time is the same for both classes)."""
    base = rng.uniform(90, 160)
    x0, y0 = rng.integers(2, size // 2, size=2)
    side = int(rng.integers(size // 4, size // 2))
    clip = np.empty((frames, size, size, 3), np.float32)
    for t in range(frames):
        frame = rng.normal(60, 12, size=(size, size, 3))
        level = base + (45 if t % 2 else -45) * fake
        frame[y0:y0 + side, x0:x0 + side] = level + rng.normal(0, 4, size=(side, side, 3))
        clip[t] = frame
    return np.clip(clip, 0, 255).astype(np.uint8)


def toy_set(seed, n=24, **kw):
    rng = np.random.default_rng(seed)
    y = np.array([1, 0] * (n // 2))
    return [toy_clip(rng, fake=not label, **kw) for label in y], y


def test_hf_video_encoder_on_a_tiny_videomae(tmp_path):
    model, processor = tiny_videomae()
    encoder = HFVideoEncoder(model, processor, "tiny/videomae", frames=4, size=32)
    assert encoder.dim == 32 and encoder.name == "tiny--videomae-f4-s32-full"
    assert HFVideoEncoder(model, processor, "tiny/videomae", frames=4, size=32, face_crop=True).name != encoder.name
    rng = np.random.default_rng(0)
    clips = [rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8) for _ in range(3)]
    emb = encoder.embed(clips)
    assert emb.shape == (3, 32) and emb.dtype == np.float32 and np.isfinite(emb).all()
    np.testing.assert_allclose(encoder.embed(clips, batch_size=1), emb, rtol=1e-4, atol=1e-5)
    assert not np.allclose(emb[0], emb[1], atol=1e-3) and not np.allclose(emb[1], emb[2], atol=1e-3)
    assert encoder.embed([]).shape == (0, 32)
    with pytest.raises(WorkbenchError, match="takes exactly 4"):
        encoder.embed([clips[0][:3]])
    with pytest.raises(WorkbenchError, match="not frames=16"):
        HFVideoEncoder(model, processor, "tiny")

    model.save_pretrained(tmp_path / "tiny-videomae")
    processor.save_pretrained(tmp_path / "tiny-videomae")
    again = load_hf_video_encoder(tmp_path / "tiny-videomae")
    assert (again.frames, again.size, again.name) == (4, 32, "tiny-videomae-f4-s32-full")
    np.testing.assert_allclose(again.embed(clips), emb, rtol=1e-4, atol=1e-5)
    with pytest.raises(WorkbenchError, match="huggingface-cli download MCG-NJU/videomae-base"):
        load_hf_video_encoder(tmp_path / "absent")


def test_frame_cnn_learns_a_planted_flicker_and_round_trips(tmp_path):
    clips, y = toy_set(0)
    config = FrameCNNConfig(frames=8, size=32, channels=(8, 16), dim=32, epochs=12, batch_size=8)
    x = clip_tensor(clips[:2], config)
    assert x.shape == (2, 8, 3, 32, 32) and x.dtype == torch.float32
    assert clip_tensor(clips[:1], FrameCNNConfig(frames=8, size=16)).shape == (1, 8, 3, 16, 16)

    encoder, history = train_frame_cnn(clips, y, config)
    assert history[-1] < 0.7 * history[0]
    emb = encoder.embed(clips)
    assert emb.shape == (24, 32) and encoder.name.startswith(f"frame-cnn-{config.key()}-")
    with torch.inference_mode():
        train_acc = ((encoder.model.head(torch.tensor(emb)).squeeze(1) > 0).numpy() == y).mean()
    test_clips, test_y = toy_set(1, n=12)
    with torch.inference_mode():
        test_acc = ((encoder.model.head(torch.tensor(encoder.embed(test_clips))).squeeze(1) > 0).numpy()
                    == test_y).mean()
    assert train_acc > 0.9 and test_acc > 0.8, (train_acc, test_acc)

    again_encoder, again_history = train_frame_cnn(clips, y, config)      # seeded → the same run
    assert again_history == history
    np.testing.assert_array_equal(again_encoder.embed(clips), emb)

    save_video_cnn(encoder, tmp_path / "enc")
    loaded = load_video_cnn(tmp_path / "enc")
    assert loaded.name == encoder.name and loaded.model.config == config
    np.testing.assert_allclose(loaded.embed(clips[:4]), emb[:4], rtol=1e-5, atol=1e-6)

    with pytest.raises(WorkbenchError, match="both bona fide"):
        train_frame_cnn(clips[:4], [1, 1, 1, 1], config)
    with pytest.raises(WorkbenchError, match="takes exactly 8"):
        encoder.embed([clips[0][:5]])
    with pytest.raises(WorkbenchError, match="no video_encoder.json"):
        load_video_cnn(tmp_path / "missing")
    (tmp_path / "enc" / "video_encoder.safetensors").unlink()
    with pytest.raises(WorkbenchError, match="no video_encoder.safetensors"):
        load_video_cnn(tmp_path / "enc")


def write_mp4(path, clip, fps=10):
    import cv2

    h, w = clip.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        writer.release()
        pytest.skip("no OpenCV mp4v writer here")
    for frame in clip:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def test_video_embeddings_are_cached_per_file(tmp_path):
    clips, y = toy_set(2, n=4, frames=6, size=32)
    paths = [write_mp4(tmp_path / f"v{i}.mp4", c) for i, c in enumerate(clips[:3])]
    encoder, _ = train_frame_cnn([c[:4] for c in clips], y, FrameCNNConfig(frames=4, size=16, channels=(4,),
                                                                             dim=8, epochs=1))
    assert isinstance(encoder, CNNVideoEncoder) and encoder.load(paths[0]).shape == (4, 16, 16, 3)
    calls = []
    load = encoder.load
    encoder.load = lambda p: calls.append(p) or load(p)
    first = embed_videos(encoder, paths, cache=tmp_path / "cache")
    second = embed_videos(encoder, paths, cache=tmp_path / "cache")
    assert len(calls) == 3 and first.shape == (3, 8)
    np.testing.assert_array_equal(first, second)
    assert len(list((tmp_path / "cache" / encoder.name).glob("*.safetensors"))) == 3
    np.testing.assert_allclose(first[1:2], encoder.embed([load(paths[1])]), rtol=1e-5, atol=1e-6)
    assert embed_videos(encoder, []).shape == (0, 8)
