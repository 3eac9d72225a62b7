"""The image side of the meme classifier: image loading, the default profile's tagger CNN and the paper's CLIP.

* ``load_image(path)`` — ``workbench.media.image.load_image``, re-exported here: any format Pillow reads as RGB
  uint8; an absent, empty, oversized, corrupt or not-an-image file raises ``WorkbenchError`` naming it.
* ``TaggerCNN`` (default profile, [ours]) — a four-block CNN over 112×112 images, trained locally on the
  synthetic memes to predict the things drawn in them (multi-label BCE over the tag vocabulary: scene, objects,
  symbols). Its pooled features are the image embedding; its tag probabilities are the "image tags" the
  knowledge retriever links (a drawn sunwheel → the lexicon's hate-symbol entry).
* ``ClipImageSide`` (paper profile) — a CLIP model's image features; tags by zero-shot scoring of
  "a picture of a {tag}" against the same vocabulary. A tag is present only where its scaled cosine reaches a
  threshold calibrated on labelled images (``calibrate_tag_thresholds``: per tag, the cut with the best F1 on
  the calibration images; a tag with fewer than ``MIN_CALIBRATION`` positives or negatives there falls back to
  one global cut over all (image, tag) pairs). Its tag probability is ``sigmoid(logit − threshold)``, so 0.5 is
  the calibrated cut. Uncalibrated, it claims no tag at all: a zero-shot score alone does not say whether a thing
  is in the picture (scoring against the vocabulary's mean made about half the vocabulary fire on every image).
  The thresholds are saved with the model as ``clip_tags.json``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from workbench import WorkbenchError
from workbench.media.image import MAX_IMAGE_BYTES, load_image

TAG_THRESHOLD = 0.5
MIN_CALIBRATION = 5          # positives and negatives a tag needs in the calibration images for its own threshold
CLIP_TAGS_FILE = "clip_tags.json"


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


def _split_tags(entry) -> list[str]:
    if entry is None or (isinstance(entry, float) and np.isnan(entry)):
        return []                                        # an image with no tag column value: no tag drawn
    return [t for t in (entry.split("|") if isinstance(entry, str) else entry) if t]


def _best_f1_cut(scores: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(threshold, F1) of the cut "present ⇔ score ≥ threshold" with the best F1 on ``scores`` [n] against
    ``truth`` [n] (bool, at least one positive); the threshold lies halfway between the two scores it separates."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], truth[order].astype(float)
    tp = np.cumsum(y)                                   # [n] true positives when the top k+1 are called present
    k = np.arange(1, len(s) + 1)
    f1 = 2 * tp / (k + y.sum())
    cut = np.r_[s[1:] < s[:-1], True]                   # only between distinct scores (ties go together)
    f1 = np.where(cut, f1, -1.0)
    best = int(np.argmax(f1))
    below = s[best + 1] if best + 1 < len(s) else s[best] - 1.0
    return float((s[best] + below) / 2), float(f1[best])


@dataclass(frozen=True)
class TagCalibration:
    """Per-tag presence thresholds on a zero-shot tagger's scaled cosines, and how each was set."""
    vocabulary: tuple[str, ...]
    thresholds: tuple[float, ...]     # [n_tags] on the logit scale (logit_scale · cosine)
    source: tuple[str, ...]           # per tag: "per tag" or "global" (too few positives or negatives)
    positives: tuple[int, ...]        # per tag: labelled positives among the calibration images
    f1: tuple[float, ...]             # per tag: F1 of its threshold on the calibration images
    global_threshold: float
    rows: int                         # calibration images
    data: str = ""                    # what they were: "synthetic memes, train split (corpus …)"

    def to_dict(self) -> dict:
        return {"vocabulary": list(self.vocabulary), "thresholds": list(self.thresholds),
                "source": list(self.source), "positives": list(self.positives), "f1": list(self.f1),
                "global_threshold": self.global_threshold, "rows": self.rows, "data": self.data}

    @classmethod
    def from_dict(cls, raw: dict) -> "TagCalibration":
        keys = ("vocabulary", "thresholds", "source", "positives", "f1")
        missing = [k for k in keys + ("global_threshold", "rows") if k not in raw]
        if missing:
            raise WorkbenchError(f"tag calibration lacks {', '.join(missing)}")
        if len({len(raw[k]) for k in keys}) != 1:
            raise WorkbenchError("tag calibration: vocabulary, thresholds, source, positives and f1 differ in length")
        return cls(tuple(raw["vocabulary"]), tuple(float(t) for t in raw["thresholds"]), tuple(raw["source"]),
                   tuple(int(n) for n in raw["positives"]), tuple(float(f) for f in raw["f1"]),
                   float(raw["global_threshold"]), int(raw["rows"]), str(raw.get("data", "")))

    def frame(self):
        """One row per tag: threshold, source, positives, calibration F1."""
        import pandas as pd

        return pd.DataFrame({"tag": self.vocabulary, "threshold": self.thresholds, "source": self.source,
                             "positives": self.positives, "f1": self.f1})


