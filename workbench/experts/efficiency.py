"""What the mixture costs: our one-backbone mixture against a naive MoE of full fine-tuned copies.

* **Ours** — one backbone carrying N LoRA experts (``MixtureOfExperts``); every generated token is one forward
  pass in which each LoRA layer adds its experts' deltas with per-row weights.
* **Naive** — N full copies of the backbone, each with one expert merged into its weights
  (``merge_and_unload``); the mixture of a token is Σ_e w_e · softmax(logits_e), so every token costs N full
  forward passes (the "prior MoE designs" the papers compare against, where every expert sees every token). With
  top-1 routing the naive MoE can instead run each prompt through its chosen copy only (one sub-batch per copy);
  that variant is timed as well, and there the copies cost memory, not time.

Both decode greedily in the same hand-written loop with a KV cache, the same prompts and the same number of new
tokens (end-of-sequence ignored), so the loops differ only in the models they call. With one-hot weights the two
must produce the same tokens — checked, not assumed. Peak memory: ``torch.cuda.max_memory_allocated`` on a GPU;
on a CPU the peak resident set size of a fresh child process that loads one variant and generates, minus the
same process's size before loading.

The figures compare two different things, and ``efficiency_rows`` names both sides of each ratio:

* the **configured system** (the mixture's routing as configured — soft top-2 for AlignX and TrinityX: two
  experts per prompt, decided once per prompt; top-1 when so configured) against a named baseline — three full
  copies routed the same way, and PEFT's X-LoRA (a published MoE of LoRA experts) where it runs;
* a **dense mixture** (every expert weighted on every token) against three full copies run densely — the cost of
  mixing experts inside one backbone instead of mixing the outputs of three models, which is *not* the cost of the
  configured system.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from workbench import WorkbenchError
from workbench.timing import best_of


def full_copies(folder: str | Path, axes, device: str | None = None, *, source=None) -> list:
    """One full model per expert: a fresh backbone with that expert merged into its weights, loaded one at a
    time (the naive MoE never holds the mixture), on ``pick_device(device)`` in the same dtype as the mixture's
    backbone (``train.fresh_backbone``), so both sides of a comparison run alike.

    With ``source`` (a loaded ``MixtureOfExperts`` of the same folder) each copy is an in-memory copy of its
    backbone and adapters with that one expert merged (``merge_and_unload(adapter_names=[axis])``) — the same
    weights without reading and initialising the backbone again (what a timing run in one process needs; the
    memory measurement loads from the folder in its own process)."""
    import copy
    import json

    from workbench.engines import require_hf
    from workbench.experts.moe import HF_ONLY

    require_hf("the expert-mixture efficiency comparison", HF_ONLY)
    if source is not None:
        copies = []
        for axis in axes:
            clone = copy.deepcopy(source.model)
            clone.base_model.set_adapter(list(source.axes))
            copies.append(clone.merge_and_unload(adapter_names=[axis]).eval())
        return copies

    from peft import PeftModel

    from workbench.experts.train import fresh_backbone, quiet_peft
    from workbench.profiles import pick_device

    folder = Path(folder)
    backbone = json.loads((folder / "experts.json").read_text())["backbone"]
    device = pick_device(device)
    copies = []
    for axis in axes:
        model, _ = fresh_backbone(backbone, device)     # on the device, in the backbone's dtype there
        with quiet_peft():
            merged = PeftModel.from_pretrained(model, folder / axis, adapter_name=axis).merge_and_unload()
        copies.append(merged.eval())
    return copies


@torch.inference_mode()
def greedy(step_models, weights, enc, n_tokens: int, *, mixture=None, use_cache: bool = True) -> torch.Tensor:
    """Greedy decoding of ``n_tokens`` new tokens for a left-padded batch ``enc``.

    ``step_models``: one model (ours: ``mixture`` applies ``weights`` inside the LoRA layers) or one model per
    expert (naive: next-token distributions mixed with ``weights``). Returns the new token ids [B, n_tokens].
    ``use_cache=False`` feeds the whole sequence at every step (for models that cannot cache, as X-LoRA).
    """
    from transformers import DynamicCache

    ids, mask = enc["input_ids"], enc["attention_mask"]
    weights = torch.as_tensor(np.asarray(weights), dtype=torch.float32, device=ids.device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    caches = [DynamicCache() for _ in step_models]
    out = []
    context = mixture.mixed(weights) if mixture is not None else _nothing()
    with context:
        step_ids, step_pos = ids, positions
        for _ in range(n_tokens):
            probs = None
            for e, (model, cache) in enumerate(zip(step_models, caches)):
                if mixture is None and not weights[:, e].any():
                    continue                                  # an expert no row uses costs nothing here
                if use_cache:
                    logits = model(input_ids=step_ids, attention_mask=mask, position_ids=step_pos,
                                   cache=cache, use_cache=True).logits[:, -1].float()
                else:
                    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions,
                                   use_cache=False).logits[:, -1].float()
                p = torch.softmax(logits, -1)
                p = p if mixture is not None else p * weights[:, e:e + 1]
                probs = p if probs is None else probs + p
            token = probs.argmax(-1, keepdim=True)
            out.append(token)
            step_ids, step_pos = token, step_pos[:, -1:] + 1
            mask = torch.cat([mask, torch.ones_like(token)], 1)
            ids, positions = torch.cat([ids, token], 1), torch.cat([positions, step_pos], 1)
    return torch.cat(out, 1)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def encode_left(lm, prompts: list[str]):
    """Left-padded prompts for ``lm`` (a ``CausalLM``), chat template applied as in ``workbench.llm.generate``."""
    from workbench.llm.generate import build_prompt, uses_chat_template

    tok = lm.tokenizer
    tok.padding_side = "left"
    texts = [build_prompt(lm, p) for p in prompts]
    return tok(texts, return_tensors="pt", padding=True, add_special_tokens=not uses_chat_template(lm)).to(lm.device)


def bare_lm(model, backbone: str):
    """A ``CausalLM`` handle on a full copy (the naive variant), with the backbone's tokenizer."""
    from workbench.experts.train import backbone_tokenizer
    from workbench.models import get_spec
    from workbench.models.loaders import CausalLM

    return CausalLM(get_spec(backbone), model, backbone_tokenizer(backbone), str(model.device))


