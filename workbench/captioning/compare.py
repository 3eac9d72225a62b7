"""Scorer comparison for zero-shot captioning (P9, issue 21): how caption quality follows the audio–text model.

The paper's main finding is that caption quality depends heavily on the audio–text model that ranks the keywords
and guides MAGIC. This module runs the same captioning pipeline with several scorers and sets each scorer's
retrieval quality beside the quality of the captions it guides.

* ``scorer_names(profile)`` — the scorers a profile compares. Default profile: ``tiny-clap`` (the default guide)
  and ``tiny-clap-small`` (``clap.small_scorer``: the same model trained on ``SMALL_PER_CLASS`` clips per class, so
  the two differ in training size alone). Paper profile: the profile's audio–text model (LAION-CLAP), every
  other CLAP-family model (``model_type: clap``) found in the local Hugging Face cache (``cached_clap_models``)
  and ``tiny-clap`` as a locally trained reference.
* ``load_named_scorer(name, ...)`` — one of them by name (``workbench caption run --scorer NAME``).
* ``retrieval_recall(scorer, clips)`` — R@k on held-out clips, audio → text and text → audio, with 95 % percentile
  bootstrap intervals over queries (``scipy.stats.bootstrap``).
* ``retrieval_baselines(train, clips)`` — the same R@k for a surface-feature baseline [ours] (clip length,
  loudness, silence share, spectral centroid: ``captioning.shortcut``'s features; nearest train clips → their label
  sets) and for chance (exact expectation of a random ranking), so a reader can see whether a shortcut retrieves
  as well as the scorers. ``retrieval_table(comparison)`` gives a reader every row, and says "not in this build"
  for an artifact made before the baselines.
* ``compare_scorers(...)`` — per scorer: retrieval, keyword hit rate and the MAGIC keyword-count ablation, every
  caption judged by the same independent judge (``clap.judge_scorer``), plus the per-scorer change in judge score
  against the first scorer with a paired interval over clips.

**Relevance for R@k [ours].** The synthetic corpus has several clips per sound class whose references are
paraphrases of one another, so "the clip's own caption" cannot be told apart from a same-class clip's caption by
any model. A retrieved caption (or clip) counts as relevant when its clip has the query's label set. On a real set
with one clip per description this reduces to the usual definition.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from workbench import WorkbenchError

DEFAULT_SCORERS = ("tiny-clap", "tiny-clap-small")
SMALL_PER_CLASS = 2          # [ours] train clips per class of the weaker default scorer (the default guide sees all)
KS = (1, 5, 10)
DELTA = "Δ judge ×100 vs first scorer"   # paired change of the judge score against the first scorer
BASELINE = "surface features (baseline)"  # retrieval from clip length, loudness and spectral statistics alone
CHANCE = "chance"                         # the expected R@k of a random ranking
NEIGHBOURS = 5               # [ours] train clips the surface baseline reads the label sets of (fixed, never tuned)


# ------------------------------------------------------------------------------------------------ the scorers


def cached_clap_models() -> dict[str, Path]:
    """{repo id: snapshot folder} of every model in the local Hugging Face cache whose config says
    ``model_type: clap`` (read from the files; nothing is downloaded or imported)."""
    from workbench.models.sources import hf_cache_dir

    found: dict[str, Path] = {}
    for config in sorted(hf_cache_dir().glob("models--*/snapshots/*/config.json")):
        try:
            kind = json.loads(config.read_text(encoding="utf-8")).get("model_type")
        except (OSError, ValueError):
            continue
        if kind == "clap":
            repo = config.parent.parent.parent.name.removeprefix("models--").replace("--", "/")
            found.setdefault(repo, config.parent)
    return found


def scorer_names(profile=None) -> list[str]:
    """The scorers ``profile`` compares (see the module docstring)."""
    from workbench.models.registry import get_spec
    from workbench.profiles import get_profile

    prof = get_profile(profile)
    if prof.name != "paper":
        return list(DEFAULT_SCORERS)
    names = list(prof.roles.get("audio_text", ()))
    known = {get_spec(n).source.removeprefix("hf:") for n in names}
    # the default guide as a locally trained reference, so the comparison has two scorers with one CLAP cached
    return names + [f"hf:{repo}" for repo in cached_clap_models() if repo not in known] + ["tiny-clap"]


def load_named_scorer(name: str, *, profile=None, corpus=None, config=None, progress=None):
    """The scorer called ``name``. Default profile: ``tiny-clap`` or ``tiny-clap-small`` (trained once, cached);
    paper profile: a zoo model name or ``hf:REPO`` for a CLAP-family model in the local cache. An unknown name is
    an error listing the profile's scorers."""
    from workbench.captioning.clap import HFClapScorer, default_scorer, small_scorer
    from workbench.profiles import get_profile

    prof = get_profile(profile)
    choices = scorer_names(prof.name)
    if name not in choices:
        raise WorkbenchError(f"unknown audio-text scorer '{name}' for the {prof.name} profile; choose from "
                             f"{', '.join(choices)}")
    if name == "tiny-clap":
        return default_scorer(corpus=corpus, config=config, progress=progress)
    if name == "tiny-clap-small":
        return small_scorer(SMALL_PER_CLASS, corpus=corpus, config=config, progress=progress)
    if name.startswith("hf:"):
        import torch
        from transformers import ClapModel, ClapProcessor

        folder = cached_clap_models()[name.removeprefix("hf:")]
        device = "cuda" if torch.cuda.is_available() else "cpu"
        model = ClapModel.from_pretrained(folder, local_files_only=True).to(device)
        return HFClapScorer(model, ClapProcessor.from_pretrained(folder, local_files_only=True), name, device)
    from workbench.models import load

    hf = load(name)
    return HFClapScorer(hf.model, hf.processor, name, device=hf.device)