def calibrate_tag_thresholds(logits: np.ndarray, tag_lists, vocabulary: list[str], *,
                             min_count: int = MIN_CALIBRATION, data: str = "") -> TagCalibration:
    """Thresholds on zero-shot tag logits ``[N, n_tags]`` from the images' labelled tags (lists or '|'-joined;
    an image with no tag is a negative for every tag). Per tag with at least ``min_count`` positives and
    negatives: its best-F1 cut; otherwise the best-F1 cut over every (image, tag) pair pooled."""
    logits = np.asarray(logits, dtype=np.float64)
    tag_lists = list(tag_lists)
    if logits.ndim != 2 or logits.shape != (len(tag_lists), len(vocabulary)):
        raise WorkbenchError(f"tag logits of shape {logits.shape} for {len(tag_lists)} images and "
                             f"{len(vocabulary)} tags")
    index = {t: j for j, t in enumerate(vocabulary)}
    truth = np.zeros(logits.shape, bool)
    for i, entry in enumerate(tag_lists):
        for t in _split_tags(entry):
            if t not in index:
                raise WorkbenchError(f"calibration image {i} has tag '{t}', which is not in the tag vocabulary")
            truth[i, index[t]] = True
    if not truth.any():
        raise WorkbenchError("the calibration images carry no tags: zero-shot tag thresholds need labelled images")
    global_cut, _ = _best_f1_cut(logits.ravel(), truth.ravel())
    thresholds, source, f1s = [], [], []
    for j in range(len(vocabulary)):
        pos = int(truth[:, j].sum())
        if pos >= min_count and len(truth) - pos >= min_count:
            cut, f1 = _best_f1_cut(logits[:, j], truth[:, j])
            source.append("per tag")
        else:
            cut = global_cut
            pred = logits[:, j] >= cut
            tp = int((pred & truth[:, j]).sum())
            f1 = 2 * tp / max(int(pred.sum()) + pos, 1)
            source.append("global")
        thresholds.append(cut)
        f1s.append(float(f1))
    return TagCalibration(tuple(vocabulary), tuple(thresholds), tuple(source),
                          tuple(int(n) for n in truth.sum(0)), tuple(f1s), float(global_cut), len(tag_lists), data)


