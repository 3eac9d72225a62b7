"""The configuration of the ConLLM pipeline (P6): which encoders, how the detectors are trained, which cues.

Used by deepfake.model (a model folder's ``model.json`` holds it), deepfake.inputs, deepfake.training, the deepfake
CLI, the P6 builder and notebook. ``PipelineConfig.for_profile()`` picks the encoders of the active profile:
default — the log-mel CNN and the frame CNN trained locally [ours]; paper — wav2vec2-XLS-R-1B and VideoMAE-base
from the local Hugging Face cache (ConLLM's code).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from workbench.io import config_key
from workbench.media.audio_encoders import CNNConfig
from workbench.media.video_encoders import FrameCNNConfig

SR = 16000
STREAMS = ("audio", "video", "audiovisual")
DEFAULT_ENCODERS = {"audio": "logmel-cnn", "video": "frame-cnn"}
PAPER_ENCODERS = {"audio": "wav2vec2-xls-r-1b", "video": "videomae-base"}


@dataclass(frozen=True)
class PipelineConfig:
    audio_encoder: str = "logmel-cnn"            # or an audio-encoder of the model registry (wav2vec2-xls-r-1b)
    video_encoder: str = "frame-cnn"             # or a video-encoder of the registry (videomae-base)
    audio_cnn: CNNConfig = field(default_factory=CNNConfig)
    video_cnn: FrameCNNConfig = field(default_factory=lambda: FrameCNNConfig(epochs=25))
    detector_epochs: int = 40
    projection: int = 64
    lambda_xm: float = 0.5
    lambda_sup: float = 0.2
    dev_fraction: float = 0.2
    max_seconds: float = 6.0                     # audio read per file (the CNN uses its own max_seconds of it)
    lip_sync: bool = True                        # measure the lip–audio sync cue on clips with both streams
    av_cues: bool = True                         # the audiovisual detector also reads the sync cue (see above)
    calibrate_reasoning: bool = True             # fit the reasoning stage's threshold on the dev rows
    seed: int = 0

    @classmethod
    def for_profile(cls, profile: str | None = None, **overrides) -> "PipelineConfig":
        from workbench.profiles import get_profile

        prof = get_profile(profile)
        names = PAPER_ENCODERS if prof.name == "paper" else DEFAULT_ENCODERS
        return cls(**{"audio_encoder": names["audio"], "video_encoder": names["video"], **overrides})

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> "PipelineConfig":
        raw = dict(raw)
        audio = dict(raw.pop("audio_cnn", {}))
        video = dict(raw.pop("video_cnn", {}))
        if "channels" in audio:
            audio["channels"] = tuple(audio["channels"])
        if "channels" in video:
            video["channels"] = tuple(video["channels"])
        return cls(audio_cnn=CNNConfig(**audio), video_cnn=FrameCNNConfig(**video), **raw)

    def key(self) -> str:
        return config_key(self.to_dict())


def embeddings_cache() -> Path:
    """Where per-file embeddings are cached (``media.embeddings.embed_files``)."""
    from workbench.paths import home, rehearsal_scope

    return rehearsal_scope(home() / "cache" / "embeddings")


__all__ = ["DEFAULT_ENCODERS", "PAPER_ENCODERS", "PipelineConfig", "SR", "STREAMS", "embeddings_cache"]
