"""`workbench taxonomy show|classify|expand` (formerly bare `taxonomy`, `classify`, `expand`): the taxonomy,
classifying prompts into one of its dimensions, and topping up low-resource domains.

Registered by ``workbench.cli.main``; models, numpy and pandas are imported inside the commands."""
from __future__ import annotations

import argparse
from pathlib import Path

from workbench import WorkbenchError
from workbench.cli.common import (add_json, bracketed, command, group, print_json, print_table, progress,
                                  require_new_columns, wants_json)

group("taxonomy", "the misalignment taxonomy: `taxonomy show`, `taxonomy classify`, `taxonomy expand`")


def _taxonomy_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dimension", choices=["safety", "value", "culture", "semantic_type"],
                   help="one dimension (default: the three dimensions and the semantic types)")
    p.add_argument("--full", action="store_true", help="do not shorten the descriptions")
    add_json(p, "every dimension with its domains (descriptions in full)")


@command("taxonomy show", "the misalignment taxonomy (safety, value, culture domains) and the semantic types",
         _taxonomy_args)
def _taxonomy(args) -> int:
    from workbench.taxonomy import DIMENSIONS, dimension

    names = [args.dimension] if args.dimension else list(DIMENSIONS) + ["semantic_type"]
    if wants_json(args):
        print_json({name: {"source": dimension(name).source, "labels": list(dimension(name).labels),
                           "domains": [{"key": d.key, "name": d.name, "group": d.parent, "description": d.description}
                                       for d in dimension(name).domains]} for name in names})
        return 0
    for i, name in enumerate(names):
        dim = dimension(name)
        if i:
            print()
        print(f"{name}: {len(dim.labels)} domains" + (" + None" if len(dim.labels) < len(dim.domains) else "")
              + f" — {dim.source}")
        rows = [{"key": d.key, "name": d.name, "group": d.parent or "",
                 "description": d.description if args.full or len(d.description) <= 70
                 else d.description[:67] + "..."} for d in dim.domains]
        print_table(rows, ["key", "name", "group", "description"] if dim.parent_level
                    else ["key", "name", "description"])
    return 0


def _classify_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="CSV, TSV, JSONL, JSON or parquet file")
    p.add_argument("--text-col", required=True, help="column holding the prompts")
    p.add_argument("--dimension", required=True, choices=["safety", "value", "culture", "semantic_type"])
    p.add_argument("--method", choices=["llm", "embedding"],
                   help="default: embedding on the default profile, llm on the paper profile")
    p.add_argument("--llm-method", choices=["yesno", "choice"], default="yesno",
                   help="how the LLM's token likelihoods become label probabilities")
    p.add_argument("--model", help="model name (default: the profile's classifier or sentence encoder)")
    p.add_argument("--roles", metavar="FILE", help="TOML roles file overriding the profile's models "
                                                 "(see `workbench build --roles`)")
    p.add_argument("--delta", type=float, default=0.5, help="multi-label probability cut-off")
    p.add_argument("--limit", type=int, help="only the first N rows")
    p.add_argument("--label-col", help="a column of gold labels: print top-1 accuracy against it")
    p.add_argument("--out", required=True, help="output .parquet file")
    add_json(p, "the counts per domain, the method, the model and the accuracy")


@command("taxonomy classify", "classify prompts into a taxonomy dimension (multi-label with cut-off, plus top-1)",
         _classify_args)
