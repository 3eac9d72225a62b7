# %% [markdown]
# # P7 — MEDASSESS-X: steering toward medically consistent answers
#
# **Reproduces:** MEDASSESS-X's comparison of a general and a specialised model, each with and without steering,
# on clinical questions (accuracy, factual consistency, safety error rate); the closing table sets the abstract's
# numbers beside ours.
#
# **Run time:** about 10 min on the default profile (a 2-core CPU); `SMOKE = True`: about 1 min.
#
# MEDASSESS-X steers LLMs at inference time, without weight updates, toward medically consistent reasoning, and
# reports higher accuracy and factual consistency and a lower safety error rate across general and medical LLMs (the
# abstract's numbers are in the closing table, from `data/papers.json`).
#
# The claim is that steering makes a *general* model as good as a *specialised* one, so we compare four systems:
# the general model, the general model + steering, a specialised model, and the specialised model + steering. The
# specialised model is a LoRA fine-tune of the same backbone on the clinical training items (default profile) or
# the profile's medical LM (paper profile: BioGPT) [ours].
#
# **Only the abstract is public; everything below is ours** (SPECS.md): clinical multiple-choice and yes/no/maybe
# questions (a small bundled set we wrote; a PubMedQA `ori_pqal.json` or a MedQA JSONL when given, split by a
# hash of each row into a train half and an evaluation half), the evaluation items split into dev and test (seeded,
# stratified by source × type); the layer and multiplier are chosen on dev and every reported number is from test;
# a steering vector from (consistent, inconsistent) answer pairs of the train items; **Accuracy** = the option
# whose label the model finds most likely after the question; **Factual Consistency** = share of the model's
# written answers that neither state another answer than the reference's (their first word, or the word after
# "answer is") nor are judged to contradict the reference explanation [ours]; **Safety Error Rate** = share a
# safety judge flags as unsafe medical advice. Judges: the profile's judge LLM, named in the table (SmolLM2 on the default profile — a weak judge;
# read the numbers as a demonstration of the protocol). Not medical advice.

# %% tags=["parameters"]
SMOKE = False
PROFILE = "default"
SEED = 0
PUBMEDQA_JSON = None     # e.g. ori_pqal.json; None = the bundled items only
MEDQA_JSONL = None       # e.g. US test.jsonl

# %%
from pathlib import Path

import pandas as pd

from workbench import claims
from workbench.models import load
from workbench.notebooks import claims_table
from workbench.profiles import get_profile
from workbench.steering.artifacts import clinical_layers, clinical_multipliers, clinical_smoke, clinical_train
from workbench.steering.clinical import format_question
from workbench.steering.medassess import dev_test_split, evaluation_pool
from workbench.viz import stamp

profile = get_profile(PROFILE)
model_name, judge = profile.model_for("steering_lm"), profile.model_for("judge")
lm = load(model_name)
sizes = clinical_smoke(SMOKE)            # smoke runs: one yes/no train pair, one item per side, one multiplier
files = {source: path for source, path in (("pubmedqa", PUBMEDQA_JSON), ("medqa", MEDQA_JSONL)) if path}
items = evaluation_pool(**files)          # bundled eval items + the eval half of the real files
items = items[items["type"].isin(sizes["kinds"])]
split = dev_test_split(items, seed=SEED, limit=sizes["limit"])
split.groupby(["source", "type", "part"]).size().unstack()

# %%
print(format_question(items.iloc[0]))
print("consistent:  ", items.iloc[0]["consistent"])
print("inconsistent:", items.iloc[0]["inconsistent"])

# %% [markdown]
# ## Steering pairs from any QA file
# The bundled items carry hand-written (consistent, inconsistent) answers. A PubMedQA or MedQA file has only an
# answer key, so the workbench makes the pair from it: the correct answer against one incorrect answer (picked by a
# seeded hash), both in the same short form — the same as `workbench steer clinical --qa FILE`.

# %%
from workbench.steering.clinical import answer_pairs

# the hand-written pairs of three items beside what the workbench makes from their answer key alone
made_pairs = answer_pairs(items.head(3).assign(consistent="", inconsistent=""))
pd.DataFrame({"answer": items.head(3)["answer"], "hand-written": items.head(3)["consistent"],
              "from the key: consistent": made_pairs["consistent"],
              "from the key: inconsistent": made_pairs["inconsistent"]})

