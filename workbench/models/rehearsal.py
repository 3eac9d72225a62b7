"""Rehearsal: the paper profile's models replaced by random-weight models of exactly their architecture.

Used by ``workbench.rehearse`` (``workbench rehearse``), ``models.sources.local_path`` and ``models.loaders`` while
a rehearsal is active. Nothing downloads: ``data/archs/<model>.json`` holds each paper-profile model's real
``config.json`` (and, for encoders, its ``preprocessor_config.json``), so the paper code path — loaders, chat
templates, hooks, LoRA targets, dtype and device handling — runs on the papers' architectures before anyone
fetches 100 GB of weights.

Two sizes:

* ``full`` — the real config: the real depth, width, vocabulary, attention layout. Weights are initialised
  on the target device (``torch.device(device)``), never through host memory. For a GPU.
* ``tiny`` — the same architecture class, attention layout (grouped-query heads, Gemma 2's alternating
  sliding-window layers, Qwen3's routed experts, wav2vec2's 7-layer conv front-end, CLAP's HTSAT windows) and
  input geometry, with depth, width and vocabulary shrunk (``shrink``) so a CPU runs it in seconds.

Tokenizers [ours]: a byte-level BPE trained on the bundled English text (``corpus_files``), given the chat
markers of the model's family and padded with never-produced filler entries up to the config's vocabulary size
(the real one at ``full``), so token ids span the whole embedding matrix. Chat templates reproduce the real ones'
*constraints* (Gemma rejects a system turn; Gemma and Mistral require alternating user/assistant turns; Llama 3
uses header markers), not their exact bytes. Special-token ids are the trained tokenizer's, and the config's bos/eos/pad ids are set to them.

Outputs made under a rehearsal are random-weight outputs: ``workbench.rehearse`` writes them to their own
store and marks every artifact ``rehearsal`` (never mistaken for results).
"""
from __future__ import annotations

import contextlib
import copy
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from workbench import WorkbenchError
from workbench.io import build_once, config_key
from workbench.paths import DATA_DIR, environ, models_dir

ARCH_DIR = DATA_DIR / "archs"
SIZES = ("tiny", "full")
DTYPES = ("bfloat16", "float16", "float32")
REHEARSAL_VERSION = "1"        # bump when what ``folder`` writes changes
BASE_VOCAB = 1800              # BPE merges learnt from the corpus before the filler entries
TINY_VOCAB = 2048              # vocabulary rows of a tiny stand-in (full keeps the real size)


@dataclass(frozen=True)
class Rehearsal:
    size: str = "tiny"
    dtype: str = "bfloat16"
    seed: int = 0

    def __post_init__(self):
        if self.size not in SIZES:
            raise WorkbenchError(f"unknown rehearsal size '{self.size}'; choose from {', '.join(SIZES)}")
        if self.dtype not in DTYPES:
            raise WorkbenchError(f"unknown dtype '{self.dtype}'; choose from {', '.join(DTYPES)}")

    @property
    def torch_dtype(self):
        import torch

        return getattr(torch, self.dtype)

    @property
    def key(self) -> str:
        return f"{self.size}-{self.dtype}-seed{self.seed}"


@dataclass
class ForwardStats:
    """What went through the stand-ins' forward passes during a rehearsal (``workbench.rehearse`` reports it)."""

    tokens: int = 0           # text tokens (input_ids / inputs_embeds positions), generation steps included
    items: int = 0            # audio clips, videos or images (batch rows of input_values / pixel_values …)
    seconds: float = 0.0      # wall time inside those forward passes
    models: set = field(default_factory=set)

    def attach(self, name: str, model) -> None:
        """Count through forward hooks on ``model``'s towers (CLIP/CLAP: text, vision, audio) or on the model."""
        import time

        self.models.add(name)
        towers = [getattr(model, t) for t in ("text_model", "vision_model", "audio_model") if hasattr(model, t)]
        for module in towers or [model]:
            started: list[float] = []

            def pre(_module, args, kwargs, started=started):
                ids = kwargs.get("input_ids", args[0] if args else None)
                embeds = kwargs.get("inputs_embeds")
                media = next((kwargs[k] for k in ("input_values", "input_features", "pixel_values")
                              if kwargs.get(k) is not None), None)
                if ids is not None and hasattr(ids, "numel") and media is None:
                    self.tokens += int(ids.numel())
                elif embeds is not None:
                    self.tokens += int(embeds.shape[0] * embeds.shape[1])
                elif media is not None:
                    self.items += int(media.shape[0])
                started.append(time.perf_counter())

            def post(_module, _args, _kwargs, _out, started=started):
                if started:
                    self.seconds += time.perf_counter() - started.pop()

            module.register_forward_pre_hook(pre, with_kwargs=True)
            module.register_forward_hook(post, with_kwargs=True)


