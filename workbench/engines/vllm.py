"""The ``vllm`` engine: vLLM's offline ``LLM`` (continuous batching, prefix caching, tensor parallelism).

vLLM pins its own torch, so it lives in a separate environment (``make paper-env``, README "Engines and
multi-GPU runs"); it is imported only when this engine is asked for, and its absence is one clear error.

* generation: one ``SamplingParams(n=, seed=, temperature=, top_p=, max_tokens=)`` per prompt, so each prompt's
  samples come from its own seed (vLLM's per-request generator) whatever else runs beside it;
* read-outs: each (prompt, answer) pair is one request of ``prompt + answer`` token ids with
  ``prompt_logprobs``, the answer's tokens read from them — prompts that share a prefix (every answer of a
  prompt, the label questions of a text) reuse its cached KV blocks (``enable_prefix_caching=True``);
* prompt log-probabilities: the same request without an answer.

Tokens are those of the ``hf`` engine (``encode_prompt`` semantics: BOS in front of a raw prompt when the
tokenizer adds one; prompt and answer tokenized separately), so both engines score the same sequences.
``tensor_parallel_size`` defaults to ``$WORKBENCH_TP`` (else 1): models larger than one GPU.
"""
from __future__ import annotations

import importlib.util
import os
from typing import Callable, Sequence

import numpy as np

from workbench import WorkbenchError
from workbench.engines import sample_seeds

INSTALL = ("the vllm engine needs vLLM, which pins its own torch: create its environment with `make paper-env` "
           "(or: python -m venv .venv-vllm && .venv-vllm/bin/pip install vllm -e .) and run workbench from it")


def require_vllm():
    """The ``vllm`` module, or one ``WorkbenchError`` line saying how to install it."""
    if importlib.util.find_spec("vllm") is None:
        raise WorkbenchError(INSTALL)
    import vllm

    return vllm


class _Handle:
    """What ``build_prompt`` and the token helpers of ``workbench.llm`` need of a model: spec and tokenizer."""

    def __init__(self, spec, tokenizer):
        self.spec, self.tokenizer, self.name = spec, tokenizer, spec.name


