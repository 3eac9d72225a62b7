"""The trained mixture at work: route a prompt, mix the axis experts, generate.

``MixtureOfExperts.load(folder)`` puts the three LoRA adapters of a ``workbench experts train`` folder on one
fresh copy of the backbone (``train.fresh_backbone``: on the chosen device, float32 on a CPU and the device's half
dtype on CUDA, adapters in float32), with the router and its fitted calibrators (on the CPU: they read pooled
states). Generation modes:

* ``"routed"`` — soft mixing by the *calibrated* routing distribution: the router reads the prompt's hidden state
  (adapters off), the chosen calibrator (``geometry``: uncalibrated, temperature, fractal, natural, mixed) turns its
  logits into probabilities, the top-k of them are kept and renormalised (k: ``top_k``, default the router's
  configured one; top-1 is k = 1) and scaled by γ (``RouterConfig``). Every LoRA layer then adds
  Σ_e w_e · B_e A_e x — the experts' *adapter outputs* (ΔW_e·x) are mixed, per layer, as X-LoRA does [ours: the
  papers do not say where the weights act]. All experts of a batch run in the same forward pass (forward hooks
  scale each expert's B output by its weight for that row), so a batch of prompts costs one backbone pass per
  token. Because every calibrator is a positive, per-input rescaling of the logits, top-1 routing never changes
  with calibration; with k > 1 the kept weights do, and so can the generated text.
* ``level="token"`` (TrinityX's per-token routing inside the decoder blocks) [ours]: a forward pre-hook on every
  decoder block that carries adapters evaluates that block's *token router* (``token_router``: one linear router
  per adapted block, trained on the token states entering that block, adapters off, of the mixture's train
  prompts, with its own temperature fitted on the calibration rows' tokens) on each token's hidden state entering
  the block ([B, T, H] → probabilities [B, T, K]; calibrator ``temperature`` applies the block's fitted
  temperature, ``uncalibrated`` none), keeps the top-k, scales by γ, and the block's LoRA layers mix with those
  per-token weights — different tokens, and different blocks, get different mixtures. The token router is stored
  beside the mixture (``token_router.safetensors`` + ``.json``) and trained there on first use
  (``ensure_token_router``, from ``token_data`` or the folder's saved train rows); without either, a clear error.
  With token routers whose output does not depend on their input, token mode equals prompt mode exactly (tested).
* ``"merged"`` — AlignX's task-vector merge: one adapter with ΔW = Σ_e γ_e ΔW_e (PEFT ``add_weighted_adapter``,
  ``combination_type="cat"``, which is exact), γ = 1/N each unless given. Static: the same for every prompt.
* ``"base"`` — the backbone alone; ``"<axis>"`` — one expert alone.

The routing features of a prompt (pooled state, fractal and natural features) are computed once and remembered
(``features``), so routing the same prompts under every calibrator costs one backbone pass.
``generate`` goes through ``workbench.llm.generate`` so prompts get the same chat template everywhere.
"""
from __future__ import annotations

import contextlib
import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from workbench import WorkbenchError
from workbench.experts.geometry import RouterCalibration, fisher_sensitivity
from workbench.experts.router import Router, RouterConfig, mix_weights

MERGED = "merged"
LEVELS = ("prompt", "token")
# why the mixtures refuse engines other than hf (workbench.engines.require_hf): vLLM runs its own model copy
HF_ONLY = "it mixes LoRA adapters with forward hooks inside the Hugging Face model"


