import numpy as np
import pytest
import soundfile as sf

from workbench import WorkbenchError
from workbench.media.audio_encoders import CNNConfig, HFAudioEncoder, load_cnn, save_cnn, train_logmel_cnn
from workbench.media.embeddings import embed_files
from workbench.metrics.eer import eer

SR = 16000


def clip(rng, spoof: bool, seconds=1.0):
    """Bona fide: harmonic tone with a noise floor; spoof: the same but with the high band removed (vocoder-like)."""
    t = np.arange(int(seconds * SR)) / SR
    f0 = rng.uniform(110, 220)
    audio = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 12)) + 0.05 * rng.normal(size=len(t))
    if spoof:
        spec = np.fft.rfft(audio)
        spec[int(len(spec) * 0.25):] *= 0.02
        audio = np.fft.irfft(spec, len(audio))
    return (0.3 * audio / np.abs(audio).max()).astype(np.float32)


def test_hf_audio_encoder_on_a_tiny_wav2vec2():
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    config = Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                            conv_dim=(16, 16), conv_kernel=(10, 3), conv_stride=(5, 2), num_conv_pos_embeddings=16,
                            num_conv_pos_embedding_groups=2, feat_extract_norm="layer", do_stable_layer_norm=True)
    model = Wav2Vec2Model(config)
    encoder = HFAudioEncoder(model, Wav2Vec2FeatureExtractor(return_attention_mask=True), "tiny-wav2vec2")
    rng = np.random.default_rng(0)
    emb = encoder.embed([clip(rng, False, 0.5), clip(rng, True, 1.0)])
    assert emb.shape == (2, 32) and np.isfinite(emb).all() and not np.allclose(emb[0], emb[1])


def test_logmel_cnn_learns_a_planted_artefact_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 24)
    audios = [clip(rng, spoof=not label) for label in y]
    config = CNNConfig(epochs=8, max_seconds=1.0, channels=(8, 16), dim=32)
    encoder, history = train_logmel_cnn(audios, y, config)
    assert history[-1] < history[0]
    test_y = np.array([0, 1] * 10)
    emb = encoder.embed([clip(rng, spoof=not label) for label in test_y])
    head = encoder.model.head
    import torch

    scores = head(torch.tensor(emb)).squeeze(1).detach().numpy()
    assert eer(scores, test_y)[0] < 0.2
    save_cnn(encoder, tmp_path / "enc")
    again = load_cnn(tmp_path / "enc")
    assert again.name == encoder.name
    retrained, _ = train_logmel_cnn(audios[:16], y[:16], config)    # same config, other data: another cache name
    assert retrained.name != encoder.name and retrained.name.startswith(f"logmel-cnn-{config.key()}-")
    np.testing.assert_allclose(again.embed(audios[:2]), encoder.embed(audios[:2]), rtol=1e-4, atol=1e-5)
    with pytest.raises(WorkbenchError, match="both bona fide"):
        train_logmel_cnn(audios[:4], [1, 1, 1, 1], config)


def test_embeddings_are_cached_per_file(tmp_path):
    rng = np.random.default_rng(1)
    paths = []
    for i in range(3):
        p = tmp_path / f"c{i}.wav"
        sf.write(p, clip(rng, i == 1), SR)
        paths.append(p)
    encoder, _ = train_logmel_cnn([clip(rng, b) for b in (0, 1, 0, 1)], [1, 0, 1, 0],
                                  CNNConfig(epochs=1, max_seconds=0.5, channels=(4,), dim=8))
    calls = []

    def loader(p):
        calls.append(p)
        return sf.read(p, dtype="float32")[0]

    first = embed_files(encoder, paths, cache=tmp_path / "cache", loader=loader)
    second = embed_files(encoder, paths, cache=tmp_path / "cache", loader=loader)
    assert len(calls) == 3 and first.shape == (3, 8)
    np.testing.assert_allclose(first, second)
