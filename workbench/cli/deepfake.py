"""`workbench deepfake …` (P6 ConLLM): make synthetic data, train, evaluate, score one file."""
from __future__ import annotations

import argparse
import json
import sys

from workbench import WorkbenchError
from workbench.cli.common import (add_json, add_track, command, note, print_json, print_table, progress, tracked,
                                  wants_json)

SYNTHETIC = ("synthetic", "synthetic-smoke")


def _split_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--split-by", choices=("speaker", "source"),
                   help="replace the data's splits by a group-disjoint train/eval split: whole speakers, or whole "
                        "source clips (a fake with the clip it was made from), on one side; give the same "
                        "--split-by, --eval-fraction and --seed to `deepfake train` and `deepfake eval`")
    p.add_argument("--eval-fraction", type=float, default=0.2, help="with --split-by: the share of rows held out "
                   "for evaluation (whole groups, so about this share)")
    p.add_argument("--seed", type=int, default=0, help="with --split-by: which groups are held out")


def _deepfake_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    s = sub.add_parser("synth", help="write the synthetic speech and talking-head corpora to a folder")
    s.add_argument("--out", required=True, help="an empty or new folder (gets manifest.csv, audio/ and av/)")
    s.add_argument("--smoke", action="store_true", help="a few clips of each kind (for a quick look)")
    add_json(s, "the clips written per modality, split and label")

    t = sub.add_parser("train", help="train encoders, contrastive detectors and thresholds")
    t.add_argument("--data", required=True, help="a dataset folder (any supported layout) or 'synthetic'")
    t.add_argument("--format", default="auto", help="auto, asvspoof2019la, decro, fakeavceleb, dfdc, folder, manifest")
    t.add_argument("--split", help="rows to train on (default: the 'train' split; data with one split only needs "
                   "--split-by, or --split all to train on every row and evaluate on other data)")
    _split_args(t)
    t.add_argument("--out", required=True, help="the model folder to write")
    t.add_argument("--smoke", action="store_true", help="few epochs (and, with --data synthetic, few clips)")
    add_track(t)
    add_json(t, "each detector's rows, EER and threshold (and the reasoning stage's)")

    e = sub.add_parser("eval", help="EER / accuracy per stage, with and without the reasoning stage")
    e.add_argument("--data", required=True, help="a dataset folder or 'synthetic'")
    e.add_argument("--format", default="auto")
    e.add_argument("--split", help="rows to evaluate (default: 'eval' or 'test'; rows the model was trained on are "
                   "refused)")
    _split_args(e)
    e.add_argument("--model", required=True, help="a folder written by `deepfake train`")
    e.add_argument("--no-reasoning", action="store_true", help="skip the LLM stage")
    e.add_argument("--limit", type=int, help="at most N rows (a stratified sample)")
    e.add_argument("--out", help="write scores.parquet and report.json here")
    e.add_argument("--smoke", action="store_true", help="with --data synthetic: the few-clip corpora")
    add_track(e)
    add_json(e, "the report (as report.json)")

    c = sub.add_parser("score", help="score one audio or video file: score, verdict and rationale")
    c.add_argument("file")
    c.add_argument("--model", help="a trained model folder (default: the profile's model, trained if needed)")
    add_json(c, "score, verdict, rationale, modalities, …")
    c.add_argument("--no-reasoning", action="store_true", help="verdict from the detector threshold, no LLM")

    m = sub.add_parser("ptm", help="PTM ablation: the same detectors on a frozen pretrained audio encoder "
                                   "(whisper-base; paper profile: XLS-R) and on the log-mel CNN, same rows")
    m.add_argument("--smoke", action="store_true", help="the few-clip corpora and few epochs")
    m.add_argument("--seed", type=int, default=0, help="the training seed of both models")
    add_json(m, "the ablation report (each encoder's EER / AUC / accuracy with CIs, the paired Δ)")


