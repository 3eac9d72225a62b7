"""The trained mixture at work: route a prompt, mix the axis experts, generate.

``MixtureOfExperts.load(folder)`` puts the three LoRA adapters of a ``workbench experts train`` folder on one
fresh copy of the backbone (``train.fresh_backbone``: on the chosen device, float32 on a CPU and the device's half
dtype on CUDA, adapters in float32), with the router and its fitted calibrators (on the CPU: they read pooled
states). Generation modes:

* ``"routed"`` — the router reads the prompt's hidden state (adapters off), its calibrated distribution is cut to
  the top-k and scaled by γ (``RouterConfig``), and every LoRA layer adds Σ_e w_e · B_e A_e x with *per-prompt*
  weights: all experts of a batch run in the same forward pass (forward hooks scale each expert's B output by its
  weight for that row), so a batch of prompts routed to different experts costs one backbone pass per token.
  Routing is per sequence (decided on the prompt); token-level routers are trained and evaluated on states but
  not used while generating [ours].
* ``"merged"`` — AlignX's task-vector merge: one adapter with ΔW = Σ_e γ_e ΔW_e (PEFT ``add_weighted_adapter``,
  ``combination_type="cat"``, which is exact), γ = 1/N each unless given. Static: the same for every prompt.
* ``"base"`` — the backbone alone; ``"<axis>"`` — one expert alone.

``generate`` goes through ``workbench.llm.generate`` so prompts get the same chat template everywhere.
"""
from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from workbench import WorkbenchError
from workbench.experts.geometry import RouterCalibration, fisher_sensitivity
from workbench.experts.router import Router, RouterConfig, mix_weights

MERGED = "merged"


