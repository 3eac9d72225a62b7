"""Mixture of Calibrated Experts (P3 AlignX, P10 TrinityX): axis experts, a trained router, its calibration."""
