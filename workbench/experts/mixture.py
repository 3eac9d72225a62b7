"""The mixture: axis experts on one backbone, a router over the backbone's hidden state, and its calibration.

``build_mixture`` trains the three LoRA experts (``workbench.experts.train``), reads the frozen backbone's
mean-pooled last hidden state for every prompt, trains the router on which-axis labels (train split), and
calibrates it on half of the held-out split — temperature scaling and the two geometric calibrators of
``workbench.experts.geometry`` (fractal, natural, and their λ-mixture), each switchable — and measures routing
accuracy, ECE (equal-width and equal-mass) and Brier on the other half before and after each. Everything lands in
one folder: the adapters, ``router.safetensors`` + ``router.json`` (config and fitted calibrators),
``routing/`` (the held-out rows' logits and geometric features, so views can recompute any curve) and
``report.json``.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch

from workbench import WorkbenchError
from workbench.experts.geometry import (CalibrationConfig, RouterCalibration, fisher_sensitivity, fit_calibration,
                                        trajectory_dimensions)
from workbench.experts.router import AXES, RouterConfig, route_logits, train_router
from workbench.experts.train import ExpertConfig, fresh_backbone, train_experts


@torch.inference_mode()
def hidden_features(model, tokenizer, prompts: list[str], *, batch_size: int = 16,
                    calibration: CalibrationConfig | None = None,
                    progress: Callable[[int, int], None] | None = None) -> tuple[torch.Tensor, np.ndarray]:
    """Mean-pooled last hidden state of each prompt [N, H] (chat template applied when the tokenizer has one)
    and the fractal feature of its token trajectory [N] (``workbench.experts.geometry``), from one pass."""
    calibration = calibration or CalibrationConfig()
    device = next(model.parameters()).device
    tokenizer.padding_side = "right"
    pooled, dims = [], []
    for start in range(0, len(prompts), batch_size):
        enc = encode_prompts(tokenizer, prompts[start:start + batch_size], device=device)
        hidden = model(**enc, output_hidden_states=True).hidden_states[-1].float()
        m = enc["attention_mask"].unsqueeze(-1).float()
        pooled.append(((hidden * m).sum(1) / m.sum(1)).cpu())
        dims += trajectory_dimensions(hidden, enc["attention_mask"], calibration)
        if progress:
            progress(min(start + batch_size, len(prompts)), len(prompts))
    return torch.cat(pooled), np.array(dims)


def encode_prompts(tokenizer, prompts: list[str], *, device=None):
    """The prompts as the router sees them: user turns of the chat template (when there is one), padded."""
    template = getattr(tokenizer, "chat_template", None)
    texts = [tokenizer.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True,
                                           tokenize=False) if template else p for p in prompts]
    enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=not template)
    return enc.to(device) if device is not None else enc


def calibration_report(probs: dict[str, np.ndarray], labels: np.ndarray) -> dict:
    """Per calibrator: accuracy, ECE (10 equal-width / equal-mass bins) and Brier of its routing distribution."""
    from workbench.metrics.calibration import brier, ece

    report = {"n": int(len(labels))}
    for name, p in probs.items():
        report[name] = {"accuracy": float((p.argmax(1) == labels).mean()), "ece": ece(p, labels, n_bins=10),
                        "ece_mass": ece(p, labels, n_bins=10, strategy="mass"), "brier": brier(p, labels)}
    report["accuracy"] = report["uncalibrated"]["accuracy"]
    return report


def build_mixture(backbone: str, data, out: str | Path, *, experts: ExpertConfig | None = None,
                  router: RouterConfig | dict | None = None, calibration: CalibrationConfig | None = None,
                  router_epochs: int = 200, seed: int = 0, profile: str | None = None,
                  progress: Callable[[float, str], None] | None = None, device: str | None = None,
                  work: str | Path | None = None, resume: bool = False) -> dict:
    """Train experts and router, calibrate, evaluate; write everything to ``out``; return the report.

    ``experts``: default ``ExpertConfig.for_profile`` of ``profile`` (the active one). ``router``: a
    ``RouterConfig``, or a dict of its options (the hidden size and expert count are filled in; default: a linear
    router). The experts train and the hidden states are read on ``pick_device(device)`` (``train_experts``,
    ``fresh_backbone``); ``work`` and ``resume`` are ``train_experts``' checkpoint folder and resume switch."""
    from workbench.io import save_frame, save_weights, write_json
    from workbench.profiles import active_profile

    experts = experts or ExpertConfig.for_profile(profile or active_profile().name, seed=seed)
    calibration = calibration or CalibrationConfig()
    out = Path(out)
    step = progress or (lambda f, m: None)
    losses = train_experts(backbone, data, experts, out, progress=lambda f, m: step(0.6 * f, m), device=device,
                           work=work, resume=resume)
    model, tokenizer = fresh_backbone(backbone, device)
    model.eval()
    axis_index = {a: i for i, a in enumerate(experts.axes)}
    labels = data["axis"].map(axis_index)
    if labels.isna().any():
        raise WorkbenchError(f"rows with an axis outside {', '.join(experts.axes)}")
    step(0.65, "hidden states")
    features, fractal = hidden_features(model, tokenizer, data["prompt"].tolist(), calibration=calibration,
                                        progress=lambda d, n: step(0.65 + 0.2 * d / n, f"hidden states {d}/{n}"))
    y = np.array(labels.to_numpy(int))
    is_train = (data["split"] == "train").to_numpy()
    held = np.flatnonzero(~is_train)
    if len(held) < 4:
        raise WorkbenchError("need at least 4 eval rows to calibrate and test the router")
    rng = np.random.default_rng(seed)
    held = rng.permutation(held)
    cal, test = held[: len(held) // 2], held[len(held) // 2:]
    if not isinstance(router, RouterConfig):         # None or a dict of options over the defaults
        router = RouterConfig(**{"hidden_size": features.shape[1], "n_experts": len(experts.axes), "inner": 0,
                                 **(router or {})})
    config = router
    step(0.86, "training the router")
    trained = train_router(features[torch.from_numpy(is_train.copy())], y[is_train], config, epochs=router_epochs,
                           seed=seed)
    logits = route_logits(trained, features)
    natural = fisher_sensitivity(trained, features)
    step(0.95, "calibrating")
    fitted = fit_calibration(logits[cal], y[cal], fractal=fractal[cal], natural=natural[cal], config=calibration)
    probs = fitted.probs(logits[test], fractal=fractal[test], natural=natural[test])
    report = {"backbone": backbone, "axes": list(experts.axes), "expert_losses": {a: [l[0], l[-1]]
                                                                                   for a, l in losses.items()},
              "router": asdict(config), "router_train_accuracy": float((logits[is_train].argmax(1)
                                                                       == y[is_train]).mean()),
              "calibration_rows": int(len(cal)), "calibration": fitted.to_dict(),
              "temperature": float(np.exp(fitted.temperature.a)),
              "test": calibration_report(probs, y[test]),
              "confusion": _confusion(logits[test].argmax(1), y[test], len(experts.axes))}
    save_weights(out, "router", trained.state_dict(), {"config": asdict(config), "temperature": report["temperature"],
                                                       "calibration": fitted.to_dict(), "axes": list(experts.axes)})
    rows = np.concatenate([cal, test])
    routing = pd.DataFrame({"id": data["id"].to_numpy()[rows] if "id" in data.columns else rows,
                            "prompt": data["prompt"].to_numpy()[rows], "axis": data["axis"].to_numpy()[rows],
                            "label": y[rows], "split": ["calibration"] * len(cal) + ["test"] * len(test),
                            "fractal": fractal[rows], "natural": natural[rows]})
    for k, axis in enumerate(experts.axes):
        routing[f"logit_{axis}"] = logits[rows, k]
    save_frame(routing, out / "routing", profile=profile or active_profile().name, models=[backbone], seed=seed,
               config={"router": asdict(config), "calibration": asdict(calibration)})
    save_frame(data.loc[is_train, ["prompt", "axis", "split"]].reset_index(drop=True), out / "train_rows",
               profile=profile or active_profile().name, models=[backbone], seed=seed,
               config={"rows": "the router's train split (the token router trains on it: experts.token_router)"})
    write_json(report, out / "report.json")
    step(1.0, "done")
    return report


def router_ablation(features: torch.Tensor, labels, is_train, test, variants: dict[str, RouterConfig], *,
                    epochs: int = 200, seed: int = 0):
    """Train one router per variant on the same features and compare them on the ``test`` rows: accuracy, ECE,
    Brier, the mean routing entropy (nats) and the load balance — KL(mean routing ‖ uniform), 0 = even load.
    Used to measure what TrinityX's entropy and KL regularisers, the temperature or the router width do."""
    from workbench.metrics.calibration import brier, ece

    y = np.asarray(labels)
    train_mask = torch.from_numpy(np.asarray(is_train, bool).copy())
    rows = []
    for name, config in variants.items():
        router = train_router(features[train_mask], y[train_mask.numpy()], config, epochs=epochs, seed=seed)
        with torch.inference_mode():
            p = torch.softmax(router.logits(features[test]) / config.temperature, -1).double().numpy()
        p = p / p.sum(1, keepdims=True)
        load = p.mean(0)
        rows.append({"variant": name, "accuracy": float((p.argmax(1) == y[test]).mean()),
                     "ece": ece(p, y[test], n_bins=10), "brier": brier(p, y[test]),
                     "entropy": float(-(p * np.log(np.clip(p, 1e-12, None))).sum(1).mean()),
                     "load_kl": float((load * np.log(np.clip(load * len(load), 1e-12, None))).sum())})
    return pd.DataFrame(rows)


def routing_probs(routing, calibration: dict, axes) -> dict[str, np.ndarray]:
    """Each calibrator's routing distribution for the rows of a saved ``routing`` frame (its ``logit_<axis>``,
    ``fractal`` and ``natural`` columns) under the fitted ``calibration`` (``RouterCalibration.to_dict()``)."""
    missing = [c for c in [f"logit_{a}" for a in axes] + ["fractal", "natural"] if c not in routing.columns]
    if missing:
        raise WorkbenchError(f"routing table has no column(s) {', '.join(missing)}")
    logits = routing[[f"logit_{a}" for a in axes]].to_numpy(float)
    return RouterCalibration.from_dict(calibration).probs(logits, fractal=routing["fractal"].to_numpy(float),
                                                          natural=routing["natural"].to_numpy(float))


def calibrator_mix_sweep(probs: dict[str, np.ndarray], labels, lambdas=np.linspace(0, 1, 11)):
    """ECE (10 bins) and Brier of p = λ1·p_fractal + (1 − λ1)·p_natural for each λ1 in ``lambdas`` (AlignX fixes
    λ1 = 0.6): a frame with columns lambda1, ece, brier. ``probs`` is ``routing_probs``'s output."""
    import pandas as pd

    from workbench.metrics.calibration import brier, ece

    labels = np.asarray(labels)
    rows = []
    for l1 in lambdas:
        p = l1 * probs["fractal"] + (1 - l1) * probs["natural"]
        rows.append({"lambda1": l1, "ece": ece(p, labels, n_bins=10), "brier": brier(p, labels)})
    return pd.DataFrame(rows)


def _confusion(pred: np.ndarray, true: np.ndarray, k: int) -> list[list[int]]:
    """rows: true axis, columns: chosen expert."""
    m = np.zeros((k, k), int)
    np.add.at(m, (true, pred), 1)
    return m.tolist()


__all__ = ["AXES", "build_mixture", "calibration_report", "calibrator_mix_sweep", "encode_prompts", "hidden_features",
           "router_ablation", "routing_probs"]
