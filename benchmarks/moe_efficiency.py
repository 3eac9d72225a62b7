"""Latency per generated token and peak memory of our mixture (one backbone, three batched LoRA experts) against
a naive MoE of three full fine-tuned copies, on the same prompts with the same greedy loop; PEFT's X-LoRA over
the same adapters for reference. See ``workbench.experts.efficiency`` for what exactly is timed.

    python benchmarks/moe_efficiency.py [--folder DIR] [--prompts 8] [--tokens 16] [--repeats 3] [--quick]

Without ``--folder`` it uses (and trains once, cached) the P3 mixture of the active profile's expert backbone;
``--quick`` trains the small smoke-size mixture instead (timing does not depend on how well experts are trained).
The papers' targets: latency ≤ 0.65×, peak memory ≤ 0.6× of the naive MoE. Ends with one `figure_name: value`
line per figure.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", help="a trained mixture (`workbench experts train --out DIR`)")
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="use the smoke-size mixture")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()

    from transformers.utils import logging as hf_logging

    from workbench.experts.artifacts import trained_mixture
    from workbench.experts.data import axis_data
    from workbench.experts.efficiency import compare_latency, compare_memory
    from workbench.experts.moe import MixtureOfExperts
    from workbench.io import write_json
    from workbench.profiles import active_profile

    hf_logging.disable_progress_bar()
    profile = active_profile()
    folder = Path(args.folder) if args.folder else trained_mixture(
        "P3", profile.model_for("expert_backbone"), smoke=args.quick, seed=0)
    evals = axis_data("eval")
    prompts = evals.groupby("axis", group_keys=False).head(-(-args.prompts // 3))["prompt"].tolist()[:args.prompts]
    mixture = MixtureOfExperts.load(folder)
    backbone = mixture.backbone
    print(f"profile {profile.name}; backbone {mixture.backbone} on {mixture.device}; {len(prompts)} prompts, "
          f"{args.tokens} new tokens, best of {args.repeats}")
    latency = compare_latency(mixture, folder, prompts, n_tokens=args.tokens, repeats=args.repeats)
    del mixture
    memory = compare_memory(folder, prompts, n_tokens=min(args.tokens, 8))
    figures = {**latency, **memory}
    ms = 1000.0
    print(f"dense mixture (every expert weighted): ours {latency['ours_dense_s_per_token'] * ms:.1f} ms/token, "
          f"naive three copies {latency['naive_dense_s_per_token'] * ms:.1f} ms/token")
    print(f"top-1 routing: ours {latency['ours_top1_s_per_token'] * ms:.1f} ms/token, naive (each prompt through "
          f"its chosen copy) {latency['naive_top1_s_per_token'] * ms:.1f} ms/token")
    if "xlora_s_per_token" in latency:
        print(f"without a KV cache: X-LoRA {latency['xlora_s_per_token'] * ms:.1f} ms/token, ours "
              f"{latency['ours_nocache_s_per_token'] * ms:.1f} ms/token")
    else:
        print(f"X-LoRA not measured: {latency.get('xlora_error')}")
    print(f"peak memory ({memory['measured_with']}): ours {memory['ours_peak_bytes'] / 2**20:.0f} MiB, naive "
          f"{memory['naive_peak_bytes'] / 2**20:.0f} MiB")
    print(f"same tokens with one-hot routing: {latency['outputs_equal_one_hot']}")
    if args.json:
        write_json({"profile": profile.name, "backbone": backbone, **figures}, args.json)
    print(f"latency_ratio: {latency['latency_ratio']:.3f}")
    print(f"latency_ratio_top1: {latency['latency_ratio_top1']:.3f}")
    if "latency_ratio_vs_xlora" in latency:
        print(f"latency_ratio_vs_xlora: {latency['latency_ratio_vs_xlora']:.3f}")
    print(f"memory_ratio: {memory['memory_ratio']:.3f}")
    print(f"outputs_equal_one_hot: {int(latency['outputs_equal_one_hot'])}")


if __name__ == "__main__":
    main()
