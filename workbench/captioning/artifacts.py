"""Artifacts of the captioning capability (P9), registered as builders.

* ``caption_eval`` — the profile's audio-text scorer (default profile: trained once on the synthetic sound corpus's
  train split and cached) and caption LM over the corpus's held-out clips: one row per clip × decoder × keyword
  count with the caption, its audio–caption cosine, the keywords, the prompt and the references. The meta's config
  holds the metrics table (one row per decoder at l = 2), the keyword ablation (MAGIC, l = 0, 1, 2, 3, 5), the
  metrics that could not be computed and why, the keyword hit rate of the scorer on the held-out clips and the
  decoding settings; ``corpus`` and ``clap`` (the configurations) let ``scorer_from_meta`` reload the same scorer.

  Issue 18 (evaluations a shortcut cannot pass), also in the meta: ``phrasing_overlap`` (the eval references'
  word and n-gram overlap with the scorer's training captions — the references use held-out phrasings),
  ``judge`` (the independent audio-text model that scores caption quality, ``clap.judge_scorer``; None on the paper
  profile, where the audio–caption cosine is the guide's own and labelled self-scored), ``shortcut`` (the
  surface-feature 1-NN caption baseline and its chance level, ``captioning.shortcut``) and ``real`` (keyword and
  caption hit rates on real CC0 animal recordings and pyannote's speech sample, ``captioning.real``).
"""
from __future__ import annotations

import numpy as np

from workbench.build import BuildContext, rehearsal_limit, register_builder


def keyword_hit_rate(scorer, clips, vocabulary: list[str], top: int = 3) -> float:
    """Share of clips with at least one of their labels among the ``top`` keywords the scorer ranks first."""
    from workbench.captioning.scorer import keyword_scores
    from workbench.media.audio import load_audio

    sims = keyword_scores(scorer, scorer.embed_audio([load_audio(p) for p in clips["path"]]), vocabulary)
    hits = [bool({vocabulary[j] for j in np.argsort(-sims[i], kind="stable")[:top]} & set(labels))
            for i, labels in enumerate(clips["labels"])]
    return float(np.mean(hits))


def scorer_from_meta(config: dict, profile: str):
    """The scorer an artifact was built with: the cached default scorer of its configurations, or the paper's.
    Never trains: when the cached scorer is gone, a ``WorkbenchError`` says how to build it again."""
    from workbench import WorkbenchError
    from workbench.captioning.clap import ClapConfig, default_scorer_folder, load_scorer, scorer_for_profile
    from workbench.captioning.synth import SoundCorpusConfig

    if profile == "paper":
        return scorer_for_profile("paper")
    corpus = dict(config["corpus"])
    corpus["classes"] = tuple(corpus.get("classes", ()))
    folder = default_scorer_folder(corpus=SoundCorpusConfig(**corpus), config=ClapConfig.from_dict(config["clap"]))
    if not (folder / "clap.json").is_file():
        build = "workbench build P9 --force" + (" --smoke" if config.get("smoke") else "")
        raise WorkbenchError(f"the audio-text model this artifact was built with is not on disk ({folder}); "
                             f"`{build}` first")
    return load_scorer(folder)


def shortcut_checks(manifest, clips, captioner, *, settings: dict, smoke: bool, progress=None) -> dict:
    """What issue 18 adds to the evaluation: {"phrasing_overlap", "shortcut", "real"} for the evaluated ``clips``
    of the corpus ``manifest`` (its train split is what the scorer and the shortcut learnt from)."""
    from workbench.captioning.real import real_keyword_hits
    from workbench.captioning.shortcut import phrasing_overlap, shortcut_report

    report = progress or (lambda f, m: None)
    train = manifest[manifest["split"] == "train"].reset_index(drop=True)
    overlap = phrasing_overlap([c for cs in train["captions"] for c in cs], [c for cs in clips["captions"] for c in cs])
    report(0.1, "shortcut baseline")
    shortcut = shortcut_report(train, clips)
    for part in shortcut.values():
        part.pop("captions", None)
    report(0.3, "real recordings")
    real = real_keyword_hits(captioner, l=settings.get("l", 2), k=settings["k"],
                             max_new_tokens=settings["max_new_tokens"], limit=4 if smoke else None,
                             progress=lambda f, m: report(0.3 + 0.7 * f, m))
    return {"phrasing_overlap": overlap, "shortcut": shortcut, "real": real}


