"""`workbench steer …`: steering vectors (P8 AMBS, P7 MEDASSESS-X) — train, generate, sweep, and AMBS branches."""
from __future__ import annotations

import argparse

from workbench import WorkbenchError
from workbench.cli.common import (add_json, add_track, command, note, print_json, print_table, progress, tracked,
                                  wants_json)


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise WorkbenchError(f"expected comma-separated numbers, got '{text}'") from None


def _layers(text: str) -> list[int | str]:
    return [int(x) if x.strip().lstrip("-").isdigit() else x.strip() for x in text.split(",") if x.strip()]


def _steer_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    t = sub.add_parser("train", help="a steering vector per layer from (prompt, positive, negative) pairs")
    t.add_argument("--pairs", required=True,
                   help="a table with prompt/positive/negative columns, or bundled:helpful|harmless|honest|clinical")
    t.add_argument("--model", help="a causal LM (default: the profile's steering LM)")
    t.add_argument("--layers", required=True, help="comma-separated layer indices (negative from the end) or names")
    t.add_argument("--aggregator", default="mean_difference", help="mean_difference (CAA), pca or learned_cosine")
    t.add_argument("--position", default="last", help="read position: last (answer's last token) or answer (mean)")
    t.add_argument("--limit", type=int, help="at most N pairs")
    t.add_argument("--out", required=True, help="the vector file (.safetensors)")
    add_track(t)
    add_json(t, "the vector's layers and norms")

    g = sub.add_parser("generate", help="unsteered and steered generations side by side")
    g.add_argument("prompts", nargs="+")
    g.add_argument("--vector", required=True)
    g.add_argument("--multiplier", type=float, default=1.0)
    g.add_argument("--layer", help="which of the vector's layers (default: all of them)")
    g.add_argument("--positions", default="all", help="all, prompt or generated")
    g.add_argument("--max-new-tokens", type=int, default=48)
    add_json(g, "each prompt's unsteered and steered generation")

    s = sub.add_parser("sweep", help="behaviour probability on held-out pairs for every layer × multiplier")
    s.add_argument("--vector", required=True)
    s.add_argument("--pairs", required=True, help="as for train (bundled sets use their eval split)")
    s.add_argument("--multipliers", default="-2,-1,0,1,2",
                   help="comma-separated; write --multipliers=-2,0,2 when the list starts with a minus sign")
    s.add_argument("--layers", help="a subset of the vector's layers")
    s.add_argument("--limit", type=int, help="at most N pairs")
    s.add_argument("--out", help="write the table (CSV) here")
    add_track(s)
    add_json(s, "the table")

    c = sub.add_parser("clinical", help="steering pairs (correct vs incorrect answer) from a PubMedQA or MedQA file, "
                                         "and a clinical vector from them")
    c.add_argument("--qa", required=True,
                   help="a PubMedQA file (ori_pqal.json: QUESTION, CONTEXTS, final_decision yes|no|maybe) or a MedQA "
                        "JSONL (question, options A–E, answer_idx)")
    c.add_argument("--split", default="train", choices=["train", "eval", "all"],
                   help="which rows of the file's hash split")
    c.add_argument("--pairs-out", help="write the pairs here (CSV/JSONL by suffix: prompt, positive, negative)")
    c.add_argument("--out", help="train a vector and write it here (.safetensors; needs --layers)")
    c.add_argument("--layers", help="comma-separated layer indices (negative from the end) or names")
    c.add_argument("--model", help="a causal LM (default: the profile's steering LM)")
    c.add_argument("--limit", type=int, help="at most N pairs")
    add_json(c, "the pairs' count and source, and the vector's layers and norms")

    a = sub.add_parser("ambs", help="AMBS: one shared pass to a layer, then one branch per vector")
    a.add_argument("prompts", nargs="+")
    a.add_argument("--vectors", required=True, help="comma-separated vector files, one per objective")
    a.add_argument("--layer", required=True, help="the branch layer (each vector must hold it)")
    a.add_argument("--multipliers", help="one per vector (default 1)")
    a.add_argument("--norm-bound", type=float, help="cap ‖δ‖ at this fraction of ‖h‖ (default: no bound)")
    a.add_argument("--kl-bound", type=float, metavar="EPS",
                   help="keep every branch's next-token distribution within KL EPS (nats) of the unsteered "
                        "reference at each step (the policy–reference bound; default: none)")
    a.add_argument("--mode", default="branches", help="branches (one output per objective) or combined")
    a.add_argument("--max-new-tokens", type=int, default=48)
    add_json(a, "the branches' generations and their KL to the reference")


def _model_for(vector, given: str | None = None):
    from workbench.models import load

    return load(given or vector.model)


@command("steer", "activation steering: `steer train`, `steer generate`, `steer sweep`, `steer clinical`, "
                  "`steer ambs`", _steer_args)
