"""Evaluation of zero-shot audio captioning (P9): caption sets in their common layouts, metrics and the ablation.

Used by ``captioning.artifacts`` (the ``caption_eval`` builder), the CLI (``caption eval``) and the P9 notebook.

``evaluate(captioner, clips, …)`` captions every clip of a set, scores each decoder with
``metrics.evaluate_captions`` (BLEU-1..4, METEOR (exact+stem), ROUGE-L, CIDEr-D; SPICE and SPIDEr reported as not
computed), the **audio–caption cosine** in the guide's own space (``GUIDE_COSINE``: self-scored — MAGIC picks tokens
with that scorer, so it shows the audio term at work, not caption quality) and, when a ``judge`` is given, the
**audio–caption score of an independent judge** (``JUDGE_SCORE``: a second audio-text model that never guides
decoding, ``clap.judge_scorer``), and runs the keyword-count ablation (MAGIC with l = 0, 1, 2, 3, 5).

Sets (``load_caption_set``): a folder with the workbench's ``manifest.parquet`` (``path``, ``captions``), a Clotho
CSV (``file_name``, ``caption_1`` … ``caption_5``), any CSV with a file column (``file``, ``file_name``, ``path``,
``audio``) and a ``caption`` column (one row per caption; AudioCaps-style), or a JSON list of ``{"file"|"audio"|
"path": …, "captions": [...]}`` (WavCaps-style ``{"data": [{"audio", "caption"}]}`` too). Audio paths are relative
to the folder (searched below it by file name when not found directly). Missing files are an error naming the
first few.
"""
from __future__ import annotations

import json
from pathlib import Path

from workbench import WorkbenchError
from workbench.captioning.captioner import DECODERS, Captioner

ABLATION = (0, 1, 2, 3, 5)
GUIDE_COSINE = "audio–caption cosine"                     # self-scored: the scorer that guides MAGIC
JUDGE_SCORE = "audio–caption cosine (independent judge)"  # a scorer that never guides decoding
FILE_COLUMNS = ("file", "file_name", "path", "audio", "fname")


# ---------------------------------------------------------------------------------------------- sets


def _find(root: Path, name: str, index: dict | None) -> Path | None:
    direct = root / name
    if direct.is_file():
        return direct
    if index is None:
        return None
    return index.get(Path(name).name)


def load_caption_set(root: str | Path):
    """A frame with ``id``, ``path`` (absolute) and ``captions`` (list) for a set in any supported layout."""
    import pandas as pd

    root = Path(root)
    if not root.is_dir():
        raise WorkbenchError(f"{root}: no such folder")
    rows: list[dict] = []
    if (root / "manifest.parquet").is_file():
        table = pd.read_parquet(root / "manifest.parquet")
        if "captions" not in table.columns or "path" not in table.columns:
            raise WorkbenchError(f"{root / 'manifest.parquet'}: needs path and captions columns")
        rows = [{"id": str(r.get("id", r["path"])), "file": str(r["path"]), "captions": list(r["captions"]),
                 **({"split": r["split"]} if "split" in r else {})} for r in table.to_dict("records")]
    else:
        tables = sorted(root.glob("*.csv")) + sorted(root.glob("*.json"))
        if not tables:
            raise WorkbenchError(f"{root}: no manifest.parquet, CSV or JSON captions file")
        for path in tables:
            rows += _rows_from(path)
    if not rows:
        raise WorkbenchError(f"{root}: no clips with captions")
    index = None
    out = []
    missing = []
    for r in rows:
        found = _find(root, r["file"], index)
        if found is None and index is None:
            index = {p.name: p for p in root.rglob("*") if p.is_file()}
            found = _find(root, r["file"], index)
        if found is None:
            missing.append(r["file"])
            continue
        captions = [str(c).strip() for c in r["captions"] if str(c).strip()]
        if not captions:
            raise WorkbenchError(f"{root}: clip {r['file']} has no caption")
        out.append({**r, "path": str(found.absolute()), "captions": captions})
    if missing:
        raise WorkbenchError(f"{root}: {len(missing)} audio file(s) named in the captions are missing, e.g. "
                             f"{', '.join(missing[:3])}")
    frame = pd.DataFrame(out).drop(columns=["file"])
    return frame


