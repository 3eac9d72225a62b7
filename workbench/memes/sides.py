"""The two encoders of a meme model, per profile: a text side (transformers encoder + pooling) and an image side.

* ``TextSide`` — what the classifier reads text with: ``forward(texts)`` (differentiable, for LoRA) and ``encode``;
  ``minilm_text_side`` (default profile: all-MiniLM-L6-v2, mean pooling) and ``clip_sides`` (paper profile: a
  CLIP model's text transformer and its image side, ``vision.ClipImageSide``, whose zero-shot tag thresholds
  ``calibrate_clip_tags`` sets on the synthetic memes' train split — labelled images no result is reported on).
* ``default_image_side`` — the default profile's image side: the tagger CNN (``vision``) trained once on the
  synthetic memes and cached by its configuration.
* ``sides_for_profile`` — (image side, text side) of a profile; ``load_sides`` the same for a saved model folder.

Used by ``memes.model``, ``memes.train``, ``memes.ablation``, the meme CLI and the P5 notebook.
"""
from __future__ import annotations

import copy
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from workbench.models.tensors import to_model


class TextSide:
    """A transformers text encoder with its pooling: ``forward(texts)`` (differentiable) and ``encode``."""

    def __init__(self, name: str, transformer: nn.Module, tokenizer, *, pooling: str = "mean",
                 projection: nn.Module | None = None, lora_targets=("query", "value"), max_length: int = 128,
                 device: str = "cpu"):
        self.name, self.transformer, self.tokenizer = name, transformer, tokenizer
        self.pooling, self.projection, self.lora_targets = pooling, projection, tuple(lora_targets)
        self.max_length, self.device = max_length, device

    @property
    def dim(self) -> int:
        if self.projection is not None:
            return int(self.projection.out_features)
        return int(self.transformer.config.hidden_size)

    def copy(self) -> "TextSide":
        """A private copy of the weights (LoRA wraps modules in place; the cached encoder must stay intact)."""
        return TextSide(self.name, copy.deepcopy(self.transformer), self.tokenizer, pooling=self.pooling,
                        projection=copy.deepcopy(self.projection), lora_targets=self.lora_targets,
                        max_length=self.max_length, device=self.device)

    def forward(self, texts: list[str]) -> torch.Tensor:
        """Unit-length float32 embeddings ``[len(texts), dim]``. The token ids and mask go to the transformer's
        device (``models.tensors.to_model``; they stay integer); a mean is pooled in float32 over the float32 hidden
        states, and whatever enters the projection is cast to its dtype (bfloat16 on the paper profile's CUDA)."""
        tok = to_model(self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length,
                                      return_tensors="pt"), self.transformer)
        out = self.transformer(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"])
        if self.pooling == "mean":
            mask = tok["attention_mask"].unsqueeze(-1).float()
            pooled = (out.last_hidden_state.float() * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        else:                                            # CLIP: the EOS token's state, then the projection
            pooled = out.pooler_output
        if self.projection is not None:
            pooled = self.projection(to_model(pooled, self.projection))
        return nn.functional.normalize(pooled.float(), dim=1)

    @torch.inference_mode()
    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        self.transformer.eval()
        parts = [self.forward(texts[i:i + batch_size]).cpu().numpy() for i in range(0, len(texts), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), np.float32)


def minilm_text_side(max_length: int = 128) -> TextSide:
    from workbench.models import load

    handle = load("minilm-l6")
    st = handle.model
    return TextSide(handle.name, st[0].auto_model, st.tokenizer, pooling="mean", max_length=max_length,
                    device=handle.device)


def clip_sides(model_name: str, vocabulary: list[str], max_length: int = 77, calibration=None):
    """The text and image sides of a CLIP model of the zoo (the paper profile's vision-language model)."""
    from workbench.memes.vision import ClipImageSide
    from workbench.models import load

    handle = load(model_name)
    clip = handle.model
    text = TextSide(handle.name, clip.text_model, handle.processor.tokenizer, pooling="clip",
                    projection=clip.text_projection, lora_targets=("q_proj", "v_proj"),
                    max_length=min(max_length, 77), device=handle.device)
    return text, ClipImageSide(clip, handle.processor, vocabulary, handle.name, handle.device, calibration)


def calibrate_clip_tags(image_side, corpus=None):
    """Calibrate a zero-shot image side's tag thresholds on the train split of the synthetic memes (their drawn
    scene, objects and symbol are the labels); the held-out split, on which results are reported, is not used."""
    from workbench.memes.ablation import synthetic_set
    from workbench.memes.synth import MemeCorpusConfig

    corpus = corpus or MemeCorpusConfig()
    frame = synthetic_set(corpus).frame
    train = frame[frame["split"] == "train"]
    return image_side.calibrate(train["image"].tolist(), train["tags"].tolist(),
                                data=f"synthetic memes, train split (corpus {corpus.key()}, {len(train)} images)")


def default_tag_vocabulary() -> list[str]:
    """Tags a zero-shot tagger scores when no trained tagger exists: the synthetic memes' tag set plus the
    lexicon's hate symbols."""
    from workbench.memes.knowledge import default_knowledge
    from workbench.memes.synth import OBJECTS, SCENES

    lex = default_knowledge().lexicon
    symbols = lex.loc[lex["category"] == "hate symbol", "term"].tolist()
    return sorted(set(list(SCENES) + list(OBJECTS) + symbols))


def load_sides(profile: str, folder: Path | None, max_length: int):
    """(text side, image side) of a saved model folder: CLIP for the paper profile (with the folder's calibrated
    tag thresholds; uncalibrated, claiming no tags, without a folder), else MiniLM and the folder's tagger
    (``None`` without a folder)."""
    from workbench.memes.vision import ClipImageSide, TaggerImageSide
    from workbench.profiles import get_profile

    if profile == "paper":
        vocab, calibration = ClipImageSide.read_tags(folder) if folder else (default_tag_vocabulary(), None)
        return clip_sides(get_profile("paper").model_for("meme_vl"), vocab, max_length, calibration)
    return minilm_text_side(max_length), (TaggerImageSide.load(folder) if folder else None)


def default_image_side(corpus=None, tagger=None, progress=None):
    """The default profile's image side: the tagger CNN trained on the synthetic train split, cached under
    ``models/memes/tagger-<corpus key>-<tagger key>/``."""
    from workbench.io import build_once, config_key
    from workbench.memes.ablation import synthetic_set
    from workbench.memes.synth import MemeCorpusConfig
    from workbench.memes.vision import TaggerConfig, TaggerImageSide, load_image, train_tagger
    from workbench.paths import models_dir

    corpus, tagger = corpus or MemeCorpusConfig(), tagger or TaggerConfig()
    folder = models_dir() / "memes" / f"tagger-{corpus.key()}-{config_key(asdict(tagger))}"

    def build(tmp: Path) -> None:
        report = progress or (lambda f, m: None)
        # [ours] the tagger learns from the train split of a larger corpus drawn with another seed (objects and
        # symbols are small: trained on the 600 classifier memes alone it missed many of them);
        # no held-out name or term is in any train split, so nothing of the evaluation leaks into it
        source = replace(corpus, n_train=tagger.corpus_rows, n_eval=3, seed=corpus.seed + 1) \
            if tagger.corpus_rows else corpus
        frame = synthetic_set(source).frame
        train = frame[frame["split"] == "train"]
        side, _ = train_tagger([load_image(p) for p in train["image"]], train["tags"].tolist(), tagger,
                               progress=report)
        side.save(tmp)

    return TaggerImageSide.load(build_once(folder, build, complete="tagger.json"))


def sides_for_profile(profile: str | None = None, *, corpus=None, tagger=None, max_length: int = 128,
                      progress=None):
    """(image side, text side) of a profile; the paper profile's CLIP tags calibrated by ``calibrate_clip_tags``."""
    from workbench.profiles import get_profile

    prof = get_profile(profile)
    if prof.name == "paper":
        text, image = clip_sides(prof.model_for("meme_vl"), default_tag_vocabulary(), max_length)
        calibrate_clip_tags(image, corpus)
        return image, text
    return default_image_side(corpus, tagger, progress), minilm_text_side(max_length)


__all__ = ["TextSide", "calibrate_clip_tags", "clip_sides", "default_image_side", "default_tag_vocabulary", "load_sides",
           "minilm_text_side", "sides_for_profile"]
