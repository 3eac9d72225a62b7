"""Deepfake datasets (P6 ConLLM) in their public layouts, as one frame layout for every source.

Columns of every loader's DataFrame, in this order, then the dataset's own extras:

* ``id`` — unique within the frame (the dataset's utterance/clip id, or the path relative to ``root`` without
  extension where the dataset has none);
* ``path`` — the media file as an absolute path (str), checked to exist (see *missing files* below);
* ``label`` — "bonafide" | "spoof"; datasets that say real/fake are mapped to the same two values (real →
  "bonafide", fake → "spoof") [ours: one vocabulary, so sets can be concatenated];
* ``y`` — int: 1 = bona fide / real, 0 = spoof / fake;
* ``modality`` — "audio" | "video" | "audiovisual";
* ``split`` — the dataset's own split name; "all" where the dataset has no official split [ours];
* ``source`` — the dataset name ("ASVspoof2019-LA", "DECRO", "FakeAVCeleb", "DFDC", or the folder's name);
* ``attack`` — the attack id or generation method, "" for bona fide rows and where the dataset does not say;
* ``language`` — ISO 639-1 code, or "" where unknown or mixed.

Missing files: a protocol or metadata file that names media absent from disk raises a ``WorkbenchError`` giving
the count and the first few paths; with ``missing="skip"`` those rows are dropped and the count is reported with
``warnings.warn``. A duplicated row (same id and same file) is dropped with a warning; one id naming two files is
an error. Metadata files above ``MAX_META_BYTES`` are refused. A loader that finds no media is an error.

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
  "real"; ``modality`` "audiovisual"; ``split`` "all" (no official split — make speaker-disjoint splits yourself).
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

``load_dataset(root, fmt="auto", **options)`` dispatches on ``fmt`` ∈ ``FORMATS``; ``detect_format(root)`` tells
the layout from the files each one must have.
"""
from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

from workbench import WorkbenchError
from workbench.media.files import AUDIO_EXTS, VIDEO_EXTS, check_size, media_kind

MAX_META_BYTES = 256 * 1024**2
COLUMNS = ["id", "path", "label", "y", "modality", "split", "source", "attack", "language"]
LABEL_Y = {"bonafide": 1, "spoof": 0}
MISSING_SHOWN = 5

ASV_SPLITS = ("train", "dev", "eval")
ASV_PROTOCOLS = {"train": "ASVspoof2019.LA.cm.train.trn.txt", "dev": "ASVspoof2019.LA.cm.dev.trl.txt",
                 "eval": "ASVspoof2019.LA.cm.eval.trl.txt"}
ASV_PROTOCOL_DIR = "ASVspoof2019_LA_cm_protocols"

DECRO_LANGUAGES = {"en": "en", "ch": "zh"}
DECRO_SPLITS = ("train", "dev", "eval")

FAV_TYPES = ("RealVideo-RealAudio", "RealVideo-FakeAudio", "FakeVideo-RealAudio", "FakeVideo-FakeAudio")
FAV_REQUIRED = ("source", "method", "type", "race", "gender", "path")
FAV_OPTIONAL = ("target1", "target2", "category")

REAL_DIRS = ("real", "bonafide")
FAKE_DIRS = ("fake", "spoof")
SPLIT_NAMES = ("train", "dev", "val", "valid", "validation", "eval", "test")


# --------------------------------------------------------------------------------------------------- helpers


def _root(root) -> Path:
    root = Path(root)
    if not root.exists():
        raise WorkbenchError(f"{root}: no such folder")
    if not root.is_dir():
        raise WorkbenchError(f"{root}: not a folder")
    return root


def _check_missing_mode(missing: str) -> str:
    if missing not in ("error", "skip"):
        raise WorkbenchError(f"missing must be 'error' or 'skip', not {missing!r}")
    return missing