# ------------------------------------------------------------------------------------------------ retrieval


def _mean_ci(hits: np.ndarray, seed: int) -> list[float]:
    from workbench.metrics.bootstrap import bootstrap_ci

    if len(hits) < 2 or hits.min() == hits.max():
        return [float(hits.mean())] * 2
    return list(bootstrap_ci(lambda h: h.mean(-1), hits, n_resamples=2000, seed=seed, vectorized=True))


def recall_at_k(similarity: np.ndarray, relevant: np.ndarray, ks=KS) -> dict[int, np.ndarray]:
    """{k: [queries] 0/1}: whether any of the ``k`` gallery items ranked first for a query is relevant.
    ``similarity`` and ``relevant`` are [queries, gallery]; ties keep gallery order (stable sort)."""
    similarity, relevant = np.asarray(similarity, float), np.asarray(relevant, bool)
    if similarity.shape != relevant.shape or similarity.ndim != 2:
        raise WorkbenchError(f"similarity {similarity.shape} and relevance {relevant.shape} must be the same 2-D shape")
    order = np.argsort(-similarity, axis=1, kind="stable")
    ranked = np.take_along_axis(relevant, order, axis=1)           # [queries, gallery] relevance in rank order
    return {int(k): ranked[:, :k].any(axis=1).astype(float) for k in ks}


def _label_sets(clips) -> tuple[list[int], np.ndarray]:
    """(owning clip per caption, relevance [clips, captions]) under the module's rule."""
    groups = [tuple(sorted(ls)) for ls in clips["labels"]]
    owner = [i for i, cs in enumerate(clips["captions"]) for _ in cs]
    if not owner:
        raise WorkbenchError("retrieval needs reference captions")
    relevant = np.array([[g == groups[o] for o in owner] for g in groups])       # [clips, captions]
    return owner, relevant


def _recall_table(audio_to_text: np.ndarray, text_to_audio: np.ndarray, relevant: np.ndarray, ks,
                  seed: int) -> dict:
    """R@k with its bootstrap interval in both directions from the two similarity matrices."""
    out = {"queries": {"audio": relevant.shape[0], "text": relevant.shape[1]}, "relevance": "same label set"}
    for direction, sim, rel in (("audio_to_text", audio_to_text, relevant), ("text_to_audio", text_to_audio,
                                                                               relevant.T)):
        out[direction] = {}
        for k, h in recall_at_k(sim, rel, ks).items():
            out[direction][f"R@{k}"] = float(h.mean())
            out[direction][f"R@{k}_ci"] = _mean_ci(h, seed)
    return out


def retrieval_recall(scorer, clips, ks=KS, *, seed: int = 0) -> dict:
    """R@k of ``scorer`` on ``clips`` (``path``, ``labels``, ``captions``) in both directions, relevance by
    label set (module docstring): {"audio_to_text": {"R@1": x, "R@1_ci": [lo, hi], …}, "text_to_audio": {…},
    "queries": {"audio": n, "text": m}}."""
    from workbench.media.audio import load_audio

    clips = clips.reset_index(drop=True)
    if len(clips) < 2:
        raise WorkbenchError("retrieval needs at least two clips")
    owner, relevant = _label_sets(clips)
    audio = scorer.embed_audio([load_audio(p) for p in clips["path"]])            # [clips, d]
    text = scorer.embed_text([c for cs in clips["captions"] for c in cs])         # [captions, d]
    return _recall_table(audio @ text.T, text @ audio.T, relevant, ks, seed)


