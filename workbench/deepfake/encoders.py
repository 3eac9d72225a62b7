"""Per-modality embeddings for the deepfake detector (P6).

* ``HFAudioEncoder`` — a pretrained speech model through transformers (the ``paper`` profile's
  wav2vec2-XLS-R-1B, 16 kHz input), the last hidden state mean-pooled over time [code: ConLLM's choice]. The same
  class runs tiny random-weight wav2vec2 models built from the config in tests.
* ``LogMelCNN`` — the default profile's encoder [ours]: a small CNN over the 64-band log-mel spectrogram, global
  average pooling, trained locally on the workbench's synthetic corpus with a classification head and the
  supervised contrastive loss (``train_logmel_cnn``). Weights are saved as safetensors with their config.
* ``embed_files(encoder, paths, cache=…)`` — embeddings for audio files, cached as safetensors keyed by the
  encoder's identity and each file's path, size and modification time.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from workbench import WorkbenchError

SR = 16000


class HFAudioEncoder:
    """Mean-pooled last hidden state of a transformers speech encoder (wav2vec2 / HuBERT / WavLM layouts)."""

    def __init__(self, model, feature_extractor, name: str, device: str = "cpu"):
        self.model, self.extractor, self.name, self.device = model.eval(), feature_extractor, safe_name(name), device

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    @torch.inference_mode()
    def embed(self, audios: list[np.ndarray], *, batch_size: int = 4) -> np.ndarray:
        out = []
        for start in range(0, len(audios), batch_size):
            chunk = [np.asarray(a, np.float32) for a in audios[start:start + batch_size]]
            enc = self.extractor(chunk, sampling_rate=SR, return_tensors="pt", padding=True,
                                 return_attention_mask=True)
            # models with layer-normalised features (XLS-R) take the padding mask; group-norm ones must not
            use_mask = getattr(self.model.config, "feat_extract_norm", "layer") == "layer"
            hidden = self.model(input_values=enc["input_values"].to(self.device),
                                attention_mask=enc["attention_mask"].to(self.device) if use_mask else None
                                ).last_hidden_state.float()
            mask = _frame_mask(self.model, enc["attention_mask"], hidden.shape[1]).to(hidden.device)
            out.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)


def _frame_mask(model, sample_mask: torch.Tensor, frames: int) -> torch.Tensor:
    """[B, frames, 1] mask of the frames that cover real samples (padding frames left out of the mean)."""
    lengths = sample_mask.sum(1)
    get = getattr(model, "_get_feat_extract_output_lengths", None)
    frame_lengths = get(lengths) if callable(get) else torch.full_like(lengths, frames)
    idx = torch.arange(frames).unsqueeze(0)
    return (idx < frame_lengths.unsqueeze(1)).float().unsqueeze(-1)


@dataclass(frozen=True)
class CNNConfig:
    n_mels: int = 64
    channels: tuple[int, ...] = (16, 32, 64)
    dim: int = 128
    epochs: int = 15
    lr: float = 2e-3
    batch_size: int = 16
    max_seconds: float = 4.0
    seed: int = 0

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


class LogMelCNN(nn.Module):
    """Conv blocks over [1, n_mels, frames] → global average pool → a ``dim``-wide embedding."""

    def __init__(self, config: CNNConfig):
        super().__init__()
        self.config = config
        layers, c_in = [], 1
        for c in config.channels:
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.GELU(), nn.MaxPool2d(2)]
            c_in = c
        self.features = nn.Sequential(*layers)
        self.out = nn.Linear(c_in, config.dim)
        self.head = nn.Linear(config.dim, 1)          # used while training the encoder

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(mels.unsqueeze(1)).mean((2, 3)))


def logmels(audios: list[np.ndarray], config: CNNConfig) -> torch.Tensor:
    """Fixed-width log-mel batch [N, n_mels, frames]: clips cut or zero-padded to ``max_seconds``, standardised."""
    import librosa

    n = int(config.max_seconds * SR)
    out = []
    for a in audios:
        a = np.asarray(a, np.float32)[:n]
        a = np.pad(a, (0, n - len(a)))
        mel = librosa.feature.melspectrogram(y=a, sr=SR, n_fft=400, hop_length=160, n_mels=config.n_mels)
        out.append(np.log(mel + 1e-6))
    x = torch.tensor(np.stack(out), dtype=torch.float32)
    return (x - x.mean((1, 2), keepdim=True)) / x.std((1, 2), keepdim=True).clamp(min=1e-6)


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


class CNNAudioEncoder:
    def __init__(self, model: LogMelCNN, name: str = "logmel-cnn"):
        self.model, self.name = model.eval(), f"{name}-{model.config.key()}-{weights_key(model)}"

    @property
    def dim(self) -> int:
        return self.model.config.dim

    @torch.inference_mode()
    def embed(self, audios: list[np.ndarray], *, batch_size: int = 16) -> np.ndarray:
        parts = [self.model(logmels(audios[i:i + batch_size], self.model.config)).numpy()
                 for i in range(0, len(audios), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), np.float32)


def check_labels(n: int, y) -> torch.Tensor:
    """Float labels, one per example, both classes present (1 = bona fide, 0 = spoofed / fake)."""
    y = torch.as_tensor(np.asarray(y), dtype=torch.float32)
    if n != len(y) or set(y.unique().tolist()) != {0.0, 1.0}:
        raise WorkbenchError("need one label per clip and both bona fide (1) and spoofed / fake (0) clips")
    return y


def fit_encoder(model: nn.Module, x: torch.Tensor, y: torch.Tensor, config, *, what: str, progress=None) -> list:
    """The default encoders' training loop: BCE on the model's ``head`` + 0.2 · supervised contrastive on its
    embeddings, AdamW, seeded minibatches; returns the per-epoch mean loss. ``config`` gives epochs, lr,
    batch_size and seed."""
    from workbench.deepfake.contrastive import minibatches, supervised_contrastive

    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(config.seed)
    history = []
    for epoch in range(config.epochs):
        model.train()
        total = 0.0
        for idx in minibatches(len(y), config.batch_size, gen):
            emb = model(x[idx])
            loss = nn.functional.binary_cross_entropy_with_logits(model.head(emb).squeeze(1), y[idx])
            loss = loss + 0.2 * supervised_contrastive(emb, y[idx].long())
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        history.append(total / len(y))
        if progress:
            progress((epoch + 1) / config.epochs, f"{what} epoch {epoch + 1}: loss {history[-1]:.3f}")
    model.eval()
    return history


def train_logmel_cnn(audios: list[np.ndarray], y, config: CNNConfig | None = None, *, progress=None):
    """Train the default encoder: BCE on its head + supervised contrastive on its embeddings (``fit_encoder``)."""
    config = config or CNNConfig()
    y = check_labels(len(audios), y)
    torch.manual_seed(config.seed)
    x = logmels(audios, config)
    model = LogMelCNN(config)
    history = fit_encoder(model, x, y, config, what="audio encoder", progress=progress)
    return CNNAudioEncoder(model), history


def save_cnn(encoder: CNNAudioEncoder, folder) -> Path:
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in encoder.model.state_dict().items()}, str(folder / "encoder.safetensors"))
    (folder / "encoder.json").write_text(json.dumps(asdict(encoder.model.config), indent=2) + "\n")
    return folder


def load_cnn(folder) -> CNNAudioEncoder:
    from safetensors.torch import load_file

    folder = Path(folder)
    if not (folder / "encoder.json").is_file():
        raise WorkbenchError(f"{folder}: no encoder.json; train the audio encoder first")
    raw = json.loads((folder / "encoder.json").read_text())
    model = LogMelCNN(CNNConfig(**{**raw, "channels": tuple(raw["channels"])}))
    model.load_state_dict(load_file(str(folder / "encoder.safetensors")))
    return CNNAudioEncoder(model.eval())


def _file_key(path: Path) -> str:
    stat = path.stat()
    return hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]


def embed_files(encoder, paths: list[str | Path], *, cache: str | Path | None = None, loader=None,
                progress=None) -> np.ndarray:
    """Embeddings [N, D] of media files (audio by default; ``loader`` reads anything else); with ``cache`` (a
    folder), each file's embedding is stored as safetensors under the encoder's name and reused while the file is
    unchanged."""
    from safetensors.numpy import load_file, save_file

    from workbench.deepfake.media import load_audio

    loader = loader or (lambda p: load_audio(p, sr=SR))
    paths = [Path(p) for p in paths]
    folder = Path(cache) / encoder.name if cache else None
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
    out: list[np.ndarray | None] = [None] * len(paths)
    pending = []
    for i, p in enumerate(paths):
        hit = folder / f"{_file_key(p)}.safetensors" if folder else None
        if hit is not None and hit.is_file():
            out[i] = load_file(str(hit))["embedding"]
        else:
            pending.append(i)
    for k in range(0, len(pending), 16):
        batch = pending[k:k + 16]
        embs = encoder.embed([loader(paths[i]) for i in batch])
        for i, e in zip(batch, embs):
            out[i] = e.astype(np.float32)
            if folder:
                tmp = folder / f".{_file_key(paths[i])}.tmp"
                save_file({"embedding": out[i]}, str(tmp))
                tmp.replace(folder / f"{_file_key(paths[i])}.safetensors")
        if progress:
            done = min(k + 16, len(pending))
            progress(done / max(1, len(pending)), f"embedded {done}/{len(pending)}")
    return np.stack(out) if out else np.zeros((0, encoder.dim), np.float32)


__all__ = ["CNNAudioEncoder", "CNNConfig", "HFAudioEncoder", "LogMelCNN", "embed_files", "load_cnn", "logmels",
           "save_cnn", "train_logmel_cnn"]
