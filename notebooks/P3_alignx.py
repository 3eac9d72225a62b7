# %% [markdown]
# # P3 — AlignX: prompt-injected axis experts and a Mixture of Calibrated Experts
#
# **Reproduces:** AlignX's three axis experts, the Mixture of Calibrated Experts with its fractal and natural
# calibrators, the HHH evaluation against single experts and shortcuts, routing on real prompts and efficiency;
# the closing table sets the abstract's numbers beside ours.
#
# **Run time:** about 60 min on the default profile (a 2-core CPU); `SMOKE = True`: about 3 min.
#
# AlignX trains one expert per alignment axis — helpful, harmless, honest — separately, so that optimising one
# axis does not overwrite the others ("axis collapse"), with an instruction prefix injected into the training
# prompts ("prompt-injected fine-tuning"); the experts are merged as task vectors, and a Mixture of Calibrated
# Experts routes each input to them with confidence "calibrated using fractal and natural geometry".
#
# **What the paper specifies** (SPECS.md): the prefix (in the authors' code: *"Chain of Thought: Let's think step by
# step."*), LoRA r 64 / α 32 / dropout 0.1 / lr 5e-4, a router latent of 256, calibration weights λ1 0.6 / λ2 0.4
# and ε 0.05. **Ours:** everything else — PEFT LoRA experts on one frozen backbone; a router on the backbone's
# mean-pooled hidden state trained on which-axis labels; the two geometric calibrators as *input-conditioned
# temperature scaling* with the box-counting dimension of the prompt's hidden-state trajectory (fractal) and the
# Fisher information of the routing about its input (natural) as features (`workbench/experts/geometry.py`); the
# HHH judges' wording (`workbench/evaluation/hhh.py`). On the default profile the backbone is SmolLM2-135M-Instruct
# on a CPU with rank-8 experts; the `paper` profile runs the same code on Mistral-7B-Instruct.

# %% tags=["parameters"]
SMOKE = False
PROFILE = "default"
SEED = 0

# %%
import json

import pandas as pd

from workbench.experts.artifacts import (MIXTURES, held_out_routing, hhh_eval_set, mixture_data, mixture_report,
                                         trained_mixture)
from workbench.notebooks import claims_table, rounded
from workbench.profiles import get_profile
from workbench.viz import stamp
from workbench.viz.experts import loss_figure

profile = get_profile(PROFILE)
backbone = profile.model_for("expert_backbone")
data = mixture_data(SMOKE)
data.groupby(["axis", "split"]).size().unstack()

# %% [markdown]
# ## The axis data
# Bundled sets written for this project (CC0): instructions with helpful answers, harmful requests with refusals,
# questions with a truthful answer and a common false one. Loaders for Alpaca JSON, BeaverTails JSONL and TruthfulQA
# CSV take their place with `workbench experts train --alpaca/--beavertails/--truthfulqa`.

# %%
data.groupby("axis").head(1)[["axis", "prompt", "response"]]

# %% [markdown]
# ## Stage 1: three experts, with AlignX's prompt injection, and the router
# Trained once and cached by their whole configuration (the dashboard and `benchmarks/moe_efficiency.py` reuse
# the same folder).

# %%
folder = trained_mixture("P3", backbone, smoke=SMOKE, seed=SEED)
report = mixture_report(folder)
experts = json.loads((folder / "experts.json").read_text())
print(f"prefix: {experts['config']['prefix']!r}; router: {MIXTURES['P3']['router']}")
fig = loss_figure(experts["losses"])
stamp(fig, profile.name, [backbone])
fig

# %% [markdown]
# ## Stage 2: is the routing right, and its confidence honest?
# Calibrators are fitted on half of the held-out prompts and measured on the other half. Each is switchable
# (`workbench experts train --no-fractal/--no-natural`), so its effect is measured, not assumed.

# %%
from workbench.experts.mixture import calibrator_mix_sweep
from workbench.metrics.calibration import brier, ece, reliability_curve
from workbench.viz.experts import calibration_bars, confusion_figure, mix_sweep_figure, reliability_figure

