# %% [markdown]
# # P9 — Zero-shot audio captioning: CLAP keywords + MAGIC search
#
# **Reproduces:** zero-shot audio captioning (keywords + MAGIC search) on a synthetic sound-event corpus and on real
# recordings, with the NLG metrics, MAGIC's gain over greedy and the keyword ablation; the closing table sets the
# abstract's numbers beside ours.
#
# **Run time:** about 10 min on the default profile (a 2-core CPU); `SMOKE = True`: about 1 min.
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
#
# **Evaluations a shortcut cannot pass** (issue 18): the eval clips' reference captions use phrasings held out from
# the ones the audio-text model trains on (their overlap is measured below); caption quality in audio–caption terms
# is scored by an independent judge (a second audio-text model with another seed, MiniLM as text tower, trained on
# the held-out phrasings) — the guide's own cosine is shown too, labelled self-scored; a surface-feature shortcut
# baseline stands beside the headline; and the captioner runs on real CC0 animal recordings and a real conversation.

# %% tags=["parameters"]
SMOKE = False
PROFILE = "default"
SEED = 0

# %%
import numpy as np
import pandas as pd

from workbench import claims
from workbench.captioning.artifacts import caption_eval_config, keyword_hit_rate, shortcut_checks
from workbench.captioning.captioner import Captioner
from workbench.captioning.clap import ClapConfig, default_scorer, judge_scorer, scorer_for_profile
from workbench.captioning.evaluation import GUIDE_COSINE, JUDGE_SCORE, evaluate
from workbench.captioning.real import real_line
from workbench.captioning.shortcut import phrasing_overlap, shortcut_line
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
corpus.groupby(["class", "split"]).first()[["labels", "captions"]].head(6)

# %% [markdown]
# ### Are the references phrased like the scorer's training captions?
# Share of the eval references' word (and n-gram) types that occur in the train clips' captions — what the
# audio-text model, and so MAGIC's audio term, learnt on. Class nouns are shared by design; sentences must not be.

# %%
pd.DataFrame([phrasing_overlap([c for cs in corpus.query("split == 'train'")["captions"] for c in cs],
                               [c for cs in corpus.query("split == 'eval'")["captions"] for c in cs])]).round(3)

# %% [markdown]
# ## The audio-text model
# Trained once on the train split (cached); how well does it rank the vocabulary for clips it has never heard?
# The issue asks for a top-3 hit rate of at least 80 % (a clip's label among its three best keywords).

# %%
scorer = scorer_for_profile("paper") if PROFILE == "paper" else default_scorer(corpus=corpus_config,
                                                                              config=clap_config)
judge = None if PROFILE == "paper" else judge_scorer(corpus=corpus_config, config=clap_config)
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
# Scores ×100. The NLG mean is taken over the metrics we could compute (listed). Two audio–caption numbers: the
# guide's own cosine (**self-scored**: MAGIC picks tokens with that model, so it shows the audio term at work, not
# quality) and the independent judge's cosine (a model that never guides decoding; none on the paper profile).

# %%
result = evaluate(captioner, clips, l=2, ablation=(0,) if SMOKE else (0, 1, 2, 3, 5), judge=judge, **settings)
print("not computed:", result["not_computed"])
result["metrics"].rename(columns={GUIDE_COSINE: GUIDE_COSINE + " (self-scored)"}).round(2)

# %% [markdown]
# ## The shortcut baseline and real recordings
# A trivial captioner on surface features (duration, file size, RMS level: 1-nearest train clip, its first caption),
# scored with the same metrics on the same clips, beside a random train caption (chance) and greedy/MAGIC; the same
# with sound-structure cues added (peak level, silence ratio, spectral centroid: reported, not bounded). Then the
# captioner on real recordings: is the right animal among the top-3 keywords or named in the caption, and does the
# conversation come out as speech?

# %%
checks = shortcut_checks(corpus, clips, captioner, settings=result["settings"], smoke=SMOKE)
metrics = result["metrics"].set_index("decoder")
surface, structure = checks["shortcut"]["surface"], checks["shortcut"]["structure"]
pd.DataFrame([{"captioner": "greedy", "NLG mean": metrics.loc["greedy", "NLG mean"]},
              {"captioner": "MAGIC", "NLG mean": metrics.loc["magic", "NLG mean"]},
              {"captioner": "shortcut: surface-feature 1-NN caption", "NLG mean": surface["nlg_mean"],
               "class accuracy": surface["class_accuracy"]},
              {"captioner": "+ structure cues: peak, silence ratio, centroid", "NLG mean": structure["nlg_mean"],
               "class accuracy": structure["class_accuracy"]},
              {"captioner": "chance: a random train caption", "NLG mean": surface["random_nlg_mean"],
               "class accuracy": surface["chance_accuracy"]}]).round(3)

