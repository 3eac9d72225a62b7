"""The ``hf`` engine: Hugging Face transformers on a ``CausalLM`` handle, today's code paths batched across prompts.

Generation sorts the prompts by token length, runs them ``batch_size`` at a time (left-padded, so prompts of
similar length share a batch and little padding is computed) and puts the completions back in the callers'
order. Sampled rows each draw from their own seeded generator (``workbench.llm.generate.RowSampler``), so a
completion is the one a single-prompt ``generate(lm, prompt, seed=s)`` gives, whatever its batch (up to the
float rounding of padded batches). Read-outs are ``workbench.llm.readout.answer_probs`` itself (KV-cache reuse
of a shared prefix as before; ``tuned(reuse_prefix=False)`` gives the naive full passes the label-scoring
benchmark compares with). Used through ``workbench.engines.load_engine``.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from workbench.engines import sample_seeds
from workbench.models.loaders import CausalLM


class HFEngine:
    kind = "hf"

    def __init__(self, lm: CausalLM, *, batch_size: int = 16, score_batch_size: int = 8, reuse_prefix: bool = True,
                 max_packed_tokens: int = 2048):
        self.lm, self.batch_size, self.score_batch_size = lm, batch_size, score_batch_size
        self.reuse_prefix, self.max_packed_tokens = reuse_prefix, max_packed_tokens

    def tuned(self, *, reuse_prefix: bool | None = None, max_packed_tokens: int | None = None) -> "HFEngine":
        """This engine with the read-out's prefix handling changed (``None`` keeps a setting)."""
        return HFEngine(self.lm, batch_size=self.batch_size, score_batch_size=self.score_batch_size,
                        reuse_prefix=self.reuse_prefix if reuse_prefix is None else reuse_prefix,
                        max_packed_tokens=max_packed_tokens or self.max_packed_tokens)

    @property
    def name(self) -> str:
        return self.lm.name

    def build_prompt(self, prompt: str, *, system: str | None = None) -> str:
        from workbench.llm.generate import build_prompt

        return build_prompt(self.lm, prompt, system=system)

    def _buckets(self, lengths: list[int]) -> list[np.ndarray]:
        """Indices sorted by length (stable), cut into batches of ``batch_size``."""
        order = np.argsort(lengths, kind="stable")
        return [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def generate(self, prompts: Sequence[str], *, n: int = 1, seeds: int | Sequence[int] = 0,
                 system: str | None = None, max_new_tokens: int = 64, temperature: float = 0.0,
                 top_p: float = 1.0) -> list[list[str]]:
        """[len(prompts)][n] completions (see ``workbench.engines``); greedy when ``temperature == 0``."""
        from workbench.llm.generate import generate, uses_chat_template

        prompts = list(prompts)
        seeds = sample_seeds(prompts, seeds, n)
        draws = n if temperature > 0 else 1               # greedy samples are all the same completion
        jobs = [(i, j) for i in range(len(prompts)) for j in range(draws)]
        tok = self.lm.tokenizer
        chat = uses_chat_template(self.lm)
        texts = [self.build_prompt(p, system=system) for p in prompts]
        lengths = [len(tok.encode(texts[i], add_special_tokens=not chat)) for i, _ in jobs]
        out: list[list[str]] = [[""] * draws for _ in prompts]
        for rows in self._buckets(lengths):
            batch = [prompts[jobs[r][0]] for r in rows]
            row_seeds = [seeds[jobs[r][0]][jobs[r][1]] for r in rows] if temperature > 0 else None
            texts_out = generate(self.lm, batch, system=system, max_new_tokens=max_new_tokens,
                                 temperature=temperature, top_p=top_p, row_seeds=row_seeds)
            for r, text in zip(rows, texts_out):
                i, j = jobs[r]
                out[i][j] = text
        return [row * n if draws == 1 else row for row in out]

    def answer_probs(self, prompts: Sequence[str], answers, *, normalize: str = "sum", prefix: str | None = None,
                     batch_size: int | None = None, progress: Callable[[int, int], None] | None = None):
        from workbench.llm.readout import answer_probs

        return answer_probs(self.lm, prompts, answers, normalize=normalize, prefix=prefix,
                            batch_size=batch_size or self.score_batch_size, reuse_prefix=self.reuse_prefix,
                            max_packed_tokens=self.max_packed_tokens, progress=progress)

    @torch.inference_mode()
    def prompt_logprobs(self, prompts: Sequence[str]) -> list[np.ndarray]:
        """[S − 1] per prompt: log p(token t | tokens < t) for t = 1 … S − 1 of the prompt as the model reads it."""
        from workbench.llm.scoring import _left_padded, encode_prompt

        ids = [encode_prompt(self.lm, p) for p in prompts]
        pad = self.lm.tokenizer.pad_token_id if self.lm.tokenizer.pad_token_id is not None else 0
        out: list[np.ndarray] = [np.zeros(0, dtype=np.float32)] * len(ids)
        for rows in self._buckets([len(x) for x in ids]):
            seqs = [ids[r] for r in rows]
            if max(map(len, seqs)) < 2:
                continue
            logits = _left_padded(self.lm, seqs, pad)                       # [B, T, V]
            logp = torch.log_softmax(logits[:, :-1], -1)                    # [B, T − 1, V]: predicting token t + 1
            width = logits.shape[1]
            for b, r in enumerate(rows):
                seq = ids[r]
                targets = torch.tensor(seq[1:], device=logp.device)
                out[r] = logp[b, width - len(seq):].gather(1, targets[:, None])[:, 0].cpu().numpy()
        return out
