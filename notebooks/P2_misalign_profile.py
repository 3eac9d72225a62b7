# %% [markdown]
# # P2 — MisAlign-Profile: dataset construction with semantic types
#
# MISALIGNTRADE is built like SAVACU (P1) — classify into 14 safety, 56 value and 41 cultural domains (+ None),
# expand sparse domains, remove SimHash near-duplicates — and every prompt also gets one of three semantic types:
# object, attribute or relation misalignment. Here the whole build runs as the workbench's resumable pipeline on
# the bundled seed prompts.
#
# **Ours, not the paper's:** the semantic-type definitions, the classifier read-outs and the embedding classifier
# of the default profile (see `workbench/taxonomy/classify.py`); the trade-off matrix belongs to the evaluation
# capability, not built yet.

# %% tags=["parameters"]
SMOKE = False
PROFILE = "default"
TARGET = 3          # expand every domain below this many prompts
SEED = 0

# %%
import tempfile

import pandas as pd

from workbench.papers import claims_frame
from workbench.paths import DATA_DIR
from workbench.profiles import get_profile
from workbench.taxonomy.artifacts import FUNNEL_STAGES, PAPER_FUNNEL
from workbench.taxonomy.construct import build_dataset
from workbench.viz import funnel_figure, stamp

profile = get_profile(PROFILE)
limit, target = (24, 0) if SMOKE else (None, TARGET)

# %% [markdown]
# ## Build MISALIGNTRADE from the seed prompts
# classify (sharded) → expand (global) → dedup (global); every stage output is saved, so an interrupted build resumes.

# %%
work = tempfile.mkdtemp()
funnel = build_dataset("misaligntrade", DATA_DIR / "prompts" / "seed_prompts.csv", work, profile=profile,
                       limit=limit, target=target, seed=SEED)
dataset = pd.read_parquet(f"{work}/dataset.parquet")
{k: funnel[k] for k in ("source_rows", "expanded", "removed_by_dedup", "kept")}

# %%
records = [{"stage": s, "ours": funnel[s], "paper": PAPER_FUNNEL[s]} for s in FUNNEL_STAGES]
fig = funnel_figure(records)
stamp(fig, profile.name, funnel["models"])
fig

# %% [markdown]
# ## Semantic types per dimension
# Which kind of misalignment each prompt invites, split by the dimension of its top-1 domain.

# %%
rows = []
for dim in ("safety", "value", "culture"):
    labelled = dataset[dataset[dim] != "None"]
    for semantic_type, n in labelled["semantic_type"].value_counts().items():
        rows.append({"dimension": dim, "semantic type": semantic_type, "prompts": int(n)})
breakdown = pd.DataFrame(rows)
breakdown.pivot_table(index="dimension", columns="semantic type", values="prompts", fill_value=0)

# %% [markdown]
# ## Paper vs ours

# %%
table = claims_frame("P2")
table["ours"] = ["not measured yet (evaluation capability)" if "trade-off" in m else "111 named + None per dimension"
                 for m in table["metric"]]
table["profile / models"] = f"{profile.name} / {', '.join(funnel['models'])}"
table[["paper", "metric", "claim", "ours", "profile / models"]]
