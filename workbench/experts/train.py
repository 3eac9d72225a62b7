"""Axis experts (P3 AlignX, P10 TrinityX): one PEFT LoRA adapter per alignment axis on one frozen backbone.

Each expert is trained on its axis' (prompt, response) pairs with the loss on the response tokens only (the
prompt goes through the backbone's chat template). AlignX's "prompt-injected fine-tuning" is the optional
``prefix`` [paper: in code, "Chain of Thought: Let's think step by step."], put before every training prompt.
Adapters are trained one after the other on the same frozen backbone — only the active adapter's parameters are
optimised, so training one axis cannot overwrite another ("axis collapse" is avoided by construction) — and
saved with PEFT as safetensors, one folder per axis.

The backbone is loaded fresh from its local files (not the process-wide model cache), so attaching adapters
never changes a model other code is using.
"""
from __future__ import annotations

import contextlib
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch

from workbench import WorkbenchError
from workbench.io import write_json

ALIGNX_PREFIX = "Chain of Thought: Let's think step by step."


@dataclass(frozen=True)
class ExpertConfig:
    r: int = 8                     # the papers: 64 (paper profile)
    alpha: int = 16                # the papers: 32
    dropout: float = 0.05          # the papers: 0.1
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    lr: float = 5e-4               # the papers' READMEs
    epochs: int = 1
    batch_size: int = 8
    max_length: int = 192
    prefix: str | None = None      # AlignX prompt injection (``ALIGNX_PREFIX``)
    seed: int = 0
    axes: tuple[str, ...] = field(default=("helpful", "harmless", "honest"))


def fresh_backbone(name: str):
    """(model, tokenizer) of a causal LM from its local files, in float32 on the CPU or the profile's device."""
    from transformers import AutoModelForCausalLM

    from workbench.models import get_spec, local_path

    tokenizer = backbone_tokenizer(name)
    model = AutoModelForCausalLM.from_pretrained(local_path(get_spec(name)), dtype=torch.float32)
    return model, tokenizer


def backbone_tokenizer(name: str):
    """The tokenizer of causal LM ``name`` (pad token = end of sequence when it has none)."""
    from transformers import AutoTokenizer

    from workbench.models import get_spec, local_path

    spec = get_spec(name)
    if spec.role != "causal-lm":
        raise WorkbenchError(f"'{name}' is not a causal LM; experts need one as backbone")
    tokenizer = AutoTokenizer.from_pretrained(local_path(spec))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


@contextlib.contextmanager
def quiet_peft():
    """Silence a transformers deprecation that PEFT triggers when it wraps a model (not ours to act on)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
        yield


def encode_pairs(tokenizer, prompts: list[str], responses: list[str], *, max_length: int,
                 prefix: str | None = None) -> list[tuple[list[int], list[int]]]:
    """(input ids, labels) per pair; labels are -100 on the prompt so only the response is learned."""
    out = []
    template = getattr(tokenizer, "chat_template", None)
    for prompt, response in zip(prompts, responses):
        text = f"{prefix}\n{prompt}" if prefix else prompt
        if template:
            head = tokenizer.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True,
                                                 tokenize=False)
            head_ids = tokenizer.encode(head, add_special_tokens=False)
        else:
            head_ids = tokenizer.encode(text + "\n", add_special_tokens=True)
        tail_ids = tokenizer.encode(response, add_special_tokens=False) + [tokenizer.eos_token_id]
        ids = (head_ids + tail_ids)[:max_length]
        labels = ([-100] * len(head_ids) + tail_ids)[:max_length]
        if all(label == -100 for label in labels):
            raise WorkbenchError(f"a prompt of {len(head_ids)} tokens leaves no room for its response within "
                                 f"max_length {max_length}")
        out.append((ids, labels))
    return out


def _batches(pairs, batch_size: int, pad_id: int, generator: torch.Generator):
    order = torch.randperm(len(pairs), generator=generator).tolist()
    for start in range(0, len(order), batch_size):
        chunk = [pairs[i] for i in order[start:start + batch_size]]
        width = max(len(ids) for ids, _ in chunk)
        ids = torch.full((len(chunk), width), pad_id)
        labels = torch.full((len(chunk), width), -100)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for j, (i, lab) in enumerate(chunk):
            ids[j, :len(i)], labels[j, :len(lab)], mask[j, :len(i)] = torch.tensor(i), torch.tensor(lab), 1
        yield ids, labels, mask


def train_experts(backbone: str, data, config: ExpertConfig, out: str | Path, *,
                  progress: Callable[[float, str], None] | None = None) -> dict:
    """Train one LoRA adapter per axis of ``config.axes`` on ``data`` (``workbench.experts.data`` layout, train
    rows) and save them under ``out/<axis>/``; returns ``{axis: [loss per step]}``."""
    from peft import LoraConfig, get_peft_model

    train = data[data["split"] == "train"] if "split" in data.columns else data
    missing = [a for a in config.axes if not (train["axis"] == a).any()]
    if missing:
        raise WorkbenchError(f"no training rows for axis/axes {', '.join(missing)}")
    torch.manual_seed(config.seed)
    model, tokenizer = fresh_backbone(backbone)
    lora = LoraConfig(r=config.r, lora_alpha=config.alpha, lora_dropout=config.dropout,
                      target_modules=list(config.target_modules), task_type="CAUSAL_LM")
    with quiet_peft():
        peft_model = get_peft_model(model, lora, adapter_name=config.axes[0])
    for axis in config.axes[1:]:
        peft_model.add_adapter(axis, lora)
    losses: dict[str, list[float]] = {}
    gen = torch.Generator().manual_seed(config.seed)
    for a, axis in enumerate(config.axes):
        peft_model.set_adapter(axis)              # only this adapter is trainable now
        rows = train[train["axis"] == axis]
        pairs = encode_pairs(tokenizer, rows["prompt"].tolist(), rows["response"].tolist(),
                             max_length=config.max_length, prefix=config.prefix)
        params = [p for n, p in peft_model.named_parameters() if p.requires_grad and f".{axis}." in n]
        opt = torch.optim.AdamW(params, lr=config.lr)
        peft_model.train()
        losses[axis] = []
        steps = config.epochs * -(-len(pairs) // config.batch_size)
        for epoch in range(config.epochs):
            for ids, labels, mask in _batches(pairs, config.batch_size, tokenizer.pad_token_id, gen):
                loss = peft_model(input_ids=ids, attention_mask=mask, labels=labels).loss
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses[axis].append(float(loss.detach()))
                if progress:
                    progress((a + len(losses[axis]) / steps) / len(config.axes),
                             f"{axis}: step {len(losses[axis])}/{steps}, loss {losses[axis][-1]:.3f}")
    peft_model.eval()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(out, selected_adapters=list(config.axes), safe_serialization=True)
    (out / "README.md").unlink(missing_ok=True)        # PEFT's model card names local paths; experts.json says it all
    write_json({"backbone": backbone, "config": asdict(config), "losses": losses}, out / "experts.json")
    return losses
