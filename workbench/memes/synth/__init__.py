"""Synthetic meme corpus for the default profile (P5, CROSS-ALIGN+), drawn and cached by the workbench itself.

The corpus lives in a small fictional world read from the knowledge snapshot under ``data/memes/knowledge/``:
peoples S1–S14 (ethnic, national and religious groups) and institutions S21–S34 (companies, agencies, clubs,
parties), the lexicon's dehumanizing metaphors, exclusion or violence phrases, synthetic coded hate references
and hate symbols, plus everyday targets (pets, family, things) and decoy phrases from ``vocabulary.json``. Three
classes, labelled by one rule (``vocabulary.label_of``) from what fills a text frame and from the picture — never
from the frame alone, so that every frame occurs with at least two labels:

* ``benign`` — praise of a people or an institution, everyday jokes, neutral "heritage" texts, a mocking frame
  aimed at an everyday target, a code frame filled with a decoy phrase;
* ``satire`` — mocking frames aimed at an institution, roasts of institutions and situations;
* ``abusive`` — mocking frames aimed at a people, code frames with a coded term, and any frame with a drawn hate
  symbol in its picture.

Every meme belongs to a meaning-flip group of one frame (``synth.generate``). Split by design [ours]
(``data/memes/vocabulary.json``): peoples S1–S8, institutions S21–S28, twelve of the sixteen dehumanizing
metaphors, the synthetic codes other than "grey tide" and "clean valley" and four decoys appear only in
``train``; the rest only in ``eval``, so at eval time a model can tell an unseen name's kind (people or
institution) or an unseen term's meaning only by retrieving knowledge. Text frames
(``data/memes/templates.csv``), exclusion phrases, everyday targets and hate symbols are shared.

The package, one role per module:

* ``vocabulary`` — the text frames, drawable things and split design (bundled data), ``world(split)`` and the
  labelling rule ``label_of``;
* ``generate`` — ``MemeCorpusConfig`` and ``plan(config)``: rows, labels, meaning-flip groups, picture recipes;
* ``draw`` — ``render(spec, text, size)``: the OpenCV drawing; ``tags`` lists what was drawn (scene, objects,
  symbol) to supervise an image tagger;
* ``corpus`` — ``generate_memes(config, out_dir)`` and ``cached_memes(config)``: ``images/<id>.png`` and
  ``memes.csv`` (columns ``COLUMNS``), written atomically; the same configuration gives byte-identical files.
"""
from __future__ import annotations

from workbench.memes.synth.corpus import cached_memes, generate_memes
from workbench.memes.synth.draw import render
from workbench.memes.synth.generate import MemeCorpusConfig, plan
from workbench.memes.synth.vocabulary import (ABUSIVE, BENIGN, CLASSES, CODE, COLUMNS, FLIPS, MOCK, NEUTRAL,
                                              OBJECTS, SATIRE, SCENES, SPLITS, SYMBOLS, TARGET_FRAMES, TARGET_KINDS,
                                              Template, label_of, labels_of, template_counts, templates, world)

__all__ = ["ABUSIVE", "BENIGN", "CLASSES", "CODE", "COLUMNS", "FLIPS", "MOCK", "MemeCorpusConfig", "NEUTRAL",
           "OBJECTS", "SATIRE", "SCENES", "SPLITS", "SYMBOLS", "TARGET_FRAMES", "TARGET_KINDS", "Template",
           "cached_memes", "generate_memes", "label_of", "labels_of", "plan", "render", "template_counts", "templates",
           "world"]