@command("deepfake", "deepfake detection (P6): `deepfake synth|train|eval|score|ptm`", _deepfake_args)
def _deepfake(args) -> int:
    return {"synth": _synth, "train": _train, "eval": _eval, "score": _score, "ptm": _ptm}[args.action](args)


def _spec(smoke: bool):
    from workbench.deepfake.training import SyntheticSpec, smoke_spec

    return smoke_spec() if smoke else SyntheticSpec()


def _rows(args, default_splits: tuple[str, ...]):
    """(the rows of --data chosen by --split or --split-by, a description, the data's label, the split record or
    None, whether the data brings its own train and eval splits)."""
    from workbench.deepfake.datasets import load_dataset
    from workbench.deepfake.datasets.splits import dataset_label, disjoint_split, has_train_and_eval
    from workbench.deepfake.training import synthetic_data

    if args.data in SYNTHETIC:
        with progress("synthetic data") as update:
            frame = synthetic_data(_spec(args.smoke or args.data == "synthetic-smoke"), progress=update)
        name = "synthetic"
    else:
        frame, name = load_dataset(args.data, args.format), args.data
    label = dataset_label(frame, name)
    own = has_train_and_eval(frame)
    if args.split_by:
        if args.split:
            raise WorkbenchError("give --split or --split-by, not both")
        frame, record = disjoint_split(frame, args.split_by, args.eval_fraction, seed=args.seed, where=label)
        side = default_splits[0]
        return (frame[frame["split"] == side], f"{name} [{side}: {args.split_by}-disjoint, eval fraction "
                f"{args.eval_fraction:g}, seed {args.seed}]", label, record, own)
    splits = sorted(set(frame["split"]))
    if args.split:
        if args.split != "all" and args.split not in splits:
            raise WorkbenchError(f"{name}: no split '{args.split}'; it has {', '.join(splits)} (or use 'all')")
        chosen = frame if args.split == "all" else frame[frame["split"] == args.split]
        return chosen, f"{name} [{args.split}]", label, None, own
    for split in default_splits:
        if split in splits:
            return frame[frame["split"] == split], f"{name} [{split}]", label, None, own
    return frame, f"{name} [all rows: the data has no {' or '.join(default_splits)} split]", label, None, own


def _no_train_split(label: str, frame) -> WorkbenchError:
    from workbench.deepfake.datasets.splits import SPLIT_HELP

    splits = ", ".join(repr(s) for s in sorted(set(frame["split"])))
    return WorkbenchError(f"{label} has no train split (only {splits}): training on every row would leave "
                          f"`deepfake eval` on this data nothing but training rows; split it into disjoint parts with "
                          f"{SPLIT_HELP} (the same values for `deepfake train` and `deepfake eval`), or pass "
                          f"--split all to train on every row and evaluate on other data")


def _check_not_trained_on(model, rows, label: str, own_splits: bool, split_by: str | None) -> None:
    """Refuse to evaluate ``model`` on rows it was trained on."""
    from workbench.deepfake.datasets.splits import SPLIT_HELP, row_keys

    trained = model.trained_on()
    if trained is None:
        if not own_splits and split_by is None:
            raise WorkbenchError(f"{label} has no train and eval splits and {model.folder} does not list the rows it "
                                 f"was trained on, so `deepfake eval` cannot rule out scoring training rows; train "
                                 f"again and evaluate with {SPLIT_HELP}")
        return
    keys = row_keys(rows)
    seen = [k for k in keys if k in trained]
    if seen:
        how = (f"split it with {SPLIT_HELP}, the same values as `deepfake train`" if not own_splits or split_by
               else "choose the eval or test --split")
        raise WorkbenchError(f"{label}: {len(seen)} of {len(keys)} rows to evaluate were used to train "
                             f"{model.folder} (e.g. {seen[0]}); evaluate on disjoint rows: {how}")


