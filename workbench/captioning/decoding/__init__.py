"""Caption decoding for P9 (zero-shot audio captioning): the prompt, the LM steps and the three decoders.

* ``prompt`` — ``caption_prompt(lm, keywords)``: "Objects: KEYWORDS. This is a sound of" in a chat turn or raw;
* ``lm`` — the LM split into body and head, its KV-cache steps, sentence-end tokens and ``caption_text``;
* ``search`` — ``greedy``, ``contrastive`` (SimCTG) and ``magic`` (batched, or ``magic_naive``), each returning a
  ``Decoded`` (caption, tokens, per-step scores, timing).

Used by ``captioning.captioner``, ``benchmarks/magic_decoding.py`` and the tests, which import these names from here.
"""
from __future__ import annotations

from workbench.captioning.decoding.lm import caption_text
from workbench.captioning.decoding.prompt import DEFAULT_INSTRUCTION, DEFAULT_START, caption_prompt, keyword_phrase
from workbench.captioning.decoding.search import (LAYOUTS, TEXT_MAX_TOKENS, Decoded, Scorer, contrastive, greedy,
                                                  magic, magic_naive)

__all__ = ["DEFAULT_INSTRUCTION", "DEFAULT_START", "Decoded", "LAYOUTS", "Scorer", "TEXT_MAX_TOKENS", "caption_prompt",
           "caption_text", "contrastive", "greedy", "keyword_phrase", "magic", "magic_naive"]
