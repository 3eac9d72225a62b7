"""The audio-text scorer interface of zero-shot captioning (P9), and keyword ranking on top of it.

Used by ``captioning.clap`` (both scorers follow this interface), ``captioning.decoding`` (MAGIC's audio term calls
``text_logits``), ``captioning.captioner`` and ``captioning.artifacts`` (keyword ranking).

Interface (``AudioTextScorer``): ``embed_audio(audios) -> [N, D]`` and ``embed_text(texts) -> [N, D]``, both
L2-normalised; ``similarity(a, t) = scale · cos`` with the model's own logit scale; ``text_logits(audio_embedding,
texts)`` = ``MAGIC_SCALE · cos`` (the audio port of MAGIC fixes the CLAP logit scale at 10) — what the decoder
calls once per step for its k candidate continuations.
"""
from __future__ import annotations

import numpy as np

from workbench import WorkbenchError

MAGIC_SCALE = 10.0


class AudioTextScorer:
    """The interface every scorer follows (see the module docstring)."""

    name: str = "scorer"
    logit_scale: float = 1.0

    def embed_audio(self, audios: list[np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def embed_text(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def similarity(self, audio_embeddings: np.ndarray, text_embeddings: np.ndarray) -> np.ndarray:
        return self.logit_scale * np.asarray(audio_embeddings) @ np.asarray(text_embeddings).T

    def text_logits(self, audio_embedding: np.ndarray, texts: list[str]) -> np.ndarray:
        """``MAGIC_SCALE`` · cos(audio, text) for each text: MAGIC's audio term, before its softmax over the k."""
        return MAGIC_SCALE * (self.embed_text(list(texts)) @ np.asarray(audio_embedding, np.float32).reshape(-1))


# --------------------------------------------------------------------------------------------- keywords


def keyword_scores(scorer: AudioTextScorer, audio_embeddings: np.ndarray, vocabulary: list[str],
                   *, prompt: str = "{}") -> np.ndarray:
    """[N, V] cosine of each clip with each keyword (rendered through ``prompt``)."""
    text = scorer.embed_text([prompt.format(k) for k in vocabulary])
    return np.asarray(audio_embeddings, np.float32).reshape(-1, text.shape[1]) @ text.T


def top_keywords(scorer: AudioTextScorer, audio_embedding: np.ndarray, vocabulary: list[str], l: int = 2,
                 ) -> list[dict]:
    """The ``l`` keywords most similar to one clip: [{"keyword", "score"}] by descending cosine."""
    if l < 0:
        raise WorkbenchError(f"the number of keywords must be ≥ 0, not {l}")
    sims = keyword_scores(scorer, audio_embedding, vocabulary)[0]
    order = np.argsort(-sims, kind="stable")[:l]
    return [{"keyword": vocabulary[i], "score": float(sims[i])} for i in order]


__all__ = ["AudioTextScorer", "MAGIC_SCALE", "keyword_scores", "top_keywords"]
