"""Training a meme model (P5 Stage II): the head on frozen text features, then LoRA adapters with SupCon.

Used by ``memes.ablation`` (one model per setting), the meme CLI's ``train`` and the tests. The model it returns
(``memes.model.MemeModel``) is saved and loaded there.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from workbench import WorkbenchError
from workbench.memes.model import MemeHead, MemeModel, MemeModelConfig, prepare
from workbench.memes.sides import TextSide


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

def label_index(labels, classes) -> np.ndarray:
    """[N] each label's index in ``classes``; refuses unknown labels and a single class in one line (the head
    model's and the VLM's training, ``memes.vlm``)."""
    index = {c: j for j, c in enumerate(classes)}
    unknown = sorted({lab for lab in labels if lab not in index})
    if unknown:
        raise WorkbenchError(f"labels {unknown} are not among the classes {list(classes)}")
    if len(set(labels)) < 2:
        raise WorkbenchError("training needs memes of at least two classes")
    return np.array([index[lab] for lab in labels])


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
    from workbench.media.contrastive import supervised_contrastive
    from workbench.memes.knowledge import default_knowledge

    report = progress or (lambda f, m: None)
    knowledge = knowledge or default_knowledge()
    y = label_index(labels, classes)
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


def lora_epoch_kept(history: list[dict]) -> int | None:
    """The LoRA epoch a ``knowledge+lora`` training kept, read from its history with ``train_meme_model``'s rule
    (a stage-2 epoch is kept only when its dev macro-F1 is strictly above the best so far, stage 1's best being
    epoch 0); None for a history without a LoRA stage. 0 means the adapters kept their zero update: the model
    then predicts exactly as the ``knowledge`` setting's (same seed, same head training)."""
    head = [h["dev_macro_f1"] for h in history if h.get("stage") == "head" and not np.isnan(h["dev_macro_f1"])]
    lora = [h for h in history if h.get("stage") == "lora"]
    if not lora:
        return None
    best, kept = (max(head) if head else -1.0), 0
    for i, h in enumerate(lora, start=1):
        if not np.isnan(h["dev_macro_f1"]) and h["dev_macro_f1"] > best:
            best, kept = h["dev_macro_f1"], int(h.get("epoch", i))
    return kept


def lora_note(training: dict) -> str | None:
    """One line on the ``knowledge+lora`` setting when no LoRA epoch beat the head stage on dev (its row then
    equals ``knowledge``'s: the adapters never changed), else None. ``training``: setting → training info."""
    info = (training or {}).get("knowledge+lora") or {}
    history = info.get("history") or []
    if lora_epoch_kept(history) != 0:
        return None
    head = max((h["dev_macro_f1"] for h in history if h.get("stage") == "head"), default=float("nan"))
    epochs = sum(h.get("stage") == "lora" for h in history)
    return (f"knowledge+lora: none of its {epochs} LoRA epoch(s) beat the head stage's best dev macro-F1 "
            f"({head:.3f}), so the adapters kept their zero update and its predictions equal `knowledge`'s; "
            "LoRA adds nothing measurable on this training set.")


__all__ = ["label_index", "lora_epoch_kept", "lora_note", "train_meme_model"]