def caption_eval_config(result: dict, *, hit_rate: float, clips: int, corpus, clap, smoke: bool,
                        checks: dict | None = None) -> dict:
    """The ``caption_eval`` artifact's config from ``evaluation.evaluate``'s result and ``shortcut_checks`` (the
    builder saves it; the P9 notebook hands the same dict to the claims ledger)."""
    from dataclasses import asdict

    return {**(checks or {}), "judge": result.get("judge"), "metrics": result["metrics"].to_dict("records"), "ablation": result["ablation"].to_dict("records"),
            "not_computed": result["not_computed"], "nlg_mean_over": result["nlg_mean_over"],
            "keyword_top3_hit_rate": hit_rate, "settings": result["settings"], "clips": clips,
            "corpus": asdict(corpus), "clap": asdict(clap), "smoke": smoke,
            "set": "synthetic sound corpus, eval split (clips never seen in training; references in held-out "
                   "phrasings)" if getattr(corpus, "eval_phrasings", False) else
                   "synthetic sound corpus, eval split (clips never seen in training)"}


def _eval_setup(ctx: BuildContext) -> dict:
    """What ``caption_eval`` and ``caption_scorers`` share: the corpus and audio-text configurations, the corpus,
    the captioned clips and the decoding settings of the build's size."""
    from workbench.captioning.clap import ClapConfig
    from workbench.captioning.synth import SoundCorpusConfig, sound_corpus
    from workbench.media.audio_encoders import CNNConfig

    corpus = SoundCorpusConfig(n_per_class=4, mixtures=4, seconds=2.0) if ctx.smoke else SoundCorpusConfig()
    # the build's seed is the audio-text models' training seed (the corpus is the same data for every seed), so
    # `workbench build P9 --seeds N` gives the spread over trainings
    clap = (ClapConfig(audio=CNNConfig(channels=(8, 16, 32), dim=64, max_seconds=2.0), dim=64, epochs=15,
                       seed=ctx.seed)
            if ctx.smoke else ClapConfig(seed=ctx.seed))
    manifest = sound_corpus(corpus)
    held_out = manifest.query("split == 'eval'").reset_index(drop=True)
    clips = (held_out.groupby("class", group_keys=False).head(1).head(rehearsal_limit(ctx, 4)) if ctx.smoke
             else held_out)
    return {"corpus": corpus, "clap": clap, "manifest": manifest, "held_out": held_out,
            "clips": clips.reset_index(drop=True), "ablation": (0, 1) if ctx.smoke else (0, 1, 2, 3, 5),
            "settings": dict(k=8 if ctx.smoke else 45, max_new_tokens=8 if ctx.smoke else 20)}


def build_caption_eval(ctx: BuildContext) -> None:
    from workbench.captioning.captioner import Captioner
    from workbench.captioning.clap import default_scorer, judge_scorer, scorer_for_profile
    from workbench.captioning.evaluation import evaluate
    from workbench.captioning.synth import load_vocabulary
    from workbench.io import save_frame
    from workbench.models import load

    setup = _eval_setup(ctx)
    corpus, clap, manifest, clips = setup["corpus"], setup["clap"], setup["manifest"], setup["clips"]
    ctx.progress(0.0, "audio-text model")
    if ctx.profile.name == "paper":
        scorer, judge = scorer_for_profile("paper"), None          # no second model: the cosine is self-scored
    else:
        scorer = default_scorer(corpus=corpus, config=clap, progress=lambda f, m: ctx.progress(0.2 * f, m))
        judge = judge_scorer(corpus=corpus, config=clap, progress=lambda f, m: ctx.progress(0.2 + 0.1 * f,
                                                                                             "judge: " + m))
    vocabulary = load_vocabulary()
    hit_rate = keyword_hit_rate(scorer, clips, vocabulary)
    lm = load(ctx.profile.model_for("caption_lm"))
    captioner = Captioner(scorer, lm, vocabulary)
    result = evaluate(captioner, clips, ablation=setup["ablation"], judge=judge,
                      progress=lambda f, m: ctx.progress(0.3 + 0.6 * f, m), **setup["settings"])
    checks = shortcut_checks(manifest, clips, captioner, settings=result["settings"], smoke=ctx.smoke,
                             progress=lambda f, m: ctx.progress(0.9 + 0.1 * f, m))
    save_frame(result["outputs"], ctx.path(ctx.paper, "caption_eval"), profile=ctx.profile.name,
               models=result["models"], seed=ctx.seed,
               config=caption_eval_config(result, hit_rate=hit_rate, clips=len(clips), corpus=corpus, clap=clap,
                                          smoke=ctx.smoke, checks=checks))


