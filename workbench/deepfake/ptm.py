"""The PTM ablation of P6 ConLLM: the same contrastive detectors on a pretrained audio encoder's embeddings and on
the small log-mel CNN's, trained on the same rows and scored on the same rows.

Used by the P6 builder (``deepfake_ptm``), the deepfake CLI (``deepfake ptm``), the P6 notebook, the dashboard's
deepfake view and the claims ledger (``deepfake_ptm_ablation``).

* ``WhisperEncoder`` — Whisper's encoder (the ``whisper-base`` CTranslate2 model of the default profile's wheels)
  as a frozen audio encoder [ours: the paper's PTM is wav2vec2-XLS-R-1B, which the default profile does not ship].
  A clip is cut or zero-padded to a fixed window (``window_s``, the pipeline's ``max_seconds``) rather than
  Whisper's 30 s [ours: the encoder runs on any even number of mel frames, and 30 s of mostly silence would cost
  five times as much], and the last encoder layer is **mean-pooled over the frames that cover the clip's samples**
  [ours, after ConLLM's mean of the last hidden state]; nothing of Whisper is trained.
* ``ptm_ablation(models, rows)`` — ``{encoder: DeepfakeModel}`` (the same training rows, seed and video encoder;
  only the audio encoder differs) scored by ``evaluation.evaluate`` (detector head only) on the same rows: per
  test (all rows, seen and unseen attacks) and per stage that reads the audio embedding (the audio and the
  audio-visual detectors, the pipeline score), each encoder's EER / AUC / accuracy with 95 % bootstrap CIs, and the
  **paired** difference pretrained − reference on the same resampled rows [ours: the paper does not say how its
  9–10 % is measured].
* ``ptm_models(spec, config)`` — the two models of the profile: the reference (log-mel CNN) and the pretrained
  encoder (``config.audio_encoder`` where the profile names one — the ``paper`` profile's XLS-R — else
  ``whisper-base``), each trained once on the synthetic corpora and cached (``training.default_model``).
* ``synthetic_ablation(smoke=…)`` — both on the synthetic corpora's eval split and on the real-speech test set
  (``real_speech_test``: pyannote's recording and local spoofs of it; the builder, ``deepfake ptm``);
  ``ptm_table(config)`` — the report as one table (the CLI, the notebook and the view show it).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from workbench import WorkbenchError
from workbench.deepfake.config import DEFAULT_ENCODERS, SR

WHISPER_ENCODERS = ("whisper-base",)          # audio encoders run through CTranslate2 (registry role "asr")
REFERENCE = DEFAULT_ENCODERS["audio"]         # the small log-mel CNN, trained with the detectors
STAGES = {"audio detector": ("score_audio", "audio_y"), "audiovisual detector": ("score_audiovisual", "y"),
          "detector (pipeline)": ("score", "y")}    # the stages that read the audio embedding
BOOTSTRAP = 1000
HOP = 160                                     # Whisper's mel hop (samples at 16 kHz); the encoder halves frames

_LOADED: dict[tuple[str, str], object] = {}


class WhisperEncoder:
    """Frozen Whisper encoder, mean-pooled over the clip's frames (see the module docstring).

    ``folder``: a CTranslate2 Whisper model folder. ``embed`` takes mono float32 clips at 16 kHz and returns
    ``[N, d_model]``."""

    def __init__(self, folder: str | Path, name: str = "whisper-base", *, window_s: float = 6.0,
                 device: str = "cpu"):
        import ctranslate2
        from faster_whisper.feature_extractor import FeatureExtractor

        from workbench.media.embeddings import safe_name

        folder = Path(folder)
        if not (folder / "model.bin").is_file():
            raise WorkbenchError(f"{folder}: not a CTranslate2 Whisper model (no model.bin)")
        key = (str(folder.resolve()), device)
        if key not in _LOADED:                     # loading converts the weights: once per process
            _LOADED[key] = ctranslate2.models.Whisper(str(folder), device=device,
                                                      compute_type="int8" if device == "cpu" else "float16")
        self.model = _LOADED[key]
        self.extractor = FeatureExtractor(feature_size=self.model.n_mels)
        self.samples = int(round(window_s * SR))
        self.frames = 2 * max(1, self.samples // (2 * HOP))           # an even number of mel frames
        stat = (folder / "model.bin").stat()
        # the embedding cache is keyed by this name: the weights file and the window are part of it
        self.name = safe_name(f"{name}-{stat.st_size}-{stat.st_mtime_ns % 10**8}-w{window_s:g}")
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.embed([np.zeros(HOP * 4, np.float32)]).shape[1])
        return self._dim

    def features(self, audio: np.ndarray) -> tuple[np.ndarray, int]:
        """(log-mel features ``[n_mels, frames]`` of the clip cut or zero-padded to the window, the number of
        encoder frames that cover its samples)."""
        a = np.asarray(audio, np.float32).reshape(-1)[: self.samples]
        padded = np.zeros(self.samples, np.float32)
        padded[: len(a)] = a
        mel = self.extractor(padded)[:, : self.frames]                                  # [n_mels, frames]
        if mel.shape[1] < self.frames:
            mel = np.pad(mel, ((0, 0), (0, self.frames - mel.shape[1])), mode="edge")
        return mel.astype(np.float32), int(np.clip(np.ceil(len(a) / (2 * HOP)), 1, self.frames // 2))

    def embed(self, audios: list[np.ndarray], *, batch_size: int = 8) -> np.ndarray:
        import ctranslate2

        out = []
        for start in range(0, len(audios), batch_size):
            feats = [self.features(a) for a in audios[start:start + batch_size]]
            x = np.stack([f for f, _ in feats])                                          # [B, n_mels, frames]
            hidden = np.array(self.model.encode(ctranslate2.StorageView.from_array(x)), np.float32)
            # hidden: [B, frames / 2, d_model]; mean over the frames that hold the clip
            out += [hidden[i, :n].mean(0) for i, (_, n) in enumerate(feats)]
        return np.stack(out) if out else np.zeros((0, self._dim or 0), np.float32)


def whisper_folder(name: str) -> Path:
    """The CTranslate2 folder of a Whisper model of the registry (joined from its wheels once)."""
    from workbench.models.registry import get_spec
    from workbench.models.sources import local_path

    return local_path(get_spec(name))


def load_whisper_encoder(name: str, max_seconds: float, device: str = "cpu") -> WhisperEncoder:
    if name not in WHISPER_ENCODERS:
        raise WorkbenchError(f"unknown Whisper audio encoder '{name}'; choose from {', '.join(WHISPER_ENCODERS)}")
    return WhisperEncoder(whisper_folder(name), name, window_s=max_seconds, device=device)


# ------------------------------------------------------------------------------------------------ the ablation


def pretrained_encoder(config) -> str:
    """The pretrained audio encoder a profile's ablation uses: the config's own where it names one (the paper
    profile's XLS-R), else ``whisper-base``."""
    return config.audio_encoder if config.audio_encoder != REFERENCE else WHISPER_ENCODERS[0]


def ptm_models(spec, config, *, progress=None) -> dict:
    """{audio encoder name: the profile's model trained on the synthetic corpora with it} — the reference CNN
    first; both cached (``training.default_model``). Only the reference is calibrated for the reasoning stage (the
    ablation scores the detector heads)."""
    from workbench.deepfake.training import default_model

    report = progress or (lambda f, m: None)
    out = {}
    for k, name in enumerate((REFERENCE, pretrained_encoder(config))):
        cfg = config if config.audio_encoder == name else replace(config, audio_encoder=name,
                                                                  calibrate_reasoning=False)
        out[name] = default_model(spec=spec, config=cfg, progress=lambda f, m, k=k: report((k + f) / 2,
                                                                                           f"{name}: {m}"))
    return out


def ptm_ablation(models: dict, rows, *, spec=None, bootstrap: int = BOOTSTRAP, seed: int = 0,
                 progress=None) -> tuple[dict, object]:
    """(report, per-row frame): the models (``{audio encoder: DeepfakeModel}``, reference first) scored on the same
    ``rows``; the report holds, per test and stage, each encoder's detection report with CIs and the paired
    difference of the second encoder against the first (see the module docstring). ``spec`` (a
    ``training.SyntheticSpec``) adds the seen / unseen-attack tests."""
    from workbench.deepfake.evaluation import evaluate

    if len(models) != 2:
        raise WorkbenchError(f"the PTM ablation compares two audio encoders; got {len(models)}: {', '.join(models)}")
    report = progress or (lambda f, m: None)
    ref, ptm = models                              # the reference first
    frames = {}
    for k, (name, model) in enumerate(models.items()):
        frames[name], _ = evaluate(model, rows, reasoning=False, soft_prompt=None,
                                   progress=lambda f, m, k=k, name=name: report((k + f) / 2, f"{name}: {m}"))
    frame = frames[ref][["path", "modality", "y"] + [c for c in ("attack", "audio_y") if c in frames[ref]]].copy()
    for name, f in frames.items():
        for column, _ in STAGES.values():
            frame[f"{column}|{name}"] = f[column].to_numpy(float)
        frame[f"threshold|{name}"] = f["threshold"].to_numpy(float)
    tests = {"all rows": np.ones(len(frame), bool)}
    if spec is not None and "attack" in frame:
        from workbench.deepfake.training import attack_split

        tests.update({f"{k} attacks": v for k, v in attack_split(frame, spec).items()})
    thresholds = {name: m.thresholds for name, m in models.items()}
    out = {}
    for test, mask in tests.items():
        out[test] = {}
        for stage, (column, labels) in STAGES.items():
            entry = _paired(frame[mask], column, labels, stage, (ref, ptm), thresholds, bootstrap, seed)
            if entry:
                out[test][stage] = entry
    return {"reference": ref, "pretrained": ptm, "tests": out, "bootstrap": bootstrap,
            "models": {name: {"folder": str(m.folder), "encoders": m.models, "detectors": m.meta["detectors"]}
                       for name, m in models.items()},
            "pooling": "mean over the encoder frames covering the clip, frozen [ours]"}, frame


def _paired(frame, column: str, labels: str, stage: str, names, thresholds, bootstrap: int, seed: int) -> dict:
    """Both encoders' reports on the rows both scored, and the paired bootstrap of their difference."""
    from workbench.deepfake.inputs import row_labels
    from workbench.metrics.bootstrap import bootstrap_ci as paired_ci
    from workbench.metrics.eer import bootstrap_ci, detection_report, eer

    y = row_labels(frame, labels) if labels != "y" else frame["y"].to_numpy().astype(int)
    s = {n: frame[f"{column}|{n}"].to_numpy(float) for n in names}
    ok = np.isfinite(s[names[0]]) & np.isfinite(s[names[1]]) & np.isin(y, (0, 1))
    if len(set(y[ok].tolist())) < 2:
        return {}
    y = y[ok]
    thr = {n: (frame[f"threshold|{n}"].to_numpy(float)[ok] if stage == "detector (pipeline)"
               else np.full(len(y), thresholds[n][stage.split()[0]])) for n in names}
    s = {n: v[ok] for n, v in s.items()}
    right = {n: ((s[n] > thr[n]).astype(int) == y).astype(float) for n in names}    # at each model's thresholds
    out = {n: {**detection_report(s[n], y), "accuracy": float(right[n].mean()), "threshold": "trained",
               **bootstrap_ci(s[n], y, thr[n], n=bootstrap, seed=seed)} for n in names}

    def change(s0, s1, yy, r0, r1):                 # one resample: (Δ EER, Δ accuracy); None with one class only
        if len(set(yy.tolist())) < 2:
            return None
        return eer(s1, yy)[0] - eer(s0, yy)[0], r1.mean() - r0.mean()

    eer_ci, acc_ci = paired_ci(change, s[names[0]], s[names[1]], y, right[names[0]], right[names[1]],
                               n_resamples=bootstrap, seed=seed, min_valid=2) or (None, None)
    ci = lambda v: None if v is None else [float(v[0]), float(v[1])]  # noqa: E731
    out["delta"] = {"eer": out[names[1]]["eer"] - out[names[0]]["eer"], "eer_ci": ci(eer_ci),
                    "accuracy": out[names[1]]["accuracy"] - out[names[0]]["accuracy"], "accuracy_ci": ci(acc_ci),
                    "rows": int(len(y))}
    return out


def ptm_table(config: dict):
    """The ablation as one table: per test and stage, a row per encoder (EER, AUC, accuracy with CIs) and a row
    "Δ pretrained − reference" (points, paired CIs). ``config``: the ``deepfake_ptm`` artifact's config (or
    ``ptm_ablation``'s report)."""
    import pandas as pd

    from workbench.deepfake.artifacts import _ci_text

    ref, ptm = config["reference"], config["pretrained"]
    rows = []
    for test, stages in config["tests"].items():
        for stage, entry in stages.items():
            for name in (ref, ptm):
                v = entry[name]
                rows.append({"test": test, "stage": stage, "audio encoder": name,
                             "rows": v["n_bonafide"] + v["n_spoof"], "EER %": round(100 * v["eer"], 1),
                             "EER 95 % CI": _ci_text(v.get("eer_ci")), "AUC": round(v["auc"], 3),
                             "accuracy %": round(100 * v["accuracy"], 1),
                             "accuracy 95 % CI": _ci_text(v.get("accuracy_ci"))})
            d = entry["delta"]
            rows.append({"test": test, "stage": stage, "audio encoder": f"Δ {ptm} − {ref}", "rows": d["rows"],
                         "EER %": round(100 * d["eer"], 1), "EER 95 % CI": _ci_text(d.get("eer_ci")), "AUC": None,
                         "accuracy %": round(100 * d["accuracy"], 1),
                         "accuracy 95 % CI": _ci_text(d.get("accuracy_ci"))})
    return pd.DataFrame(rows)


REAL_TEST = "real speech (bona fide + local spoofs)"


def real_speech_test(models: dict, *, seed: int = 0, progress=None) -> dict:
    """``ptm_ablation`` of ``models`` on the real-speech test set (``real_speech.real_speech_corpus``: pyannote's
    recording cut into utterances, each beside local spoofs) — the stages that apply to audio clips; or
    ``{"error": …}`` when the set cannot be made here (the pyannote wheel or espeak-ng missing)."""
    from workbench.deepfake.real_speech import real_speech_corpus

    try:
        rows = real_speech_corpus(progress=progress)
    except WorkbenchError as exc:
        return {"error": str(exc).splitlines()[0]}
    out, _ = ptm_ablation(models, rows, seed=seed, progress=progress)
    return {"stages": out["tests"]["all rows"], "rows": int(len(rows)),
            "data": "pyannote sample.wav (2 speakers, 30 s) cut by its STM transcript; spoofs made locally"}


def synthetic_ablation(*, smoke: bool, profile: str | None = None, seed: int = 0, progress=None,
                       real_speech: bool = True):
    """(report, per-row frame, pipeline config): ``ptm_ablation`` of the profile's two models (``ptm_models``) on
    the synthetic corpora's eval split — smoke-sized corpora and epochs with ``smoke`` (the ``deepfake_ptm``
    builder and ``workbench deepfake ptm``) — and, with ``real_speech``, on the real-speech test set (the test
    ``REAL_TEST``; the report's ``real_speech`` says what it holds, or why it is missing)."""
    from workbench.deepfake.config import PipelineConfig
    from workbench.deepfake.training import SyntheticSpec, smoke_config, smoke_spec, synthetic_data

    report = progress or (lambda f, m: None)
    spec = smoke_spec() if smoke else SyntheticSpec()
    config = (smoke_config(profile=profile, seed=seed) if smoke
              else PipelineConfig.for_profile(profile, seed=seed))
    report(0.0, "synthetic corpora")
    data = synthetic_data(spec, progress=lambda f, m: report(0.1 * f, m))
    models = ptm_models(spec, config, progress=lambda f, m: report(0.1 + 0.5 * f, m))
    out, frame = ptm_ablation(models, data[data["split"] == "eval"], spec=spec, seed=seed,
                              progress=lambda f, m: report(0.6 + (0.3 if real_speech else 0.4) * f, m))
    if real_speech:
        real = real_speech_test(models, seed=seed, progress=lambda f, m: report(0.9 + 0.1 * f, m))
        if "stages" in real:
            out["tests"][REAL_TEST] = real.pop("stages")
        out["real_speech"] = real
    return {**out, "smoke": smoke, "pipeline": config.to_dict(),
            "split": "eval (sentences held out from training)"}, frame


def build_deepfake_ptm(ctx) -> None:
    """The ``deepfake_ptm`` artifact: ``synthetic_ablation`` on the build's profile, seed and size; the per-row
    scores of both models, the report in the meta's config."""
    from workbench.deepfake.artifacts import eval_frame
    from workbench.io import save_frame

    report, frame = synthetic_ablation(smoke=ctx.smoke, profile=ctx.profile.name, seed=ctx.seed,
                                       progress=ctx.progress)
    names = sorted({m for v in report["models"].values() for m in v["encoders"]})
    save_frame(eval_frame(frame), ctx.path(ctx.paper, "deepfake_ptm"), profile=ctx.profile.name, models=names,
               seed=ctx.seed, config=report)


__all__ = ["REAL_TEST", "REFERENCE", "WHISPER_ENCODERS", "WhisperEncoder", "build_deepfake_ptm", "load_whisper_encoder",
           "pretrained_encoder", "ptm_ablation", "ptm_models", "ptm_table", "real_speech_test", "synthetic_ablation",
           "whisper_folder"]
