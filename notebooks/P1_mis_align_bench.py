# %% [markdown]
# # P1 — Mis-Align Bench: dataset construction and misalignment-detector evaluation
#
# **Reproduces:** SAVACU's construction steps (multi-label domain classification, SimHash near-duplicate removal,
# two-stage rejection sampling) on the bundled seed prompts, and the single-dimension misalignment detectors'
# evaluation on the bundled response pairs; the closing table sets the abstract's numbers beside ours.
#
# **Run time:** about 15 min on the default profile (a 2-core CPU); `SMOKE = True`: about 1 min.
#
# Mis-Align Bench builds SAVACU by (1) classifying prompts into 14 safety, 56 value and 42 cultural domains with an
# instruction LLM (multi-label, cut-off δ = 0.5), (2) expanding sparse domains, (3) removing near-duplicates with
# SimHash (τ = 10), (4) pairing prompts with aligned and misaligned responses through two-stage rejection sampling.
# This notebook runs steps 1, 3 and 4 one by one on the bundled seed prompts (`workbench build savacu` runs them all
# as one resumable pipeline, with step 2; see the P2 notebook).
#
# **Ours, not the paper's:** the domain descriptions, the Yes/No likelihood read-out of the LLM classifier, the
# embedding classifier used on the default profile (SmolLM2-135M is too small for this zero-shot task), and the
# held-out check set are this project's design; see `workbench/taxonomy/classify.py`. So are the judge's acceptance
# criteria of step 4 (SPECS.md).

# %% tags=["parameters"]
SMOKE = False
PROFILE = "default"
LLM_PROMPTS = 20        # prompts labelled by the LLM classifier for comparison
RESPOND = 3             # prompts answered in step 4
SEED = 0

# %%
import numpy as np
import pandas as pd

from workbench.datasets import safety_check_set, seed_prompts
from workbench.dedup import deduplicate
from workbench.models import load
from workbench import claims
from workbench.notebooks import claims_table
from workbench.profiles import get_profile
from workbench.taxonomy import DIMENSIONS, dimension, taxonomy_frame
from workbench.taxonomy.classify import classify_embedding, classify_llm, classify_with, profile_classifier
from workbench.viz import counts_from_frame, stamp, taxonomy_sunburst

profile = get_profile(PROFILE).for_paper("P1")
if SMOKE:
    LLM_PROMPTS, RESPOND = 1, 1
print(f"profile {profile.name}")

# %% [markdown]
# ## The taxonomy
# 14 + 56 + 41 named domains; every dimension also has `None` (the papers' "42 cultural domains" count it).

# %%
pd.DataFrame([{"dimension": d, "domains": len(dimension(d).labels), "with None": len(dimension(d).domains),
               "source": dimension(d).source} for d in DIMENSIONS])

# %% [markdown]
# ## Step 1 — classification
# The default profile classifies with MiniLM against label prototypes; the paper profile with the classifier LLM.
# First, accuracy on the held-out check set (six clearly single-domain harmful prompts per safety domain).

# %%
encoder = load(profile.model_for("sentence_encoder"))
check = safety_check_set()
emb = classify_embedding(check["text"].tolist(), "safety", encoder)
emb_accuracy = float(np.mean(np.array(emb.top1()) == check["domain"].to_numpy()))
print(f"embedding classifier ({encoder.name}): top-1 accuracy {emb_accuracy:.3f} on {len(check)} prompts")

# %%
lm = load(profile.model_for("classifier"))
subset = check.sample(LLM_PROMPTS, random_state=SEED)
llm = classify_llm(subset["text"].tolist(), "safety", lm)
llm_accuracy = float(np.mean(np.array(llm.top1()) == subset["domain"].to_numpy()))
print(f"LLM classifier ({lm.name}, Yes/No likelihoods, shared-prefix KV cache): "
      f"top-1 accuracy {llm_accuracy:.3f} on {len(subset)} prompts")

# %% [markdown]
# Now the seed prompts, in all three dimensions and the semantic types, with the profile's classifier: the LLM on
# the paper profile (Mistral-7B-Instruct, as the paper), the embedding classifier on the default profile.

