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


def retrieval_recall(scorer, clips, ks=KS, *, seed: int = 0) -> dict:
    """R@k of ``scorer`` on ``clips`` (``path``, ``labels``, ``captions``) in both directions, relevance by
    label set (module docstring): {"audio_to_text": {"R@1": x, "R@1_ci": [lo, hi], …}, "text_to_audio": {…},
    "queries": {"audio": n, "text": m}}."""
    from workbench.media.audio import load_audio

    clips = clips.reset_index(drop=True)
    if len(clips) < 2:
        raise WorkbenchError("retrieval needs at least two clips")
    groups = [tuple(sorted(ls)) for ls in clips["labels"]]
    captions = [(i, c) for i, cs in enumerate(clips["captions"]) for c in cs]
    if not captions:
        raise WorkbenchError("retrieval needs reference captions")
    audio = scorer.embed_audio([load_audio(p) for p in clips["path"]])            # [clips, d]
    text = scorer.embed_text([c for _, c in captions])                            # [captions, d]
    owner = [groups[i] for i, _ in captions]
    relevant = np.array([[g == o for o in owner] for g in groups])                # [clips, captions]
    out = {"queries": {"audio": len(clips), "text": len(captions)}, "relevance": "same label set"}
    for direction, sim, rel in (("audio_to_text", audio @ text.T, relevant),
                                ("text_to_audio", text @ audio.T, relevant.T)):
        hits = recall_at_k(sim, rel, ks)
        out[direction] = {}
        for k, h in hits.items():
            out[direction][f"R@{k}"] = float(h.mean())
            out[direction][f"R@{k}_ci"] = _mean_ci(h, seed)
    return out


# ------------------------------------------------------------------------------------------------ comparison


def compare_scorers(scorers: dict, lm, vocabulary: list[str], clips, *, judge, ablation=(0, 1, 2, 3, 5),
                    k: int = 45, max_new_tokens: int = 20, reuse: dict | None = None, retrieval_clips=None,
                    seed: int = 0, progress=None) -> dict:
    """Caption ``clips`` with MAGIC guided by each scorer of ``scorers`` ({name: scorer}) at every keyword count
    of ``ablation``, every caption scored by ``judge``. ``reuse`` ({name: outputs frame of
    ``evaluation.evaluate`` with the same clips and settings}) skips decoding already done. Retrieval and the
    keyword hit rate are measured on ``retrieval_clips`` (default: ``clips``; embedding is cheap, so a build
    measures them on every held-out clip even where it captions only some).

    Returns {"scorers": [per scorer: name, models, R@k both ways, keyword_top3_hit_rate, judge score per l],
    "ablation": [per scorer × l: NLG metrics, judge score with CI, change against the first scorer with a paired
    CI], "outputs": frame (scorer, id, l, caption, judge_score, references)}."""
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
                     **{f"{d} {r}": v for d in ("audio_to_text", "text_to_audio")
                        for r, v in retrieval[d].items()}})
    outputs = pd.concat(frames, ignore_index=True)
    first = next(iter(scorers))
    for name in scorers:
        for n_kw in ablation:
            sub = outputs[(outputs["scorer"] == name) & (outputs["l"] == n_kw)].sort_values("id")
            base = outputs[(outputs["scorer"] == first) & (outputs["l"] == n_kw)].sort_values("id")
            table.append({"scorer": name, "l": n_kw, **_caption_quality(sub),
                          f"{JUDGE_SCORE} CI": _mean_ci(sub["judge_score"].to_numpy(float), seed),
                          DELTA: _paired(base, sub, paired_change, seed)})
    return {"scorers": rows, "ablation": table, "outputs": outputs, "first": first,
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


__all__ = ["DEFAULT_SCORERS", "DELTA", "KS", "SMALL_PER_CLASS", "cached_clap_models", "compare_scorers",
           "load_named_scorer", "recall_at_k", "retrieval_recall", "scorer_names", "strength_rows"]