def _steer(args) -> int:
    from workbench.engines import require_hf
    from workbench.steering.hooks import HF_ONLY

    require_hf("activation steering", HF_ONLY)          # before any vector is trained, not after
    return {"train": _train, "generate": _generate, "sweep": _sweep, "clinical": _clinical,
            "ambs": _ambs}[args.action](args)


def _train(args) -> int:
    from workbench.steering.pairs import load_pairs

    if args.limit is not None and args.limit < 1:
        raise WorkbenchError("--limit must be at least 1")
    pairs = load_pairs(args.pairs, split="train" if args.pairs.startswith("bundled:") else None).head(args.limit)
    vector = _train_on(args, pairs, args.pairs, args.aggregator, args.position)
    if wants_json(args):
        print_json(vector)
    return 0


def _train_on(args, pairs, objective: str, aggregator: str, position: str) -> dict:
    """Train ``pairs``' vector at ``args.layers`` of ``args.model`` (or the steering LM), write ``args.out``;
    prints the layers' norms (text mode) and returns them."""
    from workbench.models import load
    from workbench.profiles import active_profile
    from workbench.steering.vectors import train_vector

    lm = load(args.model or active_profile().model_for("steering_lm"))
    with tracked(args, f"steer {args.action}") as tracker, progress("reading activations", unit="pairs") as update:
        vector = train_vector(lm, pairs.prompts, pairs.positives, pairs.negatives, _layers(args.layers),
                              aggregator=aggregator, position=position, objective=objective,
                              progress=tracker.watch(update))
        vector.extra = {"pairs": pairs.source}
        vector.save(args.out)
        layers = [{"layer": k, "norm": float(v.norm())} for k, v in sorted(vector.vectors.items())]
        tracker.log_metrics({f"layer {r['layer']}": {"norm": r["norm"]} for r in layers})
    if not wants_json(args):
        print(f"{lm.name}: {aggregator} vectors from {len(pairs)} pairs ({pairs.source}), read at '{position}'")
        print_table([{**r, "norm": f"{r['norm']:.3f}"} for r in layers], ["layer", "norm"])
        print(f"wrote {args.out}")
    return {"model": lm.name, "aggregator": aggregator, "pairs": len(pairs), "source": pairs.source,
            "position": position, "layers": layers, "out": args.out}


def _clinical(args) -> int:
    """Pairs from a QA file (``steering.pairs``' ``qa:FILE``), optionally written and turned into a vector."""
    from workbench.steering.pairs import load_pairs

    if args.limit is not None and args.limit < 1:
        raise WorkbenchError("--limit must be at least 1")
    if not args.out and not args.pairs_out:
        raise WorkbenchError("nothing to do: give --pairs-out (write the pairs) and/or --out with --layers (train "
                             "a vector)")
    if args.out and not args.layers:
        raise WorkbenchError("--out trains a vector: give --layers too")
    pairs = load_pairs(f"qa:{args.qa}", split=None if args.split == "all" else args.split).head(args.limit)
    note(f"{len(pairs)} pairs from {pairs.source}: correct vs incorrect answer (clinical.answer_pairs)")
    if args.pairs_out:
        import pandas as pd

        from workbench.io import write_text

        table = pd.DataFrame({"prompt": pairs.prompts, "positive": pairs.positives, "negative": pairs.negatives})
        if args.pairs_out.endswith(".jsonl"):
            write_text(table.to_json(orient="records", lines=True, force_ascii=False), args.pairs_out)
        elif args.pairs_out.endswith(".csv"):
            write_text(table.to_csv(index=False), args.pairs_out)
        else:
            raise WorkbenchError(f"--pairs-out {args.pairs_out}: write .csv or .jsonl")
        note(f"wrote {args.pairs_out}")
    vector = _train_on(args, pairs, "clinical consistency", "mean_difference", "answer") if args.out else None
    if wants_json(args):
        print_json({"pairs": len(pairs), "source": pairs.source, "pairs_out": args.pairs_out, "vector": vector})
    return 0


def _generate(args) -> int:
    from workbench.llm.generate import generate
    from workbench.steering.hooks import resolve_layer, steer
    from workbench.steering.vectors import SteeringVector

    vector = SteeringVector.load(args.vector)
    lm = _model_for(vector)
    layers = vector.layers if args.layer is None else [resolve_layer(lm.model, _layers(args.layer)[0])]
    missing = [layer for layer in layers if layer not in vector.vectors]
    if missing:
        raise WorkbenchError(f"{args.vector} has no layer {missing[0]}; it has {vector.layers}")
    plain = generate(lm, args.prompts, max_new_tokens=args.max_new_tokens)
    with steer(lm.model, {layer: vector.vectors[layer] for layer in layers}, multiplier=args.multiplier,
               positions=args.positions):
        steered = generate(lm, args.prompts, max_new_tokens=args.max_new_tokens)
    if wants_json(args):
        print_json([{"prompt": prompt, "unsteered": a, "steered": b, "multiplier": args.multiplier, "layers": layers}
                    for prompt, a, b in zip(args.prompts, plain, steered)])
        return 0
    for prompt, a, b in zip(args.prompts, plain, steered):
        print(f"> {prompt}\n  unsteered: {a}\n  steered (×{args.multiplier:g} at layer(s) "
              f"{', '.join(map(str, layers))}): {b}")
    return 0