def _rows_from(path: Path) -> list[dict]:
    import pandas as pd

    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise WorkbenchError(f"{path}: not valid JSON ({exc})") from None
        items = data.get("data", data) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise WorkbenchError(f"{path}: expected a list of clips (or {{'data': [...]}})")
        grouped: dict[str, list[str]] = {}
        for item in items:
            name = next((item.get(c) for c in FILE_COLUMNS if isinstance(item, dict) and item.get(c)), None)
            if name is None:
                raise WorkbenchError(f"{path}: an entry has none of the file keys {', '.join(FILE_COLUMNS)}")
            caps = item.get("captions", item.get("caption", []))
            grouped.setdefault(str(name), []).extend([caps] if isinstance(caps, str) else list(caps))
        return [{"id": Path(n).stem, "file": n, "captions": c} for n, c in grouped.items()]
    table = pd.read_csv(path)
    caption_cols = [c for c in table.columns if str(c).startswith("caption_")]
    file_col = next((c for c in FILE_COLUMNS if c in table.columns), None)
    if file_col is None:
        raise WorkbenchError(f"{path}: no file column ({', '.join(FILE_COLUMNS)}); columns: "
                             f"{', '.join(map(str, table.columns))}")
    if caption_cols:                                                     # Clotho
        return [{"id": Path(str(r[file_col])).stem, "file": str(r[file_col]),
                 "captions": [r[c] for c in caption_cols if isinstance(r[c], str)]} for _, r in table.iterrows()]
    if "caption" not in table.columns:
        raise WorkbenchError(f"{path}: no caption column (caption, or caption_1 … caption_5)")
    grouped = table.groupby(file_col, sort=False)["caption"].apply(list)
    return [{"id": Path(str(f)).stem, "file": str(f), "captions": caps} for f, caps in grouped.items()]


# ---------------------------------------------------------------------------------------------- evaluation


def evaluate(captioner: Captioner, clips, *, l: int = 2, ablation=ABLATION, decoders=DECODERS, k: int = 45,
             alpha: float = 0.0, beta: float = 0.5, max_new_tokens: int = 20, progress=None, judge=None) -> dict:
    """Caption every clip; {"outputs": frame, "metrics": frame (one row per decoder), "ablation": frame (MAGIC,
    one row per l), "not_computed": {...}, "models": [...], "judge": name or None}. With a ``judge`` every caption
    also gets ``judge_score`` (its cosine with the clip in the judge's space) and the tables ``JUDGE_SCORE``."""
    import pandas as pd

    from workbench.captioning.metrics import evaluate_captions
    from workbench.media.audio import load_audio

    report = progress or (lambda f, m: None)
    clips = clips.reset_index(drop=True)
    if not len(clips):
        raise WorkbenchError("no clips to evaluate")
    ablation = sorted(set(int(x) for x in ablation) - {l})
    emb = captioner.scorer.embed_audio([load_audio(p) for p in clips["path"]])
    runs = [(l, tuple(decoders))] + [(x, ("magic",)) for x in ablation]
    total = len(clips) * len(runs)
    rows = []
    for r, (n_kw, decs) in enumerate(runs):
        for i, clip in clips.iterrows():
            out = captioner.caption(None, l=n_kw, decoders=decs, k=k, alpha=alpha, beta=beta,
                                    max_new_tokens=max_new_tokens, audio_embedding=emb[i])
            for d in decs:
                rows.append({"id": clip["id"], "l": n_kw, "decoder": d, "caption": out["captions"][d],
                             "audio_score": out["audio_scores"][d], "seconds": out["seconds"][d],
                             "keywords": [kw["keyword"] for kw in out["keywords"]], "prompt": out["prompt"],
                             "references": list(clip["captions"])})
            done = r * len(clips) + i + 1
            report(done / total, f"l = {n_kw}: {i + 1}/{len(clips)}")
    outputs = pd.DataFrame(rows)
    if judge is not None:
        import numpy as np

        judge_audio = judge.embed_audio([load_audio(p) for p in clips["path"]])
        where = {str(c): i for i, c in enumerate(clips["id"])}
        text = judge.embed_text([c or " " for c in outputs["caption"]])
        outputs["judge_score"] = np.einsum("nd,nd->n", text, judge_audio[[where[str(c)] for c in outputs["id"]]])

    def score(sub) -> dict:
        result = evaluate_captions(sub["caption"].tolist(), sub["references"].tolist())
        extra = {JUDGE_SCORE: float(sub["judge_score"].mean())} if "judge_score" in sub else {}
        return {**{k: 100 * v for k, v in result["scores"].items()}, "NLG mean": result["nlg_mean"],
                GUIDE_COSINE: float(sub["audio_score"].mean()), **extra, "clips": len(sub)}, result

    metrics, ablation_rows, not_computed, over = [], [], {}, []
    for d in decoders:
        values, result = score(outputs[(outputs["l"] == l) & (outputs["decoder"] == d)])
        metrics.append({"decoder": d, "l": l, **values})
        not_computed, over = result["not_computed"], result["nlg_mean_over"]
    for n_kw in sorted(set([l] + ablation)):
        sub = outputs[(outputs["l"] == n_kw) & (outputs["decoder"] == "magic")]
        if len(sub):
            values, _ = score(sub)
            ablation_rows.append({"l": n_kw, **values})
    return {"outputs": outputs, "metrics": pd.DataFrame(metrics), "ablation": pd.DataFrame(ablation_rows),
            "not_computed": not_computed, "nlg_mean_over": over,
            "models": captioner.models[:-1] + ([f"{judge.name} (judge)"] if judge is not None else [])
            + captioner.models[-1:],                                       # the caption LM stays last
            "judge": None if judge is None else judge.name,
            "settings": {"l": l, "k": k, "alpha": alpha, "beta": beta, "max_new_tokens": max_new_tokens}}


__all__ = ["ABLATION", "GUIDE_COSINE", "JUDGE_SCORE", "evaluate", "load_caption_set"]
