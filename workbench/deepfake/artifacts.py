"""Artifacts of the deepfake capability (P6 ConLLM), registered as builders.

* ``deepfake_eval`` — the profile's model (``training.default_model``: trained once on the synthetic corpora's
  train split and cached) scored on their held-out eval split (sentences never heard in training): one row per
  clip with every stream's score, the agreement, the cues, the detector verdict and the reasoning stage's verdict
  and rationale. The meta's config holds the per-stage report (EER, AUC, accuracy with and without the reasoning
  stage), the model folder (the dashboard scores uploads with it) and the data and training configuration.
"""
from __future__ import annotations

from workbench.build import BuildContext, register_builder


def build_deepfake_eval(ctx: BuildContext) -> None:
    from dataclasses import asdict
    from pathlib import Path

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
    frame["file"] = [Path(p).name for p in frame["path"]]
    save_frame(frame, ctx.path(ctx.paper, "deepfake_eval"), profile=ctx.profile.name, models=report["models"],
               seed=ctx.seed, config={"report": report["stages"], "model_folder": str(model.folder),
                                      "data": {"audio": asdict(spec.audio), "av": asdict(spec.av)},
                                      "pipeline": config.to_dict(), "smoke": ctx.smoke,
                                      "trained_detectors": model.meta["detectors"],
                                      "split": "eval (sentences held out from training)"})


register_builder("P6", "deepfake_eval", "synthetic corpora, trained detectors, held-out evaluation")(
    build_deepfake_eval)
