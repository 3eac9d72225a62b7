"""Language-model engines behind one interface: generation, answer read-outs and prompt log-probabilities.

Every pipeline that generates or scores text (expansion, rejection sampling, raters, the misalignment detectors)
asks an ``Engine`` rather than a model handle, so the same pipeline runs on Hugging Face transformers (``hf``,
the default) or on vLLM's offline engine (``vllm``, continuous batching and prefix caching on GPUs). The engine
is chosen with ``--engine hf|vllm`` (``$WORKBENCH_ENGINE``), or ``engine = "vllm"`` in a roles file.

An engine answers three questions (``Engine``):

* ``generate(prompts, n=, seeds=, temperature=, top_p=, max_new_tokens=, system=)`` — ``n`` completions per
  prompt, each sampled with its own seed (one per prompt; sample j > 0 of a prompt uses a seed derived from it),
  so a completion does not depend on which prompts share its batch;
* ``answer_probs(prompts, answers, normalize=, prefix=, batch_size=)`` — the read-out of
  ``workbench.llm.readout`` (``AnswerProbs``), multi-token answers included (``batch_size`` is a hint that
  engines batching on their own may ignore);
* ``prompt_logprobs(prompts)`` — per token, log p(token | the tokens before it) of each prompt as the model reads
  it (the first token has none).

``load_engine(model, kind)`` builds one for a zoo model; ``as_engine(x)`` accepts an engine or a ``CausalLM``
(wrapped in ``hf``); ``select_engine(x)`` is what the consumers (HHH judges, the LLM taxonomy classifier, the meme
explanation, the deepfake reasoning stage) call: a name, or a zoo model's handle, runs on the engine ``--engine``
picked. ``register(kind, factory)`` adds an implementation (the contract tests' fake engine). Steering and the
expert mixtures put hooks and adapters inside the HF model, so they call ``require_hf`` and refuse other engines.
"""
from __future__ import annotations

import os
from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from workbench import WorkbenchError
from workbench.seeding import row_seed

ENGINES = ("hf", "vllm")
ENV = "WORKBENCH_ENGINE"


@runtime_checkable
class Engine(Protocol):
    kind: str          # "hf", "vllm", …
    name: str          # the model's zoo name (provenance of generated rows)

    def build_prompt(self, prompt: str, *, system: str | None = None) -> str: ...

    def generate(self, prompts: Sequence[str], *, n: int = 1, seeds: int | Sequence[int] = 0,
                 system: str | None = None, max_new_tokens: int = 64, temperature: float = 0.0,
                 top_p: float = 1.0) -> list[list[str]]: ...

    def answer_probs(self, prompts: Sequence[str], answers, *, normalize: str = "sum", prefix: str | None = None,
                     batch_size: int | None = None, progress: Callable[[int, int], None] | None = None): ...

    def prompt_logprobs(self, prompts: Sequence[str]) -> list[np.ndarray]: ...


def sample_seeds(prompts: Sequence[str], seeds: int | Sequence[int], n: int) -> list[list[int]]:
    """[len(prompts)][n] sampling seeds: one seed per prompt (an int is used for every prompt), sample 0 with it
    and sample j > 0 with ``row_seed(seed, "sample", j, 0)``, so n = 1 reproduces a single-sample call."""
    if n < 1:
        raise WorkbenchError(f"n must be at least 1 (got {n})")
    per_prompt = [int(seeds)] * len(prompts) if isinstance(seeds, (int, np.integer)) else [int(s) for s in seeds]
    if len(per_prompt) != len(prompts):
        raise WorkbenchError(f"{len(per_prompt)} seeds for {len(prompts)} prompts; give one seed per prompt")
    return [[s if j == 0 else row_seed(s, "sample", j, 0) for j in range(n)] for s in per_prompt]


def engine_kind(kind: str | None = None) -> str:
    """``kind``, else ``$WORKBENCH_ENGINE``, else ``hf``; an unknown name is an error naming the choices."""
    kind = (kind or os.environ.get(ENV) or "hf").lower()
    if kind not in _FACTORIES:
        raise WorkbenchError(f"unknown engine '{kind}'; choose from {', '.join(_FACTORIES)}")
    return kind