_LOCAL = threading.local()


def active() -> Rehearsal | None:
    """The rehearsal in force in this thread, or None."""
    return getattr(_LOCAL, "current", None)


def stats() -> ForwardStats | None:
    return getattr(_LOCAL, "stats", None)


@contextlib.contextmanager
def rehearsing(size: str = "tiny", dtype: str = "bfloat16", seed: int = 0, *, stats: ForwardStats | None = None,
               device: str | None = None):
    """Within the block, every paper-profile model (``hf:`` source) loads as a random-weight model of its real
    architecture at ``size`` in ``dtype`` (on ``device`` when given: it becomes ``$WORKBENCH_DEVICE``); the
    process-wide model cache is keyed by the rehearsal, so real and rehearsal models never mix. ``stats``
    counts what goes through the stand-ins."""
    previous = active(), getattr(_LOCAL, "stats", None)
    _LOCAL.current, _LOCAL.stats = Rehearsal(size, dtype, seed), stats
    try:
        with environ(WORKBENCH_DEVICE=device or None):
            yield _LOCAL.current
    finally:
        _LOCAL.current, _LOCAL.stats = previous


# ------------------------------------------------------------------------------------------- architectures

def arch_names() -> list[str]:
    """Every model with a shipped architecture config."""
    return sorted(p.stem for p in ARCH_DIR.glob("*.json"))


def arch(name: str) -> dict:
    """The shipped entry of model ``name``: ``hf_id``, ``config`` (the real config.json), optional ``chat``
    (template family of a causal LM) and ``processor`` (the real preprocessor_config.json)."""
    path = ARCH_DIR / f"{name}.json"
    if not path.is_file():
        raise WorkbenchError(f"model '{name}' has no architecture config in data/archs; "
                             f"models with one: {', '.join(arch_names())}")
    return json.loads(path.read_text(encoding="utf-8"))


def is_causal_lm(entry: dict) -> bool:
    return "chat" in entry


LM_TINY = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4}


def shrink(config: dict) -> dict:
    """The tiny version of a real config [ours]: depth 2, width 32–64, heads 2–4, vocabulary ``TINY_VOCAB``
    (the real 32k–256k rows would dominate a CPU run: every scored position computes a logit per row); kept
    are the architecture class, the grouped-query layout (fewer key/value heads than query heads when the real
    model has them), the sliding window and its length (so the same prompts stay inside it), routed experts (8,
    top-2), the conv front-end's kernels and strides, input sizes and position ranges."""
    c = copy.deepcopy(config)
    kind = c["model_type"]
    if kind in {"llama", "mistral", "gemma", "gemma2", "qwen3_moe", "biogpt"}:
        grouped = c.get("num_key_value_heads", c["num_attention_heads"]) < c["num_attention_heads"]
        c.update(LM_TINY, vocab_size=min(c["vocab_size"], TINY_VOCAB))
        if "num_key_value_heads" in c or kind != "biogpt":
            c["num_key_value_heads"] = 2 if grouped else 4
        if "head_dim" in c:
            c["head_dim"] = 16
        if c.get("query_pre_attn_scalar"):
            c["query_pre_attn_scalar"] = 16
        if kind == "qwen3_moe":
            c.update(num_experts=8, num_experts_per_tok=2, moe_intermediate_size=32)
        return c
    if kind == "wav2vec2":
        c.update(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                 conv_dim=[16] * len(c["conv_dim"]), num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
                 codevector_dim=16, proj_codevector_dim=16, num_codevectors_per_group=8)
        return c
    if kind == "videomae":
        c.update(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                 decoder_hidden_size=32, decoder_num_hidden_layers=1, decoder_num_attention_heads=2,
                 decoder_intermediate_size=64)
        return c
    if kind == "clap":
        c["projection_dim"] = 16
        c["text_config"].update(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                                projection_dim=16, vocab_size=min(c["text_config"]["vocab_size"], TINY_VOCAB))
        depths = len(c["audio_config"]["depths"])
        c["audio_config"].update(patch_embeds_hidden_size=16, hidden_size=16 * 2 ** (depths - 1),
                                 depths=[1] * depths, num_attention_heads=[2 ** i for i in range(depths)],
                                 projection_dim=16)
        return c
    if kind == "clip":
        c["projection_dim"] = 16
        for side in ("text_config", "vision_config"):
            c[side].update(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                           projection_dim=16)
        c["text_config"]["vocab_size"] = min(c["text_config"]["vocab_size"], TINY_VOCAB)
        return c
    raise WorkbenchError(f"no tiny version is defined for model type '{kind}'")


