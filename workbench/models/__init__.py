"""The model zoo: one registry of named models, offline sources, and lazy per-process loading.

    >>> from workbench.models import load, list_specs
    >>> lm = load("smollm2-135m-instruct")          # CausalLM handle
    >>> enc = load("minilm-l6"); enc.encode(["hello"]).shape
    (1, 384)
"""
from workbench.models.loaders import CausalLM, HFModel, SentenceEncoder, SpeechRecognizer, clear_cache, load
from workbench.models.registry import MODELS, ROLES, ModelSpec, get_spec, list_specs
from workbench.models.sources import Availability, ModelNotAvailable, availability, local_path

__all__ = [
    "MODELS", "ROLES", "Availability", "CausalLM", "HFModel", "ModelNotAvailable", "ModelSpec", "SentenceEncoder",
    "SpeechRecognizer", "availability", "clear_cache", "get_spec", "list_specs", "load", "local_path",
]