def _sweep(args) -> int:
    from workbench.steering.evaluate import sweep
    from workbench.steering.pairs import load_pairs
    from workbench.steering.vectors import SteeringVector

    vector = SteeringVector.load(args.vector)
    lm = _model_for(vector)
    pairs = load_pairs(args.pairs, split="eval" if args.pairs.startswith("bundled:") else None).head(args.limit)
    layers = [int(x) for x in _layers(args.layers)] if args.layers else None
    with tracked(args, "steer sweep") as tracker, progress("sweeping") as update:
        table = sweep(lm, vector, pairs.prompts, pairs.positives, pairs.negatives, layers=layers,
                      multipliers=_floats(args.multipliers), progress=tracker.watch(update))
        tracker.log_metrics({f"layer {r.layer}/x{r.multiplier:+g}": {"behaviour_p": r.behaviour_p,
                                                                       "prefers_positive": r.prefers_positive}
                             for r in table.itertuples()})
    if args.out:
        from workbench.io import write_text

        write_text(table.to_csv(index=False), args.out)
    if wants_json(args):
        print_json({"model": lm.name, "aggregator": vector.aggregator, "pairs": len(pairs), "source": pairs.source,
                    "rows": table, "out": args.out})
        return 0
    print(f"{lm.name} · {vector.aggregator} vector · {len(pairs)} held-out pairs ({pairs.source}); "
          f"behaviour p = mean σ(log p(positive) − log p(negative)), 0.5 = indifferent")
    print_table([{"layer": r.layer, "multiplier": f"{r.multiplier:+g}", "behaviour_p": f"{r.behaviour_p:.3f}",
                  "prefers_positive": f"{r.prefers_positive:.2f}"} for r in table.itertuples()],
                ["layer", "multiplier", "behaviour_p", "prefers_positive"])
    if args.out:
        print(f"wrote {args.out}")
    return 0


def _ambs(args) -> int:
    from pathlib import Path

    from workbench.steering.ambs import Branches, generate
    from workbench.steering.vectors import SteeringVector

    paths = [p for p in args.vectors.split(",") if p.strip()]
    vectors = {Path(p).stem: SteeringVector.load(p) for p in paths}
    models = {v.model for v in vectors.values()}
    if len(models) != 1:
        raise WorkbenchError(f"the vectors come from different models: {', '.join(sorted(models))}")
    lm = _model_for(next(iter(vectors.values())))
    multipliers = _floats(args.multipliers) if args.multipliers else [1.0] * len(vectors)
    if len(multipliers) != len(vectors):
        raise WorkbenchError(f"{len(multipliers)} multipliers for {len(vectors)} vectors")
    layer = _layers(args.layer)[0]
    if args.kl_bound is not None:
        return _ambs_bounded(args, lm, Branches.from_vectors(lm.model, layer, vectors, dict(zip(vectors, multipliers))))
    branches = Branches.from_vectors(lm.model, layer, vectors, dict(zip(vectors, multipliers)),
                                     include_reference=True)
    out = generate(lm, args.prompts, branches, max_new_tokens=args.max_new_tokens, mode=args.mode,
                   norm_bound=args.norm_bound)
    if wants_json(args):
        print_json({"prompts": args.prompts, **out})
        return 0
    _print_branches(args, out)
    kl = ", ".join(f"{k} {v:.3f}" for k, v in out["kl_to_reference"].items() if k != "reference")
    print(f"branch layer {out['layer']}; KL(branch ‖ reference) of the first token, mean over prompts: {kl}")
    return 0


def _print_branches(args, out: dict) -> None:
    for i, prompt in enumerate(args.prompts):
        print(f"> {prompt}")
        if args.mode == "combined":
            print(f"  combined: {out['combined'][i]}")
        else:
            for name, texts in out["branches"].items():
                print(f"  {name}: {texts[i]}")


def _ambs_bounded(args, lm, branches) -> int:
    """`steer ambs --kl-bound EPS`: the branches under the policy–reference KL bound, and how often it bound."""
    from workbench.steering.ambs_bound import generate_bounded

    if args.norm_bound is not None:
        raise WorkbenchError("give --kl-bound or --norm-bound, not both")
    out = generate_bounded(lm, args.prompts, branches, epsilon=args.kl_bound, max_new_tokens=args.max_new_tokens,
                           mode=args.mode)
    if wants_json(args):
        print_json({"prompts": args.prompts, "kl_bound": args.kl_bound, **out})
        return 0
    _print_branches(args, out)
    steps = out["steps"].groupby("branch", sort=False)
    report = ", ".join(f"{name} {part['bound'].mean():.0%} of steps bound, max KL {part['kl'].max():.3f}"
                       for name, part in steps)
    print(f"branch layer {out['layer']}; KL bound ε = {args.kl_bound:g}: {report}")
    return 0