def _read_text(path: Path, what: str) -> str:
    if not path.is_file():
        raise WorkbenchError(f"{path}: no such file (the {what})")
    check_size(path, MAX_META_BYTES, "metadata files")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WorkbenchError(f"{path}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def _splits(splits, allowed: tuple[str, ...]) -> tuple[str, ...]:
    splits = (splits,) if isinstance(splits, str) else tuple(splits)
    bad = [s for s in splits if s not in allowed]
    if bad or not splits:
        raise WorkbenchError(f"unknown split(s) {bad or '(none given)'}; use some of {', '.join(allowed)}")
    return splits


def _frame(rows: list[dict], extras: list[str], *, where, missing: str):
    """The loaders' common ending: missing files, duplicates, column order, dtypes."""
    import pandas as pd

    absent = [r for r in rows if not Path(r["path"]).is_file()]
    if absent:
        shown = ", ".join(str(r["path"]) for r in absent[:MISSING_SHOWN]) + (" …" if len(absent) > MISSING_SHOWN
                                                                             else "")
        if missing == "error":
            raise WorkbenchError(f"{where}: {len(absent)} of {len(rows)} listed media file(s) are missing, e.g. "
                                 f"{shown}; pass missing='skip' to drop them")
        warnings.warn(f"{where}: dropped {len(absent)} of {len(rows)} row(s) whose media file is missing, e.g. "
                      f"{shown}", stacklevel=3)
        keep = {id(r) for r in rows} - {id(r) for r in absent}
        rows = [r for r in rows if id(r) in keep]
    if not rows:
        raise WorkbenchError(f"{where}: no media files to load")
    frame = pd.DataFrame(rows)
    frame["path"] = [str(Path(p).absolute()) for p in frame["path"]]
    exact = frame.duplicated(["id", "path"])
    if exact.any():
        warnings.warn(f"{where}: dropped {int(exact.sum())} duplicated row(s), e.g. "
                      f"{frame.loc[exact, 'id'].head(3).tolist()}", stacklevel=3)
        frame = frame[~exact]
    clash = frame["id"][frame["id"].duplicated()].unique().tolist()
    if clash:
        raise WorkbenchError(f"{where}: {len(clash)} id(s) name more than one file, e.g. {clash[:3]}")
    frame["y"] = frame["label"].map(LABEL_Y).astype("int64")
    return frame[COLUMNS + extras].reset_index(drop=True)


# ------------------------------------------------------------------------------------------ ASVspoof 2019 LA


def _la_dir(root: Path) -> Path:
    for cand in (root / "LA", root):
        if (cand / ASV_PROTOCOL_DIR).is_dir():
            return cand
    raise WorkbenchError(f"{root}: not an ASVspoof 2019 LA folder; expected {root / 'LA' / ASV_PROTOCOL_DIR}/")


def load_asvspoof2019_la(root: str | Path, *, splits=ASV_SPLITS, missing: str = "error"):
    """ASVspoof 2019 logical access: one row per protocol line of the chosen ``splits``."""
    root = _root(root)
    missing = _check_missing_mode(missing)
    la = _la_dir(root)
    rows = []
    for split in _splits(splits, ASV_SPLITS):
        proto = la / ASV_PROTOCOL_DIR / ASV_PROTOCOLS[split]
        audio_dir = la / f"ASVspoof2019_LA_{split}" / "flac"
        for no, line in enumerate(_read_text(proto, f"{split} protocol").splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 5:
                raise WorkbenchError(f"{proto}: line {no}: expected 5 fields 'SPEAKER_ID UTT_ID - ATTACK_ID "
                                     f"bonafide|spoof', found {len(fields)}: {line.strip()[:80]!r}")
            speaker, utt, _, attack, label = fields
            if label not in LABEL_Y:
                raise WorkbenchError(f"{proto}: line {no}: label must be 'bonafide' or 'spoof', not {label!r}")
            rows.append({"id": utt, "path": audio_dir / f"{utt}.flac", "label": label, "modality": "audio",
                         "split": split, "source": "ASVspoof2019-LA", "attack": "" if attack == "-" else attack,
                         "language": "en", "speaker": speaker})
    return _frame(rows, ["speaker"], where=la / ASV_PROTOCOL_DIR, missing=missing)


# ---------------------------------------------------------------------------------------------------- DECRO


def _media_files(folder: Path, exts) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in exts)


def load_decro(root: str | Path, *, splits=DECRO_SPLITS, languages=tuple(DECRO_LANGUAGES)):
    """DECRO in the layout ``root/{en,ch}/{train,dev,eval}/{bonafide,spoof}/`` (see the module docstring)."""
    root = _root(root)
    splits = _splits(splits, DECRO_SPLITS)
    languages = (languages,) if isinstance(languages, str) else tuple(languages)
    bad = [lang for lang in languages if lang not in DECRO_LANGUAGES]
    if bad or not languages:
        raise WorkbenchError(f"unknown DECRO language(s) {bad or '(none given)'}; use some of "
                             f"{', '.join(DECRO_LANGUAGES)}")
    rows, absent = [], []
    for lang in languages:
        for split in splits:
            for label in LABEL_Y:
                folder = root / lang / split / label
                if not folder.is_dir():
                    absent.append(f"{lang}/{split}/{label}")
                    continue
                for path in _media_files(folder, AUDIO_EXTS):
                    rel = path.relative_to(root).with_suffix("").as_posix()
                    rows.append({"id": rel, "path": path, "label": label, "modality": "audio", "split": split,
                                 "source": "DECRO", "attack": "", "language": DECRO_LANGUAGES[lang],
                                 "subset": lang})
    if not rows:
        raise WorkbenchError(f"{root}: no DECRO audio found; expected {root}/{{en,ch}}/{{train,dev,eval}}/"
                             f"{{bonafide,spoof}}/*.wav|flac")
    if absent:
        warnings.warn(f"{root}: {len(absent)} DECRO folder(s) absent and skipped: {', '.join(absent[:6])}"
                      + (" …" if len(absent) > 6 else ""), stacklevel=2)
    return _frame(rows, ["subset"], where=root, missing="error")


# ---------------------------------------------------------------------------------------------- FakeAVCeleb


def _read_fav_csv(path: Path):
    import pandas as pd

    text = _read_text(path, "FakeAVCeleb metadata")
    tried = []
    for index_col in (False, None):  # None: pandas takes a leading unnamed field as the index
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ParserWarning for rows longer than the header
                df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, index_col=index_col)
        except Exception as exc:  # pandas raises several types for malformed CSV
            raise WorkbenchError(f"{path}: cannot be read as CSV ({type(exc).__name__}: {exc})") from None
        if index_col is None:
            df = df.reset_index(drop=True)
        df.columns = [str(c).strip() for c in df.columns]
        lacking = [c for c in FAV_REQUIRED if c not in df.columns]
        if lacking:
            raise WorkbenchError(f"{path}: not a FakeAVCeleb meta_data.csv; missing column(s) {', '.join(lacking)}; "
                                 f"columns: {', '.join(df.columns)}")
        df["type"] = df["type"].str.strip()
        bad = ~df["type"].isin(FAV_TYPES)
        if not bad.any():
            return df
        tried.append(df)
    df = tried[0]
    bad = (~df["type"].isin(FAV_TYPES)).to_numpy().nonzero()[0]
    lines = ", ".join(str(i + 2) for i in bad[:5])
    raise WorkbenchError(f"{path}: {len(bad)} row(s) with a 'type' other than {', '.join(FAV_TYPES)} (lines "
                         f"{lines}), e.g. {df['type'].iloc[bad[0]]!r}")


