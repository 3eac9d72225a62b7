"""Check the `paper` profile's multimodal code paths on the accelerator, with tiny random-weight models.

The papers' checkpoints are not needed: each architecture (CLIP for P5, LAION-CLAP for P9, wav2vec2 + VideoMAE
for P6) is built from a small config on the device the profile picks (``cuda`` when present), and the same
workbench code that would run the real checkpoints runs on it — P5's LoRA + contrastive training and prediction,
P9's audio-text scorer, P6's encoders. Prints one ``check: ok (seconds)`` line per path, then ``device: NAME``.

    python scripts/device_check.py          # exit status 1 if any path fails
"""
from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from workbench.profiles import pick_device  # noqa: E402

DEVICE = pick_device(None)


def _char_tokens(texts, max_length=64):
    from transformers import BatchEncoding

    ids = [[0] + [min(ord(c), 127) for c in t][:max_length - 2] + [2] for t in texts]
    width = max(map(len, ids))
    return BatchEncoding({"input_ids": torch.tensor([i + [1] * (width - len(i)) for i in ids]),
                          "attention_mask": torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i in ids])})


def check_memes() -> str:
    """P5: CLIP image and text sides, knowledge, LoRA on q/v + SupCon, prediction and explanation evidence."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    from workbench.memes.explain import cascade
    from workbench.memes.model import MemeModelConfig
    from workbench.memes.sides import TextSide
    from workbench.memes.train import train_meme_model
    from workbench.memes.vision import ClipImageSide

    config = CLIPConfig(text_config=dict(vocab_size=130, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                                         intermediate_size=128, max_position_embeddings=64, eos_token_id=2),
                        vision_config=dict(image_size=64, patch_size=16, hidden_size=64, num_hidden_layers=2,
                                           num_attention_heads=2, intermediate_size=128), projection_dim=32)
    torch.manual_seed(0)
    clip = CLIPModel(config).to(DEVICE).eval()

    class Processor:
        tokenizer = staticmethod(lambda texts, **kw: _char_tokens(texts, kw.get("max_length", 64)))
        image_processor = CLIPImageProcessor(size={"shortest_edge": 64}, crop_size={"height": 64, "width": 64})

    text = TextSide("tiny-clip", clip.text_model, Processor.tokenizer, pooling="clip",
                    projection=clip.text_projection, lora_targets=("q_proj", "v_proj"), max_length=48, device=DEVICE)
    image = ClipImageSide(clip, Processor(), ["cat", "flag", "sunwheel"], "tiny-clip", DEVICE)
    rng = np.random.default_rng(0)
    images = [(rng.random((80, 80, 3)) * 255).astype(np.uint8) for _ in range(24)]
    texts = [("Velorians are vermin", "Glorbco are clowns", "lovely picnic")[i % 3] for i in range(24)]
    labels = [("abusive", "satire", "benign")[i % 3] for i in range(24)]
    model = train_meme_model(images, texts, labels, ["benign", "satire", "abusive"], image_side=image,
                             text_side=text, profile="paper",
                             config=MemeModelConfig(setting="knowledge+lora", head_epochs=3, lora_epochs=2,
                                                    hidden=32, batch_size=8))
    lora_device = next(p for n, p in model.text_side.transformer.named_parameters() if "lora_A" in n).device
    assert lora_device.type == torch.device(DEVICE).type, f"LoRA weights on {lora_device}, not {DEVICE}"
    pred = model.predict(images[:2], texts[:2])[0]
    cascade(model, images[0], texts[0], pred)
    return f"label {pred['label']}, LoRA on {lora_device}"


def check_clap() -> str:
    """P9: the LAION-CLAP scorer interface on a tiny ClapModel."""
    from transformers import BatchFeature, ClapConfig, ClapFeatureExtractor, ClapModel

    from workbench.captioning.clap import HFClapScorer

    config = ClapConfig(text_config=dict(vocab_size=130, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                         intermediate_size=64, max_position_embeddings=64),
                        audio_config=dict(spec_size=256, window_size=8, num_mel_bins=64, patch_stride=(4, 4),
                                          patch_embeds_hidden_size=16, depths=[1, 1], num_attention_heads=[2, 2],
                                          hidden_size=32, enable_fusion=False), projection_dim=16)
    torch.manual_seed(0)
    model = ClapModel(config).to(DEVICE)
    features = ClapFeatureExtractor(feature_size=64, sampling_rate=48000, hop_length=480, max_length_s=2,
                                    truncation="rand_trunc", padding="repeatpad")

    class Processor:
        feature_extractor = features

        def __call__(self, audio=None, text=None, sampling_rate=None, return_tensors="pt", padding=True):
            if audio is not None:
                return features(audio, sampling_rate=sampling_rate, return_tensors=return_tensors)
            return BatchFeature(dict(_char_tokens(text)))

    scorer = HFClapScorer(model, Processor(), "tiny-clap", DEVICE)
    audio = scorer.embed_audio([np.sin(np.linspace(0, 800, 16000)).astype(np.float32) * 0.3])
    sims = scorer.text_logits(audio[0], ["a siren wails", "rain"])
    return f"logits {np.round(sims, 3).tolist()}"


def check_deepfake_encoders() -> str:
    """P6: wav2vec2 and VideoMAE embeddings through the workbench's HFAudioEncoder and HFVideoEncoder."""
    from transformers import (VideoMAEConfig, VideoMAEImageProcessor, VideoMAEModel, Wav2Vec2Config,
                              Wav2Vec2FeatureExtractor, Wav2Vec2Model)

    from workbench.media.audio_encoders import HFAudioEncoder
    from workbench.media.video_encoders import HFVideoEncoder

    torch.manual_seed(0)
    w2v = Wav2Vec2Model(Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                       intermediate_size=64, conv_dim=(16, 16), conv_kernel=(10, 3),
                                       conv_stride=(5, 2), num_conv_pos_embeddings=16,
                                       num_conv_pos_embedding_groups=2, feat_extract_norm="layer",
                                       do_stable_layer_norm=True)).to(DEVICE)
    audio = HFAudioEncoder(w2v, Wav2Vec2FeatureExtractor(return_attention_mask=True), "tiny-wav2vec2", DEVICE)
    rng = np.random.default_rng(0)
    a = audio.embed([rng.normal(size=16000).astype(np.float32) * 0.1 for _ in range(2)])
    mae = VideoMAEModel(VideoMAEConfig(image_size=32, patch_size=8, num_frames=4, tubelet_size=2, hidden_size=32,
                                       num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)).to(DEVICE)
    processor = VideoMAEImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    video = HFVideoEncoder(mae, processor, "tiny/videomae", DEVICE, frames=4, size=32)
    v = video.embed([rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8) for _ in range(2)])
    assert np.isfinite(a).all() and np.isfinite(v).all()
    return f"audio {a.shape}, video {v.shape}"


def main() -> int:
    failed = 0
    for name, fn in (("memes_clip_lora", check_memes), ("clap_scorer", check_clap),
                     ("deepfake_encoders", check_deepfake_encoders)):
        start = time.perf_counter()
        try:
            detail = fn()
            print(f"{name}: ok ({time.perf_counter() - start:.1f} s) {detail}", flush=True)
        except Exception:  # noqa: BLE001 — report every path, then fail
            failed += 1
            print(f"{name}: FAILED ({time.perf_counter() - start:.1f} s)", flush=True)
            traceback.print_exc()
    name = torch.cuda.get_device_name(0) if DEVICE.startswith("cuda") else DEVICE
    print(f"device: {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
