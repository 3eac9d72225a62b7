"""`workbench experts …`: train a mixture of calibrated experts, evaluate it (router calibration, HHH), and
generate with it (P3 AlignX, P10 TrinityX)."""
from __future__ import annotations

import argparse
from pathlib import Path

from workbench import WorkbenchError
from workbench.cli.common import (add_json, add_track, command, fmt, note, print_json, print_table, progress, tracked,
                                  wants_json)


def _experts_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    t = sub.add_parser("train", help="three LoRA axis experts, a router over the backbone's hidden state, and its "
                                     "calibrators (temperature, fractal, natural, mixed)")
    t.add_argument("--backbone", help="a causal LM (default: the profile's expert backbone)")
    t.add_argument("--epochs", type=int, default=2, help="epochs per expert")
    t.add_argument("--rank", type=int, help="LoRA rank (default: the profile's: 8; paper profile 64, as the papers)")
    t.add_argument("--alpha", type=int,
                   help="LoRA alpha, independent of the rank (default: the profile's: 16; paper profile 32)")
    t.add_argument("--dropout", type=float, help="LoRA dropout (default: the profile's: 0.05; paper profile 0.1)")
    t.add_argument("--lr", type=float, help="learning rate (default: the profile's: 5e-4, the papers')")
    t.add_argument("--batch-size", type=int, help="rows per micro-batch (default: the profile's: 8)")
    t.add_argument("--grad-accum", type=int,
                   help="micro-batches per optimiser step (default: the profile's: 1); the effective batch is "
                        "batch size x this")
    t.add_argument("--grad-checkpointing", action=argparse.BooleanOptionalAction, default=None,
                   help="recompute activations in the backward pass: less memory, slower (default: the profile's: "
                        "off)")
    t.add_argument("--device", help="train and read hidden states here (default: $WORKBENCH_DEVICE, else "
                                    "cuda → mps → cpu)")
    t.add_argument("--resume", action="store_true",
                   help="continue an interrupted training from its checkpoints in OUT/.checkpoints")
    t.add_argument("--alignx-prefix", action="store_true",
                   help="AlignX's prompt injection: prefix every training prompt with its instruction")
    t.add_argument("--alpaca", help="train the helpful expert on this Alpaca JSON instead of the bundled set")
    t.add_argument("--beavertails", help="train the harmless expert on this BeaverTails JSONL")
    t.add_argument("--truthfulqa", help="train the honest expert on this TruthfulQA CSV")
    t.add_argument("--limit", type=int, help="at most N training rows per axis")
    t.add_argument("--no-fractal", action="store_true", help="switch off the fractal (box-counting) calibrator")
    t.add_argument("--no-natural", action="store_true", help="switch off the natural (Fisher) calibrator")
    t.add_argument("--lambda1", type=float, default=0.6, help="weight of the fractal calibrator in the mix")
    t.add_argument("--lambda2", type=float, default=0.4, help="weight of the natural calibrator in the mix")
    t.add_argument("--eps", type=float, default=0.05, help="smallest box side of the box counting")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", required=True, help="folder for the adapters, the router and report.json")
    add_track(t)
    add_json(t, "report.json")
    e = sub.add_parser("eval", help="the router's accuracy and calibration from a trained folder; --hhh adds the "
                                    "HHH evaluation of the mixture")
    e.add_argument("folder")
    e.add_argument("--hhh", action="store_true", help="generate with every system (base, each expert, routed, "
                                                      "merged) on the bundled eval prompts and judge them")
    e.add_argument("--judge", help="judge LLM for the HHH evaluation (default: the profile's judge)")
    e.add_argument("--limit", type=int, help="at most N eval prompts per axis for --hhh")
    e.add_argument("--max-new-tokens", type=int, default=48)
    e.add_argument("--calibrator", default="temperature",
                   help="calibrated routing of the 'routed' system (temperature, fractal, natural, mixed, uncalibrated)")
    e.add_argument("--ablation", action="store_true",
                   help="with --hhh: also the routed mixture under every calibrator, and the uncalibrated-vs-each-"
                        "calibrator table (change in points, paired bootstrap 95 %% CI)")
    e.add_argument("--out", help="write the HHH metrics (CSV) here")
    add_json(e, "report.json and, with --hhh, the HHH metrics")
    g = sub.add_parser("generate", help="answer prompts with a trained mixture")
    g.add_argument("folder")
    g.add_argument("prompts", nargs="+")
    g.add_argument("--mode", default="routed", help="routed (default), merged, base, or one axis name")
    g.add_argument("--calibrator", default="temperature",
                   help="which calibrated routing distribution to use (temperature, fractal, natural, mixed, "
                        "uncalibrated)")
    g.add_argument("--max-new-tokens", type=int, default=64)
    g.add_argument("--top-k", type=int, help="experts mixed per routing decision (default: the router's; 1 = hard)")
    g.add_argument("--level", choices=("prompt", "token"), default="prompt",
                   help="route once per prompt (default) or per token inside the decoder blocks")
    add_json(g, "each prompt's routing and answer")


