"""Synthetic meme corpus for the default profile (P5, CROSS-ALIGN+), drawn and cached by the workbench itself.

The corpus lives in a small fictional world read from the knowledge snapshot under ``data/memes/knowledge/``:
peoples S1–S14 (ethnic, national and religious groups) and institutions S21–S34 (companies, agencies, clubs,
parties), the lexicon's dehumanizing metaphors, exclusion or violence phrases, synthetic coded hate references
and hate symbols. Three classes, labelled by construction:

* ``benign`` — wholesome or neutral texts, including positive mentions of peoples and neutral ones of
  institutions, everyday jokes, and neutral "heritage" texts over plain flags, hearts or stars;
* ``satire`` — mockery of institutions and situations, insults included, never aimed at a people;
* ``abusive`` — texts aimed at peoples (dehumanizing metaphors, exclusion or violence, coded references) and
  image-driven abuse: a neutral-looking text over a drawn hate symbol.

Split by design [ours] (``data/memes/vocabulary.json``): peoples S1–S8, institutions S21–S28, twelve of the
sixteen dehumanizing metaphors and the synthetic codes other than "grey tide" and "clean valley" appear only in
``train``; the rest only in ``eval``, so at eval time a model can tell an unseen name's kind (people or
institution) or an unseen term's meaning only by retrieving knowledge. Text frames
(``data/memes/templates.csv``), exclusion phrases and hate symbols are shared.

The package, one role per module:

* ``vocabulary`` — the text frames, drawable things and split design (bundled data) and ``world(split)``;
* ``generate`` — ``MemeCorpusConfig`` and ``plan(config)``: rows, labels, meaning-flip pairs, picture recipes;
* ``draw`` — ``render(spec, text, size)``: the OpenCV drawing; ``tags`` lists what was drawn (scene, objects,
  symbol) to supervise an image tagger;
* ``corpus`` — ``generate_memes(config, out_dir)`` and ``cached_memes(config)``: ``images/<id>.png`` and
  ``memes.csv`` (columns ``COLUMNS``), written atomically; the same configuration gives byte-identical files.
"""
from __future__ import annotations

from workbench.memes.synth.corpus import cached_memes, generate_memes
from workbench.memes.synth.draw import render
from workbench.memes.synth.generate import MemeCorpusConfig, plan
from workbench.memes.synth.vocabulary import (ABUSIVE, BENIGN, CLASSES, COLUMNS, FLIPS, NEUTRAL, OBJECTS, SATIRE,
                                              SCENES, SPLITS, SYMBOLS, TARGET_FRAMES, Template, template_counts,
                                              templates, world)

__all__ = ["ABUSIVE", "BENIGN", "CLASSES", "COLUMNS", "FLIPS", "MemeCorpusConfig", "NEUTRAL", "OBJECTS", "SATIRE",
           "SCENES", "SPLITS", "SYMBOLS", "TARGET_FRAMES", "Template", "cached_memes", "generate_memes", "plan",
           "render", "template_counts", "templates", "world"]
