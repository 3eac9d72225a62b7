"""Generation throughput of the engines, and what it means for a full SAVACU build.

    python benchmarks/engine_throughput.py [--model smollm2-135m-instruct] [--n-prompts 32] [--new-tokens 32]

Always (CPU is enough): tokens/s of the ``hf`` engine batched (``--batch`` prompts a pass, sorted by length so
that a batch holds prompts of similar length) against the same engine one prompt at a time, on the response
stage's real instructions (``workbench.llm.rejection``: bundled safety prompts, both sides), sampled as the
builder samples (T 0.7, top-p 0.9, one seed per request). Completions must agree between the two (per-row seeds
make them independent of the batch; a few may differ by the float rounding of padded batches).

With CUDA and vLLM: tokens/s of ``vllm`` against ``hf`` batched on a real architecture (the paper profile's
SAVACU generator, ``--gpu-arch``) with random weights — vLLM's ``load_format="dummy"``, the rehearsal's
stand-in on the hf side — so nothing is downloaded.

The projection [ours]: first-attempt generated tokens of a full SAVACU build = prompts × sides × k × response
tokens, with k and the response tokens of the builder's defaults (``ResponseConfig``, ``DATASETS``); stage-2
retries, critiques and judge read-outs come on top, so the hours are a lower bound. N workers are assumed to
scale linearly (``--dask``, one engine per GPU: shards share nothing). Ends with ``figure_name: value`` lines.
"""
from __future__ import annotations

import argparse
import time



def savacu_prompts() -> int:
    """The released SAVACU prompt count, read from the paper registry (P1's dataset-size claim)."""
    from workbench.papers import get_paper

    return int(next(c for c in get_paper("P1").claims if c.kind == "dataset_size").value)


def instructions(n: int) -> list[str]:
    """``n`` response-stage instructions: bundled safety prompts, alternately for the aligned and misaligned side."""
    from workbench.datasets import safety_check_set
    from workbench.llm.rejection import SIDES, Request, _instruction

    texts = safety_check_set()["text"].tolist()
    return [_instruction(Request(texts[i % len(texts)], SIDES[i % 2], "privacy, fairness")) for i in range(n)]


def timed(engine, prompts, new_tokens: int, tokenizer) -> tuple[float, int, list[str]]:
    """(seconds, generated tokens, completions) of one sampled engine call, seeds one per prompt."""
    start = time.perf_counter()
    out = [row[0] for row in engine.generate(prompts, seeds=list(range(len(prompts))), max_new_tokens=new_tokens,
                                             temperature=0.7, top_p=0.9)]
    seconds = time.perf_counter() - start
    tokens = sum(len(tokenizer.encode(t, add_special_tokens=False)) for t in out)
    return seconds, tokens, out


def savacu_tokens() -> tuple[int, int]:
    """(generated tokens of a full SAVACU build's first attempts, responses per prompt) from the builder's settings."""
    from workbench.llm.rejection import SIDES
    from workbench.taxonomy.construct import ResponseConfig, get_dataset

    per_prompt = len(SIDES) * get_dataset("savacu").k
    return savacu_prompts() * per_prompt * ResponseConfig().max_new_tokens, per_prompt


def hours(tokens_per_s: float, workers: int) -> float:
    return savacu_tokens()[0] / (tokens_per_s * workers) / 3600


def cpu_figures(args) -> dict[str, float]:
    from workbench.engines.hf import HFEngine
    from workbench.models import load

    lm = load(args.model, device="cpu")
    prompts = instructions(args.n_prompts)
    batched, single = HFEngine(lm, batch_size=args.batch), HFEngine(lm, batch_size=1)
    batched.generate(prompts[:2], max_new_tokens=2)                       # warm-up, not timed
    t_b, n_b, out_b = timed(batched, prompts, args.new_tokens, lm.tokenizer)
    t_s, n_s, out_s = timed(single, prompts, args.new_tokens, lm.tokenizer)
    same = sum(a == b for a, b in zip(out_b, out_s))
    print(f"cpu, {args.model}, {len(prompts)} prompts, {args.new_tokens} new tokens: batched ({args.batch}, "
          f"length-bucketed) {n_b} tokens in {t_b:.1f} s = {n_b / t_b:.1f} tok/s; per-prompt {n_s} tokens in "
          f"{t_s:.1f} s = {n_s / t_s:.1f} tok/s; identical completions {same}/{len(prompts)}")
    return {"cpu_hf_batched_tok_s": n_b / t_b, "cpu_hf_per_prompt_tok_s": n_s / t_s,
            "cpu_batched_speedup": (n_b / t_b) / (n_s / t_s), "cpu_identical_completions": same / len(prompts)}


