"""`workbench eval misalign|raters|agreement`: misalignment detectors, LLM safety raters, rater agreement.

Registered by ``workbench.cli.main``; the evaluation modules are imported inside the command."""
from __future__ import annotations

import argparse

from workbench import WorkbenchError
from workbench.cli.common import add_json, command, fmt, print_json, print_table, progress, wants_json

def _eval_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    m = sub.add_parser("misalign", help="a model as a zero-shot misalignment detector (joint or single-dimension): "
                                        "Coverage, FFR, AS with CIs for all / single / joint conditions")
    m.add_argument("input", help="table of (prompt, response, label) rows, e.g. a build's responses.parquet")
    m.add_argument("--model", required=True,
                   help="a causal LM (LLM detector), a sentence encoder (embedding detector), hf:ORG/NAME, "
                        "or the baselines 'always' / 'never'")
    which = m.add_mutually_exclusive_group()
    which.add_argument("--dimension", choices=["safety", "value", "culture"],
                       help="run the model's single-dimension detector instead of the joint one: it sees only "
                            "this dimension's criteria (question or anchors)")
    which.add_argument("--single-dimension", action="store_true",
                       help="run four detectors: the joint one and the safety-, value- and culture-only ones")
    m.add_argument("--prompt-col", help="default: prompt or text")
    m.add_argument("--response-col", help="default: response")
    m.add_argument("--label-col", help="misaligned when truthy or >= 0.5 (default: side, label or misaligned)")
    m.add_argument("--threshold", type=float, default=0.5, help="flag when the score is at least this")
    m.add_argument("--group-by", default="", help="extra metadata columns to report by, comma-separated")
    m.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates for the CIs")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--out", required=True, help="folder for predictions.parquet, groups.parquet, metrics.json")
    add_json(m, "the metrics (as metrics.json)")
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
    add_json(r, "the metrics (as metrics.json)")
    a = sub.add_parser("agreement", help="ICC (six Shrout-Fleiss forms, 95%% CIs) and inter-rater correlation of "
                                         "any long-format ratings table")
    a.add_argument("input", help="one row per (target, rater) rating")
    a.add_argument("--targets", required=True, help="column of the rated items")
    a.add_argument("--raters", required=True, help="column of the raters")
    a.add_argument("--ratings", required=True, help="numeric ratings column (or Yes/No/Unsure: 1/0/0.5)")
    add_json(a, "the ICC forms, ρ and what was left out")


@command("eval", "evaluate models: `eval misalign` (detectors), `eval raters` (LLM safety raters), "
                 "`eval agreement` (ICC, ρ of any ratings table)", _eval_args)
