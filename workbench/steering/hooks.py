"""Applying steering vectors to any Hugging Face decoder through context-managed forward hooks.

``decoder_layers(model)`` finds the stack of decoder blocks of Llama, Mistral, Gemma / Gemma 2, Qwen 2 / 3 (also
MoE), GPT-2, GPT-NeoX and friends — directly, or inside a PEFT wrapper — as the ``nn.ModuleList`` holding
``num_hidden_layers`` blocks. A layer is named by its index (negative counts from the end) or by its module name
(``"model.layers.12"``).

``steer(model, {layer: vector}, multiplier=…)`` adds ``multiplier · vector`` to the output of each chosen block
(the residual stream after that block — what CAA reads and writes) while the ``with`` block runs; the hooks are
removed on exit, also when an exception escapes. Positions: ``"all"`` (every position of every forward pass,
including the tokens generated with a KV cache), ``"prompt"`` (only the first, multi-token pass), ``"generated"``
(only the one-token decoding steps) or a list of prompt positions (indices into the first pass; negative from
the end). A ``norm_bound`` ρ caps the added vector at ρ·‖h‖ per token (the divergence bound AMBS uses).
"""
from __future__ import annotations

import contextlib
import torch
from torch import nn

from workbench import WorkbenchError

POSITIONS = ("all", "prompt", "generated")
# why steering refuses engines other than hf (workbench.engines.require_hf): vLLM runs its own model copy
HF_ONLY = "it needs forward hooks inside the Hugging Face model"


def _unwrap(model):
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


def decoder_layers(model) -> nn.ModuleList:
    """The model's decoder blocks, in order."""
    model = _unwrap(model)
    config = getattr(model, "config", None)
    n = None
    for key in ("num_hidden_layers", "n_layer", "num_layers"):
        n = n or getattr(getattr(config, "text_config", config), key, None)
    candidates = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.ModuleList) and len(m) > 0]
    if n is not None:
        candidates = [(name, m) for name, m in candidates if len(m) == n]
    candidates = [(name, m) for name, m in candidates if not any(k in name.split(".")[-1]
                                                                 for k in ("experts", "lora", "adapter"))]
    if not candidates:
        raise WorkbenchError(f"cannot find the decoder layers of {type(model).__name__}")
    return min(candidates, key=lambda c: c[0].count("."))[1]


def layer_names(model) -> list[str]:
    layers = decoder_layers(model)
    names = {id(m): name for name, m in _unwrap(model).named_modules()}
    return [names[id(m)] for m in layers]


def resolve_layer(model, layer: int | str) -> int:
    """A layer index (negative from the end) or module name → its index in ``decoder_layers``."""
    layers = decoder_layers(model)
    if isinstance(layer, str) and not layer.lstrip("-").isdigit():
        names = layer_names(model)
        if layer not in names:
            raise WorkbenchError(f"no decoder layer named '{layer}'; they are {names[0]} … {names[-1]}")
        return names.index(layer)
    index = int(layer)
    if not -len(layers) <= index < len(layers):
        raise WorkbenchError(f"layer {index} is out of range for a model with {len(layers)} layers")
    return index % len(layers)


def hidden_of(output):
    """The hidden-state tensor of a block's output (a tensor, or a tuple whose first item it is)."""
    return output[0] if isinstance(output, tuple) else output


def with_hidden(output, hidden):
    return (hidden, *output[1:]) if isinstance(output, tuple) else hidden


def bounded(delta: torch.Tensor, hidden: torch.Tensor, norm_bound: float | None) -> torch.Tensor:
    """``delta`` scaled down per token so that ‖delta‖ ≤ norm_bound · ‖hidden‖ (unchanged when within)."""
    if norm_bound is None:
        return delta
    limit = norm_bound * hidden.norm(dim=-1, keepdim=True)
    size = delta.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return delta * torch.clamp(limit / size, max=1.0)


def _position_mask(positions, hidden: torch.Tensor, first_pass: bool) -> torch.Tensor | None:
    """[T, 1] mask of the positions to steer in this pass, or None for every position."""
    if positions == "all":
        return None
    t = hidden.shape[1]
    mask = torch.zeros(t, 1, dtype=hidden.dtype, device=hidden.device)
    if positions == "prompt":
        return mask + (1.0 if first_pass else 0.0)
    if positions == "generated":
        return mask + (0.0 if first_pass else 1.0)
    if first_pass:
        for p in positions:
            if -t <= p < t:
                mask[p] = 1.0
    return mask


@contextlib.contextmanager
def steer(model, vectors: dict, *, multiplier: float = 1.0, positions="all", norm_bound: float | None = None):
    """Add ``multiplier · vectors[layer]`` to those layers' outputs inside the ``with`` block (see the module doc).

    ``vectors``: layer (index or name) → tensor [H] (the same for every row) or [B, H] (one per row of the batch).
    """
    from workbench.engines import require_hf

    require_hf("steering", HF_ONLY)
    if isinstance(positions, str) and positions not in POSITIONS:
        raise WorkbenchError(f"positions must be one of {', '.join(POSITIONS)} or a list of indices")
    if not vectors:
        raise WorkbenchError("no steering vectors given")
    layers = decoder_layers(model)
    check_width(model, vectors)
    state = {"first": True}
    handles = []

    def make_hook(vector: torch.Tensor):
        def hook(module, args, output):
            hidden = hidden_of(output)
            v = vector.to(device=hidden.device, dtype=hidden.dtype)
            delta = (multiplier * v).view(-1, 1, v.shape[-1]) if v.dim() == 2 else multiplier * v
            delta = bounded(delta.expand_as(hidden), hidden, norm_bound)
            mask = _position_mask(positions, hidden, state["first"] and hidden.shape[1] > 1)
            if mask is not None:
                delta = delta * mask
            return with_hidden(output, hidden + delta)
        return hook

    def mark_pass(module, args, output):
        state["first"] = False

    try:
        width = None
        for layer, vector in vectors.items():
            vector = torch.as_tensor(vector)
            width = width or vector.shape[-1]
            if vector.dim() not in (1, 2) or vector.shape[-1] != width:
                raise WorkbenchError("steering vectors must be [H] or [B, H], all of the same width")
            handles.append(layers[resolve_layer(model, layer)].register_forward_hook(make_hook(vector)))
        handles.append(layers[-1].register_forward_hook(mark_pass))     # after every block has seen the pass
        yield model
    finally:
        for handle in handles:
            handle.remove()


def check_width(model, vectors: dict) -> None:
    hidden = getattr(getattr(_unwrap(model), "config", None), "hidden_size", None)
    for layer, vector in vectors.items():
        if hidden is not None and torch.as_tensor(vector).shape[-1] != hidden:
            raise WorkbenchError(f"the vector for layer {layer} has width {torch.as_tensor(vector).shape[-1]}, the "
                                 f"model's hidden size is {hidden}")


__all__ = ["POSITIONS", "bounded", "check_width", "decoder_layers", "hidden_of", "layer_names", "resolve_layer",
           "steer", "with_hidden"]

