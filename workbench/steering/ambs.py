"""AMBS (P8): one shared forward pass up to the branch layer, then N objective branches steered relative to a
shared reference.

Stage I runs blocks 0…ℓ once per prompt; the output of block ℓ is the shared reference h. Stage II clones it into
N branches, branch i = h + δ_i with δ_i = m_i · v_i (the objective's steering vector at layer ℓ), its
divergence from the reference bounded explicitly: ‖δ_i‖ ≤ ρ · ‖h‖ per token (``norm_bound`` ρ; None = no
bound), and runs blocks ℓ+1…D−1 for every branch, batched. Mechanically [ours]: the batch holds N copies of
each prompt (rows b·N + i); forward pre-hooks on blocks 0…ℓ keep only the first copy of each prompt (so those
blocks, and their KV cache, see B rows), and a forward hook on block ℓ expands its output back to N copies and
adds the bounded δ_i.
Any Hugging Face decoder works, since the model's own code builds masks and positions for the full batch.

Decoding [ours where the paper is silent]:

* ``"branches"`` — every branch continues on its own tokens: N outputs per prompt. Only the prompt pass is
  shared; afterwards the cache of blocks 0…ℓ is copied to every branch.
* ``"combined"`` — one output per prompt: each step takes argmax of the mean of the branches' next-token
  log-probabilities (a product of the objectives' experts), and every branch is fed that token, so blocks 0…ℓ
  stay shared at every step.

The policy–reference bound on next-token distributions (KL(branch ‖ reference) ≤ ε per decoding step) is in
``steering.ambs_bound``; it reuses ``branching`` with a reference twin beside every branch (``share`` below).

The naive 1-to-N baseline runs N independent full passes, each with its vector added by an ordinary steering
hook at the same layer with the same bound; with the bound inactive both give the same outputs (tested). For a
prompt pass the compute saving is bounded by N / (L/D + N·(1 − L/D)) with L = ℓ + 1 shared blocks of D.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from workbench import WorkbenchError
from workbench.steering.hooks import bounded, decoder_layers, hidden_of, resolve_layer, steer, with_hidden

MODES = ("branches", "combined")


def compute_bound(n: int, shared_layers: int, depth: int) -> float:
    """N / (L/D + N·(1 − L/D)): the most a shared prefix of L of D blocks can save over N full passes."""
    f = shared_layers / depth
    return n / (f + n * (1 - f))


@dataclass
class Branches:
    """N objectives at one branch layer: names, the vectors there [N, H] and their multipliers."""
    layer: int
    names: list[str]
    vectors: torch.Tensor
    multipliers: list[float]

    @classmethod
    def from_vectors(cls, model, layer: int | str, vectors: dict, multipliers: dict | float = 1.0,
                     include_reference: bool = False) -> "Branches":
        """``vectors``: name → ``SteeringVector`` (or tensor [H]) each holding ``layer``."""
        index = resolve_layer(model, layer)
        names, rows = [], []
        for name, vec in vectors.items():
            if hasattr(vec, "vectors"):
                if index not in vec.vectors:
                    raise WorkbenchError(f"the '{name}' vector has no layer {index} (it has {vec.layers})")
                vec = vec.vectors[index]
            names.append(name)
            rows.append(torch.as_tensor(vec, dtype=torch.float32))
        if not rows:
            raise WorkbenchError("AMBS needs at least one objective vector")
        mult = [float(multipliers.get(n, 1.0)) if isinstance(multipliers, dict) else float(multipliers) for n in names]
        if include_reference:
            names, rows, mult = ["reference"] + names, [torch.zeros_like(rows[0])] + rows, [0.0] + mult
        return cls(index, names, torch.stack(rows), mult)

    @property
    def deltas(self) -> torch.Tensor:
        return self.vectors * torch.tensor(self.multipliers).unsqueeze(1)

    def __len__(self) -> int:
        return len(self.names)


def _map_batch(x, rows: int, fn):
    """Apply ``fn`` to every tensor (also inside tuples) whose first dim is ``rows`` and that has ≥ 2 dims."""
    if isinstance(x, torch.Tensor):
        return fn(x) if x.dim() >= 2 and x.shape[0] == rows else x
    if isinstance(x, tuple):
        return tuple(_map_batch(v, rows, fn) for v in x)
    return x


@contextlib.contextmanager
def branching(model, branches: Branches, *, norm_bound: float | None = None):
    """Shared-prefix branching inside the ``with`` block (see the module doc). Yields a state dict whose
    ``share`` says how many consecutive rows of the batch blocks 0…ℓ compute once: N at first (every row of a
    prompt); set ``state["share"] = 1`` once every branch has its own tokens (the hooks then only add δ_i per
    row), or to k when runs of k rows keep feeding the same tokens (a branch and its reference twin)."""
    from workbench.engines import require_hf
    from workbench.steering.hooks import HF_ONLY

    require_hf("AMBS branching", HF_ONLY)
    blocks = decoder_layers(model)
    n, layer = len(branches), branches.layer
    deltas = branches.deltas
    state = {"share": n}
    handles = []

    def keep_first(module, args, kwargs):
        share = state["share"]
        if share == 1:
            return None
        if module is blocks[0]:                               # the full batch: N rows per prompt
            hidden = args[0] if args else kwargs["hidden_states"]
            state["rows"] = hidden.shape[0]
            if state["rows"] % n:
                raise WorkbenchError(f"the batch ({state['rows']} rows) is not N = {n} copies of each prompt")
        rows = state["rows"]

        def first(t):
            return t[::share]

        return (tuple(_map_batch(a, rows, first) for a in args),
                {k: _map_batch(v, rows, first) for k, v in kwargs.items()})

    def branch_out(module, args, output):
        hidden = hidden_of(output)
        d = deltas.to(device=hidden.device, dtype=hidden.dtype)
        reference = hidden.repeat_interleave(state["share"], 0) if state["share"] > 1 else hidden   # [B·N, T, H]
        delta = d.repeat(reference.shape[0] // n, 1).unsqueeze(1).expand_as(reference)
        return with_hidden(output, reference + bounded(delta, reference, norm_bound))

    try:
        for i in range(layer + 1):
            handles.append(blocks[i].register_forward_pre_hook(keep_first, with_kwargs=True))
        handles.append(blocks[layer].register_forward_hook(branch_out))
        yield state
    finally:
        for handle in handles:
            handle.remove()


def _encode(lm, prompts: list[str]):
    from workbench.llm.generate import build_prompt, uses_chat_template

    tok = lm.tokenizer
    tok.padding_side = "left"
    enc = tok([build_prompt(lm, p) for p in prompts], return_tensors="pt", padding=True,
              add_special_tokens=not uses_chat_template(lm))
    return enc["input_ids"].to(lm.device), enc["attention_mask"].to(lm.device)


@torch.inference_mode()
def prompt_logits(model, ids, mask, branches: Branches, *, norm_bound: float | None = None,
                  naive: bool = False) -> torch.Tensor:
    """Next-token logits after the prompt for every (prompt, branch): [B, N, V]. ``naive`` runs N full passes."""
    n = len(branches)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    if naive:
        out = []
        for i in range(n):
            with steer(model, {branches.layer: branches.vectors[i]}, multiplier=branches.multipliers[i],
                       norm_bound=norm_bound):
                out.append(model(input_ids=ids, attention_mask=mask, position_ids=positions,
                                 logits_to_keep=1).logits[:, -1])
        return torch.stack(out, 1)
    with branching(model, branches, norm_bound=norm_bound):
        logits = model(input_ids=ids.repeat_interleave(n, 0), attention_mask=mask.repeat_interleave(n, 0),
                       position_ids=positions.repeat_interleave(n, 0), logits_to_keep=1).logits[:, -1]
    return logits.view(ids.shape[0], n, -1)


@torch.inference_mode()
def decode(model, ids, mask, branches: Branches, n_tokens: int, *, mode: str = "branches",
           norm_bound: float | None = None, naive: bool = False, eos_token_id: int | None = None) -> torch.Tensor:
    """Greedy decoding of ``n_tokens``: [B, N, n_tokens] (``branches``) or [B, n_tokens] (``combined``)."""
    from transformers import DynamicCache

    if mode not in MODES:
        raise WorkbenchError(f"unknown AMBS mode '{mode}'; choose from {', '.join(MODES)}")
    if n_tokens < 1:
        raise WorkbenchError("need at least one new token")
    n, b = len(branches), ids.shape[0]
    if naive:
        return _decode_naive(model, ids, mask, branches, n_tokens, mode, norm_bound)
    ids, mask = ids.repeat_interleave(n, 0), mask.repeat_interleave(n, 0)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    cache = DynamicCache()
    out = []
    with branching(model, branches, norm_bound=norm_bound) as state:
        step_ids, step_pos = ids, positions
        for step in range(n_tokens):
            logits = model(input_ids=step_ids, attention_mask=mask, position_ids=step_pos, cache=cache,
                           use_cache=True, logits_to_keep=1).logits[:, -1].float()
            if mode == "combined":
                logp = torch.log_softmax(logits, -1).view(b, n, -1).mean(1)
                token = logp.argmax(-1).repeat_interleave(n).unsqueeze(1)
            else:
                token = logits.argmax(-1, keepdim=True)
                if step == 0:                     # from here on every branch has its own tokens
                    for i in range(branches.layer + 1):
                        cache.layers[i].batch_repeat_interleave(n)
                    state["share"] = 1
            out.append(token)
            step_ids, step_pos = token, step_pos[:, -1:] + 1
            mask = torch.cat([mask, torch.ones_like(token)], 1)
    tokens = torch.cat(out, 1).view(b, n, n_tokens)
    return tokens[:, 0] if mode == "combined" else tokens


def _decode_naive(model, ids, mask, branches, n_tokens, mode, norm_bound):
    """N independent steered models in lockstep (combined) or one after another (branches)."""
    from transformers import DynamicCache

    n = len(branches)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    caches = [DynamicCache() for _ in range(n)]
    tokens_per_branch = [[] for _ in range(n)]
    step_ids = [ids] * n
    step_pos = [positions] * n
    masks = [mask] * n
    for _ in range(n_tokens):
        logps = []
        for i in range(n):
            with steer(model, {branches.layer: branches.vectors[i]}, multiplier=branches.multipliers[i],
                       norm_bound=norm_bound):
                logits = model(input_ids=step_ids[i], attention_mask=masks[i], position_ids=step_pos[i],
                               cache=caches[i], use_cache=True, logits_to_keep=1).logits[:, -1].float()
            logps.append(torch.log_softmax(logits, -1))
        if mode == "combined":
            shared = torch.stack(logps, 1).mean(1).argmax(-1, keepdim=True)
            chosen = [shared] * n
        else:
            chosen = [lp.argmax(-1, keepdim=True) for lp in logps]
        for i in range(n):
            tokens_per_branch[i].append(chosen[i])
            step_ids[i], step_pos[i] = chosen[i], step_pos[i][:, -1:] + 1
            masks[i] = torch.cat([masks[i], torch.ones_like(chosen[i])], 1)
    tokens = torch.stack([torch.cat(t, 1) for t in tokens_per_branch], 1)     # [B, N, n_tokens]
    return tokens[:, 0] if mode == "combined" else tokens


def generate(lm, prompts: list[str], branches: Branches, *, max_new_tokens: int = 32, mode: str = "branches",
             norm_bound: float | None = None, naive: bool = False) -> dict:
    """Texts per branch (``branches``: {name: [text per prompt]}) or one per prompt (``combined``), plus the
    KL of each branch's first next-token distribution to the reference branch when there is one."""
    if not prompts:
        raise WorkbenchError("no prompts")
    ids, mask = _encode(lm, list(prompts))
    tokens = decode(lm.model, ids, mask, branches, max_new_tokens, mode=mode, norm_bound=norm_bound, naive=naive)
    tok = lm.tokenizer

    def texts(t):
        return [s.strip() for s in tok.batch_decode(_cut_eos(t, tok.eos_token_id), skip_special_tokens=True)]

    result: dict = {"mode": mode, "layer": branches.layer, "names": branches.names}
    if mode == "combined":
        result["combined"] = texts(tokens)
    else:
        result["branches"] = {name: texts(tokens[:, i]) for i, name in enumerate(branches.names)}
    if "reference" in branches.names:
        logits = prompt_logits(lm.model, ids, mask, branches, norm_bound=norm_bound)
        logp = torch.log_softmax(logits.float(), -1)
        ref = logp[:, branches.names.index("reference")]
        result["kl_to_reference"] = {name: float((logp[:, i].exp() * (logp[:, i] - ref)).sum(-1).mean())
                                     for i, name in enumerate(branches.names)}
    return result