class ClipImageSide(ImageSide):
    """A transformers CLIP model's image features; tags by zero-shot text prompts over ``vocabulary``, present
    only above thresholds calibrated on labelled images (``calibrate``; see the module doc)."""

    PROMPT = "a picture of a {}"

    def __init__(self, model, processor, vocabulary: list[str], name: str, device: str = "cpu",
                 calibration: TagCalibration | None = None):
        self.model, self.processor, self.vocabulary = model.eval(), processor, list(vocabulary)
        self.name, self.device = name, device
        self.dim = int(model.config.projection_dim)
        self._tag_emb = None
        self.calibration = None
        if calibration is not None:
            self.set_calibration(calibration)

    def set_calibration(self, calibration: TagCalibration) -> None:
        if list(calibration.vocabulary) != self.vocabulary:
            raise WorkbenchError("the tag calibration's vocabulary differs from this image side's: "
                                 f"{len(calibration.vocabulary)} vs {len(self.vocabulary)} tags")
        self.calibration = calibration

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
    def embed_and_logits(self, images, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """Normalized image embeddings ``[N, D]`` and zero-shot tag logits ``[N, n_tags]`` (scaled cosines);
        images are RGB arrays or file paths."""
        from workbench.models.tensors import to_model

        embs, logits = [], []
        scale = float(self.model.logit_scale.exp())
        for i in range(0, len(images), batch_size):
            batch = [im if isinstance(im, np.ndarray) else load_image(im) for im in images[i:i + batch_size]]
            pix = self.processor.image_processor(images=batch, return_tensors="pt")
            pixel_values = to_model(pix, self.model)["pixel_values"]
            emb = nn.functional.normalize(self._features(self.model.get_image_features(pixel_values=pixel_values))
                                          .float(), dim=1)
            embs.append(emb.cpu().numpy())
            logits.append((scale * emb @ self._tag_embeddings().T).cpu().numpy())
        if not embs:
            return np.zeros((0, self.dim), np.float32), np.zeros((0, len(self.vocabulary)), np.float32)
        return np.concatenate(embs).astype(np.float32), np.concatenate(logits).astype(np.float32)

    def tag_probabilities(self, logits: np.ndarray) -> np.ndarray:
        """``sigmoid(logit − calibrated threshold)`` per tag; all zero when uncalibrated (no tag is claimed)."""
        if self.calibration is None:
            return np.zeros_like(logits, dtype=np.float32)
        thresholds = np.asarray(self.calibration.thresholds, dtype=np.float64)
        return (1.0 / (1.0 + np.exp(-(logits.astype(np.float64) - thresholds)))).astype(np.float32)

    def embed_and_tag(self, images, batch_size: int = 32):
        emb, logits = self.embed_and_logits(images, batch_size)
        return emb, self.tag_probabilities(logits)

    def calibrate(self, images, tag_lists, *, data: str = "", min_count: int = MIN_CALIBRATION) -> TagCalibration:
        """Set (and return) the tag thresholds from labelled images — never the images a result is reported on."""
        _, logits = self.embed_and_logits(list(images))
        calibration = calibrate_tag_thresholds(logits, tag_lists, self.vocabulary, min_count=min_count, data=data)
        self.set_calibration(calibration)
        return calibration

    def save(self, folder) -> None:
        """``clip_tags.json`` in ``folder``: the prompt, vocabulary and calibration (the CLIP weights come from the
        model zoo)."""
        import json
        from pathlib import Path

        if self.calibration is None:
            raise WorkbenchError(f"the zero-shot tags of {self.name} are not calibrated: calibrate them on labelled "
                                 "images before saving a model that uses them")
        (Path(folder) / CLIP_TAGS_FILE).write_text(json.dumps(
            {"model": self.name, "prompt": self.PROMPT, "vocabulary": self.vocabulary,
             "calibration": self.calibration.to_dict()}, indent=2))

    @staticmethod
    def read_tags(folder) -> tuple[list[str], TagCalibration]:
        """(vocabulary, calibration) saved in a model folder; a folder without them is an error naming it."""
        import json
        from pathlib import Path

        path = Path(folder) / CLIP_TAGS_FILE
        if not path.is_file():
            raise WorkbenchError(f"{folder} has no {CLIP_TAGS_FILE} (calibrated zero-shot tag thresholds): the "
                                 "model was saved before tags were calibrated; retrain it with `workbench meme train`")
        try:
            raw = json.loads(path.read_text())
            return list(raw["vocabulary"]), TagCalibration.from_dict(raw["calibration"])
        except (ValueError, KeyError, TypeError) as err:
            raise WorkbenchError(f"{path}: not a tag calibration ({err})") from None


__all__ = ["CLIP_TAGS_FILE", "ClipImageSide", "ImageSide", "MAX_IMAGE_BYTES", "MIN_CALIBRATION", "TagCalibration",
           "TaggerCNN", "TaggerConfig", "TaggerImageSide", "calibrate_tag_thresholds", "load_image",
           "tag_vocabulary", "to_tensor", "train_tagger"]