def _synth(args) -> int:
    import shutil
    from pathlib import Path

    from workbench.deepfake.training import synthetic_data
    from workbench.io import write_text

    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise WorkbenchError(f"{out}: exists and is not empty; give a new folder")
    with progress("synthetic data") as update:
        frame = synthetic_data(_spec(args.smoke), progress=update)
    rows = []
    for rec in frame.to_dict("records"):
        sub = "audio" if rec["modality"] == "audio" else "av"
        target = out / sub / Path(rec["path"]).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(rec["path"], target)
        rows.append({**rec, "path": f"{sub}/{target.name}"})
    import pandas as pd

    write_text(pd.DataFrame(rows).to_csv(index=False), out / "manifest.csv")
    counts = frame.groupby(["modality", "split", "label"]).size().reset_index(name="clips")
    if wants_json(args):
        print_json({"clips": len(rows), "counts": counts, "out": str(out)})
        return 0
    print_table(counts.to_dict("records"), ["modality", "split", "label", "clips"])
    print(f"wrote {len(rows)} clips and manifest.csv to {out}")
    return 0


def _train(args) -> int:
    from workbench.deepfake.config import PipelineConfig
    from workbench.deepfake.soft_prompt import SoftPromptConfig
    from workbench.deepfake.training import smoke_config, train_model
    from workbench.profiles import active_profile

    rows, name, label, split, own = _rows(args, ("train",))
    if split is None and args.split is None and "train" not in set(rows["split"]):
        raise _no_train_split(label, rows)
    config = smoke_config() if args.smoke else PipelineConfig.for_profile()
    note(f"training on {len(rows)} rows of {name} ({int((rows['y'] == 1).sum())} bona fide, "
          f"{int((rows['y'] == 0).sum())} fake) · profile {active_profile().name} · encoders "
          f"{config.audio_encoder} + {config.video_encoder}")
    with tracked(args, "deepfake train") as tracker, progress("training") as update:
        model = train_model(rows, args.out, config, progress=tracker.watch(update), data_name=name, split=split,
                            soft_prompt=SoftPromptConfig(epochs=2, hidden=64) if args.smoke else SoftPromptConfig())
        tracker.log_metrics({"detectors": model.meta["detectors"], "reasoning": model.meta.get("reasoning")})
    if wants_json(args):
        print_json({"data": name, "rows": len(rows), "detectors": model.meta["detectors"],
                    "reasoning": model.meta.get("reasoning"), "out": args.out})
        return 0
    print_table([{"detector": k, "rows (train/dev)": f"{v['n_train']}/{v['n_dev']}",
                  f"EER ({v['eer_on']})": f"{100 * v['eer']:.2f} %", "threshold": f"{v['threshold']:+.3f}"}
                 for k, v in model.meta["detectors"].items()],
                ["detector", "rows (train/dev)", next(f"EER ({v['eer_on']})" for v in model.meta["detectors"].values()),
                 "threshold"])
    if "reasoning" in model.meta:
        r = model.meta["reasoning"]
        print(f"reasoning stage ({r['model']}): EER {100 * r['eer']:.2f} % on {r['n_dev']} dev rows, threshold on "
              f"log P(real) − log P(fake) {r['threshold']:+.3f}")
    print(f"wrote {args.out}")
    return 0


def _sample(rows, limit: int | None, seed: int = 0):
    if limit is None or limit >= len(rows):
        return rows
    if limit < 2:
        raise WorkbenchError("--limit must be at least 2")
    return rows.groupby("y", group_keys=False).apply(
        lambda g: g.sample(n=max(1, round(limit * len(g) / len(rows))), random_state=seed))


