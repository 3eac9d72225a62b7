"""`workbench meme synth|train|eval|classify` (P5 knowledge-grounded meme abuse detection)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from workbench import WorkbenchError
from workbench.cli.common import (add_json, add_track, command, message, note, print_json, print_table, progress,
                                  tracked, wants_json)

FORMAT_CHOICES = ("auto", "hateful_memes", "harmeme", "multioff", "synthetic")


def _settings(text: str) -> tuple[str, ...]:
    from workbench.memes.model import SETTINGS

    chosen = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in chosen if s not in SETTINGS]
    if bad or not chosen:
        raise WorkbenchError(f"unknown setting(s) {', '.join(bad) or '(none)'}; choose from {', '.join(SETTINGS)}")
    return chosen


def _knowledge_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--knowledge", help="a folder with your own conceptnet_edges.csv, wikidata_facts.csv and "
                                       "hate_lexicon.csv (default: the bundled snapshots)")
    p.add_argument("--conceptnet", help="a full ConceptNet assertions dump (.csv/.csv.gz) or an edge table "
                                        "(.parquet) to use instead of the bundled edges")


def _knowledge(args):
    from workbench.memes.knowledge import KnowledgeBase, default_knowledge

    if not (args.knowledge or args.conceptnet):
        return default_knowledge()
    return KnowledgeBase.load(args.knowledge, conceptnet=args.conceptnet)


def _meme_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    s = sub.add_parser("synth", help="write the synthetic meme corpus (images/ + memes.csv) to a folder")
    s.add_argument("--out", required=True)
    s.add_argument("--smoke", action="store_true", help="a small corpus (for a quick look)")
    add_json(s, "the memes written")

    for name, helptext in (("train", "train the settings on a meme set's train split"),
                           ("eval", "macro-F1 with bootstrap CIs per setting: the ablation")):
        t = sub.add_parser(name, help=helptext)
        t.add_argument("--data", required=True, help="a meme set folder or 'synthetic'")
        t.add_argument("--format", default="auto", choices=FORMAT_CHOICES)
        t.add_argument("--settings", default="none,knowledge,knowledge+lora", type=_settings,
                       help="comma-separated: none, knowledge, knowledge+lora (default all three)")
        t.add_argument("--smoke", action="store_true", help="tiny sizes and few epochs (seconds; for checks)")
        t.add_argument("--seed", type=int, default=0)
        _knowledge_args(t)
        add_track(t)
        if name == "train":
            t.add_argument("--out", required=True, help="folder for the models (one subfolder per setting)")
            add_json(t, "each setting's best dev macro-F1 and folder")
        else:
            t.add_argument("--model", help="evaluate models from `meme train --out` instead of training here")
            t.add_argument("--split", help="rows to score (default: test where labelled, else dev)")
            t.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples for the CIs")
            t.add_argument("--out", help="write metrics.csv, gains.csv, predictions.parquet and report.json here")
            t.add_argument("--vlm", action="store_true",
                           help="also train and score the small vision-language model's four settings (vlm, "
                                "vlm+knowledge, vlm+lora, vlm+knowledge+lora) beside these head models and a "
                                "surface-feature shortcut, with the explanation check (default profile only)")
            t.add_argument("--explain", type=int, default=24, metavar="N",
                           help="with --vlm: memes whose explanations are checked per VLM setting (default 24)")
            add_json(t, "the metrics, gains, flip groups and confusion")

    c = sub.add_parser("classify", help="classify one meme: label, confidence, triples, explanation cascade")
    c.add_argument("image", help="a PNG, JPEG, GIF, WebP or BMP file")
    c.add_argument("--text", required=True, help="the meme's text (as written on it)")
    c.add_argument("--model", help="a model folder (default: the profile's model, trained once if needed)")
    c.add_argument("--setting", default="knowledge+lora", help="which setting's model to use")
    c.add_argument("--no-llm", action="store_true", help="the explanation cascade without the LLM's sentences")
    add_json(c, "label, confidence, triples, explanation")
    _knowledge_args(c)


@command("meme", "meme abuse detection (P5): `meme synth|train|eval|classify`", _meme_args)
def _meme(args) -> int:
    return {"synth": _synth, "train": _train, "eval": _eval, "classify": _classify}[args.action](args)


def _configs(smoke: bool):
    from workbench.memes.model import MemeModelConfig
    from workbench.memes.ablation import smoke_configs
    from workbench.memes.synth import MemeCorpusConfig
    from workbench.memes.vision import TaggerConfig

    return smoke_configs() if smoke else (MemeCorpusConfig(), TaggerConfig(), MemeModelConfig())


def _synth(args) -> int:
    from workbench.memes.synth import generate_memes

    corpus = _configs(args.smoke)[0]
    with progress("drawing memes") as update:
        frame = generate_memes(corpus, Path(args.out), progress=update)
    if wants_json(args):
        print_json({"memes": len(frame), "out": args.out})
        return 0
    print(f"wrote {len(frame)} memes to {args.out} (images/, memes.csv); load with --data {args.out}")
    return 0


def _memeset(args):
    from workbench.memes.datasets import load_memes
    from workbench.memes.ablation import synthetic_set

    if args.data == "synthetic":
        return synthetic_set(_configs(args.smoke)[0])
    memes = load_memes(args.data, None if args.format == "auto" else args.format)
    if memes.problems:
        message(f"{len(memes.problems)} row(s) skipped; first: {memes.problems[0]}")
    return memes


def _sides(args):
    from workbench.memes.sides import sides_for_profile

    corpus, tagger, config = _configs(args.smoke)
    with progress("image and text sides (the tagger is trained once, then cached)") as update:
        return sides_for_profile(corpus=corpus, tagger=tagger, max_length=config.max_length, progress=update)


def _train_rows(memes):
    train = memes.frame[(memes.frame["split"] == "train") & memes.frame["label"].notna()]
    if train.empty:
        raise WorkbenchError("the meme set has no labelled train split to train on")
    return train


def _train(args) -> int:
    from dataclasses import replace

    from workbench.memes.ablation import folder_name, train_settings
    from workbench.profiles import active_profile

    memes = _memeset(args)
    image_side, text_side = _sides(args)
    config = replace(_configs(args.smoke)[2], seed=args.seed)
    with tracked(args, "meme train") as tracker, progress("training") as update:
        models = train_settings(_train_rows(memes), memes.classes, settings=args.settings, config=config,
                                image_side=image_side, text_side=text_side, knowledge=_knowledge(args),
                                profile=active_profile().name, progress=tracker.watch(update))
        tracker.log_metrics({s: {"best_dev_macro_f1": m.info["best_dev_macro_f1"]} for s, m in models.items()})
    out = Path(args.out)
    trained = {}
    for setting, model in models.items():
        model.info["data"] = f"{args.data} ({memes.format}, train split)"
        model.save(out / folder_name(setting))
        f1, folder = model.info["best_dev_macro_f1"], out / folder_name(setting)
        trained[setting] = {"best_dev_macro_f1": f1, "out": str(folder)}
        if not wants_json(args):
            print(f"{setting:>15}: best dev macro-F1 {f1:.3f} → {folder}")
    if wants_json(args):
        print_json(trained)
    return 0


def _eval_rows(memes, split: str | None):
    frame = memes.frame[memes.frame["label"].notna()]
    if split:
        rows = frame[frame["split"] == split]
    else:
        rows = frame[frame["split"] == "test"]
        rows = rows if len(rows) else frame[frame["split"] == "dev"]
    if rows.empty:
        raise WorkbenchError(f"no labelled rows in split {split or 'test/dev'}; splits with labels: "
                             f"{', '.join(sorted(frame['split'].unique())) or 'none'}")
    return rows


def _eval(args) -> int:
    from dataclasses import replace

    from workbench.memes.ablation import evaluate_models, load_models, run_ablation
    from workbench.profiles import active_profile

    memes = _memeset(args)
    rows = _eval_rows(memes, args.split)
    if args.vlm:
        from workbench.memes.vlm import vlm_lm_name

        vlm_lm_name(check=True)          # a paper LM missing from the local cache: one line, before any training
    with tracked(args, "meme eval") as tracker, progress("ablation" if not args.model else "scoring") as bar:
        update = tracker.watch(bar)
        if args.model:
            models = {s: m for s, m in load_models(args.model).items() if s in args.settings}
            if not models:
                raise WorkbenchError(f"{args.model} has none of the settings {', '.join(args.settings)}")
            for s, m in models.items():
                m.knowledge = _knowledge(args)
                if list(m.classes) != list(memes.classes):
                    raise WorkbenchError(f"the {s} model predicts {m.classes}, but {args.data} has classes "
                                         f"{list(memes.classes)}")
            result = evaluate_models(models, rows, memes.classes, n_boot=args.n_boot, seed=args.seed,
                                     progress=update)
        else:
            image_side, text_side = _sides(args)
            result = run_ablation(_train_rows(memes), rows, memes.classes, settings=args.settings,
                                  config=replace(_configs(args.smoke)[2]), image_side=image_side,
                                  text_side=text_side, knowledge=_knowledge(args),
                                  profile=active_profile().name, n_boot=args.n_boot,
                                  seed=args.seed, progress=update)
        tracker.log_metrics({r["setting"]: r for r in result["metrics"].to_dict("records")})
    grid = _vlm_grid(args, memes, rows, result) if args.vlm else None
    if wants_json(args):
        print_json({"rows": len(rows), "format": memes.format, "classes": result["classes"],
                    "metrics": result["metrics"], "gains": result["gains"], "flip_groups": result.get("flips") or [],
                    "confusion": result["confusion"], "out": args.out, **({"vlm": grid} if grid else {})})
    else:
        _print_result(result, len(rows), memes.format)
        if grid:
            _print_grid(grid)
    if args.out:
        _write(result, Path(args.out), {"data": args.data, "format": memes.format, "rows": len(rows),
                                        "profile": active_profile().name, "problems": memes.problems[:50]})
        if grid:
            from workbench.io import write_text

            write_text(json.dumps(grid, indent=2, default=str), Path(args.out) / "vlm.json")
            note(f"wrote {args.out}/vlm.json")
    return 0


def _vlm_grid(args, memes, rows, result) -> dict:
    """The VLM's four settings trained on the set's train split, scored on ``rows`` beside the head models of
    ``result`` (as baseline rows) and the surface-feature shortcut; ``memes.vlm.grid_record``."""
    from dataclasses import replace

    from workbench.memes.shortcut import shortcut_baseline
    from workbench.memes.vlm import VLMConfig, grid_record, run_vlm_grid, smoke_vlm_config, train_vlms, vlm_lm_name
    from workbench.models import load
    from workbench.profiles import active_profile

    heads = result.get("models") or {}
    if not heads:
        from workbench.memes.ablation import load_models

        heads = {s: m for s, m in load_models(args.model).items() if s in args.settings}
    train = _train_rows(memes)
    config = replace(smoke_vlm_config() if args.smoke else VLMConfig(), seed=args.seed)
    with progress("vision-language model: four settings") as update:
        vlms = train_vlms(train, memes.classes, config=config, image_side=next(iter(heads.values())).image_side,
                          lm=load(vlm_lm_name()), knowledge=_knowledge(args), profile=active_profile().name,
                          progress=lambda f, m: update(0.8 * f, m))
        shortcut = shortcut_baseline(train, rows, memes.classes, seed=args.seed, n_boot=args.n_boot)
        grid = run_vlm_grid(vlms, rows, memes.classes, baselines={f"head {s}": m for s, m in heads.items()},
                            shortcut=shortcut, explain=min(args.explain, 4) if args.smoke else args.explain,
                            n_boot=args.n_boot, seed=args.seed, progress=lambda f, m: update(0.8 + 0.2 * f, m))
    return grid_record(grid)


def _print_grid(grid: dict) -> None:
    from workbench.memes.shortcut import shortcut_line
    from workbench.memes.vlm import grid_tables

    table, checks = grid_tables(grid)
    print("\nvision-language model (four settings) beside the head models and the shortcut:")
    print_table(table.to_dict("records"), list(table.columns))
    for g in grid["vlm_gains"]:
        print(f"{g['setting']} vs vlm: {100 * g['relative_gain']:+.1f} % relative macro-F1 "
              f"[{100 * g['lo']:+.1f}, {100 * g['hi']:+.1f}]")
    if grid.get("shortcut"):
        print(shortcut_line(grid["shortcut"]))
    if len(checks):
        print("explanations that cite the evidence that decided the label, beside copies of the prompt "
              "(the same memes and counting; a copy of the text never names evidence absent from it):")
        print_table([{k: ("–" if v is None or v != v else f"{v:.2f}" if isinstance(v, float) else v)
                      for k, v in r.items()} for r in checks.to_dict("records")], list(checks.columns))


def _print_result(result: dict, n: int, fmt: str) -> None:
    metrics = result["metrics"]
    print(f"{n} memes ({fmt}) · macro-F1 and accuracy with 95 % bootstrap CIs")
    print_table([{"setting": r["setting"],
                  "macro-F1": f"{r['macro_f1']:.3f} [{r['macro_f1_lo']:.3f}, {r['macro_f1_hi']:.3f}]",
                  "accuracy": f"{r['accuracy']:.3f} [{r['accuracy_lo']:.3f}, {r['accuracy_hi']:.3f}]",
                  **{c: f"{r[f'f1_{c}']:.3f}" for c in result["classes"]}}
                 for r in metrics.to_dict("records")], ["setting", "macro-F1", "accuracy", *result["classes"]])
    for g in result["gains"].to_dict("records"):
        print(f"{g['setting']} vs none: {100 * g['relative_gain']:+.1f} % relative macro-F1 "
              f"[{100 * g['lo']:+.1f}, {100 * g['hi']:+.1f}]")
    for f in result.get("flips") or []:
        if f["groups"]:
            print(f"{f['setting']}: flip groups all right {f['pair_accuracy']:.3f} [{f['pair_accuracy_lo']:.3f}, "
                  f"{f['pair_accuracy_hi']:.3f}] over {f['groups']} groups")
    from workbench.memes.train import lora_note

    line = lora_note({s: m.info for s, m in (result.get("models") or {}).items()})
    if line:
        print(line)
    if len(metrics):
        print(f"[{metrics['models'].iloc[-1]}]")


def _write(result: dict, out: Path, extra: dict) -> None:
    from workbench.io import write_text

    out.mkdir(parents=True, exist_ok=True)
    write_text(result["metrics"].to_csv(index=False), out / "metrics.csv")
    write_text(result["gains"].to_csv(index=False), out / "gains.csv")
    write_text(json.dumps({**extra, "confusion": result["confusion"], "classes": result["classes"],
                           "flip_groups": result.get("flips") or []}, indent=2),
               out / "report.json")
    tmp = out / ".predictions.parquet.tmp"
    result["predictions"].to_parquet(tmp, index=False)
    tmp.replace(out / "predictions.parquet")
    note(f"wrote {out}/metrics.csv, gains.csv, predictions.parquet, report.json")


def _classify(args) -> int:
    from workbench.memes.explain import STEPS, TITLES, cascade
    from workbench.memes.vision import load_image

    try:
        image = load_image(args.image)
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.text.strip():
        print("error: --text is empty; give the meme's text", file=sys.stderr)
        return 2
    model = _model(args)
    model.knowledge = _knowledge(args)
    prediction = model.predict([image], [args.text])[0]
    lm = None
    if not args.no_llm:
        from workbench.engines import load_engine
        from workbench.profiles import active_profile

        lm = load_engine(active_profile().model_for("meme_explainer"))
    explanation = cascade(model, image, args.text, prediction, lm=lm)
    if wants_json(args):
        print_json({"label": prediction["label"], "confidence": prediction["confidence"],
                          "triples": prediction["triples"], "explanation": explanation,
                          "probabilities": prediction["probabilities"], "tags": prediction["tags"],
                          "setting": model.config.setting, "models": model.models
                          + ([lm.name] if lm is not None else [])})
        return 0
    print(f"label: {prediction['label']}  (confidence {prediction['confidence']:.3f}; "
          + ", ".join(f"{c} {p:.3f}" for c, p in prediction["probabilities"].items()) + ")")
    print("image tags: " + (", ".join(f"{t['tag']} ({t['p']:.2f})" for t in prediction["tags"]) or "(none)"))
    print("retrieved knowledge:" + ("" if prediction["triples"] else " (none)"))
    for t in prediction["triples"]:
        print(f"  {t['head']} | {t['relation']} | {t['tail']}   [{t['source']}, score {t['score']:.2f}, "
              f"from '{t['matched']}']")
    print("explanation:")
    for step in STEPS:
        print(f"  {TITLES[step]}: {explanation[step]['text']}")
        if explanation[step]["text"] != explanation[step]["evidence"]:
            print(f"      evidence: {explanation[step]['evidence']}")
    print(f"[{model.config.setting}: {', '.join(model.models)}{'; explainer ' + lm.name if lm else ''}]")
    return 0


def _model(args):
    from workbench.memes.ablation import default_model, load_models

    if args.model:
        models = load_models(args.model)
        if args.setting not in models:
            if len(models) == 1:
                return next(iter(models.values()))
            raise WorkbenchError(f"{args.model} has no {args.setting} model; it has {', '.join(models)}")
        return models[args.setting]
    from workbench.prepare import first_use_notice

    first_use_notice("memes", "training the meme models", message)
    with progress("meme model (trained once on the synthetic memes, then cached)") as update:
        return default_model(args.setting, progress=update)
