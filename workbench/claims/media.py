"""Claims measurements of the media papers: P6 ConLLM (deepfake detection, ``deepfake_eval``) and P9 zero-shot
audio captioning (``caption_eval``).

Used by ``workbench.claims`` (``discover`` imports this module); the notebooks and the dashboard reach it through
``claims.ledger``.

P6 — what the ``deepfake_eval`` artifact can say. The abstract's gains are ConLLM against baseline detectors it
does not name. The artifact holds ConLLM's own stages on held-out synthetic clips: one contrastive detector per
stream (audio, video, audio-visual), the pipeline score and the reasoning stage's verdict. The only baseline in it
that lacks ConLLM's contribution is a single-modality detector on audio-visual clips, so:

* ``deepfake_accuracy_gain`` (audio-visual) — accuracy of the full system (the verdict of the LLM reading the
  aligned embeddings, ``deepfake.soft_prompt``, where the artifact has it; else the reasoning stage's verdict over
  the scores as text) on the audio-visual clips minus the accuracy of the better single-modality detector (audio-only or video-only, at its own
  threshold, judged against the clip's label) on the same clips, in points, with a paired bootstrap CI over clips.
  Not comparable: the baseline is ours, the clips synthetic. Its ``shortcut`` is the artifact's surface-feature
  baseline (``deepfake.shortcut``) on the same audio-visual eval clips, trained on the same training rows;
* ``deepfake_accuracy_gain`` (video) and ``deepfake_eer_reduction`` (audio) — not measured: on video-only or
  audio-only rows the artifact has ConLLM's detector and nothing to compare it with;
* ``deepfake_ptm_ablation`` — read from the ``deepfake_ptm`` artifact (``deepfake.ptm``): the same detectors trained
  on a frozen pretrained audio encoder's embeddings (``whisper-base`` on the default profile) and on the log-mel
  CNN's, scored on the same eval rows; ours is the accuracy gain in points of the audio and the audio-visual
  detector (``reduce`` min / max over the two: "across modalities"), with the paired bootstrap CI. Not comparable:
  another encoder, our baseline, synthetic clips, and the paper does not name its metric.

P9 — the ``caption_eval`` artifact's metrics table (one row per decoder) and keyword ablation (MAGIC per keyword
count l), and its per-clip captions with their references, from which paired bootstrap CIs are computed (clips
resampled, the corpus metrics recomputed). Our "NLG mean" is the mean of the ×100 scores over the metrics in
``nlg_mean_over``; the paper's is over nine (BLEU-1..4, METEOR, ROUGE-L, CIDEr, SPICE, SPIDEr). Where the sets
differ (SPICE and SPIDEr need Java) or METEOR lacks its synonym stage, every P9 claim is not comparable for that
reason, besides the data (the synthetic sound corpus, not the paper's benchmark). Every measured P9 row carries the
artifact's surface-feature shortcut baseline (``captioning.shortcut``: a 1-NN caption on duration, file size and RMS
level, and with structure cues added, scored with the same NLG metrics on the same eval clips, beside a random train caption) in its
``shortcut`` column; an artifact built before issue 18 has none, and the column says so.
"""
from __future__ import annotations


import numpy as np

from workbench import WorkbenchError
from workbench.claims.core import Artifact, measured, measures, not_built, not_measured, reading
from workbench.metrics.bootstrap import bootstrap_ci, percentile_interval, resamples

BOOTSTRAP = 1000                      # resamples for the paired bootstrap CIs (clips resampled)
MODALITIES = ("audio", "video", "audio-visual")
PTM_STAGES = ("audio detector", "audiovisual detector")   # the PTM ablation's detectors that read the audio encoder
DECODERS = ("greedy", "contrastive", "magic")
PAPER_NLG_METRICS = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr", "SPICE", "SPIDEr")


def _param(claim, name: str, choices: tuple[str, ...]) -> str:
    """``claim.params[name]``, one of ``choices``; anything else is an error naming the claim (data/papers.json)."""
    value = claim.params.get(name)
    if value not in choices:
        raise WorkbenchError(f"claim '{claim.metric}' (kind {claim.kind}): params.{name} is {value!r}; one of "
                             f"{', '.join(choices)}")
    return value


def _interval(values) -> tuple[float, float] | None:
    return percentile_interval(values, min_valid=2)


