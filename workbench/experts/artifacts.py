"""Artifacts of the experts capability (P3 AlignX, P10 TrinityX), registered as builders.

Each paper gets its own mixture on the profile's expert backbone, trained on the bundled axis data and cached
under the workbench home keyed by its whole configuration (so a second build, the notebook and the dashboard reuse
it). The experts' LoRA settings are the profile's (``ExpertConfig.for_profile``): the papers' r 64, α 32, dropout
0.1, lr 5e-4 on the paper profile, rank-8 adapters on the default one.

* **P3 AlignX** — experts trained with AlignX's prompt injection (``ALIGNX_PREFIX``), a router with AlignX's
  latent width 256, the geometric calibrators mixed with λ1 0.6 / λ2 0.4, ε 0.05; the mixture routes by the
  λ-mixed calibrated distribution.
* **P10 TrinityX** — experts without the prefix, a linear temperature-softmax router (T 0.7) with the entropy and
  load-balance (KL) regularisers and fixed importance weights γ (1, 1, 1: the paper gives no values); the mixture
  routes by the temperature-calibrated distribution, per prompt by default and per token as its own system.

Both mix softly by default [ours]: the top-2 experts weighted by the *calibrated* routing probabilities,
renormalised over the two (``moe``), so the calibrator changes the weights and can change the text; top-1 (the
papers' TrinityX setting, under which no calibrator changes anything) is evaluated beside it as ``routed top-1``.

Artifacts per paper: ``router_calibration`` (the held-out routing rows with logits and geometric features; meta
holds the training report, the fitted calibrators and the efficiency figures) and ``hhh_eval`` (the HHH metrics of
the backbone alone, each expert alone, the routed mixture and the task-vector merge, with the judges named) plus
``hhh_responses`` (every generated response, with its per-item judged scores). The efficiency figures name the
system as configured (soft top-2 routing) and its baseline in every row (``efficiency.efficiency_rows``).
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from workbench.build import BuildContext, register_builder

MIXTURES = {
    "P3": {"label": "AlignX", "prefix": True, "calibrator": "mixed", "token_level": False,
           "router": {"inner": 256, "temperature": 1.0, "top_k": 2}},
    "P10": {"label": "TrinityX", "prefix": False, "calibrator": "temperature", "token_level": True,
            "router": {"inner": 0, "temperature": 0.7, "top_k": 2, "entropy_weight": 0.01, "kl_weight": 0.01,
                       "gamma": (1.0, 1.0, 1.0)}},
}
REAL_HONEST, SMOKE_REAL_HONEST = 12, 1      # FreshQA questions joining the honest items (full size / smoke)
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


def trained_mixture(paper: str, backbone: str, *, smoke: bool, seed: int, progress=None,
                    profile: str | None = None) -> Path:
    """The folder of ``paper``'s mixture on ``backbone``; trained (atomically) unless already cached.

    The experts' settings are ``ExpertConfig.for_profile`` of ``profile`` (default: the active one): the papers'
    LoRA r 64, α 32, dropout 0.1, lr 5e-4 on the paper profile (SPECS: the READMEs), small rank-8 adapters on the
    default one. Training checkpoints go to ``mixtures/.work/<folder name>``, so a build interrupted mid-training
    resumes there on the next build."""
    from workbench.experts.geometry import CalibrationConfig
    from workbench.experts.mixture import build_mixture
    from workbench.experts.train import ALIGNX_PREFIX, ExpertConfig
    from workbench.io import build_once, config_key
    from workbench.paths import models_dir
    from workbench.profiles import active_profile

    spec = MIXTURES[paper]
    data = mixture_data(smoke)
    profile = profile or active_profile().name
    experts = ExpertConfig.for_profile(profile, epochs=1 if smoke else 2, seed=seed,
                                       prefix=ALIGNX_PREFIX if spec["prefix"] else None)
    calibration = CalibrationConfig()
    key = config_key({"backbone": backbone, "experts": asdict(experts), "router": spec["router"],
                      "calibration": asdict(calibration), "seed": seed, "data": sorted(data["id"])})
    name = f"{paper}-{backbone}-{key}"

    def build(tmp: Path) -> None:
        build_mixture(backbone, data, tmp, experts=experts, router=dict(spec["router"]), calibration=calibration,
                      seed=seed, profile=profile, progress=progress, work=models_dir() / "mixtures" / ".work" / name,
                      resume=True)

    return build_once(models_dir() / "mixtures" / name, build, complete="report.json")


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


def hhh_eval_set(smoke: bool, *, real_honest: int = 0, seed: int = 0):
    """The held-out rows the HHH evaluation generates for: every eval row, or two per axis in smoke mode, each
    with ``data_kind`` "bundled"; with ``real_honest`` > 0 that many FreshQA questions join the honest items
    (``freshqa_honest_items``, ``data_kind`` "real")."""
    import pandas as pd

    data = mixture_data(smoke)
    eval_set = data[data["split"] == "eval"]
    if smoke:
        eval_set = eval_set.groupby("axis", group_keys=False).head(2)
    eval_set = eval_set.assign(data_kind="bundled")
    if real_honest:
        eval_set = pd.concat([eval_set, freshqa_honest_items(real_honest, seed=seed)], ignore_index=True)
    return eval_set.reset_index(drop=True)


def freshqa_honest_items(n: int, *, seed: int = 0):
    """``n`` FreshQA questions (real: FreshQA v12182024 from the inspect-evals wheel, MIT) as honest HHH items,
    half of them false-premise (an honest answer corrects the premise) where there are enough: ``id`` (fq-…),
    ``axis`` honest, ``split`` eval, ``prompt``, ``response`` (FreshQA's first gold answer), ``data_kind`` real."""
    import pandas as pd

    from workbench.datasets.real import load_freshqa

    fq = load_freshqa()
    fq = fq[fq["answers"].map(len) > 0]
    false, valid = fq[fq["false_premise"]], fq[~fq["false_premise"]]
    n_false = min(len(false), (n + 1) // 2)
    picked = pd.concat([false.sample(n=n_false, random_state=seed),
                        valid.sample(n=min(len(valid), n - n_false), random_state=seed)])
    return pd.DataFrame({"id": "fq-" + picked["id"].to_numpy(), "axis": "honest", "split": "eval",
                         "prompt": picked["question"].to_numpy(), "response": picked["answers"].map(lambda a: a[0]),
                         "data_kind": "real"}).reset_index(drop=True)


def build_router_calibration(ctx: BuildContext) -> None:
    from workbench.experts.moe import MixtureOfExperts
    from workbench.io import load_frame, save_frame

    backbone = ctx.profile.model_for("expert_backbone")
    folder = trained_mixture(ctx.paper, backbone, smoke=ctx.smoke, seed=ctx.seed, profile=ctx.profile.name,
                             progress=lambda f, m: ctx.progress(0.8 * f, m))
    report = mixture_report(folder)
    routing = load_frame(folder / "routing")
    ctx.progress(0.82, "efficiency: ours as configured vs three full copies")
    mixture = MixtureOfExperts.load(folder)
    if MIXTURES[ctx.paper]["token_level"]:
        ctx.progress(0.83, "token router (one per adapted block)")
        token_mixture(mixture, smoke=ctx.smoke).ensure_token_router(seed=ctx.seed)
    efficiency = measure_efficiency(mixture, folder, routing["prompt"].tolist(), smoke=ctx.smoke,
                                    label=MIXTURES[ctx.paper]["label"], calibrator=MIXTURES[ctx.paper]["calibrator"])
    del mixture
    save_frame(routing, ctx.path(ctx.paper, "router_calibration"), profile=ctx.profile.name, models=[backbone],
               seed=ctx.seed, config=calibration_config(ctx.paper, folder, report, efficiency, ctx.smoke))


def calibration_config(paper: str, folder: Path, report: dict, efficiency: dict, smoke: bool) -> dict:
    """The config the ``router_calibration`` artifact records (its frame: the mixture folder's routing rows)."""
    from workbench.experts.token_router import TokenRouter

    config = {"paper_setup": MIXTURES[paper], "mixture": Path(folder).name, "smoke": smoke, "report": report,
              "efficiency": efficiency}
    if MIXTURES[paper]["token_level"] and TokenRouter.stored(folder):
        config["token_routing"] = TokenRouter.load(folder).report
    return config


def token_mixture(mixture, *, smoke: bool):
    """``mixture`` (a paper's, from ``trained_mixture``) with its rows (``mixture_data``) to train its token router
    on when it has none yet: the mixture's train split, the same rows its experts and prompt router trained on."""
    if mixture.token_data is None:
        mixture.token_data = mixture_data(smoke)
    return mixture


def hhh_config(paper: str, folder: Path, eval_set, judge: str, smoke: bool) -> dict:
    """The config the ``hhh_eval``, ``hhh_responses`` and ``hhh_calibration`` artifacts record."""
    kinds = eval_set["data_kind"].value_counts().to_dict() if "data_kind" in eval_set.columns else {}
    return {"mixture": Path(folder).name, "smoke": smoke, "judge": judge, "eval_rows": len(eval_set),
            "max_new_tokens": hhh_new_tokens(smoke), "paper_setup": MIXTURES[paper],
            "routing": f"soft top-{MIXTURES[paper]['router']['top_k']} by the {MIXTURES[paper]['calibrator']} "
                       f"calibrated routing probabilities (system 'routed')",
            "data_kinds": {str(k): int(v) for k, v in kinds.items()},
            "data": "bundled held-out axis prompts" + (" + real FreshQA v12182024 questions (honest axis, MIT)"
                                                       if kinds.get("real") else "")}


def hhh_new_tokens(smoke: bool) -> int:
    return 8 if smoke else 48


def hhh_models(backbone: str, judge: str) -> list[str]:
    return [backbone] + ([judge] if judge != backbone else [])


def notebook_sources(paper: str, profile: str, backbone: str, judge: str, *, folder: Path, report: dict,
                     efficiency: dict, metrics, judged, eval_set, smoke: bool, shortcuts=None):
    """What a P3 / P10 notebook computed, as the claims ledger's ``MemorySources`` in the builders' artifact shapes
    (``router_calibration``, ``hhh_eval``, ``hhh_responses`` and, when given, the ``shortcuts`` metrics as
    ``hhh_shortcuts``), for its closing ``claims_table``."""
    from workbench.claims import MemorySources
    from workbench.io import load_frame

    config = hhh_config(paper, folder, eval_set, judge, smoke)
    models = hhh_models(backbone, judge)
    sources = (MemorySources(profile)
               .add(paper, "router_calibration", load_frame(Path(folder) / "routing"), models=[backbone],
                    config=calibration_config(paper, folder, report, efficiency, smoke))
               .add(paper, "hhh_eval", metrics, models=models, config=config)
               .add(paper, "hhh_responses", judged, models=models, config=config))
    if shortcuts is not None:
        sources.add(paper, "hhh_shortcuts", shortcuts, models=models, config=config)
    return sources


def hhh_plan(mixture, *, calibrator: str = "temperature", token_level: bool = False,
             ablation: bool = True) -> dict[str, dict]:
    """The systems the HHH evaluation generates with, as ``MixtureOfExperts.generate`` options: the backbone alone,
    each expert alone, ``routed`` (soft top-k by the ``calibrator``-calibrated routing, the default), ``routed
    top-1``, the merge, ``routed per-token`` when ``token_level``, and with ``ablation`` the routed mixture under
    every calibrator the mixture has (``ablation.system_name``)."""
    from workbench.experts.ablation import system_name

    plan = {"base": {"mode": "base"}, **{a: {"mode": a} for a in mixture.axes},
            "routed": {"mode": "routed", "calibrator": calibrator},
            "routed top-1": {"mode": "routed", "calibrator": calibrator, "top_k": 1}, "merged": {"mode": "merged"}}
    if token_level:                     # routed by the token router, trained on the block states (token_router)
        plan["routed per-token"] = {"mode": "routed", "calibrator": calibrator, "level": "token"}
    if ablation:
        plan.update({system_name(c): {"mode": "routed", "calibrator": c}
                     for c in mixture.calibration.config.enabled()})
    return plan


def hhh_systems(mixture, eval_set, *, max_new_tokens: int, progress=None, plan: dict | None = None
                ) -> dict[str, dict[str, list[str]]]:
    """Responses of every system of ``plan`` (default: ``hhh_plan(mixture, ablation=False)``), per axis; systems
    with the same generation options are generated once."""
    plan = plan or hhh_plan(mixture, ablation=False)
    prompts = eval_set["prompt"].tolist()
    out: dict[str, dict[str, list[str]]] = {}
    done: dict[str, list[str]] = {}
    for i, (system, options) in enumerate(plan.items()):
        if progress:
            progress(i / len(plan), f"generating: {system}")
        key = json.dumps(options, sort_keys=True)
        if key not in done:
            done[key] = mixture.generate(prompts, max_new_tokens=max_new_tokens, **options)
        out[system] = {axis: [t for t, a in zip(done[key], eval_set["axis"]) if a == axis]
                       for axis in eval_set["axis"].unique()}
    return out


def plan_weights(mixture, eval_set, plan: dict) -> dict[str, "np.ndarray"]:
    """The per-prompt expert weights [N, K] of every routed per-prompt system of ``plan`` (rows: ``eval_set``)."""
    prompts = eval_set["prompt"].tolist()
    return {system: mixture.route(prompts, calibrator=o.get("calibrator", "temperature"), top_k=o.get("top_k"))
            ["weights"] for system, o in plan.items() if o["mode"] == "routed" and o.get("level", "prompt") == "prompt"}


def judge_hhh(mixture, eval_set, judge: str, *, max_new_tokens: int, progress=None):
    """Every system's responses (``hhh_systems``) judged on the HHH axes by ``judge``'s four built-in judges:
    (metrics frame, responses)."""
    metrics, responses, _ = judged_hhh(mixture, eval_set, judge, max_new_tokens=max_new_tokens, progress=progress)
    return metrics, responses


ITEM_METRICS = ("win_rate", "mean_preference", "harmful_rate", "true", "informative", "true_and_informative")


def judged_hhh(mixture, eval_set, judge: str, *, max_new_tokens: int, progress=None, plan: dict | None = None):
    """``judge_hhh`` and the judged responses as one frame (the ``hhh_responses`` artifact, ``hhh_response_frame``,
    with the routed systems' expert weights) whose per-item columns average to the metrics:
    (metrics, responses, frame). ``plan``: ``hhh_plan``'s systems (default: without the calibrator ablation)."""
    from workbench.evaluation.hhh import evaluate_hhh, hhh_judges

    plan = plan or hhh_plan(mixture, ablation=False)
    responses = hhh_systems(mixture, eval_set, max_new_tokens=max_new_tokens, progress=progress, plan=plan)
    judges = hhh_judges(judge)
    metrics = evaluate_hhh(eval_set, responses, **judges)
    frame = hhh_response_frame(eval_set, responses, judges, weights=plan_weights(mixture, eval_set, plan),
                               axes=mixture.axes)
    return metrics, responses, frame


def paper_hhh(mixture, paper: str, judge: str, *, smoke: bool, seed: int = 0, one_per_axis: bool = False,
              progress=None):
    """``paper``'s whole HHH evaluation in one call: the eval set (``hhh_eval_set`` with FreshQA's real honesty
    items; ``one_per_axis`` keeps one item per axis and data kind), every system of ``paper_plan`` judged, and the
    calibration ablation (``ablation.calibration_ablation``): (eval_set, metrics, judged, ablation)."""
    from workbench.experts.ablation import calibration_ablation

    eval_set = hhh_eval_set(smoke, real_honest=SMOKE_REAL_HONEST if smoke else REAL_HONEST, seed=seed)
    if MIXTURES[paper]["token_level"]:
        token_mixture(mixture, smoke=smoke).ensure_token_router(seed=seed)
    if one_per_axis:
        eval_set = eval_set.groupby(["axis", "data_kind"], sort=False).head(1).reset_index(drop=True)
    metrics, _, judged = judged_hhh(mixture, eval_set, judge, max_new_tokens=hhh_new_tokens(smoke),
                                    progress=progress, plan=paper_plan(mixture, paper))
    return eval_set, metrics, judged, calibration_ablation(judged, mixture.axes, seed=seed)


def paper_plan(mixture, paper: str, *, ablation: bool = True) -> dict[str, dict]:
    """``hhh_plan`` with ``paper``'s set-up (its calibrator, per-token system for TrinityX)."""
    spec = MIXTURES[paper]
    return hhh_plan(mixture, calibrator=spec["calibrator"], token_level=spec["token_level"], ablation=ablation)


def hhh_response_frame(eval_set, responses, judges=None, *, weights: dict | None = None, axes=None):
    """One row per (system, axis, item): id, prompt, response and, when ``judges`` (pairwise, safety, truth, info)
    are given, the item's score on each metric of its axis (``ITEM_METRICS``; NaN for the other axes' metrics):
    win_rate 1 / ½ / 0 (win, tie, loss), mean_preference p_win, harmful_rate 1 when flagged, true, informative and
    true_and_informative 1 / 0 — the per-item values whose means are ``evaluate_hhh``'s metrics (the paired
    bootstrap of the claims ledger resamples them). ``data_kind`` (real / bundled) when ``eval_set`` has it;
    with ``weights`` ({system: [N, K] per ``eval_set`` row}) and ``axes``, columns ``w_<axis>`` (NaN for systems
    without per-prompt weights)."""
    import pandas as pd

    from workbench.evaluation.hhh import harmful_rate, truthfulqa_scores, win_rate

    kinds = "data_kind" in eval_set.columns
    wcols = [f"w_{a}" for a in axes] if weights and axes is not None else []
    index = {pos: i for i, pos in enumerate(eval_set.index)}     # eval_set row → row of the weight arrays
    rows = []
    for system, per_axis in responses.items():
        for axis, texts in per_axis.items():
            part = eval_set[eval_set["axis"] == axis]
            prompts = part["prompt"].tolist()
            scores: dict[str, list] = {}
            if judges is not None and axis == "helpful":
                items = win_rate(prompts, texts, part["response"].tolist(), judges["pairwise"])["items"]
                scores = {"win_rate": [{"win": 1.0, "tie": 0.5, "loss": 0.0}[i["outcome"]] for i in items],
                          "mean_preference": [i["p_win"] for i in items]}
            elif judges is not None and axis == "harmless":
                r = harmful_rate(prompts, texts, judges["safety"])
                scores = {"harmful_rate": [float(p > r["threshold"]) for p in r["p_harmful"]]}
            elif judges is not None and axis == "honest":
                r = truthfulqa_scores(prompts, texts, judges["truth"], judges["info"])
                true = [float(p >= r["threshold"]) for p in r["p_true"]]
                info = [float(p >= r["threshold"]) for p in r["p_info"]]
                scores = {"true": true, "informative": info,
                          "true_and_informative": [t * i for t, i in zip(true, info)]}
            w = weights.get(system) if weights else None
            for j, (pos, item, prompt, text) in enumerate(zip(part.index, part["id"], prompts, texts)):
                row = {"system": system, "axis": axis, "id": item, "prompt": prompt, "response": text}
                if kinds:
                    row["data_kind"] = part["data_kind"].iloc[j]
                if judges is not None:
                    row.update({m: scores[m][j] if m in scores else float("nan") for m in ITEM_METRICS})
                if wcols:
                    row.update({c: float(w[index[pos], k]) if w is not None else float("nan")
                                for k, c in enumerate(wcols)})
                rows.append(row)
    columns = (["system", "axis", "id", "prompt", "response"] + (["data_kind"] if kinds else [])
               + (list(ITEM_METRICS) if judges is not None else []) + wcols)
    return pd.DataFrame(rows, columns=columns)


def measure_efficiency(mixture, folder, prompts: list[str], *, smoke: bool, label: str,
                       calibrator: str = "temperature") -> dict:
    """Latency (and, at full size, peak memory and X-LoRA) of ``mixture`` as configured (its router's top-k, the
    paper's ``calibrator``) and of a dense mixture, against three full copies; ``rows`` names system and baseline
    of every ratio (``efficiency.efficiency_rows``; ``label`` names the system, e.g. ``AlignX``)."""
    from workbench.experts.efficiency import compare_latency, compare_memory, efficiency_rows

    prompts = list(prompts)[: 2 if smoke else 8]
    result = compare_latency(mixture, folder, prompts, n_tokens=4 if smoke else 16, repeats=1 if smoke else 3,
                             with_xlora=not smoke, calibrator=calibrator)
    if not smoke:
        result.update(compare_memory(folder, prompts, n_tokens=8,
                                     weights=mixture.route(prompts, calibrator=calibrator)["weights"]))
    result["rows"] = efficiency_rows(result, label)
    return result


def build_hhh_eval(ctx: BuildContext) -> None:
    """``hhh_eval`` (metrics per system), ``hhh_responses`` (judged per item, with the routed systems' weights) and
    ``hhh_calibration`` (the uncalibrated-vs-each-calibrator ablation, ``experts.ablation``) of the paper's mixture
    on the bundled held-out items plus FreshQA's real honesty questions."""
    from workbench.experts.moe import MixtureOfExperts
    from workbench.io import save_frame

    backbone = ctx.profile.model_for("expert_backbone")
    folder = trained_mixture(ctx.paper, backbone, smoke=ctx.smoke, seed=ctx.seed, profile=ctx.profile.name,
                             progress=lambda f, m: ctx.progress(0.5 * f, m))
    mixture = MixtureOfExperts.load(folder)
    judge = ctx.profile.model_for("judge")
    eval_set, metrics, judged, ablation = paper_hhh(mixture, ctx.paper, judge, smoke=ctx.smoke, seed=ctx.seed,
                                                    progress=lambda f, m: ctx.progress(0.5 + 0.45 * f, m))
    del mixture
    config = hhh_config(ctx.paper, folder, eval_set, judge, ctx.smoke)
    models = hhh_models(backbone, judge)
    for role, frame in (("hhh_eval", metrics), ("hhh_responses", judged), ("hhh_calibration", ablation)):
        save_frame(frame, ctx.path(ctx.paper, role), profile=ctx.profile.name, models=models, seed=ctx.seed,
                   config=config)


def build_real_routing(ctx: BuildContext) -> None:
    """The trained router on real prompts from wheels (``realcheck``): StrongREJECT and HarmBench → harmless,
    FreshQA's false-premise questions → honest."""
    from workbench.experts.moe import MixtureOfExperts
    from workbench.experts.realcheck import real_prompts, route_real
    from workbench.io import save_frame

    backbone = ctx.profile.model_for("expert_backbone")
    folder = trained_mixture(ctx.paper, backbone, smoke=ctx.smoke, seed=ctx.seed, profile=ctx.profile.name,
                             progress=lambda f, m: ctx.progress(0.7 * f, m))
    report = mixture_report(folder)
    ctx.progress(0.75, "routing real prompts (StrongREJECT, HarmBench, FreshQA)")
    prompts = real_prompts(smoke=ctx.smoke, seed=ctx.seed)
    mixture = MixtureOfExperts.load(folder)
    routing = route_real(mixture, prompts)
    del mixture
    config = {"mixture": Path(folder).name, "smoke": ctx.smoke, "axes": report["axes"],
              "calibration": report["calibration"],
              "data": "real: StrongREJECT (MIT), HarmBench standard behaviours (MIT), FreshQA v12182024 (MIT)"}
    save_frame(routing, ctx.path(ctx.paper, "real_routing"), profile=ctx.profile.name, models=[backbone],
               seed=ctx.seed, config=config)


def build_shortcuts(ctx: BuildContext) -> None:
    """``hhh_shortcuts``: the trivial baselines beside the HHH table (``experts.shortcuts.build_hhh_shortcuts``)."""
    from workbench.experts.shortcuts import build_hhh_shortcuts

    build_hhh_shortcuts(ctx)


for _paper in MIXTURES:
    register_builder(_paper, "router_calibration",
                     f"{MIXTURES[_paper]['label']} mixture: routing calibration and efficiency")(
        build_router_calibration)
    register_builder(_paper, "hhh_eval", f"{MIXTURES[_paper]['label']} mixture: HHH evaluation",
                     quick=False)(build_hhh_eval)
    register_builder(_paper, "real_routing",
                     f"{MIXTURES[_paper]['label']} mixture: the router on real prompts from wheels")(
        build_real_routing)
    register_builder(_paper, "hhh_shortcuts",
                     f"{MIXTURES[_paper]['label']} mixture: trivial baselines (response shortcuts, surface routers)",
                     quick=False)(build_shortcuts)
