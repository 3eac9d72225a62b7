"""Zero-shot audio captioning of one clip (P9): clip → keywords → prompt → one caption per decoder.

Used by ``captioning.evaluation`` (captions every clip of a set), ``captioning.artifacts``, the CLI (``caption
run``), the dashboard's captions view and the P9 notebook.

``Captioner(scorer, lm, vocabulary)`` embeds the vocabulary once; ``caption(audio, l, decoders)`` returns the top-l
keywords with their cosine, the prompt built from them (``decoding.caption_prompt``: "Objects: kw1, and a kw2.
This is a sound of" after the instruction, as ZerAuCap writes it) and one caption per decoder — greedy, contrastive
search (β = 0; α = ``contrastive_alpha``, 0.1 as in SimCTG, since with α = 0 it would be greedy) and MAGIC (k, α,
β; the audio port's k 45, α 0, β 0.5 by default) — with each caption's audio–caption cosine.
"""
from __future__ import annotations

import numpy as np

from workbench import WorkbenchError

DECODERS = ("greedy", "contrastive", "magic")
MAX_SECONDS = 30.0        # a clip from a file is read (and captioned) up to this length


class Captioner:
    """A scorer, a caption LM and a keyword vocabulary (embedded once): captions one clip at a time."""

    def __init__(self, scorer, lm, vocabulary: list[str]):
        if not vocabulary:
            raise WorkbenchError("the keyword vocabulary is empty")
        self.scorer, self.lm, self.vocabulary = scorer, lm, list(vocabulary)
        self.vocab_emb = scorer.embed_text(self.vocabulary)

    @property
    def models(self) -> list[str]:
        return list(getattr(self.scorer, "models", [self.scorer.name])) + [self.lm.name]

    def keywords(self, audio_embedding: np.ndarray, l: int) -> list[dict]:
        if l < 0:
            raise WorkbenchError(f"the number of keywords must be ≥ 0, not {l}")
        sims = self.vocab_emb @ np.asarray(audio_embedding, np.float32).reshape(-1)
        order = np.argsort(-sims, kind="stable")[:l]
        return [{"keyword": self.vocabulary[i], "score": float(sims[i])} for i in order]

    def caption(self, audio: np.ndarray, *, l: int = 2, decoders=DECODERS, k: int = 45, alpha: float = 0.0,
                beta: float = 0.5, max_new_tokens: int = 20, audio_embedding=None,
                contrastive_alpha: float = 0.1) -> dict:
        """{"keywords": [{keyword, score}], "prompt", "captions": {decoder: text}, "audio_scores": {decoder: cos},
        "seconds": {decoder: s}}."""
        from workbench.captioning.decoding import caption_prompt, contrastive, greedy, magic

        unknown = [d for d in decoders if d not in DECODERS]
        if unknown:
            raise WorkbenchError(f"unknown decoder(s) {unknown}; choose from {', '.join(DECODERS)}")
        emb = self.scorer.embed_audio([audio])[0] if audio_embedding is None else audio_embedding
        keywords = self.keywords(emb, l)
        prompt = caption_prompt(self.lm, [kw["keyword"].lower() for kw in keywords])
        out = {"keywords": keywords, "prompt": prompt, "captions": {}, "audio_scores": {}, "seconds": {}}
        for name in decoders:
            if name == "greedy":
                res = greedy(self.lm, prompt, max_new_tokens=max_new_tokens)
            elif name == "contrastive":
                res = contrastive(self.lm, prompt, k=k, alpha=contrastive_alpha, max_new_tokens=max_new_tokens)
            else:
                res = magic(self.lm, prompt, self.scorer, emb, k=k, alpha=alpha, beta=beta,
                            max_new_tokens=max_new_tokens)
            out["captions"][name] = res.text
            out["seconds"][name] = float(res.seconds)
        texts = [out["captions"][d] or " " for d in decoders]
        cos = self.scorer.embed_text(texts) @ emb
        out["audio_scores"] = {d: float(c) for d, c in zip(decoders, cos)}
        return out


def captioner_for_profile(profile: str | None = None, *, scorer: str | None = None, progress=None) -> Captioner:
    """The active profile's scorer (or the one named ``scorer``, ``captioning.compare.scorer_names``), caption LM
    and the bundled vocabulary."""
    from workbench.captioning.clap import scorer_for_profile
    from workbench.captioning.synth import load_vocabulary
    from workbench.models import load
    from workbench.profiles import get_profile

    if scorer is None:
        scorer = scorer_for_profile(profile, progress=progress)
    else:
        from workbench.captioning.compare import load_named_scorer

        scorer = load_named_scorer(scorer, profile=profile, progress=progress)
    return Captioner(scorer, load(get_profile(profile).model_for("caption_lm")), load_vocabulary())


__all__ = ["Captioner", "DECODERS", "MAX_SECONDS", "captioner_for_profile"]