def build_config(name: str, size: str, special_ids: dict | None = None):
    """The transformers config of ``name`` at ``size`` (``special_ids``: bos/eos/pad ids of the rehearsal
    tokenizer, which replace the real ones). An architecture transformers cannot build is one error naming
    the model and the cause."""
    from transformers import AutoConfig

    entry = arch(name)
    raw = copy.deepcopy(entry["config"])
    if size == "tiny":
        raw = shrink(raw)
    raw.pop("architectures", None)
    raw.pop("torch_dtype", None)
    kind = raw.pop("model_type")
    if special_ids:
        raw.update({k: v for k, v in special_ids.items() if v is not None})
    try:
        return AutoConfig.for_model(kind, **raw)
    except (ValueError, KeyError, TypeError) as exc:
        raise WorkbenchError(f"model '{name}': transformers cannot build a '{kind}' config ({exc})") from None


# ------------------------------------------------------------------------------------------------ tokenizers

# Chat-template families [ours]: the real templates' markers and constraints, not their exact text.
_ALTERNATE = ("{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{- raise_exception("
              "'Conversation roles must alternate user/assistant/user/assistant/...') }}{%- endif %}")
CHAT = {
    "mistral": {
        "bos": "<s>", "eos": "</s>", "unk": "<unk>", "pad": None, "add_bos": True, "markers": ["[INST]", "[/INST]"],
        "template": (
            "{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content'] %}"
            "{%- set loop_messages = messages[1:] %}{%- else %}{%- set loop_messages = messages %}{%- endif %}"
            "{{- bos_token }}{%- for message in loop_messages %}" + _ALTERNATE +
            "{%- if message['role'] == 'user' %}{%- if loop.last and system_message is defined %}"
            "{{- '[INST] ' + system_message + '\\n\\n' + message['content'] + '[/INST]' }}"
            "{%- else %}{{- '[INST] ' + message['content'] + '[/INST]' }}{%- endif %}"
            "{%- else %}{{- ' ' + message['content'] + eos_token }}{%- endif %}{%- endfor %}"),
    },
    "llama3": {
        "bos": "<|begin_of_text|>", "eos": "<|eot_id|>", "unk": None, "pad": None, "add_bos": True,
        "markers": ["<|start_header_id|>", "<|end_header_id|>", "<|end_of_text|>"],
        "template": (
            "{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + "
            "'<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}"
            "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"),
    },
    "gemma": {
        "bos": "<bos>", "eos": "<eos>", "unk": "<unk>", "pad": "<pad>", "add_bos": True,
        "markers": ["<start_of_turn>", "<end_of_turn>"],
        "template": (
            "{{- bos_token }}{%- if messages[0]['role'] == 'system' %}{{- raise_exception("
            "'System role not supported') }}{%- endif %}{%- for message in messages %}" + _ALTERNATE +
            "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
            "{{- '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{%- endfor %}"
            "{%- if add_generation_prompt %}{{- '<start_of_turn>model\\n' }}{%- endif %}"),
    },
    "chatml": {
        "bos": None, "eos": "<|im_end|>", "unk": None, "pad": "<|endoftext|>", "add_bos": False,
        "markers": ["<|im_start|>"],
        "template": (
            "{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
            "'<|im_end|>\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
            "{%- endif %}"),
    },
    "deepseek": {
        "bos": "<｜begin▁of▁sentence｜>", "eos": "<｜end▁of▁sentence｜>", "unk": None, "pad": None, "add_bos": True,
        "markers": [],
        "template": (
            "{{- bos_token }}{%- for message in messages %}{%- if message['role'] == 'user' %}"
            "{{- 'User: ' + message['content'] + '\\n\\n' }}{%- elif message['role'] == 'assistant' %}"
            "{{- 'Assistant: ' + message['content'] + eos_token }}{%- else %}{{- message['content'] + '\\n\\n' }}"
            "{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- 'Assistant:' }}{%- endif %}"),
    },
}
# Base (non-chat) models and encoders' text sides: the family's special tokens only.
PLAIN = {
    "llama": {"bos": "<s>", "eos": "</s>", "unk": "<unk>", "pad": None, "add_bos": True},
    "gemma": {"bos": "<bos>", "eos": "<eos>", "unk": "<unk>", "pad": "<pad>", "add_bos": True},
    "biogpt": {"bos": "<s>", "eos": "</s>", "unk": "<unk>", "pad": "<pad>", "add_bos": False},
    "clap": {"bos": "<s>", "eos": "</s>", "unk": "<unk>", "pad": "<pad>", "add_bos": True, "roberta": True},
    "clip": {"bos": "<|startoftext|>", "eos": "<|endoftext|>", "unk": "<|endoftext|>", "pad": "<|endoftext|>",
             "add_bos": True, "wrap": True},
}