def _smoke(artifact: Artifact) -> str:
    return "; a smoke-sized build" if artifact.config.get("smoke") else ""


# --------------------------------------------------------------------------------------------------- P6


def _encoders(artifact: Artifact) -> str:
    pipeline = artifact.config.get("pipeline") or {}
    names = [pipeline.get("audio_encoder"), pipeline.get("video_encoder")]
    return " + ".join(n for n in names if n) or "the profile's encoders"


def _rows_of(frame, modality: str):
    """The rows of ``modality`` (a claim's "audio-visual" is the frame's "audiovisual")."""
    name = modality.replace("-", "")
    return frame[frame["modality"].astype(str) == name] if "modality" in frame else frame.iloc[:0]


@measures("deepfake_eer_reduction")
@reading("P6", "deepfake_eval")
def deepfake_eer_reduction(claim, artifact):
    modality = _param(claim, "modality", MODALITIES)
    rows = len(_rows_of(artifact.data, modality))
    return not_measured(f"the claim is ConLLM's {modality} EER against baseline detectors; {artifact.label} holds "
                        f"ConLLM's own {modality} detector and reasoning stage on {rows} {modality} clip(s) and no "
                        f"baseline detector scored on them", artifact=artifact.label, models=artifact.models)


@measures("deepfake_accuracy_gain")
@reading("P6", "deepfake_eval")
def deepfake_accuracy_gain(claim, artifact):
    modality = _param(claim, "modality", MODALITIES)
    if modality != "audio-visual":
        rows = len(_rows_of(artifact.data, modality))
        return not_measured(f"the claim is ConLLM's accuracy on {modality}-only data against baseline {modality} "
                            f"detectors; {artifact.label} has {rows} {modality}-only clip(s) and no baseline "
                            f"detector (its {modality} detector also judges audio-visual clips)",
                            artifact=artifact.label, models=artifact.models)
    return _av_gain_over_single_modality(artifact)


def _av_gain_over_single_modality(artifact: Artifact):
    frame = _rows_of(artifact.data, "audio-visual")
    column, system = (("soft_verdict", "the LLM over embeddings' verdict") if "soft_verdict" in frame.columns
                      else ("verdict", "the reasoning stage's verdict"))
    needed = ["y", column, "score_audio", "score_video"]
    lacking = [c for c in needed if c not in frame.columns]
    thresholds = {k: (artifact.config.get("trained_detectors") or {}).get(k, {}).get("threshold")
                  for k in ("audio", "video")}
    if not len(frame) or lacking or None in thresholds.values():
        what = (f"column(s) {', '.join(lacking)}" if lacking else "audio-visual clips" if not len(frame) else
                "the audio and video detectors' thresholds")
        return not_measured(f"{artifact.label} has no {what}: needs an LLM stage's verdict and both "
                            f"single-modality detectors' scores on audio-visual clips", artifact=artifact.label,
                            models=artifact.models)
    y = frame["y"].to_numpy(int)
    full = (frame[column].astype(str).to_numpy() == "real").astype(int) == y           # [clips]
    single = {k: (frame[f"score_{k}"].to_numpy(float) > thresholds[k]).astype(int) == y for k in thresholds}
    base_name = max(single, key=lambda k: single[k].mean())
    base = single[base_name]
    gain = 100 * (full.mean() - base.mean())
    ci = bootstrap_ci(lambda f, b: 100 * (f.mean(-1) - b.mean(-1)), full.astype(float), base.astype(float),
                      n_resamples=BOOTSTRAP, seed=0, vectorized=True, min_valid=2)
    return measured(artifact, gain, ci=ci, data=f"synthetic: workbench talking-head corpus, eval split ({len(y)} "
                    f"audio-visual clips)", data_kind="synthetic",
                    reason=f"the baseline is our own {base_name}-only detector on the same clips, not the paper's "
                           f"baseline systems; synthetic talking heads, not FakeAVCeleb or DFDC; encoders "
                           f"{_encoders(artifact)}{_smoke(artifact)}",
                    detail=f"accuracy of {system} {100 * full.mean():.1f} %{_revote(frame, y, column)} minus the better "
                           f"single-modality detector's ({base_name}, at its threshold, against the clip label) "
                           f"{100 * base.mean():.1f} %, in points; 95 % paired bootstrap CI over clips",
                    shortcut=_shortcut(artifact, "audiovisual detector"))


