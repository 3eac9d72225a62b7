# %% [markdown]
# # P9 — Zero-shot audio captioning: CLAP keywords + MAGIC search
#
# An audio-text contrastive model embeds the clip; the keywords of a fixed sound-event vocabulary closest to it go
# into a prompt ("Objects: kw1, and a kw2. This is a sound of"); a language model continues it, and MAGIC search
# mixes the LM's probability with the audio-text similarity of each candidate continuation.
#
# **What the paper specifies** (SPECS.md): MAGIC exactly (top-k candidates; score = (1 − α)·p − α·max cos(h_v, h_j)
# + β·softmax_k(sim(audio, text))); the audio port's k 45, α 0, β 0.5, logit scale 10, an end-of-sentence penalty;
# the NLG mean score over BLEU-1..4, METEOR, ROUGE-L, CIDEr, SPICE, SPIDEr. **Ours**: no CLAP weights exist offline,
# so the default profile trains a small CLAP-style model here on a synthetic sound-event corpus (12 classes made with
# numpy DSP and espeak-ng, 4–5 captions each), with a text tower distilled from MiniLM so that MAGIC's per-step
# scoring stays cheap; METEOR without its WordNet stage; SPICE and SPIDEr not computed (they need Java and model
# downloads). The `paper` profile runs the same code with LAION-CLAP and Llama-3.1-8B-Instruct from the local cache.

# %% tags=["parameters"]
SMOKE = False
PROFILE = "default"
SEED = 0

# %%
import numpy as np
import pandas as pd

from workbench import claims
from workbench.captioning.artifacts import caption_eval_config, keyword_hit_rate
from workbench.captioning.captioner import Captioner
from workbench.captioning.clap import ClapConfig, default_scorer, scorer_for_profile
from workbench.captioning.evaluation import evaluate
from workbench.captioning.synth import SoundCorpusConfig, load_vocabulary, sound_corpus
from workbench.media.audio_encoders import CNNConfig
from workbench.models import load
from workbench.notebooks import claims_table
from workbench.profiles import get_profile
from workbench.viz import stamp

profile = get_profile(PROFILE)
corpus_config = SoundCorpusConfig(n_per_class=4, mixtures=4, seconds=2.0, seed=SEED) if SMOKE else \
    SoundCorpusConfig(seed=SEED)
clap_config = ClapConfig(audio=CNNConfig(channels=(8, 16, 32), dim=64, max_seconds=2.0), dim=64, epochs=15,
                         seed=SEED) if SMOKE else ClapConfig(seed=SEED)
corpus = sound_corpus(corpus_config)
vocabulary = load_vocabulary()
print(f"{len(corpus)} clips, vocabulary of {len(vocabulary)} keywords")
corpus.groupby(["class", "split"]).size().unstack(fill_value=0)

# %%
corpus.groupby("class").first()[["labels", "captions"]]

# %% [markdown]
# ## The audio-text model
# Trained once on the train split (cached); how well does it rank the vocabulary for clips it has never heard?
# The issue asks for a top-3 hit rate of at least 80 % (a clip's label among its three best keywords).

# %%
scorer = scorer_for_profile("paper") if PROFILE == "paper" else default_scorer(corpus=corpus_config,
                                                                              config=clap_config)
held = corpus[corpus["split"] == "eval"].reset_index(drop=True)
rate = keyword_hit_rate(scorer, held, vocabulary)
print(f"{scorer.name}: top-3 keyword hit rate on {len(held)} held-out clips = {rate:.1%} (chance ≈ "
      f"{3 * np.mean([len(x) for x in held['labels']]) / len(vocabulary):.1%})")

# %% [markdown]
# ## Captions from three decoders
# Greedy, contrastive search (β = 0) and MAGIC (audio port: k 45, α 0, β 0.5) from the same prompt.

# %%
lm = load(profile.model_for("caption_lm"))
captioner = Captioner(scorer, lm, vocabulary)
settings = dict(k=4 if SMOKE else 45, max_new_tokens=6 if SMOKE else 20)
clips = held.groupby("class", group_keys=False).head(1).head(2 if SMOKE else 12).reset_index(drop=True)
from workbench.media.audio import load_audio  # noqa: E402

shown = []
for _, clip in clips.head(1 if SMOKE else 6).iterrows():
    out = captioner.caption(load_audio(clip["path"]), l=2, **settings)
    shown.append({"class": clip["class"], "keywords": ", ".join(k["keyword"] for k in out["keywords"]),
                  **out["captions"], "reference": clip["captions"][0]})
pd.DataFrame(shown)

# %% [markdown]
# ## Evaluation and the keyword ablation
# Scores ×100. The NLG mean is taken over the metrics we could compute (listed); the audio–caption cosine asks
# whether MAGIC's audio term moves captions toward the audio.

# %%
result = evaluate(captioner, clips, l=2, ablation=(0,) if SMOKE else (0, 1, 2, 3, 5), **settings)
print("not computed:", result["not_computed"])
result["metrics"].round(2)

# %%
from workbench.viz.captions import ablation_figure  # noqa: E402

fig = ablation_figure(result["ablation"].to_dict("records"))
stamp(fig, profile.name, result["models"])
fig

# %% [markdown]
# ## Paper vs ours
# The paper's numbers are on AudioCaps with WavCaps/AudioSet keywords; ours are on the workbench's synthetic clips
# (named profile) — they show what each stage does, not the paper's benchmark numbers. The table is the claims
# ledger's (`workbench claims P9`), read from what this notebook computed, in the `caption_eval` artifact's shape;
# its CIs are paired bootstraps over clips. Beside it, two numbers the paper does not claim: whether MAGIC's audio
# term moves captions toward the audio, and how well the audio-text model ranks keywords.

# %%
metrics = result["metrics"].set_index("decoder")
pd.DataFrame([{"measure": "audio–caption cosine, greedy → MAGIC",
               "ours": f"{metrics.loc['greedy', 'audio–caption cosine']:+.3f} → "
                       f"{metrics.loc['magic', 'audio–caption cosine']:+.3f}"},
              {"measure": "keyword top-3 hit rate (held-out clips)", "ours": f"{rate:.1%}"}])

# %%
sources = claims.MemorySources(profile.name).add(
    "P9", "caption_eval", result["outputs"], models=result["models"],
    config=caption_eval_config(result, hit_rate=rate, clips=len(clips), corpus=corpus_config, clap=clap_config,
                               smoke=SMOKE))
claims_table("P9", sources)
