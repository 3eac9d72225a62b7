"""Latency per generated token and peak memory of an expert mixture as configured (top-1 routing for AlignX and
TrinityX: one backbone, three batched LoRA experts, one expert per prompt) against named baselines — three full
fine-tuned copies routed the same way, PEFT's X-LoRA over the same adapters — and, shown as what it is, a dense
mixture against three copies run densely; same prompts, same greedy loop. See ``workbench.experts.efficiency``
for what exactly is timed.

    python benchmarks/moe_efficiency.py [--paper P3|P10] [--folder DIR] [--prompts 8] [--tokens 16] [--repeats 3]
                                        [--quick]

Without ``--folder`` it uses (and trains once, cached) the chosen paper's mixture (default P3) on the active
profile's expert backbone; ``--quick`` trains the small smoke-size mixture instead (timing does not depend on how
well experts are trained). The paper's targets are read from the registry (``workbench.papers``): its latency and
memory claims against prior MoEs. Ends with one `figure_name: value` line per figure.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def lower(reduction_pct: float) -> str:
    """``20.0 % lower`` (or ``10.0 % higher`` when ours costs more)."""
    return f"{abs(reduction_pct):.1f} % {'lower' if reduction_pct >= 0 else 'higher'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paper", choices=("P3", "P10"), default="P3", help="whose mixture and targets")
    parser.add_argument("--folder", help="a trained mixture (`workbench experts train --out DIR`)")
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="use the smoke-size mixture")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()

    from transformers.utils import logging as hf_logging

    from workbench.experts.artifacts import MIXTURES, trained_mixture
    from workbench.experts.data import axis_data
    from workbench.experts.efficiency import compare_latency, compare_memory, efficiency_rows
    from workbench.experts.moe import MixtureOfExperts
    from workbench.io import write_json
    from workbench.papers import get_paper
    from workbench.profiles import active_profile

    hf_logging.disable_progress_bar()
    profile = active_profile()
    paper = get_paper(args.paper)
    label = MIXTURES[paper.id]["label"]
    folder = Path(args.folder) if args.folder else trained_mixture(
        paper.id, profile.model_for("expert_backbone"), smoke=args.quick, seed=0)
    evals = axis_data("eval")
    prompts = evals.groupby("axis", group_keys=False).head(-(-args.prompts // 3))["prompt"].tolist()[:args.prompts]
    mixture = MixtureOfExperts.load(folder)
    backbone = mixture.backbone
    weights = mixture.route(prompts)["weights"]
    print(f"{paper.id} {label}; profile {profile.name}; backbone {mixture.backbone} on {mixture.device}; "
          f"{len(prompts)} prompts, {args.tokens} new tokens, best of {args.repeats}")
    latency = compare_latency(mixture, folder, prompts, n_tokens=args.tokens, repeats=args.repeats)
    del mixture
    memory = compare_memory(folder, prompts, n_tokens=min(args.tokens, 8), weights=weights)
    figures = {**latency, **memory}
    rows = efficiency_rows(figures, label)
    if "xlora_error" in latency:
        print(f"X-LoRA not measured: {latency['xlora_error']}")
    for r in rows:
        scale = 1000.0 if r["unit"] == "s/token" else 2.0 ** -20
        unit = "ms/token" if r["unit"] == "s/token" else "MiB"
        print(f"{r['quantity']}: {r['system']} {r['ours'] * scale:.1f} {unit} vs {r['baseline']} "
              f"{r['baseline_value'] * scale:.1f} {unit} → {r['ratio']:.3f}× ({lower(r['reduction_pct'])})"
              + ("" if r["configured"] else " [dense vs three copies, not the configured system]"))
    print(f"same tokens with one-hot routing: {latency['outputs_equal_one_hot']}")
    for claim in paper.claims:
        if claim.kind == "efficiency_reduction":
            quantity = claim.params["quantity"]
            mine = [r for r in rows if r["configured"] and r["quantity"] == quantity]
            got = ", ".join(f"{lower(r['reduction_pct'])} vs {r['baseline_kind']}" for r in mine) or "not measured"
            print(f"{paper.id} {label} claims {quantity} {claim.qualifier}{claim.value:g} {claim.unit} lower than "
                  f"prior MoEs (prior MoEs unnamed); ours as configured: {got}")
    if args.json:
        write_json({"paper": paper.id, "profile": profile.name, "backbone": backbone, **figures, "rows": rows},
                   args.json)
    print(f"latency_ratio_routed: {latency['latency_ratio_routed']:.3f}")
    print(f"latency_ratio_dense: {latency['latency_ratio_dense']:.3f}")
    if "latency_ratio_vs_xlora" in latency:
        print(f"latency_ratio_vs_xlora: {latency['latency_ratio_vs_xlora']:.3f}")
    print(f"memory_ratio: {memory['memory_ratio']:.3f}")
    print(f"outputs_equal_one_hot: {int(latency['outputs_equal_one_hot'])}")


if __name__ == "__main__":
    main()
