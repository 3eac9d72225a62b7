"""Artifacts of the deepfake capability (P6 ConLLM), registered as builders.

* ``deepfake_eval`` — the profile's model (``training.default_model``: trained once on the synthetic corpora's
  train split and cached) scored on their held-out eval split (sentences never heard in training): one row per
  clip with every stream's score, the agreement, the cues, the detector verdict and the reasoning stage's verdict
  and rationale. The meta's config holds the per-stage report (EER, AUC, accuracy with and without the reasoning
  stage), the model folder (the dashboard scores uploads with it) and the data and training configuration, and
  (``robustness``) the checks a shortcut cannot pass: ``splits`` — the same stages on the *seen-attack* eval rows
  (bona fide + attacks trained on) and on the *unseen-attack* rows (bona fide + ``held_out_attacks``, never
  trained on); ``shortcut`` — the surface-feature baseline (``deepfake.shortcut``) trained on the same training
  rows and scored on each split's rows of each stage; ``real_speech`` — the audio detector on pyannote's real
  recording and local spoofs of it (``deepfake.real_speech``). The LLM-over-embeddings stage
  (``deepfake.soft_prompt``: a projector trained on the model's training rows, saved beside the model folder)
  is scored on the same rows as the detector head and the reasoning stage, in every split and on the real speech;
  the config's ``soft_prompt`` records its settings, LM, threshold and training loss.
* ``deepfake_ptm`` — the PTM ablation (``deepfake.ptm``): the same detectors on a frozen pretrained audio encoder
  and on the log-mel CNN, scored on the same eval rows, with the paired difference.
"""
from __future__ import annotations

from workbench import WorkbenchError
from workbench.build import BuildContext, register_builder


def robustness(model, data, frame, spec, report: dict, *, real_speech: bool = True, soft_prompt=None,
               progress=None) -> dict:
    """The seen / unseen-attack stage reports, the shortcut baseline beside each, and the real-speech test
    (``frame``: ``evaluation.evaluate``'s frame of the eval rows; gains a column ``attack_split``). The splits
    report every stage the frame has scores for (the LLM over embeddings too); the real-speech test adds it given
    the ``soft_prompt`` stage."""
    from workbench.deepfake.evaluation import stage_reports
    from workbench.deepfake.shortcut import shortcut_report
    from workbench.deepfake.training import attack_split, training_rows

    report_progress = progress or (lambda f, m: None)
    masks = attack_split(frame, spec)
    held = frame["attack"].isin(spec.held_out_attacks).to_numpy()
    frame["attack_split"] = ["bona fide" if y == 1 and not h else "unseen" if h else "seen"
                             for y, h in zip(frame["y"], held)]
    reasoning = "reasoning_score" in frame
    splits = {name: stage_reports(model, frame[m], reasoning=reasoning) for name, m in masks.items()}
    train = training_rows(data, spec)
    cache: dict = {}
    report_progress(0.1, "shortcut baseline")
    shortcut = {name: shortcut_report(train, frame[m], list(splits[name]), seed=model.config.seed, cache=cache)
                for name, m in masks.items()}
    out = {"held_out_attacks": list(spec.held_out_attacks), "splits": splits, "shortcut": shortcut,
           "shortcut_all": shortcut_report(train, frame, list(report["stages"]), seed=model.config.seed,
                                           cache=cache)}
    if real_speech:
        from workbench.deepfake.real_speech import real_speech_report

        report_progress(0.5, "real speech")
        try:
            _, out["real_speech"] = real_speech_report(model, soft_prompt=soft_prompt)
        except WorkbenchError as exc:                  # the pyannote wheel missing: say so, build the rest
            out["real_speech"] = {"error": str(exc).splitlines()[0]}
    return out


