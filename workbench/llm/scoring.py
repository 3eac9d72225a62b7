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

Three engines, one per shape of the question: ``score_continuations`` / ``score_ids`` (one prefix, many
continuations, KV reuse), ``answer_logprobs`` / ``answer_token_logprobs`` (many prompts, the same few answers,
batched) and ``pair_token_logprobs`` (many prompts, each with its own answers, batched). Used by
``workbench.llm.readout.answer_probs``, which picks the engine and applies the length mode — callers (judges,
classifiers, raters) ask it rather than turning log-probabilities into probabilities themselves — and by
``benchmarks/label_scoring.py``.

A prompt (or prefix) is read as ``generate`` reads it: models that see the raw prompt (no chat template) get the
tokenizer's BOS token in front when their tokenizer adds one (Llama-2, Gemma); chat templates carry their own.
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
    token_logprobs: tuple = ()   # L arrays [S_l]: log p of each continuation token (``logprob`` is their sum)


def single_token_id(lm: CausalLM, text: str) -> int:
    """The id of ``text`` as one token (e.g. " Yes"); an error when the tokenizer splits it."""
    ids = lm.tokenizer.encode(text, add_special_tokens=False)
    if len(ids) != 1:
        raise WorkbenchError(f"readout '{text}' is {len(ids)} tokens for {lm.name}; it must be a single token")
    return ids[0]


def _encode(lm: CausalLM, text: str) -> list[int]:
    return lm.tokenizer.encode(text, add_special_tokens=False)


def encode_prompt(lm: CausalLM, text: str) -> list[int]:
    """The tokens of a prompt as the model reads it: for a model without a chat template, the tokenizer's BOS in
    front when the tokenizer adds one (as ``generate`` does); a chat-templated prompt carries its own."""
    from workbench.llm.generate import uses_chat_template

    ids = _encode(lm, text)
    bos = lm.tokenizer.bos_token_id
    if uses_chat_template(lm) or bos is None or ids[:1] == [bos]:
        return ids
    added = lm.tokenizer.encode(text, add_special_tokens=True)
    return [bos] + ids if added[:1] == [bos] else ids


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
    readout_ids = [single_token_id(lm, r) for r in readout] if readout else None
    return score_ids(lm, encode_prompt(lm, prefix), [_encode(lm, c) for c in continuations], readout_ids,
                     reuse_prefix=reuse_prefix, max_packed_tokens=max_packed_tokens)


@torch.inference_mode()
def score_ids(lm: CausalLM, prefix_ids: list[int], cont_ids: list[list[int]], readout_ids: list[int] | None = None,
              *, reuse_prefix: bool = True, max_packed_tokens: int = 2048) -> ContinuationScores:
    """``score_continuations`` on token ids: the prefix's and each continuation's (the readout's engine)."""
    if not prefix_ids:
        raise WorkbenchError("the prefix is empty")
    empty = [i for i, ids in enumerate(cont_ids) if not ids]
    if empty:
        raise WorkbenchError(f"continuation {empty[0]} is empty")
    window = sliding_window(lm.model)
    if reuse_prefix and window is not None:
        room = window - len(prefix_ids)          # packed rows must stay inside the window (``sliding_window``)
        if room >= max(map(len, cont_ids)):
            max_packed_tokens = min(max_packed_tokens, room)
        else:
            reuse_prefix = False
    if reuse_prefix:
        return _shared_prefix(lm, prefix_ids, cont_ids, readout_ids or None, max_packed_tokens)
    return _naive(lm, prefix_ids, cont_ids, readout_ids or None)


def sliding_window(model) -> int | None:
    """The attention window of a model with sliding-window layers (Gemma 2, Mistral v0.1), else None. A packed
    row reaching past the window cannot reuse the prefix cache: the sliding layers' cache keeps only the last
    ``window`` positions, so the packed mask no longer lines up with it. Rows are therefore packed only up to
    the window; a prefix that leaves no room for the longest continuation is scored naively."""
    config = getattr(model, "config", None)
    window = getattr(config, "sliding_window", None)
    if not window or getattr(config, "use_sliding_window", True) is False:
        return None
    layer_types = getattr(config, "layer_types", None)
    if layer_types is not None and "sliding_attention" not in layer_types:
        return None
    return int(window)