def routing_top_k(mixture) -> int:
    """How many experts the mixture keeps per routing decision (its configured top-k)."""
    return int(mixture.top_k or mixture.router.config.top_k)


def compare_latency(mixture, folder: str | Path, prompts: list[str], *, n_tokens: int = 16,
                    repeats: int = 3, with_xlora: bool = True, calibrator: str = "temperature") -> dict:
    """Seconds per generated token (best of ``repeats``) of ours vs the naive MoE of three full copies, for the
    configured routing (the mixture's own weights under ``calibrator`` — the paper's: ``mixed`` for AlignX,
    ``temperature`` for TrinityX —, top-k and γ as configured) and for a dense mixture, with the one-hot equality
    check. ``efficiency_rows`` turns the result into named system-vs-baseline rows."""
    if not prompts or n_tokens < 1:
        raise WorkbenchError("need prompts and at least one new token")
    enc = encode_left(mixture.lm(), prompts)
    k = len(mixture.axes)
    top_k = routing_top_k(mixture)
    routed = mixture.route(prompts, calibrator=calibrator)["weights"]
    dense = np.full((len(prompts), k), 1.0 / k, np.float32)
    chosen = np.eye(k, dtype=np.float32)[routed.argmax(1)]
    copies = full_copies(folder, mixture.axes, mixture.device, source=mixture)
    ours = [mixture.model]

    def run(models, w, mix):
        return greedy(models, w, enc, n_tokens, mixture=mixture if mix else None)

    same = bool(torch.equal(run(ours, chosen, True), run(copies, chosen, False)))
    t_ours_dense = best_of(lambda: run(ours, dense, True), repeats)
    t_naive_dense = best_of(lambda: run(copies, dense, False), repeats)
    t_ours_routed = best_of(lambda: run(ours, routed, True), repeats)
    groups = [(copies[e], encode_left(mixture.lm(), [p for p, c in zip(prompts, routed.argmax(1)) if c == e]))
              for e in range(k) if (routed.argmax(1) == e).any()]

    def naive_top1():            # each copy runs only the prompts routed to it
        for model, sub in groups:
            greedy([model], np.ones((len(sub["input_ids"]), 1), np.float32), sub, n_tokens)

    # top-1: each prompt through its chosen copy; top-k > 1: every copy some prompt uses, outputs mixed
    t_naive_routed = best_of(naive_top1 if top_k == 1 else (lambda: run(copies, routed, False)), repeats)
    xlora = xlora_latency(folder, mixture, enc, n_tokens, repeats, routed) if with_xlora else None
    per = float(n_tokens)
    return {"prompts": len(prompts), "new_tokens": n_tokens, "repeats": repeats, "experts": k, "routing_top_k": top_k,
            "routing_calibrator": calibrator,
            "ours_dense_s_per_token": t_ours_dense / per, "naive_dense_s_per_token": t_naive_dense / per,
            "ours_routed_s_per_token": t_ours_routed / per, "naive_routed_s_per_token": t_naive_routed / per,
            "latency_ratio_dense": t_ours_dense / t_naive_dense, "latency_ratio_routed": t_ours_routed / t_naive_routed,
            "outputs_equal_one_hot": same, **(xlora or {})}


