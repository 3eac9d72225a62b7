"""Reading and checking audio, video and images, and the small encoders several capabilities share.

* ``files`` — accepted extensions, kinds and size limits; ``audio`` — ``load_audio``, ``extract_audio_track``;
  ``video`` — ``sample_video`` / ``sample_frames`` with optional face crops; ``image`` — ``load_image``.
* ``features`` — log-mel spectrogram, spectral flatness; ``speech`` — espeak-ng sentences for synthetic corpora.
* ``audio_encoders`` / ``video_encoders`` — pretrained (transformers) and small locally trained CNN encoders;
  ``embeddings`` — per-file embedding cache; ``contrastive`` — NT-Xent, SupCon and the encoders' training loop.

Used by deepfake (P6), captioning (P9) and memes (P5).
"""
