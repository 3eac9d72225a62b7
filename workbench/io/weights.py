"""A module's weights beside its config: ``NAME.safetensors`` + ``NAME.json`` in a folder, written atomically.

The one persistence primitive for trained modules (heads, encoders, routers, steering vectors, audio-text models):
callers keep their own file names and configs and never hand-write safetensors + JSON pairs.
"""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from workbench.io.files import ArtifactError, json_safe, write_text


def save_weights(folder: str | Path, name: str, tensors: dict, config: dict) -> Path:
    """Write a module's weights as ``folder/NAME.safetensors`` and its config as ``folder/NAME.json``.

    ``tensors`` is a state dict (torch tensors or numpy arrays, not mixed). Each file is written under a
    temporary name and renamed into place, so a failed save never leaves a half-written file. The JSON is the
    one place the config lives: ``load_weights`` returns it unchanged.
    """
    import numpy as np

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    is_numpy = all(isinstance(v, np.ndarray) for v in tensors.values()) and bool(tensors)
    tmp = folder / f".{name}.safetensors.tmp-{uuid.uuid4().hex[:8]}"
    try:
        if is_numpy:
            from safetensors.numpy import save_file as save_numpy

            save_numpy({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(tmp),
                       metadata={"format": "numpy"})
        else:
            from safetensors.torch import save_file

            save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp),
                      metadata={"format": "pt"})
        os.replace(tmp, folder / f"{name}.safetensors")
    finally:
        if tmp.exists():
            tmp.unlink()
    write_text(json.dumps(json_safe(config), indent=2, sort_keys=True) + "\n", folder / f"{name}.json")
    return folder


def load_weights(folder: str | Path, name: str, *, numpy: bool = False) -> tuple[dict, dict]:
    """Read what ``save_weights`` wrote: ``(state dict, config)``. A missing or unreadable file raises one
    ``ArtifactError`` line naming it; ``numpy=True`` returns numpy arrays instead of torch tensors."""
    from safetensors import SafetensorError

    folder = Path(folder)
    weights, config_path = folder / f"{name}.safetensors", folder / f"{name}.json"
    for path in (weights, config_path):
        if not path.is_file():
            raise ArtifactError(f"{path}: missing; the folder holds no saved '{name}' (train or build it first)")
    try:
        config = json.loads(config_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{config_path}: not valid JSON ({exc})") from None
    try:
        if numpy:
            from safetensors.numpy import load_file as load_numpy

            tensors = load_numpy(str(weights))
        else:
            from safetensors.torch import load_file

            tensors = load_file(str(weights))
    except (SafetensorError, OSError) as exc:
        raise ArtifactError(f"{weights}: cannot be read ({exc})") from None
    return tensors, config
