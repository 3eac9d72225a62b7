"""Causal-LM utilities shared by every pipeline: prompting and generation, and the one answer readout
(``answer_probs``: probabilities of a few answers after a prompt) that judges, classifiers and raters use."""
from workbench.llm.generate import build_prompt, generate
from workbench.llm.readout import AnswerProbs, answer_probs

__all__ = ["AnswerProbs", "answer_probs", "build_prompt", "generate"]