def _family(entry: dict) -> dict:
    kind = entry["config"]["model_type"]
    if entry.get("chat"):
        return CHAT[entry["chat"]]
    if kind in PLAIN:
        return PLAIN[kind]
    if kind in {"gemma2"}:
        return PLAIN["gemma"]
    return PLAIN["llama"]


def _text_vocab_size(entry: dict, size: str = "full") -> int | None:
    config = shrink(entry["config"]) if size == "tiny" else entry["config"]
    if "text_config" in config:
        return int(config["text_config"]["vocab_size"])
    return int(config["vocab_size"]) if is_causal_lm(entry) else None


def corpus_files() -> list[Path]:
    """The bundled English text a rehearsal tokenizer learns its merges from: ``data/corpus`` and the bundled
    prompts, responses and QA (about 0.5 MB), so texts take roughly as many tokens as with a real tokenizer."""
    files = [DATA_DIR / "corpus" / "tiny_corpus.txt"]
    for pattern in ("*.csv", "*.jsonl"):
        files += sorted(p for p in DATA_DIR.rglob(pattern) if ARCH_DIR not in p.parents)
    return files


def train_tokenizer(entry: dict, size: str = "full"):
    """A fast tokenizer for ``entry`` with the vocabulary size of its ``size`` config (see the module
    docstring)."""
    from tokenizers import Tokenizer, processors
    from transformers import PreTrainedTokenizerFast

    from workbench.models.sources import byte_bpe

    family = _family(entry)
    vocab_size = _text_vocab_size(entry, size)
    specials = [t for t in (family["bos"], family["eos"], family["unk"], family["pad"]) if t]
    specials = list(dict.fromkeys(specials + list(family.get("markers", []))))
    tok = byte_bpe(corpus_files(), min(BASE_VOCAB, vocab_size), specials, unk_token=family["unk"])
    state = json.loads(tok.to_str())
    vocab = state["model"]["vocab"]
    if len(vocab) > vocab_size:
        raise WorkbenchError(f"model '{entry['name']}': vocabulary of {vocab_size} is smaller than the "
                             f"{len(vocab)} base entries of a rehearsal tokenizer")
    for i in range(len(vocab), vocab_size):          # never produced by a merge; ids span the real matrix
        vocab[f"<fill{i}>"] = i
    tok = Tokenizer.from_str(json.dumps(state))
    bos = family["bos"]
    if family.get("add_bos") and bos:
        eos = family["eos"]
        single = f"{bos}:0 $A:0" + (f" {eos}:0" if family.get("wrap") or family.get("roberta") else "")
        ids = [(bos, tok.token_to_id(bos))] + ([(eos, tok.token_to_id(eos))] if eos != bos else [])
        tok.post_processor = processors.TemplateProcessing(single=single, special_tokens=ids)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=family["eos"],
                                   unk_token=family["unk"], pad_token=family["pad"])
    if entry.get("chat"):
        fast.chat_template = family["template"]
    return fast


def _special_ids(tokenizer, entry: dict) -> dict:
    ids = {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
           "pad_token_id": tokenizer.pad_token_id}
    return ids if is_causal_lm(entry) else {}


# ---------------------------------------------------------------------------------------------- the folder