@command("experts", "mixture of calibrated experts: `experts train`, `experts eval`, `experts generate`",
         _experts_args)
def _experts(args) -> int:
    import json

    from workbench.engines import require_hf
    from workbench.experts.geometry import CALIBRATORS, CalibrationConfig
    from workbench.experts.moe import HF_ONLY
    from workbench.profiles import active_profile

    require_hf("the expert mixture", HF_ONLY)           # before any adapter is trained, not after
    if args.action == "generate":
        return _generate(args)
    if args.action == "eval":
        report_path = Path(args.folder) / "report.json"
        if not report_path.is_file():
            raise WorkbenchError(f"{args.folder}: no report.json; train with `workbench experts train --out DIR`")
        report = json.loads(report_path.read_text())
    else:
        import pandas as pd

        from workbench.experts.data import axis_data, load_alpaca, load_beavertails_axis, load_truthfulqa
        from workbench.experts.mixture import build_mixture

        counts = {"--epochs": args.epochs, "--rank": args.rank, "--limit": args.limit, "--grad-accum": args.grad_accum,
                  "--batch-size": args.batch_size}
        if any(v is not None and v < 1 for v in counts.values()):
            raise WorkbenchError("--epochs, --rank, --limit, --grad-accum and --batch-size must be at least 1")
        if args.dropout is not None and not 0 <= args.dropout < 1:
            raise WorkbenchError("--dropout must be in [0, 1)")
        if (args.alpha is not None and args.alpha <= 0) or (args.lr is not None and args.lr <= 0):
            raise WorkbenchError("--alpha and --lr must be positive")
        data = axis_data()
        for axis, path, loader in (("helpful", args.alpaca, load_alpaca),
                                   ("harmless", args.beavertails, load_beavertails_axis),
                                   ("honest", args.truthfulqa, load_truthfulqa)):
            if path:
                data = pd.concat([data[data["axis"] != axis], loader(path)], ignore_index=True)
        if args.limit:
            train = data[data["split"] == "train"].groupby("axis", group_keys=False).head(args.limit)
            data = pd.concat([train, data[data["split"] == "eval"]], ignore_index=True)
        backbone = args.backbone or active_profile().model_for("expert_backbone")
        config = expert_config(args, active_profile().name)
        with tracked(args, "experts train") as tracker, progress("training experts") as update:
            calibration = CalibrationConfig(fractal=not args.no_fractal, natural=not args.no_natural,
                                            lambda_fractal=args.lambda1, lambda_natural=args.lambda2, eps=args.eps)
            report = build_mixture(backbone, data, args.out, experts=config, calibration=calibration,
                                   seed=args.seed, progress=tracker.watch(update), device=args.device,
                                   work=Path(args.out) / ".checkpoints", resume=args.resume)
            tracker.log_metrics(report)
    if wants_json(args):
        payload = {"report": report, **({"out": args.out} if args.action == "train" else {})}
        if args.action == "eval" and args.hhh:
            payload["hhh"] = _hhh(args)
        print_json(payload)
        return 0
    test = report["test"]
    print(f"backbone {report['backbone']}; experts: {', '.join(report['axes'])}")
    for axis, (first, last) in report["expert_losses"].items():
        print(f"  {axis:<9} loss {first:.3f} → {last:.3f}")
    print(f"router: train accuracy {report['router_train_accuracy']:.3f}; held-out accuracy {test['accuracy']:.3f} "
          f"on {test['n']} prompts (calibrated on {report['calibration_rows']})")
    print(f"fitted temperature {report['temperature']:.3f}")
    for name in CALIBRATORS:
        if name in test:
            c = test[name]
            print(f"  {name:<13} accuracy {c['accuracy']:.3f}  ECE {c['ece']:.3f}  ECE(mass) {c['ece_mass']:.3f}  "
                  f"Brier {c['brier']:.3f}")
    print("confusion (rows: true axis, columns: chosen expert):")
    for axis, row in zip(report["axes"], report["confusion"]):
        print(f"  {axis:<9} {row}")
    if args.action == "train":
        print(f"wrote {args.out}")
    elif args.hhh:
        _hhh(args)
    return 0