class VLLMEngine:
    kind = "vllm"

    def __init__(self, llm, handle, *, name: str):
        self.llm, self.handle, self.name = llm, handle, name

    @classmethod
    def for_model(cls, model: str, *, tensor_parallel_size: int | None = None, load_format: str = "auto",
                  dtype: str = "auto", gpu_memory_utilization: float = 0.85, seed: int = 0) -> "VLLMEngine":
        """The engine over zoo model ``model`` (its local folder); ``load_format="dummy"`` gives random weights
        of the real architecture (benchmarks: no download, no weights read)."""
        vllm = require_vllm()
        from workbench.models import get_spec
        from workbench.models.sources import local_path

        spec = get_spec(model)
        if spec.role != "causal-lm":
            raise WorkbenchError(f"the vllm engine runs causal LMs; '{model}' is a {spec.role}")
        folder = str(local_path(spec))
        return cls.from_folder(folder, spec=spec, vllm=vllm, tensor_parallel_size=tensor_parallel_size,
                               load_format=load_format, dtype=dtype, gpu_memory_utilization=gpu_memory_utilization,
                               seed=seed)

    @classmethod
    def from_folder(cls, folder: str, *, spec=None, vllm=None, tensor_parallel_size: int | None = None,
                    load_format: str = "auto", dtype: str = "auto", gpu_memory_utilization: float = 0.85,
                    seed: int = 0) -> "VLLMEngine":
        vllm = vllm or require_vllm()
        from transformers import AutoTokenizer

        from workbench.models.registry import ModelSpec

        tp = tensor_parallel_size or int(os.environ.get("WORKBENCH_TP", "1"))
        llm = vllm.LLM(model=folder, tensor_parallel_size=tp, enable_prefix_caching=True, load_format=load_format,
                       dtype=dtype, gpu_memory_utilization=gpu_memory_utilization, seed=seed)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        spec = spec or ModelSpec(os.path.basename(folder.rstrip("/")), "causal-lm", "paper", f"dir:{folder}", 0,
                                 "a model folder run by vLLM")
        return cls(llm, _Handle(spec, tokenizer), name=spec.name)

    def build_prompt(self, prompt: str, *, system: str | None = None) -> str:
        from workbench.llm.generate import build_prompt

        return build_prompt(self.handle, prompt, system=system)

    def generate(self, prompts: Sequence[str], *, n: int = 1, seeds: int | Sequence[int] = 0,
                 system: str | None = None, max_new_tokens: int = 64, temperature: float = 0.0,
                 top_p: float = 1.0) -> list[list[str]]:
        from vllm import SamplingParams

        prompts = list(prompts)
        if not prompts:
            return []
        seeds = sample_seeds(prompts, seeds, n)
        texts = [self.build_prompt(p, system=system) for p in prompts]
        # sample j > 0 of a prompt is its own request, so that it uses the seed ``sample_seeds`` gives it
        jobs = [(i, j) for i in range(len(prompts)) for j in range(n if temperature > 0 else 1)]
        params = [SamplingParams(n=1, seed=seeds[i][j], temperature=temperature,
                                 top_p=top_p if temperature > 0 else 1.0, max_tokens=max_new_tokens)
                  for i, j in jobs]
        outs = self.llm.generate([{"prompt_token_ids": self._ids(texts[i])} for i, _ in jobs], params,
                                 use_tqdm=False)
        result: list[list[str]] = [[""] * n for _ in prompts]
        for (i, j), out in zip(jobs, outs):
            text = out.outputs[0].text.strip()
            for k in (range(n) if temperature <= 0 else [j]):
                result[i][k] = text
        return result

    def _ids(self, text: str) -> list[int]:
        from workbench.llm.scoring import encode_prompt

        return encode_prompt(self.handle, text)

    def _token_logprobs(self, sequences: list[list[int]]) -> list[np.ndarray]:
        """[S − 1] per sequence: log p of tokens 1 … S − 1 given the ones before (vLLM's prompt log-probs)."""
        from vllm import SamplingParams

        params = SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0)
        outs = self.llm.generate([{"prompt_token_ids": s} for s in sequences], params, use_tqdm=False)
        result = []
        for seq, out in zip(sequences, outs):
            entries = out.prompt_logprobs or [None]
            result.append(np.array([entries[t][seq[t]].logprob for t in range(1, len(seq))], dtype=np.float32))
        return result

    def prompt_logprobs(self, prompts: Sequence[str]) -> list[np.ndarray]:
        return self._token_logprobs([self._ids(p) for p in prompts])

    def answer_probs(self, prompts: Sequence[str], answers, *, normalize: str = "sum", prefix: str | None = None,
                     batch_size: int | None = None, progress: Callable[[int, int], None] | None = None):
        from workbench.llm.readout import answer_probs_from_tokens
        from workbench.llm.scoring import _encode

        def score(prompt_ids: list[list[int]], answer_ids: list[list[list[int]]]) -> list[list[np.ndarray]]:
            flat = [(i, a) for i in range(len(prompt_ids)) for a in range(len(answer_ids[i]))]
            token_lp = self._token_logprobs([prompt_ids[i] + answer_ids[i][a] for i, a in flat])
            rows: list[list[np.ndarray]] = [[None] * len(r) for r in answer_ids]
            for (i, a), lp in zip(flat, token_lp):
                rows[i][a] = lp[len(lp) - len(answer_ids[i][a]):]
            if progress:
                progress(len(prompt_ids), len(prompt_ids))
            return rows

        head = self._ids(prefix) if prefix is not None else []
        encode = (lambda p: head + _encode(self.handle, p)) if prefix is not None else self._ids
        return answer_probs_from_tokens(self.handle, prompts, answers, normalize=normalize, encode=encode,
                                        score=score)