def _row_scores(first_logits, cont_logits, ids, readout_ids):
    """first_logits: [V] logits after the prefix; cont_logits: [n, V] logits after each continuation token."""
    logp_first = torch.log_softmax(first_logits.float(), -1)
    logp_rest = torch.log_softmax(cont_logits.float(), -1)                  # [n, V]
    targets = torch.tensor(ids, device=logp_rest.device)
    tokens = torch.cat([logp_first[targets[:1]], logp_rest[: len(ids) - 1].gather(1, targets[1:, None])[:, 0]])
    read = logp_rest[len(ids) - 1, readout_ids] if readout_ids else None
    return (float(tokens[0] + tokens[1:].sum()), tokens.cpu().numpy(),      # [n] log p per continuation token
            read.cpu().numpy() if read is not None else None)


def _scores(logprob, tokens, reads, cont_ids, readout_ids, p, processed) -> ContinuationScores:
    return ContinuationScores(np.array(logprob), np.array([len(i) for i in cont_ids]),
                              np.stack(reads) if readout_ids else None, p, processed, tuple(tokens))


def _naive(lm, prefix_ids, cont_ids, readout_ids) -> ContinuationScores:
    logprob, tokens, reads, processed = [], [], [], 0
    p = len(prefix_ids)
    for ids in cont_ids:
        full = torch.tensor([prefix_ids + ids], device=lm.device)
        logits = lm.model(input_ids=full, use_cache=False).logits[0]          # [P + n, V]
        processed += full.shape[1]
        total, per_token, read = _row_scores(logits[p - 1], logits[p:], ids, readout_ids)
        logprob.append(total)
        tokens.append(per_token)
        reads.append(read)
    return _scores(logprob, tokens, reads, cont_ids, readout_ids, p, processed)


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
    processed, logprob, tokens, reads = p, [], [], []
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
            total, per_token, read = _row_scores(first_logits, logits[start:start + len(ids)], ids, readout_ids)
            logprob.append(total)
            tokens.append(per_token)
            reads.append(read)
            start += len(ids)
    return _scores(logprob, tokens, reads, cont_ids, readout_ids, p, processed)


def answer_logprobs(lm: CausalLM, prompts: list[str], answers: list[str], *, batch_size: int = 8,
                    progress=None) -> np.ndarray:
    """``[N, A]`` log p(answer a | prompt n) for many different prompts and a few short answers (" Yes", " No").

    Prompts run ``batch_size`` at a time, left-padded, with position ids counted from each prompt's first real
    token, so a row's scores do not depend on its batch (up to float rounding). Single-token answers are read
    off the prompt's last position; an answer of several tokens (" Unsure" is three for SmolLM2) is appended
    but for its last token and its tokens' log-probabilities summed — one forward pass per multi-token answer
    (at least one), each also giving the single-token answers. Prompt and answer are tokenized separately, as in
    ``score_continuations``. Prompts are used verbatim (apply the chat template first; ``encode_prompt``).
    ``progress(done, n)`` is called after each batch.
    """
    if not answers:
        raise WorkbenchError("no answers to score")
    if not prompts:
        return np.zeros((0, len(answers)))
    tokens = answer_token_logprobs(lm, [encode_prompt(lm, p) for p in prompts], [_encode(lm, a) for a in answers],
                                   batch_size=batch_size, progress=progress)
    return np.stack([t.sum(1) for t in tokens], axis=1).astype(np.float64)