def _reusable_captions(ctx: BuildContext, setup: dict) -> dict:
    """{"tiny-clap": outputs} when this build's ``caption_eval`` holds MAGIC captions of the default guide on the
    same clips with the same settings and a judge score (default profile), else {}: its keyword ablation is the
    comparison's first scorer, decoded once."""
    from workbench.io import load_frame, read_meta

    path = ctx.path(ctx.paper, "caption_eval")
    if ctx.profile.name == "paper" or not ctx.store.exists(ctx.paper, "caption_eval", ctx.profile.name):
        return {}
    config = read_meta(path).config
    settings = config.get("settings", {})
    same = (config.get("clap") == _asdict(setup["clap"]) and config.get("corpus") == _asdict(setup["corpus"])
            and config.get("clips") == len(setup["clips"]) and config.get("judge")
            and all(settings.get(key) == value for key, value in setup["settings"].items()))
    if not same:
        return {}
    frame = load_frame(path)
    return {"tiny-clap": frame} if set(frame["id"]) == set(setup["clips"]["id"]) else {}


def _asdict(config) -> dict:
    """A config dataclass as meta.json stores it (tuples as lists)."""
    from dataclasses import asdict

    from workbench.io.files import json_safe

    return json_safe(asdict(config))


def build_caption_scorers(ctx: BuildContext) -> None:
    """The scorer comparison (``captioning.compare``): every scorer of the profile guides MAGIC on the same clips at
    every keyword count, all judged by the default profile's independent judge (trained on this corpus, never a
    guide; on the paper profile too, since the clips are the synthetic corpus's). The config's ``baselines`` hold the
    surface-feature and chance retrieval rows (``compare.retrieval_baselines``, fitted on the corpus's train split);
    an artifact built before them has none."""
    from workbench.captioning.clap import judge_scorer
    from workbench.captioning.compare import compare_scorers, load_named_scorer, scorer_names
    from workbench.captioning.synth import load_vocabulary
    from workbench.io import save_frame
    from workbench.models import load

    setup = _eval_setup(ctx)
    names = scorer_names(ctx.profile.name)
    scorers = {}
    for i, name in enumerate(names):
        scorers[name] = load_named_scorer(name, profile=ctx.profile.name, corpus=setup["corpus"],
                                          config=setup["clap"],
                                          progress=lambda f, m, i=i: ctx.progress(0.2 * (i + f) / len(names), m))
    judge = judge_scorer(corpus=setup["corpus"], config=setup["clap"],
                         progress=lambda f, m: ctx.progress(0.2 + 0.05 * f, "judge: " + m))
    ablation = sorted(set(setup["ablation"]) | {2})
    result = compare_scorers(scorers, load(ctx.profile.model_for("caption_lm")), load_vocabulary(), setup["clips"],
                             judge=judge, ablation=ablation, reuse=_reusable_captions(ctx, setup),
                             retrieval_clips=setup["held_out"], seed=ctx.seed,
                             train_clips=setup["manifest"].query("split == 'train'"),
                             progress=lambda f, m: ctx.progress(0.25 + 0.75 * f, m), **setup["settings"])
    models = [m for row in result["scorers"] for m in row["models"]] + [f"{judge.name} (judge)",
                                                                        ctx.profile.model_for("caption_lm")]
    save_frame(result["outputs"], ctx.path(ctx.paper, "caption_scorers"), profile=ctx.profile.name,
               models=list(dict.fromkeys(models)), seed=ctx.seed,
               config={"scorers": result["scorers"], "baselines": result["baselines"], "ablation": result["ablation"],
                       "first": result["first"],
                       "settings": result["settings"], "smoke": ctx.smoke, "corpus": _asdict(setup["corpus"]),
                       "clap": _asdict(setup["clap"]),
                       "set": "synthetic sound corpus, eval split (clips never seen in training)"})


register_builder("P9", "caption_eval", "audio-text model, captions by three decoders, metrics and ablation")(
    build_caption_eval)
register_builder("P9", "caption_scorers", "scorer comparison: retrieval R@k and the keyword ablation per audio-text "
                 "model", quick=False)(build_caption_scorers)
