"""A trained ConLLM pipeline (P6) loaded from its folder: scores rows and single files, builds the reasoning
stage's evidence.

Used by deepfake.training (which writes the folder), deepfake.evaluation, the deepfake CLI (``deepfake score``),
the dashboard's deepfake view and the P6 builder.

Scoring a row gives ``score_audio``, ``score_video``, ``score_audiovisual`` (logit of P(bona fide): higher =
more bona fide, the ASVspoof orientation), the audio–video ``agreement`` and the cues. The pipeline's
**detector score** is the audiovisual score when the row has both streams, else the one it has [ours]. The
**reasoning stage** (``workbench.deepfake.reasoning``) gives an LLM the scores, thresholds, agreement and cues as
text; its verdict is read from P(" real") vs P(" fake"), so it is evaluated as a score of its own
(``evaluation.evaluate``: EER and accuracy with and without the reasoning stage).

The model folder: ``model.json`` (config, profile, encoders, detectors with thresholds and dev EERs, cue
references, training data summary and, for a group-disjoint split, how it was made), ``training_rows.json`` (the
``source/id`` of every training row), ``audio_encoder/``, ``video_encoder/`` (default profile), and
``detector-{audio,video,audiovisual}/`` — safetensors and JSON only (``io.save_weights``).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from workbench import WorkbenchError
from workbench.deepfake.config import STREAMS, PipelineConfig
from workbench.deepfake.inputs import embed_rows, has_sound, load_encoder, measure_cues, stream_inputs


TRAINING_ROWS = "training_rows.json"


class DeepfakeModel:
    """A trained pipeline: encoders, detectors, thresholds (see the module docstring)."""

    def __init__(self, folder: Path, meta: dict, audio_encoder, video_encoder, detectors: dict):
        self.folder, self.meta = folder, meta
        self.config = PipelineConfig.from_dict(meta["config"])
        self.audio_encoder, self.video_encoder, self.detectors = audio_encoder, video_encoder, detectors

    @property
    def thresholds(self) -> dict[str, float]:
        return {k: v["threshold"] for k, v in self.meta["detectors"].items()}

    @property
    def reasoning_threshold(self) -> float:
        """The reasoning stage's decision threshold on log P(real) − log P(fake), calibrated on the dev rows at
        training (0 when it was not)."""
        return float(self.meta.get("reasoning", {}).get("threshold", 0.0))

    @property
    def models(self) -> list[str]:
        return [m for m in (self.meta["encoders"].get("audio"), self.meta["encoders"].get("video")) if m]

    def trained_on(self) -> set[str] | None:
        """The ``source/id`` of every row the model was trained on (dev rows included); None for a folder written
        before the list was kept."""
        path = self.folder / TRAINING_ROWS
        if not path.is_file():
            return None
        return set(json.loads(path.read_text())["rows"])

    @classmethod
    def load(cls, folder: str | Path) -> "DeepfakeModel":
        from workbench.deepfake.detector import load_detector

        folder = Path(folder)
        if not (folder / "model.json").is_file():
            raise WorkbenchError(f"{folder}: not a deepfake model (no model.json); train one with "
                                 f"`workbench deepfake train --data DIR --out {folder}`")
        meta = json.loads((folder / "model.json").read_text())
        config = PipelineConfig.from_dict(meta["config"])
        audio = load_encoder("audio", config, folder) if meta["encoders"].get("audio") else None
        video = load_encoder("video", config, folder) if meta["encoders"].get("video") else None
        detectors = {k: load_detector(folder / f"detector-{k}") for k in meta["detectors"]}
        return cls(folder, meta, audio, video, detectors)

    # -- embeddings and scores for a frame of rows
    def embed(self, frame, *, progress=None) -> dict[str, np.ndarray]:
        """{"audio": [N, Da] (NaN rows where a row has no sound), "video": [N, Dv] (NaN where no pictures)}."""
        return embed_rows(self.audio_encoder, self.video_encoder, frame, self.config, progress=progress)

    def score_embeddings(self, emb: dict[str, np.ndarray], cues: list[dict] | None = None) -> dict[str, np.ndarray]:
        """Every stream's score per row (NaN where the row lacks the stream) and the audio–video agreement;
        ``cues`` (from ``measure_cues``) are needed by an audiovisual detector trained with ``av_cues``."""
        from workbench.deepfake.detector import score

        n = len(next(iter(emb.values())))
        out = {f"score_{k}": np.full(n, np.nan) for k in STREAMS}
        out["agreement"] = np.full(n, np.nan)
        for stream, det in self.detectors.items():
            inputs, ok = stream_inputs(stream, emb, cues, self.config)
            if ok.any():
                s, agreement = score(det, [x[ok] for x in inputs])
                out[f"score_{stream}"][ok] = s
                if agreement is not None:
                    out["agreement"][ok] = agreement
        return out

    def detector_score(self, scores: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(the pipeline's detector score, its threshold) per row: audiovisual, else video, else audio."""
        n = len(scores["agreement"])
        final, thr = np.full(n, np.nan), np.full(n, np.nan)
        for stream in ("audio", "video", "audiovisual"):
            if stream in self.detectors:
                s = scores[f"score_{stream}"]
                ok = ~np.isnan(s)
                final[ok], thr[ok] = s[ok], self.thresholds[stream]
        return final, thr

    def evidence(self, scores: dict, cues: list[dict], i: int):
        from workbench.deepfake.reasoning import Evidence

        present = {k: float(scores[f"score_{k}"][i]) for k in self.detectors if not np.isnan(scores[f"score_{k}"][i])}
        agreement = scores["agreement"][i]
        ref = self.meta.get("cue_reference", {})
        described = {}
        for name, value in cues[i].items():
            if value is None or not np.isfinite(value):
                continue
            label = CUE_LABELS.get(name, name)
            if name in ref:
                label += f" (genuine training clips: {ref[name]['mean']:.2f} ± {ref[name]['std']:.2f})"
            described[label] = float(value)
        return Evidence(scores=present, thresholds={k: self.thresholds[k] for k in present},
                        agreement=None if np.isnan(agreement) else float(agreement), cues=described)

    def score_file(self, path: str | Path, *, lm=None, reasoning: bool = True, rationale_tokens: int = 48) -> dict:
        """One file → {"score", "verdict", "rationale", "modalities", "cues", …} (``workbench deepfake score``)."""
        import pandas as pd

        from workbench.media.files import check_media, media_kind

        path = check_media(path)
        kind = media_kind(path)
        modality = "audio"
        if kind == "video":
            modality = "audiovisual" if self.audio_encoder is not None and has_sound(path) else "video"
        frame = pd.DataFrame([{"path": str(path), "modality": modality, "y": -1}])
        emb = embed_rows(self.audio_encoder if modality != "video" else None,
                     self.video_encoder if kind == "video" else None, frame, self.config, cache=False)
        cues = measure_cues(frame, lip_sync=self.config.lip_sync)
        scores = self.score_embeddings(emb, cues)
        if all(np.isnan(scores[f"score_{k}"][0]) for k in STREAMS):
            raise WorkbenchError(f"{path}: this model has no detector for {modality} input (it has "
                                 f"{', '.join(self.detectors)})")
        final, thr = self.detector_score(scores)
        modalities = {k: {"score": float(scores[f"score_{k}"][0]), "threshold": self.thresholds[k],
                          "verdict": "real" if scores[f"score_{k}"][0] > self.thresholds[k] else "fake"}
                      for k in self.detectors if not np.isnan(scores[f"score_{k}"][0])}
        out = {"file": str(path), "score": float(final[0]), "threshold": float(thr[0]),
               "detector_verdict": "real" if final[0] > thr[0] else "fake", "modalities": modalities,
               "agreement": None if np.isnan(scores["agreement"][0]) else float(scores["agreement"][0]),
               "cues": {k: v for k, v in cues[0].items() if v is not None},
               "profile": self.meta["profile"], "models": self.models, "model_folder": str(self.folder)}
        if reasoning:
            from workbench.deepfake.reasoning import reason

            lm = lm or load_reasoner(self.meta["profile"])
            r = reason(lm, [self.evidence(scores, cues, 0)], rationale_tokens=rationale_tokens,
                       threshold=self.reasoning_threshold)[0]
            out.update(verdict=r["verdict"], rationale=r["rationale"].strip(), p_real=r["p_real"],
                       reasoning_score=r["score"], reasoning_threshold=self.reasoning_threshold, reasoner=lm.name)
        else:
            out.update(verdict=out["detector_verdict"], rationale=_plain_rationale(out), p_real=None,
                       reasoner=None)
        return out


CUE_LABELS = {"spectral_flatness": "spectral flatness of the audio",
              "sync_correlation": "lip–audio sync correlation (1 = the lips follow the sound)",
              "sync_offset_s": "lip–audio offset in seconds"}


def _plain_rationale(out: dict) -> str:
    parts = [f"the {k} detector scored {v['score']:+.2f} against its threshold {v['threshold']:+.2f} "
             f"({v['verdict']})" for k, v in out["modalities"].items()]
    return ("Without the reasoning stage: " + "; ".join(parts) + ".") if parts else ""


def load_reasoner(profile: str):
    """The profile's reasoning LLM (the model registry's "reasoner" role) on the engine ``--engine`` picks (the
    LLM-over-embeddings stage takes the HF model out of an ``hf`` engine: ``soft_prompt.causal_lm``)."""
    from workbench.engines import load_engine
    from workbench.profiles import get_profile

    return load_engine(get_profile(profile).model_for("reasoner"))



__all__ = ["CUE_LABELS", "DeepfakeModel", "load_reasoner"]
