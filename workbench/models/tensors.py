"""Inputs in a model's dtype and on its device.

On the ``paper`` profile, ``models.loaders.load`` loads the Hugging Face encoders in ``profiles.pick_dtype(device)``
(bfloat16 on CUDA) while their processors return float32 tensors on the CPU; a float32 input to a bfloat16 layer
fails ("Input type (float) and bias type (BFloat16) should be the same") or silently computes in the wrong
precision. ``to_model`` moves a processor's output to the model's device and casts its **floating** tensors to the
model's dtype; integer token ids, attention masks and boolean flags (CLAP's ``is_longer``) keep their dtype.
Callers take the model's outputs back to float32 (``.float()``) before pooling or normalising, so means, norms
and scores are computed in float32.

Used by ``media.audio_encoders.HFAudioEncoder`` (wav2vec2-XLS-R), ``media.video_encoders.HFVideoEncoder``
(VideoMAE), ``captioning.clap.HFClapScorer`` (LAION-CLAP), ``memes.sides.TextSide`` (CLIP's text side) and
``memes.vision.ClipImageSide`` (CLIP's image side).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn


def model_dtype_device(model: nn.Module) -> tuple[torch.dtype, torch.device]:
    """(dtype, device) of the model's first floating-point parameter; (float32, cpu) for a model without one."""
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype, p.device
    return torch.float32, torch.device("cpu")


def to_model(batch: Mapping[str, Any] | torch.Tensor, model: nn.Module) -> dict[str, Any] | torch.Tensor:
    """``batch`` (a tensor, or a dict / ``BatchFeature`` / ``BatchEncoding`` of them) on ``model``'s device, its
    floating tensors cast to the model's dtype; other tensors keep their dtype, non-tensors pass through. A mapping
    comes back as a plain dict (``model(**to_model(enc, model))`` works)."""
    dtype, device = model_dtype_device(model)

    def move(x):
        if not isinstance(x, torch.Tensor):
            return x
        return x.to(device, dtype) if x.is_floating_point() else x.to(device)

    if isinstance(batch, torch.Tensor):
        return move(batch)
    return {k: move(v) for k, v in batch.items()}


__all__ = ["model_dtype_device", "to_model"]
