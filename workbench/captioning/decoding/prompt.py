"""The caption prompt of P9: "Objects: KEYWORDS. This is a sound of", in a chat turn or as the raw prompt.

Used by ``captioning.captioner`` and ``benchmarks/magic_decoding.py``; re-exported by ``captioning.decoding``.

Prompts [ours]. Every decoder takes the exact text fed to the model (tokenised without added special tokens), so
the caller decides on the chat template. ``caption_prompt`` builds the captioning prompt: with a chat template
(``chat=True``, the default for instruct models) the instruction is the user turn and the assistant turn starts
with ``Objects: KEYWORDS. This is a sound of``; without, the same start is the raw prompt. The start never ends
in a space (a BPE tokeniser puts the space on the next word).
"""
from __future__ import annotations

from typing import Sequence

from workbench import WorkbenchError

DEFAULT_INSTRUCTION = "Write a one-sentence caption of the sound."
DEFAULT_START = "This is a sound of"


def keyword_phrase(keywords: Sequence[str]) -> str:
    """``a, b, and a c`` [ours; the audio port's "Objects: a, and a b" layout, an article on the last one]."""
    words = [w.strip() for w in keywords if w and w.strip()]
    if not words:
        return ""
    last = ("an " if words[-1][0].lower() in "aeiou" else "a ") + words[-1]
    return last if len(words) == 1 else ", ".join(words[:-1]) + ", and " + last


def caption_prompt(lm, keywords: Sequence[str] = (), *, chat: bool | None = None,
                   instruction: str = DEFAULT_INSTRUCTION, start: str = DEFAULT_START) -> str:
    """The exact text to decode from: ``Objects: KEYWORDS. This is a sound of`` as the start of the assistant turn
    (``chat``; default: whether the model is an instruct model with a chat template) or as the raw prompt."""
    from workbench.llm.generate import uses_chat_template

    phrase = keyword_phrase(keywords)
    opening = (f"Objects: {phrase}. " if phrase else "") + start.rstrip()
    use_chat = uses_chat_template(lm) if chat is None else chat
    if use_chat:
        if not getattr(lm.tokenizer, "chat_template", None):
            raise WorkbenchError(f"{lm.name} has no chat template; call caption_prompt with chat=False")
        user_turn = lm.tokenizer.apply_chat_template([{"role": "user", "content": instruction}],
                                                     add_generation_prompt=True, tokenize=False)
        return user_turn + opening
    bos = lm.tokenizer.bos_token if _adds_bos(lm.tokenizer) else ""
    return (bos or "") + opening


def _adds_bos(tokenizer) -> bool:
    ids = tokenizer("a").input_ids
    return bool(ids) and tokenizer.bos_token_id is not None and ids[0] == tokenizer.bos_token_id


__all__ = ["DEFAULT_INSTRUCTION", "DEFAULT_START", "caption_prompt", "keyword_phrase"]
