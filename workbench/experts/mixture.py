"""The mixture: axis experts on one backbone, a router over the backbone's hidden state, and its calibration.

``build_mixture`` trains the three LoRA experts (``workbench.experts.train``), reads the frozen backbone's
mean-pooled last hidden state for every prompt, trains the router on which-axis labels (train split), and
calibrates it by temperature scaling on half of the held-out split, measuring routing accuracy, ECE (equal-width
and equal-mass) and Brier on the other half before and after. Everything lands in one folder: the adapters,
``router.safetensors`` + ``router.json`` and ``report.json``.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from workbench import WorkbenchError
from workbench.experts.router import AXES, RouterConfig, route_logits, train_router
from workbench.experts.train import ExpertConfig, fresh_backbone, train_experts


@torch.inference_mode()
def hidden_features(model, tokenizer, prompts: list[str], *, batch_size: int = 16,
                    progress: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """Mean-pooled last hidden state of each prompt (chat template applied when the tokenizer has one) [N, H]."""
    template = getattr(tokenizer, "chat_template", None)
    texts = [tokenizer.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True,
                                           tokenize=False) if template else p for p in prompts]
    tokenizer.padding_side = "right"
    out = []
    for start in range(0, len(texts), batch_size):
        enc = tokenizer(texts[start:start + batch_size], return_tensors="pt", padding=True,
                        add_special_tokens=not template)
        hidden = model(**enc, output_hidden_states=True).hidden_states[-1].float()
        m = enc["attention_mask"].unsqueeze(-1).float()
        out.append((hidden * m).sum(1) / m.sum(1))
        if progress:
            progress(min(start + batch_size, len(texts)), len(texts))
    return torch.cat(out)


def calibration_report(logits: np.ndarray, labels: np.ndarray, temperature: float) -> dict:
    """Accuracy, ECE (width / mass bins) and Brier of softmax(logits / T), T = 1 and the fitted T."""
    from workbench.metrics.calibration import brier, ece, softmax

    report = {"n": int(len(labels)), "accuracy": float((logits.argmax(1) == labels).mean())}
    for name, t in (("uncalibrated", 1.0), ("temperature", temperature)):
        p = softmax(logits, t)
        report[name] = {"temperature": t, "ece": ece(p, labels, n_bins=10), "ece_mass": ece(p, labels, n_bins=10,
                                                                                          strategy="mass"),
                        "brier": brier(p, labels)}
    return report


def build_mixture(backbone: str, data, out: str | Path, *, experts: ExpertConfig | None = None,
                  router: RouterConfig | None = None, router_epochs: int = 200, seed: int = 0,
                  progress: Callable[[float, str], None] | None = None) -> dict:
    """Train experts and router, calibrate, evaluate; write everything to ``out``; return the report."""
    from safetensors.torch import save_file

    from workbench.io import write_json
    from workbench.metrics.calibration import fit_temperature

    experts = experts or ExpertConfig(seed=seed)
    out = Path(out)
    step = progress or (lambda f, m: None)
    losses = train_experts(backbone, data, experts, out, progress=lambda f, m: step(0.6 * f, m))
    model, tokenizer = fresh_backbone(backbone)
    model.eval()
    axis_index = {a: i for i, a in enumerate(experts.axes)}
    labels = data["axis"].map(axis_index)
    if labels.isna().any():
        raise WorkbenchError(f"rows with an axis outside {', '.join(experts.axes)}")
    step(0.65, "hidden states")
    features = hidden_features(model, tokenizer, data["prompt"].tolist(),
                               progress=lambda d, n: step(0.65 + 0.2 * d / n, f"hidden states {d}/{n}"))
    y = np.array(labels.to_numpy(int))
    is_train = (data["split"] == "train").to_numpy()
    held = np.flatnonzero(~is_train)
    if len(held) < 4:
        raise WorkbenchError("need at least 4 eval rows to calibrate and test the router")
    rng = np.random.default_rng(seed)
    held = rng.permutation(held)
    cal, test = held[: len(held) // 2], held[len(held) // 2:]
    config = router or RouterConfig(hidden_size=features.shape[1], n_experts=len(experts.axes), inner=0)
    step(0.86, "training the router")
    trained = train_router(features[torch.from_numpy(is_train.copy())], y[is_train], config, epochs=router_epochs,
                           seed=seed)
    logits = route_logits(trained, features)
    temperature = fit_temperature(logits[cal], y[cal])
    report = {"backbone": backbone, "axes": list(experts.axes), "expert_losses": {a: [l[0], l[-1]]
                                                                                   for a, l in losses.items()},
              "router": asdict(config), "router_train_accuracy": float((logits[is_train].argmax(1)
                                                                       == y[is_train]).mean()),
              "calibration_rows": int(len(cal)), "test": calibration_report(logits[test], y[test], temperature),
              "confusion": _confusion(logits[test].argmax(1), y[test], len(experts.axes))}
    save_file({k: v.contiguous() for k, v in trained.state_dict().items()}, str(out / "router.safetensors"))
    write_json({"config": asdict(config), "temperature": temperature, "axes": list(experts.axes)},
               out / "router.json")
    write_json(report, out / "report.json")
    step(1.0, "done")
    return report


def _confusion(pred: np.ndarray, true: np.ndarray, k: int) -> list[list[int]]:
    """rows: true axis, columns: chosen expert."""
    m = np.zeros((k, k), int)
    np.add.at(m, (true, pred), 1)
    return m.tolist()


__all__ = ["AXES", "build_mixture", "calibration_report", "hidden_features"]