def _classify(args) -> int:
    import numpy as np

    from workbench.datasets import read_table
    from workbench.engines import load_engine
    from workbench.io import save_table
    from workbench.models import get_spec, load
    from workbench.profiles import active_profile, load_roles
    from workbench.taxonomy.classify import classify_embedding, classify_llm

    profile = active_profile().with_roles(load_roles(args.roles) if args.roles else {})
    method = args.method or ("embedding" if profile.name == "default" and "classifier" not in profile.overridden
                             else "llm")
    if not 0.0 < args.delta < 1.0:
        raise WorkbenchError(f"--delta must be between 0 and 1, got {args.delta}")
    df = read_table(args.input, text_col=args.text_col)
    if args.limit is not None:
        if args.limit < 1:
            raise WorkbenchError("--limit must be at least 1")
        df = df.head(args.limit)
    if args.label_col and args.label_col not in df.columns:
        raise WorkbenchError(f"{args.input}: no column '{args.label_col}'")
    d = args.dimension
    require_new_columns(df, (d, f"{d}_score", f"{d}_labels"), args.input)
    name = args.model or profile.model_for("classifier" if method == "llm" else "sentence_encoder")
    role = get_spec(name).role
    if method == "llm" and role != "causal-lm" or method == "embedding" and role != "sentence-encoder":
        raise WorkbenchError(f"model '{name}' is a {role}; --method {method} needs "
                             + ("a causal LM" if method == "llm" else "a sentence encoder"))
    # an LLM on the engine --engine picks (the hf engine loads the model; vLLM holds its own weights)
    model = (load_engine if method == "llm" else load)(name, progress=bracketed)
    texts = df[args.text_col].tolist()
    if method == "llm":
        with progress(f"classifying ({d})", unit="prompts") as update:
            result = classify_llm(texts, d, model, method=args.llm_method, delta=args.delta,
                                  progress=update)
    else:
        result = classify_embedding(texts, d, model, delta=args.delta)
    out = df.reset_index(drop=True).join(result.frame())
    save_table(out, args.out, profile=profile.name, models=[name],
               config={"input": Path(args.input).name, "text_col": args.text_col, "dimension": d,
                       "method": result.method, "delta": args.delta, "limit": args.limit})
    counts = out[d].value_counts()
    accuracy = (float(np.mean(out[d].astype(str) == out[args.label_col].astype(str))) if args.label_col
                else None)
    if wants_json(args):
        print_json({"rows": len(out), "dimension": d, "method": result.method, "model": name, "delta": args.delta,
                    "counts": {str(k): int(v) for k, v in counts.items()}, "out": args.out,
                    **({"accuracy": accuracy, "label_col": args.label_col} if args.label_col else {})})
        return 0
    print(f"classified {len(out):,} prompts into {d} with {result.method} ({name}); "
          f"most frequent: {', '.join(f'{k} ({v})' for k, v in counts.head(3).items())}; wrote {args.out}")
    if args.label_col:
        print(f"top-1 accuracy against '{args.label_col}': {accuracy:.3f} ({len(out)} prompts)")
    return 0


def _expand_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="a classified table (e.g. the output of `workbench taxonomy classify`)")
    p.add_argument("--text-col", required=True)
    p.add_argument("--id-col", default="id", help="row id column")
    p.add_argument("--dimension", required=True, choices=["safety", "value", "culture"])
    p.add_argument("--domain-col", help="column with each row's domain key (default: the dimension's name)")
    p.add_argument("--target", type=int, default=100, help="top every domain up to this many prompts")
    p.add_argument("--model", help="generator model (default: the profile's expander)")
    p.add_argument("--roles", metavar="FILE", help="TOML roles file overriding the profile's models "
                                                 "(see `workbench build --roles`)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--out", required=True, help="output .parquet file: the input rows plus the generated ones")
    add_json(p, "the prompts added per domain")


@command("taxonomy expand", "top up low-resource domains with generated prompts (provenance kept per row)",
         _expand_args)
def _expand(args) -> int:
    import pandas as pd

    from workbench.datasets import read_table
    from workbench.engines import engine_kind, load_engine
    from workbench.io import save_table
    from workbench.profiles import active_profile, load_roles
    from workbench.taxonomy.expand import expand, expansion_needs

    if args.target < 1:
        raise WorkbenchError("--target must be at least 1")
    profile = active_profile().with_roles(load_roles(args.roles) if args.roles else {})
    df = read_table(args.input, text_col=args.text_col, id_col=args.id_col)
    domain_col = args.domain_col or args.dimension
    needs = expansion_needs(df, args.dimension, target=args.target, domain_col=domain_col)
    name = args.model or profile.model_for("expander")
    lm = load_engine(name, progress=bracketed)
    with progress(f"expanding {len(needs)} domain(s)", unit="prompts") as update:
        new = expand(df, args.dimension, lm, text_col=args.text_col, id_col=args.id_col, domain_col=domain_col,
                     target=args.target, seed=args.seed, max_new_tokens=args.max_new_tokens,
                     progress=update)
    original = df.assign(origin="original", generator=None, seed=pd.NA, source_ids=None)
    out = pd.concat([original, new], ignore_index=True)
    out["seed"] = out["seed"].astype("Int64")
    save_table(out, args.out, profile=profile.name, models=[name],
               config={"input": Path(args.input).name, "dimension": args.dimension, "target": args.target,
                       "seed": args.seed, "temperature": 0.7, "top_p": 0.9, "engine": engine_kind()})
    if wants_json(args):
        added = new[domain_col].value_counts() if len(new) and domain_col in new.columns else {}
        print_json({"added": len(new), "needed": needs, "domains": {str(k): int(v) for k, v in dict(added).items()},
                    "target": args.target, "model": name, "out": args.out})
        return 0
    print(f"added {len(new):,} generated prompt(s) to {len(needs)} domain(s) below {args.target}; wrote {args.out}")
    return 0
