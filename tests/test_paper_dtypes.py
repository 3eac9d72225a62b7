"""The paper profile's Hugging Face encoders run in bfloat16 on CUDA (``models.loaders.load``: ``pick_dtype``); every
call site must feed them inputs in the model's dtype and device and hand back float32 embeddings.

Each test builds a tiny random-weight model of the real architecture class from its config, with a processor built
offline (feature extractors and image processors directly; the CLAP and CLIP tokenizers as a tiny byte-level BPE
from the ``tokenizers`` library), casts it to bfloat16 on the CPU and serves it as the registry model through
``workbench.models.load``, then calls the real call site. The embeddings must be finite float32 of the right shape
and match the same weights run in float32 (cosine > 0.99).
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from workbench.models.loaders import HFModel
from workbench.models.registry import get_spec

COSINE = 0.99


def serve(monkeypatch, name: str, model, processor) -> None:
    """``workbench.models.load(name)`` returns ``model`` (with ``processor``) as the loader's handle, on the CPU."""
    handle = HFModel(get_spec(name), model.eval(), processor, "cpu")

    def load(wanted, **_):
        assert wanted == name
        return handle

    monkeypatch.setattr("workbench.models.load", load)
    monkeypatch.setattr("workbench.models.loaders.load", load)


def bf16_and_fp32(model):
    """(the model in bfloat16, the same bfloat16-rounded weights in float32)."""
    low = copy.deepcopy(model).to(torch.bfloat16).eval()
    return low, copy.deepcopy(low).float().eval()


def check(low: np.ndarray, ref: np.ndarray, shape: tuple) -> None:
    assert isinstance(low, np.ndarray) and low.dtype == np.float32 and low.shape == shape
    assert np.isfinite(low).all() and np.isfinite(ref).all()
    cos = (low * ref).sum(1) / (np.linalg.norm(low, axis=1) * np.linalg.norm(ref, axis=1))
    assert (cos > COSINE).all(), cos


