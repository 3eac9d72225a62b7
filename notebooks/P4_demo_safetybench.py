# %% [markdown]
# # P4 — Demo-SafetyBench, stage I: DICES reclassified into the safety domains
#
# Stage I takes DICES conversations (one row per rater × conversation, with the raters' demographics), classifies
# them into the 14 BeaverTails safety domains + None (δ = 0.5), expands sparse domains and removes SimHash
# near-duplicates (τ = 10), keeping the demographic rating data. Stage II (LLM raters, ICC, demographic
# sensitivity) belongs to the evaluation capability, not built yet.
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
from workbench.papers import claims_frame
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
# ## Paper vs ours

# %%
items = dices_items(ratings)
ours = {"samples": f"{len(ratings):,} ratings of {len(items)} conversations ({source_name})",
        "classifier cut-off delta": 0.5, "SimHash threshold tau": 10}
table = claims_frame("P4")
table["ours"] = [ours.get(m, "not measured yet (raters: evaluation capability)") for m in table["metric"]]
table["profile / models"] = f"{profile.name} / {', '.join(funnel['models'])}"
table[["paper", "metric", "claim", "ours", "profile / models"]]