# ------------------------------------------------------------------------------------------------ baselines


def chance_recall(relevant: np.ndarray, ks=KS) -> dict[int, np.ndarray]:
    """{k: [queries] expected R@k of a uniformly random ranking}, exactly: with n gallery items of which r are
    relevant, P(none of the first k is relevant) = C(n − r, k) / C(n, k), so R@k = 1 − C(n − r, k) / C(n, k)."""
    from math import comb

    relevant = np.asarray(relevant, bool)
    n = relevant.shape[1]
    return {int(k): np.array([1.0 - comb(n - int(r), min(k, n)) / comb(n, min(k, n)) for r in relevant.sum(1)])
            for k in ks}


def surface_similarity(train, clips, *, features=None, neighbours: int = NEIGHBOURS) -> np.ndarray:
    """[clips, clips] score of clip i for clip j's label set, from surface features alone [ours]: the features of
    ``captioning.shortcut.surface_features`` (``STRUCTURE`` by default) z-scored with the ``train`` clips' mean and
    spread, the ``neighbours`` nearest train clips of i (Euclidean), and the mean Jaccard overlap of their label
    sets with clip j's. A feature constant over the train clips (up to rounding) is left out."""
    from workbench.captioning.shortcut import STRUCTURE, surface_features

    train, clips = train.reset_index(drop=True), clips.reset_index(drop=True)
    if not len(train):
        raise WorkbenchError("the surface-feature baseline needs train clips")
    cols = list(features or STRUCTURE)
    tx = surface_features(train["path"])[cols].to_numpy(float)                              # [train, features]
    cx = surface_features(clips["path"])[cols].to_numpy(float)                              # [clips, features]
    mu, sd = tx.mean(0), tx.std(0)
    sd = np.where(sd > 1e-6 * np.maximum(np.abs(mu), 1.0), sd, np.inf)   # constant up to rounding: carries nothing
    d = (((cx - mu) / sd)[:, None, :] - ((tx - mu) / sd)[None, :, :]) ** 2              # [clips, train, features]
    near = np.argsort(d.sum(-1), axis=1, kind="stable")[:, :neighbours]               # [clips, neighbours]
    train_sets = [set(ls) for ls in train["labels"]]
    clip_sets = [set(ls) for ls in clips["labels"]]
    jaccard = np.array([[len(a & b) / max(len(a | b), 1) for b in clip_sets] for a in train_sets])  # [train, clips]
    return jaccard[near].mean(1)                                                         # [clips, clips]


def retrieval_baselines(train, clips, ks=KS, *, neighbours: int = NEIGHBOURS, features=None,
                        seed: int = 0) -> list[dict]:
    """Two rows shaped like ``compare_scorers``' scorer rows (``scorer``, ``models``, ``audio_to_text R@k``,
    ``…_ci``, ``text_to_audio R@k``…) for the same held-out ``clips`` and relevance rule:

    * ``BASELINE`` [ours] — ``surface_similarity`` fitted on the ``train`` clips only. Audio → text: a query clip
      orders the candidate label sets by its score for them and deals out their captions one label set at a time
      (``_dealt``), so its k-th caption comes from its k-th best label set — it hedges as a scorer that embeds each
      caption can, rather than filling its first k places with one label set's paraphrases. Text → audio: a caption
      query ranks the clips by their score for its clip's label set. The text side reads the caption's label set
      from its clip — a perfect caption reader, generous to the baseline, so its misses are the surface features'.
      Exact ties are broken at random (seeded), so gallery order cannot help it. Intervals as for the scorers.
    * ``CHANCE`` — a uniformly random ranking, ``chance_recall`` averaged over the queries (exact, no interval)."""
    from workbench.captioning.shortcut import STRUCTURE

    features = list(features or STRUCTURE)
    clips = clips.reset_index(drop=True)
    if len(clips) < 2:
        raise WorkbenchError("retrieval needs at least two clips")
    owner, relevant = _label_sets(clips)
    score = surface_similarity(train, clips, features=features, neighbours=neighbours)          # [clips, clips]
    rng = np.random.default_rng(seed)
    surface = _recall_table(_dealt(score, clips, owner, rng), score.T[owner] + 1e-9 * rng.random(relevant.T.shape),
                            relevant, ks, seed)
    chance = {"audio_to_text": chance_recall(relevant, ks), "text_to_audio": chance_recall(relevant.T, ks)}
    return [{"scorer": BASELINE, "models": [], "features": features, "neighbours": neighbours,
             "train_clips": len(train), **_flat(surface)},
            {"scorer": CHANCE, "models": [], **{f"{d} R@{k}": float(h.mean()) for d, hits in chance.items()
                                                 for k, h in hits.items()},
             **{f"{d} R@{k}_ci": None for d in chance for k in ks}}]


