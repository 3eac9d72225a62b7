"""Detection metrics for anti-spoofing and deepfake detection (P6): EER as the ASVspoof challenges compute it,
DET and ROC curves, accuracy and AUC.

Orientation: **a higher score means more bona fide (real)**. ``target`` scores are those of bona fide trials,
``nontarget`` those of spoofed / fake ones.

EER, the ASVspoof way: pool and sort all scores in ascending order (a stable sort, so ties keep bona fide trials
first); every sorted score is a threshold t with "reject (call spoof) when score ≤ t". After the k lowest scores,
FRR_k = (bona fide among them) / N_target and FAR_k = (spoofs above them) / N_nontarget, with the extra starting
point FRR_0 = 0, FAR_0 = 1 (threshold just below the lowest score). The EER is the mean of FRR and FAR at the
index where |FRR − FAR| is smallest (the first such index), and that index's threshold is returned with it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench import WorkbenchError


def _split(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    s, y = np.asarray(scores, float), np.asarray(labels)
    if s.ndim != 1 or len(s) != len(y):
        raise WorkbenchError(f"need one score per label; got {s.shape} scores and {y.shape} labels")
    if not np.isfinite(s).all():
        raise WorkbenchError("scores must be finite numbers")
    if not np.isin(y, (0, 1)).all():
        raise WorkbenchError("labels must be 1 (bona fide / real) or 0 (spoof / fake)")
    target, nontarget = s[y == 1], s[y == 0]
    if len(target) == 0 or len(nontarget) == 0:
        raise WorkbenchError(f"need both classes; got {len(target)} bona fide and {len(nontarget)} spoofed trials")
    return target, nontarget


@dataclass(frozen=True)
class DetCurve:
    frr: np.ndarray          # false rejection rate of bona fide trials, per threshold
    far: np.ndarray          # false acceptance rate of spoofed trials
    thresholds: np.ndarray


def det_curve(scores, labels) -> DetCurve:
    """FRR and FAR at every threshold, ASVspoof style (see the module doc)."""
    target, nontarget = _split(scores, labels)
    pooled = np.concatenate([target, nontarget])
    is_target = np.concatenate([np.ones(len(target)), np.zeros(len(nontarget))])
    order = np.argsort(pooled, kind="mergesort")
    sorted_target = is_target[order]
    rejected_target = np.cumsum(sorted_target)                                   # bona fide at or below t
    rejected = np.arange(1, len(pooled) + 1)
    accepted_nontarget = len(nontarget) - (rejected - rejected_target)           # spoofs above t
    frr = np.concatenate([[0.0], rejected_target / len(target)])
    far = np.concatenate([[1.0], accepted_nontarget / len(nontarget)])
    thresholds = np.concatenate([[pooled[order[0]] - 1e-3], pooled[order]])
    return DetCurve(frr, far, thresholds)


def eer(scores, labels) -> tuple[float, float]:
    """(EER, its threshold) computed as the ASVspoof reference does (see the module doc)."""
    curve = det_curve(scores, labels)
    i = int(np.argmin(np.abs(curve.frr - curve.far)))
    return float((curve.frr[i] + curve.far[i]) / 2), float(curve.thresholds[i])


def roc(scores, labels) -> dict:
    """ROC of bona fide detection (positive = bona fide): false positive rate (spoofs accepted), true positive
    rate (bona fide accepted), thresholds and AUC — scikit-learn's route."""
    from sklearn.metrics import roc_auc_score, roc_curve

    _split(scores, labels)
    fpr, tpr, thr = roc_curve(np.asarray(labels), np.asarray(scores, float), drop_intermediate=False)
    return {"fpr": fpr, "tpr": tpr, "thresholds": thr,
            "auc": float(roc_auc_score(np.asarray(labels), np.asarray(scores, float)))}


def eer_from_roc(scores, labels) -> float:
    """EER read off scikit-learn's ROC curve (miss rate 1 − TPR against FPR, mean at the closest point); equal
    to ``eer`` when no two scores tie (tested), a cross-check."""
    r = roc(scores, labels)
    fnr = 1 - r["tpr"]
    i = int(np.argmin(np.abs(fnr - r["fpr"])))
    return float((fnr[i] + r["fpr"][i]) / 2)


def accuracy(scores, labels, threshold: float) -> float:
    """Share of trials on the right side of ``threshold`` (bona fide when score > threshold)."""
    s, y = np.asarray(scores, float), np.asarray(labels)
    _split(s, y)
    return float(((s > threshold).astype(int) == y).mean())


def probit(p) -> np.ndarray:
    """The normal deviate of a rate, the axis scale of DET plots (rates clipped to [1e-6, 1 − 1e-6])."""
    from scipy.stats import norm

    return norm.ppf(np.clip(np.asarray(p, float), 1e-6, 1 - 1e-6))


def bootstrap_ci(scores, labels, threshold, *, n: int = 1000, seed: int = 0) -> dict:
    """95 % percentile bootstrap CIs of the EER and of the accuracy at ``threshold`` (a number, or one per trial),
    trials resampled with replacement ``n`` times (a resample with one class only is skipped): ``{"eer_ci":
    [lo, hi], "accuracy_ci": [lo, hi]}``, None where fewer than two resamples counted."""
    from workbench.metrics.bootstrap import bootstrap_ci as percentile_bootstrap

    s, y = np.asarray(scores, float), np.asarray(labels).astype(int)
    _split(s, y)
    thr = np.array(np.broadcast_to(np.asarray(threshold, float), s.shape))

    def both(s, y, thr):
        if len(np.unique(y)) < 2:
            return None
        return eer(s, y)[0], float(((s > thr).astype(int) == y).mean())
    cis = percentile_bootstrap(both, s, y, thr, n_resamples=n, seed=seed, min_valid=2)
    eer_ci, acc_ci = cis if isinstance(cis, list) else (None, None)
    return {"eer_ci": eer_ci and list(eer_ci), "accuracy_ci": acc_ci and list(acc_ci)}


def detection_report(scores, labels, *, threshold: float | None = None, bootstrap: int = 0) -> dict:
    """EER (and its threshold), AUC, accuracy at ``threshold`` (default: the EER threshold), class counts; with
    ``bootstrap`` > 0, the EER's and the accuracy's 95 % bootstrap CIs (``bootstrap_ci``)."""
    value, t = eer(scores, labels)
    y = np.asarray(labels)
    chosen = t if threshold is None else threshold
    return {"eer": value, "eer_threshold": t, "auc": roc(scores, labels)["auc"],
            "accuracy": accuracy(scores, labels, chosen), "threshold": chosen,
            "n_bonafide": int((y == 1).sum()), "n_spoof": int((y == 0).sum()),
            **(bootstrap_ci(scores, labels, chosen, n=bootstrap) if bootstrap > 0 else {})}


__all__ = ["DetCurve", "accuracy", "bootstrap_ci", "det_curve", "detection_report", "eer", "eer_from_roc", "probit", "roc"]