def expert_config(args, profile: str):
    """The ``ExpertConfig`` of ``experts train``'s flags: the profile's settings (``ExpertConfig.for_profile``),
    each flag given replacing its field; α is its own flag, not tied to the rank."""
    from workbench.experts.train import ALIGNX_PREFIX, ExpertConfig

    flags = {"r": args.rank, "alpha": args.alpha, "dropout": args.dropout, "lr": args.lr,
             "batch_size": args.batch_size, "grad_accum": args.grad_accum,
             "grad_checkpointing": args.grad_checkpointing}
    return ExpertConfig.for_profile(profile, epochs=args.epochs, seed=args.seed,
                                    prefix=ALIGNX_PREFIX if args.alignx_prefix else None,
                                    **{k: v for k, v in flags.items() if v is not None})


def _generate(args) -> int:
    from workbench.experts.moe import MixtureOfExperts

    mixture = MixtureOfExperts.load(args.folder)
    routed = mixture.route(args.prompts, calibrator=args.calibrator, top_k=args.top_k)
    answers = mixture.generate(args.prompts, mode=args.mode, calibrator=args.calibrator,
                               max_new_tokens=args.max_new_tokens, top_k=args.top_k, level=args.level)
    if wants_json(args):
        rows = zip(args.prompts, routed["probs"], routed["weights"], answers)
        print_json([{"prompt": prompt, "mode": args.mode, "calibrator": args.calibrator, "top_k": routed["top_k"],
                     "level": args.level, "answer": answer,
                     "routing": {a: {"p": p, "w": w} for a, p, w in zip(mixture.axes, probs, weights)}}
                    for prompt, probs, weights, answer in rows])
        return 0
    for prompt, probs, weights, answer in zip(args.prompts, routed["probs"], routed["weights"], answers):
        routing = ", ".join(f"{a} {p:.2f} (w {w:.2f})" for a, p, w in zip(mixture.axes, probs, weights))
        print(f"> {prompt}\n  routing ({args.calibrator}, top-{routed['top_k']}, per {args.level}): {routing}; "
              f"mode {args.mode}\n  {answer}")
    return 0


def _hhh(args) -> dict:
    """The HHH evaluation of ``experts eval --hhh``: printed as tables, returned for ``--json``."""
    from workbench.experts.ablation import calibration_ablation
    from workbench.experts.artifacts import hhh_plan, judged_hhh
    from workbench.experts.data import axis_data
    from workbench.experts.moe import MixtureOfExperts
    from workbench.profiles import active_profile

    if args.limit is not None and args.limit < 1:
        raise WorkbenchError("--limit must be at least 1")
    eval_set = axis_data("eval")
    if args.limit:
        eval_set = eval_set.groupby("axis", group_keys=False).head(args.limit).reset_index(drop=True)
    judge = args.judge or active_profile().model_for("judge")
    mixture = MixtureOfExperts.load(args.folder)
    with progress("HHH: generating") as update:
        metrics, _, judged = judged_hhh(mixture, eval_set, judge, max_new_tokens=args.max_new_tokens,
                                        progress=update, plan=hhh_plan(mixture, calibrator=args.calibrator,
                                                                       ablation=args.ablation))
    ablation = calibration_ablation(judged, mixture.axes) if args.ablation else None
    del mixture
    if args.out:
        from workbench.io import write_text

        write_text(metrics.to_csv(index=False), args.out)
    result = {"eval_prompts": len(eval_set), "metrics": metrics, "ablation": ablation, "out": args.out}
    if wants_json(args):
        return result
    table = metrics.pivot_table(index="system", columns="metric", values="value", sort=False)
    print(f"HHH evaluation on {len(eval_set)} bundled eval prompts; judges: {', '.join(sorted(set(metrics['judge'])))}")
    print_table([{"system": s, **{m: fmt(v) for m, v in row.items()}} for s, row in table.iterrows()],
                ["system", "win_rate", "harmful_rate", "true", "informative", "true_and_informative"])
    if ablation is not None:
        print("Calibration ablation: each calibrator's routed mixture minus the uncalibrated one (points, 95 % CI)")
        print_table([{**r, **{k: fmt(r[k]) for k in ("value", "delta", "ci_low", "ci_high", "weights_changed",
                                                      "text_changed")}} for r in ablation.to_dict("records")],
                    ["calibrator", "axis", "metric", "n", "value", "delta", "ci_low", "ci_high", "weights_changed",
                     "text_changed"])
    if args.out:
        note(f"wrote {args.out}")
    return result
