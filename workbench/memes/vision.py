"""The image side of the meme classifier: image loading, the default profile's tagger CNN and the paper's CLIP.

* ``load_image(path)`` — ``workbench.media.image.load_image``, re-exported here: any format Pillow reads as RGB
  uint8; an absent, empty, oversized, corrupt or not-an-image file raises ``WorkbenchError`` naming it.
* ``TaggerCNN`` (default profile, [ours]) — a four-block CNN over 112×112 images, trained locally on the
  synthetic memes to predict the things drawn in them (multi-label BCE over the tag vocabulary: scene, objects,
  symbols). Its pooled features are the image embedding; its tag probabilities are the "image tags" the
  knowledge retriever links (a drawn sunwheel → the lexicon's hate-symbol entry).
* ``ClipImageSide`` (paper profile) — a CLIP model's image features; tags by zero-shot scoring of
  "a picture of a {tag}" against the same vocabulary.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from workbench import WorkbenchError
from workbench.media.image import MAX_IMAGE_BYTES, load_image

TAG_THRESHOLD = 0.5


def to_tensor(images: list[np.ndarray], size: int) -> torch.Tensor:
    """RGB uint8 images → float tensor ``[N, 3, size, size]`` in [0, 1] (area resize)."""
    import cv2

    out = np.stack([cv2.resize(np.ascontiguousarray(im), (size, size), interpolation=cv2.INTER_AREA)
                    for im in images]).astype(np.float32) / 255.0
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


@dataclass(frozen=True)
class TaggerConfig:
    size: int = 112
    channels: tuple[int, ...] = (16, 32, 64, 96)
    epochs: int = 25
    corpus_rows: int = 1800     # train on the train split of its own synthetic corpus of this size (0: the memes')
    lr: float = 3e-3
    batch_size: int = 32
    seed: int = 0

    @classmethod
    def from_dict(cls, raw: dict) -> "TaggerConfig":
        raw = dict(raw)
        raw["channels"] = tuple(raw.get("channels", cls.channels))
        return cls(**raw)


class TaggerCNN(nn.Module):
    def __init__(self, config: TaggerConfig, n_tags: int):
        super().__init__()
        layers, cin = [], 3
        for cout in config.channels:
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.dim = cin
        self.head = nn.Linear(cin, n_tags)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


class ImageSide:
    """What the classifier needs from images: ``embed`` → ``[N, D]`` and ``tags`` → per image [(tag, p)]."""

    name: str
    dim: int
    vocabulary: list[str]

    def embed_and_tag(self, images: list[np.ndarray], batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def tags(self, probs: np.ndarray, threshold: float = TAG_THRESHOLD) -> list[list[tuple[str, float]]]:
        """Per image, the tags above ``threshold`` by decreasing probability."""
        out = []
        for row in np.atleast_2d(probs):
            order = np.argsort(-row, kind="stable")
            out.append([(self.vocabulary[j], float(row[j])) for j in order if row[j] >= threshold])
        return out


class TaggerImageSide(ImageSide):
    def __init__(self, model: TaggerCNN, vocabulary: list[str], config: TaggerConfig):
        self.model, self.vocabulary, self.config = model.eval(), list(vocabulary), config
        self.name, self.dim = "meme-tagger-cnn (trained locally)", model.dim

    @torch.inference_mode()
    def embed_and_tag(self, images, batch_size: int = 64):
        embs, probs = [], []
        for i in range(0, len(images), batch_size):
            x = to_tensor(images[i:i + batch_size], self.config.size)
            emb = self.model.embed(x)
            embs.append(emb.numpy())
            probs.append(torch.sigmoid(self.model.head(emb)).numpy())
        if not embs:
            return np.zeros((0, self.dim), np.float32), np.zeros((0, len(self.vocabulary)), np.float32)
        return np.concatenate(embs).astype(np.float32), np.concatenate(probs).astype(np.float32)

    def save(self, folder) -> None:
        """``tagger.safetensors`` + ``tagger.json`` (config and vocabulary) in ``folder``."""
        from workbench.io import save_weights

        save_weights(folder, "tagger", self.model.state_dict(),
                     {"config": asdict(self.config), "vocabulary": self.vocabulary})

    @classmethod
    def load(cls, folder) -> "TaggerImageSide":
        from workbench.io import load_weights

        state, meta = load_weights(folder, "tagger")
        config = TaggerConfig.from_dict(meta["config"])
        model = TaggerCNN(config, len(meta["vocabulary"]))
        model.load_state_dict(state)
        return cls(model, meta["vocabulary"], config)


def tag_vocabulary(tag_lists) -> list[str]:
    """The sorted set of tags over the training rows (tags given as lists or '|'-joined strings)."""
    tags = set()
    for entry in tag_lists:
        tags.update(t for t in (entry.split("|") if isinstance(entry, str) else entry) if t)
    if not tags:
        raise WorkbenchError("the training rows have no image tags to learn")
    return sorted(tags)


def _shift(batch: torch.Tensor, pad: int, gen: torch.Generator) -> torch.Tensor:
    """Random translation of each image by up to ``pad`` pixels (edge padding, then a crop back to size)."""
    if pad < 1:
        return batch
    size = batch.shape[-1]
    padded = nn.functional.pad(batch, (pad, pad, pad, pad), mode="replicate")
    offsets = torch.randint(0, 2 * pad + 1, (len(batch), 2), generator=gen).tolist()
    return torch.stack([padded[i, :, dy:dy + size, dx:dx + size] for i, (dy, dx) in enumerate(offsets)])


def train_tagger(images: list[np.ndarray], tag_lists, config: TaggerConfig | None = None, *,
                 progress=None) -> tuple[TaggerImageSide, list[float]]:
    """Train the default image side on images and their tags: multi-label BCE with ``pos_weight`` (negatives over
    positives per tag, at most 20, so that small rare symbols count), AdamW, random flips and shifts."""
    config = config or TaggerConfig()
    vocabulary = tag_vocabulary(tag_lists)
    index = {t: j for j, t in enumerate(vocabulary)}
    y = torch.zeros(len(images), len(vocabulary))
    for i, entry in enumerate(tag_lists):
        for t in (entry.split("|") if isinstance(entry, str) else entry):
            if t:
                y[i, index[t]] = 1.0
    torch.manual_seed(config.seed)
    x = to_tensor(images, config.size)
    model = TaggerCNN(config, len(vocabulary))
    # rare tags (a small symbol in 5 % of the memes) weigh as much as common ones: pos_weight = negatives/positives
    positives = y.sum(0).clamp(min=1.0)
    pos_weight = ((len(y) - positives) / positives).clamp(max=20.0)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(config.seed)
    history = []
    for epoch in range(config.epochs):
        model.train()
        total = 0.0
        order = torch.randperm(len(x), generator=gen)
        for start in range(0, len(x), config.batch_size):
            idx = order[start:start + config.batch_size]
            batch = x[idx]
            flip = torch.rand(len(idx), generator=gen) < 0.5
            batch = torch.where(flip[:, None, None, None], batch.flip(3), batch)
            batch = _shift(batch, config.size // 10, gen)
            loss = nn.functional.binary_cross_entropy_with_logits(model(batch), y[idx], pos_weight=pos_weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        history.append(total / len(x))
        if progress:
            progress((epoch + 1) / config.epochs, f"image tagger epoch {epoch + 1}: loss {history[-1]:.3f}")
    return TaggerImageSide(model.eval(), vocabulary, config), history


class ClipImageSide(ImageSide):
    """A transformers CLIP model's image features; tags by zero-shot text prompts over ``vocabulary``."""

    PROMPT = "a picture of a {}"

    def __init__(self, model, processor, vocabulary: list[str], name: str, device: str = "cpu"):
        self.model, self.processor, self.vocabulary = model.eval(), processor, list(vocabulary)
        self.name, self.device = name, device
        self.dim = int(model.config.projection_dim)
        self._tag_emb = None

    @staticmethod
    def _features(out) -> torch.Tensor:
        return out if isinstance(out, torch.Tensor) else out.pooler_output

    @torch.inference_mode()
    def _tag_embeddings(self) -> torch.Tensor:
        if self._tag_emb is None:
            tok = self.processor.tokenizer([self.PROMPT.format(t) for t in self.vocabulary], padding=True,
                                           truncation=True, return_tensors="pt").to(self.device)
            emb = self._features(self.model.get_text_features(**tok)).float()
            self._tag_emb = nn.functional.normalize(emb, dim=1)
        return self._tag_emb

    @torch.inference_mode()
    def embed_and_tag(self, images, batch_size: int = 32):
        embs, probs = [], []
        scale = float(self.model.logit_scale.exp())
        for i in range(0, len(images), batch_size):
            pix = self.processor.image_processor(images=list(images[i:i + batch_size]), return_tensors="pt")
            pixel_values = pix["pixel_values"].to(self.device, dtype=next(self.model.parameters()).dtype)
            emb = nn.functional.normalize(self._features(self.model.get_image_features(pixel_values=pixel_values))
                                          .float(), dim=1)
            embs.append(emb.cpu().numpy())
            # zero-shot tag probability: sigmoid of the scaled cosine against the mean over the vocabulary
            logits = scale * emb @ self._tag_embeddings().T
            probs.append(torch.sigmoid(logits - logits.mean(1, keepdim=True)).cpu().numpy())
        return np.concatenate(embs).astype(np.float32), np.concatenate(probs).astype(np.float32)


__all__ = ["ClipImageSide", "ImageSide", "MAX_IMAGE_BYTES", "TaggerCNN", "TaggerConfig", "TaggerImageSide",
           "load_image", "tag_vocabulary", "to_tensor", "train_tagger"]
