"""The vision-language meme classifier (P5 Stages I–II) behind one interface, for both profiles.

A meme is (image, text). The image side gives an embedding and tags (``workbench.memes.vision``); the tags and
the text go to the knowledge retriever (``workbench.memes.knowledge``); the text side encodes the model input —
the meme text alone (setting ``none``), or the text with the retrieved triples serialized after it (settings
``knowledge`` and ``knowledge+lora``). A head classifies the concatenated image and text embeddings.

The three settings are the ablation the paper implies [ours — only the abstract is public]:

* ``none`` — frozen text encoder, no knowledge; the head is trained (cross-entropy);
* ``knowledge`` — the same, with retrieved triples in the text input;
* ``knowledge+lora`` — the ``knowledge`` setting's head training, then LoRA adapters (PEFT) on the text
  encoder's attention (query/value projections), trained with the head on cross-entropy + λ · supervised
  contrastive loss (SupCon, τ = 0.1) over the head's projection: same-label memes are pulled together and, in
  particular, satire and abuse — which share words and frames and differ in their target — are pushed apart (the
  "contrastive fine-tuning" of the paper's keywords).

Default profile: the image tagger CNN trained on the synthetic memes and all-MiniLM-L6-v2 (mean pooling) as the
text side. Paper profile: CLIP ViT-L/14 from the local cache for both sides (LoRA on its text transformer).
Training (``memes.train``) holds out a stratified dev fraction of the training rows and keeps the epoch with
the best dev macro-F1. The encoders are in ``memes.sides``. A model folder holds ``model.json`` (config,
classes, profile, encoders, training info), the head (``head.safetensors`` + ``head.json``, via
``workbench.io.save_weights``), the tagger's weights (default profile) or the CLIP side's calibrated zero-shot
tag thresholds (``clip_tags.json``, paper profile) and PEFT's LoRA adapter (safetensors); it is written
atomically. Used by ``memes.ablation``, ``memes.explain``, the meme CLI, the dashboard and the P5 notebook.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from workbench import WorkbenchError
from workbench.memes.sides import TextSide

SETTINGS = ("none", "knowledge", "knowledge+lora")
SEPARATOR = " || knowledge: "


@dataclass(frozen=True)
class MemeModelConfig:
    setting: str = "knowledge+lora"
    top_triples: int = 8
    max_length: int = 128
    hidden: int = 256
    head_epochs: int = 60
    head_lr: float = 2e-3
    lora_epochs: int = 4
    lora_lr: float = 2e-4
    lora_r: int = 8
    lora_alpha: int = 16
    contrastive_weight: float = 0.5
    temperature: float = 0.1
    batch_size: int = 32
    dev_fraction: float = 0.15
    seed: int = 0

    def __post_init__(self):
        if self.setting not in SETTINGS:
            raise WorkbenchError(f"unknown setting '{self.setting}'; choose from {', '.join(SETTINGS)}")

    @property
    def uses_knowledge(self) -> bool:
        return self.setting != "none"

    @property
    def uses_lora(self) -> bool:
        return self.setting == "knowledge+lora"

    def key(self) -> str:
        """A short stable hash of the configuration (part of cached models' folder names)."""
        from workbench.io import config_key

        return config_key(asdict(self))


def model_input(text: str, triples, uses_knowledge: bool) -> str:
    """The text the text side encodes: the meme text, then the serialized triples when knowledge is used."""
    from workbench.memes.knowledge import serialize

    body = " ".join(str(text).split())
    knowledge = serialize(triples) if uses_knowledge else ""
    return f"{body}{SEPARATOR}{knowledge}" if knowledge else body


# ------------------------------------------------------------------------------------------------------ head


class MemeHead(nn.Module):
    """LayerNorm over [image ⊕ text] → hidden ReLU layer → class logits; a projection of the hidden layer
    feeds the contrastive loss."""

    def __init__(self, d_image: int, d_text: int, n_classes: int, hidden: int = 256, proj: int = 128):
        super().__init__()
        self.dims = {"d_image": d_image, "d_text": d_text, "n_classes": n_classes, "hidden": hidden, "proj": proj}
        self.norm = nn.LayerNorm(d_image + d_text)
        self.body = nn.Sequential(nn.Linear(d_image + d_text, hidden), nn.ReLU(), nn.Dropout(0.2))
        self.out = nn.Linear(hidden, n_classes)
        self.proj = nn.Linear(hidden, proj)

    def forward(self, image: torch.Tensor, text: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(self.norm(torch.cat([image, text], dim=1)))
        return self.out(h), self.proj(h)


# ----------------------------------------------------------------------------------------------------- model


@dataclass
class Prepared:
    """A set of memes made ready for the model: image embeddings and tags, retrieved triples, model inputs."""
    image_emb: np.ndarray
    tag_probs: np.ndarray
    tags: list[list[tuple[str, float]]]
    triples: list[list]
    inputs: list[str]        # what the text side reads, for display: text, then the serialized triples
    texts: list[str]
    knowledge: list[str]     # the serialized triples ("" when none or when the setting uses no knowledge)


class MemeModel:
    """Image side + knowledge + text side + head; ``predict`` returns per-meme label, confidence and evidence."""

    def __init__(self, config: MemeModelConfig, classes: list[str], image_side, text_side: TextSide,
                 head: MemeHead, knowledge, *, profile: str = "default", info: dict | None = None):
        self.config, self.classes = config, list(classes)
        self.image_side, self.text_side, self.head, self.knowledge = image_side, text_side, head.eval(), knowledge
        self.profile, self.info = profile, dict(info or {})

    @property
    def models(self) -> list[str]:
        names = [self.image_side.name, self.text_side.name]
        return names + ([f"LoRA r={self.config.lora_r} on {self.text_side.name}"] if self.config.uses_lora else [])

    # ------------------------------------------------------------------------------------------- features
    def prepare(self, images, texts: list[str]) -> Prepared:
        return prepare(self.image_side, self.knowledge, images, texts, self.config)

    @torch.inference_mode()
    def probabilities(self, prepared: Prepared) -> np.ndarray:
        text = torch.from_numpy(self.text_side.encode(prepared.inputs))
        logits, _ = self.head(torch.from_numpy(prepared.image_emb), text)
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, images, texts: list[str]) -> list[dict]:
        """Per meme (image arrays or paths): label, confidence, probabilities, image tags, triples, model input."""
        prep = self.prepare(images, texts)
        probs = self.probabilities(prep)
        out = []
        for i, row in enumerate(probs):
            j = int(np.argmax(row))
            out.append({"label": self.classes[j], "confidence": float(row[j]),
                        "probabilities": {c: float(p) for c, p in zip(self.classes, row)},
                        "tags": [{"tag": t, "p": round(p, 4)} for t, p in prep.tags[i]],
                        "triples": [t.to_dict() for t in prep.triples[i]], "input": prep.inputs[i]})
        return out

    @torch.inference_mode()
    def word_importance(self, image: np.ndarray, text: str) -> list[tuple[str, float]]:
        """Occlusion: for each word of the text, the drop in the predicted class's probability when it is removed
        (knowledge re-retrieved without it), largest first."""
        words = str(text).split()
        if not words:
            return []
        variants = [text] + [" ".join(words[:i] + words[i + 1:]) for i in range(len(words))]
        prep = self.prepare([image] * len(variants), variants)
        probs = self.probabilities(prep)
        j = int(np.argmax(probs[0]))
        drops = [(w, float(probs[0, j] - probs[i + 1, j])) for i, w in enumerate(words)]
        return sorted(drops, key=lambda d: -d[1])

    # ---------------------------------------------------------------------------------------------- saving
    def save(self, folder) -> Path:
        """Write the model folder (see the module doc), replacing ``folder`` only once it is complete."""
        from workbench.io import atomic_dir, save_weights

        folder = Path(folder)
        with atomic_dir(folder) as tmp:
            save_weights(tmp, "head", self.head.state_dict(), self.head.dims)
            if hasattr(self.image_side, "save"):
                self.image_side.save(tmp)
            if self.config.uses_lora:
                self.text_side.transformer.save_pretrained(tmp / "lora", safe_serialization=True)
            meta = {"config": asdict(self.config), "classes": self.classes, "profile": self.profile,
                    "image_side": self.image_side.name, "text_side": self.text_side.name,
                    "models": self.models, "info": self.info}
            (tmp / "model.json").write_text(json.dumps(meta, indent=2))
        return folder

    @classmethod
    def load(cls, folder, *, knowledge=None) -> "MemeModel":
        from workbench.io import load_weights
        from workbench.memes.knowledge import default_knowledge
        from workbench.memes.sides import load_sides

        folder = Path(folder)
        if not (folder / "model.json").is_file():
            raise WorkbenchError(f"{folder} is not a meme model folder (no model.json); train one with "
                                 f"`workbench meme train`")
        meta = json.loads((folder / "model.json").read_text())
        config = MemeModelConfig(**meta["config"])
        text_side, image_side = load_sides(meta["profile"], folder, config.max_length)
        if config.uses_lora:
            from peft import PeftModel

            text_side = text_side.copy()
            text_side.transformer = PeftModel.from_pretrained(text_side.transformer, folder / "lora").eval()
        state, dims = load_weights(folder, "head")
        head = MemeHead(**dims)
        head.load_state_dict(state)
        return cls(config, meta["classes"], image_side, text_side, head, knowledge or default_knowledge(),
                   profile=meta["profile"], info=meta.get("info"))


def embed_images(image_side, images, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings and tag probabilities of images given as arrays or file paths (read a batch at a time)."""
    from workbench.memes.vision import load_image

    embs, probs = [], []
    for s in range(0, len(images), batch_size):
        batch = [im if isinstance(im, np.ndarray) else load_image(im) for im in images[s:s + batch_size]]
        e, p = image_side.embed_and_tag(batch)
        embs.append(e)
        probs.append(p)
    if not embs:
        raise WorkbenchError("no images to embed")
    return np.concatenate(embs), np.concatenate(probs)


def prepare(image_side, knowledge, images, texts, config: MemeModelConfig) -> Prepared:
    """Image embeddings and tags, retrieved triples and model inputs; ``images`` are arrays or file paths."""
    if len(images) != len(texts):
        raise WorkbenchError(f"{len(images)} images but {len(texts)} texts")
    emb, probs = embed_images(image_side, list(images))
    tags = image_side.tags(probs)
    triples = [knowledge.retrieve(t, [g for g, _ in tg], top=config.top_triples) if config.uses_knowledge else []
               for t, tg in zip(texts, tags)]
    from workbench.memes.knowledge import serialize

    inputs = [model_input(t, tr, config.uses_knowledge) for t, tr in zip(texts, triples)]
    clean = [" ".join(str(t).split()) for t in texts]
    return Prepared(emb, probs, tags, triples, inputs, clean, [serialize(tr) for tr in triples])


__all__ = ["MemeHead", "MemeModel", "MemeModelConfig", "Prepared", "SEPARATOR", "SETTINGS", "embed_images",
           "model_input", "prepare"]
