"""The contrastive stage of ConLLM (P6): a projection head per modality, aligned where the positives are real,
then a classifier.

Used by deepfake.model (training and scoring the detector), the deepfake CLI and the P6 notebook. The losses
(``nt_xent``, ``supervised_contrastive``) live in ``workbench.media.contrastive``.

* ``ContrastiveDetector`` — a projection head per modality (2-layer MLP to a shared unit sphere) and a classifier
  head on the concatenated projections (one modality works too); ``train_detector`` optimises
  classification + λ_xm · NT-Xent (when two modalities are given) + λ_sup · SupCon.
  In training, the cross-modal pairs are the *bona fide* clips of the batch by default [ours]: the audio and the
  video of a genuine clip belong together, while those of a forgery (dubbed, re-voiced, lip-synced from
  elsewhere) may not, and pulling them together would teach the detector to overlook exactly that mismatch
  (``xm_positives="all"`` uses every clip).
* ``save_detector`` / ``load_detector`` — ``detector.safetensors`` with its config as ``detector.json``
  (``io.save_weights``).

The paper's authors draw random "positives"; ours are the real pairings above [ours, per SPECS.md]. Scores are
oriented like the ASVspoof metrics: a higher score = more bona fide (``score = logit of P(bona fide)``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from workbench import WorkbenchError
from workbench.media.contrastive import minibatches, nt_xent, supervised_contrastive


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
    from workbench.io import save_weights

    save_weights(path, "detector", model.state_dict(), asdict(model.config))


def load_detector(path) -> ContrastiveDetector:
    from pathlib import Path

    from workbench.io import load_weights

    if not (Path(path) / "detector.json").is_file():
        raise WorkbenchError(f"{path}: no detector.json; train a detector first")
    state, raw = load_weights(path, "detector")
    config = DetectorConfig(**{**raw, "input_dims": tuple(raw["input_dims"]), "modalities": tuple(raw["modalities"])})
    model = ContrastiveDetector(config)
    model.load_state_dict(state)
    return model.eval()


__all__ = ["ContrastiveDetector", "DetectorConfig", "detector_loss", "load_detector", "save_detector", "score",
           "train_detector"]
