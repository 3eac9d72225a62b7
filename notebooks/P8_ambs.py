# %% [markdown]
# # P8 — AMBS: one shared pass, N steered branches
#
# **Reproduces:** AMBS's shared pass with N bounded steered branches against the naive 1-to-N baseline (behaviour
# probability, alignment score, unsafe outputs, cost); the closing table sets the abstract's numbers beside ours.
#
# **Run time:** about 60 min on the default profile (a 2-core CPU); `SMOKE = True`: about 2 min.
#
# AMBS steers one model toward several objectives at once: Stage I runs the Transformer once up to layer L, Stage II
# clones that shared representation into N branches — each the shared "reference" plus its objective's steering
# vector, with the divergence from the reference bounded — and runs the rest of the network per branch.
#
# **What the paper specifies** (SPECS.md): the two stages; CAA-style vectors (mean difference of layer-L residual
# states between good and bad answers) refined by maximising cosine to the per-sample differences and rescaled to the
# mean-difference norm; claims of a higher average alignment score and fewer unsafe outputs on DeepSeek-7B against a
# naive 1-to-N baseline (the abstract's numbers are in the closing table, from `data/papers.json`). **Ours:** the read position (mean over the answer's tokens), the PCA aggregator, the
# behaviour-probability metric (mean σ(log p(positive) − log p(negative)) per token on held-out pairs), the
# generation shift (steered answers nearer the positive reference by MiniLM cosine), the batching scheme, and the
# policy–reference bound: each branch's next-token distribution kept within KL ε of the unsteered reference policy
# on the branch's own history, by a geometric mixture toward the reference (`steering/ambs_bound.py`); the naive
# 1-to-N baseline (N full passes, each objective's own vector, no shared reference), the alignment score (the item's
# headline HHH score on its own axis), the dev / test split that chooses ε and the consistency measure (token overlap
# of the branches) — `workbench/steering/`. Default profile: SmolLM2-135M-Instruct on a CPU; `paper`: DeepSeek-7B
# with the same code.

# %% tags=["parameters"]
SMOKE = False
PROFILE = "default"
SEED = 0

# %%
import pandas as pd

from workbench.models import load
from workbench.notebooks import claims_table
from workbench.profiles import get_profile
from workbench.steering.artifacts import OBJECTIVES, multipliers, steering_layers
from workbench.steering.hooks import decoder_layers
from workbench.steering.pairs import load_pairs
from workbench.viz import stamp

profile = get_profile(PROFILE)
model_name = profile.model_for("steering_lm")
lm = load(model_name)
depth = len(decoder_layers(lm.model))
layers = steering_layers(depth, SMOKE)
print(f"{model_name}: {depth} decoder blocks; steering layers {layers}")
pairs = {o: (load_pairs(f"bundled:{o}", split="train").head(2 if SMOKE else None),
             load_pairs(f"bundled:{o}", split="eval").head(1 if SMOKE else None)) for o in OBJECTIVES}
pd.DataFrame({"objective": o, "train pairs": len(tr), "eval pairs": len(ev), "example positive": tr.positives[0],
              "example negative": tr.negatives[0]} for o, (tr, ev) in pairs.items())

# %% [markdown]
# ## Vectors: three aggregators
# Mean difference (CAA), PCA of the differences, and AMBS's learned-cosine refinement (computed in closed form: the
# mean of the normalised differences maximises the mean cosine). How much do they agree?

# %%
from workbench.steering.vectors import AGGREGATORS, aggregator_agreement, train_vector

aggregators = ["mean_difference"] if SMOKE else list(AGGREGATORS)
half = depth // 2 - 1                     # AMBS's branch layer below; read in the same passes
vectors = {(o, a): train_vector(lm, tr.prompts, tr.positives, tr.negatives, sorted({*layers, half}), aggregator=a,
                                position="answer", objective=o)
           for o, (tr, _) in pairs.items() for a in aggregators}
aggregator_agreement(vectors, layers).round(3)

# %% [markdown]
# ## Does steering move the model? Behaviour probability on held-out pairs vs multiplier

