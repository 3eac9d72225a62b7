"""Load a named model into a small handle object, lazily and once per process.

``load(name)`` returns, by role:

* ``causal-lm`` → ``CausalLM`` (transformers model + tokenizer, eval mode, on the chosen device);
* ``sentence-encoder`` → ``SentenceEncoder`` (sentence-transformers over the local folder);
* ``asr`` → ``SpeechRecognizer`` (faster-whisper over the CTranslate2 folder);
* ``audio-encoder``/``video-encoder``/``audio-text``/``vision-language`` → ``HFModel`` (model + processor).

``trust_remote_code`` is never enabled: every architecture used here is in transformers itself.

Weights are made by ``instantiate``, the one place that turns a model folder into a transformers model:
on CUDA it loads straight to the device with ``device_map`` (``$WORKBENCH_DEVICE_MAP=auto`` spreads a model
over several GPUs), in the dtype of ``--dtype``/``$WORKBENCH_DTYPE`` (else ``pick_dtype``), optionally
quantised to 4 or 8 bits (``--quantize``/``$WORKBENCH_QUANTIZE``, bitsandbytes, CUDA only); during a rehearsal
(``models.rehearsal``) it builds a random-weight model of the same architecture on the device instead.
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


QUANTIZE = ("4bit", "8bit")


def weights_dtype(device: str, *, half_ok: bool = True):
    """The dtype weights load in: the rehearsal's, else ``$WORKBENCH_DTYPE`` (``auto``, ``bfloat16``,
    ``float16``, ``float32``), else ``pick_dtype(device, half_ok=half_ok)``."""
    import os

    import torch

    from workbench.models import rehearsal

    if rehearsal.active() is not None:
        return rehearsal.active().torch_dtype
    name = (os.environ.get("WORKBENCH_DTYPE") or "auto").lower()
    if name == "auto":
        return pick_dtype(device, half_ok=half_ok)
    if name not in rehearsal.DTYPES:
        raise WorkbenchError(f"unknown dtype '{name}'; choose from auto, {', '.join(rehearsal.DTYPES)}")
    return getattr(torch, name)


def quantization(device: str):
    """The bitsandbytes config of ``$WORKBENCH_QUANTIZE`` (``4bit``/``8bit``), or None; CUDA only."""
    import os

    mode = (os.environ.get("WORKBENCH_QUANTIZE") or "").lower()
    if mode in ("", "none"):
        return None
    if mode not in QUANTIZE:
        raise WorkbenchError(f"unknown quantization '{mode}'; choose from none, {', '.join(QUANTIZE)}")
    if not device.startswith("cuda"):
        raise WorkbenchError(f"{mode} quantization needs a CUDA device; this run is on '{device}'")
    import importlib.util

    if importlib.util.find_spec("bitsandbytes") is None:
        raise WorkbenchError(f"{mode} quantization needs bitsandbytes: pip install bitsandbytes")
    import torch
    from transformers import BitsAndBytesConfig

    if mode == "4bit":
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                  bnb_4bit_compute_dtype=torch.bfloat16)
    return BitsAndBytesConfig(load_in_8bit=True)


def instantiate(spec: ModelSpec, auto_class, folder, device: str, dtype=None, *, quantize: bool = True):
    """A transformers model of ``spec`` (class ``auto_class``, e.g. ``AutoModelForCausalLM``) from ``folder``,
    on ``device`` in ``dtype`` (default ``weights_dtype(device)``), in eval mode. CUDA loads go straight to the
    GPU through ``device_map`` (no pass through host memory); a rehearsal builds random weights instead."""
    import os

    from workbench.models import rehearsal

    dtype = dtype or weights_dtype(device)
    if spec.source_kind == "hf" and rehearsal.active() is not None:
        from workbench.models.sources import _arch_name

        return rehearsal.build_model(_arch_name(spec), auto_class, device, dtype, seed=rehearsal.active().seed)
    kwargs: dict = {"dtype": dtype}
    if device.startswith("cuda"):
        kwargs["device_map"] = os.environ.get("WORKBENCH_DEVICE_MAP") or {"": device}
        if quantize and (q := quantization(device)) is not None:
            kwargs["quantization_config"] = q
    model = auto_class.from_pretrained(folder, **kwargs)
    if "device_map" not in kwargs:
        model.to(device)
    return model.eval()


def load(name: str, *, device: str | None = None, progress: Progress | None = None):
    """The handle for model ``name`` on ``device`` (auto by default), cached for the process's lifetime (per
    rehearsal, so stand-ins and real models never mix)."""
    from workbench.models import rehearsal

    spec = get_spec(name)
    device = pick_device(device)
    current = rehearsal.active()
    key = (name, device, current.key if current and spec.source_kind == "hf" else "")
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
        model = instantiate(spec, AutoModelForCausalLM, folder, device)
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
        from transformers import AutoFeatureExtractor, AutoImageProcessor, AutoModel, AutoProcessor

        # Encoders without a tokenizer (wav2vec2-XLS-R, VideoMAE) ship only a preprocessor_config.json, which
        # AutoProcessor would try to pair with a tokenizer they do not have.
        reader = {"audio-encoder": AutoFeatureExtractor, "video-encoder": AutoImageProcessor}.get(spec.role,
                                                                                                   AutoProcessor)
        processor = reader.from_pretrained(folder)
        model = instantiate(spec, AutoModel, folder, device)
        return HFModel(spec, model, processor, device)
    raise WorkbenchError(f"model '{spec.name}' has role '{spec.role}', which no loader handles")
