"""The public deepfake datasets' layouts and the workbench's own, each parsed into the common frame
(``rows.to_frame``); the layouts are described in ``workbench.deepfake.datasets``.

Used by deepfake.datasets (``load_dataset``, ``detect_format``), the deepfake CLI and the P6 builder.
"""
from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

from workbench import WorkbenchError
from workbench.deepfake.datasets.rows import (LABEL_Y, MAX_META_BYTES, check_missing_mode, check_root, check_splits,
                                              read_text, to_frame)
from workbench.media.files import AUDIO_EXTS, VIDEO_EXTS, check_size, media_kind

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


# ------------------------------------------------------------------------------------------ ASVspoof 2019 LA


def _la_dir(root: Path) -> Path:
    for cand in (root / "LA", root):
        if (cand / ASV_PROTOCOL_DIR).is_dir():
            return cand
    raise WorkbenchError(f"{root}: not an ASVspoof 2019 LA folder; expected {root / 'LA' / ASV_PROTOCOL_DIR}/")


def load_asvspoof2019_la(root: str | Path, *, splits=ASV_SPLITS, missing: str = "error"):
    """ASVspoof 2019 logical access: one row per protocol line of the chosen ``splits``."""
    root = check_root(root)
    missing = check_missing_mode(missing)
    la = _la_dir(root)
    rows = []
    for split in check_splits(splits, ASV_SPLITS):
        proto = la / ASV_PROTOCOL_DIR / ASV_PROTOCOLS[split]
        audio_dir = la / f"ASVspoof2019_LA_{split}" / "flac"
        for no, line in enumerate(read_text(proto, f"{split} protocol").splitlines(), start=1):
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
    return to_frame(rows, ["speaker"], where=la / ASV_PROTOCOL_DIR, missing=missing)


# ---------------------------------------------------------------------------------------------------- DECRO


def _media_files(folder: Path, exts) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in exts)


def load_decro(root: str | Path, *, splits=DECRO_SPLITS, languages=tuple(DECRO_LANGUAGES)):
    """DECRO in the layout ``root/{en,ch}/{train,dev,eval}/{bonafide,spoof}/`` (see the module docstring)."""
    root = check_root(root)
    splits = check_splits(splits, DECRO_SPLITS)
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
    return to_frame(rows, ["subset"], where=root, missing="error")


# ---------------------------------------------------------------------------------------------- FakeAVCeleb


def _read_fav_csv(path: Path):
    import pandas as pd

    text = read_text(path, "FakeAVCeleb metadata")
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
    root = check_root(root)
    missing = check_missing_mode(missing)
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
    return to_frame(rows, extras, where=meta, missing=missing)


# ----------------------------------------------------------------------------------------------------- DFDC


def load_dfdc(root: str | Path, *, missing: str = "error"):
    """DFDC training parts: every ``metadata.json`` in ``root`` and its immediate subfolders."""
    root = check_root(root)
    missing = check_missing_mode(missing)
    metas = ([root / "metadata.json"] if (root / "metadata.json").is_file() else []) + sorted(
        d / "metadata.json" for d in root.iterdir() if d.is_dir() and (d / "metadata.json").is_file())
    if not metas:
        raise WorkbenchError(f"{root}: no metadata.json here or in its immediate subfolders (DFDC layout: "
                             f"dfdc_train_part_N/metadata.json next to the clips)")
    rows = []
    for meta in metas:
        try:
            entries = json.loads(read_text(meta, "DFDC metadata"))
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
    return to_frame(rows, ["original", "part"], where=where, missing=missing)


# ------------------------------------------------------------------------------------------- generic folder


def load_folder(root: str | Path, *, name: str | None = None):
    """Any ``real|bonafide`` / ``fake|spoof`` folder pair of audio or video files (see the module docstring)."""
    root = check_root(root)
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
    return to_frame(rows, [], where=root, missing="error")


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

    root = check_root(root)
    check_missing_mode(missing)
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
    return to_frame(rows, extras, where=path, missing=missing)




__all__ = ["load_asvspoof2019_la", "load_decro", "load_dfdc", "load_fakeavceleb", "load_folder", "load_manifest"]