def load_fakeavceleb(root: str | Path, *, missing: str = "error"):
    """FakeAVCeleb v1.2 from ``root/meta_data.csv``: one audio-visual row per listed clip."""
    root = _root(root)
    missing = _check_missing_mode(missing)
    meta = root / "meta_data.csv"
    df = _read_fav_csv(meta)
    hint_cols = [c for c in df.columns if c.startswith("Unnamed") or not c]
    rows = []
    for i, r in enumerate(df.to_dict("records")):
        name = str(r["path"]).strip()
        if not name:
            raise WorkbenchError(f"{meta}: line {i + 2}: empty 'path'")
        kind = r["type"]
        candidates = [root / kind / r["race"].strip() / r["gender"].strip() / r["source"].strip() / name]
        for c in hint_cols:
            hint = str(r.get(c, "")).strip().strip("/")
            if "/" in hint:
                parts = Path(hint).parts
                rest = parts[1:] if parts[0] not in FAV_TYPES else parts
                candidates.append(root.joinpath(*rest) / name)
        if "/" in name:
            candidates.append(root / name)
        path = next((p for p in candidates if p.is_file()), candidates[0])
        try:
            rid = path.relative_to(root).with_suffix("").as_posix()
        except ValueError:
            rid = path.with_suffix("").as_posix()
        method = str(r["method"]).strip()
        real = kind == "RealVideo-RealAudio"
        rows.append({"id": rid, "path": path, "label": "bonafide" if real else "spoof", "modality": "audiovisual",
                     "split": "all", "source": "FakeAVCeleb", "attack": "" if method == "real" else method,
                     "language": "", "speaker": r["source"].strip(),
                     **{c: str(r.get(c, "")).strip() for c in FAV_OPTIONAL},
                     "method": method, "type": kind, "race": r["race"].strip(), "gender": r["gender"].strip(),
                     "video_y": int(kind.startswith("RealVideo")), "audio_y": int(kind.endswith("RealAudio"))})
    extras = ["speaker", "target1", "target2", "method", "category", "type", "race", "gender", "video_y", "audio_y"]
    return _frame(rows, extras, where=meta, missing=missing)