@torch.inference_mode()
def answer_token_logprobs(lm: CausalLM, prompt_ids: list[list[int]], answer_ids: list[list[int]], *,
                          batch_size: int = 8, progress=None) -> list[np.ndarray]:
    """``answer_logprobs`` on token ids, per token: for each answer a, ``[N, S_a]`` log p of its tokens after
    each prompt (pass answers cut to their first token for one forward pass whatever their lengths)."""
    empty = [i for i, ids in enumerate(prompt_ids) if not ids]
    if empty:
        raise WorkbenchError(f"prompt {empty[0]} is empty")
    if any(not ids for ids in answer_ids):
        raise WorkbenchError("an answer is empty")
    passes = [j for j, ids in enumerate(answer_ids) if len(ids) > 1] or [None]
    pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0
    out = [np.zeros((len(prompt_ids), len(ids)), dtype=np.float32) for ids in answer_ids]
    order = np.argsort([len(ids) for ids in prompt_ids], kind="stable")     # similar lengths share a batch
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        for k, j in enumerate(passes):
            extension = answer_ids[j][:-1] if j is not None else []
            logits = _left_padded(lm, [prompt_ids[r] + extension for r in rows], pad, keep=len(extension) + 1)
            first = logits.shape[1] - len(extension) - 1     # the position that predicts an answer's first token
            logp = torch.log_softmax(logits[:, first:], -1).cpu()
            if k == 0:
                for a, toks in enumerate(answer_ids):
                    if len(toks) == 1:
                        out[a][rows, 0] = logp[:, 0, toks[0]].numpy()
            if j is not None:
                toks = answer_ids[j]
                out[j][rows] = logp[:, torch.arange(len(toks)), torch.tensor(toks)].numpy()
        if progress:
            progress(min(start + batch_size, len(order)), len(order))
    return out


def _left_padded(lm: CausalLM, seqs: list[list[int]], pad: int, keep: int | None = None) -> torch.Tensor:
    """Float logits ``[B, T, V]`` of token sequences run as one left-padded batch, positions counted from each
    row's first real token (so a row's logits do not depend on its batch, up to float rounding). ``keep``: only the
    last ``keep`` positions' logits (``[B, keep, V]``; the LM head then skips the rest, which a read-out of the
    last few tokens never uses)."""
    width = max(len(x) for x in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, seq in enumerate(seqs):
        ids[i, width - len(seq):] = torch.tensor(seq)
        mask[i, width - len(seq):] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    extra = {} if keep is None else {"logits_to_keep": min(int(keep), width)}
    return lm.model(input_ids=ids.to(lm.device), attention_mask=mask.to(lm.device),
                    position_ids=positions.to(lm.device), **extra).logits.float()


@torch.inference_mode()
def pair_token_logprobs(lm: CausalLM, prompt_ids: list[list[int]], answer_ids: list[list[int]], *,
                        batch_size: int = 8, progress=None) -> list[np.ndarray]:
    """For each (prompt, answer) pair — every prompt with its own answer — ``[S]`` log p of the answer's tokens.

    ``prompt + answer`` runs whole, ``batch_size`` pairs a pass, left-padded as in ``answer_logprobs``. For
    answers that differ per prompt (steering's positive / negative answers); shared answers go faster through
    ``answer_token_logprobs``.
    """
    if len(prompt_ids) != len(answer_ids):
        raise WorkbenchError(f"need one answer per prompt (got {len(prompt_ids)} prompts, {len(answer_ids)} answers)")
    empty = [i for i, ids in enumerate(prompt_ids) if not ids]
    if empty:
        raise WorkbenchError(f"prompt {empty[0]} is empty")
    if any(not ids for ids in answer_ids):
        raise WorkbenchError("an answer is empty")
    pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0
    out: list[np.ndarray] = [np.zeros(0)] * len(prompt_ids)
    order = np.argsort([len(p) + len(a) for p, a in zip(prompt_ids, answer_ids)], kind="stable")
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        logits = _left_padded(lm, [prompt_ids[r] + answer_ids[r] for r in rows], pad,     # [B, K, V]: the end
                              keep=max(len(answer_ids[r]) for r in rows) + 1)
        width = logits.shape[1]
        for i, r in enumerate(rows):
            toks = torch.tensor(answer_ids[r], device=logits.device)
            logp = torch.log_softmax(logits[i, width - len(toks) - 1:width - 1], -1)   # [S, V]: predicting the answer
            out[r] = logp[torch.arange(len(toks), device=logits.device), toks].cpu().numpy()
        if progress:
            progress(min(start + batch_size, len(order)), len(order))
    return out
