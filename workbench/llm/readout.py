"""Probabilities of a few answers after a prompt, read from token likelihoods: the one readout that every
LLM judge, classifier and rater uses.

``answer_probs(lm, prompts, answers)`` scores each answer after each prompt and returns ``AnswerProbs``:
``logprob`` [N, A], each answer's log-likelihood under the length mode, and ``probs`` [N, A], the same
likelihoods renormalised over the A answers (a softmax; each row sums to 1). With two answers
``probs[:, 0]`` = P(a₀) / (P(a₀) + P(a₁)) = σ(log P(a₀) − log P(a₁)), and ``log_odds()`` is the argument of σ.

Length modes (``normalize``): how an answer of several tokens becomes one number. For single-token answers
the three agree.

* ``"sum"`` (default): log p(answer | prompt), the sum of its tokens' log-probabilities — the probability of the
  whole answer; a longer answer pays for each extra token. Used by the misalignment detectors, the DICES raters
  (" Unsure" is three tokens for SmolLM2), the HHH and medical judges, the rejection-sampling judge, deepfake
  reasoning, the medical option choice and the ``yesno`` taxonomy classifier (whose tiny test tokenizers split
  " Yes" / " No").
* ``"mean"``: the mean log-probability per answer token (the log of the geometric-mean token probability) — a
  length-neutral score for answers of unequal lengths. Used by the ``choice`` taxonomy classifier (domain
  names) and steering's behaviour probability (whole free-form answers).
* ``"first"``: log p(the answer's first token) alone — answers that differ in their first token, read in one
  pass whatever their lengths. No caller uses it at present.

Which engine of ``workbench.llm.scoring`` runs depends on the shape of the question:

* ``prefix`` given — one shared text, computed once and its KV cache reused by every prompt (``score_ids``,
  packed continuations; the classifier's path). Each prompt is the text after the prefix and may be empty.
  Single-token answers after non-empty prompts are read off each prompt's last position; otherwise each
  (prompt, answer) pair is a continuation and the answer's own tokens are read.
* ``answers`` a list of strings — the same answers after every prompt, prompts batched
  (``answer_token_logprobs``).
* ``answers`` a list of lists — each prompt with its own answers (``pair_token_logprobs``).

Prompts are used verbatim (apply the chat template first); prompt and answer are tokenized separately.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from workbench import WorkbenchError

NORMALIZE = ("sum", "mean", "first")


@dataclass(frozen=True)
class AnswerProbs:
    logprob: np.ndarray     # [N, A] log-likelihood of each answer after each prompt, under ``normalize``
    n_tokens: np.ndarray    # [N, A] each answer's length in tokens
    probs: np.ndarray       # [N, A] exp(logprob) renormalised over the A answers; rows sum to 1
    normalize: str

    def log_odds(self, a: int = 0, b: int = 1) -> np.ndarray:
        """[N] log(P(answer a) / P(answer b)) = logprob[:, a] − logprob[:, b]."""
        return self.logprob[:, a] - self.logprob[:, b]

    def best(self) -> np.ndarray:
        """[N] the index of the most likely answer per prompt (the first on a tie)."""
        return self.logprob.argmax(1)


def sigmoid(log_odds) -> np.ndarray:
    """σ(x) = 1 / (1 + e^−x): a two-answer probability from its log-odds (``probs[:, 0]`` for two answers).
    For log-odds combined across readouts, as the rejection judge's contrastive reading does."""
    return 1.0 / (1.0 + np.exp(-np.asarray(log_odds, dtype=float)))


def _reduce(tokens: np.ndarray, normalize: str) -> float:
    """One number from an answer's token log-probabilities [S]."""
    if normalize == "sum":
        return float(tokens.sum())
    if normalize == "mean":
        return float(tokens.mean())
    return float(tokens[0])


def _softmax(logprob: np.ndarray) -> np.ndarray:
    p = np.exp(logprob - logprob.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True)


