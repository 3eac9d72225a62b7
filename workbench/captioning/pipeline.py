"""Zero-shot audio captioning end to end (P9): clip → keywords → prompt → captions; evaluation sets and ablation.

``Captioner(scorer, lm, vocabulary)`` embeds the vocabulary once; ``caption(audio, l, decoders)`` returns the top-l
keywords with their cosine, the prompt built from them (``decoding.caption_prompt``: "Objects: kw1, and a kw2.
This is a sound of" after the instruction, as ZerAuCap writes it) and one caption per decoder — greedy, contrastive
search (β = 0; α = ``contrastive_alpha``, 0.1 as in SimCTG, since with α = 0 it would be greedy) and MAGIC (k, α,
β; the audio port's k 45, α 0, β 0.5 by default).

``evaluate(captioner, clips, …)`` captions every clip of a set, scores each decoder with
``metrics.evaluate_captions`` (BLEU-1..4, METEOR (exact+stem), ROUGE-L, CIDEr-D; SPICE and SPIDEr reported as not
computed) and the **audio–caption score** (the scorer's cosine between the clip and its caption: does MAGIC's audio
term move captions toward the audio?), and runs the keyword-count ablation (MAGIC with l = 0, 1, 2, 3, 5).

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

import numpy as np

from workbench import WorkbenchError

DECODERS = ("greedy", "contrastive", "magic")
ABLATION = (0, 1, 2, 3, 5)
FILE_COLUMNS = ("file", "file_name", "path", "audio", "fname")


class Captioner:
    def __init__(self, scorer, lm, vocabulary: list[str]):
        if not vocabulary:
            raise WorkbenchError("the keyword vocabulary is empty")
        self.scorer, self.lm, self.vocabulary = scorer, lm, list(vocabulary)
        self.vocab_emb = scorer.embed_text(self.vocabulary)

    @property
    def models(self) -> list[str]:
        return list(getattr(self.scorer, "models", [self.scorer.name])) + [self.lm.name]

    def keywords(self, audio_embedding: np.ndarray, l: int) -> list[dict]:
        if l < 0:
            raise WorkbenchError(f"the number of keywords must be ≥ 0, not {l}")
        sims = self.vocab_emb @ np.asarray(audio_embedding, np.float32).reshape(-1)
        order = np.argsort(-sims, kind="stable")[:l]
        return [{"keyword": self.vocabulary[i], "score": float(sims[i])} for i in order]

    def caption(self, audio: np.ndarray, *, l: int = 2, decoders=DECODERS, k: int = 45, alpha: float = 0.0,
                beta: float = 0.5, max_new_tokens: int = 20, audio_embedding=None,
                contrastive_alpha: float = 0.1) -> dict:
        """{"keywords": [{keyword, score}], "prompt", "captions": {decoder: text}, "audio_scores": {decoder: cos},
        "seconds": {decoder: s}}."""
        from workbench.captioning.decoding import caption_prompt, contrastive, greedy, magic

        unknown = [d for d in decoders if d not in DECODERS]
        if unknown:
            raise WorkbenchError(f"unknown decoder(s) {unknown}; choose from {', '.join(DECODERS)}")
        emb = self.scorer.embed_audio([audio])[0] if audio_embedding is None else audio_embedding
        keywords = self.keywords(emb, l)
        prompt = caption_prompt(self.lm, [kw["keyword"].lower() for kw in keywords])
        out = {"keywords": keywords, "prompt": prompt, "captions": {}, "audio_scores": {}, "seconds": {}}
        for name in decoders:
            if name == "greedy":
                res = greedy(self.lm, prompt, max_new_tokens=max_new_tokens)
            elif name == "contrastive":
                res = contrastive(self.lm, prompt, k=k, alpha=contrastive_alpha, max_new_tokens=max_new_tokens)
            else:
                res = magic(self.lm, prompt, self.scorer, emb, k=k, alpha=alpha, beta=beta,
                            max_new_tokens=max_new_tokens)
            out["captions"][name] = res.text
            out["seconds"][name] = float(res.seconds)
        texts = [out["captions"][d] or " " for d in decoders]
        cos = self.scorer.embed_text(texts) @ emb
        out["audio_scores"] = {d: float(c) for d, c in zip(decoders, cos)}
        return out


def captioner_for_profile(profile: str | None = None, *, progress=None) -> Captioner:
    """The active profile's scorer, caption LM and the bundled vocabulary."""
    from workbench.captioning.clap import scorer_for_profile
    from workbench.captioning.sounds import load_vocabulary
    from workbench.models import load
    from workbench.profiles import get_profile

    scorer = scorer_for_profile(profile, progress=progress)
    return Captioner(scorer, load(get_profile(profile).model_for("caption_lm")), load_vocabulary())


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
             alpha: float = 0.0, beta: float = 0.5, max_new_tokens: int = 20, progress=None) -> dict:
    """Caption every clip; {"outputs": frame, "metrics": frame (one row per decoder), "ablation": frame (MAGIC,
    one row per l), "not_computed": {...}, "models": [...]}."""
    import pandas as pd

    from workbench.captioning.metrics import evaluate_captions
    from workbench.deepfake.media import load_audio

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

    def score(sub) -> dict:
        result = evaluate_captions(sub["caption"].tolist(), sub["references"].tolist())
        return {**{k: 100 * v for k, v in result["scores"].items()}, "NLG mean": result["nlg_mean"],
                "audio–caption cosine": float(sub["audio_score"].mean()), "clips": len(sub)}, result

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
            "not_computed": not_computed, "nlg_mean_over": over, "models": captioner.models,
            "settings": {"l": l, "k": k, "alpha": alpha, "beta": beta, "max_new_tokens": max_new_tokens}}


__all__ = ["ABLATION", "Captioner", "DECODERS", "captioner_for_profile", "evaluate", "load_caption_set"]