def xlora_latency(folder, mixture, enc, n_tokens: int, repeats: int, routed) -> dict:
    """Seconds per token of PEFT's X-LoRA over the same three adapters (its classifier untrained: timing only)
    and of ours with the configured routing ``routed``, both without a KV cache.

    X-LoRA runs a scaling pass and then the real pass for every step and cannot use a KV cache, so each step
    feeds the whole sequence; the report names the reason when X-LoRA cannot run on this backbone."""
    from peft import XLoraConfig, get_peft_model

    from workbench.experts.train import fresh_backbone, quiet_peft

    try:
        model, _ = fresh_backbone(mixture.backbone, mixture.device)
        model.config.use_cache = False
        config = XLoraConfig(task_type="CAUSAL_LM", hidden_size=model.config.hidden_size, xlora_depth=1,
                             adapters={str(i): str(Path(folder) / a) for i, a in enumerate(mixture.axes)})
        with quiet_peft():
            xl = get_peft_model(model, config).to(mixture.device).eval()
        ones = np.ones((len(enc["input_ids"]), 1), np.float32)
        t = best_of(lambda: greedy([xl], ones, enc, n_tokens, use_cache=False), repeats)
        # ours (configured routing) without the cache too, the like-for-like comparison
        t_ours = best_of(lambda: greedy([mixture.model], routed, enc, n_tokens, mixture=mixture, use_cache=False),
                         repeats)
    except Exception as exc:  # X-LoRA support varies with architecture and version: report, do not fail
        return {"xlora_error": f"{type(exc).__name__}: {exc}"}
    return {"xlora_s_per_token": t / n_tokens, "ours_routed_nocache_s_per_token": t_ours / n_tokens,
            "latency_ratio_vs_xlora": t_ours / t}


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (__import__("os").sysconf("SC_PAGE_SIZE"))


def _peak_rss_bytes() -> int:
    """This process's resident-set high-water mark (VmHWM). Not ``ru_maxrss``: Linux carries that over from the
    parent through fork and exec, so a child started by a large parent would report the parent's size."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise WorkbenchError("cannot read the peak resident set size (/proc/self/status has no VmHWM)")


def peak_memory_child(folder: str, variant: str, prompts: list[str], n_tokens: int, queue, weights=None) -> None:
    """Child-process entry: load ``variant`` ("ours" | "naive"), generate with ``weights`` (rows of expert weights,
    the configured routing; None: dense), report the peak memory."""
    try:
        import peft  # noqa: F401  (imported before measuring, so library code is not counted)
        import transformers  # noqa: F401

        from workbench.experts.moe import MixtureOfExperts

        cuda = torch.cuda.is_available()
        before = torch.cuda.memory_allocated() if cuda else _rss_bytes()
        if variant == "naive":
            import json

            meta = json.loads((Path(folder) / "experts.json").read_text())
            axes = json.loads((Path(folder) / "router.json").read_text())["axes"]
            models, mixture_arg = full_copies(folder, axes), None
            lm = bare_lm(models[0], meta["backbone"])
        else:
            mixture = MixtureOfExperts.load(folder)
            models, mixture_arg, lm, axes = [mixture.model], mixture, mixture.lm(), mixture.axes
        enc = encode_left(lm, prompts)
        k = len(axes)
        w = np.full((len(prompts), k), 1.0 / k, np.float32) if weights is None else np.asarray(weights, np.float32)
        greedy(models, w, enc, n_tokens, mixture=mixture_arg)
        peak = torch.cuda.max_memory_allocated() if cuda else _peak_rss_bytes()
        queue.put({"variant": variant, "peak_bytes": int(peak - before)})
    except Exception as exc:  # report to the parent instead of dying silently
        queue.put({"variant": variant, "error": f"{type(exc).__name__}: {exc}"})


def compare_memory(folder: str | Path, prompts: list[str], *, n_tokens: int = 8, weights=None) -> dict:
    """Peak memory of ours vs the naive MoE (all three copies loaded), each measured in its own fresh process (see
    the module doc), generating with ``weights`` — the configured routing, e.g. ``mixture.route(prompts)
    ["weights"]`` — or densely when None; ``memory_routing`` records which."""
    import multiprocessing as mp

    if weights is not None:
        weights = np.asarray(weights, np.float32)
        if weights.ndim != 2 or len(weights) != len(prompts):
            raise WorkbenchError(f"need one row of expert weights per prompt; got {weights.shape} for "
                                 f"{len(prompts)} prompts")
        weights = weights.tolist()
    ctx = mp.get_context("spawn")
    result = {}
    for variant in ("ours", "naive"):
        queue = ctx.Queue()
        proc = ctx.Process(target=peak_memory_child,
                           args=(str(folder), variant, list(prompts), n_tokens, queue, weights))
        proc.start()
        got = queue.get(timeout=1800)
        proc.join()
        if "error" in got:
            raise WorkbenchError(f"measuring the {variant} variant failed: {got['error']}")
        result[f"{variant}_peak_bytes"] = got["peak_bytes"]
    result["memory_ratio"] = result["ours_peak_bytes"] / result["naive_peak_bytes"]
    result["memory_routing"] = "dense" if weights is None else "routed"
    result["measured_with"] = "torch.cuda.max_memory_allocated" if torch.cuda.is_available() else "peak RSS"
    return result


THREE_COPIES = "three separate full copies (one expert merged into each)"
ROW_KEYS = ("quantity", "system", "baseline", "baseline_kind", "configured", "ours", "baseline_value", "unit",
            "ratio", "reduction_pct", "note")


def routed_label(label: str, top_k: int) -> str:
    """The configured system's name: ``AlignX top-1 routed (1 expert per prompt)``."""
    per = f"{top_k} expert{'s' if top_k > 1 else ''} per prompt"
    return f"{label} top-{top_k} routed ({per})"


