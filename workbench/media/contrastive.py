"""Contrastive losses and the small encoders' training loop.

Used by deepfake.detector (the ConLLM contrastive stage), the default encoders in media.audio_encoders and
media.video_encoders (``fit_encoder``), and memes.model (SupCon on the fused meme embedding).

* ``nt_xent(a, b, temperature)`` — cross-modal InfoNCE (NT-Xent, symmetric): row i of ``a`` (say, a clip's audio
  embedding) and row i of ``b`` (the same clip's video embedding) are the positive pair; every other row of the
  other modality in the batch is a negative. Loss = mean over both directions of cross-entropy of the cosine
  similarities / T against the diagonal.
* ``supervised_contrastive(z, labels, temperature)`` — SupCon (Khosla et al. 2020): for each anchor, the positives
  are all other rows with the same label (bona fide with bona fide, spoof with spoof); loss = −mean over anchors of
  the mean log-softmax of its positives.
* ``minibatches(n, batch_size, generator)`` — seeded shuffled batches of at least two rows.
* ``fit_encoder(model, x, y, config)`` — BCE on the model's ``head`` + 0.2 · SupCon on its embeddings, AdamW.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from workbench import WorkbenchError


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """Symmetric cross-modal InfoNCE over a batch of paired rows (see the module doc)."""
    if a.shape != b.shape or a.dim() != 2 or len(a) < 2:
        raise WorkbenchError(f"need two [N ≥ 2, D] batches of the same shape; got {tuple(a.shape)} and "
                             f"{tuple(b.shape)}")
    a, b = nn.functional.normalize(a, dim=1), nn.functional.normalize(b, dim=1)
    logits = a @ b.T / temperature
    target = torch.arange(len(a), device=a.device)
    return (nn.functional.cross_entropy(logits, target) + nn.functional.cross_entropy(logits.T, target)) / 2


def supervised_contrastive(z: torch.Tensor, labels: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """SupCon loss; anchors without any positive in the batch are left out (0 when none has one)."""
    z = nn.functional.normalize(z, dim=1)
    sim = z @ z.T / temperature
    self_mask = torch.eye(len(z), dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(self_mask, float("-inf"))
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    positives = (labels.unsqueeze(0) == labels.unsqueeze(1)) & ~self_mask
    counts = positives.sum(1)
    has = counts > 0
    if not has.any():
        return z.sum() * 0.0
    per_anchor = log_prob.masked_fill(~positives, 0.0).sum(1)[has] / counts[has]
    return -per_anchor.mean()


def minibatches(n: int, batch_size: int, generator: torch.Generator):
    """Shuffled row indices in batches of ``batch_size``; a last batch of one row is skipped (contrastive losses
    need pairs)."""
    order = torch.randperm(n, generator=generator)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        if len(idx) >= 2:
            yield idx


def check_labels(n: int, y) -> torch.Tensor:
    """Float labels, one per example, both classes present (1 = bona fide, 0 = spoofed / fake)."""
    y = torch.as_tensor(np.asarray(y), dtype=torch.float32)
    if n != len(y) or set(y.unique().tolist()) != {0.0, 1.0}:
        raise WorkbenchError("need one label per clip and both bona fide (1) and spoofed / fake (0) clips")
    return y


def fit_encoder(model: nn.Module, x: torch.Tensor, y: torch.Tensor, config, *, what: str, progress=None) -> list:
    """The default encoders' training loop: BCE on the model's ``head`` + 0.2 · supervised contrastive on its
    embeddings, AdamW, seeded minibatches; returns the per-epoch mean loss. ``config`` gives epochs, lr,
    batch_size and seed."""
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(config.seed)
    history = []
    for epoch in range(config.epochs):
        model.train()
        total = 0.0
        for idx in minibatches(len(y), config.batch_size, gen):
            emb = model(x[idx])
            loss = nn.functional.binary_cross_entropy_with_logits(model.head(emb).squeeze(1), y[idx])
            loss = loss + 0.2 * supervised_contrastive(emb, y[idx].long())
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        history.append(total / len(y))
        if progress:
            progress((epoch + 1) / config.epochs, f"{what} epoch {epoch + 1}: loss {history[-1]:.3f}")
    model.eval()
    return history


__all__ = ["check_labels", "fit_encoder", "minibatches", "nt_xent", "supervised_contrastive"]
