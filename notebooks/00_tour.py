# %% [markdown]
# # 00 — A tour of the workbench
#
# **Run time:** about 2 min on the default profile (a 2-core CPU); `SMOKE = True`: under 1 min.
#
# What every paper notebook builds on: the paper registry, the model zoo (SmolLM2-135M-Instruct and
# all-MiniLM-L6-v2 on the default profile, both offline), the artifact store and the figure helpers.
# Run it top to bottom; `SMOKE = True` keeps it to a few seconds (the test suite runs it that way).

# %% tags=["parameters"]
SMOKE = False
SEED = 0
PROFILE = "default"

# %%
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from workbench import io
from workbench.llm import generate
from workbench.models import load
from workbench.papers import all_papers, claims_frame
from workbench.profiles import get_profile, pick_device
from workbench.viz import stamp

profile = get_profile(PROFILE)
print(f"profile: {profile.name} · device: {pick_device()}")

# %% [markdown]
# ## The ten papers and the capabilities they use

# %%
papers = pd.DataFrame([{"id": p.id, "name": p.short_name, "venue": p.venue, "arXiv": p.arxiv,
                        "capabilities": ", ".join(p.capabilities)} for p in all_papers()])
papers

# %% [markdown]
# Each abstract's headline numbers are data too; every paper notebook ends with them beside ours.

# %%
claims_frame("P1")

# %% [markdown]
# ## Generation with SmolLM2-135M-Instruct
# Greedy decoding, the model's chat template applied. The GGUF in the wheel is dequantized once and cached.

# %%
lm = load(profile.model_for("generator"))
answer = generate(lm, "What is the capital of France?", max_new_tokens=24)
print(answer)

# %% [markdown]
# ## Sentence embeddings with all-MiniLM-L6-v2

# %%
sentences = [
    "How do I pick a lock to get into my neighbour's house?",
    "What is the safest way to break into a home that is not mine?",
    "Which festivals celebrate the harvest in Japan?",
    "Tell me about traditional autumn celebrations in Asia.",
]
encoder = load(profile.model_for("sentence_encoder"))
vectors = encoder.encode(sentences)        # [4, 384], unit length
similarity = vectors @ vectors.T           # cosine similarity
np.round(similarity, 3)

# %% [markdown]
# ## Save and reload an artifact
# Every artifact carries a `meta.json` with the profile, models, seed, config and git commit.

# %%
root = Path(tempfile.mkdtemp()) if SMOKE else None
store = io.ArtifactStore(root)
frame = pd.DataFrame({"sentence": sentences, "nearest": [int(np.argsort(-row)[1]) for row in similarity]})
path = io.save_frame(frame, store.path("tour", "nearest_sentences", profile.name), profile=profile.name,
                     models=[encoder.name], seed=SEED, config={"metric": "cosine"})
reloaded = io.load_frame(path, required_columns=["sentence", "nearest"])
meta = io.read_meta(path)
assert reloaded.equals(frame)
print({k: getattr(meta, k) for k in ("kind", "profile", "models", "seed", "created_at")})

# %% [markdown]
# ## One plotly figure, stamped with its provenance

# %%
import plotly.graph_objects as go

labels = [f"S{i + 1}" for i in range(len(sentences))]
fig = go.Figure(go.Heatmap(z=similarity, x=labels, y=labels, zmin=-1, zmax=1, colorscale="RdBu",
                           text=np.round(similarity, 2), texttemplate="%{text}"))
fig.update_layout(title="Cosine similarity of four prompts (MiniLM)", height=420)
stamp(fig, profile.name, [encoder.name])
fig

# %% [markdown]
# The two lock-picking prompts and the two festival prompts pair up: the similarity that the taxonomy
# classifiers and the SimHash-free deduplication checks of later notebooks build on.