# %%
print(shortcut_line(checks["shortcut"]))
print(real_line(checks["real"]))
pd.DataFrame(checks["real"].get("rows", []))

# %%
from workbench.viz.captions import ablation_figure  # noqa: E402

fig = ablation_figure(result["ablation"].to_dict("records"))
stamp(fig, profile.name, result["models"])
fig

# %% [markdown]
# ## Which audio–text model? The scorer comparison
# The abstract: "the performance is heavily influenced by the audio-text matching model". Every scorer of the
# profile (default: `tiny-clap`, the guide above, and `tiny-clap-small`, the same model trained on two clips per
# class; paper: LAION-CLAP and any other CLAP-family model in the local cache) guides MAGIC on the same clips at
# every keyword count, and the same independent judge scores all captions. Beside it, each scorer's retrieval
# quality on the held-out clips (R@k, a caption or clip is relevant when it has the query's label set — [ours], as
# same-class clips have paraphrased references). The Δ column is the paired change in judge cosine (×100) against
# the first scorer, with a 95 % interval over clips. `workbench caption run FILE --scorer NAME` captions with any.
# Two rows stand beside the scorers' R@k: a surface-feature baseline ([ours]: clip length, file size, loudness, peak,
# silence share and spectral centroid of the query clip, its five nearest train clips' label sets, a perfect caption
# reader on the text side) and chance (a random ranking's expected R@k, exact). What a scorer retrieves beyond the
# baseline is more than such cues; the strength figure marks both as vertical lines.

# %%
from workbench.captioning.compare import (compare_scorers, load_named_scorer, retrieval_table,  # noqa: E402
                                          scorer_names)
from workbench.viz.captions import scorer_strength_figure  # noqa: E402

scorers = {name: load_named_scorer(name, profile=profile.name, corpus=corpus_config, config=clap_config)
           for name in scorer_names(profile.name)}
comparison = compare_scorers(
    scorers, lm, vocabulary, clips, judge=judge or judge_scorer(corpus=corpus_config, config=clap_config),
    ablation=sorted(set(result["ablation"]["l"])), reuse={} if judge is None else {"tiny-clap": result["outputs"]},
    retrieval_clips=held, train_clips=corpus.query("split == 'train'"), seed=SEED, **settings)
retrieval, missing = retrieval_table(comparison)
print(missing or "surface features (baseline) and chance: the same R@k without an audio–text model")
pd.DataFrame(retrieval).drop(columns=["models", "features", "neighbours", "train_clips"], errors="ignore").round(3)

# %%
pd.DataFrame(comparison["ablation"]).round(3)

# %%
fig = scorer_strength_figure(comparison)
stamp(fig, profile.name, [m for row in comparison["scorers"] for m in row["models"]])
fig

# %% [markdown]
# ## Paper vs ours
# The paper's numbers are on AudioCaps with WavCaps/AudioSet keywords; ours are on the workbench's synthetic clips
# (named profile) — they show what each stage does, not the paper's benchmark numbers. The table is the claims
# ledger's (`workbench claims P9`), read from what this notebook computed, in the `caption_eval` artifact's shape;
# its CIs are paired bootstraps over clips, its shortcut column the surface-feature baseline. Beside it, numbers the
# paper does not claim: whether MAGIC's captions are closer to the audio for an independent judge (and for its own
# guide, self-scored), how well the audio-text model ranks keywords, the shortcut baseline and the real recordings.

# %%
judged = [{"measure": "audio–caption cosine, greedy → MAGIC (independent judge)",
           "ours": f"{metrics.loc['greedy', JUDGE_SCORE]:+.3f} → {metrics.loc['magic', JUDGE_SCORE]:+.3f}"}
          ] if JUDGE_SCORE in metrics else []
pd.DataFrame(judged + [{"measure": "audio–caption cosine, greedy → MAGIC (self-scored: MAGIC's own guide)",
                        "ours": f"{metrics.loc['greedy', GUIDE_COSINE]:+.3f} → "
                                f"{metrics.loc['magic', GUIDE_COSINE]:+.3f}"},
                       {"measure": "keyword top-3 hit rate (held-out clips)", "ours": f"{rate:.1%}"},
                       {"measure": "shortcut baseline (same clips, same metrics)", "ours": shortcut_line(
                           checks["shortcut"])},
                       {"measure": "real recordings", "ours": real_line(checks["real"])}])

# %%
sources = claims.MemorySources(profile.name).add(
    "P9", "caption_eval", result["outputs"], models=result["models"],
    config=caption_eval_config(result, hit_rate=rate, clips=len(clips), corpus=corpus_config, clap=clap_config,
                               smoke=SMOKE, checks=checks))
sources.add("P9", "caption_scorers", comparison["outputs"], models=list(scorers),
            config={k: comparison[k] for k in ("scorers", "baselines", "ablation", "first", "settings")})
claims_table("P9", sources)