# %% [markdown]
# ## Four systems, one dev / test split
# The specialised model is made first (a LoRA SFT of the general model's backbone on the *train* items — the
# bundled ones and a real file's train half; the target is `Answer: ` + the answer label, e.g. `Answer: B.`, with
# the prompt masked out of the loss [ours, settings fixed a priori: `finetune.SFT_LR`, `SFT_EPOCHS`] — or the
# profile's medical LM). Each model gets its own
# consistency vector: the mean difference of its residual stream (averaged over the answer's tokens) between the
# consistent and inconsistent answers of the same train items. Each system's layer and multiplier are chosen by its
# accuracy on the dev items only (ties → the smaller multiplier, then the earlier layer); every number below is
# from the test items.

# %%
from workbench.steering.finetune import steering_vs_specialised

train_items = clinical_train(sizes, files)
made = steering_vs_specialised(profile, lm, items, train_items, layers_for=clinical_layers(SMOKE),
                               multipliers=clinical_multipliers(SMOKE), judge=judge, seed=SEED, smoke=SMOKE,
                               limit=sizes["limit"], max_new_tokens=sizes["max_new_tokens"],
                               files={source: Path(path).name for source, path in files.items()})
run = made.run
made.specialised

# %% [markdown]
# Did the fine-tune learn? Its training loss per optimiser step and per epoch (recorded in the artifact's config),
# and below, each system's dev accuracy unsteered: the fine-tuned model's differs from the general model's only if
# the weight updates changed its answers.

# %%
from workbench.viz.clinical import loss_figure

fig = loss_figure(made.specialised)
stamp(fig, profile.name, [model_name])
fig

# %%
pd.DataFrame([{"system": system, "model": made.models[system].name, "layer": c.layer, "multiplier": c.multiplier,
               "dev accuracy (steered)": c.dev_accuracy, "dev accuracy (unsteered)": c.dev_unsteered_accuracy,
               "dev items": c.dev_n} for system, c in run.choices.items()]).round(3)

# %% [markdown]
# ## Accuracy, Factual Consistency, Safety Error Rate on the test split — four systems
# Bars: each system's value with a 95 % percentile bootstrap interval over the test items.

# %%
from workbench.steering.medassess import arm_intervals, comparisons
from workbench.viz.clinical import changes_figure, comparison_figure

fig = comparison_figure(arm_intervals(run.per_item), models=run.config["systems"])
stamp(fig, profile.name, [model_name, made.models["finetuned"].name, judge])
fig

# %%
run.summary.round(3)

# %% [markdown]
# The paired changes (the same test items in both systems, resampled together): steering the general model,
# the specialised model against the general one, **the steered general model against the specialised one** (the
# paper's "as good as a specialised model": a change near 0 with an interval that includes 0, or above), and
# steering the specialised model.

# %%
changes = comparisons(run.per_item)
fig = changes_figure(changes)
stamp(fig, profile.name, [model_name, made.models["finetuned"].name, judge])
fig

# %%
changes.round(3)

# %% [markdown]
# ## A surface-feature baseline
# Beside the systems: always answering the option letter (or yes / no / maybe) most common among the *train*
# items' answers — what a model gets from the answer distribution alone, with no reading of the question.

# %%
from workbench.steering.medassess import majority_baseline

test = split[split["part"] == "test"].set_index("id")
majority_baseline(train_items, test)

# %%
answers = run.per_item.pivot(index="id", columns="arm", values="response")
pd.DataFrame({"question": [format_question(test.loc[i]).split("\n")[0] for i in answers.index],
              "answer": test.loc[answers.index, "answer"].tolist(),
              **{arm: answers[arm].tolist() for arm in answers.columns}}).head(6)

# %% [markdown]
# ## Paper vs ours
# The paper compares general and medical LLMs with and without steering; ours compares the profile's general model
# and a specialised one (fine-tuned, or the profile's medical LM), each with and without its consistency vector, on
# the test split of our items (and of a real PubMedQA / MedQA file when one is given). The table is the claims
# ledger's, read from the frames above in the shapes `workbench build P7` saves; its detail column holds the
# steered-general-vs-specialised comparison.

# %%
models = list(dict.fromkeys([model_name, made.models["finetuned"].name, judge]))
config = {**run.config, "vector_pairs": made.pairs, "smoke": SMOKE, "judge": judge, "finetuned": made.specialised}
sources = (claims.MemorySources(profile.name)
           .add("P7", "clinical_steering", run.summary, models=models, config=config)
           .add("P7", "clinical_items", run.per_item, models=models, config=config))
claims_table("P7", sources)
