"""Synthetic data of the captioning capability (P9): a sound-event corpus with labels and reference captions.

* ``words`` — the keyword vocabulary and each class's labels and caption clauses (read from ``data/captioning/``);
* ``dsp`` — filters, envelopes, noise and resonant modes the classes are built from;
* ``render`` — the twelve sound classes and one finished clip (``render("siren", seed)``), or two overlaid;
* ``corpus`` — the corpus: clips, seeds, split, and the cached folder with its manifest (``sound_corpus``).

The names most callers need are importable from here: ``from workbench.captioning.synth import render,
sound_corpus, SoundCorpusConfig, load_vocabulary``.
"""
from __future__ import annotations

from workbench.captioning.synth.corpus import SoundCorpusConfig, sound_corpus
from workbench.captioning.synth.render import CLASSES, SR, VARIANTS, render, render_mixture
from workbench.captioning.synth.words import (CLAUSES, LABELS, VOCABULARY_PATH, captions_for, corpus_labels,
                                              load_vocabulary, mixture_captions)

__all__ = ["CLASSES", "CLAUSES", "LABELS", "SR", "SoundCorpusConfig", "VARIANTS", "VOCABULARY_PATH",
           "captions_for", "corpus_labels", "load_vocabulary", "mixture_captions", "render", "render_mixture",
           "sound_corpus"]
