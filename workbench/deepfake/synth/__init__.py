"""Synthetic deepfake corpora for the default profile (P6): ``speech`` (bona fide and spoofed speech) and
``video`` (talking heads with face, audio and lip-sync forgeries, drawn by ``faces``), both cached by
``corpus``."""
