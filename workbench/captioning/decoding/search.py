"""Caption decoding for P9: greedy, contrastive search and MAGIC search over any ``CausalLM`` handle.

Used by ``captioning.captioner`` (one caption per decoder), ``benchmarks/magic_decoding.py`` and the tests; the
prompt comes from ``captioning.decoding.prompt``, the LM steps from ``captioning.decoding.lm``.

MAGIC (Su et al. 2022, yxuansu/MAGIC; audio port SFauth/AAC-using-large-language-models). At each step the top-k
candidates ``v`` of the LM's next-token distribution ``p`` are scored

    score(v) = (1 − α)·p(v) − α·max_j cos(h_v, h_j) + β·softmax_k(sim(audio, text(continuation + v)))

and the argmax is kept. As in the reference code:

* ``h_v`` is the LM's last-layer hidden state (after the final norm, what the LM head reads) at the position where
  ``v`` is the input, got by running the LM one step on ``v``; the ``h_j`` are the last-layer hidden states of
  *every* earlier position: the whole prompt (from the prefill pass, special tokens of a chat template included)
  and each chosen token so far.
* ``sim`` is the contrastive model's scaled cosine, ``scorer.text_logits`` (the audio port fixes the logit scale
  at 10); it is soft-maxed over the k candidates only. The text scored is the decoded *continuation* (tokens after
  the prompt, the last ``text_max_tokens`` = 77 of them) plus the candidate, never the prompt.
* ``p`` is the full soft-max over the vocabulary (not renormalised over the k); ties go to the higher-ranked
  candidate. β = 0 is contrastive search (SimCTG); α = β = 0 picks the most probable token: greedy.

Defaults follow the audio port: k 45, α 0, β 0.5 (images: k 45, α 0.1, β 2.0).

End-of-sentence penalty. The audio port passes ``end_penalty = 0.1`` into its search, but the stored copies of
its code do not show how it is applied, so the rule here is ours [ours]: during the first ``min_length`` (4)
generated tokens the probabilities of the sentence-end tokens are multiplied by ``eos_penalty`` (0.1) before the
top-k pool is drawn; nothing is renormalised. Sentence-end tokens [ours]: every special token (eos included),
tokens made only of ``.``, ``!`` or ``?`` (after stripping whitespace) and tokens containing a newline.

Output [ours]. A ``Decoded``: the caption (continuation only, up to and including the first sentence end, special
tokens dropped, cut at a newline, stripped), the token ids, per-step scores of the chosen token (total and its
three terms) and timing: ``seconds`` in all, ``prefill_seconds`` of them for the prompt pass, and ``per_token_s``
= the rest per generated token (the prompt pass is the same for every method). ``stop_at_period`` stops
generating at the first sentence-end token; without it every method runs ``max_new_tokens`` steps (used for
timing), the caption being cut the same way.

Implementation. One prefill pass over the prompt fills a ``DynamicCache``; then per step

* ``layout="batch"`` (default; the reference code's layout): the cache is repeated k times
  (``batch_repeat_interleave``), the k candidates go in as a batch of length-1 inputs — ONE forward — and the
  winner's row is kept (``batch_select_indices``);
* ``layout="tree"`` [ours]: no copy of the cache. The k candidates (preceded by the previous winner, whose KV
  was dropped) go in as one sequence of k (+1) tokens with a 4-D mask in which each candidate sees the prefix,
  the previous winner and itself, all at the same position; afterwards the candidates' KV is cropped
  (``crop(-k)``). Same tokens, less memory traffic on long prefixes.

Either way ONE scorer call scores the k candidate texts, and only the winner's hidden state goes through the LM
head (the k candidates need hidden states, not logits). With α = 0 (the audio port's default) the candidates'
hidden states carry no weight, so by default (``alpha0_shortcut``) they are not computed at all [ours]: the score
is p(v) + β·audio(v), and only the winner is run, one 1-token forward per step as in greedy decoding — the same
tokens as the full search, at about the cost of greedy plus one scorer call. Its recorded degeneration is the
winner's own (NaN for the last token, whose hidden state is never needed).

``magic_naive`` is the reference algorithm done naively but fairly: per candidate a deep copy of the prefix cache
and its own one-token forward (always, whatever α), and one scorer call per candidate; the k scaled cosines are
then soft-maxed together exactly as in the batched search.

    >>> lm = load("smollm2-135m-instruct")
    >>> out = magic(lm, caption_prompt(lm, ["dog", "bark"]), scorer, audio_embedding)
    >>> out.text, out.per_token_s
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from workbench import WorkbenchError
from workbench.captioning.decoding.lm import LMRunner, caption_text

LAYOUTS = ("batch", "tree")
TEXT_MAX_TOKENS = 77            # the reference code scores the last 77 LM tokens of the continuation


@runtime_checkable
class Scorer(Protocol):
    """An audio-text model, seen from the decoder: the scaled cosine of the audio with each text."""

    def text_logits(self, audio_embedding: Any, texts: list[str]) -> np.ndarray:
        """``[len(texts)]`` scaled cosines (logit scale × cos) of ``audio_embedding`` with each text."""
        ...


@dataclass
class Decoded:
    text: str                                  # the caption: continuation only, to the first sentence end
    token_ids: list[int]                       # every generated token (the sentence end included)
    method: str                                # "greedy", "contrastive", "magic" or "magic-naive"
    seconds: float                             # wall clock, prefill included
    prefill_seconds: float = 0.0               # of which the prompt pass (and the first distribution)
    scores: list[float] = field(default_factory=list)         # chosen candidate's total score, per step
    probs: list[float] = field(default_factory=list)          # its p(v) (after the eos penalty)
    degeneration: list[float] = field(default_factory=list)   # its max cosine to earlier hidden states
    audio: list[float] = field(default_factory=list)          # its soft-maxed scorer term (0 when β = 0)

    @property
    def tokens(self) -> int:
        return len(self.token_ids)

    @property
    def decode_seconds(self) -> float:
        """Wall clock of the generation loop, the prompt pass left out (it is the same for every method)."""
        return self.seconds - self.prefill_seconds

    @property
    def per_token_s(self) -> float:
        """Decoding time per generated token, the prompt pass left out."""
        return self.decode_seconds / max(1, self.tokens)


# --- scoring -------------------------------------------------------------------------------------------------------

def _softmax(values) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(x)):
        raise WorkbenchError("the scorer returned a non-finite text logit")
    e = np.exp(x - x.max())
    return e / e.sum()


def _pool(run: LMRunner, logits: torch.Tensor, k: int, step: int, min_length: int, eos_penalty: float):
    """The k candidates and their probabilities (end tokens scaled by ``eos_penalty`` before ``min_length``)."""
    probs = torch.softmax(logits, dim=-1)
    if step < min_length and eos_penalty != 1.0 and run.end_index.numel():
        probs = probs.clone()
        probs[run.end_index] *= eos_penalty
    top_p, top_ids = torch.topk(probs, k=min(k, probs.numel()))
    return top_p, top_ids


def _degeneration(cand_h: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    """Max cosine of each candidate hidden state ``[k, E]`` to the normalised ``context`` ``[n, E]``: ``[k]``."""
    cand = torch.nn.functional.normalize(cand_h.float(), dim=-1)
    return (cand @ context.T).max(dim=-1).values


def _rank(top_p: torch.Tensor, degeneration: torch.Tensor, audio: np.ndarray, alpha: float, beta: float):
    """(1 − α)·p − α·degeneration + β·audio for the k candidates."""
    audio_t = torch.as_tensor(audio, dtype=torch.float32, device=top_p.device)
    return (1.0 - alpha) * top_p - alpha * degeneration + beta * audio_t


def _candidate_texts(tokenizer, generated: list[int], top_ids: list[int], max_tokens: int) -> list[str]:
    return tokenizer.batch_decode([(generated + [v])[-max_tokens:] for v in top_ids], skip_special_tokens=True)


def _check(k: int, alpha: float, beta: float, scorer, max_new_tokens: int, layout: str = "batch") -> None:
    if k < 1:
        raise WorkbenchError(f"k must be at least 1, got {k}")
    if not 0.0 <= alpha <= 1.0:
        raise WorkbenchError(f"alpha must lie in [0, 1], got {alpha}")
    if beta < 0:
        raise WorkbenchError(f"beta must be non-negative, got {beta}")
    if beta > 0 and scorer is None:
        raise WorkbenchError("beta > 0 needs a scorer (an object with text_logits(audio_embedding, texts))")
    if max_new_tokens < 1:
        raise WorkbenchError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
    if layout not in LAYOUTS:
        raise WorkbenchError(f"unknown layout '{layout}'; choose from {', '.join(LAYOUTS)}")


class _Context:
    """The normalised last-layer hidden states of every position so far (prompt, then chosen tokens)."""

    def __init__(self, prompt_hidden: torch.Tensor, extra: int):
        p, e = prompt_hidden.shape
        self.buf = torch.empty(p + extra, e, dtype=torch.float32, device=prompt_hidden.device)
        self.buf[:p] = torch.nn.functional.normalize(prompt_hidden.float(), dim=-1)
        self.n = p

    def add(self, hidden: torch.Tensor) -> None:
        self.buf[self.n] = torch.nn.functional.normalize(hidden.float(), dim=-1)
        self.n += 1

    @property
    def matrix(self) -> torch.Tensor:
        return self.buf[: self.n]


# --- decoders ------------------------------------------------------------------------------------------------------

@torch.inference_mode()
def greedy(lm, prompt: str, *, max_new_tokens: int = 20, stop_at_period: bool = True) -> Decoded:
    """Greedy decoding with the same loop as MAGIC (prefill, then one token per step on the KV cache)."""
    _check(1, 0.0, 0.0, None, max_new_tokens)
    run = LMRunner(lm)
    start = time.perf_counter()
    cache, hidden = run.prefill(run.encode(prompt))
    logits = run.logits(hidden[-1])
    prefill = time.perf_counter() - start
    generated, probs = [], []
    for step in range(max_new_tokens):
        p = torch.softmax(logits, dim=-1)
        token = int(torch.argmax(logits))
        generated.append(token)
        probs.append(float(p[token]))
        if (stop_at_period and token in run.end_ids) or step == max_new_tokens - 1:
            break
        h = run.step(cache, torch.tensor([token], device=run.device))[0]
        logits = run.logits(h)
    seconds = time.perf_counter() - start
    return Decoded(caption_text(lm.tokenizer, generated, run.end_ids), generated, "greedy", seconds, prefill,
                   scores=list(probs), probs=probs, degeneration=[0.0] * len(probs), audio=[0.0] * len(probs))


@torch.inference_mode()
def magic(lm, prompt: str, scorer: Scorer | None = None, audio_embedding: Any = None, *, k: int = 45,
          alpha: float = 0.0, beta: float = 0.5, max_new_tokens: int = 20, min_length: int = 4,
          eos_penalty: float = 0.1, stop_at_period: bool = True, layout: str = "batch",
          alpha0_shortcut: bool = True, text_max_tokens: int = TEXT_MAX_TOKENS, method: str = "magic") -> Decoded:
    """MAGIC search, batched: per step one LM forward over the k candidates and one scorer call for their texts.

    With α = 0 and ``alpha0_shortcut`` the candidates' hidden states have no weight in the score, so only the
    winner is run (one 1-token forward per step, as greedy does); same tokens, and ``layout`` does not matter.
    """
    _check(k, alpha, beta, scorer, max_new_tokens, layout)
    run = LMRunner(lm)
    tok = lm.tokenizer
    shortcut = alpha == 0.0 and alpha0_shortcut
    start = time.perf_counter()
    cache, prompt_hidden = run.prefill(run.encode(prompt))
    context = _Context(prompt_hidden, max_new_tokens)
    logits = run.logits(prompt_hidden[-1])
    out = Decoded("", [], method, 0.0, time.perf_counter() - start)
    pending: list[int] = []
    for step in range(max_new_tokens):
        top_p, top_ids = _pool(run, logits, k, step, min_length, eos_penalty)
        kk = int(top_ids.numel())
        if shortcut:
            cand_h, degeneration = None, torch.zeros(kk, device=top_p.device)
        else:
            if layout == "batch":
                cache.batch_repeat_interleave(kk)
                cand_h = run.step(cache, top_ids)                               # [k, E]
            else:
                cand_h = run.tree_step(cache, pending, top_ids)
            degeneration = _degeneration(cand_h, context.matrix)
        ids = top_ids.tolist()
        if beta > 0:
            texts = _candidate_texts(tok, out.token_ids, ids, text_max_tokens)
            audio = _softmax(scorer.text_logits(audio_embedding, texts))
            if audio.shape != (kk,):
                raise WorkbenchError(f"the scorer returned {audio.shape[0]} logits for {kk} texts")
        else:
            audio = np.zeros(kk)
        scores = _rank(top_p, degeneration, audio, alpha, beta)
        w = int(torch.argmax(scores))
        token = ids[w]
        last = (stop_at_period and token in run.end_ids) or step == max_new_tokens - 1
        if shortcut:
            if last:                                 # the winner's hidden state would only feed the record
                degeneration[w] = float("nan")
            else:
                cand_h = run.step(cache, top_ids[w: w + 1])[0][None]            # [1, E]
                degeneration[w] = _degeneration(cand_h, context.matrix)[0]
                w_h = cand_h[0]
        else:
            if layout == "batch":
                cache.batch_select_indices(torch.tensor([w], device=run.device))
            pending = [token]
            w_h = cand_h[w]
        out.token_ids.append(token)
        out.scores.append(float(scores[w]))
        out.probs.append(float(top_p[w]))
        out.degeneration.append(float(degeneration[w]))
        out.audio.append(float(audio[w]))
        if last:
            break
        context.add(w_h)
        logits = run.logits(w_h)
    out.seconds = time.perf_counter() - start
    out.text = caption_text(tok, out.token_ids, run.end_ids)
    return out


def contrastive(lm, prompt: str, *, k: int = 45, alpha: float = 0.1, max_new_tokens: int = 20,
                stop_at_period: bool = True, layout: str = "batch") -> Decoded:
    """Contrastive search (SimCTG): MAGIC with β = 0 and no end-of-sentence penalty."""
    return magic(lm, prompt, None, None, k=k, alpha=alpha, beta=0.0, max_new_tokens=max_new_tokens,
                 min_length=0, eos_penalty=1.0, stop_at_period=stop_at_period, layout=layout,
                 method="contrastive")


@torch.inference_mode()
def magic_naive(lm, prompt: str, scorer: Scorer | None = None, audio_embedding: Any = None, *, k: int = 45,
                alpha: float = 0.0, beta: float = 0.5, max_new_tokens: int = 20, min_length: int = 4,
                eos_penalty: float = 0.1, stop_at_period: bool = True,
                text_max_tokens: int = TEXT_MAX_TOKENS) -> Decoded:
    """MAGIC search done naively: per candidate a copy of the prefix cache, its own forward and its own scorer
    call. The reference for ``magic`` (same tokens) and the baseline of the benchmark."""
    _check(k, alpha, beta, scorer, max_new_tokens)
    run = LMRunner(lm)
    tok = lm.tokenizer
    start = time.perf_counter()
    cache, prompt_hidden = run.prefill(run.encode(prompt))
    context = _Context(prompt_hidden, max_new_tokens)
    logits = run.logits(prompt_hidden[-1])
    out = Decoded("", [], "magic-naive", 0.0, time.perf_counter() - start)
    for step in range(max_new_tokens):
        top_p, top_ids = _pool(run, logits, k, step, min_length, eos_penalty)
        ids = top_ids.tolist()
        caches, hidden, text_logits = [], [], []
        for v in ids:
            own = copy.deepcopy(cache)
            hidden.append(run.step(own, torch.tensor([v], device=run.device))[0])
            caches.append(own)
            if beta > 0:
                text = tok.decode((out.token_ids + [v])[-text_max_tokens:], skip_special_tokens=True)
                text_logits.append(float(np.asarray(scorer.text_logits(audio_embedding, [text])).reshape(-1)[0]))
        audio = _softmax(text_logits) if beta > 0 else np.zeros(len(ids))
        cand_h = torch.stack(hidden)
        degeneration = _degeneration(cand_h, context.matrix)
        scores = _rank(top_p, degeneration, audio, alpha, beta)
        w = int(torch.argmax(scores))
        token = ids[w]
        cache = caches[w]
        context.add(cand_h[w])
        out.token_ids.append(token)
        out.scores.append(float(scores[w]))
        out.probs.append(float(top_p[w]))
        out.degeneration.append(float(degeneration[w]))
        out.audio.append(float(audio[w]))
        if stop_at_period and token in run.end_ids:
            break
        if step < max_new_tokens - 1:
            logits = run.logits(cand_h[w])
    out.seconds = time.perf_counter() - start
    out.text = caption_text(tok, out.token_ids, run.end_ids)
    return out


__all__ = ["Decoded", "LAYOUTS", "Scorer", "TEXT_MAX_TOKENS", "contrastive", "greedy", "magic", "magic_naive"]