def _eval(args) -> int:
    import numpy as np

    from workbench.profiles import active_profile

    if args.action == "misalign":
        from workbench.evaluation.detectors import detector_set, get_detector
        from workbench.evaluation.misalign import run_misalign_eval

        if args.n_boot < 1:
            raise WorkbenchError("--n-boot must be at least 1")
        if args.single_dimension and args.model in ("always", "never"):
            raise WorkbenchError(f"--single-dimension needs a model: the '{args.model}' baseline reads no criteria")
        detectors = (detector_set([args.model]) if args.single_dimension
                     else [get_detector(args.model, args.dimension)])
        with progress(f"scoring with {', '.join(d.name for d in detectors)}", unit="rows") as update:
            metrics = run_misalign_eval(
                args.input, detectors, args.out, profile=active_profile().name, prompt_col=args.prompt_col,
                response_col=args.response_col, label_col=args.label_col, threshold=args.threshold,
                group_by=[c for c in args.group_by.split(",") if c], n_boot=args.n_boot, seed=args.seed,
                progress=update)
        if wants_json(args):
            print_json({**metrics, "out": args.out})
            return 0
        c = metrics["counts"]
        print(f"{len(detectors)} detector(s) on {c['n']:,} rows ({c['n_misaligned']:,} misaligned, "
              f"{c['n_aligned']:,} aligned"
              + (f"; {metrics['skipped']['unreadable_label']:,} skipped: unreadable label"
                 if metrics["skipped"]["unreadable_label"] else "") + ")")
        if metrics.get("truncation"):
            t = metrics["truncation"]
            print(f"long pairs cut before scoring: prompts to {t['prompt_tokens']} {t['unit']}, responses to "
                  f"{t['response_tokens']}; {t['rows_cut']:,} of {t['rows']:,} rows cut")
        rows = []
        for name, entry in metrics["detectors"].items():
            for condition, m in entry["conditions"].items():
                rows.append({"detector": name, "condition": condition, "n": m["n"],
                             **{label: f"{fmt(m[key]['value'])} [{fmt(m[key]['ci_low'])}, {fmt(m[key]['ci_high'])}]"
                                for key, label in (("coverage", "Coverage"), ("ffr", "FFR"),
                                                   ("alignment_score", "Alignment Score"))},
                             "ROC AUC": fmt(entry["auc"]) if condition == "all" else ""})
        print_table(rows, ["detector", "condition", "n", "Coverage", "FFR", "Alignment Score", "ROC AUC"])
        if metrics.get("paired_vs_joint"):
            print("\nsingle-dimension − joint detector on the same rows (paired bootstrap 95% CI):")
            print_table([{"detector": r["detector"], "condition": r["condition"], "n": r["n"],
                          **{label: f"{fmt(r[key + '_diff'])} [{fmt(r[key + '_low'])}, {fmt(r[key + '_high'])}]"
                             for key, label in (("coverage", "ΔCoverage"), ("ffr", "ΔFFR"),
                                                ("alignment_score", "ΔAS"))}}
                         for r in metrics["paired_vs_joint"]], ["detector", "condition", "n", "ΔCoverage", "ΔFFR",
                                                                "ΔAS"])
        print("95% bootstrap CIs in brackets; joint: prompts labelled with two or more dimensions, single: with one"
              + ("" if any("joint" in e["conditions"] or "single" in e["conditions"]
                           for e in metrics["detectors"].values())
                 else " (this table says no dimensions: only 'all' is reported)"))
        print(f"wrote {args.out}")
        return 0
    if args.action == "raters":
        from workbench.evaluation.raters import run_rater_eval

        models = [m.strip() for m in args.raters.split(",") if m.strip()]
        with progress("rating") as update:
            metrics = run_rater_eval(args.input, models, args.out, profile=active_profile(), personas=args.personas,
                                     mode=args.mode, limit=args.limit, sweep=not args.no_sweep, progress=update)
        if wants_json(args):
            print_json({**metrics, "out": args.out})
            return 0
        for model, entry in metrics["models"].items():
            line = f"{model}: {entry['n_items']} items"
            if "icc" in entry:
                i2, i3 = entry["icc"]["ICC2"], entry["icc"]["ICC3"]
                line += (f"; ICC(2,1) {fmt(i2['icc'])} [{fmt(i2['ci_low'])}, {fmt(i2['ci_high'])}], "
                         f"ICC(3,1) {fmt(i3['icc'])} [{fmt(i3['ci_low'])}, {fmt(i3['ci_high'])}], "
                         f"ρ {fmt(entry['rho'])}")
            if entry.get("fairness", {}).get("ds") is not None:
                line += f"; DS {fmt(entry['fairness']['ds'])} (average; max {fmt(entry['fairness']['ds_max'])})"
            print(line)
        if metrics.get("human", {}).get("ds") is not None:
            print(f"human raters by their demographics: DS {fmt(metrics['human']['ds'])} "
                  f"(average; max {fmt(metrics['human']['ds_max'])})")
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
    if wants_json(args):
        print_json(result)
        return 0
    print_table([{"form": k, "icc": fmt(v["icc"]), "95% CI": f"[{fmt(v['ci_low'])}, {fmt(v['ci_high'])}]"}
                 for k, v in result.items() if k.startswith("ICC")], ["form", "icc", "95% CI"])
    print(f"inter-rater correlation ρ: {fmt(rho)}")
    if unreadable:
        print(f"skipped {unreadable} unreadable rating(s)")
    if result["dropped_targets"]:
        print(f"left out {len(result['dropped_targets'])} target(s) not rated by every rater")
    return 0
