"""The ``workbench`` command line.

Subcommands register themselves with ``@command``; each gets an argparse sub-parser and a handler
``fn(args) -> int``. Global options: ``--profile``, ``--device`` (also ``$WORKBENCH_PROFILE``,
``$WORKBENCH_DEVICE``) and ``--debug`` (show tracebacks). Errors print one line on stderr and exit non-zero.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable

from workbench import WorkbenchError, __version__

Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]] = {}


def command(name: str, help: str, configure: Callable[[argparse.ArgumentParser], None] = lambda p: None):
    """Register ``fn`` as ``workbench NAME``; ``configure`` adds its arguments."""
    def wrap(fn: Handler) -> Handler:
        COMMANDS[name] = (help, configure, fn)
        return fn
    return wrap


def print_table(rows: list[dict], columns: list[str]) -> None:
    """A plain fixed-width table on stdout."""
    widths = {c: max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    print("  ".join("-" * widths[c] for c in columns))
    for row in rows:
        print("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns).rstrip())


# --- commands -----------------------------------------------------------------------------------------------

@command("info", "version, device, active profile and offline availability of its models")
def _info(args) -> int:
    import torch

    from workbench.models import availability, get_spec
    from workbench.paths import home
    from workbench.profiles import active_profile, pick_device

    profile = active_profile()
    print(f"workbench {__version__}  (torch {torch.__version__})")
    print(f"device:   {pick_device()}")
    print(f"profile:  {profile.name} — {profile.description}")
    print(f"home:     {home()}")
    rows = []
    for name in profile.model_names():
        spec = get_spec(name)
        state = availability(spec)
        roles = [r for r, names in profile.roles.items() if name in names]
        rows.append({"model": name, "role": spec.role, "size": spec.size_label,
                     "available": "yes" if state.available else "NO",
                     "prepared": "yes" if state.prepared else "no", "used as": ", ".join(roles)})
    print()
    print_table(rows, ["model", "role", "size", "available", "prepared", "used as"])
    return 0


@command("papers", "the ten papers: id, short name, title")
def _papers(args) -> int:
    from workbench.papers import all_papers

    print_table([{"id": p.id, "short name": p.short_name, "arXiv": p.arxiv, "title": p.title}
                 for p in all_papers()], ["id", "short name", "arXiv", "title"])
    return 0


def _models_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    ls = sub.add_parser("list", help="list the registered models")
    ls.add_argument("--profile", dest="filter_profile", choices=["default", "paper", "test"],
                    help="only the models of this profile")


@command("models", "the model zoo (`workbench models list [--profile default|paper]`)", _models_args)
def _models(args) -> int:
    from workbench.models import availability, list_specs

    rows = []
    for spec in list_specs(profile=args.filter_profile):
        state = availability(spec)
        rows.append({"name": spec.name, "role": spec.role, "profile": spec.profile, "size": spec.size_label,
                     "source": spec.source, "available": "yes" if state.available else "no",
                     "detail": state.detail if len(state.detail) < 60 else state.detail[:57] + "..."})
    print_table(rows, ["name", "role", "profile", "size", "source", "available", "detail"])
    return 0


def _generate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("prompt", help="the user message")
    p.add_argument("--model", help="model name (default: the profile's generator)")
    p.add_argument("--system", help="system message for instruct models")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    p.add_argument("--seed", type=int, default=0)


@command("generate", "generate a completion (chat template applied for instruct models)", _generate_args)
def _generate(args) -> int:
    from workbench.llm import generate
    from workbench.models import get_spec, load
    from workbench.profiles import active_profile

    name = args.model or active_profile().model_for("generator")
    spec = get_spec(name)
    if spec.role != "causal-lm":
        raise WorkbenchError(f"model '{name}' is a {spec.role}, not a causal LM")
    if args.max_new_tokens < 1:
        raise WorkbenchError("--max-new-tokens must be at least 1")
    lm = load(name, progress=lambda m: print(f"[{m}]", file=sys.stderr))
    print(generate(lm, args.prompt, system=args.system, max_new_tokens=args.max_new_tokens,
                   temperature=args.temperature, seed=args.seed))
    return 0


def _require_new_columns(df, columns, source) -> None:
    """Refuse to overwrite columns the input already has."""
    clash = [c for c in columns if c in df.columns]
    if clash:
        raise WorkbenchError(f"{source}: already has column(s) {', '.join(clash)}; rename them first")


def _progress_bar(desc: str):
    from tqdm import tqdm

    bar = tqdm(total=100, desc=desc, unit="%", bar_format="{l_bar}{bar}| {n:.0f}% {postfix}")

    def update(fraction: float, message: str) -> None:
        bar.n = round(100 * fraction, 1)
        bar.set_postfix_str(message[:60])
        bar.refresh()
    return bar, update


def _prepare_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models", nargs="*", help="model names (default: the profile's offline models)")


@command("prepare", "convert/build the profile's models once (what the dashboard needs); safe to re-run",
         _prepare_args)
def _prepare(args) -> int:
    from workbench.build import prepare_models
    from workbench.profiles import active_profile

    names = args.models or active_profile().model_names()
    bar, update = _progress_bar("preparing models")
    try:
        done = prepare_models(names, update)
    finally:
        bar.close()
    print(f"prepared {len(done)} model(s) now; {len(names) - len(done)} were ready" if done
          else f"all {len(names)} model(s) ready; nothing to do")
    return 0


def _build_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", help="a paper id (P1 …: its dashboard artifacts) or a dataset: "
                                  "savacu, misaligntrade, demo-safety")
    p.add_argument("--smoke", action="store_true", help="tiny sizes (seconds, for checks)")
    p.add_argument("--force", action="store_true", help="rebuild artifacts that exist (papers)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--source", help="datasets: the prompt table (DICES CSV for demo-safety)")
    p.add_argument("--text-col", help="datasets: the prompt column (default: text or prompt)")
    p.add_argument("--limit", type=int, help="datasets: only the first N source rows")
    p.add_argument("--target-count", type=int, default=100,
                   help="datasets: expand domains below this many prompts (default 100)")
    p.add_argument("--tau", type=int, default=10, help="datasets: SimHash distance threshold (default 10)")
    p.add_argument("--k", type=int, help="datasets: candidate responses per side and prompt "
                                         "(default: savacu 4, misaligntrade 2)")
    p.add_argument("--max-iterations", type=int, default=2,
                   help="datasets: critique-guided regenerations of a rejected candidate (default 2)")
    p.add_argument("--response-tokens", type=int, default=96, help="datasets: new tokens per response (default 96)")
    p.add_argument("--respond-limit", type=int,
                   help="datasets: generate responses for the first N kept prompts only (0: none; default all)")
    p.add_argument("--contrastive-judge", action="store_true",
                   help="datasets: accept a candidate when it fits its side's criteria better than the other "
                        "side's (for small judges; see workbench.llm.rejection.lm_judge)")
    p.add_argument("--out", help="datasets: output folder (re-running it resumes)")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="datasets: run sharded stages on dask: 'local' (a local cluster) or a scheduler address")


@command("build", "build a paper's artifacts, or a dataset (resumable) on the active profile", _build_args)
def _build(args) -> int:
    from workbench.build import BuildContext, build_paper, discover
    from workbench.io import ArtifactStore
    from workbench.papers import get_paper
    from workbench.profiles import active_profile
    from workbench.taxonomy.construct import DATASETS, ResponseConfig, build_dataset

    if args.target in DATASETS:
        if not args.source or not args.out:
            raise WorkbenchError(f"building {args.target} needs --source FILE and --out DIR")
        if args.limit is not None and args.limit < 1:
            raise WorkbenchError("--limit must be at least 1")
        for flag, value, low in (("--k", args.k, 1), ("--max-iterations", args.max_iterations, 0),
                                 ("--response-tokens", args.response_tokens, 1),
                                 ("--respond-limit", args.respond_limit, 0)):
            if value is not None and value < low:
                raise WorkbenchError(f"{flag} must be at least {low}")
        responses = ResponseConfig(args.k, args.max_iterations, args.response_tokens, args.respond_limit,
                                   contrastive_judge=args.contrastive_judge)
        bar, update = _progress_bar(f"building {args.target}")
        client = cluster = None
        try:
            if args.dask:
                from distributed import Client, LocalCluster

                cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) \
                    if args.dask == "local" else None
                client = Client(cluster if cluster is not None else args.dask)
            funnel = build_dataset(args.target, args.source, args.out, profile=active_profile(), limit=args.limit,
                                   text_col=args.text_col, target=args.target_count, tau=args.tau,
                                   seed=args.seed, responses=responses, progress=update, client=client)
        finally:
            bar.close()
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
        line = (f"{args.target}: {funnel['source_rows']:,} source prompts → +{funnel['expanded']:,} expanded → "
                f"−{funnel['removed_by_dedup']:,} near-duplicates → {funnel['kept']:,} kept")
        if "generated" in funnel:
            line += (f" → {funnel['generated']:,} candidate responses for {funnel['responded_prompts']:,} prompts: "
                     f"{funnel['accepted_stage1']:,} accepted in stage 1, {funnel['recovered_stage2']:,} recovered "
                     f"in stage 2, {funnel['dropped']:,} dropped")
        print(f"{line}; wrote {args.out}")
        return 0
    discover()
    paper = get_paper(args.target)
    bar, update = _progress_bar(f"building {paper.id}")
    try:
        ran = build_paper(paper.id, BuildContext(ArtifactStore(), active_profile(), args.seed, args.smoke, update),
                          force=args.force)
    finally:
        bar.close()
    print(f"{paper.id}: built {', '.join(ran)}" if ran else f"{paper.id}: every artifact was already built")
    return 0


def _taxonomy_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dimension", choices=["safety", "value", "culture", "semantic_type"],
                   help="one dimension (default: the three dimensions and the semantic types)")
    p.add_argument("--full", action="store_true", help="do not shorten the descriptions")


@command("taxonomy", "the 112-domain taxonomy (safety, value, culture) and the semantic types", _taxonomy_args)
def _taxonomy(args) -> int:
    from workbench.taxonomy import DIMENSIONS, dimension

    names = [args.dimension] if args.dimension else list(DIMENSIONS) + ["semantic_type"]
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
                   help="how the LLM's token likelihoods become label probabilities (default yesno)")
    p.add_argument("--model", help="model name (default: the profile's classifier or sentence encoder)")
    p.add_argument("--delta", type=float, default=0.5, help="multi-label probability cut-off (default 0.5)")
    p.add_argument("--limit", type=int, help="only the first N rows")
    p.add_argument("--label-col", help="a column of gold labels: print top-1 accuracy against it")
    p.add_argument("--out", required=True, help="output .parquet file")


@command("classify", "classify prompts into a taxonomy dimension (multi-label with cut-off, plus top-1)",
         _classify_args)
def _classify(args) -> int:
    import numpy as np

    from workbench.datasets import read_table
    from workbench.io import save_table
    from workbench.models import get_spec, load
    from workbench.profiles import active_profile
    from workbench.taxonomy.classify import classify_embedding, classify_llm

    profile = active_profile()
    method = args.method or ("embedding" if profile.name == "default" else "llm")
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
    _require_new_columns(df, (d, f"{d}_score", f"{d}_labels"), args.input)
    name = args.model or profile.model_for("classifier" if method == "llm" else "sentence_encoder")
    role = get_spec(name).role
    if method == "llm" and role != "causal-lm" or method == "embedding" and role != "sentence-encoder":
        raise WorkbenchError(f"model '{name}' is a {role}; --method {method} needs "
                             + ("a causal LM" if method == "llm" else "a sentence encoder"))
    model = load(name, progress=lambda m: print(f"[{m}]", file=sys.stderr))
    texts = df[args.text_col].tolist()
    if method == "llm":
        bar, update = _progress_bar(f"classifying ({d})")
        try:
            result = classify_llm(texts, d, model, method=args.llm_method, delta=args.delta,
                                  progress=lambda done, total: update(done / total, f"{done}/{total}"))
        finally:
            bar.close()
    else:
        result = classify_embedding(texts, d, model, delta=args.delta)
    out = df.reset_index(drop=True).join(result.frame())
    save_table(out, args.out, profile=profile.name, models=[name],
               config={"input": Path(args.input).name, "text_col": args.text_col, "dimension": d,
                       "method": result.method, "delta": args.delta, "limit": args.limit})
    counts = out[d].value_counts()
    print(f"classified {len(out):,} prompts into {d} with {result.method} ({name}); "
          f"most frequent: {', '.join(f'{k} ({v})' for k, v in counts.head(3).items())}; wrote {args.out}")
    if args.label_col:
        accuracy = float(np.mean(out[d].astype(str) == out[args.label_col].astype(str)))
        print(f"top-1 accuracy against '{args.label_col}': {accuracy:.3f} ({len(out)} prompts)")
    return 0


def _expand_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="a classified table (e.g. the output of `workbench classify`)")
    p.add_argument("--text-col", required=True)
    p.add_argument("--id-col", default="id", help="row id column (default id)")
    p.add_argument("--dimension", required=True, choices=["safety", "value", "culture"])
    p.add_argument("--domain-col", help="column with each row's domain key (default: the dimension's name)")
    p.add_argument("--target", type=int, default=100, help="top every domain up to this many prompts (default 100)")
    p.add_argument("--model", help="generator model (default: the profile's expander)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--out", required=True, help="output .parquet file: the input rows plus the generated ones")


@command("expand", "top up low-resource domains with generated prompts (provenance kept per row)", _expand_args)
def _expand(args) -> int:
    import pandas as pd

    from workbench.datasets import read_table
    from workbench.io import save_table
    from workbench.models import load
    from workbench.profiles import active_profile
    from workbench.taxonomy.expand import expand, expansion_needs

    if args.target < 1:
        raise WorkbenchError("--target must be at least 1")
    profile = active_profile()
    df = read_table(args.input, text_col=args.text_col, id_col=args.id_col)
    domain_col = args.domain_col or args.dimension
    needs = expansion_needs(df, args.dimension, target=args.target, domain_col=domain_col)
    name = args.model or profile.model_for("expander")
    lm = load(name, progress=lambda m: print(f"[{m}]", file=sys.stderr))
    bar, update = _progress_bar(f"expanding {len(needs)} domain(s)")
    try:
        new = expand(df, args.dimension, lm, text_col=args.text_col, id_col=args.id_col, domain_col=domain_col,
                     target=args.target, seed=args.seed, max_new_tokens=args.max_new_tokens,
                     progress=lambda done, total: update(done / max(total, 1), f"{done}/{total}"))
    finally:
        bar.close()
    original = df.assign(origin="original", generator=None, seed=pd.NA, source_ids=None)
    out = pd.concat([original, new], ignore_index=True)
    out["seed"] = out["seed"].astype("Int64")
    save_table(out, args.out, profile=profile.name, models=[name],
               config={"input": Path(args.input).name, "dimension": args.dimension, "target": args.target,
                       "seed": args.seed, "temperature": 0.7, "top_p": 0.9})
    print(f"added {len(new):,} generated prompt(s) to {len(needs)} domain(s) below {args.target}; wrote {args.out}")
    return 0


def _dedup_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="CSV, TSV, JSONL, JSON or parquet file")
    p.add_argument("--text-col", required=True, help="column holding the texts")
    p.add_argument("--tau", type=int, default=10, help="Hamming distance threshold (default 10)")
    p.add_argument("--shingle", choices=["char", "word"], default="char",
                   help="char 4-grams (default; identical to the simhash package) or word n-grams")
    p.add_argument("--ngram", type=int, default=4, help="shingle size (default 4)")
    p.add_argument("--out", required=True, help="output .parquet file")


@command("dedup", "SimHash near-duplicate removal (keep the first, mark later near-duplicates)", _dedup_args)
def _dedup(args) -> int:
    import numpy as np
    import pandas as pd

    from workbench.datasets import read_table
    from workbench.dedup import deduplicate
    from workbench.io import save_table
    from workbench.profiles import active_profile

    df = read_table(args.input, text_col=args.text_col)
    _require_new_columns(df, ("simhash", "duplicate_of", "duplicate"), args.input)
    bar, update = _progress_bar("fingerprinting")
    try:
        result = deduplicate(df[args.text_col].tolist(), tau=args.tau, shingle=args.shingle, n=args.ngram,
                             progress=lambda done, total: update(done / total, f"{done:,}/{total:,} texts"))
    finally:
        bar.close()
    out = df.copy()
    out["simhash"] = result.fingerprints
    out["duplicate_of"] = pd.array(np.where(result.duplicate, result.duplicate_of, None), dtype="Int64")
    out["duplicate"] = result.duplicate
    save_table(out, args.out, profile=active_profile().name,
               config={"input": Path(args.input).name, "text_col": args.text_col, "tau": args.tau,
                       "shingle": args.shingle, "ngram": args.ngram})
    print(f"kept {len(out) - result.n_removed:,} of {len(out):,} texts; {result.n_removed:,} near-duplicate(s) "
          f"within distance {args.tau} marked; wrote {args.out}")
    return 0


# --- entry point --------------------------------------------------------------------------------------------

def _eval_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    m = sub.add_parser("misalign", help="a model as a zero-shot misalignment detector: Coverage, FFR, AS with CIs")
    m.add_argument("input", help="table of (prompt, response, label) rows, e.g. a build's responses.parquet")
    m.add_argument("--model", required=True,
                   help="a causal LM (LLM detector), a sentence encoder (embedding detector), hf:ORG/NAME, "
                        "or the baselines 'always' / 'never'")
    m.add_argument("--prompt-col", help="default: prompt or text")
    m.add_argument("--response-col", help="default: response")
    m.add_argument("--label-col", help="misaligned when truthy or >= 0.5 (default: side, label or misaligned)")
    m.add_argument("--threshold", type=float, default=0.5, help="flag when the score is at least this (0.5)")
    m.add_argument("--group-by", default="", help="extra metadata columns to report by, comma-separated")
    m.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates for the CIs (1000)")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--out", required=True, help="folder for predictions.parquet, groups.parquet, metrics.json")
    r = sub.add_parser("raters", help="LLMs as safety raters of DICES items: ICC and ρ with the human panel, "
                                      "demographic sensitivity, the δ × τ sweep")
    r.add_argument("input", help="a DICES-350/990 CSV (or the fixture's layout)")
    r.add_argument("--raters", required=True, help="rater models, comma-separated (causal LMs or hf:ORG/NAME)")
    r.add_argument("--personas", action="store_true",
                   help="also rate as each demographic persona (one rater attribute at a time)")
    r.add_argument("--mode", choices=["likelihood", "generate"], default="likelihood",
                   help="read Yes/No/Unsure from token likelihoods (default) or parse greedy output")
    r.add_argument("--limit", type=int, help="only the first N items")
    r.add_argument("--no-sweep", action="store_true", help="skip the δ × τ threshold sweep")
    r.add_argument("--out", required=True, help="folder for ratings.parquet, metrics.json, sweep.parquet")
    a = sub.add_parser("agreement", help="ICC (six Shrout-Fleiss forms, 95%% CIs) and inter-rater correlation of "
                                         "any long-format ratings table")
    a.add_argument("input", help="one row per (target, rater) rating")
    a.add_argument("--targets", required=True, help="column of the rated items")
    a.add_argument("--raters", required=True, help="column of the raters")
    a.add_argument("--ratings", required=True, help="numeric ratings column (or Yes/No/Unsure: 1/0/0.5)")
    a.add_argument("--json", action="store_true", help="print JSON instead of a table")


@command("eval", "evaluate models: `eval misalign` (detectors), `eval raters` (LLM safety raters), "
                 "`eval agreement` (ICC, ρ of any ratings table)", _eval_args)
def _eval(args) -> int:
    import json

    import numpy as np

    from workbench.profiles import active_profile

    if args.action == "misalign":
        from workbench.evaluation.detectors import get_detector
        from workbench.evaluation.misalign import run_misalign_eval

        if args.n_boot < 1:
            raise WorkbenchError("--n-boot must be at least 1")
        detector = get_detector(args.model)
        bar, update = _progress_bar(f"scoring with {detector.name}")
        try:
            metrics = run_misalign_eval(
                args.input, detector, args.out, profile=active_profile().name, prompt_col=args.prompt_col,
                response_col=args.response_col, label_col=args.label_col, threshold=args.threshold,
                group_by=[c for c in args.group_by.split(",") if c], n_boot=args.n_boot, seed=args.seed,
                progress=lambda done, total: update(done / max(total, 1), f"{done}/{total} rows"))
        finally:
            bar.close()
        c = metrics["counts"]
        print(f"{detector.name} on {c['n']:,} rows ({c['n_misaligned']:,} misaligned, {c['n_aligned']:,} aligned"
              + (f"; {metrics['skipped']['unreadable_label']:,} skipped: unreadable label"
                 if metrics["skipped"]["unreadable_label"] else "") + ")")
        for name, label in (("coverage", "Coverage"), ("ffr", "FFR"), ("alignment_score", "Alignment Score")):
            m = metrics[name]
            print(f"  {label:<16} {_fmt(m['value'])}  95% CI [{_fmt(m['ci_low'])}, {_fmt(m['ci_high'])}]")
        if metrics["auc"] is not None:
            print(f"  {'ROC AUC':<16} {_fmt(metrics['auc'])}  (threshold-free)")
        print(f"wrote {args.out}")
        return 0
    if args.action == "raters":
        from workbench.evaluation.raters import run_rater_eval

        models = [m.strip() for m in args.raters.split(",") if m.strip()]
        bar, update = _progress_bar("rating")
        try:
            metrics = run_rater_eval(args.input, models, args.out, profile=active_profile(), personas=args.personas,
                                     mode=args.mode, limit=args.limit, sweep=not args.no_sweep, progress=update)
        finally:
            bar.close()
        for model, entry in metrics["models"].items():
            line = f"{model}: {entry['n_items']} items"
            if "icc" in entry:
                i2, i3 = entry["icc"]["ICC2"], entry["icc"]["ICC3"]
                line += (f"; ICC(2,1) {_fmt(i2['icc'])} [{_fmt(i2['ci_low'])}, {_fmt(i2['ci_high'])}], "
                         f"ICC(3,1) {_fmt(i3['icc'])} [{_fmt(i3['ci_low'])}, {_fmt(i3['ci_high'])}], "
                         f"ρ {_fmt(entry['rho'])}")
            if entry.get("fairness", {}).get("ds") is not None:
                line += f"; DS {_fmt(entry['fairness']['ds'])}"
            print(line)
        if metrics.get("human", {}).get("ds") is not None:
            print(f"human raters by their demographics: DS {_fmt(metrics['human']['ds'])}")
        for key, value in metrics["skipped"].items():
            print(f"skipped — {key}: {value}")
        print(f"wrote {args.out}")
        return 0
    from workbench.datasets import read_table
    from workbench.evaluation.raters import rating_values
    from workbench.metrics.agreement import icc, icc_table_to_dict, inter_rater_correlation

    frame = read_table(args.input)
    for col in (args.targets, args.raters, args.ratings):
        if col not in frame.columns:
            raise WorkbenchError(f"{args.input}: no column '{col}'; columns: {', '.join(map(str, frame.columns))}")
    values = rating_values(frame[args.ratings])
    unreadable = int(np.isnan(values).sum())
    if unreadable == len(frame):
        raise WorkbenchError(f"{args.input}: no value of '{args.ratings}' is a number or Yes/No/Unsure")
    frame = frame.assign(**{args.ratings: values})[~np.isnan(values)]
    table = icc(frame, targets=args.targets, raters=args.raters, ratings=args.ratings)
    rho = inter_rater_correlation(frame, targets=args.targets, raters=args.raters, ratings=args.ratings)
    result = {**icc_table_to_dict(table), "rho": rho, "unreadable_ratings": unreadable,
              "dropped_targets": [str(t) for t in table.attrs.get("dropped_targets", [])]}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print_table([{"form": k, "icc": _fmt(v["icc"]), "95% CI": f"[{_fmt(v['ci_low'])}, {_fmt(v['ci_high'])}]"}
                 for k, v in result.items() if k.startswith("ICC")], ["form", "icc", "95% CI"])
    print(f"inter-rater correlation ρ: {_fmt(rho)}")
    if unreadable:
        print(f"skipped {unreadable} unreadable rating(s)")
    if result["dropped_targets"]:
        print(f"left out {len(result['dropped_targets'])} target(s) not rated by every rater")
    return 0


def _fmt(x) -> str:
    return "n/a" if x is None or x != x else f"{x:.3f}"


# Command groups that live in their own modules register themselves on import.
import workbench.cli_experts  # noqa: E402,F401
import workbench.cli_steer  # noqa: E402,F401
import workbench.cli_deepfake  # noqa: E402,F401
import workbench.cli_caption  # noqa: E402,F401
import workbench.cli_memes  # noqa: E402,F401


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    parser.add_argument("--profile", choices=["default", "paper"], help="active profile (default: default)")
    parser.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, configure, _fn) in COMMANDS.items():
        configure(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    # Global options become environment variables so every library call below sees the same choice;
    # they are restored afterwards so that calling main() in-process leaves no trace.
    saved = {k: os.environ.get(k) for k in ("WORKBENCH_PROFILE", "WORKBENCH_DEVICE")}
    if args.profile:
        os.environ["WORKBENCH_PROFILE"] = args.profile
    if args.device:
        os.environ["WORKBENCH_DEVICE"] = args.device
    try:
        from workbench.profiles import active_profile, pick_device

        active_profile()
        pick_device()
        return COMMANDS[args.command][2](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for the user; --debug for the traceback
        if args.debug:
            raise
        kind = "" if isinstance(exc, WorkbenchError) else f"{type(exc).__name__}: "
        print(f"error: {kind}{exc}", file=sys.stderr)
        return 1
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


if __name__ == "__main__":
    sys.exit(main())
