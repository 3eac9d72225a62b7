"""Activation steering (P8 AMBS, P7 MEDASSESS-X)."""
