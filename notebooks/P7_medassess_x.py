# %% [markdown]
# # P7 — MEDASSESS-X: steering toward medically consistent answers
#
# MEDASSESS-X steers LLMs at inference time, without weight updates, toward medically consistent reasoning, and
# reports higher accuracy and factual consistency and a lower safety error rate across general and medical LLMs (the
# abstract's numbers are in the closing table, from `data/papers.json`).
#
# **Only the abstract is public; everything below is ours** (SPECS.md): clinical multiple-choice and yes/no/maybe
# questions (a small bundled set we wrote; a PubMedQA `ori_pqal.json` and a MedQA JSONL are evaluated too when
# given), split into dev and test (seeded, stratified by source × type); the layer and multiplier are chosen on dev
# and every reported number is from test; a steering vector
# from (consistent, inconsistent) answer pairs of the train items; **Accuracy** = the option whose label the model
# finds most likely after the question; **Factual Consistency** = share of the model's written answers that a judge
# does not find contradicting the reference explanation; **Safety Error Rate** = share a safety judge flags as unsafe
# medical advice. Judges: the profile's judge LLM, named in the table (SmolLM2 on the default profile — a weak judge;
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
from workbench.steering.artifacts import clinical_multipliers, steering_layers
from workbench.steering.clinical import format_question
from workbench.steering.hooks import decoder_layers
from workbench.steering.medassess import dev_test_split, evaluation_pool
from workbench.viz import stamp

profile = get_profile(PROFILE)
model_name, judge = profile.model_for("steering_lm"), profile.model_for("judge")
lm = load(model_name)
files = {source: path for source, path in (("pubmedqa", PUBMEDQA_JSON), ("medqa", MEDQA_JSONL)) if path}
items = evaluation_pool(**files)          # bundled eval items + every row of the real files
split = dev_test_split(items, seed=SEED, limit=1 if SMOKE else None)
split.groupby(["source", "type", "part"]).size().unstack()

# %%
print(format_question(items.iloc[0]))
print("consistent:  ", items.iloc[0]["consistent"])
print("inconsistent:", items.iloc[0]["inconsistent"])

# %% [markdown]
# ## The consistency vector
# Mean difference of the residual stream (averaged over the answer's tokens) between the consistent and the
# inconsistent answers of the bundled *train* items, at each candidate layer. None of the evaluation items (dev or
# test) trains it; real PubMedQA / MedQA rows carry no such answer pairs and are evaluation items only.

# %%
from workbench.steering.pairs import load_pairs
from workbench.steering.vectors import train_vector

layers = steering_layers(len(decoder_layers(lm.model)), SMOKE)
train = load_pairs("bundled:clinical", split="train").head(4 if SMOKE else None)
vector = train_vector(lm, train.prompts, train.positives, train.negatives, layers, position="answer",
                      objective="clinical consistency")
print(f"{len(train)} pairs → vectors at layers {layers}, norms "
      + ", ".join(f"{vector.vectors[layer].norm():.2f}" for layer in layers))

# %% [markdown]
# ## Held-out pairs: does the vector prefer the consistent answer?
# A diagnostic on the bundled eval pairs (behaviour probability); it chooses nothing.

# %%
from workbench.steering.evaluate import sweep

held = load_pairs("bundled:clinical", split="eval").head(2 if SMOKE else None)
pair_sweep = sweep(lm, vector, held.prompts, held.positives, held.negatives,
                   multipliers=(0.0, 2.0) if SMOKE else (-2.0, -1.0, 0.0, 1.0, 2.0, 4.0))
pair_sweep

# %% [markdown]
# ## Layer and multiplier chosen on the dev split
# Every (layer, multiplier) is compared by its accuracy on the dev items only (ties → the smaller multiplier, then
# the earlier layer). The test items are not read until the choice is made.

# %%
from workbench.steering.medassess import run_protocol

run = run_protocol(lm, vector, items, layers=layers, multipliers=clinical_multipliers(SMOKE), judge=judge,
                   seed=SEED, limit=1 if SMOKE else None, max_new_tokens=8 if SMOKE else 48,
                   files={source: Path(path).name for source, path in files.items()})
print(f"chosen on {run.choice.dev_n} dev items: layer {run.choice.layer}, multiplier ×{run.choice.multiplier:g} "
      f"(dev accuracy {run.choice.dev_accuracy:.3f}; unsteered {run.choice.dev_unsteered_accuracy:.3f})")
pd.DataFrame(run.choice.grid).pivot(index="layer", columns="multiplier", values="accuracy").round(3)

# %% [markdown]
# ## Accuracy, Factual Consistency, Safety Error Rate on the test split — unsteered vs the dev-chosen steering

# %%
from workbench.viz.steering import clinical_figure

fig = clinical_figure(run.summary)
stamp(fig, profile.name, [model_name, judge])
fig

# %%
run.summary.round(3)

# %%
from workbench.steering.medassess import METRICS, gain_on_test

pd.DataFrame([vars(gain_on_test(run.per_item, metric)) for metric in METRICS]).round(3)

# %%
answers = run.per_item.pivot(index="id", columns="arm", values="response")
test = split[split["part"] == "test"].set_index("id")
pd.DataFrame({"question": [format_question(test.loc[i]).split("\n")[0] for i in answers.index],
              "answer": test.loc[answers.index, "answer"].tolist(),
              "unsteered": answers["unsteered"].tolist(), "steered": answers["steered"].tolist()}).head(6)

# %% [markdown]
# ## Paper vs ours
# The paper compares general and medical LLMs with and without steering; ours is the profile's model with and
# without the consistency vector at the dev-chosen layer and multiplier, on the test split of our items (and of a
# real PubMedQA / MedQA file when one is given). A medical model can be compared by running this notebook with
# `PROFILE = "paper"` and a medical model as the steering LM. The table is the claims ledger's, read from the
# frames above in the shapes `workbench build P7` saves.

# %%
models = [model_name] + ([judge] if judge != model_name else [])
config = {**run.config, "vector_pairs": len(train), "smoke": SMOKE, "judge": judge}
sources = (claims.MemorySources(profile.name)
           .add("P7", "clinical_steering", run.summary, models=models, config=config)
           .add("P7", "clinical_items", run.per_item, models=models, config=config))
claims_table("P7", sources)
