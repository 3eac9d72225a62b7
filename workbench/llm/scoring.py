"""Score many continuations of one prompt by their token likelihoods, computing the shared prefix only once.

A classifier asks the same long prompt (instructions, the taxonomy, the text) a short question per label. Run
naively, each label costs a full forward pass over prefix + question. Here the prefix runs once; its KV cache is
then reused by all label continuations at once: they are packed side by side in one row after the cache, each
with its own position ids and a block-causal mask so that no continuation sees another. With a prefix of P
tokens, L labels and continuations of S tokens, the tokens processed drop from L·(P+S) to P + L·S, and no
per-label copy of the cache is made (copying a long cache per label costs more than the labels' own tokens).
Sliding-window attention is not applied inside this mask: for prompts longer than a model's window (4k+ tokens)
use ``reuse_prefix=False``.

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
                        reuse_prefix: bool = True, max_packed_tokens: int = 2048) -> ContinuationScores:
    """Log-likelihoods of each continuation after ``prefix`` and, optionally, of readout tokens after each.

    ``prefix`` is used verbatim (apply the chat template before calling). With ``reuse_prefix`` the prefix is run
    once and its KV cache reused by the continuations, packed up to ``max_packed_tokens`` a forward pass;
    otherwise every continuation gets a full forward pass (the naive baseline).
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
        return _shared_prefix(lm, prefix_ids, cont_ids, readout_ids, max_packed_tokens)
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


def _packed_mask(lengths: list[int], p: int, dtype, device) -> torch.Tensor:
    """Additive mask [1, 1, T, P + T] for continuations of ``lengths`` packed in one row after a P-token cache:
    every token sees the whole prefix and the earlier tokens of its own continuation, nothing else."""
    total = sum(lengths)
    allowed = torch.zeros(total, p + total, dtype=torch.bool, device=device)
    allowed[:, :p] = True
    start = 0
    for n in lengths:
        allowed[start:start + n, p + start:p + start + n] = torch.ones(n, n, dtype=torch.bool, device=device).tril()
        start += n
    mask = torch.zeros(total, p + total, dtype=dtype, device=device)
    mask.masked_fill_(~allowed, torch.finfo(dtype).min)
    return mask[None, None]


def _shared_prefix(lm, prefix_ids, cont_ids, readout_ids, max_packed_tokens) -> ContinuationScores:
    """Prefix once → KV cache; then the continuations packed side by side in one row that reuses the cache,
    each with its own positions (P, P+1, …) and a mask that keeps it from seeing the others. No copy of the
    cache per label is made, so the work is close to the token bound P + Σ S."""
    p = len(prefix_ids)
    out = lm.model(input_ids=torch.tensor([prefix_ids], device=lm.device), use_cache=True)
    prefix_cache, first_logits = out.cache, out.logits[0, -1]              # cache of P positions; [V]
    dtype = next(lm.model.parameters()).dtype
    chunks, current = [], []
    for ids in cont_ids:                                                     # pack up to max_packed_tokens a row
        if current and sum(map(len, current)) + len(ids) > max_packed_tokens:
            chunks.append(current)
            current = []
        current.append(ids)
    chunks.append(current)
    processed, logprob, reads = p, [], []
    for c, chunk in enumerate(chunks):
        lengths = [len(ids) for ids in chunk]
        flat = torch.tensor([[t for ids in chunk for t in ids]], device=lm.device)             # [1, T]
        positions = torch.tensor([[p + k for n in lengths for k in range(n)]], device=lm.device)
        cache = prefix_cache if c == len(chunks) - 1 else copy.deepcopy(prefix_cache)
        logits = lm.model(input_ids=flat, cache=cache, position_ids=positions, use_cache=True,
                          attention_mask=_packed_mask(lengths, p, dtype, lm.device)).logits[0]  # [T, V]
        processed += flat.shape[1]
        start = 0
        for ids in chunk:
            total, read = _row_scores(first_logits, logits[start:start + len(ids)], ids, readout_ids)
            logprob.append(total)
            reads.append(read)
            start += len(ids)
    return ContinuationScores(np.array(logprob), np.array([len(i) for i in cont_ids]),
                              np.stack(reads) if readout_ids else None, p, processed)


@torch.inference_mode()
def answer_logprobs(lm: CausalLM, prompts: list[str], answers: list[str], *, batch_size: int = 8,
                    progress=None) -> np.ndarray:
    """``[N, A]`` log p(answer a | prompt n) for many different prompts and a few short answers (" Yes", " No").

    Prompts run ``batch_size`` at a time, left-padded, with position ids counted from each prompt's first real
    token, so a row's scores do not depend on its batch (up to float rounding). Single-token answers are read
    off the prompt's last position; an answer of several tokens (" Unsure" is three for SmolLM2) is appended
    but for its last token and its tokens' log-probabilities summed — one forward pass per multi-token answer
    (at least one), each also giving the single-token answers. Prompt and answer are tokenized separately, as in
    ``score_continuations``. Prompts are used verbatim (apply the chat template first). ``progress(done, n)``
    is called after each batch.
    """
    if not answers:
        raise WorkbenchError("no answers to score")
    if not prompts:
        return np.zeros((0, len(answers)))
    encoded = [_encode(lm, p) for p in prompts]
    empty = [i for i, ids in enumerate(encoded) if not ids]
    if empty:
        raise WorkbenchError(f"prompt {empty[0]} is empty")
    answer_ids = [_encode(lm, a) for a in answers]
    if any(not ids for ids in answer_ids):
        raise WorkbenchError("an answer is empty")
    passes = [j for j, ids in enumerate(answer_ids) if len(ids) > 1] or [None]
    pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0
    out = np.zeros((len(prompts), len(answers)))
    order = np.argsort([len(ids) for ids in encoded], kind="stable")     # similar lengths share a batch
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        for k, j in enumerate(passes):
            extension = answer_ids[j][:-1] if j is not None else []
            seqs = [encoded[r] + extension for r in rows]
            width = max(len(x) for x in seqs)
            ids = torch.full((len(rows), width), pad, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for i, seq in enumerate(seqs):
                ids[i, width - len(seq):] = torch.tensor(seq)
                mask[i, width - len(seq):] = 1
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            logits = lm.model(input_ids=ids.to(lm.device), attention_mask=mask.to(lm.device),
                              position_ids=positions.to(lm.device)).logits.float()
            first = width - len(extension) - 1                # the position that predicts an answer's first token
            logp = torch.log_softmax(logits[:, first:], -1).cpu()
            if k == 0:
                for a, toks in enumerate(answer_ids):
                    if len(toks) == 1:
                        out[rows, a] = logp[:, 0, toks[0]].numpy()
            if j is not None:
                toks = answer_ids[j]
                out[rows, j] = sum(logp[:, t, toks[t]].numpy() for t in range(len(toks)))
        if progress:
            progress(min(start + batch_size, len(order)), len(order))
    return out
