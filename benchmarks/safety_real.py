"""The default safety classifier on real harmful prompts written by others (StrongREJECT + HarmBench, mapped onto the
14 safety domains by ``data/taxonomy/real_mapping_*.csv``), before and after the facets / top-k / real-exemplar
change, side by side in one process ([P1](../docs/papers/P1.md)).

Selects ``top_k`` and the temperature by 5-fold CV on the ``fit`` half only, then reports on the ``report`` half
(HarmBench test + the other half of StrongREJECT): top-1 accuracy with a bootstrap 95 % CI, the confusion matrix and
per-domain recall; per source; cross-source (one source's prompts in the pool, all of the other's tested); and our
own check set before/after. ``--save`` also writes the P1 ``safety_real`` artifact the *Domain taxonomy* view shows.

    python benchmarks/safety_real.py [--n-boot 2000] [--save] [--smoke]

Ends with `real_dev_top1_before`, `real_dev_top1_after`, `real_dev_top1_ci_low`, `real_dev_top1_ci_high`, the
cross-source and check-set figures and the selected `top_k` / temperature.
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def short(key: str) -> str:
    return key.split(",")[0][:14]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-boot", type=int, default=2000)
    parser.add_argument("--save", action="store_true", help="write the P1 safety_real artifact")
    parser.add_argument("--smoke", action="store_true", help="3 report prompts per domain, no selection grid")
    args = parser.parse_args()

    from workbench.models import load
    from workbench.profiles import get_profile
    from workbench.taxonomy import safety_eval

    start = time.perf_counter()
    encoder = load("minilm-l6", device="cpu")
    result = safety_eval.run(encoder, n_boot=args.n_boot, smoke=args.smoke)
    cfg = result["config"]
    print(f"model: {result['model']} (default profile) · data: real, StrongREJECT + HarmBench mapped · "
          f"fit {cfg['n_fit']} / report {cfg['n_report']} prompts · excluded: {cfg['excluded']}")
    if cfg["selection"]:
        print(f"selected on the fit half (5-fold CV top-1): top_k={cfg['top_k']} temperature={cfg['temperature']} "
              f"cv_top1={cfg['selection']['cv_top1']:.3f}")
        from workbench.taxonomy.classify import TOP_K, TOPK_TEMPERATURE
        same = (cfg["top_k"], cfg["temperature"]) == (TOP_K, TOPK_TEMPERATURE)
        print(f"the package defaults (top_k={TOP_K}, temperature={TOPK_TEMPERATURE}) "
              + ("are the selected ones" if same else "DIFFER from the selection: update workbench/taxonomy/classify.py"))
    print(f"\n{'evaluation':44s} {'method':32s} {'n':>4s} {'top1':>6s}  95% CI")
    for r in result["records"]:
        print(f"{r['name']:44s} {r['method'][:32]:32s} {r['n']:4d} {r['accuracy']:6.3f}  "
              f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]")
    by = {r["name"]: r for r in result["records"]}
    labels = cfg["labels"]
    print("\nper-domain recall on the report half (before -> after, n):")
    for key in labels:
        b, a = by["report_before"]["recall"][key], by["report_after"]["recall"][key]
        n = int(np.sum(by["report_after"]["confusion"][labels.index(key)]))
        print(f"  {key:50s} {b:5.2f} -> {a:5.2f}  ({n})")
    print("\nconfusion after (rows gold, columns predicted; last column: None/other):")
    print("  " + " ".join(f"{short(k)[:5]:>5s}" for k in labels) + "  other")
    for key, row in zip(labels, by["report_after"]["confusion"]):
        print(f"  {' '.join(f'{v:5d}' for v in row)}  {short(key)}")
    if args.save:
        from workbench.io import ArtifactStore
        profile = get_profile("default")
        path = safety_eval.save(result, ArtifactStore().path("P1", safety_eval.NAME, profile.name),
                                profile=profile.name)
        print(f"\nsaved {path}")
    print(f"\nseconds: {time.perf_counter() - start:.0f}")
    for name, value in safety_eval.figures(result).items():
        print(f"{name}: {value:.4g}" if isinstance(value, float) else f"{name}: {value}")


if __name__ == "__main__":
    main()