def roles_engine(path) -> str | None:
    """The ``engine = "hf"|"vllm"`` line of a TOML roles file (``--roles``), or None; another value is an error.
    An unreadable file is left to ``workbench.profiles.load_roles`` to report."""
    import tomllib
    from pathlib import Path

    try:
        value = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("engine")
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    if value is not None and value not in ENGINES:
        raise WorkbenchError(f"{path}: engine = {value!r}; choose from {', '.join(ENGINES)}")
    return value


def _hf(model: str, progress: Callable[[str], None] | None = None) -> Engine:
    from workbench.engines.hf import HFEngine
    from workbench.models import load

    return HFEngine(load(model, progress=progress))


def _vllm(model: str) -> Engine:
    from workbench.engines.vllm import VLLMEngine

    return VLLMEngine.for_model(model)


_FACTORIES: dict[str, Callable[[str], Engine]] = {"hf": _hf, "vllm": _vllm}
_CACHE: dict[tuple[str, str], Engine] = {}


def register(kind: str, factory: Callable[[str], Engine]) -> None:
    """Make ``kind`` selectable (``factory(model_name) -> Engine``); replacing ``hf``/``vllm`` is refused."""
    if kind in ENGINES:
        raise WorkbenchError(f"engine '{kind}' is built in and cannot be replaced")
    _FACTORIES[kind] = factory


def unregister(kind: str) -> None:
    if kind not in ENGINES:
        _FACTORIES.pop(kind, None)
        for key in [k for k in _CACHE if k[0] == kind]:
            del _CACHE[key]


def load_engine(model: str, kind: str | None = None, *, progress: Callable[[str], None] | None = None) -> Engine:
    """The engine ``kind`` (see ``engine_kind``) over zoo model ``model``, once per process (an ``hf`` engine
    shares the model of ``workbench.models.load``, which reports to ``progress``; a ``vllm`` engine holds its own
    GPU memory)."""
    kind = engine_kind(kind)
    if kind == "hf":
        return _hf(model, progress)      # load() already caches, per rehearsal
    key = (kind, model)
    if key not in _CACHE:
        _CACHE[key] = _FACTORIES[kind](model)
    return _CACHE[key]


def as_engine(model) -> Engine:
    """``model`` itself when it is an engine; a ``CausalLM`` handle wrapped in the ``hf`` engine."""
    from workbench.models.loaders import CausalLM

    if isinstance(model, CausalLM):
        from workbench.engines.hf import HFEngine

        return HFEngine(model)
    if isinstance(model, Engine):
        return model
    raise WorkbenchError(f"{type(model).__name__} is neither an engine nor a causal LM handle")


def select_engine(model) -> Engine:
    """The engine a consumer runs ``model`` on: an engine as it is; a zoo model's name on the engine that
    ``--engine`` (``$WORKBENCH_ENGINE``) picks; a ``CausalLM`` handle wrapped in ``hf`` when ``hf`` is picked, else
    the picked engine over the handle's zoo model (so code that loads a handle and passes it on follows
    ``--engine``; a handle carrying hooks or adapters stays on ``hf``: see ``require_hf``)."""
    from workbench.models.loaders import CausalLM

    if isinstance(model, str):
        return load_engine(model)
    if isinstance(model, CausalLM) and engine_kind() != "hf":
        return load_engine(model.name)
    if isinstance(model, (CausalLM, Engine)):
        return as_engine(model)
    raise WorkbenchError(f"{type(model).__name__} is neither an engine, a causal LM handle nor a model name")


def uses_chat_template(engine: Engine) -> bool:
    """Whether ``engine.build_prompt`` wraps a prompt (an instruct model's chat template) or passes it verbatim."""
    probe = "Is this text wrapped?"
    return engine.build_prompt(probe) != probe


def require_hf(what: str, why: str) -> None:
    """Refuse, in one line, to run ``what`` on an engine other than ``hf`` (``why``: what it needs of the HF model)."""
    kind = engine_kind()
    if kind != "hf":
        raise WorkbenchError(f"{what} runs on the hf engine only: {why}, which the {kind} engine does not expose; "
                             f"run it with --engine hf (the default)")


__all__ = ["ENGINES", "Engine", "as_engine", "engine_kind", "load_engine", "register", "require_hf", "roles_engine",
           "sample_seeds", "select_engine", "unregister", "uses_chat_template"]
