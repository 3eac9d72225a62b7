"""Cascaded explanations (P5 Stage III): visual cue → textual cue → knowledge link → verdict.

The schema is fixed [ours, after the paper's intent]. Each step has two parts:

* ``evidence`` — what the model measured, so that the explanation is faithful:
  * visual cue: the image tags above threshold;
  * textual cue: the words whose removal lowers the predicted class's probability most (occlusion,
    ``MemeModel.word_importance``);
  * knowledge link: the retrieved triples reached from those words, then the hate symbols among the image
    tags (else the top-ranked triples);
  * verdict: the label and its probability.
* ``text`` — one sentence about that evidence, written by the explainer LLM (the default profile's SmolLM2; the
  paper profile's Mistral-7B-Instruct), greedily, through an engine (``workbench.engines``: a model name or handle
  runs on the engine ``--engine`` picks). All four steps go to the engine in one call. Without an LLM, ``text``
  repeats the evidence sentence.

The cascade is stored with each prediction (``workbench meme classify --json``, the builder's predictions).
"""
from __future__ import annotations

import re

import numpy as np

STEPS = ("visual_cue", "textual_cue", "knowledge_link", "verdict")
TITLES = {"visual_cue": "Visual cue", "textual_cue": "Textual cue", "knowledge_link": "Knowledge link",
          "verdict": "Verdict"}
INSTRUCTION = ("You explain why a meme was classified as {label}. Classes: {classes}. Abusive memes attack a group "
               "of people for who they are; satire mocks organisations, institutions or situations; benign memes "
               "do neither.")
ASK = {"visual_cue": "In one sentence, say what the image shows that matters.",
       "textual_cue": "In one sentence, say which words of the text matter and why.",
       "knowledge_link": "In one sentence, say what the background knowledge adds.",
       "verdict": "In one sentence, give the verdict and the main reason."}


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def evidence(prediction: dict, importance: list[tuple[str, float]], *, uses_knowledge: bool,
             top_words: int = 2, top_triples: int = 3) -> dict:
    """The four steps' evidence sentences (and their raw parts) for one prediction."""
    tags = [t["tag"] for t in prediction.get("tags", [])][:4]
    visual = (f"The image shows {_and(tags)}." if tags
              else "None of the tagger's tags is detected in the image.")
    label = prediction["label"]
    words = [(w, d) for w, d in importance if d > 0.01][:top_words]
    if words:
        textual = (f"The words {_and([repr(w) for w, _ in words])} carry the decision (removing "
                   f"{words[0][0]!r} lowers P({label}) by {words[0][1]:.2f}).")
    else:
        textual = "No single word changes the decision much; the text as a whole and the image decide."
    triples = prediction.get("triples", [])
    if not uses_knowledge:
        link, chosen = "This model uses no background knowledge.", []
    else:
        keys = {w.lower().strip(".,!?:;'\"") for w, _ in words}
        # triples reached from the deciding words first, then hate symbols seen in the image, else the top-ranked
        from_words = [t for t in triples if keys & set(t["matched"].lower().split()) or t["head"].lower() in keys]
        symbols = [t for t in triples if t["matched"].startswith("image:") and t["source"] == "lexicon"
                   and t not in from_words]
        chosen = (from_words + symbols or triples)[:top_triples]
        link = ("Knowledge: " + "; ".join(f"{t['head']} — {t['relation']} — {t['tail']}" for t in chosen) + "."
                if chosen else "No knowledge was retrieved for this meme.")
    verdict = f"{label} (probability {prediction['confidence']:.2f})."
    return {"visual_cue": visual, "textual_cue": textual, "knowledge_link": link, "verdict": verdict,
            "_words": words, "_triples": chosen}


def first_sentence(text: str) -> str:
    """The first line of ``text`` up to its first sentence end (the LLM is asked for one sentence)."""
    line = text.strip().split("\n")[0].strip()
    match = re.search(r"[.!?](\s|$)", line)
    return line[:match.start() + 1] if match else line


def cascade(model, image: np.ndarray, text: str, prediction: dict, *, lm=None, max_new_tokens: int = 40) -> dict:
    """The explanation cascade for one meme: {step: {"evidence", "text"}, "explainer": LM name or None}.
    ``lm``: the explainer — an engine, a ``CausalLM`` handle or a model name (``engines.select_engine``) — or None."""
    importance = model.word_importance(image, text)
    ev = evidence(prediction, importance, uses_knowledge=model.config.uses_knowledge)
    out = {s: {"evidence": ev[s], "text": ev[s]} for s in STEPS}
    engine = None
    if lm is not None:
        from workbench.engines import select_engine

        engine = select_engine(lm)
        context = (INSTRUCTION.format(label=prediction["label"], classes=", ".join(model.classes))
                   + f"\n\nMeme text: {text}\n" + "\n".join(f"{TITLES[s]}: {ev[s]}" for s in STEPS))
        written = engine.generate([f"{context}\n\n{ASK[s]}" for s in STEPS], max_new_tokens=max_new_tokens)
        for s, (sentence,) in zip(STEPS, written):
            out[s]["text"] = first_sentence(sentence) or ev[s]
    out["explainer"] = engine.name if engine is not None else None
    out["important_words"] = [{"word": w, "drop": round(d, 4)} for w, d in importance[:5]]
    return out


__all__ = ["STEPS", "TITLES", "cascade", "evidence"]