def _cut_eos(tokens: torch.Tensor, eos: int | None) -> list[list[int]]:
    rows = tokens.tolist()
    if eos is None:
        return rows
    return [row[:row.index(eos)] if eos in row else row for row in rows]


def time_prompt_pass(model, ids, mask, branches: Branches, *, repeats: int = 3) -> dict:
    """Best-of-``repeats`` seconds of the shared-prefix prompt pass and of the N naive passes, their ratio, the
    compute bound and whether the two give the same next-token logits (bound inactive)."""
    from workbench.timing import best_of

    shared = prompt_logits(model, ids, mask, branches)
    naive = prompt_logits(model, ids, mask, branches, naive=True)
    t_shared = best_of(lambda: prompt_logits(model, ids, mask, branches), repeats)
    t_naive = best_of(lambda: prompt_logits(model, ids, mask, branches, naive=True), repeats)
    depth = len(decoder_layers(model))
    return {"n": len(branches), "layer": branches.layer, "shared_layers": branches.layer + 1, "depth": depth,
            "shared_s": t_shared, "naive_s": t_naive, "speedup": t_naive / t_shared,
            "bound": compute_bound(len(branches), branches.layer + 1, depth),
            "max_logit_diff": float((shared - naive).abs().max()),
            "same_argmax": bool(torch.equal(shared.argmax(-1), naive.argmax(-1)))}


__all__ = ["Branches", "MODES", "branching", "compute_bound", "decode", "generate", "prompt_logits",
           "time_prompt_pass"]