def efficiency_rows(efficiency: dict, label: str) -> list[dict]:
    """The figures of ``compare_latency`` (+ ``compare_memory``) as rows naming both sides of each ratio.

    ``label`` names the system (``AlignX``). Rows with ``configured`` True compare the system as configured (its
    router's top-k) with a baseline: three full copies routed the same way (``baseline_kind`` "three copies"), and
    PEFT's X-LoRA without a KV cache ("x-lora") where it ran. The dense rows (``configured`` False) compare a dense
    mixture with three copies run densely — what they are, not the configured system. ``ratio`` = ours / baseline,
    ``reduction_pct`` = 100 · (1 − ratio)."""
    top_k = int(efficiency["routing_top_k"])
    system = routed_label(label, top_k)
    copies_routed = (f"{THREE_COPIES}, top-1 routed (each prompt through its chosen copy)" if top_k == 1 else
                     f"{THREE_COPIES}, top-{top_k} routed (outputs of the chosen copies mixed)")
    dense_system = f"{label} dense mixture of {efficiency['experts']} experts (every expert on every token)"
    dense_baseline = f"{THREE_COPIES}, dense (every copy runs every token, outputs mixed)"
    rows = [_row("latency", system, copies_routed, "three copies", True, efficiency["ours_routed_s_per_token"],
                 efficiency["naive_routed_s_per_token"], "s/token", "KV cache on both sides")]
    if "xlora_s_per_token" in efficiency:
        rows.append(_row("latency", f"{system}, no KV cache",
                         "PEFT X-LoRA over the same adapters, no KV cache (its classifier untrained: timing only)",
                         "x-lora", True, efficiency["ours_routed_nocache_s_per_token"], efficiency["xlora_s_per_token"],
                         "s/token", "X-LoRA cannot use a KV cache, so neither side does"))
    if "ours_peak_bytes" in efficiency:
        routed = efficiency.get("memory_routing") == "routed"
        rows.append(_row("memory", system if routed else dense_system,
                         (f"{THREE_COPIES}, all held in memory, " + ("routed the same way" if routed else "dense")),
                         "three copies", routed, efficiency["ours_peak_bytes"], efficiency["naive_peak_bytes"],
                         "bytes", f"peak memory ({efficiency.get('measured_with', '')})"))
    rows.append(_row("latency", dense_system, dense_baseline, "three copies (dense)", False,
                     efficiency["ours_dense_s_per_token"], efficiency["naive_dense_s_per_token"], "s/token",
                     "dense vs three copies: the cost of mixing inside one backbone, not the configured system"))
    return rows


def _row(quantity, system, baseline, kind, configured, ours, base, unit, note) -> dict:
    ratio = float(ours) / float(base) if base else float("nan")
    return dict(zip(ROW_KEYS, (quantity, system, baseline, kind, bool(configured), float(ours), float(base), unit,
                               ratio, 100.0 * (1.0 - ratio), note)))


__all__ = ["compare_latency", "compare_memory", "efficiency_rows", "full_copies", "greedy", "routed_label"]
