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
Training holds out a stratified dev fraction of the training rows and keeps the epoch with the best dev macro-F1.
Model folders hold JSON and safetensors only (PEFT writes its adapter as safetensors) and are written atomically.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from workbench import WorkbenchError

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
        import hashlib

        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:10]


def model_input(text: str, triples, uses_knowledge: bool) -> str:
    """The text the text side encodes: the meme text, then the serialized triples when knowledge is used."""
    from workbench.memes.knowledge import serialize

    body = " ".join(str(text).split())
    knowledge = serialize(triples) if uses_knowledge else ""
    return f"{body}{SEPARATOR}{knowledge}" if knowledge else body


# ------------------------------------------------------------------------------------------------ text side


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
        tok = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length,
                             return_tensors="pt").to(self.device)
        out = self.transformer(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"])
        if self.pooling == "mean":
            mask = tok["attention_mask"].unsqueeze(-1).to(out.last_hidden_state.dtype)
            pooled = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        else:                                            # CLIP: the EOS token's state, then the projection
            pooled = out.pooler_output
        if self.projection is not None:
            pooled = self.projection(pooled)
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


def clip_sides(model_name: str, vocabulary: list[str], max_length: int = 77):
    """The text and image sides of a CLIP model of the zoo (the paper profile's vision-language model)."""
    from workbench.memes.vision import ClipImageSide
    from workbench.models import load

    handle = load(model_name)
    clip = handle.model
    text = TextSide(handle.name, clip.text_model, handle.processor.tokenizer, pooling="clip",
                    projection=clip.text_projection, lora_targets=("q_proj", "v_proj"),
                    max_length=min(max_length, 77), device=handle.device)
    return text, ClipImageSide(clip, handle.processor, vocabulary, handle.name, handle.device)


# ------------------------------------------------------------------------------------------------------ head


class MemeHead(nn.Module):
    """LayerNorm over [image ⊕ text] → hidden ReLU layer → class logits; a projection of the hidden layer
    feeds the contrastive loss."""

    def __init__(self, d_image: int, d_text: int, n_classes: int, hidden: int = 256, proj: int = 128):
        super().__init__()
        self.norm = nn.LayerNorm(d_image + d_text)
        self.body = nn.Sequential(nn.Linear(d_image + d_text, hidden), nn.ReLU(), nn.Dropout(0.2))
        self.out = nn.Linear(hidden, n_classes)
        self.proj = nn.Linear(hidden, proj)

    def forward(self, image: torch.Tensor, text: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(self.norm(torch.cat([image, text], dim=1)))
        return self.out(h), self.proj(h)


def _stratified_dev(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of the dev rows: ``fraction`` of each class (at least one where a class has ≥ 2 rows)."""
    rng = np.random.default_rng(seed)
    dev = np.zeros(len(labels), bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        n = int(round(fraction * len(idx)))
        if len(idx) >= 2:
            dev[rng.permutation(idx)[:max(1, n)]] = True
    return dev


def _macro_f1(y: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    from workbench.metrics.classification import f1_scores

    return f1_scores(y, pred, n_classes)["macro_f1"]


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
        from safetensors.torch import save_file

        folder = Path(folder)
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        save_file({k: v.contiguous() for k, v in self.head.state_dict().items()}, tmp / "head.safetensors")
        if hasattr(self.image_side, "save"):
            self.image_side.save(tmp)
        if self.config.uses_lora:
            self.text_side.transformer.save_pretrained(tmp / "lora", safe_serialization=True)
        meta = {"config": asdict(self.config), "classes": self.classes, "profile": self.profile,
                "image_side": self.image_side.name, "text_side": self.text_side.name,
                "dims": {"image": int(self.head.norm.normalized_shape[0] - self.text_side.dim),
                         "text": self.text_side.dim, "hidden": self.config.hidden},
                "models": self.models, "info": self.info}
        (tmp / "model.json").write_text(json.dumps(meta, indent=2))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
        return folder

    @classmethod
    def load(cls, folder, *, knowledge=None) -> "MemeModel":
        from safetensors.torch import load_file

        from workbench.memes.knowledge import default_knowledge

        folder = Path(folder)
        if not (folder / "model.json").is_file():
            raise WorkbenchError(f"{folder} is not a meme model folder (no model.json); train one with "
                                 f"`workbench meme train`")
        meta = json.loads((folder / "model.json").read_text())
        config = MemeModelConfig(**meta["config"])
        text_side, image_side = _sides(meta["profile"], folder, config)
        if config.uses_lora:
            from peft import PeftModel

            text_side = text_side.copy()
            text_side.transformer = PeftModel.from_pretrained(text_side.transformer, folder / "lora").eval()
        dims = meta["dims"]
        head = MemeHead(dims["image"], dims["text"], len(meta["classes"]), dims["hidden"])
        head.load_state_dict(load_file(folder / "head.safetensors"))
        return cls(config, meta["classes"], image_side, text_side, head, knowledge or default_knowledge(),
                   profile=meta["profile"], info=meta.get("info"))


def _sides(profile: str, folder: Path | None, config: MemeModelConfig):
    from workbench.memes.vision import TaggerImageSide
    from workbench.profiles import get_profile

    if profile == "paper":
        vocab = json.loads((folder / "tags.json").read_text()) if folder and (folder / "tags.json").is_file() \
            else default_tag_vocabulary()
        return clip_sides(get_profile("paper").model_for("meme_vl"), vocab, config.max_length)
    return minilm_text_side(config.max_length), (TaggerImageSide.load(folder) if folder else None)


def default_tag_vocabulary() -> list[str]:
    """Tags a zero-shot tagger scores when no trained tagger exists: the synthetic memes' tag set plus the
    lexicon's hate symbols."""
    from workbench.memes.knowledge import default_knowledge

    lex = default_knowledge().lexicon
    symbols = lex.loc[lex["category"] == "hate symbol", "term"].tolist()
    base = ["park", "office", "beach", "city", "room", "face", "crowd", "cat", "dog", "coffee", "pizza", "flag",
            "heart", "star", "sun"]
    return sorted(set(base + symbols))


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


def train_meme_model(images, texts: list[str], labels: list[str], classes: list[str], *,
                     config: MemeModelConfig, image_side, text_side: TextSide, knowledge=None,
                     profile: str = "default", progress=None) -> MemeModel:
    """Train the head (and, for ``knowledge+lora``, the LoRA adapters) on labelled memes.

    Stage 1 (every setting): the head on frozen text embeddings, ``head_epochs`` epochs, cross-entropy with
    class weights. Stage 2 (``knowledge+lora``): LoRA adapters are added (their update starts at zero, so the
    warm head still fits) and trained jointly with the head for ``lora_epochs`` epochs on cross-entropy +
    ``contrastive_weight`` · SupCon. Each stage keeps its epoch with the best dev macro-F1; stage 2 starts from
    stage 1's best, which counts as its epoch 0.
    """
    from workbench.deepfake.contrastive import supervised_contrastive
    from workbench.memes.knowledge import default_knowledge

    report = progress or (lambda f, m: None)
    knowledge = knowledge or default_knowledge()
    index = {c: j for j, c in enumerate(classes)}
    unknown = sorted({lab for lab in labels if lab not in index})
    if unknown:
        raise WorkbenchError(f"labels {unknown} are not among the classes {classes}")
    if len(set(labels)) < 2:
        raise WorkbenchError("training needs memes of at least two classes")
    y = np.array([index[lab] for lab in labels])
    torch.manual_seed(config.seed)
    report(0.0, "image features and knowledge")
    prep = prepare(image_side, knowledge, images, texts, config)
    dev = _stratified_dev(y, config.dev_fraction, config.seed)
    train_idx, dev_idx = np.flatnonzero(~dev), np.flatnonzero(dev)
    img = torch.from_numpy(prep.image_emb)
    text_side = text_side.copy() if config.uses_lora else text_side
    head = MemeHead(img.shape[1], text_side.dim, len(classes), config.hidden)
    gen = torch.Generator().manual_seed(config.seed)
    yt = torch.from_numpy(y)
    counts = np.maximum(np.bincount(y[train_idx], minlength=len(classes)), 1)
    weights = torch.tensor(len(train_idx) / (len(classes) * counts), dtype=torch.float32)
    history: list[dict] = []
    cached = torch.from_numpy(text_side.encode(prep.inputs))
    lora_on = [False]
    stages = 1 + int(config.uses_lora)
    total_epochs = config.head_epochs + (config.lora_epochs if config.uses_lora else 0)

    def text_features(idx, train: bool) -> torch.Tensor:
        if not lora_on[0]:
            return cached[idx]
        text_side.transformer.train(train)
        with torch.set_grad_enabled(train):
            return text_side.forward([prep.inputs[i] for i in idx]).cpu()    # the head lives on the CPU

    def dev_f1() -> float:
        if not len(dev_idx):
            return float("nan")
        head.eval()
        with torch.inference_mode():
            preds = [head(img[dev_idx[s:s + 64]], text_features(dev_idx[s:s + 64], False))[0].argmax(1).numpy()
                     for s in range(0, len(dev_idx), 64)]
        return _macro_f1(y[dev_idx], np.concatenate(preds), len(classes))

    def snapshot():
        lora_state = ({k: v.detach().clone() for k, v in text_side.transformer.state_dict().items() if "lora_" in k}
                      if lora_on[0] else None)
        return copy.deepcopy(head.state_dict()), lora_state

    def fit(stage: str, epochs: int, opt, contrastive: bool, best: tuple) -> tuple:
        for epoch in range(epochs):
            head.train()
            order = train_idx[torch.randperm(len(train_idx), generator=gen).numpy()]
            total = 0.0
            for s in range(0, len(order), config.batch_size):
                idx = order[s:s + config.batch_size]
                logits, z = head(img[idx], text_features(idx, True))
                loss = nn.functional.cross_entropy(logits, yt[idx], weight=weights)
                if contrastive:
                    loss = loss + config.contrastive_weight * supervised_contrastive(z, yt[idx], config.temperature)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            f1 = dev_f1()
            history.append({"stage": stage, "epoch": epoch + 1, "loss": total / max(len(order), 1),
                            "dev_macro_f1": f1})
            if best[1] is None or (not np.isnan(f1) and f1 > best[0]):
                best = (f1, *snapshot())
            done = len(history) / total_epochs
            report(done, f"{config.setting} {stage} epoch {epoch + 1}/{epochs}: loss {history[-1]['loss']:.3f}, "
                         f"dev macro-F1 {f1:.3f}")
        return best

    opt = torch.optim.AdamW(head.parameters(), lr=config.head_lr, weight_decay=1e-2)
    best = fit("head", config.head_epochs, opt, False, (-1.0, None, None))
    head.load_state_dict(best[1])
    if config.uses_lora:
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=0.1,
                          target_modules=list(text_side.lora_targets), bias="none")
        text_side.transformer = get_peft_model(text_side.transformer, lora)
        lora_on[0] = True
        best = (best[0], *snapshot())            # stage 1's best head with zero-update adapters: epoch 0
        opt = torch.optim.AdamW([{"params": [p for p in text_side.transformer.parameters() if p.requires_grad],
                                  "lr": config.lora_lr},
                                 {"params": head.parameters(), "lr": config.head_lr / 4}], weight_decay=1e-2)
        best = fit("lora", config.lora_epochs, opt, config.contrastive_weight > 0, best)
        head.load_state_dict(best[1])
        text_side.transformer.load_state_dict(best[2], strict=False)
        text_side.transformer.eval()
    info = {"train_rows": int(len(train_idx)), "dev_rows": int(len(dev_idx)), "best_dev_macro_f1": best[0],
            "stages": stages, "history": history}
    return MemeModel(config, classes, image_side, text_side, head.eval(), knowledge, profile=profile, info=info)


__all__ = ["MemeHead", "MemeModel", "MemeModelConfig", "Prepared", "SEPARATOR", "SETTINGS", "TextSide",
           "clip_sides", "default_tag_vocabulary", "embed_images", "minilm_text_side", "model_input", "prepare",
           "train_meme_model"]