@dataclass
class MixtureOfExperts:
    model: object                 # peft.PeftModel with one adapter per axis
    tokenizer: object
    router: Router
    calibration: RouterCalibration
    axes: tuple[str, ...]
    backbone: str
    device: str = "cpu"
    top_k: int | None = None      # experts kept per routing decision; None: the router's configured top-k
    _weights: torch.Tensor | None = field(default=None, repr=False)   # [B, K] per row or [B, T, K] per token
    _features: dict = field(default_factory=dict, repr=False)         # prompt → (pooled [H], fractal, natural)
    folder: Path | None = None    # where the mixture (and its token router) is stored
    token_router: object = None   # ``token_router.TokenRouter``: loaded from the folder, or trained on first use
    token_data: object = None     # the mixture's rows (a frame: prompt, axis, split) to train the token router on

    @classmethod
    def load(cls, folder: str | Path, *, device: str | None = None, top_k: int | None = None,
             token_data=None) -> "MixtureOfExperts":
        from peft import PeftModel

        from workbench.engines import require_hf
        from workbench.experts.train import fresh_backbone, quiet_peft
        from workbench.io import load_weights
        from workbench.profiles import pick_device

        require_hf("the expert mixture", HF_ONLY)

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
        mixture.top_k = mixture._check_k(top_k) if top_k is not None else None
        mixture.folder, mixture.token_data = folder, token_data
        mixture._install_hooks()
        return mixture

    # -- per-row expert weights inside the LoRA layers -------------------------------------------------------
    def _install_hooks(self) -> None:
        from peft.tuners.lora import LoraLayer

        def hook_for(k):
            def hook(module, args, output):
                if self._weights is None:
                    return output
                if self._weights.dim() == 3:                       # per token: [B, T, K] → [B, T, 1]
                    return output * self._weights[..., k].unsqueeze(-1).to(output.dtype)
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
    def _check_k(self, top_k: int | None) -> int:
        k = int(top_k if top_k is not None else (self.top_k or self.router.config.top_k))
        if not 1 <= k <= len(self.axes):
            raise WorkbenchError(f"top_k must be between 1 and {len(self.axes)}, not {k}")
        return k

    @torch.inference_mode()
    def features(self, prompts: list[str], *, batch_size: int = 16) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
        """The router's inputs for each prompt — pooled hidden state [N, H] (adapters off), fractal [N] and natural
        [N] features — computed once per distinct prompt and remembered."""
        from workbench.experts.mixture import hidden_features

        new = [p for p in dict.fromkeys(prompts) if p not in self._features]
        if new:
            with self.model.disable_adapter():
                pooled, fractal = hidden_features(self.model, self.tokenizer, new, batch_size=batch_size,
                                                  calibration=self.calibration.config)
            pooled = pooled.cpu()
            natural = fisher_sensitivity(self.router, pooled)
            for i, p in enumerate(new):
                self._features[p] = (pooled[i], float(fractal[i]), float(natural[i]))
        rows = [self._features[p] for p in prompts]
        return (torch.stack([r[0] for r in rows]), np.array([r[1] for r in rows]), np.array([r[2] for r in rows]))

    @torch.inference_mode()
    def route(self, prompts: list[str], *, calibrator: str = "temperature", batch_size: int = 16,
              top_k: int | None = None) -> dict:
        """The router's view of each prompt: calibrated probabilities [N, K], the expert weights [N, K] (top-k
        renormalised, γ), the raw logits, the two geometric features and the pooled hidden states [N, H]."""
        if not prompts:
            raise WorkbenchError("no prompts to route")
        k = self._check_k(top_k)
        pooled, fractal, natural = self.features(list(prompts), batch_size=batch_size)
        logits = self.router.logits(pooled).float().numpy()
        probs = self.calibration.probs(logits, fractal=fractal, natural=natural)
        if calibrator not in probs:
            raise WorkbenchError(f"unknown or disabled calibrator '{calibrator}'; this mixture has "
                                 f"{', '.join(probs)}")
        p = probs[calibrator]
        weights = mix_weights(torch.from_numpy(p), k, self.router.config.gamma).numpy()
        return {"probs": p, "weights": weights, "logits": logits, "fractal": fractal, "natural": natural,
                "features": pooled, "calibrator": calibrator, "top_k": k,
                "chosen": [self.axes[i] for i in p.argmax(1)]}

    def _blocks(self) -> list:
        """The decoder blocks that carry LoRA layers (the first module list whose items hold adapters)."""
        from peft.tuners.lora import LoraLayer

        for module in self.model.modules():
            if isinstance(module, torch.nn.ModuleList):
                blocks = [b for b in module if any(isinstance(m, LoraLayer) for m in b.modules())]
                if blocks:
                    return blocks
        raise WorkbenchError("no decoder blocks with LoRA layers found on the backbone")

    def ensure_token_router(self, *, seed: int = 0):
        """The token router (``token_router.ensure_token_router``): loaded, or trained on ``token_data`` (or the
        folder's saved train rows) and stored beside the mixture on first use."""
        if self.token_router is None:
            from workbench.experts.token_router import ensure_token_router

            self.token_router = ensure_token_router(self, self.token_data, seed=seed)
        return self.token_router

    @contextlib.contextmanager
    def token_routed(self, prompts: list[str], *, calibrator: str = "temperature", top_k: int | None = None):
        """Per-token routing inside the decoder blocks for a batch of ``prompts`` (see the module doc); yields the
        prompts' ``route`` view. Rows of every forward pass inside the block are the prompts, in order."""
        from workbench.experts.token_router import check_calibrator

        check_calibrator(calibrator)
        view = self.route(prompts, calibrator=calibrator, top_k=top_k)
        tokens = copy.deepcopy(self.ensure_token_router()).to(self.device)
        blocks = self._blocks()
        if len(blocks) != len(tokens.routers):
            raise WorkbenchError(f"the token router has {len(tokens.routers)} block routers; the backbone has "
                                 f"{len(blocks)} adapted blocks")
        k, gamma = view["top_k"], self.router.config.gamma

        def hook_for(b):
            def pre_hook(module, args, kwargs):
                hidden = args[0] if args else kwargs["hidden_states"]            # [B, T, H]
                self._weights = mix_weights(tokens.probs(b, hidden, calibrator), k, gamma)
            return pre_hook

        handles = [blk.register_forward_pre_hook(hook_for(b), with_kwargs=True) for b, blk in enumerate(blocks)]
        self.model.base_model.set_adapter(list(self.axes))
        try:
            yield view
        finally:
            for h in handles:
                h.remove()
            self._weights = None

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
                 max_new_tokens: int = 64, gamma=None, batch_size: int = 8, top_k: int | None = None,
                 level: str = "prompt") -> list[str]:
        """Responses to ``prompts`` in ``mode`` (module doc); for ``"routed"``, ``calibrator``, ``top_k`` and
        ``level`` ("prompt": one mixture per prompt; "token": per token inside the blocks) choose the routing."""
        from workbench.llm.generate import generate

        modes = ("routed", MERGED, "base", *self.axes)
        if mode not in modes:
            raise WorkbenchError(f"unknown mode '{mode}'; choose from {', '.join(modes)}")
        if level not in LEVELS:
            raise WorkbenchError(f"unknown routing level '{level}'; choose from {', '.join(LEVELS)}")
        lm, out = self.lm(), []
        per_prompt = mode == "routed" and level == "prompt"
        weights = self.route(prompts, calibrator=calibrator, top_k=top_k)["weights"] if per_prompt else None
        if mode == MERGED:
            self.merge(gamma)
        for start in range(0, len(prompts), batch_size):
            chunk = list(prompts[start:start + batch_size])
            if per_prompt:
                with self.mixed(torch.from_numpy(weights[start:start + batch_size])):
                    out += generate(lm, chunk, max_new_tokens=max_new_tokens)
            elif mode == "routed":
                with self.token_routed(chunk, calibrator=calibrator, top_k=top_k):
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


__all__ = ["LEVELS", "MERGED", "MixtureOfExperts", "one_hot"]