def gpu_figures(args) -> dict[str, float]:
    """vllm vs hf batched on ``--gpu-arch`` with random weights; {} (and a line saying why) when not possible."""
    import importlib.util

    import torch

    if not torch.cuda.is_available() or importlib.util.find_spec("vllm") is None:
        print("gpu: skipped (needs CUDA and vLLM: make paper-env)")
        return {}
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from workbench.engines.hf import HFEngine
    from workbench.engines.vllm import VLLMEngine
    from workbench.models import get_spec
    from workbench.models.loaders import CausalLM
    from workbench.models.rehearsal import build_model, folder

    path = folder(args.gpu_arch, "full")                   # config + tokenizer of the real architecture, no weights
    prompts = instructions(args.gpu_prompts)
    tokenizer = AutoTokenizer.from_pretrained(path)
    vllm_engine = VLLMEngine.from_folder(str(path), spec=get_spec(args.gpu_arch), load_format="dummy",
                                         dtype="bfloat16")
    vllm_engine.generate(prompts[:2], max_new_tokens=2)
    t_v, n_v, _ = timed(vllm_engine, prompts, args.gpu_new_tokens, tokenizer)
    del vllm_engine
    torch.cuda.empty_cache()
    model = build_model(args.gpu_arch, AutoModelForCausalLM, "cuda", torch.bfloat16)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    hf = HFEngine(CausalLM(get_spec(args.gpu_arch), model, tokenizer, "cuda"), batch_size=args.batch)
    hf.generate(prompts[:2], max_new_tokens=2)
    t_h, n_h, _ = timed(hf, prompts, args.gpu_new_tokens, tokenizer)
    print(f"gpu {torch.cuda.get_device_name()}, {args.gpu_arch} (random weights), {len(prompts)} prompts, "
          f"{args.gpu_new_tokens} new tokens: vllm {n_v / t_v:.0f} tok/s, hf batched ({args.batch}) "
          f"{n_h / t_h:.0f} tok/s")
    return {"gpu_vllm_tok_s": n_v / t_v, "gpu_hf_batched_tok_s": n_h / t_h, "gpu_vllm_vs_hf": (n_v / t_v) / (n_h / t_h)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct", help="CPU comparison's model (zoo name)")
    parser.add_argument("--n-prompts", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--gpu-arch", default="llama-3.1-8b-instruct",
                        help="GPU comparison's architecture (the paper profile's SAVACU generator)")
    parser.add_argument("--gpu-prompts", type=int, default=256)
    parser.add_argument("--gpu-new-tokens", type=int, default=96)
    args = parser.parse_args()

    figures = cpu_figures(args)
    figures.update(gpu_figures(args))
    total, per_prompt = savacu_tokens()
    print(f"savacu: {savacu_prompts():,} prompts × {per_prompt} first-attempt responses × builder's response tokens "
          f"= {total:,} generated tokens (a lower bound: retries, critiques and judge read-outs on top)")
    for key, label in (("cpu_hf_batched_tok_s", "cpu_worker_hf_batched"), ("cpu_hf_per_prompt_tok_s",
                                                                           "cpu_worker_hf_per_prompt"),
                       ("gpu_hf_batched_tok_s", "gpu_hf_batched"), ("gpu_vllm_tok_s", "gpu_vllm")):
        if key in figures:
            for workers in (1, 8):
                figures[f"savacu_hours_{label}_x{workers}"] = hours(figures[key], workers)
    for name, value in figures.items():
        print(f"{name}: {value:.3g}")


if __name__ == "__main__":
    main()