def _revote(frame, y, column: str) -> str:
    """" (the score re-vote's: X %)" beside the LLM over embeddings, "" when the full system is the re-vote."""
    if column == "verdict" or "verdict" not in frame.columns:
        return ""
    right = (frame["verdict"].astype(str).to_numpy() == "real").astype(int) == y
    return f" (the reasoning stage's score re-vote: {100 * right.mean():.1f} %)"


def _shortcut(artifact: Artifact, stage: str) -> str:
    """The artifact's shortcut baseline (surface features) on ``stage``'s eval rows, as one line; "" when absent."""
    from workbench.deepfake.shortcut import shortcut_line

    result = (artifact.config.get("shortcut_all") or {}).get(stage)
    return shortcut_line(result) if result else "not in this artifact (built before the shortcut baseline)"


@measures("deepfake_ptm_ablation")
@reading("P6", "deepfake_ptm")
def deepfake_ptm_ablation(claim, artifact):
    reduce = _param(claim, "reduce", ("min", "max"))
    config = artifact.config
    tests = (config.get("tests") or {}).get("all rows") or {}
    stages = {k: v for k, v in tests.items() if k in PTM_STAGES and "delta" in v}
    if not stages:
        return not_measured(f"{artifact.label} has no audio or audio-visual detector scored with both audio "
                            f"encoders", artifact=artifact.label, models=artifact.models)
    pick = (min if reduce == "min" else max)(stages, key=lambda k: stages[k]["delta"]["accuracy"])
    ref, ptm, entry = config["reference"], config["pretrained"], stages[pick]
    d = entry["delta"]
    ci = [100 * v for v in d["accuracy_ci"]] if d.get("accuracy_ci") else None
    return measured(artifact, 100 * d["accuracy"], ci=ci, data_kind="synthetic",
                    data=f"synthetic: workbench speech and talking-head corpora, eval split ({d['rows']} rows)",
                    reason=f"the pretrained encoder is {ptm} (frozen, mean-pooled [ours]) against our {ref}, the "
                           f"audio encoder only, not the paper's wav2vec2-XLS-R-1B / VideoMAE against its baselines; "
                           f"the paper does not name its metric (ours: accuracy gain in points); synthetic clips"
                           f"{_smoke(artifact)}",
                    detail=f"{reduce} over {', '.join(stages)}: {pick} accuracy {100 * entry[ptm]['accuracy']:.1f} % "
                           f"with {ptm} vs {100 * entry[ref]['accuracy']:.1f} % with {ref} (EER Δ "
                           f"{100 * d['eer']:+.1f} points), each at its own dev threshold; 95 % paired bootstrap CI "
                           f"over the same rows")


# --------------------------------------------------------------------------------------------------- P9


def _definition_gap(artifact: Artifact) -> str:
    """What makes our NLG mean another quantity than the paper's (SPECS.md: the mean of nine ×100 scores)."""
    over = list(artifact.config.get("nlg_mean_over") or [])
    base = {m.split(" ")[0] for m in over}
    missing = [m for m in PAPER_NLG_METRICS if m not in base and m.replace("CIDEr", "CIDEr-D") not in over]
    variants = [m for m in over if m not in PAPER_NLG_METRICS and m != "CIDEr-D"]   # CIDEr-D: what coco's CIDEr is
    gaps = []
    if missing:
        gaps.append(f"NLG mean over {len(over)} of the paper's {len(PAPER_NLG_METRICS)} metrics "
                    f"({', '.join(missing)} not computed)")
    if variants:
        gaps.append(f"{', '.join(variants)} in place of the reference implementations")
    return "other metric definition: " + "; ".join(gaps) if gaps else ""


def _caption_reason(artifact: Artifact, extra: str = "") -> str:
    parts = [_definition_gap(artifact), "synthetic sound corpus, not the paper's benchmark",
             "our audio-text model and caption LM (see models), not the paper's WavCaps model"]
    return "; ".join(p for p in parts + [extra] if p) + _smoke(artifact)


def _caption_data(artifact: Artifact) -> str:
    clips = artifact.config.get("clips")
    return f"synthetic: workbench sound corpus, eval split ({clips} clips)" if clips else \
        "synthetic: workbench sound corpus, eval split"


