"""Artifacts of the deepfake capability (P6 ConLLM), registered as builders.

* ``deepfake_eval`` — the profile's model (``training.default_model``: trained once on the synthetic corpora's
  train split and cached) scored on their held-out eval split (sentences never heard in training): one row per
  clip with every stream's score, the agreement, the cues, the detector verdict and the reasoning stage's verdict
  and rationale. The meta's config holds the per-stage report (EER, AUC, accuracy with and without the reasoning
  stage), the model folder (the dashboard scores uploads with it) and the data and training configuration.
"""
from __future__ import annotations

from workbench.build import BuildContext, register_builder


def deepfake_eval_config(report: dict, model, spec, config, *, smoke: bool) -> dict:
    """The ``deepfake_eval`` artifact's config from ``evaluation.evaluate``'s report, the model and the data and
    pipeline configurations (the builder saves it; the P6 notebook hands the same dict to the claims ledger)."""
    from dataclasses import asdict

    return {"report": report["stages"], "model_folder": str(model.folder),
            "data": {"audio": asdict(spec.audio), "av": asdict(spec.av)}, "pipeline": config.to_dict(),
            "smoke": smoke, "trained_detectors": model.meta["detectors"],
            "split": "eval (sentences held out from training)"}


def eval_frame(frame):
    """``evaluation.evaluate``'s per-row frame as the artifact holds it (with each clip's file name)."""
    from pathlib import Path

    return frame.assign(file=[Path(p).name for p in frame["path"]])


def build_deepfake_eval(ctx: BuildContext) -> None:
    from workbench.deepfake.config import PipelineConfig
    from workbench.deepfake.evaluation import evaluate
    from workbench.deepfake.training import SyntheticSpec, default_model, smoke_config, smoke_spec, synthetic_data
    from workbench.io import save_frame
    from workbench.models import load

    spec = smoke_spec() if ctx.smoke else SyntheticSpec()
    config = smoke_config() if ctx.smoke else PipelineConfig.for_profile(ctx.profile.name)
    ctx.progress(0.0, "synthetic corpora")
    data = synthetic_data(spec, progress=lambda f, m: ctx.progress(0.2 * f, m))
    model = default_model(spec=spec, config=config, progress=lambda f, m: ctx.progress(0.2 + 0.4 * f, m))
    lm = load(ctx.profile.model_for("reasoner"))
    held = data[data["split"] == "eval"]
    frame, report = evaluate(model, held, reasoning=True, lm=lm, rationale_tokens=24 if ctx.smoke else 48,
                             progress=lambda f, m: ctx.progress(0.6 + 0.4 * f, m))
    save_frame(eval_frame(frame), ctx.path(ctx.paper, "deepfake_eval"), profile=ctx.profile.name,
               models=report["models"], seed=ctx.seed,
               config=deepfake_eval_config(report, model, spec, config, smoke=ctx.smoke))


register_builder("P6", "deepfake_eval", "synthetic corpora, trained detectors, held-out evaluation")(
    build_deepfake_eval)
