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
             temperature: float = 0.0, top_p: float = 1.0, seed: int = 0) -> str | list[str]:
    """Completions for one prompt (returns a string) or a batch (returns a list), left-padded in one pass.

    ``temperature == 0`` decodes greedily; otherwise samples with ``top_p`` under ``torch.manual_seed(seed)``.
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
    if temperature > 0:
        torch.manual_seed(seed)
        kwargs.update(do_sample=True, temperature=temperature, top_p=top_p)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    out = lm.model.generate(**enc, **kwargs)  # [batch, prompt + new]
    new = out[:, enc["input_ids"].shape[1]:]
    completions = [t.strip() for t in tok.batch_decode(new, skip_special_tokens=True)]
    return completions[0] if single else completions