def _dealt(score: np.ndarray, clips, owner: list[int], rng) -> np.ndarray:
    """[clips, captions] ranking keys (higher first) for audio → text [ours]: per query clip its label sets in the
    order of ``score`` ([clips, clips]: clip i's score for clip j's label set; ties at random), then the captions
    dealt out round by round, one from each label set in that order (within a set in a seeded random order)."""
    groups = [tuple(sorted(ls)) for ls in clips["labels"]]
    sets = list(dict.fromkeys(groups))                                   # the distinct label sets
    first = [groups.index(g) for g in sets]                              # a clip of each set
    of_caption = np.array([sets.index(groups[o]) for o in owner])        # [captions] label set
    by_set = score[:, first] + 1e-9 * rng.random((len(score), len(sets)))                   # [clips, sets]
    place = np.argsort(np.argsort(-by_set, axis=1, kind="stable"), axis=1)                  # [clips, sets] 0 = best
    turn = np.zeros(len(owner), int)                                     # [captions] the round it is dealt in
    for k in range(len(sets)):
        members = np.flatnonzero(of_caption == k)
        turn[rng.permutation(members)] = np.arange(len(members))
    return -(turn[None, :] * len(sets) + place[:, of_caption]).astype(float)


def _flat(retrieval: dict) -> dict:
    """{"audio_to_text R@1": …, "audio_to_text R@1_ci": …, …} from ``retrieval_recall``'s nested result."""
    return {f"{d} {r}": v for d in ("audio_to_text", "text_to_audio") for r, v in retrieval[d].items()}


def retrieval_table(comparison: dict) -> tuple[list[dict], str]:
    """The retrieval rows a reader shows — every scorer, then the surface-feature baseline and chance — and a note
    naming the baseline rows the comparison lacks (an artifact built before they existed): "" when it has both."""
    baselines = list(comparison.get("baselines") or [])
    missing = [name for name in (BASELINE, CHANCE) if name not in {r.get("scorer") for r in baselines}]
    note = (f"{' and '.join(missing)}: not in this build (`workbench build P9 --force --only caption_scorers` adds "
            f"them)" if missing else "")
    return list(comparison.get("scorers") or []) + baselines, note


# ------------------------------------------------------------------------------------------------ comparison