@dataclass
class MixtureOfExperts:
    model: object                 # peft.PeftModel with one adapter per axis
    tokenizer: object
    router: Router
    calibration: RouterCalibration
    axes: tuple[str, ...]
    backbone: str
    device: str = "cpu"
    _weights: torch.Tensor | None = field(default=None, repr=False)

    @classmethod
    def load(cls, folder: str | Path, *, device: str | None = None) -> "MixtureOfExperts":
        from peft import PeftModel

        from workbench.experts.train import fresh_backbone, quiet_peft
        from workbench.io import load_weights
        from workbench.profiles import pick_device

        folder = Path(folder)
        for name in ("experts.json", "router.json", "router.safetensors"):
            if not (folder / name).is_file():
                raise WorkbenchError(f"{folder}: no {name}; train with `workbench experts train --out DIR`")
        try:
            experts = json.loads((folder / "experts.json").read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise WorkbenchError(f"{folder / 'experts.json'}: not valid JSON ({exc})") from None
        router_state, routing = load_weights(folder, "router")
        axes = tuple(routing["axes"])
        missing = [a for a in axes if not (folder / a / "adapter_model.safetensors").is_file()]
        if missing:
            raise WorkbenchError(f"{folder}: adapter(s) missing for {', '.join(missing)}")
        device = device or pick_device()
        model, tokenizer = fresh_backbone(experts["backbone"], device)   # on the device, in its dtype
        with quiet_peft():                         # adapters land on their base layers' device, in float32
            peft_model = PeftModel.from_pretrained(model, folder / axes[0], adapter_name=axes[0])
            for axis in axes[1:]:
                peft_model.load_adapter(folder / axis, adapter_name=axis)
        peft_model.eval()
        config = dict(routing["config"])
        if config.get("gamma") is not None:
            config["gamma"] = tuple(config["gamma"])
        router = Router(RouterConfig(**config))
        router.load_state_dict(router_state)
        mixture = cls(peft_model, tokenizer, router.eval(), RouterCalibration.from_dict(routing["calibration"]),
                      axes, experts["backbone"], device)
        mixture._install_hooks()
        return mixture

    # -- per-row expert weights inside the LoRA layers -------------------------------------------------------
    def _install_hooks(self) -> None:
        from peft.tuners.lora import LoraLayer

        def hook_for(k):
            def hook(module, args, output):
                if self._weights is None:
                    return output
                w = self._weights[:, k].to(output.dtype)
                return output * w.view(-1, *([1] * (output.dim() - 1)))
            return hook

        count = 0
        for module in self.model.modules():
            if isinstance(module, LoraLayer):
                for k, axis in enumerate(self.axes):
                    module.lora_B[axis].register_forward_hook(hook_for(k))
                    count += 1
        if not count:
            raise WorkbenchError("no LoRA layers found on the backbone")

    @contextlib.contextmanager
    def mixed(self, weights: torch.Tensor):
        """All experts active, expert e of row b scaled by ``weights[b, e]`` (inside the block only)."""
        weights = torch.as_tensor(weights, dtype=torch.float32, device=self.device)
        if weights.dim() != 2 or weights.shape[1] != len(self.axes):
            raise WorkbenchError(f"need weights [batch, {len(self.axes)}]; got {tuple(weights.shape)}")
        self.model.base_model.set_adapter(list(self.axes))
        self._weights = weights
        try:
            yield self
        finally:
            self._weights = None

    # -- routing ---------------------------------------------------------------------------------------------
    @torch.inference_mode()
    def route(self, prompts: list[str], *, calibrator: str = "temperature", batch_size: int = 16) -> dict:
        """The router's view of each prompt: calibrated probabilities [N, K], the chosen expert weights [N, K]
        (top-k, γ), the raw logits, the two geometric features and the pooled hidden states [N, H]."""
        from workbench.experts.mixture import hidden_features

        if not prompts:
            raise WorkbenchError("no prompts to route")
        with self.model.disable_adapter():
            pooled, fractal = hidden_features(self.model, self.tokenizer, list(prompts), batch_size=batch_size,
                                              calibration=self.calibration.config)
        pooled = pooled.cpu()
        logits = self.router.logits(pooled).float().numpy()
        natural = fisher_sensitivity(self.router, pooled)
        probs = self.calibration.probs(logits, fractal=fractal, natural=natural)
        if calibrator not in probs:
            raise WorkbenchError(f"unknown or disabled calibrator '{calibrator}'; this mixture has "
                                 f"{', '.join(probs)}")
        p = probs[calibrator]
        weights = mix_weights(torch.from_numpy(p), self.router.config.top_k, self.router.config.gamma).numpy()
        return {"probs": p, "weights": weights, "logits": logits, "fractal": fractal, "natural": natural,
                "features": pooled,
                "chosen": [self.axes[i] for i in p.argmax(1)]}

    # -- generation ------------------------------------------------------------------------------------------
    def lm(self):
        """A ``CausalLM`` handle on the mixture (for ``workbench.llm.generate`` and the judges)."""
        from workbench.models import get_spec
        from workbench.models.loaders import CausalLM

        return CausalLM(get_spec(self.backbone), self.model, self.tokenizer, self.device)

    def merge(self, gamma=None) -> str:
        """AlignX's task-vector merge (see the module doc); returns the merged adapter's name."""
        gamma = list(gamma) if gamma is not None else [1.0 / len(self.axes)] * len(self.axes)
        if len(gamma) != len(self.axes):
            raise WorkbenchError(f"need one merge weight per expert ({len(self.axes)})")
        if MERGED in self.model.peft_config:
            self.model.delete_adapter(MERGED)
        self.model.add_weighted_adapter(list(self.axes), gamma, MERGED, combination_type="cat")
        self.model.to(self.device).eval()         # the new adapter's dropout modules start in training mode
        return MERGED

    def generate(self, prompts: list[str], *, mode: str = "routed", calibrator: str = "temperature",
                 max_new_tokens: int = 64, gamma=None, batch_size: int = 8) -> list[str]:
        from workbench.llm.generate import generate

        modes = ("routed", MERGED, "base", *self.axes)
        if mode not in modes:
            raise WorkbenchError(f"unknown mode '{mode}'; choose from {', '.join(modes)}")
        lm, out = self.lm(), []
        weights = self.route(prompts, calibrator=calibrator)["weights"] if mode == "routed" else None
        if mode == MERGED:
            self.merge(gamma)
        for start in range(0, len(prompts), batch_size):
            chunk = list(prompts[start:start + batch_size])
            if mode == "routed":
                with self.mixed(torch.from_numpy(weights[start:start + batch_size])):
                    out += generate(lm, chunk, max_new_tokens=max_new_tokens)
            elif mode == "base":
                with self.model.disable_adapter():
                    out += generate(lm, chunk, max_new_tokens=max_new_tokens)
            else:
                self.model.set_adapter(mode)
                out += generate(lm, chunk, max_new_tokens=max_new_tokens)
        return out


def one_hot(index, k: int) -> np.ndarray:
    return np.eye(k, dtype=np.float32)[np.asarray(index)]


__all__ = ["MERGED", "MixtureOfExperts", "one_hot"]