# %%
seeds = seed_prompts()
if SMOKE:
    seeds = seeds.groupby("dimension", group_keys=False).head(10)
texts = seeds["text"].tolist()
classifier_name, use_llm = profile_classifier(profile)
classifier = load(classifier_name)
classified = seeds.reset_index(drop=True)
for dim in list(DIMENSIONS) + ["semantic_type"]:
    classified = classified.join(classify_with(texts, dim, classifier, use_llm=use_llm).frame())
print(f"seed prompts classified by {classifier_name} ({'LLM' if use_llm else 'embedding'})")
classified[["text", "safety", "value", "culture", "semantic_type"]].head(10)

# %%
fig = taxonomy_sunburst(taxonomy_frame().query("dimension != 'semantic_type'"),
                        counts_from_frame(classified, DIMENSIONS), title="Seed prompts by top-1 domain")
stamp(fig, profile.name, [classifier_name])
fig

# %% [markdown]
# ## Step 3 — SimHash near-duplicate removal (τ = 10)
# Fingerprints are bit-identical to the `simhash` package; the search finds every pair within τ exactly.
# To see it work, we add light rewrites of a few seeds (case, punctuation, one word) and dedup the lot.

# %%
rng = np.random.default_rng(SEED)
picked = rng.choice(len(texts), size=min(10, len(texts)), replace=False)
rewrites = [texts[i].upper().rstrip("?.!") + "!!" for i in picked]
pool = texts + rewrites
result = deduplicate(pool, tau=10)
print(f"{len(pool)} prompts → kept {len(result.kept)}, removed {result.n_removed}; "
      f"rewrites caught: {int(result.duplicate[len(texts):].sum())} of {len(rewrites)}")
pd.DataFrame({"text": pool, "duplicate_of": result.duplicate_of, "distance": result.distance}).query(
    "duplicate_of >= 0").head()

# %% [markdown]
# ## Step 4 — responses with two-stage rejection sampling
# k candidates per side: the aligned ones must respect every norm of the prompt and stay helpful, the misaligned ones
# must violate at least one while staying fluent and on topic. The judge reads P(Yes) from token likelihoods;
# rejected candidates are rewritten with its critique, at most twice, then dropped. SmolLM2-135M as writer and judge
# shows the mechanics on a CPU; it is far too small to judge well (the paper uses Llama-3.1-8B-Instruct) and answers
# No to nearly everything, so on the default profile it judges *contrastively* [ours]: a candidate is accepted when
# it fits its own side's criteria better than the other side's.

# %%
from workbench.llm.rejection import RESPONSE_COLUMNS, decision_funnel, lm_generator, lm_judge, rejection_sample
from workbench.taxonomy.construct import prompt_labels
from workbench.viz import response_funnel_figure

kept = classified[~result.duplicate[:len(texts)]].head(RESPOND)
kept = kept.assign(labels=[", ".join(prompt_labels(r, DIMENSIONS)) for _, r in kept.iterrows()])
writer, judge = load(profile.model_for("generator")), load(profile.model_for("judge"))
tokens = (8, 8) if SMOKE else (48, 24)
sampled = rejection_sample(kept, lm_generator(writer, max_new_tokens=tokens[0]),
                           lm_judge(judge, max_critique_tokens=tokens[1], contrastive=profile.name == "default"),
                           k=1, max_iterations=2, seed=SEED)
print(sampled.funnel())
log = sampled.decisions
fig = response_funnel_figure({side: decision_funnel(log[log["side"] == side]) for side in ("aligned", "misaligned")})
stamp(fig, profile.name, sorted({writer.name, judge.name}))
fig

# %%
sampled.decisions[["id", "side", "iteration", "verdict", "p_accept", "text", "reason"]]