def _caption_shortcut(artifact: Artifact) -> str:
    """The ``shortcut`` column of a P9 row: the artifact's surface-feature baseline in one line."""
    from workbench.captioning.shortcut import shortcut_line

    report = artifact.config.get("shortcut")
    if not report:
        return f"not built: {artifact.label} predates the shortcut baseline (rebuild with `workbench build P9`)"
    return shortcut_line(report)


def _record(records, key: str, value) -> dict | None:
    return next((r for r in records or [] if r.get(key) == value), None)


def _bootstrap_nlg(artifact: Artifact, runs: list[tuple[str, int]]):
    """NLG means of each (decoder, l) run recomputed on BOOTSTRAP resamples of the clips (the same resample for
    every run: paired; ``captioning.metrics.ClipScores``); ``[resample, run]``, or None when the artifact has no
    per-clip captions for a run."""
    from workbench.captioning.metrics import clip_scores

    frame = artifact.data
    if not hasattr(frame, "columns") or not {"id", "l", "decoder", "caption", "references"} <= set(frame.columns):
        return None
    parts = []
    for decoder, l in runs:
        part = frame[(frame["decoder"] == decoder) & (frame["l"] == l)].drop_duplicates("id").set_index("id")
        if not len(part):
            return None
        parts.append(part)
    ids = sorted(set.intersection(*(set(p.index) for p in parts)))
    if len(ids) < 2:
        return None
    scores = [clip_scores(p.loc[ids, "caption"].tolist(), [list(r) for r in p.loc[ids, "references"]])
              for p in parts]
    return np.asarray([[s.nlg_mean(d) for s in scores] for d in resamples(len(ids), BOOTSTRAP, seed=0)])


@measures("caption_nlg_score")
@reading("P9", "caption_eval")
def caption_nlg_score(claim, artifact):
    decoder = _param(claim, "decoder", DECODERS)
    row = _record(artifact.config.get("metrics"), "decoder", decoder)
    if row is None or "NLG mean" not in row:
        return not_measured(f"{artifact.label} has no NLG mean for the {decoder!r} decoder", artifact=artifact.label,
                            models=artifact.models)
    l = int(row.get("l", (artifact.config.get("settings") or {}).get("l", 0)))
    boot = _bootstrap_nlg(artifact, [(decoder, l)])
    ci = None if boot is None else _interval(boot[:, 0])
    return measured(artifact, row["NLG mean"], ci=ci, data=_caption_data(artifact), data_kind="synthetic",
                    shortcut=_caption_shortcut(artifact), reason=_caption_reason(artifact),
                    detail=f"NLG mean (×100) of the {decoder} captions with l = {l} keywords; 95 % bootstrap CI "
                           f"over clips")


@measures("caption_magic_gain")
@reading("P9", "caption_eval")
def caption_magic_gain(claim, artifact):
    metrics = artifact.config.get("metrics")
    greedy, magic = _record(metrics, "decoder", "greedy"), _record(metrics, "decoder", "magic")
    if greedy is None or magic is None:
        return not_measured(f"{artifact.label} lacks the greedy or the MAGIC metrics row", artifact=artifact.label,
                            models=artifact.models)
    if not greedy["NLG mean"] > 0:
        return not_measured(f"the greedy NLG mean in {artifact.label} is 0: a relative gain over it is undefined",
                            artifact=artifact.label, models=artifact.models)
    gain = 100 * (magic["NLG mean"] / greedy["NLG mean"] - 1)
    l = int(magic.get("l", 0))
    boot = _bootstrap_nlg(artifact, [("greedy", l), ("magic", l)])
    ci = None
    if boot is not None:
        ok = boot[:, 0] > 0
        ci = _interval(100 * (boot[ok, 1] / boot[ok, 0] - 1))
    return measured(artifact, gain, ci=ci, data=_caption_data(artifact), data_kind="synthetic",
                    shortcut=_caption_shortcut(artifact), reason=_caption_reason(artifact),
                    detail=f"MAGIC's NLG mean over greedy's, minus 1, in % (l = {l}; greedy {greedy['NLG mean']:.2f}, "
                           f"MAGIC {magic['NLG mean']:.2f}); 95 % paired bootstrap CI over clips")


def _ablation(artifact: Artifact) -> dict[int, float]:
    return {int(r["l"]): float(r["NLG mean"]) for r in artifact.config.get("ablation") or [] if "NLG mean" in r}


