"""Video embeddings: a pretrained VideoMAE's, or a small frame CNN trained locally; the video side of
``audio_encoders``.

Used by the deepfake detector (P6: deepfake.model, deepfake.training) and the device check script.

A clip is a uint8 ``[T, H, W, 3]`` RGB array, as ``media.video.sample_frames`` returns it; every encoder has ``.name``,
``.dim``, ``.load(path)`` (the file → a clip sampled the way that encoder expects) and ``.embed(clips)`` →
float32 ``[N, dim]``.

* ``HFVideoEncoder`` — the ``paper`` profile's VideoMAE-base (``MCG-NJU/videomae-base``) through transformers:
  ``T = model.config.num_frames`` frames (16) at 224 × 224, sampled uniformly over the clip [code: ConLLM's
  choice]; the image processor rescales and normalises (and resizes / centre-crops to its ``crop_size`` when a clip
  is not already that size); the embedding is the last hidden state mean-pooled over all tokens (tubelets)
  [code: ConLLM's choice, like the audio side]. The same class runs tiny random-weight VideoMAE models built from
  the config in tests. ``load_hf_video_encoder`` reads a model from the local Hugging Face cache or a folder only
  (``local_files_only``, never remote code).
* ``FrameCNN`` — the default profile's encoder [ours]: a small 2D CNN applied to every frame (Conv-BN-GELU-MaxPool
  blocks, global average pool) gives frame features ``f[t]`` ``[B, T, C]``; the clip embedding is a Linear layer
  over ``concat(mean_t f[t], mean_t |f[t+1] − f[t]|)`` — the first half sees per-frame (spatial) artefacts such as
  blending boundaries, the second temporal inconsistency such as flicker or implausible mouth motion. Trained
  locally like the audio CNN (``train_frame_cnn``: BCE on a head + 0.2 · supervised contrastive on the
  embeddings, seeded, so deterministic). Weights are saved as ``video_encoder.safetensors`` with their config as
  ``video_encoder.json`` (``io.save_weights``).
* ``clip_tensor`` — the CNN's input: clips resized to ``size × size`` with OpenCV when they are not already
  (INTER_AREA when shrinking, INTER_LINEAR when enlarging), scaled to [0, 1], then standardised per channel with
  the fixed ImageNet constants ``IMAGENET_MEAN`` / ``IMAGENET_STD`` [ours: fixed constants rather than per-clip
  statistics, so a clip's overall brightness and colour — which a face swap can shift — stay visible to the
  model, and an embedding depends only on its own clip].
* ``embed_videos(encoder, paths, cache=…)`` — ``embeddings.embed_files`` with the encoder's own ``load``: per-file
  embeddings cached as safetensors under the encoder's name. Both names carry the frame sampling (frames, size,
  face crop) so embeddings of differently sampled clips never share a cache folder.
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
from workbench.media.embeddings import embed_files, safe_name, weights_key
from workbench.models.tensors import to_model

PAPER_VIDEO_MODEL = "MCG-NJU/videomae-base"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _check_clips(clips, frames: int | None, what: str) -> list[np.ndarray]:
    """Each clip as an array [T, H, W, 3] (T = ``frames`` when given); anything else is a WorkbenchError."""
    out = []
    for i, c in enumerate(clips):
        c = np.asarray(c)
        if c.ndim != 4 or c.shape[-1] != 3 or min(c.shape) < 1:
            raise WorkbenchError(f"{what}: clip {i} must be an RGB array [T, H, W, 3], got shape {c.shape}")
        if frames is not None and c.shape[0] != frames:
            raise WorkbenchError(f"{what}: clip {i} has {c.shape[0]} frames; this encoder takes exactly {frames} "
                                 f"(sample them with its .load(path) or media.video.sample_frames(path, n={frames}))")
        out.append(c)
    return out


# ----------------------------------------------------------------------------------------------- VideoMAE


class HFVideoEncoder:
    """Mean-pooled last hidden state of a transformers video encoder (VideoMAE layout: ``pixel_values``
    [B, T, 3, H, W]).

    The processor's float32 ``pixel_values`` are moved to the model's device and cast to its dtype
    (``models.tensors.to_model``: the paper profile loads the model in bfloat16 on CUDA); the hidden states come
    back as float32 before the mean over tokens."""

    def __init__(self, model, processor, name: str, device: str = "cpu", *, frames: int = 16, size: int = 224,
                 face_crop: bool = False):
        expected = int(getattr(model.config, "num_frames", frames))
        if frames != expected:
            raise WorkbenchError(f"{name}: the model takes clips of {expected} frames, not frames={frames}")
        self.model, self.processor, self.device = model.eval(), processor, device
        self.frames, self.size, self.face_crop = int(frames), int(size), bool(face_crop)
        self.name = f"{safe_name(name)}-f{self.frames}-s{self.size}-{'face' if self.face_crop else 'full'}"

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def load(self, path) -> np.ndarray:
        from workbench.media.video import sample_frames

        return sample_frames(path, n=self.frames, size=self.size, face_crop=self.face_crop)

    @torch.inference_mode()
    def embed(self, clips, *, batch_size: int = 2) -> np.ndarray:
        clips = _check_clips(clips, self.frames, self.name)
        out = []
        for start in range(0, len(clips), batch_size):
            enc = to_model(self.processor([np.asarray(c, np.uint8) for c in clips[start:start + batch_size]],
                                          return_tensors="pt"), self.model)
            hidden = self.model(pixel_values=enc["pixel_values"]).last_hidden_state
            out.append(hidden.float().mean(1).cpu().numpy())
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, self.dim), np.float32)


def load_hf_video_encoder(model_id_or_path: str | Path = PAPER_VIDEO_MODEL, device: str = "cpu", *,
                          face_crop: bool = False) -> HFVideoEncoder:
    """A VideoMAE encoder from a local folder or the local Hugging Face cache (nothing is downloaded); frames
    and size follow the model's config (16 and 224 for videomae-base)."""
    from transformers import VideoMAEImageProcessor, VideoMAEModel

    source = str(model_id_or_path)
    try:
        model = VideoMAEModel.from_pretrained(source, local_files_only=True)
        processor = VideoMAEImageProcessor.from_pretrained(source, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise WorkbenchError(
            f"video model '{source}' is not available locally ({type(exc).__name__}); fetch it on a machine with "
            f"network access with `huggingface-cli download {PAPER_VIDEO_MODEL}` (or `hf download "
            f"{PAPER_VIDEO_MODEL}`), then copy the Hugging Face cache here or point HF_HOME at it, or pass the "
            f"folder holding config.json, the weights and preprocessor_config.json") from None
    folder = Path(source)
    name = folder.name if folder.is_dir() else source
    model = model.to(device)
    return HFVideoEncoder(model, processor, name, device, frames=int(model.config.num_frames),
                          size=int(model.config.image_size), face_crop=face_crop)


# ------------------------------------------------------------------------------------------ frame CNN [ours]


@dataclass(frozen=True)
class FrameCNNConfig:
    frames: int = 8
    size: int = 64
    channels: tuple[int, ...] = (16, 32, 64)
    dim: int = 128
    epochs: int = 15
    lr: float = 2e-3
    batch_size: int = 16
    face_crop: bool = False
    seed: int = 0

    def key(self) -> str:
        return config_key(asdict(self))


class FrameCNN(nn.Module):
    """Per-frame conv blocks → frame features [B, T, C] → Linear(concat(time mean, mean |temporal step|))."""

    def __init__(self, config: FrameCNNConfig):
        super().__init__()
        self.config = config
        layers, c_in = [], 3
        for c in config.channels:
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.GELU(), nn.MaxPool2d(2)]
            c_in = c
        self.features = nn.Sequential(*layers)
        self.out = nn.Linear(2 * c_in, config.dim)
        self.head = nn.Linear(config.dim, 1)          # used while training the encoder

    def frame_features(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T, 3, S, S] → [B, T, C] (global average pool per frame)."""
        b, t = x.shape[:2]
        return self.features(x.flatten(0, 1)).mean((2, 3)).view(b, t, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.frame_features(x)
        step = (f[:, 1:] - f[:, :-1]).abs().mean(1) if f.shape[1] > 1 else torch.zeros_like(f[:, 0])
        return self.out(torch.cat([f.mean(1), step], 1))


def clip_tensor(clips, config: FrameCNNConfig) -> torch.Tensor:
    """float32 [N, T, 3, size, size]: resized when needed, scaled to [0, 1], standardised with ImageNet
    constants (see the module doc)."""
    import cv2

    clips = _check_clips(clips, config.frames, "frame CNN")
    s = config.size
    out = np.empty((len(clips), config.frames, s, s, 3), np.float32)
    for i, c in enumerate(clips):
        if c.dtype != np.uint8:
            raise WorkbenchError(f"frame CNN: clip {i} must be uint8 RGB (0-255), got {c.dtype}")
        if c.shape[1:3] != (s, s):
            interp = cv2.INTER_AREA if min(c.shape[1:3]) >= s else cv2.INTER_LINEAR
            c = np.stack([cv2.resize(frame, (s, s), interpolation=interp) for frame in c])
        out[i] = c
    x = torch.from_numpy(out).div_(255.0)
    x = (x - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    return x.permute(0, 1, 4, 2, 3).contiguous()


class CNNVideoEncoder:
    def __init__(self, model: FrameCNN, name: str = "frame-cnn"):
        self.model, self.name = model.eval(), f"{name}-{model.config.key()}-{weights_key(model)}"

    @property
    def dim(self) -> int:
        return self.model.config.dim

    def load(self, path) -> np.ndarray:
        from workbench.media.video import sample_frames

        c = self.model.config
        return sample_frames(path, n=c.frames, size=c.size, face_crop=c.face_crop)

    @torch.inference_mode()
    def embed(self, clips, *, batch_size: int = 16) -> np.ndarray:
        clips = list(clips)
        parts = [self.model(clip_tensor(clips[i:i + batch_size], self.model.config)).numpy()
                 for i in range(0, len(clips), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), np.float32)


def train_frame_cnn(clips, y, config: FrameCNNConfig | None = None, *, progress=None):
    """Train the default video encoder: BCE on its head + supervised contrastive on its embeddings
    (``contrastive.fit_encoder``, the loop the audio CNN uses)."""
    config = config or FrameCNNConfig()
    clips = list(clips)
    y = check_labels(len(clips), y)
    torch.manual_seed(config.seed)
    x = clip_tensor(clips, config)
    model = FrameCNN(config)
    history = fit_encoder(model, x, y, config, what="video encoder", progress=progress)
    return CNNVideoEncoder(model), history


def save_video_cnn(encoder: CNNVideoEncoder, folder) -> Path:
    """Write ``video_encoder.safetensors`` and ``video_encoder.json`` (the CNN's config) into ``folder``."""
    from workbench.io import save_weights

    return save_weights(folder, "video_encoder", encoder.model.state_dict(), asdict(encoder.model.config))


def load_video_cnn(folder) -> CNNVideoEncoder:
    from workbench.io import load_weights

    folder = Path(folder)
    if not (folder / "video_encoder.json").is_file():
        raise WorkbenchError(f"{folder}: no video_encoder.json; train the video encoder first")
    if not (folder / "video_encoder.safetensors").is_file():
        raise WorkbenchError(f"{folder}: video_encoder.json but no video_encoder.safetensors; train the video "
                             f"encoder again")
    state, raw = load_weights(folder, "video_encoder")
    try:
        config = FrameCNNConfig(**{**raw, "channels": tuple(raw["channels"])})
    except (TypeError, KeyError) as exc:
        raise WorkbenchError(f"{folder}/video_encoder.json: not a frame-CNN config ({exc})") from None
    model = FrameCNN(config)
    model.load_state_dict(state)
    return CNNVideoEncoder(model.eval())


# ------------------------------------------------------------------------------------------------ files


def embed_videos(encoder, paths, *, cache: str | Path | None = None, progress=None) -> np.ndarray:
    """Embeddings [N, D] of video files (sampled by ``encoder.load``), cached per file like ``embed_files``."""
    return embed_files(encoder, paths, cache=cache, loader=encoder.load, progress=progress)


__all__ = ["CNNVideoEncoder", "FrameCNN", "FrameCNNConfig", "HFVideoEncoder", "IMAGENET_MEAN", "IMAGENET_STD",
           "PAPER_VIDEO_MODEL", "clip_tensor", "embed_videos", "load_hf_video_encoder", "load_video_cnn",
           "save_video_cnn", "train_frame_cnn"]
