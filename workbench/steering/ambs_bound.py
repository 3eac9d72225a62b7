"""AMBS's policy–reference bound: every branch's next-token distribution kept within KL ε of a reference policy.

The paper bounds each branch's divergence from the shared reference but does not say how; everything here is
[ours]. The reference policy is the unsteered model on the branch's own history: π_ref(· | x, y_<t). The
branch's policy is the steered model's π_i(· | x, y_<t). At every decoding step the emitted distribution is the
geometric mixture

    log p_λ = log π_ref + λ · (log π_i − log π_ref) − log Z(λ),     λ ∈ [0, 1]

with the largest λ for which KL(p_λ ‖ π_ref) ≤ ε (λ = 1 — the branch as it is — when it already is within ε).
KL(p_λ ‖ π_ref) is non-decreasing in λ: p_λ is an exponential family in λ with sufficient statistic
s = log π_i − log π_ref, and d/dλ KL(p_λ ‖ π_ref) = λ · Var_{p_λ}(s) ≥ 0, so a bisection on λ that keeps its
lower end feasible finds λ with KL ≤ ε exactly (to float rounding). ε = ∞ is no bound: the branch's own policy,
so the outputs equal the naive 1-to-N's (same vectors, same multipliers; tested). ε = 0 gives the reference.

The bound acts on the policy (what is emitted); the steered residual stream of the branch is left as it is.

Mechanics: the reference policy on the branch's history needs the unsteered model on the same tokens. Steering
is added at the output of the branch layer ℓ, so a branch and its reference twin are identical through blocks
0…ℓ: ``ambs.branching`` runs those blocks once per (prompt, branch) — once per prompt for the prompt pass — and
only blocks ℓ+1…D−1 run for both twins. The batch holds, per prompt, rows [branch 1, twin 1, branch 2, twin 2, …].

Used by ``steering.ambs_eval`` (the P8 ``ambs_vs_naive`` artifacts), the P8 notebook and ``workbench steer ambs
--kl-bound``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from workbench import WorkbenchError
from workbench.steering.ambs import MODES, Branches, branching

BISECTION_STEPS = 30                # λ to within 2⁻³⁰


def kl(logp: torch.Tensor, logq: torch.Tensor) -> torch.Tensor:
    """KL(p ‖ q) over the last dim from log-probabilities: [...]."""
    return (logp.exp() * (logp - logq)).sum(-1).clamp_min(0.0)


def mixture(logp: torch.Tensor, ref: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    """log p_λ = normalised log π_ref + λ (log π − log π_ref); ``lam`` broadcasts over the last dim."""
    return torch.log_softmax(ref + lam.unsqueeze(-1) * (logp - ref), -1)


@dataclass(frozen=True)
class Bounded:
    """One step of the bound for every row: the emitted log-probs and how far they moved."""
    logp: torch.Tensor          # [..., V] emitted log-probabilities
    lam: torch.Tensor           # [...] the mixture weight λ (1 = the branch unchanged)
    kl_branch: torch.Tensor     # [...] KL(π_branch ‖ π_ref) before the bound
    kl: torch.Tensor            # [...] KL(p_λ ‖ π_ref) realised

    @property
    def bound(self) -> torch.Tensor:
        return self.lam < 1.0


def policy_reference(logp: torch.Tensor, ref: torch.Tensor, epsilon: float) -> Bounded:
    """The branch ``logp`` pulled toward the reference ``ref`` (both log-probs [..., V]) until KL ≤ ``epsilon``."""
    if not epsilon >= 0:
        raise WorkbenchError(f"the KL bound ε must be ≥ 0 (or inf), not {epsilon}")
    logp, ref = logp.float(), ref.float()
    full = kl(logp, ref)
    if math.isinf(epsilon):
        return Bounded(logp, torch.ones_like(full), full, full)
    lam = torch.ones_like(full)
    need = full > epsilon                                          # only the rows off bounds are searched
    if need.any():
        branch, reference = logp[need], ref[need]                  # [R, V]
        lo, hi = torch.zeros_like(full[need]), torch.ones_like(full[need])
        for _ in range(BISECTION_STEPS if epsilon > 0 else 0):    # ε = 0: λ = 0, the reference itself
            mid = (lo + hi) / 2
            ok = kl(mixture(branch, reference, mid), reference) <= epsilon
            lo, hi = torch.where(ok, mid, lo), torch.where(ok, hi, mid)
        lam[need] = lo
    out = mixture(logp, ref, lam)
    return Bounded(out, lam, full, kl(out, ref))


def with_twins(branches: Branches) -> Branches:
    """The branches interleaved with unsteered reference twins: [b1, b1·ref, b2, b2·ref, …]."""
    names, rows, mult = [], [], []
    for name, vector, m in zip(branches.names, branches.vectors, branches.multipliers):
        names += [name, f"{name}·reference"]
        rows += [vector, torch.zeros_like(vector)]
        mult += [m, 0.0]
    return Branches(branches.layer, names, torch.stack(rows), mult)


@dataclass(frozen=True)
class BoundedDecoding:
    tokens: torch.Tensor        # [B, N, T] (branches) or [B, T] (combined)
    lam: torch.Tensor           # [B, N, T]
    kl_branch: torch.Tensor     # [B, N, T] KL(π_branch ‖ π_ref) per step, before the bound
    kl: torch.Tensor            # [B, N, T] realised KL per step
    alive: torch.Tensor         # [B, N, T] True until (and including) the step that emits the end token


@torch.inference_mode()
def decode_bounded(model, ids, mask, branches: Branches, n_tokens: int, *, epsilon: float, mode: str = "branches",
                   eos_token_id: int | None = None) -> BoundedDecoding:
    """Greedy decoding of every branch under the KL bound ``epsilon`` (module doc), the prefix shared."""
    from transformers import DynamicCache

    if mode not in MODES:
        raise WorkbenchError(f"unknown AMBS mode '{mode}'; choose from {', '.join(MODES)}")
    if n_tokens < 1:
        raise WorkbenchError("need at least one new token")
    n, b = len(branches), ids.shape[0]
    twins = with_twins(branches)
    ids, mask = ids.repeat_interleave(2 * n, 0), mask.repeat_interleave(2 * n, 0)
    step_pos = (mask.cumsum(-1) - 1).clamp(min=0)
    step_ids, cache = ids, DynamicCache()
    tokens, lams, kls_branch, kls = [], [], [], []
    with branching(model, twins) as state:
        for step in range(n_tokens):
            logits = model(input_ids=step_ids, attention_mask=mask, position_ids=step_pos, cache=cache,
                           use_cache=True, logits_to_keep=1).logits[:, -1].float()
            logp = torch.log_softmax(logits, -1).view(b, n, 2, -1)               # [B, N, branch | twin, V]
            step_out = policy_reference(logp[:, :, 0], logp[:, :, 1], epsilon)
            if mode == "combined":
                token = step_out.logp.mean(1).argmax(-1, keepdim=True).expand(b, n)   # [B, N]
            else:
                token = step_out.logp.argmax(-1)                                  # [B, N]
                if step == 0:             # from here on a branch and its twin are the only rows sharing tokens
                    for i in range(branches.layer + 1):
                        cache.layers[i].batch_repeat_interleave(n)
                    state["share"] = 2
            tokens.append(token)
            lams.append(step_out.lam), kls_branch.append(step_out.kl_branch), kls.append(step_out.kl)
            step_ids = token.reshape(-1).repeat_interleave(2).unsqueeze(1)        # [B·2N, 1]
            step_pos = step_pos[:, -1:] + 1
            mask = torch.cat([mask, torch.ones_like(step_ids)], 1)
    tokens_t = torch.stack(tokens, -1)                                            # [B, N, T]
    alive = torch.ones_like(tokens_t, dtype=torch.bool)
    if eos_token_id is not None:
        ended = (tokens_t == eos_token_id).long().cumsum(-1)
        alive = (ended - (tokens_t == eos_token_id).long()) == 0
    return BoundedDecoding(tokens_t[:, 0] if mode == "combined" else tokens_t, torch.stack(lams, -1),
                           torch.stack(kls_branch, -1), torch.stack(kls, -1), alive)


def generate_bounded(lm, prompts: list[str], branches: Branches, *, epsilon: float, max_new_tokens: int = 32,
                     mode: str = "branches") -> dict:
    """``ambs.generate`` under the KL bound: texts per branch (or combined) and ``steps``, one row per (prompt,
    branch, step) still before the end token: prompt, branch, step, kl_branch, kl, lam, bound."""
    import pandas as pd

    from workbench.steering.ambs import _cut_eos, _encode

    if not prompts:
        raise WorkbenchError("no prompts")
    ids, mask = _encode(lm, list(prompts))
    tok = lm.tokenizer
    out = decode_bounded(lm.model, ids, mask, branches, max_new_tokens, epsilon=epsilon, mode=mode,
                         eos_token_id=tok.eos_token_id)

    def texts(t):
        return [s.strip() for s in tok.batch_decode(_cut_eos(t, tok.eos_token_id), skip_special_tokens=True)]

    result: dict = {"mode": mode, "layer": branches.layer, "names": branches.names, "epsilon": epsilon}
    if mode == "combined":
        result["combined"] = texts(out.tokens)
    else:
        result["branches"] = {name: texts(out.tokens[:, i]) for i, name in enumerate(branches.names)}
    b, n, t = out.lam.shape
    grid = torch.cartesian_prod(torch.arange(b), torch.arange(n), torch.arange(t))
    keep = out.alive.reshape(-1) if mode == "branches" else torch.ones(b * n * t, dtype=torch.bool)
    grid = grid[keep]
    result["steps"] = pd.DataFrame({
        "prompt": grid[:, 0].numpy(), "branch": [branches.names[i] for i in grid[:, 1].tolist()],
        "step": grid[:, 2].numpy(), "kl_branch": out.kl_branch.reshape(-1)[keep].numpy(),
        "kl": out.kl.reshape(-1)[keep].numpy(), "lam": out.lam.reshape(-1)[keep].numpy(),
        "bound": out.lam.reshape(-1)[keep].numpy() < 1.0})
    return result


__all__ = ["BISECTION_STEPS", "Bounded", "BoundedDecoding", "decode_bounded", "generate_bounded", "kl", "mixture",
           "policy_reference", "with_twins"]
