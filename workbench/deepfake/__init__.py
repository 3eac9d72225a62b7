"""Deepfake detection data (P6 ConLLM): media readers for audio and video, and loaders for the public datasets."""