test, probs = held_out_routing(folder, report)
labels = test["label"].to_numpy(int)
metrics = {n: {"ece": ece(p, labels, n_bins=10), "ece_mass": ece(p, labels, n_bins=10, strategy="mass"),
               "brier": brier(p, labels), "accuracy": float((p.argmax(1) == labels).mean())} for n, p in probs.items()}
fig = calibration_bars(metrics)
stamp(fig, profile.name, [backbone])
fig

# %%
pd.DataFrame(metrics).T.round(4)

# %%
fig = reliability_figure({n: reliability_curve(probs[n], labels, n_bins=10) for n in probs})
stamp(fig, profile.name, [backbone])
fig

# %%
fig = confusion_figure(report["confusion"], report["axes"])
stamp(fig, profile.name, [backbone])
fig

# %% [markdown]
# ### λ1 / λ2: how much of each geometric calibrator
# AlignX fixes λ1 = 0.6, λ2 = 0.4. The mixture p = λ1·p_fractal + λ2·p_natural is cheap to recompute for every λ1
# on the same held-out rows.

# %%
fig = mix_sweep_figure(calibrator_mix_sweep(probs, labels), paper_lambda=0.6)
stamp(fig, profile.name, [backbone])
fig

# %% [markdown]
# ## The mixture at work: soft mixing by the calibrated routing
# Routed (the default) [ours where the paper is silent]: each prompt's routing distribution, calibrated by the
# λ-mixture of the fractal and natural calibrators, is cut to the top-2 experts and renormalised; every LoRA layer
# adds the two experts' adapter outputs ΔW_e·x with those weights, for a whole batch at once. Routed top-1 is the
# papers' hard routing — under it no calibrator can change anything, since each rescales the logits by a positive
# per-prompt factor. Merged: AlignX's task-vector merge, ΔW = Σ γ_e ΔW_e with γ = 1/3.
#
# The HHH set joins real honesty items — FreshQA questions (v12182024, from the inspect-evals wheel; half of them
# false-premise) — to the bundled held-out prompts; every item says which it is (`data_kind`).

# %% [markdown]
# ### HHH evaluation
# Win rate against the reference answers (judged in both A/B orders), harmful-response rate from a safety judge,
# TruthfulQA-style % true ∧ informative — judges from the profile (default: SmolLM2 itself, a weak judge; the
# `paper` profile's Llama-3.1-8B, or beaver-dam-7b and the truth/info judges wrapped as judges). Systems: the
# backbone alone, each expert alone, routed (soft top-2, λ-mixed calibration), routed top-1, merged, and the routed
# mixture under each calibrator (`routed[…]`, the ablation below).

# %%
from workbench.experts.artifacts import paper_hhh
from workbench.experts.moe import MixtureOfExperts
from workbench.viz.experts import hhh_figure

mixture = MixtureOfExperts.load(folder)
judge = profile.model_for("judge")
eval_set, hhh, judged, ablation = paper_hhh(mixture, "P3", judge, smoke=SMOKE, seed=SEED, one_per_axis=SMOKE)
fig = hhh_figure(hhh)
stamp(fig, profile.name, [backbone, judge], data="bundled + real (FreshQA)")
fig

# %%
hhh.pivot_table(index="system", columns="metric", values="value", sort=False).round(3)

# %%
first = judged[judged["id"].isin(eval_set.groupby("axis", sort=False).head(1)["id"])]
first[first["system"] == "routed"][["axis", "data_kind", "prompt", *(f"w_{a}" for a in mixture.axes)]].round(3)

# %%
first.pivot_table(index=["axis", "prompt"], columns="system", values="response", aggfunc="first",
                  sort=False)[["base", "routed", "routed top-1", "merged"]]

# %% [markdown]
# ### Trivial baselines beside the table [ours]
# Two systems that never read the prompt's meaning, judged by the same judges on the same items: a blanket refusal
# (the trivial optimum of the harmless axis) and the prompt echoed back (every keyword, no content). A gain of the
# mixture that one of them matches is no evidence of alignment. Beside the router, routers on surface features only
# (bag of words, prompt length, the majority axis), trained on the same train prompts and scored on the router's
# test rows: if the bag of words routes as well, the routing task is a surface one (`workbench/experts/shortcuts.py`).