def _processor_files(entry: dict, tokenizer, tmp: Path) -> None:
    """Write the encoder's preprocessor (and, for CLAP/CLIP, the processor with its tokenizer) into ``tmp``."""
    kind = entry["config"]["model_type"]
    pre = entry.get("processor")
    if not pre:
        return
    if kind == "wav2vec2":
        from transformers import Wav2Vec2FeatureExtractor

        extractor = Wav2Vec2FeatureExtractor(**{k: v for k, v in pre.items() if k != "feature_extractor_type"})
        extractor.save_pretrained(tmp)
    elif kind == "videomae":
        from transformers import VideoMAEImageProcessor

        VideoMAEImageProcessor(**{k: v for k, v in pre.items() if k != "image_processor_type"}).save_pretrained(tmp)
    elif kind == "clap":
        from transformers import ClapFeatureExtractor, ClapProcessor, RobertaTokenizerFast

        extractor = ClapFeatureExtractor(**{k: v for k, v in pre.items() if k != "feature_extractor_type"})
        text = RobertaTokenizerFast(tokenizer_object=tokenizer.backend_tokenizer, bos_token="<s>", eos_token="</s>",
                                    unk_token="<unk>", pad_token="<pad>", cls_token="<s>", sep_token="</s>",
                                    mask_token="<unk>")
        ClapProcessor(feature_extractor=extractor, tokenizer=text).save_pretrained(tmp)
    elif kind == "clip":
        from transformers import CLIPImageProcessor, CLIPProcessor, CLIPTokenizerFast

        image = CLIPImageProcessor(**{k: v for k, v in pre.items() if k != "image_processor_type"})
        text = CLIPTokenizerFast(tokenizer_object=tokenizer.backend_tokenizer, bos_token="<|startoftext|>",
                                 eos_token="<|endoftext|>", unk_token="<|endoftext|>", pad_token="<|endoftext|>")
        CLIPProcessor(image_processor=image, tokenizer=text).save_pretrained(tmp)
    else:
        raise WorkbenchError(f"model '{entry['name']}': no rehearsal processor for model type '{kind}'")


def folder(name: str, size: str) -> Path:
    """A local folder standing in for ``name``'s Hugging Face snapshot: ``config.json`` of the rehearsal size,
    the rehearsal tokenizer (causal LMs) or processor (encoders), and ``REHEARSAL.json``; no weights (they are
    made on the device by ``build_model``). Built once per (model, size), renamed into place when complete."""
    entry = arch(name)
    corpus = [(p.name, p.stat().st_size) for p in corpus_files()]
    shape = shrink(entry["config"]) if size == "tiny" else entry["config"]    # a change to ``shrink`` rebuilds
    target = models_dir() / "rehearsal" / name / config_key([entry, shape, size, BASE_VOCAB, corpus,
                                                             REHEARSAL_VERSION])

    def build(tmp: Path) -> None:
        needs_tokens = is_causal_lm(entry) or "text_config" in entry["config"]
        tokenizer = train_tokenizer(entry, size) if needs_tokens else None
        config = build_config(name, size, _special_ids(tokenizer, entry) if tokenizer else None)
        config.architectures = entry["config"].get("architectures")
        config.save_pretrained(tmp)
        if is_causal_lm(entry):
            tokenizer.save_pretrained(tmp)
        else:
            _processor_files(entry, tokenizer, tmp)
        (tmp / "REHEARSAL.json").write_text(json.dumps(
            {"model": name, "hf_id": entry["hf_id"], "size": size, "weights": "random",
             "note": "rehearsal stand-in: real architecture, random weights, rehearsal tokenizer"}, indent=1) + "\n")

    return build_once(target, build, complete="REHEARSAL.json")


def build_model(name: str, auto_class, device: str, dtype, seed: int = 0, size: str | None = None):
    """A random-weight ``auto_class`` model (``AutoModelForCausalLM``, ``AutoModel``) of ``name``'s rehearsal
    config, initialised directly on ``device`` in ``dtype`` with ``seed``."""
    import torch
    from transformers import AutoConfig

    rehearsal = active()
    size = size or (rehearsal.size if rehearsal else "tiny")
    config = AutoConfig.from_pretrained(folder(name, size))
    torch.manual_seed(seed)
    try:
        with torch.device(device):
            model = auto_class.from_config(config, dtype=dtype)
    except torch.OutOfMemoryError:
        raise WorkbenchError(f"model '{name}' ({size}, {str(dtype).replace('torch.', '')}) does not fit in "
                             f"{device} memory") from None
    if getattr(model, "generation_config", None) is not None and getattr(config, "pad_token_id", None) is not None:
        model.generation_config.pad_token_id = config.pad_token_id
    if stats() is not None:
        stats().attach(name, model)
    return model.eval()