def checks_table(stages: dict, checks: dict):
    """One row per (test, stage): the stage's EER / AUC / accuracy and, beside it, the shortcut baseline's balanced
    accuracy and AUC on the same rows — for the eval split as a whole, its seen-attack and its unseen-attack rows
    (the notebook and the view show it)."""
    import pandas as pd

    tests = [("all eval rows", stages, checks.get("shortcut_all") or {})]
    for name, label in (("seen", "seen attacks"), ("unseen", "unseen attacks (held out of training)")):
        tests.append((label, (checks.get("splits") or {}).get(name) or {},
                      (checks.get("shortcut") or {}).get(name) or {}))
    rows = []
    for test, reports, shortcut in tests:
        for stage, v in reports.items():
            sc = shortcut.get(stage) or {}
            rows.append({"test": test, "stage": stage, "rows": v["n_bonafide"] + v["n_spoof"],
                         "EER %": round(100 * v["eer"], 1), "EER 95 % CI": _ci_text(v.get("eer_ci")),
                         "AUC": round(v["auc"], 3), "accuracy %": round(100 * v["accuracy"], 1),
                         "accuracy 95 % CI": _ci_text(v.get("accuracy_ci")),
                         "shortcut bal. acc. %": round(100 * sc["balanced_accuracy"], 1) if sc else None,
                         "shortcut AUC": round(sc["auc"], 3) if sc else None})
    return pd.DataFrame(rows)


def _ci_text(ci) -> str:
    """"[lo, hi]" in per cent, or "" (a report written before the CIs)."""
    return f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else ""


STAGE_ORDER = ("detector (pipeline)", "detector + reasoning", "LLM over embeddings")


def stages_table(stages: dict, checks: dict):
    """The three pipeline-level stages side by side — the detector head, the score re-vote and the LLM over
    embeddings — on each test's rows (all eval rows, seen attacks, unseen attacks, real speech where the stage was
    run on it), with EER and accuracy and their 95 % CIs (the notebook and the view show it)."""
    table = checks_table(stages, checks)
    table = table[table["stage"].isin(STAGE_ORDER)].drop(columns=["shortcut bal. acc. %", "shortcut AUC"])
    rows = table.to_dict("records")
    real = checks.get("real_speech") or {}
    for stage, v in (real.get("stages") or {}).items():
        rows.append({"test": "real speech", "stage": stage, "rows": v["n_bonafide"] + v["n_spoof"],
                     "EER %": round(100 * v["eer"], 1), "EER 95 % CI": _ci_text(v.get("eer_ci")),
                     "AUC": round(v["auc"], 3), "accuracy %": round(100 * v["accuracy"], 1),
                     "accuracy 95 % CI": _ci_text(v.get("accuracy_ci"))})
    import pandas as pd

    return pd.DataFrame(rows)


def real_speech_table(checks: dict):
    """The real-speech test as a one-row table (empty when it was not run; ``error`` when it could not be)."""
    import pandas as pd

    r = checks.get("real_speech") or {}
    if not r or "error" in r:
        return pd.DataFrame([{"real speech": r.get("error", "not run")}])
    ci = lambda v: f" {_ci_text(v)}" if v else ""  # noqa: E731
    return pd.DataFrame([{"stage": r["stage"], "clips": f"{r['n_bonafide']} bona fide + {r['n_spoof']} spoofed",
                          "EER % [95 % CI]": f"{100 * r['eer']:.1f}{ci(r.get('eer_ci'))}",
                          "AUC": round(r["auc"], 3),
                          "accuracy % [95 % CI]": f"{100 * r['accuracy']:.1f}{ci(r.get('accuracy_ci'))}",
                          **{f"acc. {'bona fide' if k == '-' else k} %": round(100 * v, 1)
                             for k, v in r["accuracy_by_attack"].items()}}])