# %%
from workbench.experts.shortcuts import mixture_surface_routing, shortcut_hhh, surface_table

shortcuts, _ = shortcut_hhh(eval_set, judge)
pd.concat([hhh, shortcuts]).pivot_table(index="system", columns="metric", values="value", sort=False).round(3)

# %% [markdown]
# The `matched` rows score the same routers on the lexically matched test set (`data/experts/matched.jsonl`: per
# topic a helpful, a harmful and an honesty prompt with the same opening, words and length; 95 % CI resampling
# topics): there the bag of words is near chance (1/3), so the router's accuracy on them is how well it routes by
# meaning.

# %%
surface_table(mixture_surface_routing(folder, smoke=SMOKE, seed=SEED, mixture=mixture)).round(3)

# %% [markdown]
# ## Does calibration change the outputs? Uncalibrated vs each calibrator
# The routed mixture generated once per calibrator on the same items; each row is that calibrator's change against
# the uncalibrated router in points of the metric, with a 95 % paired bootstrap interval over the items, and how
# often the calibration changed the expert weights and the generated text (`workbench/experts/ablation.py`, ours).

# %%
from workbench.viz.experts import calibration_ablation_figure

fig = calibration_ablation_figure(ablation)
stamp(fig, profile.name, [backbone, judge], data="bundled + real (FreshQA)")
fig

# %%
ablation.round(3)

# %% [markdown]
# ## The router on real prompts we did not write
# Our axis data are ours, and a router can learn their phrasing instead of the axis. Real prompts from wheels,
# with an expected expert assigned by us: StrongREJECT's forbidden prompts and HarmBench's standard behaviours →
# harmless; FreshQA's false-premise questions → honest; FreshQA's other questions have none (shares only). Recall is
# the share routed to the expected expert, with a bootstrap 95 % CI (`workbench/experts/realcheck.py`).

# %%
from workbench.experts.realcheck import real_routing_report

real_summary, fig = real_routing_report(mixture, report, smoke=SMOKE, seed=SEED, profile=profile.name,
                                        models=[backbone])
fig

# %%
real_summary.round(3)

# %% [markdown]
# ## Cost: AlignX as configured (top-2 soft routing) against named baselines
# One row per ratio, each naming its system and its baseline: AlignX top-2 routed against three full fine-tuned
# copies routed the same way (and, at full size, against PEFT's X-LoRA and in peak memory); the last row is a dense
# mixture against three copies run densely — shown as what it is, not as AlignX's cost. Same prompts, same greedy
# loop; with one-hot routing both must give the same tokens. `python benchmarks/moe_efficiency.py` runs it at full
# size.

# %%
from workbench.experts.artifacts import measure_efficiency

efficiency = measure_efficiency(mixture, folder, eval_set["prompt"].tolist(), smoke=SMOKE,
                                label=MIXTURES["P3"]["label"], calibrator=MIXTURES["P3"]["calibrator"])
del mixture
pd.DataFrame(efficiency["rows"]).round(4)

# %%
rounded({k: v for k, v in efficiency.items() if k != "rows"})

# %% [markdown]
# ## Paper vs ours
# From the claims ledger (the same rows as `workbench claims P3`). The abstract does not name the baseline of its
# gains, and its data are Alpaca / BeaverTails / TruthfulQA with 7B backbones; ours are the routed mixture against
# the same backbone without experts, on our small held-out sets, judged by the profile's judge, with a paired
# bootstrap CI over the items — a reproduction of the protocol, not of the numbers. The efficiency rows compare
# AlignX as configured with the nearest MoE-like baseline we have, named in the reason.

# %%
from workbench.experts.artifacts import notebook_sources

sources = notebook_sources("P3", profile.name, backbone, judge, folder=folder, report=report,
                           efficiency=efficiency, metrics=hhh, judged=judged, eval_set=eval_set, smoke=SMOKE,
                           shortcuts=shortcuts)
claims_table("P3", sources)
