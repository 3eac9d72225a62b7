"""Steering vectors from (positive, negative) example pairs (P8 AMBS, P7 MEDASSESS-X; CAA-style).

For each pair the model reads ``prompt + positive`` and ``prompt + negative`` (the prompt through the chat
template when the model has one) and the output of each chosen decoder block is read at ``position``:

* ``"last"`` — the last token of the answer;
* ``"answer"`` — the mean over the answer's tokens.

The per-pair differences d_i = h(positive_i) − h(negative_i) at each layer are aggregated by a strategy:

* ``mean_difference`` — v = mean_i d_i (CAA; the AMBS code's starting point);
* ``pca`` [ours] — the first principal direction of the d_i (uncentred, so a shared offset counts), signed to
  agree with the mean difference and scaled to its norm;
* ``learned_cosine`` — AMBS's refinement: the unit direction maximising the mean cosine to the d_i, rescaled to
  the mean-difference norm. The maximiser of mean_i cos(v, d_i) = v·(mean_i d_i/‖d_i‖)/‖v‖ is the mean of the
  normalised differences, so it is computed in closed form (the authors run gradient ascent to the same point).

A ``SteeringVector`` holds one vector per layer and its provenance; ``save("v.safetensors")`` writes the vectors
there and the provenance beside them in ``v.json`` (``workbench.io.save_weights``; no pickle).
"""
from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from workbench import WorkbenchError

READ_POSITIONS = ("last", "answer")


def mean_difference(diffs: torch.Tensor) -> torch.Tensor:
    return diffs.mean(0)


def pca(diffs: torch.Tensor) -> torch.Tensor:
    mean = diffs.mean(0)
    _, _, vt = torch.linalg.svd(diffs.double(), full_matrices=False)
    direction = vt[0].to(diffs.dtype)
    if torch.dot(direction, mean) < 0:
        direction = -direction
    return direction * mean.norm()


def learned_cosine(diffs: torch.Tensor) -> torch.Tensor:
    units = diffs / diffs.norm(dim=1, keepdim=True).clamp_min(1e-12)
    direction = units.mean(0)
    return direction / direction.norm().clamp_min(1e-12) * diffs.mean(0).norm()


AGGREGATORS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "mean_difference": mean_difference, "pca": pca, "learned_cosine": learned_cosine}


@dataclass
class SteeringVector:
    vectors: dict[int, torch.Tensor]
    model: str
    aggregator: str = "mean_difference"
    position: str = "last"
    n_pairs: int = 0
    objective: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def layers(self) -> list[int]:
        return sorted(self.vectors)

    def save(self, path: str | Path) -> Path:
        """Write ``NAME.safetensors`` (one float32 vector per layer) and ``NAME.json`` (model, aggregator,
        position, pairs, objective, extra) beside it; returns ``path``."""
        from workbench.io import save_weights

        folder, name = _vector_file(path)
        config = {"model": self.model, "aggregator": self.aggregator, "position": self.position,
                  "n_pairs": self.n_pairs, "objective": self.objective, "extra": self.extra}
        save_weights(folder, name, {f"layer.{k}": v.detach().float() for k, v in self.vectors.items()}, config)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> "SteeringVector":
        from workbench.io import ArtifactError, load_weights

        folder, name = _vector_file(path)
        if not Path(path).is_file():
            raise WorkbenchError(f"{path}: no such steering vector file")
        try:
            tensors, config = load_weights(folder, name)
            vectors = {int(k.split(".", 1)[1]): v for k, v in tensors.items()}
        except (ArtifactError, ValueError, IndexError) as exc:
            raise WorkbenchError(f"{path}: not a steering vector file ({exc})") from None
        if not isinstance(config, dict) or "model" not in config or not vectors:
            raise WorkbenchError(f"{path}: not a steering vector file (no model or no layers)")
        return cls(vectors, config["model"], config.get("aggregator", ""), config.get("position", ""),
                   int(config.get("n_pairs", 0)), config.get("objective", ""), config.get("extra", {}))

    def config(self) -> dict:
        d = asdict(self)
        d.pop("vectors")
        return {**d, "layers": self.layers, "norms": {k: float(v.norm()) for k, v in self.vectors.items()}}


def aggregator_agreement(vectors: dict, layers, reference: str = "mean_difference"):
    """How far the aggregators agree: the cosine of each ``(objective, aggregator) → SteeringVector`` to the same
    objective's ``reference`` vector at each layer; a frame indexed by (objective, layer), one column per
    aggregator."""
    import pandas as pd

    rows = [{"objective": o, "aggregator": a, "layer": layer,
             "cosine": float(torch.nn.functional.cosine_similarity(v.vectors[layer], vectors[(o, reference)]
                                                                   .vectors[layer], dim=0))}
            for (o, a), v in vectors.items() for layer in layers]
    return pd.DataFrame(rows).pivot_table(index=["objective", "layer"], columns="aggregator", values="cosine")


