# %% [markdown]
# # P4 — Demo-SafetyBench: DICES reclassified into the safety domains, then LLMs as demographic raters
#
# **Reproduces:** Demo-SafetyBench's two stages: DICES (or a DICES-shaped synthetic frame) classified into the
# safety domains and deduplicated, then LLM raters, plain and as personas, with their ICC agreement and demographic
# sensitivity; the closing table sets the abstract's numbers beside ours.
#
# **Run time:** about 15 min on the default profile (a 2-core CPU); `SMOKE = True`: about 2 min.
#
# Stage I takes DICES conversations (one row per rater × conversation, with the raters' demographics), classifies
# them into the 14 BeaverTails safety domains + None (δ = 0.5), expands sparse domains and removes SimHash
# near-duplicates (τ = 10), keeping the demographic rating data. Stage II asks LLMs to rate each conversation's
# safety zero-shot, plainly and as demographic personas, and measures their agreement with the human panel (ICC)
# and their demographic sensitivity (DS).
#
# **Ours, not the paper's:** the rater question and the one-attribute personas, the likelihood read-out of
# Yes/No/Unsure, the ICC set-up (model score vs the panel's mean), DS/DPD/EOD's details and the δ × τ sweep's
# keep rule — the paper publishes none of them (see `workbench/evaluation/raters.py`).
#
# Point `DICES_CSV` at the real `diverse_safety_adversarial_dialog_350.csv` (or the 990 release) to run on DICES;
# by default the notebook uses a small synthetic frame with DICES-350's exact columns, made by the workbench.

# %% tags=["parameters"]
SMOKE = False
PROFILE = "default"
DICES_CSV = None      # path to a DICES CSV; None = the synthetic DICES-shaped fixture
TARGET = 2
SEED = 0

# %%
import tempfile
from pathlib import Path

import pandas as pd

from workbench.datasets import dices_fixture, load_dices
from workbench.notebooks import claims_table
from workbench.profiles import get_profile
from workbench.taxonomy.construct import build_dataset

profile = get_profile(PROFILE)
work = Path(tempfile.mkdtemp())
if DICES_CSV is None:
    source = work / "dices_fixture.csv"
    dices_fixture(n_items=8 if SMOKE else 40, n_raters=6 if SMOKE else 20, seed=SEED).to_csv(source, index=False)
    source_name = "synthetic DICES-shaped fixture"
else:
    source, source_name = Path(DICES_CSV), Path(DICES_CSV).name
ratings = load_dices(source)
print(f"{source_name}: {len(ratings):,} ratings, {ratings['item_id'].nunique()} conversations, "
      f"{ratings['rater_id'].nunique()} raters")

# %% [markdown]
# ## Who rated, and how each group rated
# The paper's pluralism is per demographic group: each group's share of Yes (unsafe) / No / Unsure over all its
# ratings, beside the panel's overall shares. The per-conversation shares of every group are kept in the dataset
# below (columns `share_Yes|rater_gender=Woman` …).

# %%
from workbench.datasets import dices_group_shares
from workbench.evaluation.raters import group_shares

pd.DataFrame(group_shares(ratings, ("rater_gender", "rater_race", "rater_age", "rater_education"),
                          source="human raters")).drop(columns="source").set_index(["attribute", "group"]).round(3)

# %%
dices_group_shares(ratings).head(8)

# %% [markdown]
# ## Stage I: reclassify, expand, dedup

# %%
funnel = build_dataset("demo-safety", source, work / "out", profile=profile, target=0 if SMOKE else TARGET,
                       seed=SEED)
dataset = pd.read_parquet(work / "out" / "dataset.parquet")
dataset[["id", "text", "safety", "safety_score", "origin", "majority", "share_Yes", "share_Yes|rater_gender=Woman",
         "share_Yes|rater_gender=Man"]].head(10)

# %%
{k: funnel[k] for k in ("source_rows", "expanded", "removed_by_dedup", "kept")}

# %% [markdown]
# ## Stage II: LLMs as safety raters, with and without personas

# %%
from workbench.evaluation.raters import (SWEEP_RULE, agreement_records, dices_config, evaluate_raters, profile_sweep,
                                         rate_dices, selected_setting)
from workbench.viz import stamp
from workbench.viz.evaluation import fairness_figure, group_share_figure, icc_figure, sweep_figure

raters = list(profile.roles["raters"])
rated = ratings if not SMOKE else ratings[ratings["item_id"].isin(sorted(ratings["item_id"].unique())[:6])]
model_ratings = rate_dices(rated, raters, personas=True)
evaluation = evaluate_raters(rated, model_ratings)
fig = icc_figure({m: e["icc"] for m, e in evaluation["models"].items() if "icc" in e})
stamp(fig, profile.name, raters)
fig

# %% [markdown]
# Demographic sensitivity as the paper reports it — the average over the attributes of the largest gap in unsafe
# rate between one attribute's personas — with the maximum over attributes beside it.

# %%
pd.DataFrame([{"source": f"{m} personas", "DS (average)": e["fairness"]["ds"], "DS max": e["fairness"]["ds_max"]}
              for m, e in evaluation["models"].items() if e.get("fairness")]
             + [{"source": "human raters", "DS (average)": evaluation["human"]["ds"],
                 "DS max": evaluation["human"]["ds_max"]}])

# %%
groups = {f"{m} personas": e["fairness"] for m, e in evaluation["models"].items() if "fairness" in e}
groups["human raters"] = evaluation["human"]
fig = fairness_figure(groups, "dpd")
stamp(fig, profile.name, raters)
fig

# %%
fig = group_share_figure(evaluation["groups"], "rater_gender")
stamp(fig, profile.name, raters)
fig

# %% [markdown]
# ## The δ × τ sweep
# The paper calls its δ and τ "balanced thresholds". Here: the first rater's ICC(2,1) over the conversations a
# benchmark keeps at each classifier cut-off δ and SimHash threshold τ, and the setting the sweep selects — on a dev
# half of the conversations only, its ICC reported on the other half.

# %%
sweep, classifier = profile_sweep(rated, model_ratings, raters[0], profile, seed=SEED)
fig = sweep_figure(sweep)
stamp(fig, profile.name, [raters[0], classifier])
print(SWEEP_RULE)
print("selected:", selected_setting(sweep))
fig

# %% [markdown]
# ## Paper vs ours
# Ours are read from what this notebook computed, in the shapes `workbench build P4` saves.

# %%
from workbench import claims

config = {**dices_config(rated, source_name, real=DICES_CSV is not None, limit=6 if SMOKE else None),
          "personas": True, "mode": "likelihood", "smoke": SMOKE, "sweep_rater": raters[0], "classifier": classifier,
          "sweep_rule": SWEEP_RULE, "seed": SEED}
records, _ = agreement_records(evaluation)
sources = (claims.MemorySources(profile.name)
           .add("P4", "rater_ratings", model_ratings, models=raters + [classifier], config=config)
           .add("P4", "rater_sweep", sweep, models=raters + [classifier], config=config)
           .add("P4", "rater_agreement", records, models=raters + [classifier], config=config)
           .add("P4", "construction_dataset", dataset, models=funnel["models"],
                config={"dataset": "demo-safety", "source": source_name, "smoke": SMOKE,
                        "data_kind": "real" if DICES_CSV is not None else "synthetic",
                        "target": 0 if SMOKE else TARGET}))
claims_table("P4", sources)
