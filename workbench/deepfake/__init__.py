"""Multimodal deepfake detection (P6 ConLLM): audio, video and audio-visual.

Media → per-modality embeddings → contrastive detectors → an LLM's verdict:

* ``datasets`` — ASVspoof 2019 LA, DECRO, FakeAVCeleb, DFDC, plain folders and manifests as one frame layout;
  ``synth`` — the default profile's synthetic speech and talking-head corpora.
* ``config`` — ``PipelineConfig``; ``inputs`` — per-row embeddings (``workbench.media`` encoders) and measured
  cues (``sync``: lip–audio sync); ``detector`` — the contrastive detector of one evidence stream.
* ``training`` — ``train_model`` writes a model folder, ``default_model`` trains the profile's model once;
  ``model`` — ``DeepfakeModel`` loads a folder and scores rows or files; ``evaluation`` — every stage's EER,
  AUC and accuracy with and without the ``reasoning`` stage.
* ``artifacts`` — the P6 builder (``deepfake_eval``).
"""
