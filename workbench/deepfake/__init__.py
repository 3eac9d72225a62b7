"""Multimodal deepfake detection (P6 ConLLM): audio, video and audio-visual."""
