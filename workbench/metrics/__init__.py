"""Evaluation metrics: misalignment detection (P1, P2), trade-offs (P2), rater agreement and fairness (P4)."""
