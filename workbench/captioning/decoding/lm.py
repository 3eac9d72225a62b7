"""The caption LM as the decoders of P9 see it: body (hidden states) and head (logits of one state), KV-cache
steps (a batch of candidates, or a "tree" of them under one 4-D mask), its sentence-end tokens and the caption
text cut at the first of them.

Used by ``captioning.decoding.search`` (greedy, contrastive, MAGIC); the layouts are described there.

Sentence-end tokens [ours]: every special token (eos included), tokens made only of ``.``, ``!`` or ``?`` (after
stripping whitespace) and tokens containing a newline; computed once per tokenizer.
"""
from __future__ import annotations

from typing import Any

import torch

from workbench import WorkbenchError

_TERMINAL = frozenset(".!?")


class LMRunner:
    """The LM as body (hidden states) plus head (logits of one state), and its sentence-end tokens."""

    def __init__(self, lm):
        self.lm = lm
        self.model = lm.model
        self.body = lm.model.base_model
        self.head = lm.model.get_output_embeddings()
        if self.head is None or self.body is self.model:
            raise WorkbenchError(f"{lm.name}: MAGIC decoding needs a causal LM with a separate output head")
        self.softcap = getattr(lm.model.config, "final_logit_softcapping", None)
        self.device = lm.model.device
        self.end_ids = end_token_ids(lm)
        self.end_index = torch.tensor(sorted(self.end_ids), dtype=torch.long, device=self.device)

    def encode(self, prompt: str) -> torch.Tensor:
        if not isinstance(prompt, str) or not prompt:
            raise WorkbenchError("the prompt must be a non-empty string (the exact text fed to the model)")
        ids = self.lm.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids
        return ids.to(self.device)

    def prefill(self, ids: torch.Tensor):
        from transformers import DynamicCache

        cache = DynamicCache(config=self.model.config)
        out = self.body(input_ids=ids, cache=cache, use_cache=True)   # fills ``cache`` in place
        return cache, out.last_hidden_state[0]                        # [P, E]

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Next-token logits (float32, ``[V]``) for one last-layer hidden state ``[E]``."""
        logits = self.head(hidden[None])[0].float()
        if self.softcap:
            logits = torch.tanh(logits / self.softcap) * self.softcap
        return logits

    def step(self, cache, token_ids: torch.Tensor) -> torch.Tensor:
        """Run ``token_ids`` ``[B]`` as a batch of length-1 inputs on ``cache`` (batch B); hidden states ``[B, E]``."""
        out = self.body(input_ids=token_ids[:, None], cache=cache, use_cache=True)
        return out.last_hidden_state[:, 0]

    def tree_step(self, cache, pending: list[int], candidates: torch.Tensor) -> torch.Tensor:
        """``pending`` (0 or 1 token, causal) then the k ``candidates``, each seeing the prefix, the pending token and
        itself, at one position; the candidates' KV is cropped afterwards. Candidates' hidden states ``[k, E]``."""
        attention = getattr(self.model.config, "_attn_implementation", None)
        if attention not in ("sdpa", "eager"):
            raise WorkbenchError(f"layout='tree' needs sdpa or eager attention (custom 4-D masks), not {attention}")
        n, m, k = cache.get_seq_length(), len(pending), int(candidates.numel())
        ids = torch.cat([torch.tensor(pending, dtype=torch.long, device=self.device), candidates])[None]
        dtype = self.model.dtype if self.model.dtype.is_floating_point else torch.float32
        mask = torch.full((1, 1, m + k, n + m + k), torch.finfo(dtype).min, dtype=dtype, device=self.device)
        mask[..., : n + m] = 0                                       # the prefix and the pending token: seen by all
        rows = torch.arange(m + k, device=self.device)
        mask[0, 0, rows, n + rows] = 0                               # each token sees itself, no other candidate
        positions = torch.full((1, m + k), n + m, dtype=torch.long, device=self.device)
        positions[0, :m] = torch.arange(n, n + m, device=self.device)
        out = self.body(input_ids=ids, cache=cache, use_cache=True, attention_mask=mask,
                        position_ids=positions)
        cache.crop(-k)
        return out.last_hidden_state[0, m:]


_END_IDS: dict[int, tuple[Any, frozenset[int]]] = {}


def end_token_ids(lm) -> frozenset[int]:
    """Sentence-end tokens [ours]: special tokens, eos ids, tokens of only ``.!?`` and tokens with a newline."""
    tok = lm.tokenizer
    key = id(tok)
    if key not in _END_IDS:
        ends = set(int(i) for i in getattr(tok, "all_special_ids", []) or [])
        for source in (tok.eos_token_id, getattr(lm.model.generation_config, "eos_token_id", None)):
            if source is not None:
                ends.update(int(i) for i in (source if isinstance(source, (list, tuple)) else [source]))
        vocab = len(tok)
        texts = tok.batch_decode([[i] for i in range(vocab)], skip_special_tokens=False)
        for i, text in enumerate(texts):
            core = text.strip()
            if "\n" in text or (core and set(core) <= _TERMINAL):
                ends.add(i)
        limit = int(lm.model.get_output_embeddings().weight.shape[0])
        _END_IDS[key] = (tok, frozenset(i for i in ends if 0 <= i < limit))
    return _END_IDS[key][1]


def caption_text(tokenizer, token_ids: list[int], end_ids: frozenset[int]) -> str:
    """The continuation up to and including its first sentence-end token, special tokens dropped, cut at a newline."""
    cut = list(token_ids)
    for i, t in enumerate(cut):
        if t in end_ids:
            cut = cut[: i + 1]
            break
    text = tokenizer.decode(cut, skip_special_tokens=True)
    return text.split("\n", 1)[0].strip()


__all__ = ["LMRunner", "caption_text", "end_token_ids"]
