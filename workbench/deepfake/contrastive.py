"""The contrastive stage of ConLLM (P6): align modality embeddings where the positives are real, then classify.

* ``nt_xent(a, b, temperature)`` — cross-modal InfoNCE (NT-Xent, symmetric): row i of ``a`` (say, a clip's audio
  embedding) and row i of ``b`` (the same clip's video embedding) are the positive pair; every other row of the
  other modality in the batch is a negative. Loss = mean over both directions of cross-entropy of the cosine
  similarities / T against the diagonal.
  In training, the pairs are the *bona fide* clips of the batch by default [ours]: the audio and the video of a
  genuine clip belong together, while those of a forgery (dubbed, re-voiced, lip-synced from elsewhere) may not,
  and pulling them together would teach the detector to overlook exactly that mismatch (``xm_positives="all"``
  uses every clip).
* ``supervised_contrastive(z, labels, temperature)`` — SupCon (Khosla et al. 2020): for each anchor, the positives
  are all other rows with the same label (bona fide with bona fide, spoof with spoof); loss = −mean over anchors of
  the mean log-softmax of its positives.
* ``ContrastiveDetector`` — a projection head per modality (2-layer MLP to a shared unit sphere) and a classifier
  head on the concatenated projections (one modality works too); ``train_detector`` optimises
  classification + λ_xm · NT-Xent (when two modalities are given) + λ_sup · SupCon.

The paper's authors draw random "positives"; ours are the real pairings above [ours, per SPECS.md]. Scores are
oriented like the ASVspoof metrics: a higher score = more bona fide (``score = logit of P(bona fide)``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

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


@dataclass(frozen=True)
class DetectorConfig:
    input_dims: tuple[int, ...]                 # one per modality, e.g. (audio_dim,) or (audio_dim, video_dim)
    modalities: tuple[str, ...] = ("audio",)
    projection: int = 64
    hidden: int = 128
    temperature: float = 0.1
    lambda_xm: float = 0.5                      # cross-modal NT-Xent weight (two modalities)
    lambda_sup: float = 0.2                     # supervised contrastive weight
    xm_positives: str = "bonafide"              # cross-modal pairs taken from: bonafide clips only, or all clips
    epochs: int = 40
    lr: float = 1e-3
    batch_size: int = 32
    seed: int = 0
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if len(self.input_dims) != len(self.modalities) or not self.modalities:
            raise WorkbenchError("need one input width per modality")
        if self.xm_positives not in ("bonafide", "all"):
            raise WorkbenchError(f"xm_positives must be 'bonafide' or 'all', not {self.xm_positives!r}")


class ContrastiveDetector(nn.Module):
    def __init__(self, config: DetectorConfig):
        super().__init__()
        self.config = config
        self.heads = nn.ModuleList(nn.Sequential(nn.Linear(d, config.hidden), nn.GELU(),
                                                 nn.Linear(config.hidden, config.projection))
                                   for d in config.input_dims)
        self.classifier = nn.Linear(config.projection * len(config.input_dims), 1)

    def project(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        return [nn.functional.normalize(head(x), dim=1) for head, x in zip(self.heads, inputs)]

    def forward(self, inputs: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(score = logit of P(bona fide) [N], the projections per modality)."""
        z = self.project(inputs)
        return self.classifier(torch.cat(z, 1)).squeeze(1), z


def detector_loss(model: ContrastiveDetector, inputs, y: torch.Tensor) -> dict:
    score, z = model(inputs)
    cfg = model.config
    parts = {"classification": nn.functional.binary_cross_entropy_with_logits(score, y.float())}
    if len(z) == 2 and cfg.lambda_xm > 0:
        keep = y == 1 if cfg.xm_positives == "bonafide" else torch.ones_like(y, dtype=torch.bool)
        if int(keep.sum()) >= 2:
            parts["cross_modal"] = cfg.lambda_xm * nt_xent(z[0][keep], z[1][keep], cfg.temperature)
    if cfg.lambda_sup > 0:
        parts["supervised"] = cfg.lambda_sup * supervised_contrastive(torch.cat(z, 1), y, cfg.temperature)
    parts["total"] = sum(parts.values())
    return parts


def minibatches(n: int, batch_size: int, generator: torch.Generator):
    """Shuffled row indices in batches of ``batch_size``; a last batch of one row is skipped (contrastive losses
    need pairs)."""
    order = torch.randperm(n, generator=generator)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        if len(idx) >= 2:
            yield idx


def train_detector(inputs: list[np.ndarray | torch.Tensor], y, config: DetectorConfig, *, progress=None):
    """Train on per-modality embeddings (rows aligned across modalities) and labels (1 = bona fide);
    returns (model, loss history: list of per-epoch dicts)."""
    xs = [torch.as_tensor(np.asarray(x), dtype=torch.float32) for x in inputs]
    y = torch.as_tensor(np.asarray(y), dtype=torch.long)
    if len(xs) != len(config.modalities) or any(len(x) != len(y) for x in xs) or len(y) < 2:
        raise WorkbenchError("need one embedding matrix per modality, all with one row per label (at least 2)")
    if set(y.unique().tolist()) != {0, 1}:
        raise WorkbenchError("training needs both bona fide (1) and spoofed (0) examples")
    torch.manual_seed(config.seed)
    model = ContrastiveDetector(config)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(config.seed)
    history = []
    for epoch in range(config.epochs):
        model.train()
        sums: dict[str, float] = {}
        for idx in minibatches(len(y), config.batch_size, gen):
            parts = detector_loss(model, [x[idx] for x in xs], y[idx])
            opt.zero_grad()
            parts["total"].backward()
            opt.step()
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach()) * len(idx)
        history.append({k: v / len(y) for k, v in sums.items()})
        if progress:
            progress((epoch + 1) / config.epochs, f"epoch {epoch + 1}: loss {history[-1]['total']:.3f}")
    return model.eval(), history


@torch.inference_mode()
def score(model: ContrastiveDetector, inputs) -> tuple[np.ndarray, np.ndarray | None]:
    """(bona fide scores [N], cross-modal agreement = cosine of the two projections [N] or None)."""
    xs = [torch.as_tensor(np.asarray(x), dtype=torch.float32) for x in inputs]
    s, z = model(xs)
    agreement = (z[0] * z[1]).sum(1).numpy() if len(z) == 2 else None
    return s.numpy(), agreement


def save_detector(model: ContrastiveDetector, path) -> None:
    import json
    from pathlib import Path

    from safetensors.torch import save_file

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path / "detector.safetensors"))
    (path / "detector.json").write_text(json.dumps(asdict(model.config), indent=2) + "\n")


def load_detector(path) -> ContrastiveDetector:
    import json
    from pathlib import Path

    from safetensors.torch import load_file

    path = Path(path)
    if not (path / "detector.json").is_file():
        raise WorkbenchError(f"{path}: no detector.json; train a detector first")
    raw = json.loads((path / "detector.json").read_text())
    config = DetectorConfig(**{**raw, "input_dims": tuple(raw["input_dims"]), "modalities": tuple(raw["modalities"])})
    model = ContrastiveDetector(config)
    model.load_state_dict(load_file(str(path / "detector.safetensors")))
    return model.eval()


__all__ = ["ContrastiveDetector", "DetectorConfig", "detector_loss", "load_detector", "minibatches", "nt_xent",
           "save_detector",
           "score", "supervised_contrastive", "train_detector"]
