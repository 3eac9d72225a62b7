"""Per-file embeddings of media files, cached on disk, and the names that key that cache.

Used by the audio and video encoders (media.audio_encoders, media.video_encoders) and the deepfake detector's
training and evaluation.

* ``embed_files(encoder, paths, cache=…)`` — embeddings ``[N, D]`` of media files; with ``cache`` (a folder), each
  file's embedding is stored under ``cache/<encoder.name>/<key>`` (``io.save_weights``: ``<key>.safetensors`` and
  ``<key>.json`` naming the file) and reused while the file is unchanged; the key hashes the file's resolved
  path, size and modification time.
* ``weights_key(model)`` — a short hash of a model's weights, part of a trained encoder's name, so that cached
  embeddings of one training run are never reused for another run with the same config.
* ``safe_name(name)`` — a model id (``org/model``) or path as one folder name.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from torch import nn

SR = 16000
BATCH = 16


def weights_key(model: nn.Module) -> str:
    """A short hash of a model's weights: part of a trained encoder's name, so that cached embeddings of one
    training run are never reused for another run with the same config."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:8]


def safe_name(name: str) -> str:
    """A model name usable as one folder name (ids like ``org/model`` or paths must not nest or escape)."""
    return str(name).strip().replace("\\", "/").strip("/").replace("/", "--") or "model"


def _file_key(path: Path) -> str:
    stat = path.stat()
    return hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]


def embed_files(encoder, paths: list[str | Path], *, cache: str | Path | None = None, loader=None,
                progress=None) -> np.ndarray:
    """Embeddings [N, D] of media files (audio by default; ``loader`` reads anything else); with ``cache`` (a
    folder), each file's embedding is stored under the encoder's name and reused while the file is unchanged."""
    from workbench.io import load_weights, save_weights
    from workbench.media.audio import load_audio

    loader = loader or (lambda p: load_audio(p, sr=SR))
    paths = [Path(p) for p in paths]
    folder = Path(cache) / encoder.name if cache else None
    out: list[np.ndarray | None] = [None] * len(paths)
    pending = []
    for i, p in enumerate(paths):
        key = _file_key(p)
        if folder is not None and (folder / f"{key}.json").is_file():  # written last by save_weights
            out[i] = load_weights(folder, key, numpy=True)[0]["embedding"]
        else:
            pending.append(i)
    for k in range(0, len(pending), BATCH):
        batch = pending[k:k + BATCH]
        embs = encoder.embed([loader(paths[i]) for i in batch])
        for i, e in zip(batch, embs):
            out[i] = e.astype(np.float32)
            if folder is not None:
                save_weights(folder, _file_key(paths[i]), {"embedding": out[i]},
                             {"file": str(paths[i].resolve()), "encoder": encoder.name})
        if progress:
            done = min(k + BATCH, len(pending))
            progress(done / max(1, len(pending)), f"embedded {done}/{len(pending)}")
    return np.stack(out) if out else np.zeros((0, encoder.dim), np.float32)


__all__ = ["embed_files", "safe_name", "weights_key"]
