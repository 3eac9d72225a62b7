"""Soft tokens for a frozen causal LM, in the LLaVA manner: a trained projector turns a feature vector into a few
vectors of the LM's input-embedding width, which the LM reads between the tokens of a prompt (``inputs_embeds``);
a label is read from the likelihoods of the answers after the prompt.

* ``Projector`` — a 2-layer MLP to ``n_soft`` vectors, each scaled to the mean norm of the LM's vocabulary
  embeddings (``embedding_scale``), so the LM sees them at the size of real tokens [ours].
* ``inputs_embeds`` — prompt prefix, soft tokens and one suffix per row (or one shared suffix) as
  ``[B, L, d_model]`` embeddings with their attention mask; rows of unequal length are padded on the left, so
  every row's last position is its own last token.
* ``answer_logprobs`` — log P(answer | inputs) per row and answer, summed over an answer's tokens.
* ``frozen`` (the LM's weights without gradients while the projector trains), ``lm_threads`` (one torch thread for
  a small LM on the CPU), ``causal_lm`` (the transformers handle from a handle, an engine or a zoo name).

Used by ``deepfake.soft_prompt`` (P6: the LLM over the aligned embeddings) and ``memes.vlm`` (P5: the small
vision-language model).
"""
from __future__ import annotations

import contextlib

import torch
from torch import nn


class Projector(nn.Module):
    """Features [B, D] → soft tokens [B, n_soft, d_model] at the norm ``scale``."""

    def __init__(self, in_dim: int, n_soft: int, d_model: int, hidden: int, scale: float):
        super().__init__()
        self.n_soft, self.d_model = n_soft, d_model
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, n_soft * d_model))
        self.register_buffer("scale", torch.tensor(float(scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.net(x).view(len(x), self.n_soft, self.d_model)                    # [B, n_soft, d_model]
        return nn.functional.normalize(t, dim=-1) * self.scale


def embedding_scale(lm) -> float:
    """The mean norm of the LM's input-embedding rows: the size the projector gives each soft token."""
    return float(lm.model.get_input_embeddings().weight.detach().float().norm(dim=1).mean())


def embed_ids(lm, ids: list[int]) -> torch.Tensor:
    """[len(ids), d_model] the LM's input embeddings of ``ids``."""
    table = lm.model.get_input_embeddings()
    return table(torch.tensor(ids, dtype=torch.long, device=table.weight.device))


def inputs_embeds(lm, soft: torch.Tensor, prefix: list[int],
                  suffix: list[int] | list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """([B, L, d_model] prefix, soft tokens, suffix; [B, L] attention mask). ``suffix``: one id list shared by the
    rows, or one per row (then shorter rows are padded on the left with zero vectors, masked out)."""
    b = len(soft)
    pre = embed_ids(lm, prefix)
    soft = soft.to(pre.dtype)
    if not suffix or isinstance(suffix[0], int):
        suf = embed_ids(lm, list(suffix)) if suffix else pre[:0]
        embeds = torch.cat([pre.expand(b, -1, -1), soft, suf.expand(b, -1, -1)], 1)
        return embeds, torch.ones(embeds.shape[:2], dtype=torch.long, device=embeds.device)
    if len(suffix) != b:
        raise ValueError(f"{b} rows of soft tokens but {len(suffix)} suffixes")
    rows = [torch.cat([pre, soft[i], embed_ids(lm, s) if s else pre[:0]], 0) for i, s in enumerate(suffix)]
    width = max(len(r) for r in rows)
    embeds = pre.new_zeros((b, width, pre.shape[1]))
    mask = torch.zeros((b, width), dtype=torch.long, device=pre.device)
    for i, r in enumerate(rows):
        embeds[i, width - len(r):] = r
        mask[i, width - len(r):] = 1
    return embeds, mask


def answer_logprobs(lm, embeds: torch.Tensor, answer_ids: list[list[int]],
                    mask: torch.Tensor | None = None) -> torch.Tensor:
    """[B, A] log P(answer | inputs) summed over each answer's tokens (one pass when every answer is one token).
    ``mask``: the attention mask of left-padded rows (``inputs_embeds``), or None when no row is padded."""
    b = len(embeds)
    if all(len(a) == 1 for a in answer_ids):
        logits = lm.model(inputs_embeds=embeds, attention_mask=mask, logits_to_keep=1).logits[:, -1].float()  # [B, V]
        return torch.log_softmax(logits, -1)[:, [a[0] for a in answer_ids]]
    out = []
    for ids in answer_ids:
        t = torch.tensor(ids, dtype=torch.long, device=embeds.device)
        ext, ext_mask = embeds, mask
        if len(ids) > 1:
            ext = torch.cat([embeds, embed_ids(lm, ids[:-1]).to(embeds.dtype).expand(b, -1, -1)], 1)
            if mask is not None:
                ext_mask = torch.cat([mask, mask.new_ones((b, len(ids) - 1))], 1)
        # the last k positions of ext = the positions that predict the answer's k tokens
        logits = lm.model(inputs_embeds=ext, attention_mask=ext_mask,
                          logits_to_keep=len(ids)).logits.float()                                  # [B, k, V]
        lp = torch.log_softmax(logits, -1).gather(2, t.view(1, -1, 1).expand(b, -1, 1)).squeeze(2)  # [B, k]
        out.append(lp.sum(1))
    return torch.stack(out, 1)


def encode_answers(lm, answers) -> list[list[int]]:
    """The token ids of each answer (written with its leading space, as it follows "Answer:")."""
    from workbench.llm.scoring import _encode

    return [_encode(lm, a) for a in answers]


@contextlib.contextmanager
def frozen(lm):
    """The LM's parameters without gradients (restored after): gradients reach the soft tokens only."""
    params = list(lm.model.parameters())
    before = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, before):
            p.requires_grad_(flag)


def lm_threads(lm):
    """One torch thread for a small LM on the CPU (its many tiny steps lose much on shared cores:
    ``experts.router.one_thread``), the usual threads otherwise."""
    from workbench.experts.router import one_thread

    small = sum(p.numel() for p in lm.model.parameters()) < 20_000_000
    return one_thread() if small and str(lm.device).startswith("cpu") else contextlib.nullcontext()


def causal_lm(lm):
    """The transformers handle (``CausalLM``) soft tokens need — they go in as ``inputs_embeds`` — from a
    handle, an ``hf`` engine (its handle), another engine or a zoo model's name (the model loaded by name)."""
    from workbench.models import load
    from workbench.models.loaders import CausalLM

    if isinstance(lm, CausalLM):
        return lm
    if isinstance(getattr(lm, "lm", None), CausalLM):
        return lm.lm
    return load(lm if isinstance(lm, str) else lm.name)


__all__ = ["Projector", "answer_logprobs", "causal_lm", "embed_ids", "embedding_scale", "encode_answers", "frozen",
           "inputs_embeds", "lm_threads"]