# ----------------------------------------------------------------------------------------------------- DFDC


def load_dfdc(root: str | Path, *, missing: str = "error"):
    """DFDC training parts: every ``metadata.json`` in ``root`` and its immediate subfolders."""
    root = _root(root)
    missing = _check_missing_mode(missing)
    metas = ([root / "metadata.json"] if (root / "metadata.json").is_file() else []) + sorted(
        d / "metadata.json" for d in root.iterdir() if d.is_dir() and (d / "metadata.json").is_file())
    if not metas:
        raise WorkbenchError(f"{root}: no metadata.json here or in its immediate subfolders (DFDC layout: "
                             f"dfdc_train_part_N/metadata.json next to the clips)")
    rows = []
    for meta in metas:
        try:
            entries = json.loads(_read_text(meta, "DFDC metadata"))
        except json.JSONDecodeError as exc:
            raise WorkbenchError(f"{meta}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
        if not isinstance(entries, dict):
            raise WorkbenchError(f"{meta}: expected a JSON object mapping clip names to {{label, split, original}}")
        for clip, info in entries.items():
            if not isinstance(info, dict) or str(info.get("label", "")).upper() not in ("FAKE", "REAL"):
                got = info.get("label") if isinstance(info, dict) else info
                raise WorkbenchError(f"{meta}: entry {clip!r}: label must be 'FAKE' or 'REAL', not {got!r}")
            real = str(info["label"]).upper() == "REAL"
            rows.append({"id": Path(clip).stem, "path": meta.parent / clip, "label": "bonafide" if real else "spoof",
                         "modality": "video", "split": str(info.get("split") or "all"), "source": "DFDC",
                         "attack": "", "language": "", "original": str(info.get("original") or ""),
                         "part": meta.parent.name})
    where = metas[0] if len(metas) == 1 else f"{root} ({len(metas)} metadata.json files)"
    return _frame(rows, ["original", "part"], where=where, missing=missing)


# ------------------------------------------------------------------------------------------- generic folder


def load_folder(root: str | Path, *, name: str | None = None):
    """Any ``real|bonafide`` / ``fake|spoof`` folder pair of audio or video files (see the module docstring)."""
    root = _root(root)
    classes = []
    for d in sorted(root.iterdir()):
        if d.is_dir() and d.name.lower() in REAL_DIRS + FAKE_DIRS:
            classes.append((d, "bonafide" if d.name.lower() in REAL_DIRS else "spoof"))
    if not classes:
        children = ", ".join(sorted(p.name for p in root.iterdir())[:10]) or "(empty)"
        raise WorkbenchError(f"{root}: expected subfolders real/ (or bonafide/) and fake/ (or spoof/); found "
                             f"{children}")
    exts = AUDIO_EXTS + VIDEO_EXTS
    rows, skipped = [], 0
    for folder, label in classes:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            if path.suffix.lower() not in exts:
                skipped += 1
                continue
            inner = [part.lower() for part in path.relative_to(folder).parts[:-1]]
            split = next((part for part in inner if part in SPLIT_NAMES), "all")
            rows.append({"id": path.relative_to(root).with_suffix("").as_posix(), "path": path, "label": label,
                         "modality": media_kind(path), "split": split, "source": name or root.name, "attack": "",
                         "language": ""})
    if not rows:
        raise WorkbenchError(f"{root}: no audio or video files under {', '.join(d.name + '/' for d, _ in classes)}")
    if skipped:
        warnings.warn(f"{root}: skipped {skipped} file(s) that are neither audio ({' '.join(AUDIO_EXTS)}) nor "
                      f"video ({' '.join(VIDEO_EXTS)})", stacklevel=2)
    present = {r["label"] for r in rows}
    if len(present) == 1:
        warnings.warn(f"{root}: only {present.pop()} files found; the other class is absent", stacklevel=2)
    return _frame(rows, [], where=root, missing="error")


# -------------------------------------------------------------------------------------------------- manifest

MANIFEST_NAMES = ("manifest.parquet", "manifest.csv")
MANIFEST_LABELS = {"bonafide": "bonafide", "real": "bonafide", "spoof": "spoof", "fake": "spoof"}
MANIFEST_EXTRAS = ("video_y", "audio_y", "sync_y")


def load_manifest(root: str | Path, *, missing: str = "error"):
    """A folder with ``manifest.parquet`` or ``manifest.csv``: columns ``path`` (relative to the folder or
    absolute) and ``label`` (bonafide/real or spoof/fake), optionally ``id``, ``split``, ``attack``,
    ``language``, ``modality`` and the per-modality labels ``video_y``, ``audio_y``, ``sync_y`` (1 = genuine)
    [ours: the layout the workbench's synthetic corpora are written in]."""
    import pandas as pd

    root = _root(root)
    _check_missing_mode(missing)
    path = next((root / n for n in MANIFEST_NAMES if (root / n).is_file()), None)
    if path is None:
        raise WorkbenchError(f"{root}: no {' or '.join(MANIFEST_NAMES)}")
    check_size(path, MAX_META_BYTES, "metadata files")
    try:
        table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:
        raise WorkbenchError(f"{path}: cannot be read ({type(exc).__name__}: {exc})") from None
    lacking = [c for c in ("path", "label") if c not in table.columns]
    if lacking:
        raise WorkbenchError(f"{path}: no column(s) {', '.join(lacking)}; columns: "
                             f"{', '.join(map(str, table.columns))}")
    labels = table["label"].astype(str).str.lower().map(MANIFEST_LABELS)
    if labels.isna().any():
        bad = table.loc[labels.isna(), "label"].astype(str).unique().tolist()[:3]
        raise WorkbenchError(f"{path}: unknown label(s) {bad}; use bonafide/real or spoof/fake")
    extras = [c for c in MANIFEST_EXTRAS if c in table.columns]
    rows = []
    for i, (rec, label) in enumerate(zip(table.to_dict("records"), labels)):
        media = Path(str(rec["path"]))
        media = media if media.is_absolute() else root / media
        row = {"id": str(rec.get("id", Path(str(rec["path"])).with_suffix("").as_posix())), "path": media,
               "label": label, "split": str(rec.get("split", "all")), "source": root.name,
               "attack": "" if str(rec.get("attack", "")) in ("-", "nan") else str(rec.get("attack", "")),
               "language": str(rec.get("language", "") if pd.notna(rec.get("language", "")) else "")}
        row["modality"] = str(rec["modality"]) if "modality" in rec else media_kind(media)
        if row["modality"] not in ("audio", "video", "audiovisual"):
            raise WorkbenchError(f"{path}: row {i + 1} has modality {row['modality']!r}; use audio, video or "
                                 f"audiovisual")
        for c in extras:
            row[c] = int(rec[c]) if pd.notna(rec[c]) else -1
        rows.append(row)
    return _frame(rows, extras, where=path, missing=missing)


# -------------------------------------------------------------------------------------------------- dispatch

FORMATS = {"asvspoof2019la": load_asvspoof2019_la, "decro": load_decro, "fakeavceleb": load_fakeavceleb,
           "dfdc": load_dfdc, "folder": load_folder, "manifest": load_manifest}


def detect_format(root: str | Path) -> str:
    """The layout of ``root``: manifest, asvspoof2019la, fakeavceleb, dfdc, decro or folder (checked in that
    order, from the files each layout must have)."""
    root = _root(root)
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
