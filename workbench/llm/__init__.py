"""Causal-LM utilities shared by every pipeline: prompting and generation (label scoring and judges follow)."""
from workbench.llm.generate import build_prompt, generate

__all__ = ["build_prompt", "generate"]
