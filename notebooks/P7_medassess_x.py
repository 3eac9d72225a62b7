# %% [markdown]
# # P7 — MEDASSESS-X: steering toward medically consistent answers
#
# MEDASSESS-X steers LLMs at inference time, without weight updates, toward medically consistent reasoning, and
# reports up to +6 % accuracy, +7 % factual consistency and −50 % safety error rate across general and medical LLMs.
#
# **Only the abstract is public; everything below is ours** (SPECS.md): clinical multiple-choice and yes/no/maybe
# questions (a small bundled set we wrote; PubMedQA JSON and MedQA JSONL load from local files); a steering vector
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
import pandas as pd

from workbench.models import load
from workbench.notebooks import change, claims_table
from workbench.profiles import get_profile
from workbench.steering.artifacts import steering_layers
from workbench.steering.clinical import clinical_qa, format_question, load_medqa, load_pubmedqa
from workbench.steering.hooks import decoder_layers
from workbench.viz import stamp

profile = get_profile(PROFILE)
model_name, judge = profile.model_for("steering_lm"), profile.model_for("judge")
lm = load(model_name)
items = clinical_qa()
if PUBMEDQA_JSON:
    items = pd.concat([items, load_pubmedqa(PUBMEDQA_JSON)], ignore_index=True)
if MEDQA_JSONL:
    items = pd.concat([items, load_medqa(MEDQA_JSONL)], ignore_index=True)
items.groupby(["source", "type", "split"]).size().unstack()

# %%
print(format_question(items.iloc[0]))
print("consistent:  ", items.iloc[0]["consistent"])
print("inconsistent:", items.iloc[0]["inconsistent"])

# %% [markdown]
# ## The consistency vector
# Mean difference of the middle layer's residual stream (averaged over the answer's tokens) between the consistent
# and the inconsistent answers of the train items.

# %%
from workbench.steering.pairs import load_pairs
from workbench.steering.vectors import train_vector

layer = steering_layers(len(decoder_layers(lm.model)), True)[0]
train = load_pairs("bundled:clinical", split="train").head(8 if SMOKE else None)
vector = train_vector(lm, train.prompts, train.positives, train.negatives, [layer], position="answer",
                      objective="clinical consistency")
print(f"{len(train)} pairs → layer {layer} vector, norm {vector.vectors[layer].norm():.2f}")

# %% [markdown]
# ## Held-out pairs: does the vector prefer the consistent answer?

# %%
from workbench.steering.evaluate import sweep

held = load_pairs("bundled:clinical", split="eval").head(4 if SMOKE else None)
pair_sweep = sweep(lm, vector, held.prompts, held.positives, held.negatives,
                   multipliers=(-2.0, 0.0, 2.0) if SMOKE else (-2.0, -1.0, 0.0, 1.0, 2.0, 4.0))
pair_sweep

# %% [markdown]
# ## Accuracy, Factual Consistency, Safety Error Rate — unsteered vs steered

# %%
from workbench.steering.medical import evaluate
from workbench.viz.steering import clinical_figure

evaluation = items[(items["split"] == "eval") & (items["source"] == "bundled")]
if SMOKE:
    evaluation = pd.concat([evaluation[evaluation["type"] == "mcq"].head(2),
                            evaluation[evaluation["type"] == "yesno"].head(2)])
rows, frames = [], {}
for label, steering in [("unsteered", None)] + [(f"steered ×{m:g}", (vector, layer, m))
                                                for m in ((2.0,) if SMOKE else (1.0, 2.0, 4.0))]:
    metrics, frames[label] = evaluate(lm, evaluation, steering=steering, judge=judge,
                                      max_new_tokens=8 if SMOKE else 48)
    rows.append({"condition": label, **{k: metrics[k] for k in ("accuracy", "factual_consistency",
                                                                "safety_error_rate", "n")},
                 "judges": ", ".join(metrics["judges"].values())})
results = pd.DataFrame(rows)
fig = clinical_figure(results)
stamp(fig, profile.name, [model_name, judge])
fig

# %%
results.round(3)

# %%
best = results.iloc[1:].sort_values("accuracy", ascending=False).iloc[0]["condition"]
pd.DataFrame({"question": [format_question(evaluation.iloc[i]).split("\n")[0] for i in range(len(evaluation))],
              "answer": evaluation["answer"].tolist(),
              "unsteered": frames["unsteered"]["response"].tolist(),
              best: frames[best]["response"].tolist()}).head(6)

# %% [markdown]
# ## Paper vs ours
# The paper compares general and medical LLMs with and without steering; ours is the default profile's general model
# with and without the consistency vector (best multiplier by accuracy), on our bundled items. A medical model can be
# compared by running this notebook with `PROFILE = "paper"` and a medical model as the steering LM.

# %%
base = results.iloc[0]
top = results[results["condition"] == best].iloc[0]
ours = {"accuracy gain (max)": change(base["accuracy"], top["accuracy"]),
        "factual consistency gain (max)": change(base["factual_consistency"], top["factual_consistency"]),
        "safety error rate reduction (max)": change(base["safety_error_rate"], top["safety_error_rate"],
                                                    relative=True)}
claims_table("P7", ours, profile=profile.name, models=[model_name, best, f"judge {judge}"], smoke=SMOKE)