def answer_probs(lm, prompts: Sequence[str], answers: Sequence[str] | Sequence[Sequence[str]], *,
                 normalize: str = "sum", prefix: str | None = None, batch_size: int = 8, reuse_prefix: bool = True,
                 max_packed_tokens: int = 2048, progress: Callable[[int, int], None] | None = None) -> AnswerProbs:
    """The probabilities of ``answers`` after each of ``prompts`` (see the module docstring).

    ``answers``: the same list for every prompt (e.g. ``[" Yes", " No"]``), or one list per prompt, all of the
    same length. ``normalize``: ``"sum"``, ``"mean"`` or ``"first"``. ``prefix``: text every prompt follows,
    run once with its KV cache shared (``reuse_prefix=False`` runs each in full, the naive baseline, packed up
    to ``max_packed_tokens`` a pass otherwise). ``batch_size`` and ``progress(done, n)`` apply without a prefix.
    """
    from workbench.llm.scoring import _encode, answer_token_logprobs, encode_prompt, pair_token_logprobs

    prompts, rows, answer_ids, per_row, width = _answer_rows(lm, prompts, answers, normalize)
    if not prompts:
        return _empty(width, normalize)

    if prefix is not None:
        tokens = _after_prefix(lm, encode_prompt(lm, prefix), [_encode(lm, p) for p in prompts], answer_ids,
                               per_row, reuse_prefix, max_packed_tokens)
    elif per_row:
        flat = pair_token_logprobs(lm, [encode_prompt(lm, p) for p in prompts for _ in range(width)],
                                   [t for r in answer_ids for t in r], batch_size=batch_size,
                                   progress=(lambda d, n: progress(min(len(prompts), -(-d // width)), len(prompts)))
                                   if progress else None)
        tokens = [flat[i * width:(i + 1) * width] for i in range(len(prompts))]
    else:
        shared = answer_token_logprobs(lm, [encode_prompt(lm, p) for p in prompts], answer_ids[0],
                                       batch_size=batch_size, progress=progress)
        tokens = [[shared[a][i] for a in range(width)] for i in range(len(prompts))]

    return _finish(lm, tokens, rows, normalize)


def _empty(width: int, normalize: str) -> AnswerProbs:
    return AnswerProbs(np.zeros((0, width)), np.zeros((0, width), dtype=int), np.zeros((0, width)), normalize)


def _finish(lm, tokens, rows, normalize: str) -> AnswerProbs:
    """``AnswerProbs`` from each answer's token log-probabilities ``tokens`` [N][A] (arrays [S])."""
    from workbench.llm.scoring import _encode

    logprob = np.array([[_reduce(t, normalize) for t in row] for row in tokens])                    # [N, A]
    n_tokens = np.array([[len(_encode(lm, a)) for a in r] for r in rows])
    return AnswerProbs(logprob, n_tokens, _softmax(logprob), normalize)


def _answer_rows(lm, prompts, answers, normalize: str):
    """The checked question: (prompts, answer texts per prompt [N][A], their token ids (cut to the first token
    for ``"first"``), whether the answers differ per prompt, A)."""
    from workbench.llm.scoring import _encode

    if normalize not in NORMALIZE:
        raise WorkbenchError(f"unknown normalize '{normalize}'; choose from {', '.join(NORMALIZE)}")
    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    if isinstance(answers, str) or not len(answers):
        raise WorkbenchError("give the answers as a non-empty list of strings (or one such list per prompt)")
    per_row = not isinstance(answers[0], str)
    rows = [list(a) for a in answers] if per_row else [list(answers)] * len(prompts)
    if per_row and len(rows) != len(prompts):
        raise WorkbenchError(f"{len(rows)} answer lists for {len(prompts)} prompts; give one list per prompt")
    width = len(rows[0]) if rows else len(answers)
    if any(len(r) != width or not r for r in rows):
        raise WorkbenchError("every prompt needs the same number of answers (at least one)")
    answer_ids = [[_encode(lm, a) for a in r] for r in rows]
    for r, ids in zip(rows, answer_ids):
        empty = [a for a, t in zip(r, ids) if not t]
        if empty:
            raise WorkbenchError(f"answer {empty[0]!r} is empty")
    if normalize == "first":
        answer_ids = [[t[:1] for t in r] for r in answer_ids]
    return prompts, rows, answer_ids, per_row, width


def answer_probs_from_tokens(lm, prompts, answers, *, normalize: str = "sum", encode: Callable[[str], list[int]],
                             score: Callable[[list[list[int]], list[list[list[int]]]], list]) -> AnswerProbs:
    """``answer_probs`` for another engine: ``encode(prompt)`` gives a prompt's tokens (prefix included) and
    ``score(prompt_ids [N], answer_ids [N][A])`` each answer's token log-probabilities after its prompt [N][A]
    (arrays [S]); checking the question and the length modes are this module's, as for the ``hf`` engine."""
    prompts, rows, answer_ids, _, width = _answer_rows(lm, prompts, answers, normalize)
    if not prompts:
        return _empty(width, normalize)
    return _finish(lm, score([encode(p) for p in prompts], answer_ids), rows, normalize)


def _after_prefix(lm, prefix_ids, prompt_ids, answer_ids, per_row, reuse_prefix, max_packed_tokens):
    """Token log-probabilities [N][A] of each answer after prefix + prompt, the prefix computed once."""
    from workbench.llm.scoring import score_ids

    if not per_row and all(prompt_ids) and all(len(t) == 1 for t in answer_ids[0]):
        # one continuation per prompt, the answers read off its last position
        scores = score_ids(lm, prefix_ids, prompt_ids, [t[0] for t in answer_ids[0]], reuse_prefix=reuse_prefix,
                           max_packed_tokens=max_packed_tokens)
        return [[np.array([v]) for v in row] for row in scores.readout]
    conts = [p + t for p, r in zip(prompt_ids, answer_ids) for t in r]
    scores = score_ids(lm, prefix_ids, conts, reuse_prefix=reuse_prefix, max_packed_tokens=max_packed_tokens)
    width = len(answer_ids[0])
    return [[scores.token_logprobs[i * width + a][-len(answer_ids[i][a]):] for a in range(width)]
            for i in range(len(prompt_ids))]


__all__ = ["AnswerProbs", "NORMALIZE", "answer_probs", "sigmoid"]