def deepfake_eval_config(report: dict, model, spec, config, *, smoke: bool, checks: dict | None = None) -> dict:
    """The ``deepfake_eval`` artifact's config from ``evaluation.evaluate``'s report, the model and the data and
    pipeline configurations (the builder saves it; the P6 notebook hands the same dict to the claims ledger)."""
    from dataclasses import asdict

    return {"report": report["stages"], "model_folder": str(model.folder),
            "data": {"audio": asdict(spec.audio), "av": asdict(spec.av)}, "pipeline": config.to_dict(),
            "smoke": smoke, "trained_detectors": model.meta["detectors"],
            "split": "eval (sentences held out from training)", **(checks or {})}


def eval_frame(frame):
    """``evaluation.evaluate``'s per-row frame as the artifact holds it (with each clip's file name)."""
    from pathlib import Path

    return frame.assign(file=[Path(p).name for p in frame["path"]])


def build_deepfake_eval(ctx: BuildContext) -> None:
    from workbench.deepfake.config import PipelineConfig
    from workbench.deepfake.evaluation import evaluate
    from dataclasses import asdict

    from workbench.deepfake.soft_prompt import SoftPromptConfig, cached_stage, stage_folder
    from workbench.deepfake.training import (SyntheticSpec, default_model, smoke_config, smoke_spec, synthetic_data,
                                             training_rows)
    from workbench.io import save_frame
    from workbench.models import load

    spec = smoke_spec() if ctx.smoke else SyntheticSpec()
    # the build's seed is the training seed (dev split, initialisation); the corpora stay the same, so that
    # `workbench build P6 --seeds N` gives the spread of the method over seeds on the same clips
    config = (smoke_config(profile=ctx.profile.name, seed=ctx.seed) if ctx.smoke
              else PipelineConfig.for_profile(ctx.profile.name, seed=ctx.seed))
    ctx.progress(0.0, "synthetic corpora")
    data = synthetic_data(spec, progress=lambda f, m: ctx.progress(0.2 * f, m))
    model = default_model(spec=spec, config=config, progress=lambda f, m: ctx.progress(0.2 + 0.4 * f, m))
    lm = load(ctx.profile.model_for("reasoner"))
    soft_config = SoftPromptConfig(epochs=2, hidden=64, seed=ctx.seed) if ctx.smoke else SoftPromptConfig(
        seed=ctx.seed)
    soft = cached_stage(model, training_rows(data, spec), lm, soft_config,
                        progress=lambda f, m: ctx.progress(0.55 + 0.05 * f, m))
    held = data[data["split"] == "eval"]
    frame, report = evaluate(model, held, reasoning=True, lm=lm, rationale_tokens=24 if ctx.smoke else 48,
                             soft_prompt=soft, progress=lambda f, m: ctx.progress(0.6 + 0.3 * f, m))
    checks = robustness(model, data, frame, spec, report, soft_prompt=soft,
                        progress=lambda f, m: ctx.progress(0.9 + 0.1 * f, m))
    checks["soft_prompt"] = {"config": asdict(soft.config), "folder": str(stage_folder(model.folder, lm.name,
                                                                                         soft_config)),
                             **{k: soft.meta.get(k) for k in ("lm", "slots", "n_train", "n_dev", "threshold",
                                                              "dev_eer", "loss")}}
    save_frame(eval_frame(frame), ctx.path(ctx.paper, "deepfake_eval"), profile=ctx.profile.name,
               models=report["models"], seed=ctx.seed,
               config=deepfake_eval_config(report, model, spec, config, smoke=ctx.smoke, checks=checks))


register_builder("P6", "deepfake_eval", "synthetic corpora, trained detectors, held-out evaluation")(
    build_deepfake_eval)


def _build_deepfake_ptm(ctx: BuildContext) -> None:
    from workbench.deepfake.ptm import build_deepfake_ptm

    build_deepfake_ptm(ctx)


register_builder("P6", "deepfake_ptm", "PTM ablation: the detectors on a pretrained audio encoder vs the log-mel CNN",
                 quick=False)(
    _build_deepfake_ptm)