def compare_scorers(scorers: dict, lm, vocabulary: list[str], clips, *, judge, ablation=(0, 1, 2, 3, 5),
                    k: int = 45, max_new_tokens: int = 20, reuse: dict | None = None, retrieval_clips=None,
                    train_clips=None, seed: int = 0, progress=None) -> dict:
    """Caption ``clips`` with MAGIC guided by each scorer of ``scorers`` ({name: scorer}) at every keyword count
    of ``ablation``, every caption scored by ``judge``. ``reuse`` ({name: outputs frame of
    ``evaluation.evaluate`` with the same clips and settings}) skips decoding already done. Retrieval and the
    keyword hit rate are measured on ``retrieval_clips`` (default: ``clips``; embedding is cheap, so a build
    measures them on every held-out clip even where it captions only some). With ``train_clips`` (what the
    scorers trained on) the retrieval baselines are measured on the same clips (``retrieval_baselines``).

    Returns {"scorers": [per scorer: name, models, R@k both ways, keyword_top3_hit_rate, judge score per l],
    "ablation": [per scorer × l: NLG metrics, judge score with CI, change against the first scorer with a paired
    CI], "outputs": frame (scorer, id, l, caption, judge_score, references), "baselines": the surface-feature
    and chance rows in the scorers' row shape ([] without ``train_clips``)}."""
    import pandas as pd

    from workbench.captioning.artifacts import keyword_hit_rate
    from workbench.captioning.captioner import Captioner
    from workbench.captioning.evaluation import JUDGE_SCORE, evaluate
    from workbench.metrics.paired import paired_change

    if judge is None:
        raise WorkbenchError("the scorer comparison needs an independent judge: every scorer's captions are "
                             "scored by the same model")
    if not scorers:
        raise WorkbenchError("no scorers to compare")
    report = progress or (lambda f, m: None)
    ablation = sorted({int(x) for x in ablation})
    clips = clips.reset_index(drop=True)
    ranked = clips if retrieval_clips is None else retrieval_clips.reset_index(drop=True)
    rows, table, frames = [], [], []
    for s, (name, scorer) in enumerate(scorers.items()):
        def step(f, m, s=s, name=name):
            report((s + f) / len(scorers), f"{name}: {m}")

        step(0.0, "retrieval")
        retrieval = retrieval_recall(scorer, ranked, seed=seed)
        outputs = (reuse or {}).get(name)
        if outputs is None:
            result = evaluate(Captioner(scorer, lm, vocabulary), clips, l=ablation[-1], decoders=("magic",),
                              ablation=ablation, judge=judge, k=k, max_new_tokens=max_new_tokens,
                              progress=lambda f, m: step(0.05 + 0.95 * f, m))
            outputs = result["outputs"]
        outputs = outputs[(outputs["decoder"] == "magic") & outputs["l"].isin(ablation)]
        if "judge_score" not in outputs:
            raise WorkbenchError(f"{name}: the reused captions carry no judge score")
        outputs = outputs.assign(scorer=name, references=outputs["references"].map(list))     # parquet: arrays
        frames.append(outputs[["scorer", "id", "l", "caption", "judge_score", "references"]])
        rows.append({"scorer": name, "models": list(getattr(scorer, "models", [name])),
                     "keyword_top3_hit_rate": keyword_hit_rate(scorer, ranked, vocabulary),
                     **_flat(retrieval)})
    outputs = pd.concat(frames, ignore_index=True)
    baselines = [] if train_clips is None else retrieval_baselines(train_clips, ranked, seed=seed)
    first = next(iter(scorers))
    for name in scorers:
        for n_kw in ablation:
            sub = outputs[(outputs["scorer"] == name) & (outputs["l"] == n_kw)].sort_values("id")
            base = outputs[(outputs["scorer"] == first) & (outputs["l"] == n_kw)].sort_values("id")
            table.append({"scorer": name, "l": n_kw, **_caption_quality(sub),
                          f"{JUDGE_SCORE} CI": _mean_ci(sub["judge_score"].to_numpy(float), seed),
                          DELTA: _paired(base, sub, paired_change, seed)})
    return {"scorers": rows, "baselines": baselines, "ablation": table, "outputs": outputs, "first": first,
            "settings": {"ablation": ablation, "k": k, "max_new_tokens": max_new_tokens, "decoder": "magic",
                         "captioned_clips": len(clips), "retrieval_clips": len(ranked),
                         "judge": getattr(judge, "name", str(judge))}}


def _caption_quality(sub) -> dict:
    from workbench.captioning.evaluation import JUDGE_SCORE
    from workbench.captioning.metrics import evaluate_captions

    result = evaluate_captions(sub["caption"].tolist(), sub["references"].tolist())
    return {"NLG mean": result["nlg_mean"], JUDGE_SCORE: float(sub["judge_score"].mean()), "clips": len(sub)}


def _paired(base, other, paired_change, seed: int):
    """100 × the mean judge-score difference (other − base) over the same clips, with a paired 95 % interval."""
    if list(base["id"]) != list(other["id"]):
        raise WorkbenchError("the scorers' captions are not for the same clips")
    a, b = base["judge_score"].to_numpy(float), other["judge_score"].to_numpy(float)
    value, ci = paired_change(a, b, "points", seed=seed)
    return {"value": value, "ci": None if ci is None else list(ci)}


def strength_rows(comparison: dict, l: int, recall: str = "audio_to_text R@1") -> list[dict]:
    """One row per scorer for the figure: its retrieval ``recall`` (with CI) and its captions' judge score and
    NLG mean at keyword count ``l``."""
    from workbench.captioning.evaluation import JUDGE_SCORE

    quality = {r["scorer"]: r for r in comparison["ablation"] if r["l"] == l}
    if not quality:
        raise WorkbenchError(f"the comparison has no keyword count l = {l}; it has "
                             f"{sorted({r['l'] for r in comparison['ablation']})}")
    return [{"scorer": r["scorer"], "recall": r[recall], "recall_ci": r.get(recall + "_ci"),
             "judge": quality[r["scorer"]][JUDGE_SCORE], "judge_ci": quality[r["scorer"]][f"{JUDGE_SCORE} CI"],
             "nlg_mean": quality[r["scorer"]]["NLG mean"]} for r in comparison["scorers"]]


__all__ = ["BASELINE", "CHANCE", "DEFAULT_SCORERS", "DELTA", "KS", "NEIGHBOURS", "SMALL_PER_CLASS",
           "cached_clap_models", "chance_recall", "compare_scorers", "load_named_scorer", "recall_at_k",
           "retrieval_baselines", "retrieval_recall", "retrieval_table", "scorer_names", "strength_rows",
           "surface_similarity"]