def bpe_tokenizer(bos: str, eos: str, pad: str, unk: str):
    """A tiny byte-level BPE (``tokenizers``), trained on a few phrases, that adds ``bos`` … ``eos``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE(unk_token=unk))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = list(dict.fromkeys([bos, pad, eos, unk]))
    tok.train_from_iterator(["a siren wails in the city", "rain on a tin roof", "a picture of a cat and a dog"],
                            trainers.BpeTrainer(vocab_size=300, special_tokens=specials, show_progress=False,
                                                initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", special_tokens=[(bos, tok.token_to_id(bos)), (eos, tok.token_to_id(eos))])
    return tok


def tone(seconds: float, f0: float, sr: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(int(f0))
    return (0.3 * np.sin(2 * np.pi * f0 * t) + 0.02 * rng.normal(size=len(t))).astype(np.float32)


# ------------------------------------------------------------------------------------------------ the helper


def test_to_model_casts_floating_tensors_only():
    from transformers import BatchFeature

    from workbench.models.tensors import to_model

    model = torch.nn.Linear(2, 2).to(torch.bfloat16)
    batch = BatchFeature({"x": torch.ones(2, 2), "ids": torch.arange(3), "mask": torch.ones(2, dtype=torch.bool),
                          "n": 5})
    out = to_model(batch, model)
    assert out["x"].dtype == torch.bfloat16 and out["ids"].dtype == torch.int64
    assert out["mask"].dtype == torch.bool and out["n"] == 5
    assert to_model(torch.ones(1), model).dtype == torch.bfloat16
    assert to_model(torch.ones(1, dtype=torch.int32), model).dtype == torch.int32


# ------------------------------------------------------------------------ wav2vec2-xls-r-1b (audio-encoder)


def test_wav2vec2_audio_encoder_in_bfloat16(monkeypatch):
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    from workbench.deepfake.config import PipelineConfig
    from workbench.deepfake.inputs import load_encoder

    torch.manual_seed(0)
    config = Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                            conv_dim=(16, 16), conv_kernel=(10, 3), conv_stride=(5, 2), do_stable_layer_norm=True,
                            feat_extract_norm="layer", num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
    extractor = Wav2Vec2FeatureExtractor(return_attention_mask=True, do_normalize=True)
    low, ref = bf16_and_fp32(Wav2Vec2Model(config))
    config = PipelineConfig.for_profile("paper")
    audios = [tone(0.5, 180.0), tone(1.0, 330.0), tone(0.8, 90.0)]
    embs = []
    for model in (low, ref):
        serve(monkeypatch, "wav2vec2-xls-r-1b", model, extractor)
        encoder = load_encoder("audio", config, None)
        embs.append(encoder.embed(audios, batch_size=2))
    check(embs[0], embs[1], (3, 32))


# ------------------------------------------------------------------------------- videomae-base (video-encoder)


def test_videomae_video_encoder_in_bfloat16(monkeypatch):
    from transformers import VideoMAEConfig, VideoMAEImageProcessor, VideoMAEModel

    from workbench.deepfake.config import PipelineConfig
    from workbench.deepfake.inputs import load_encoder

    torch.manual_seed(0)
    config = VideoMAEConfig(image_size=32, patch_size=16, num_frames=4, tubelet_size=2, hidden_size=32,
                            num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    processor = VideoMAEImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    low, ref = bf16_and_fp32(VideoMAEModel(config))
    rng = np.random.default_rng(0)
    clips = [rng.integers(0, 256, size=(4, 32, 32, 3), dtype=np.uint8) for _ in range(3)]
    embs = []
    for model in (low, ref):
        serve(monkeypatch, "videomae-base", model, processor)
        encoder = load_encoder("video", PipelineConfig.for_profile("paper"), None)
        embs.append(encoder.embed(clips, batch_size=2))
    check(embs[0], embs[1], (3, 32))


# ---------------------------------------------------------------------------- clap-htsat-unfused (audio-text)


def tiny_clap():
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, ClapProcessor, RobertaTokenizer

    tok = RobertaTokenizer(tokenizer_object=bpe_tokenizer("<s>", "</s>", "<pad>", "<unk>"), bos_token="<s>",
                           eos_token="</s>", pad_token="<pad>", unk_token="<unk>")
    config = ClapConfig(text_config=dict(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2,
                                         num_attention_heads=2, intermediate_size=64, max_position_embeddings=64,
                                         pad_token_id=tok.pad_token_id),
                        audio_config=dict(spec_size=256, window_size=8, num_mel_bins=64, patch_stride=(4, 4),
                                          patch_embeds_hidden_size=16, depths=[1, 1], num_attention_heads=[2, 2],
                                          hidden_size=32, enable_fusion=False), projection_dim=16)
    features = ClapFeatureExtractor(feature_size=64, sampling_rate=48000, hop_length=480, max_length_s=2,
                                    truncation="rand_trunc", padding="repeatpad")
    torch.manual_seed(0)
    return ClapModel(config), ClapProcessor(feature_extractor=features, tokenizer=tok)


def test_clap_scorer_in_bfloat16(monkeypatch):
    from workbench.captioning.clap import scorer_for_profile

    model, processor = tiny_clap()
    low, ref = bf16_and_fp32(model)
    audios = [tone(1.0, 440.0), tone(0.7, 220.0)]
    texts = ["a siren wails", "rain on a roof", "a dog"]
    audio, text = [], []
    for m in (low, ref):
        serve(monkeypatch, "clap-htsat-unfused", m, processor)
        scorer = scorer_for_profile("paper")
        audio.append(scorer.embed_audio(audios))
        text.append(scorer.embed_text(texts))
    check(audio[0], audio[1], (2, 16))
    check(text[0], text[1], (3, 16))
    assert np.allclose(np.linalg.norm(audio[0], axis=1), 1, atol=1e-5)


# ---------------------------------------------------------------------- clip-vit-large-patch14 (vision-language)


def tiny_clip():
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    eot = "<|endoftext|>"
    tok = CLIPTokenizer(tokenizer_object=bpe_tokenizer("<|startoftext|>", eot, eot, eot),
                        bos_token="<|startoftext|>", eos_token=eot, pad_token=eot, unk_token=eot)
    config = CLIPConfig(text_config=dict(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2,
                                         num_attention_heads=2, intermediate_size=64, max_position_embeddings=77,
                                         eos_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id,
                                         pad_token_id=tok.pad_token_id),
                        vision_config=dict(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2,
                                           num_attention_heads=2, intermediate_size=64), projection_dim=16)
    processor = CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32},
                                                                 crop_size={"height": 32, "width": 32}),
                              tokenizer=tok)
    torch.manual_seed(0)
    return CLIPModel(config), processor


def test_clip_sides_in_bfloat16(monkeypatch):
    from workbench.memes.sides import clip_sides

    model, processor = tiny_clip()
    low, ref = bf16_and_fp32(model)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, size=(40, 48, 3), dtype=np.uint8) for _ in range(3)]
    texts = ["a cat on a tin roof", "a dog", "the city at night"]
    vocab = ["cat", "dog", "city"]
    text_embs, image_embs, logits = [], [], []
    for m in (low, ref):
        serve(monkeypatch, "clip-vit-large-patch14", m, processor)
        text, image = clip_sides("clip-vit-large-patch14", vocab)
        text_embs.append(text.encode(texts))
        emb, logit = image.embed_and_logits(images, batch_size=2)
        image_embs.append(emb)
        logits.append(logit)
    check(text_embs[0], text_embs[1], (3, 16))
    check(image_embs[0], image_embs[1], (3, 16))
    assert logits[0].dtype == np.float32 and logits[0].shape == (3, 3) and np.isfinite(logits[0]).all()


@pytest.mark.parametrize("pooling", ["mean", "clip"])
def test_text_side_pools_in_float32(pooling):
    """``TextSide.forward`` on a bfloat16 transformer: float32 unit vectors, means taken in float32."""
    from workbench.memes.sides import TextSide

    model, processor = tiny_clip()
    low, ref = bf16_and_fp32(model)
    out = []
    for m in (low, ref):
        side = TextSide("tiny-clip", m.text_model, processor.tokenizer, pooling=pooling,
                        projection=m.text_projection if pooling == "clip" else None)
        out.append(side.encode(["a cat", "rain on a tin roof"]))
    check(out[0], out[1], (2, 16 if pooling == "clip" else 32))
    assert np.allclose(np.linalg.norm(out[0], axis=1), 1, atol=1e-5)
