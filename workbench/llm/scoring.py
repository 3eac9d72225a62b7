"""Score many continuations of one prompt by their token likelihoods, computing the shared prefix only once.

A classifier asks the same long prompt (instructions, the taxonomy, the text) a short question per label. Run
naively, each label costs a full forward pass over prefix + question. Here the prefix runs once; its KV cache is
copied across a batch of label continuations, which run together through the model. With a prefix of P tokens,
L labels and continuations of S tokens, the tokens processed drop from L·(P+S) to P + L·S.

Both ways are implemented (``reuse_prefix=False`` is the naive baseline) so that tests and
``benchmarks/label_scoring.py`` check they agree. Token sequences are ``ids(prefix) + ids(continuation)`` in both
ways, tokenized separately, so that they see exactly the same tokens.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from workbench import WorkbenchError
from workbench.models.loaders import CausalLM


@dataclass(frozen=True)
class ContinuationScores:
    logprob: np.ndarray          # [L] sum of log p(continuation tokens | prefix)
    n_tokens: np.ndarray         # [L] continuation lengths in tokens
    readout: np.ndarray | None   # [L, R] log p(readout token r | prefix + continuation), when readout tokens given
    prefix_tokens: int           # P
    tokens_processed: int        # token positions the model actually ran (padding included)


def single_token_id(lm: CausalLM, text: str) -> int:
    """The id of ``text`` as one token (e.g. " Yes"); an error when the tokenizer splits it."""
    ids = lm.tokenizer.encode(text, add_special_tokens=False)
    if len(ids) != 1:
        raise WorkbenchError(f"readout '{text}' is {len(ids)} tokens for {lm.name}; it must be a single token")
    return ids[0]


def _encode(lm: CausalLM, text: str) -> list[int]:
    return lm.tokenizer.encode(text, add_special_tokens=False)


@torch.inference_mode()
def score_continuations(lm: CausalLM, prefix: str, continuations: list[str], *, readout: list[str] | None = None,
                        reuse_prefix: bool = True, batch_size: int = 16) -> ContinuationScores:
    """Log-likelihoods of each continuation after ``prefix`` and, optionally, of readout tokens after each.

    ``prefix`` is used verbatim (apply the chat template before calling). With ``reuse_prefix`` the prefix is run
    once and its KV cache shared by batches of ``batch_size`` continuations; otherwise every continuation gets a
    full forward pass (the naive baseline).
    """
    if not continuations:
        raise WorkbenchError("no continuations to score")
    prefix_ids = _encode(lm, prefix)
    if not prefix_ids:
        raise WorkbenchError("the prefix is empty")
    cont_ids = [_encode(lm, c) for c in continuations]
    empty = [i for i, ids in enumerate(cont_ids) if not ids]
    if empty:
        raise WorkbenchError(f"continuation {empty[0]} is empty")
    readout_ids = [single_token_id(lm, r) for r in readout] if readout else None
    if reuse_prefix:
        return _shared_prefix(lm, prefix_ids, cont_ids, readout_ids, batch_size)
    return _naive(lm, prefix_ids, cont_ids, readout_ids)


def _row_scores(first_logits, cont_logits, ids, readout_ids):
    """first_logits: [V] logits after the prefix; cont_logits: [n, V] logits after each continuation token."""
    logp_first = torch.log_softmax(first_logits.float(), -1)
    logp_rest = torch.log_softmax(cont_logits.float(), -1)                  # [n, V]
    targets = torch.tensor(ids, device=logp_rest.device)
    total = logp_first[targets[0]] + logp_rest[: len(ids) - 1].gather(1, targets[1:, None]).sum()
    read = logp_rest[len(ids) - 1, readout_ids] if readout_ids else None
    return float(total), (read.cpu().numpy() if read is not None else None)


def _naive(lm, prefix_ids, cont_ids, readout_ids) -> ContinuationScores:
    logprob, reads, processed = [], [], 0
    p = len(prefix_ids)
    for ids in cont_ids:
        full = torch.tensor([prefix_ids + ids], device=lm.device)
        logits = lm.model(input_ids=full, use_cache=False).logits[0]          # [P + n, V]
        processed += full.shape[1]
        total, read = _row_scores(logits[p - 1], logits[p:], ids, readout_ids)
        logprob.append(total)
        reads.append(read)
    return ContinuationScores(np.array(logprob), np.array([len(i) for i in cont_ids]),
                              np.stack(reads) if readout_ids else None, p, processed)


def _shared_prefix(lm, prefix_ids, cont_ids, readout_ids, batch_size) -> ContinuationScores:
    p = len(prefix_ids)
    out = lm.model(input_ids=torch.tensor([prefix_ids], device=lm.device), use_cache=True)
    prefix_cache, first_logits = out.cache, out.logits[0, -1]    # cache of P positions; [V]
    processed = p
    pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0
    logprob, reads = [], []
    for start in range(0, len(cont_ids), batch_size):
        chunk = cont_ids[start:start + batch_size]
        width = max(len(ids) for ids in chunk)
        # Right padding: a real token never attends to the pads after it (causal attention), so no mask is needed.
        batch = torch.tensor([ids + [pad] * (width - len(ids)) for ids in chunk], device=lm.device)  # [B, S]
        cache = copy.deepcopy(prefix_cache)
        cache.batch_repeat_interleave(len(chunk))
        mask = torch.ones(len(chunk), p + width, dtype=torch.long, device=lm.device)
        logits = lm.model(input_ids=batch, cache=cache, attention_mask=mask, use_cache=True).logits
        processed += batch.numel()
        for row, ids in enumerate(chunk):
            total, read = _row_scores(first_logits, logits[row], ids, readout_ids)
            logprob.append(total)
            reads.append(read)
        del cache
    return ContinuationScores(np.array(logprob), np.array([len(i) for i in cont_ids]),
                              np.stack(reads) if readout_ids else None, p, processed)
