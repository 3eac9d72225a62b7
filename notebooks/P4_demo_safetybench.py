# %% [markdown]
# # P4 — Demo-SafetyBench: DICES reclassified into the safety domains, then LLMs as demographic raters
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

from workbench.datasets import dices_fixture, dices_items, load_dices
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
# ## Who rated, and how often they called a conversation unsafe

# %%
unsafe = ratings.assign(unsafe=ratings["Q_overall"] == "Yes")
pd.concat({attr: unsafe.groupby(attr)["unsafe"].agg(["mean", "size"]) for attr in
           ("rater_gender", "rater_age", "rater_education")}).rename(columns={"mean": "unsafe rate", "size": "ratings"})

# %% [markdown]
# ## Stage I: reclassify, expand, dedup

# %%
funnel = build_dataset("demo-safety", source, work / "out", profile=profile, target=0 if SMOKE else TARGET,
                       seed=SEED)
dataset = pd.read_parquet(work / "out" / "dataset.parquet")
dataset[["id", "text", "safety", "safety_score", "origin", "majority", "share_Yes"]].head(10)

# %%
{k: funnel[k] for k in ("source_rows", "expanded", "removed_by_dedup", "kept")}

# %% [markdown]
# ## Stage II: LLMs as safety raters, with and without personas

# %%
from workbench.evaluation.raters import evaluate_raters, profile_sweep, rate_dices
from workbench.viz import stamp
from workbench.viz.evaluation import fairness_figure, icc_figure, sweep_figure

raters = list(profile.roles["raters"])
rated = ratings if not SMOKE else ratings[ratings["item_id"].isin(sorted(ratings["item_id"].unique())[:6])]
model_ratings = rate_dices(rated, raters, personas=True)
evaluation = evaluate_raters(rated, model_ratings)
fig = icc_figure({m: e["icc"] for m, e in evaluation["models"].items() if "icc" in e})
stamp(fig, profile.name, raters)
fig

# %%
groups = {f"{m} personas": e["fairness"] for m, e in evaluation["models"].items() if "fairness" in e}
groups["human raters"] = evaluation["human"]
fig = fairness_figure(groups, "dpd")
stamp(fig, profile.name, raters)
fig

# %% [markdown]
# ## The δ × τ sweep
# The paper calls δ = 0.5 and τ = 10 "balanced thresholds". Here: the first rater's ICC(2,1) over the conversations a
# benchmark keeps at each classifier cut-off δ and SimHash threshold τ.

# %%
sweep, classifier = profile_sweep(rated, model_ratings, raters[0], profile)
fig = sweep_figure(sweep)
stamp(fig, profile.name, [raters[0], classifier])
fig

# %% [markdown]
# ## Paper vs ours

# %%
first = evaluation["models"][raters[0]]
ours = {"samples": f"{len(ratings):,} ratings of {ratings['item_id'].nunique()} conversations ({source_name})",
        "classifier cut-off delta": 0.5, "SimHash threshold tau": 10,
        "ICC (best rater)": round(max((e["icc"]["ICC2"]["icc"] for e in evaluation["models"].values() if "icc" in e),
                                      default=float("nan")), 3),
        "demographic sensitivity DS": round(first["fairness"]["ds"], 3) if first.get("fairness", {}).get("ds")
        is not None else "n/a"}
claims_table("P4", ours, profile=profile.name, models=funnel["models"] + raters)
