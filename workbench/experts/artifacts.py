"""Artifacts of the experts capability (P3 AlignX, P10 TrinityX), registered as builders.

Each paper gets its own mixture on the profile's expert backbone, trained on the bundled axis data and cached
under the workbench home keyed by its whole configuration (so a second build, the notebook and the dashboard reuse
it):

* **P3 AlignX** — experts trained with AlignX's prompt injection (``ALIGNX_PREFIX``), a router with AlignX's
  latent width 256, the geometric calibrators mixed with λ1 0.6 / λ2 0.4, ε 0.05.
* **P10 TrinityX** — experts without the prefix, a linear temperature-softmax router (T 0.7, top-1) with the
  entropy and load-balance (KL) regularisers and fixed importance weights γ (1, 1, 1: the paper gives no values).

Artifacts per paper: ``router_calibration`` (the held-out routing rows with logits and geometric features; meta
holds the training report, the fitted calibrators and the efficiency figures) and ``hhh_eval`` (the HHH metrics of
the backbone alone, each expert alone, the routed mixture and the task-vector merge, with the judges named) plus
``hhh_responses`` (every generated response).
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from workbench.build import BuildContext, register_builder

MIXTURES = {
    "P3": {"label": "AlignX", "prefix": True,
           "router": {"inner": 256, "temperature": 1.0, "top_k": 1}},
    "P10": {"label": "TrinityX", "prefix": False,
            "router": {"inner": 0, "temperature": 0.7, "top_k": 1, "entropy_weight": 0.01, "kl_weight": 0.01,
                       "gamma": (1.0, 1.0, 1.0)}},
}
SMOKE_TRAIN, SMOKE_EVAL = 8, 4          # rows per axis in smoke mode


def mixture_data(smoke: bool):
    import pandas as pd

    from workbench.experts.data import axis_data

    data = axis_data()
    if not smoke:
        return data
    parts = [data[data["split"] == split].groupby("axis", group_keys=False).head(n)
             for split, n in (("train", SMOKE_TRAIN), ("eval", SMOKE_EVAL))]
    return pd.concat(parts, ignore_index=True)


def trained_mixture(paper: str, backbone: str, *, smoke: bool, seed: int, progress=None) -> Path:
    """The folder of ``paper``'s mixture on ``backbone``; trained (atomically) unless already cached."""
    from workbench.experts.geometry import CalibrationConfig
    from workbench.experts.mixture import build_mixture
    from workbench.experts.train import ALIGNX_PREFIX, ExpertConfig
    from workbench.io import build_once, config_key
    from workbench.paths import models_dir

    spec = MIXTURES[paper]
    data = mixture_data(smoke)
    experts = ExpertConfig(epochs=1 if smoke else 2, seed=seed, prefix=ALIGNX_PREFIX if spec["prefix"] else None)
    calibration = CalibrationConfig()
    key = config_key({"backbone": backbone, "experts": asdict(experts), "router": spec["router"],
                      "calibration": asdict(calibration), "seed": seed, "data": sorted(data["id"])})

    def build(tmp: Path) -> None:
        build_mixture(backbone, data, tmp, experts=experts, router=dict(spec["router"]), calibration=calibration,
                      seed=seed, progress=progress)

    return build_once(models_dir() / "mixtures" / f"{paper}-{backbone}-{key}", build, complete="report.json")


def mixture_report(folder: Path) -> dict:
    """The training report ``build_mixture`` wrote in a mixture folder (axes, calibration, confusion, test)."""
    from workbench import WorkbenchError

    path = Path(folder) / "report.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise WorkbenchError(f"{path}: missing; train the mixture first (`workbench experts train`)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WorkbenchError(f"{path}: not valid JSON ({exc})") from None


def held_out_routing(folder: Path, report: dict):
    """The test half of a mixture folder's saved routing rows and each calibrator's routing distribution on them:
    ``(rows, probs)`` (the calibrators were fitted on the other, calibration half)."""
    from workbench.experts.mixture import routing_probs
    from workbench.io import load_frame

    routing = load_frame(Path(folder) / "routing")
    rows = routing[routing["split"] == "test"].reset_index(drop=True)
    return rows, routing_probs(rows, report["calibration"], report["axes"])


def hhh_eval_set(smoke: bool):
    """The held-out rows the HHH evaluation generates for: every eval row, or two per axis in smoke mode."""
    data = mixture_data(smoke)
    eval_set = data[data["split"] == "eval"]
    if smoke:
        eval_set = eval_set.groupby("axis", group_keys=False).head(2)
    return eval_set.reset_index(drop=True)