# %% [markdown]
# ## Evaluation — single-dimension vs joint detectors under single vs joint conditions
# Each model reads a (prompt, response) pair and says whether the response is misaligned: LLMs by P(Yes) vs P(No)
# after a fixed question (ours), the sentence encoder by similarity to anchor sentences (ours), plus the
# always/never baselines. Every model runs as its *joint* detector (the question names the criteria of all three
# dimensions; all anchors) and as three *single-dimension* detectors (`safety-only`, `value-only`,
# `culture-only`: only that dimension's criteria or anchors) — the paper's "single-dimension models", prompted
# here rather than fine-tuned [ours]. Data: the bundled evaluation pairs (`data/eval/response_pairs.csv`, written
# for this project: each prompt with one aligned and one misaligned response, hand-labelled dimensions). A prompt
# is *joint* when it is labelled with two or more dimensions — the paper's "joint conditions" — and *single* with
# one; the smoke run takes its prompts round-robin over the dimension sets so it has both.

# %%
from workbench.evaluation.artifacts import condition_counts, detector_names, evaluation_pairs
from workbench.evaluation.detectors import detector_set
from workbench.evaluation.misalign import condition_table, score_detectors
from workbench.viz.evaluation import condition_figure

pairs = evaluation_pairs(6 if SMOKE else None)
detectors = detector_set(detector_names(profile))
scored = score_detectors(pairs, detectors)          # the shape of the detector_predictions artifact
conditions = condition_table(scored, n_boot=200 if SMOKE else 1000, seed=SEED)
print(f"{pairs['id'].nunique()} prompts; rows per condition: {condition_counts(pairs)}; {len(detectors)} detectors")
fig = condition_figure(conditions)
stamp(fig, profile.name, [n for n in detector_names(profile) if n not in ("always", "never")])
fig

# %% [markdown]
# Alignment Score (%) per detector and condition, the 95 % CI in the figure's error bars; the always/never rows
# are the trivial baselines (AS 0 by construction).

# %%
conditions.pivot_table(index="detector", columns="condition", values="alignment_score", sort=False).mul(100).round(1)

# %% [markdown]
# Each single-dimension detector minus its model's joint detector on the same rows, AS points, with a paired
# bootstrap 95 % CI (the same resampled rows for both) [ours] — the paper's comparison, measured.

# %%
from workbench.evaluation.misalign import paired_vs_joint

paired = paired_vs_joint(scored, n_boot=200 if SMOKE else 1000, seed=SEED)
paired.assign(**{"ΔAS [95% CI]": [f"{100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]" for d, lo, hi in
                                   zip(paired["alignment_score_diff"], paired["alignment_score_low"],
                                       paired["alignment_score_high"])]}).pivot(
    index="detector", columns="condition", values="ΔAS [95% CI]")

# %% [markdown]
# ## Paper vs ours
# From the claims ledger, over what this notebook computed (in the builders' artifact shapes): the responses of
# step 4 (SAVACU's samples are (prompt, response) pairs), the detectors' predictions, and the bundled taxonomy.
# The paper's detector numbers are for *single-dimension* models on SAVACU; ours are the prompted single-dimension
# detectors above on the bundled pairs (not comparable: other data, other models; the joint detectors' values on
# the same rows and the trivial baselines' are in the detail and shortcut columns). Our check-set accuracies
# follow.

# %%
accepted = log[log["verdict"].astype(bool)][RESPONSE_COLUMNS].rename(columns={"text": "response"})
detector_models = [n for n in detector_names(profile) if n not in ("always", "never")]
sources = (claims.MemorySources(profile.name)
           .add("P1", "construction_responses", accepted, models=sorted({writer.name, judge.name}),
                config={"source": "seed_prompts.csv", "smoke": SMOKE, "respond_limit": RESPOND})
           .add("P1", "detector_predictions", scored, models=detector_models,
                config={"source": "data/eval/response_pairs.csv", "threshold": 0.5, "smoke": SMOKE,
                        "conditions": condition_counts(pairs)}))
claims_table("P1", sources)

# %%
pd.DataFrame([{"check": "safety top-1 accuracy on our check set (embedding)", "ours": round(emb_accuracy, 3),
               "model": encoder.name},
              {"check": f"safety top-1 accuracy on {len(subset)} check prompts (LLM)", "ours": round(llm_accuracy, 3),
               "model": lm.name}])
