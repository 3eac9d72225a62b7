"""Deepfake datasets (P6 ConLLM) in their public layouts, as one frame layout for every source.

Used by the deepfake CLI (``deepfake train/eval --data``), deepfake.training (the synthetic corpora's manifests)
and the P6 notebook. The frame's columns and the missing-file rules are in ``rows``; each layout's parser is in
``formats``.

Layouts:

* **ASVspoof 2019 LA** — ``load_asvspoof2019_la(root, splits=("train", "dev", "eval"))``. ``root`` is the folder
  holding ``LA/`` (or ``LA/`` itself [ours]). Protocols ``LA/ASVspoof2019_LA_cm_protocols/
  ASVspoof2019.LA.cm.{train.trn,dev.trl,eval.trl}.txt``; each non-blank line has 5 whitespace-separated fields
  ``SPEAKER_ID UTT_ID - ATTACK_ID bonafide|spoof`` (ATTACK_ID "-" for bona fide, A01–A19 for spoofs); audio at
  ``LA/ASVspoof2019_LA_{split}/flac/{UTT_ID}.flac``. A line with another field count or label is an error naming
  the protocol and line number. ``id`` = UTT_ID; ``language`` "en" (VCTK speakers); extra ``speaker``.
* **DECRO** — ``load_decro(root)``: we accept [ours] ``root/{en,ch}/{train,dev,eval}/{bonafide,spoof}/`` holding
  audio files (any of ``AUDIO_EXTS``, searched recursively). DECRO ships real and fake speech per language; arrange
  (or link) its folders this way. "ch" becomes ``language`` "zh" [ours: ISO code]. A requested language/split
  folder that is absent is skipped with a warning; extra ``subset`` = the language folder name.
* **FakeAVCeleb** (v1.2) — ``load_fakeavceleb(root)``: ``root/meta_data.csv`` with columns ``source, target1,
  target2, method, category, type, race, gender, path``; ``path`` is the file name and the file lives at
  ``root/{type}/{race}/{gender}/{source}/{path}``, ``type`` ∈ RealVideo-RealAudio, RealVideo-FakeAudio,
  FakeVideo-RealAudio, FakeVideo-FakeAudio. Unnamed columns are tolerated: a leading index column, and the trailing
  unnamed folder column of the public CSV ("FakeAVCeleb/RealVideo-RealAudio/African/men/id00076"), which is also
  tried (its first component replaced by ``root``) when the constructed path does not exist. ``label`` is bona fide
  only for RealVideo-RealAudio; extras ``video_y`` and ``audio_y`` (1 = real) come from the type name, plus
  ``speaker`` (the CSV's ``source``, renamed since ``source`` is the dataset column [ours]), ``target1``,
  ``target2``, ``method``, ``category``, ``type``, ``race``, ``gender``. ``attack`` = ``method`` unless it is
  "real"; ``modality`` "audiovisual"; ``split`` "all" (no official split — ``splits.disjoint_split`` / the CLI's
  ``--split-by speaker`` makes a speaker-disjoint one).
* **DFDC** — ``load_dfdc(root)``: ``metadata.json`` in ``root`` and/or its immediate subfolders (the
  ``dfdc_train_part_N`` folders), each mapping ``"xxx.mp4": {"label": "FAKE"|"REAL", "split": "train",
  "original": "yyy.mp4"|null}``; the clip sits next to its metadata.json. ``id`` = file stem; ``modality``
  "video" [ours: the label judges the whole clip; a few DFDC fakes also alter the audio]; extras ``original`` ("" if
  null) and ``part`` (the folder's name).
* **Any folder** — ``load_folder(root)``: immediate subfolders ``real/`` or ``bonafide/`` and ``fake/`` or
  ``spoof/`` (case-insensitive), searched recursively for audio and video files (``modality`` from the
  extension; other files are skipped with a warning). ``split`` is the first folder under the class folder named
  train, dev, val, valid, validation, eval or test, else "all" [ours]; ``source`` is ``name`` or the folder's name.

* **Manifest** — ``load_manifest(root)``: ``manifest.parquet`` or ``manifest.csv`` with ``path`` and ``label``
  and optional ``id``, ``split``, ``attack``, ``language``, ``modality``, ``video_y``, ``audio_y``, ``sync_y``
  [ours: the layout of the workbench's own synthetic corpora; -1 where a per-modality label is not given].

Data with one split only is split group-disjointly (by speaker, or by the clip a fake was made from) with
``splits.disjoint_split``; a model folder lists its training rows so that an evaluation can refuse them.

``load_dataset(root, fmt="auto", **options)`` dispatches on ``fmt`` ∈ ``FORMATS``; ``detect_format(root)`` tells
the layout from the files each one must have.
"""
from __future__ import annotations

from pathlib import Path

from workbench import WorkbenchError
from workbench.deepfake.datasets.formats import (ASV_PROTOCOL_DIR, DECRO_LANGUAGES, FAKE_DIRS, MANIFEST_NAMES,
                                                 REAL_DIRS, load_asvspoof2019_la, load_decro, load_dfdc,
                                                 load_fakeavceleb, load_folder, load_manifest)
from workbench.deepfake.datasets.rows import COLUMNS, check_root

FORMATS = {"asvspoof2019la": load_asvspoof2019_la, "decro": load_decro, "fakeavceleb": load_fakeavceleb,
           "dfdc": load_dfdc, "folder": load_folder, "manifest": load_manifest}


def detect_format(root: str | Path) -> str:
    """The layout of ``root``: manifest, asvspoof2019la, fakeavceleb, dfdc, decro or folder (checked in that
    order, from the files each layout must have)."""
    root = check_root(root)
    if any((root / n).is_file() for n in MANIFEST_NAMES):
        return "manifest"
    if any((d / ASV_PROTOCOL_DIR).is_dir() for d in (root / "LA", root)):
        return "asvspoof2019la"
    if (root / "meta_data.csv").is_file():
        return "fakeavceleb"
    if (root / "metadata.json").is_file() or any((d / "metadata.json").is_file() for d in root.iterdir()
                                                   if d.is_dir()):
        return "dfdc"
    if any((root / lang).is_dir() for lang in DECRO_LANGUAGES):
        return "decro"
    if any(d.is_dir() and d.name.lower() in REAL_DIRS + FAKE_DIRS for d in root.iterdir()):
        return "folder"
    raise WorkbenchError(f"{root}: not a dataset layout the workbench knows (looked for manifest.parquet/csv, an "
                         f"ASVspoof 2019 LA protocol folder, FakeAVCeleb meta_data.csv, DFDC metadata.json, DECRO "
                         f"en/ or ch/ folders, or real/ and fake/ folders)")


def load_dataset(root: str | Path, fmt: str = "auto", **options):
    """``FORMATS[fmt](root, **options)``; ``auto`` detects the layout; an unknown ``fmt`` is an error."""
    fmt = detect_format(root) if str(fmt).lower() == "auto" else str(fmt).lower()
    loader = FORMATS.get(fmt)
    if loader is None:
        raise WorkbenchError(f"unknown deepfake dataset format {fmt!r}; use auto or one of {', '.join(FORMATS)}")
    return loader(root, **options)


__all__ = ["COLUMNS", "FORMATS", "detect_format", "load_asvspoof2019_la", "load_dataset", "load_decro", "load_dfdc",
           "load_fakeavceleb", "load_folder", "load_manifest"]
