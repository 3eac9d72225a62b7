"""Load a named model into a small handle object, lazily and once per process.

``load(name)`` returns, by role:

* ``causal-lm`` → ``CausalLM`` (transformers model + tokenizer, eval mode, on the chosen device);
* ``sentence-encoder`` → ``SentenceEncoder`` (sentence-transformers over the local folder);
* ``asr`` → ``SpeechRecognizer`` (faster-whisper over the CTranslate2 folder);
* ``audio-encoder``/``video-encoder``/``audio-text``/``vision-language`` → ``HFModel`` (model + processor).

``trust_remote_code`` is never enabled: every architecture used here is in transformers itself.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench import WorkbenchError
from workbench.models.registry import ModelSpec, get_spec
from workbench.models.sources import Progress, local_path
from workbench.profiles import pick_device, pick_dtype


@dataclass
class CausalLM:
    spec: ModelSpec
    model: Any        # transformers PreTrainedModel
    tokenizer: Any    # transformers tokenizer
    device: str

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass
class SentenceEncoder:
    spec: ModelSpec
    model: Any        # sentence_transformers.SentenceTransformer
    device: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def dim(self) -> int:
        return int(self.model.get_embedding_dimension())

    def encode(self, texts: list[str], *, batch_size: int = 64, normalize: bool = True,
               show_progress: bool = False) -> np.ndarray:
        """Embeddings as a float32 array ``[len(texts), dim]`` (unit length when ``normalize``)."""
        if isinstance(texts, str):
            raise TypeError("encode expects a list of strings, not a single string")
        return self.model.encode(list(texts), batch_size=batch_size, normalize_embeddings=normalize,
                                 convert_to_numpy=True, show_progress_bar=show_progress).astype(np.float32)


@dataclass
class SpeechRecognizer:
    spec: ModelSpec
    model: Any        # faster_whisper.WhisperModel
    device: str

    @property
    def name(self) -> str:
        return self.spec.name

    def transcribe(self, audio, *, language: str | None = "en", beam_size: int = 1) -> str:
        """Text of ``audio`` (a path, or a float32 mono array at 16 kHz)."""
        segments, _info = self.model.transcribe(audio, language=language, beam_size=beam_size)
        return " ".join(seg.text.strip() for seg in segments).strip()


@dataclass
class HFModel:
    spec: ModelSpec
    model: Any
    processor: Any
    device: str

    @property
    def name(self) -> str:
        return self.spec.name


_CACHE: dict[tuple[str, str], Any] = {}
_LOCK = threading.Lock()


def load(name: str, *, device: str | None = None, progress: Progress | None = None):
    """The handle for model ``name`` on ``device`` (auto by default), cached for the process's lifetime."""
    spec = get_spec(name)
    device = pick_device(device)
    key = (name, device)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = _load(spec, device, progress)
        return _CACHE[key]


def clear_cache() -> None:
    """Forget every loaded model (frees memory; the next ``load`` reads from disk again)."""
    with _LOCK:
        _CACHE.clear()


def _load(spec: ModelSpec, device: str, progress: Progress | None):
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()   # our own progress reporting is enough; keep logs readable
    folder = local_path(spec, progress)
    if progress:
        progress(f"loading {spec.name}")
    if spec.role == "causal-lm":
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=pick_dtype(device))
        model.to(device).eval()
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        return CausalLM(spec, model, tokenizer, device)
    if spec.role == "sentence-encoder":
        from sentence_transformers import SentenceTransformer

        return SentenceEncoder(spec, SentenceTransformer(str(folder), device=device, local_files_only=True), device)
    if spec.role == "asr":
        from faster_whisper import WhisperModel

        ct2_device = "cuda" if device.startswith("cuda") else "cpu"
        compute = "float16" if ct2_device == "cuda" else "int8"
        return SpeechRecognizer(spec, WhisperModel(str(folder), device=ct2_device, compute_type=compute), device)
    if spec.role in {"audio-encoder", "video-encoder", "audio-text", "vision-language"}:
        from transformers import AutoModel, AutoProcessor

        processor = AutoProcessor.from_pretrained(folder)
        model = AutoModel.from_pretrained(folder, dtype=pick_dtype(device)).to(device).eval()
        return HFModel(spec, model, processor, device)
    raise WorkbenchError(f"model '{spec.name}' has role '{spec.role}', which no loader handles")
