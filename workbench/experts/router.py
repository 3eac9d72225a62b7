"""The router of the Mixture of Calibrated Experts (P3 AlignX, P10 TrinityX): which alignment axis does this
input need, and how sure is it?

A small network over the backbone's hidden state — mean-pooled over the sequence (``level="sequence"``) or one
decision per token (``level="token"``) — gives logits over the experts; the mixing weights are a temperature
softmax, optionally cut to the top-k and renormalised. Training [ours, after TrinityX's description] minimises
cross-entropy against which-axis labels plus two regularisers: ``entropy_weight`` × the mean entropy of the
routing distribution (sharper routing), and ``kl_weight`` × KL(mean routing ‖ uniform) (balanced load, so no
expert is starved). TrinityX's fixed importance weights γ scale each expert's weight after routing.

Everything here works on hidden-state tensors, so it is tested on synthetic features with a planted signal;
``workbench.experts`` feeds it the backbone's states.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from workbench import WorkbenchError

AXES = ("helpful", "harmless", "honest")


@dataclass(frozen=True)
class RouterConfig:
    hidden_size: int
    n_experts: int = len(AXES)
    inner: int = 256                   # AlignX's "latent 256"; 0 for a linear router
    temperature: float = 1.0           # TrinityX: 0.7–1
    top_k: int = 1                     # TrinityX: top-1
    level: str = "sequence"            # or "token"
    entropy_weight: float = 0.01
    kl_weight: float = 0.01
    gamma: tuple[float, ...] | None = None   # fixed per-expert importance weights (TrinityX)

    def __post_init__(self):
        if self.level not in ("sequence", "token"):
            raise WorkbenchError(f"router level must be 'sequence' or 'token', not '{self.level}'")
        if not 1 <= self.top_k <= self.n_experts:
            raise WorkbenchError(f"top_k must be between 1 and {self.n_experts}")
        if self.temperature <= 0:
            raise WorkbenchError("the router temperature must be positive")
        if self.gamma is not None and len(self.gamma) != self.n_experts:
            raise WorkbenchError(f"gamma needs one weight per expert ({self.n_experts})")


class Router(nn.Module):
    def __init__(self, config: RouterConfig):
        super().__init__()
        self.config = config
        h, k = config.hidden_size, config.n_experts
        self.net = nn.Linear(h, k) if not config.inner else nn.Sequential(
            nn.LayerNorm(h), nn.Linear(h, config.inner), nn.GELU(), nn.Linear(config.inner, k))

    def logits(self, hidden: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``hidden`` [B, T, H] (or [B, H]) → logits [B, K] (sequence level) or [B, T, K] (token level)."""
        if hidden.dim() == 2:
            return self.net(hidden)
        if self.config.level == "token":
            return self.net(hidden)
        if mask is None:
            pooled = hidden.mean(1)
        else:
            m = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.net(pooled)

    def weights(self, logits: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """Mixing weights: softmax(logits / T), kept to the top-k and renormalised, then scaled by γ."""
        t = temperature if temperature is not None else self.config.temperature
        return mix_weights(torch.softmax(logits / t, -1), self.config.top_k, self.config.gamma)


def mix_weights(probs: torch.Tensor, top_k: int, gamma=None) -> torch.Tensor:
    """Routing probabilities → expert weights: the top-k kept and renormalised, then each scaled by its γ."""
    if top_k < probs.shape[-1]:
        top = probs.topk(top_k, -1)
        probs = torch.zeros_like(probs).scatter(-1, top.indices, top.values)
        probs = probs / probs.sum(-1, keepdim=True)
    if gamma is not None:
        probs = probs * torch.tensor(gamma, dtype=probs.dtype, device=probs.device)
    return probs


def router_loss(router: Router, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy + entropy and load-balance (KL to uniform) regularisers (see the module doc)."""
    cfg = router.config
    flat, target = logits.reshape(-1, logits.shape[-1]), labels.reshape(-1)
    loss = nn.functional.cross_entropy(flat, target)
    probs = torch.softmax(flat / cfg.temperature, -1)
    entropy = -(probs * probs.clamp_min(1e-12).log()).sum(-1).mean()
    load = probs.mean(0)
    kl = (load * (load.clamp_min(1e-12) * load.shape[0]).log()).sum()
    return loss + cfg.entropy_weight * entropy + cfg.kl_weight * kl


def train_router(features: torch.Tensor, labels, config: RouterConfig, *, epochs: int = 60, lr: float = 3e-3,
                 batch_size: int = 64, seed: int = 0, progress=None) -> Router:
    """Train a router on pooled features [N, H] (or token features [N, T, H] with per-token labels)."""
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    if len(features) != len(labels) or len(features) == 0:
        raise WorkbenchError(f"{len(features)} feature rows but {len(labels)} labels")
    if labels.min() < 0 or labels.max() >= config.n_experts:
        raise WorkbenchError(f"labels must be expert indices in [0, {config.n_experts})")
    torch.manual_seed(seed)
    router = Router(config)
    opt = torch.optim.AdamW(router.parameters(), lr=lr, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(seed)
    with one_thread():
        for epoch in range(epochs):
            order = torch.randperm(len(features), generator=gen)
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                loss = router_loss(router, router.logits(features[idx]), labels[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            if progress:
                progress(epoch + 1, epochs)
    return router.eval()


@contextlib.contextmanager
def one_thread():
    """Torch on one CPU thread inside the block (restored after): a router's many tiny steps gain nothing from more
    threads and lose much when the cores are shared — 300 steps of a linear router took 0.6 s on one thread and
    20 s on two busy cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@torch.inference_mode()
def route_logits(router: Router, features: torch.Tensor) -> np.ndarray:
    return router.logits(features).float().numpy()