def build_router_calibration(ctx: BuildContext) -> None:
    from workbench.experts.moe import MixtureOfExperts
    from workbench.io import load_frame, save_frame

    backbone = ctx.profile.model_for("expert_backbone")
    folder = trained_mixture(ctx.paper, backbone, smoke=ctx.smoke, seed=ctx.seed,
                             progress=lambda f, m: ctx.progress(0.8 * f, m))
    report = mixture_report(folder)
    routing = load_frame(folder / "routing")
    ctx.progress(0.82, "efficiency: ours vs three full copies")
    mixture = MixtureOfExperts.load(folder)
    efficiency = measure_efficiency(mixture, folder, routing["prompt"].tolist(), smoke=ctx.smoke)
    del mixture
    save_frame(routing, ctx.path(ctx.paper, "router_calibration"), profile=ctx.profile.name, models=[backbone],
               seed=ctx.seed, config={"paper_setup": MIXTURES[ctx.paper], "mixture": folder.name,
                                      "smoke": ctx.smoke, "report": report, "efficiency": efficiency})


def hhh_systems(mixture, eval_set, *, max_new_tokens: int, progress=None) -> dict[str, dict[str, list[str]]]:
    """Responses of the backbone alone, each expert alone, the routed mixture and the merge, per axis."""
    systems = ["base", *mixture.axes, "routed", "merged"]
    out: dict[str, dict[str, list[str]]] = {}
    for i, system in enumerate(systems):
        if progress:
            progress(i / len(systems), f"generating: {system}")
        prompts = eval_set["prompt"].tolist()
        texts = mixture.generate(prompts, mode=system, max_new_tokens=max_new_tokens)
        out[system] = {axis: [t for t, a in zip(texts, eval_set["axis"]) if a == axis]
                       for axis in eval_set["axis"].unique()}
    return out


def judge_hhh(mixture, eval_set, judge: str, *, max_new_tokens: int, progress=None):
    """Every system's responses (``hhh_systems``) judged on the HHH axes by ``judge``'s four built-in judges:
    (metrics frame, responses)."""
    from workbench.evaluation.hhh import evaluate_hhh, info_judge, llm_pairwise_judge, safety_judge, truth_judge

    responses = hhh_systems(mixture, eval_set, max_new_tokens=max_new_tokens, progress=progress)
    metrics = evaluate_hhh(eval_set, responses, pairwise=llm_pairwise_judge(judge), safety=safety_judge(judge),
                           truth=truth_judge(judge), info=info_judge(judge))
    return metrics, responses


def measure_efficiency(mixture, folder, prompts: list[str], *, smoke: bool) -> dict:
    """Latency (and, at full size, peak memory and X-LoRA) of ``mixture`` against three full copies."""
    from workbench.experts.efficiency import compare_latency, compare_memory

    prompts = list(prompts)[: 2 if smoke else 8]
    result = compare_latency(mixture, folder, prompts, n_tokens=4 if smoke else 16, repeats=1 if smoke else 3,
                             with_xlora=not smoke)
    if not smoke:
        result.update(compare_memory(folder, prompts, n_tokens=8))
    return result


def build_hhh_eval(ctx: BuildContext) -> None:
    import pandas as pd

    from workbench.experts.moe import MixtureOfExperts
    from workbench.io import save_frame

    backbone = ctx.profile.model_for("expert_backbone")
    folder = trained_mixture(ctx.paper, backbone, smoke=ctx.smoke, seed=ctx.seed,
                             progress=lambda f, m: ctx.progress(0.5 * f, m))
    eval_set = hhh_eval_set(ctx.smoke)
    mixture = MixtureOfExperts.load(folder)
    judge = ctx.profile.model_for("judge")
    metrics, responses = judge_hhh(mixture, eval_set, judge, max_new_tokens=8 if ctx.smoke else 48,
                                   progress=lambda f, m: ctx.progress(0.5 + 0.45 * f, m))
    del mixture
    rows = [{"system": s, "axis": a, "id": i, "prompt": p, "response": r}
            for s, per_axis in responses.items() for a, texts in per_axis.items()
            for i, p, r in zip(eval_set.loc[eval_set["axis"] == a, "id"], eval_set.loc[eval_set["axis"] == a,
                                                                                       "prompt"], texts)]
    config = {"mixture": folder.name, "smoke": ctx.smoke, "judge": judge, "eval_rows": len(eval_set),
              "max_new_tokens": 8 if ctx.smoke else 48, "paper_setup": MIXTURES[ctx.paper]}
    models = [backbone] + ([judge] if judge != backbone else [])
    save_frame(metrics, ctx.path(ctx.paper, "hhh_eval"), profile=ctx.profile.name, models=models, seed=ctx.seed,
               config=config)
    save_frame(pd.DataFrame(rows), ctx.path(ctx.paper, "hhh_responses"), profile=ctx.profile.name, models=models,
               seed=ctx.seed, config=config)


for _paper in MIXTURES:
    register_builder(_paper, "router_calibration",
                     f"{MIXTURES[_paper]['label']} mixture: routing calibration and efficiency")(
        build_router_calibration)
    register_builder(_paper, "hhh_eval", f"{MIXTURES[_paper]['label']} mixture: HHH evaluation")(build_hhh_eval)