def _vector_file(path: str | Path) -> tuple[Path, str]:
    """(folder, name) of a vector file ``folder/NAME.safetensors``; its config is ``folder/NAME.json``."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise WorkbenchError(f"{path}: a steering vector file ends in .safetensors")
    return path.parent, path.name.removesuffix(".safetensors")


@contextlib.contextmanager
def block_outputs(model, layers: list[int]):
    """Record the outputs of the given decoder blocks during the ``with`` block: layer → tensor [B, T, H]. The
    recording hooks come after any steering hooks already in place, so they see the steered stream."""
    from workbench.engines import require_hf
    from workbench.steering.hooks import HF_ONLY, decoder_layers, hidden_of

    require_hf("reading steering activations", HF_ONLY)
    blocks = decoder_layers(model)
    seen: dict[int, torch.Tensor] = {}
    handles = [blocks[layer].register_forward_hook(
        lambda module, args, output, layer=layer: seen.__setitem__(layer, hidden_of(output).detach()))
        for layer in layers]
    try:
        yield seen
    finally:
        for handle in handles:
            handle.remove()


@dataclass
class PairBatch:
    start: int                 # index of the batch's first pair
    ids: torch.Tensor          # [B, T] prompt + answer tokens, right-padded
    mask: torch.Tensor         # [B, T] attention mask
    answer: torch.Tensor       # [B, T] 1.0 on the answer's tokens
    heads: list[list[int]]     # prompt tokens per row
    tails: list[list[int]]     # answer tokens per row


def pair_batches(lm, prompts: list[str], answers: list[str], batch_size: int = 8):
    """(prompt through the chat template) + answer, tokenized separately and joined, in right-padded batches."""
    from workbench.llm.generate import build_prompt, uses_chat_template

    if len(prompts) != len(answers) or not prompts:
        raise WorkbenchError(f"need as many answers as prompts (got {len(prompts)} and {len(answers)}), at least one")
    tok = lm.tokenizer
    special = not uses_chat_template(lm)
    heads = [tok.encode(build_prompt(lm, p), add_special_tokens=special) for p in prompts]
    tails = [tok.encode(a, add_special_tokens=False) for a in answers]
    if any(not t for t in tails):
        raise WorkbenchError("an answer is empty")
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    for start in range(0, len(prompts), batch_size):
        hs, ts = heads[start:start + batch_size], tails[start:start + batch_size]
        width = max(len(h) + len(t) for h, t in zip(hs, ts))
        ids = torch.full((len(hs), width), pad, dtype=torch.long)
        mask = torch.zeros((len(hs), width), dtype=torch.long)
        answer = torch.zeros((len(hs), width))
        for i, (h, t) in enumerate(zip(hs, ts)):
            ids[i, :len(h) + len(t)], mask[i, :len(h) + len(t)] = torch.tensor(h + t), 1
            answer[i, len(h):len(h) + len(t)] = 1.0
        yield PairBatch(start, ids.to(lm.device), mask.to(lm.device), answer, hs, ts)


@torch.inference_mode()
def read_activations(lm, prompts: list[str], answers: list[str], layers: list[int], *, position: str = "last",
                     batch_size: int = 8, progress=None) -> dict[int, torch.Tensor]:
    """Block outputs at ``layers`` read at ``position`` for every (prompt, answer): layer → [N, H] (float32)."""
    from workbench.steering.hooks import resolve_layer

    if position not in READ_POSITIONS:
        raise WorkbenchError(f"position must be one of {', '.join(READ_POSITIONS)}")
    layers = [resolve_layer(lm.model, layer) for layer in layers]
    out: dict[int, list[torch.Tensor]] = {layer: [] for layer in layers}
    for batch in pair_batches(lm, prompts, answers, batch_size):
        ids, mask, answer, seqs = batch.ids, batch.mask.cpu(), batch.answer, batch.heads
        with block_outputs(lm.model, layers) as hidden:
            lm.model(input_ids=ids, attention_mask=batch.mask)
        last = mask.sum(1) - 1
        for layer in layers:
            h = hidden[layer].float().cpu()
            if position == "last":
                out[layer].append(h[torch.arange(len(seqs)), last])
            else:
                w = answer.unsqueeze(-1)
                out[layer].append((h * w).sum(1) / w.sum(1))
        if progress:
            progress(min(batch.start + batch_size, len(prompts)), len(prompts))
    return {layer: torch.cat(parts) for layer, parts in out.items()}


def train_vector(lm, prompts: list[str], positives: list[str], negatives: list[str], layers: list[int | str], *,
                 aggregator: str = "mean_difference", position: str = "last", objective: str = "",
                 batch_size: int = 8, progress=None) -> SteeringVector:
    """A steering vector per layer from (prompt, positive, negative) triples (see the module doc)."""
    if aggregator not in AGGREGATORS:
        raise WorkbenchError(f"unknown aggregator '{aggregator}'; choose from {', '.join(AGGREGATORS)}")
    if not (len(prompts) == len(positives) == len(negatives)) or not prompts:
        raise WorkbenchError("need the same number of prompts, positives and negatives (at least one)")
    n = len(prompts)
    acts = read_activations(lm, list(prompts) * 2, list(positives) + list(negatives), layers, position=position,
                            batch_size=batch_size, progress=progress)
    vectors = {layer: AGGREGATORS[aggregator](a[:n] - a[n:]) for layer, a in acts.items()}
    return SteeringVector(vectors, lm.name, aggregator, position, n, objective)


def projection_scores(lm, prompts, answers, vector: SteeringVector, *, batch_size: int = 8) -> np.ndarray:
    """How far each (prompt, answer) lies along the vector: the block output at the vector's first layer read at
    its position, projected on the unit vector [N]."""
    layer = vector.layers[0]
    acts = read_activations(lm, prompts, answers, [layer], position=vector.position or "last",
                            batch_size=batch_size)[layer]
    v = vector.vectors[layer].float()
    return (acts @ (v / v.norm())).numpy()


__all__ = ["AGGREGATORS", "READ_POSITIONS", "SteeringVector", "aggregator_agreement", "learned_cosine",
           "mean_difference", "pca", "block_outputs", "pair_batches", "projection_scores", "read_activations", "train_vector"]