def _eval(args) -> int:
    from pathlib import Path

    from workbench.deepfake.datasets.splits import EVAL_SPLITS
    from workbench.deepfake.evaluation import evaluate
    from workbench.deepfake.model import DeepfakeModel

    model = DeepfakeModel.load(args.model)
    rows, name, label, split, own = _rows(args, EVAL_SPLITS)
    _check_not_trained_on(model, rows, label, own, args.split_by)
    rows = _sample(rows, args.limit)
    with tracked(args, "deepfake eval") as tracker, progress("evaluating") as update:
        frame, report = evaluate(model, rows, reasoning=not args.no_reasoning, progress=tracker.watch(update))
        tracker.log_metrics(report)
    if args.out:
        _write_eval(Path(args.out), frame, {**report, "data": name, **({"split": split} if split else {})})
    if wants_json(args):
        print_json({**report, "data": name, "rows": len(frame), **({"split": split} if split else {}),
                    "out": args.out})
        return 0
    print(f"{name}: {len(frame)} rows · profile {report['profile']} · models {', '.join(report['models'])} · "
          f"higher score = more bona fide")
    print_table([{"stage": k, "rows": v["n_bonafide"] + v["n_spoof"], "EER": f"{100 * v['eer']:.2f} %",
                  "AUC": f"{v['auc']:.3f}", "accuracy": f"{100 * v['accuracy']:.1f} %", "labels": v["labels"]}
                 for k, v in report["stages"].items()], ["stage", "rows", "EER", "AUC", "accuracy", "labels"])
    if args.out:
        print(f"wrote {Path(args.out) / 'scores.parquet'} and {Path(args.out) / 'report.json'}")
    return 0


def _write_eval(out, frame, report: dict) -> None:
    """``deepfake eval --out``: scores.parquet and report.json, each written under a temporary name first."""
    from workbench.io import write_text

    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".scores.parquet.tmp"
    frame.to_parquet(tmp, index=False)
    tmp.replace(out / "scores.parquet")
    write_text(json.dumps(report, indent=2) + "\n", out / "report.json")


def _score(args) -> int:
    from workbench.media.files import check_media
    from workbench.deepfake.model import DeepfakeModel
    from workbench.deepfake.training import default_model

    try:
        check_media(args.file)
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.model:
        model = DeepfakeModel.load(args.model)
    else:
        from workbench.cli.common import message
        from workbench.prepare import first_use_notice

        first_use_notice("deepfake", "training the deepfake default model", message)
        with progress("default model (trained once, then cached)") as update:
            model = default_model(progress=update)
    try:
        result = model.score_file(args.file, reasoning=not args.no_reasoning)
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if wants_json(args):
        print_json(result)
        return 0
    print(f"{result['file']}: score {result['score']:+.3f} (threshold {result['threshold']:+.3f}; higher = more "
          f"genuine) · verdict: {result['verdict'].upper()}"
          + (f" (reasoning stage; detectors alone: {result['detector_verdict']})" if result.get("reasoner") else ""))
    for name, m in result["modalities"].items():
        print(f"  {name:<12} score {m['score']:+.3f}  threshold {m['threshold']:+.3f}  → {m['verdict']}")
    if result.get("agreement") is not None:
        print(f"  audio–video agreement {result['agreement']:+.3f}")
    for name, value in result["cues"].items():
        print(f"  {name} {value:.3g}")
    print(f"rationale: {result['rationale']}")
    print(f"[profile {result['profile']} · {', '.join(result['models'])}"
          f"{' · reasoning by ' + result['reasoner'] if result.get('reasoner') else ''}]")
    return 0


def _ptm(args) -> int:
    from workbench.deepfake.ptm import ptm_table, synthetic_ablation
    from workbench.profiles import active_profile

    with progress("PTM ablation") as update:
        report, frame = synthetic_ablation(smoke=args.smoke, profile=active_profile().name, seed=args.seed,
                                           progress=update)
    if wants_json(args):
        print_json({k: v for k, v in report.items() if k != "pipeline"} | {"rows": len(frame)})
        return 0
    table = ptm_table(report).fillna("")
    print(f"synthetic eval split: {len(frame)} rows · profile {active_profile().name} · Δ = "
          f"{report['pretrained']} − {report['reference']}, 95 % paired bootstrap CIs")
    print_table(table.to_dict("records"), list(table.columns))
    return 0
