"""Artifacts of the captioning capability (P9), registered as builders.

* ``caption_eval`` — the profile's audio-text scorer (default profile: trained once on the synthetic sound corpus's
  train split and cached) and caption LM over the corpus's held-out clips: one row per clip × decoder × keyword
  count with the caption, its audio–caption cosine, the keywords, the prompt and the references. The meta's config
  holds the metrics table (one row per decoder at l = 2), the keyword ablation (MAGIC, l = 0, 1, 2, 3, 5), the
  metrics that could not be computed and why, the keyword hit rate of the scorer on the held-out clips and the
  decoding settings; ``corpus`` and ``clap`` (the configurations) let ``scorer_from_meta`` reload the same scorer.
"""
from __future__ import annotations

import numpy as np

from workbench.build import BuildContext, register_builder


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


def caption_eval_config(result: dict, *, hit_rate: float, clips: int, corpus, clap, smoke: bool) -> dict:
    """The ``caption_eval`` artifact's config from ``evaluation.evaluate``'s result (the builder saves it; the P9
    notebook hands the same dict to the claims ledger)."""
    from dataclasses import asdict

    return {"metrics": result["metrics"].to_dict("records"), "ablation": result["ablation"].to_dict("records"),
            "not_computed": result["not_computed"], "nlg_mean_over": result["nlg_mean_over"],
            "keyword_top3_hit_rate": hit_rate, "settings": result["settings"], "clips": clips,
            "corpus": asdict(corpus), "clap": asdict(clap), "smoke": smoke,
            "set": "synthetic sound corpus, eval split (clips never seen in training)"}


def build_caption_eval(ctx: BuildContext) -> None:
    from workbench.captioning.captioner import Captioner
    from workbench.captioning.clap import ClapConfig, default_scorer, scorer_for_profile
    from workbench.captioning.evaluation import evaluate
    from workbench.captioning.synth import SoundCorpusConfig, load_vocabulary, sound_corpus
    from workbench.io import save_frame
    from workbench.media.audio_encoders import CNNConfig
    from workbench.models import load

    corpus = SoundCorpusConfig(n_per_class=4, mixtures=4, seconds=2.0) if ctx.smoke else SoundCorpusConfig()
    clap = (ClapConfig(audio=CNNConfig(channels=(8, 16, 32), dim=64, max_seconds=2.0), dim=64, epochs=15)
            if ctx.smoke else ClapConfig())
    ctx.progress(0.0, "audio-text model")
    if ctx.profile.name == "paper":
        scorer = scorer_for_profile("paper")
    else:
        scorer = default_scorer(corpus=corpus, config=clap, progress=lambda f, m: ctx.progress(0.3 * f, m))
    vocabulary = load_vocabulary()
    clips = sound_corpus(corpus).query("split == 'eval'").reset_index(drop=True)
    if ctx.smoke:
        clips = clips.groupby("class", group_keys=False).head(1).head(4)
    hit_rate = keyword_hit_rate(scorer, clips, vocabulary)
    lm = load(ctx.profile.model_for("caption_lm"))
    captioner = Captioner(scorer, lm, vocabulary)
    settings = dict(k=8 if ctx.smoke else 45, max_new_tokens=8 if ctx.smoke else 20)
    result = evaluate(captioner, clips, ablation=(0, 1) if ctx.smoke else (0, 1, 2, 3, 5),
                      progress=lambda f, m: ctx.progress(0.3 + 0.7 * f, m), **settings)
    save_frame(result["outputs"], ctx.path(ctx.paper, "caption_eval"), profile=ctx.profile.name,
               models=result["models"], seed=ctx.seed,
               config=caption_eval_config(result, hit_rate=hit_rate, clips=len(clips), corpus=corpus, clap=clap,
                                          smoke=ctx.smoke))


register_builder("P9", "caption_eval", "audio-text model, captions by three decoders, metrics and ablation")(
    build_caption_eval)
