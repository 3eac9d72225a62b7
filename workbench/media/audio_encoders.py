"""Audio embeddings: a pretrained speech model's, or a small log-mel CNN trained locally.

Used by the deepfake detector (P6: deepfake.model, deepfake.training), audio captioning's TinyClap audio tower
(captioning.clap, which reuses ``LogMelCNN`` and ``logmels``) and the device check script.

* ``HFAudioEncoder`` — a pretrained speech model through transformers (the ``paper`` profile's
  wav2vec2-XLS-R-1B, 16 kHz input), the last hidden state mean-pooled over time [code: ConLLM's choice]. The same
  class runs tiny random-weight wav2vec2 models built from the config in tests.
* ``LogMelCNN`` — the default profile's encoder [ours]: a small CNN over the 64-band log-mel spectrogram, global
  average pooling, trained locally on the workbench's synthetic corpus with a classification head and the
  supervised contrastive loss (``train_logmel_cnn``, the loop in ``media.contrastive.fit_encoder``). Weights are
  saved as ``encoder.safetensors`` with their config as ``encoder.json`` (``io.save_weights``).
* Embeddings of files, cached per file: ``media.embeddings.embed_files``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from workbench import WorkbenchError
from workbench.io import config_key
from workbench.media.contrastive import check_labels, fit_encoder
from workbench.media.embeddings import safe_name, weights_key
from workbench.models.tensors import to_model

SR = 16000


class HFAudioEncoder:
    """Mean-pooled last hidden state of a transformers speech encoder (wav2vec2 / HuBERT / WavLM layouts).

    The extractor's float32 ``input_values`` are moved to the model's device and cast to its dtype
    (``models.tensors.to_model``: the paper profile loads the model in bfloat16 on CUDA); the attention mask stays
    integer. The hidden states come back as float32 before the masked mean, so the pooling is done in float32."""

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
            enc = to_model(self.extractor(chunk, sampling_rate=SR, return_tensors="pt", padding=True,
                                          return_attention_mask=True), self.model)
            # models with layer-normalised features (XLS-R) take the padding mask; group-norm ones must not
            use_mask = getattr(self.model.config, "feat_extract_norm", "layer") == "layer"
            hidden = self.model(input_values=enc["input_values"],
                                attention_mask=enc["attention_mask"] if use_mask else None).last_hidden_state.float()
            mask = _frame_mask(self.model, enc["attention_mask"], hidden.shape[1]).to(hidden.device)
            out.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)


def _frame_mask(model, sample_mask: torch.Tensor, frames: int) -> torch.Tensor:
    """[B, frames, 1] mask of the frames that cover real samples (padding frames left out of the mean)."""
    lengths = sample_mask.sum(1)
    get = getattr(model, "_get_feat_extract_output_lengths", None)
    frame_lengths = get(lengths) if callable(get) else torch.full_like(lengths, frames)
    idx = torch.arange(frames, device=sample_mask.device).unsqueeze(0)
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
        return config_key(asdict(self))


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
    """Write ``encoder.safetensors`` and ``encoder.json`` (the CNN's config) into ``folder``."""
    from workbench.io import save_weights

    return save_weights(folder, "encoder", encoder.model.state_dict(), asdict(encoder.model.config))


def load_cnn(folder) -> CNNAudioEncoder:
    from workbench.io import load_weights

    folder = Path(folder)
    if not (folder / "encoder.json").is_file():
        raise WorkbenchError(f"{folder}: no encoder.json; train the audio encoder first")
    state, raw = load_weights(folder, "encoder")
    model = LogMelCNN(CNNConfig(**{**raw, "channels": tuple(raw["channels"])}))
    model.load_state_dict(state)
    return CNNAudioEncoder(model.eval())


__all__ = ["CNNAudioEncoder", "CNNConfig", "HFAudioEncoder", "LogMelCNN", "load_cnn", "logmels", "save_cnn",
           "train_logmel_cnn"]