# %%
from workbench.steering.evaluate import sweep
from workbench.viz.steering import sweep_figure

tables = []
for o, (_, ev) in pairs.items():
    table = sweep(lm, vectors[(o, "mean_difference")], ev.prompts, ev.positives, ev.negatives, layers=layers,
                  multipliers=multipliers(SMOKE))
    tables.append(table.assign(objective=o, aggregator="mean_difference"))
sweeps = pd.concat(tables, ignore_index=True)
fig = sweep_figure(sweeps)
stamp(fig, profile.name, [model_name])
fig

# %%
sweeps.pivot_table(index=["objective", "layer"], columns="multiplier", values="behaviour_p").round(3)

# %% [markdown]
# ## Do the generations move? Held-out prompts answered unsteered and at ×2 (middle layer)
# Each generation is placed nearer the positive or the negative reference answer by MiniLM cosine (ours).

# %%
from workbench.steering.evaluate import generation_shift

encoder = load(profile.model_for("sentence_encoder"))
mid = layers[len(layers) // 2]
shifts = pd.concat([generation_shift(lm, encoder, ev.prompts, ev.positives, ev.negatives,
                                     vectors[(o, "mean_difference")], mid, multipliers=(0.0, 2.0),
                                     max_new_tokens=4 if SMOKE else 40).assign(objective=o)
                    for o, (_, ev) in pairs.items()], ignore_index=True)
shifts.pivot_table(index="objective", columns="multiplier", values=["closer_to_positive", "mean_margin"]).round(3)

# %%
example = shifts[shifts["objective"] == "harmless"].set_index("multiplier")["generations"]
pd.DataFrame({"prompt": pairs["harmless"][1].prompts, "unsteered": example[0.0], "steered ×2": example[2.0]}).head(4)

# %% [markdown]
# ## AMBS: the shared prefix, checked and timed
# With the bound inactive, every branch must give what an independent steered pass gives; the prompt pass saves
# compute up to N / (L/D + N·(1 − L/D)).

# %%
from workbench.steering.ambs import Branches, _encode, time_prompt_pass
from workbench.viz.steering import prompt_pass_figure

half_vectors = {o: vectors[(o, "mean_difference")] for o in pairs}
prompts = [pairs["harmless"][1].prompts[0], pairs["helpful"][1].prompts[0], pairs["honest"][1].prompts[0]]
ids, mask = _encode(lm, prompts)
timing = time_prompt_pass(lm.model, ids, mask, Branches.from_vectors(lm.model, half, half_vectors, 2.0),
                          repeats=1 if SMOKE else 3)
print(f"prompt pass, N = 3, branch after block {half} of {depth}: speedup {timing['speedup']:.2f}× "
      f"(bound {timing['bound']:.2f}×); same next token as three independent passes: {timing['same_argmax']}")
fig = prompt_pass_figure(depth, half + 1, timing["speedup"], n=3)
stamp(fig, profile.name, [model_name])
fig

# %% [markdown]
# ## AMBS vs the naive 1-to-N, through the HHH harness
# Every held-out HHH item is answered by the branch of its own axis: unsteered, by the naive 1-to-N (three full
# passes, each objective's own vector at ×2) and by AMBS (the same vectors on one shared prefix, each branch kept
# within KL ε of the unsteered reference at every step) for every ε of the sweep — fractions of the median unbounded
# KL per step on the dev items, and ∞ — plus a fixed refusal as the trivial
# baseline; the same judges score all of them. ε is chosen on the dev half of the items; the table is the test half,
# with bootstrap 95 % CIs and the paired difference from the naive 1-to-N.

# %%
from workbench.experts.artifacts import hhh_eval_set
from workbench.steering.ambs_eval import epsilons, hhh_table, run_comparison
from workbench.steering.artifacts import AMBS_MULTIPLIER, ambs_artifacts, ambs_judges
from workbench.viz.steering import ambs_bound_figure, ambs_consistency_figure, ambs_hhh_figure

judge = profile.model_for("judge")
eval_set = hhh_eval_set(SMOKE)
run = run_comparison(lm, {o: v.vectors[half] for o, v in half_vectors.items()}, half, eval_set,
                     ambs_judges(lm, judge), multiplier=AMBS_MULTIPLIER, eps_grid=epsilons(SMOKE),
                     relative=True, max_new_tokens=2 if SMOKE else 48)
ambs_config, ambs_frames = ambs_artifacts(run, smoke=SMOKE, judge=judge, eval_rows=len(eval_set))
ambs_table = hhh_table(ambs_frames["ambs_vs_naive"])
print(f"ε chosen on dev: {ambs_config['chosen_epsilon']}; test items: {len(ambs_config['test_ids'])}")
fig = ambs_hhh_figure(ambs_table)
stamp(fig, profile.name, [model_name, judge])
fig

# %%
ambs_table.round(3)

# %% [markdown]
# ## The bound at work: how often it binds, and the KL it allows
# ε = ∞ is no bound (the naive 1-to-N's outputs); the realised KL per step never exceeds ε.

# %%
fig = ambs_bound_figure(ambs_frames["ambs_sweep"])
stamp(fig, profile.name, [model_name])
fig

# %%
ambs_frames["ambs_sweep"].round(4)

# %% [markdown]
# ## Cross-objective consistency
# How much the three branches of one prompt agree (mean pairwise token overlap of their outputs).

# %%
fig = ambs_consistency_figure(ambs_frames["ambs_consistency"])
stamp(fig, profile.name, [model_name])
fig

# %%
ambs_frames["ambs_vs_naive"].pivot_table(index=["axis", "id"], columns="system", values="response",
                                         aggfunc="first").head(6)

# %% [markdown]
# ## Steered vs unsteered, and the prompt-pass timing — not the paper's comparison
# What this notebook measures about steering itself: the behaviour probability at the largest multiplier against 0
# on held-out pairs (middle layer), and the measured prompt-pass speed-up of the shared prefix (bound inactive).
# These are *not* AMBS against the naive 1-to-N; that comparison is the HHH table above and the ledger below.

# %%
mid = layers[len(layers) // 2]
top = max(multipliers(SMOKE))
at = sweeps[sweeps["layer"] == mid].pivot_table(index="objective", columns="multiplier", values="behaviour_p")
pd.DataFrame({
    "quantity": [f"behaviour p, steered ×{top:g} vs unsteered, mean over objectives (layer {mid})",
                 f"harmless behaviour p, unsteered → steered ×{top:g} (layer {mid})",
                 "AMBS prompt pass vs N = 3 independent passes (same next token)"],
    "ours": [f"{at[0.0].mean():.3f} → {at[top].mean():.3f} "
             f"({100 * (at[top] - at[0.0]).mean() / at[0.0].mean():+.1f} % relative)",
             f"{at.loc['harmless', 0.0]:.3f} → {at.loc['harmless', top]:.3f}",
             f"{timing['speedup']:.2f}× (bound {timing['bound']:.2f}×; same next token: {timing['same_argmax']})"],
    "profile / model": f"{profile.name} / {model_name}"})

# %% [markdown]
# ## Paper vs ours
# The claims ledger's rows for P8, read from the frames above in the shapes `workbench build P8` saves. The paper's
# gains are AMBS against a naive 1-to-N baseline on an alignment score it does not define; ours is the HHH table's
# alignment score and unsafe rate (harmless items) on our test half, with a paired bootstrap CI.

# %%
from workbench import claims

config = {"layers": layers, "position": "answer", "smoke": SMOKE, "depth": depth, "multipliers": multipliers(SMOKE),
          "behaviour_p": "mean σ(s(pos) − s(neg))", "ambs_timing": timing}
sources = (claims.MemorySources(profile.name)
           .add("P8", "steering_sweep", sweeps, models=[model_name], config=config)
           .add("P8", "ambs_vs_naive", ambs_frames["ambs_vs_naive"],
                models=[model_name] + ([judge] if judge != model_name else []), config=ambs_config))
claims_table("P8", sources)
