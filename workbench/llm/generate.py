"""Prompt building and text generation for any ``CausalLM`` handle.

Instruct models get their chat template; base models get the raw prompt. Greedy by default so that the same
input gives the same output; sampling is seeded.
"""
from __future__ import annotations

import torch

from workbench import WorkbenchError
from workbench.models.loaders import CausalLM

# Families with a learned table of absolute positions: longer inputs would index past its end.
ABSOLUTE_POSITIONS = {"gpt2", "gpt_neo", "gpt_bigcode", "opt"}


def uses_chat_template(lm: CausalLM) -> bool:
    """Instruct models with a chat template get it (and its special tokens); others see the raw prompt."""
    return bool(lm.spec.instruct and getattr(lm.tokenizer, "chat_template", None))


def build_prompt(lm: CausalLM, prompt: str, *, system: str | None = None) -> str:
    """The exact text fed to the model: the chat template for instruct models, else ``prompt`` itself."""
    if not uses_chat_template(lm):
        return prompt
    return lm.tokenizer.apply_chat_template(chat_messages(lm.tokenizer, prompt, system=system),
                                            add_generation_prompt=True, tokenize=False)


def accepts_system_turn(tokenizer) -> bool:
    """Whether the tokenizer's chat template renders a system turn (Gemma's raises "System role not supported")."""
    cached = getattr(tokenizer, "_workbench_system_turn", None)
    if cached is None:
        try:
            tokenizer.apply_chat_template([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
                                          add_generation_prompt=True, tokenize=False)
            cached = True
        except Exception:      # noqa: BLE001 - jinja's TemplateError from raise_exception, or a template bug
            cached = False
        tokenizer._workbench_system_turn = cached
    return cached


def chat_messages(tokenizer, prompt: str, *, system: str | None = None) -> list[dict]:
    """The chat turns for ``prompt``: a system turn when given and the template takes one; otherwise the system
    text opens the user turn (what Gemma's model card advises), so every family gets the instruction."""
    if not system:
        return [{"role": "user", "content": prompt}]
    if accepts_system_turn(tokenizer):
        return [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
    return [{"role": "user", "content": f"{system}\n\n{prompt}"}]


@torch.inference_mode()
def generate(lm: CausalLM, prompts: str | list[str], *, system: str | None = None, max_new_tokens: int = 64,
             temperature: float = 0.0, top_p: float = 1.0, seed: int = 0,
             row_seeds: list[int] | None = None) -> str | list[str]:
    """Completions for one prompt (returns a string) or a batch (returns a list), left-padded in one pass.

    ``temperature == 0`` decodes greedily; otherwise samples with ``top_p`` under ``torch.manual_seed(seed)``,
    or, given ``row_seeds`` (one per prompt), each row from its own generator (``RowSampler``): a row's
    completion then does not depend on its batch, and equals the single-prompt call with ``seed`` = its seed.
    """
    single = isinstance(prompts, str)
    batch = [prompts] if single else list(prompts)
    if not batch:
        return []
    texts = [build_prompt(lm, p, system=system) for p in batch]
    tok = lm.tokenizer
    tok.padding_side = "left"
    # Chat templates already contain the special tokens they need.
    enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=not uses_chat_template(lm)).to(lm.device)
    limit = getattr(lm.model.config, "max_position_embeddings", None)
    needed = enc["input_ids"].shape[1] + max_new_tokens
    if lm.model.config.model_type in ABSOLUTE_POSITIONS and limit and needed > limit:
        raise WorkbenchError(f"{lm.name}: a prompt of {enc['input_ids'].shape[1]} tokens plus {max_new_tokens} new "
                             f"tokens exceeds its context of {limit} positions")
    kwargs = dict(max_new_tokens=max_new_tokens, pad_token_id=tok.pad_token_id)
    if temperature > 0 and row_seeds is not None:
        if len(row_seeds) != len(batch):
            raise WorkbenchError(f"{len(row_seeds)} seeds for {len(batch)} prompts; give one seed per prompt")
        # greedy over scores in which only the row's own sampled token survives
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None,
                      logits_processor=[RowSampler(lm, row_seeds, temperature, top_p)])
    elif temperature > 0:
        torch.manual_seed(seed)
        kwargs.update(do_sample=True, temperature=temperature, top_p=top_p)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    out = lm.model.generate(**enc, **kwargs)  # [batch, prompt + new]
    new = out[:, enc["input_ids"].shape[1]:]
    completions = [t.strip() for t in tok.batch_decode(new, skip_special_tokens=True)]
    return completions[0] if single else completions


class RowSampler:
    """A logits processor that samples every row of a batch from its own seeded generator — the warpers
    (temperature, the model's top-k, top-p) and the multinomial draw of transformers' sampling, in that order,
    so a batch of one reproduces ``torch.manual_seed(seed)`` + ``do_sample=True`` — and keeps only the sampled
    token (every other score −inf), so that greedy decoding emits it. [ours]"""

    def __init__(self, lm: CausalLM, seeds: list[int], temperature: float, top_p: float):
        from transformers import (LogitsProcessorList, TemperatureLogitsWarper, TopKLogitsWarper,
                                  TopPLogitsWarper)

        top_k = getattr(getattr(lm.model, "generation_config", None), "top_k", None)
        top_k = 50 if top_k is None else top_k          # transformers' default when the model sets none
        warpers = [TemperatureLogitsWarper(temperature)] if temperature != 1.0 else []
        warpers += [TopKLogitsWarper(top_k=top_k)] if top_k else []
        warpers += [TopPLogitsWarper(top_p=top_p)] if top_p < 1.0 else []
        self.warpers = LogitsProcessorList(warpers)
        device = torch.device(lm.device)
        self.generators = [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        probs = torch.softmax(self.warpers(input_ids, scores), dim=-1)                    # [B, V]
        picks = torch.cat([torch.multinomial(probs[i:i + 1], 1, generator=g)               # [B, 1]
                           for i, g in enumerate(self.generators)])
        return torch.full_like(scores, float("-inf")).scatter_(1, picks, 0.0)