@measures("caption_keyword_drop")
@reading("P9", "caption_eval")
def caption_keyword_drop(claim, artifact):
    nlg = _ablation(artifact)
    with_keywords = {l: v for l, v in nlg.items() if l > 0}
    if 0 not in nlg or not with_keywords:
        return not_measured(f"{artifact.label}'s keyword ablation lacks l = 0 or any l ≥ 1 (has "
                            f"{sorted(nlg) or 'none'})", artifact=artifact.label, models=artifact.models)
    best = max(with_keywords, key=lambda l: (with_keywords[l], -l))
    if not with_keywords[best] > 0:
        return not_measured(f"every NLG mean with keywords in {artifact.label} is 0: a relative drop is undefined",
                            artifact=artifact.label, models=artifact.models)
    drop = 100 * (1 - nlg[0] / with_keywords[best])
    boot = _bootstrap_nlg(artifact, [("magic", 0), ("magic", best)])
    ci = None
    if boot is not None:
        ok = boot[:, 1] > 0
        ci = _interval(100 * (1 - boot[ok, 0] / boot[ok, 1]))
    return measured(artifact, drop, ci=ci, data=_caption_data(artifact), data_kind="synthetic",
                    shortcut=_caption_shortcut(artifact), reason=_caption_reason(artifact),
                    detail=f"MAGIC without keywords (l = 0: {nlg[0]:.2f}) against its best keyword count (l = {best}: "
                           f"{with_keywords[best]:.2f}): 1 − ratio, in %; 95 % paired bootstrap CI over clips with "
                           f"that l fixed")


@measures("caption_best_keywords")
def caption_best_keywords(claim, sources):
    """The best keyword count of the guide's ablation (``caption_eval``); where the scorer comparison
    (``caption_scorers``) is built, the detail adds each scorer's best count, since the abstract ties the keyword
    choice to the audio–text model."""
    artifact = sources.get("P9", "caption_eval")
    if artifact is None:
        return not_built("P9", "caption_eval")
    nlg = _ablation(artifact)
    if len(nlg) < 2:
        return not_measured(f"{artifact.label}'s keyword ablation has {len(nlg)} keyword count(s); the best needs "
                            f"two or more", artifact=artifact.label, models=artifact.models)
    best = max(nlg, key=lambda l: (nlg[l], -l))
    return measured(artifact, best, data=_caption_data(artifact), data_kind="synthetic",
                    shortcut=_caption_shortcut(artifact),
                    reason=_caption_reason(artifact, f"keyword counts tried: {', '.join(map(str, sorted(nlg)))}"),
                    detail=f"the keyword count l with the highest MAGIC NLG mean ({nlg[best]:.2f}); ties go to the "
                           f"smaller l" + _by_scorer(sources.get("P9", "caption_scorers")))


def _by_scorer(artifact: Artifact | None) -> str:
    """"; by scorer: NAME l = L (NLG mean, judge cosine), …" from the scorer comparison, or "" without it; the
    retrieval baselines' R@1 (surface features, chance) close the list where the artifact has them."""
    from workbench.captioning.evaluation import JUDGE_SCORE

    if artifact is None:
        return ""
    parts = []
    for row in artifact.config.get("scorers") or []:
        runs = [r for r in artifact.config.get("ablation") or [] if r["scorer"] == row["scorer"]]
        if runs:
            top = max(runs, key=lambda r: (r["NLG mean"], -r["l"]))
            parts.append(f"{row['scorer']} l = {top['l']} (NLG mean {top['NLG mean']:.2f}, judge cosine "
                         f"{top[JUDGE_SCORE]:.3f}, audio→text R@1 {row['audio_to_text R@1']:.2f})")
    parts += [f"{r['scorer']} audio→text R@1 {r['audio_to_text R@1']:.2f}" for r in
              artifact.config.get("baselines") or [] if parts and r.get("audio_to_text R@1") is not None]
    return f"; by audio–text model ({artifact.label}): " + ", ".join(parts) if parts else ""


__all__ = ["BOOTSTRAP", "PAPER_NLG_METRICS", "caption_best_keywords", "caption_keyword_drop", "caption_magic_gain",
           "caption_nlg_score", "deepfake_accuracy_gain", "deepfake_eer_reduction", "deepfake_ptm_ablation"]
