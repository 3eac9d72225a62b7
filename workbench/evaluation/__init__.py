"""Benchmark evaluation (P1, P2, P4): misalignment detectors and their metrics, trade-offs, LLM raters."""
