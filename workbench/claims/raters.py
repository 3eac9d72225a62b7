"""Claims measurements of P4 Demo-SafetyBench: LLMs as demographic safety raters of DICES (the ``rater_agreement``
builder's artifacts ``rater_agreement``, ``rater_sweep`` and ``rater_ratings``).

Used by ``workbench.claims`` (``discover`` imports this module); the notebooks and the dashboard reach it through
``claims.ledger``. The P4 "samples" claim (``dataset_size``) is measured in ``workbench.claims.text``.

* ``rater_threshold`` (``params.parameter``: ``delta`` | ``tau``) — the paper's "balanced thresholds" are settings;
  ours is the δ (or τ) the δ × τ sweep *selects* by its rule (``workbench.evaluation.raters.SWEEP_RULE``: the
  highest ICC(2,1) on a dev half of the conversations among settings keeping enough of them), never the input
  threshold. The selection sees only the dev half; the ICC at the selected setting is reported on the other
  half (in ``detail``). A sweep without a dev selection (built before it existed) is not measured.
* ``rater_icc`` — the best rater's ICC(2,1) with the human panel (model score vs the panel's mean, 95 % CI), the
  rater with the highest ICC(2,1); ICC(3,1) and the other raters in ``detail``.
* ``demographic_sensitivity`` — DS of the same best rater's personas as the paper reports it: the average over the
  demographic attributes of the largest gap in unsafe rate between that attribute's personas; the maximum over
  attributes (and each attribute's gap) in ``detail``.

Comparability: the paper rates DICES-350 with GPT-4o (its best rater), Gemma-7B and LLaMA-2-7B and classifies the
conversations with Mistral-7B-Instruct (the paper profile's models, ``workbench.profiles``). Every difference in
data (the synthetic DICES-shaped fixture, DICES-990, a subset) and in models is named in the reason; since no
GPT-4o rater runs here, the best-rater ICC and DS are never comparable.
"""
from __future__ import annotations

import math

from workbench import WorkbenchError
from workbench.claims.core import Artifact, measured, measures, not_measured, reading

PAPER = "P4"
PAPER_RELEASE = "DICES-350"
PAPER_BEST_RATER = "GPT-4o"            # SPECS.md: the paper's best rater, an API model no profile runs


def _paper_models() -> tuple[tuple[str, ...], str]:
    """(the paper's open raters, its classifier) as the paper profile names them."""
    from workbench.profiles import get_profile

    roles = get_profile("paper").for_paper(PAPER).roles
    return tuple(roles.get("raters", ())), (roles.get("classifier") or ("",))[0]


def _data(artifact: Artifact) -> tuple[str, str, list[str]]:
    """(data named, data kind, the ways it differs from the paper's DICES-350) from the artifact's config."""
    config = artifact.config
    source = config.get("source") or "unknown DICES source"
    kind = config.get("data_kind") or ("synthetic" if "fixture" in source else "real")
    release = config.get("release") or ""
    size = f"{config['n_items']:,} conversations, {config['n_ratings']:,} ratings" if config.get("n_items") else ""
    named = f"{kind}: {source}" + (f" ({release}; {size})" if release or size else "")
    differs = []
    if kind != "real":
        differs.append(f"synthetic data ({source}), not {PAPER_RELEASE}")
    elif release and release != PAPER_RELEASE:
        differs.append(f"other data: {release}, not {PAPER_RELEASE}")
    if kind == "real" and config.get("limit"):
        differs.append(f"a subset of {config['limit']} conversations")
    if config.get("smoke"):
        differs.append("a smoke-sized build")
    return named, kind, differs


def _reason(parts: list[str]) -> str:
    return "; ".join(parts)


def _selection_rule(config: dict) -> str:
    return config.get("sweep_rule") or "the sweep's selection rule"


@measures("rater_threshold")
@reading(PAPER, "rater_sweep")
def rater_threshold(claim, artifact: Artifact):
    from workbench.evaluation.raters import selected_setting

    parameter = claim.params.get("parameter")
    if parameter not in ("delta", "tau"):
        raise WorkbenchError(f"claim '{claim.metric}' (kind {claim.kind}): params.parameter is {parameter!r}; "
                             "one of delta, tau")
    sweep = artifact.data
    named, kind, differs = _data(artifact)
    if "selected" not in getattr(sweep, "columns", ()):
        return not_measured(f"{artifact.label} holds the δ × τ surface without a dev selection (built before the "
                            f"sweep selected on a dev half): rebuild `workbench build {PAPER}`",
                            artifact=artifact.label, models=artifact.models, data=named, data_kind=kind)
    row = selected_setting(sweep)
    if row is None:
        return not_measured(f"no (δ, τ) setting was eligible on the dev conversations ({_selection_rule(artifact.config)}): "
                            "too few conversations or no defined ICC", artifact=artifact.label,
                            models=artifact.models, data=named, data_kind=kind)
    raters, classifier = _paper_models()
    rater, used = artifact.config.get("sweep_rater", ""), artifact.config.get("classifier", "")
    if used != classifier:
        differs.append(f"classifier {used or 'unknown'}, not the paper's {classifier}")
    if rater not in raters:
        differs.append(f"sweep rater {rater or 'unknown'}, not one of the paper's ({', '.join(raters)}, "
                       f"{PAPER_BEST_RATER})")
    test = "undefined" if math.isnan(row["icc2_test"]) else f"{row['icc2_test']:.3f}"
    detail = (f"selected (δ {row['delta']:g}, τ {row['tau']:g}) by {_selection_rule(artifact.config)}: ICC(2,1) "
              f"{row['icc2_dev']:.3f} on {int(row['n_dev'])} dev conversations, {test} on {int(row['n_test'])} "
              "held-out ones")
    return measured(artifact, float(row[parameter]), reason=_reason(differs), data=named, data_kind=kind,
                    detail=detail)


def _best_rater(records) -> dict | None:
    """The record of the rater with the highest ICC(2,1), or None when no rater has one."""
    with_icc = [r for r in records if (r.get("icc") or {}).get("ICC2") and
                math.isfinite((r["icc"]["ICC2"] or {}).get("icc", float("nan")))]
    return max(with_icc, key=lambda r: r["icc"]["ICC2"]["icc"]) if with_icc else None


def _rater_differs(artifact: Artifact, best: str) -> list[str]:
    raters, _ = _paper_models()
    ours = ", ".join(m for m in artifact.models if m != artifact.config.get("classifier")) or best
    note = f"other raters: ours {ours}; the paper's best is {PAPER_BEST_RATER}"
    return [note if best in raters else note + f" and {best} is none of its raters"]


@measures("rater_icc")
@reading(PAPER, "rater_agreement")
def rater_icc(claim, artifact: Artifact):
    records = list(artifact.data or [])
    named, kind, differs = _data(artifact)
    best = _best_rater(records)
    if best is None:
        return not_measured("no rater has an ICC with the human panel (fewer than 2 rated conversations, or a "
                            "rater that gives every conversation the same score)",
                            artifact=artifact.label, models=artifact.models, data=named, data_kind=kind)
    icc2, icc3 = best["icc"]["ICC2"], (best["icc"].get("ICC3") or {})
    others = ", ".join(f"{r['model']} {r['icc']['ICC2']['icc']:.3f}" for r in records
                       if r is not best and (r.get("icc") or {}).get("ICC2"))
    detail = (f"{best['model']}: ICC(2,1) between its score and the human panel's mean over {best['n_items']} "
              f"conversations" + (f"; ICC(3,1) {icc3['icc']:.3f}" if icc3 else "")
              + (f"; other raters: {others}" if others else ""))
    return measured(artifact, icc2["icc"], ci=(icc2["ci_low"], icc2["ci_high"]),
                    reason=_reason(differs + _rater_differs(artifact, best["model"])), data=named, data_kind=kind,
                    detail=detail)


@measures("demographic_sensitivity")
@reading(PAPER, "rater_agreement")
def demographic_sensitivity(claim, artifact: Artifact):
    records = list(artifact.data or [])
    named, kind, differs = _data(artifact)
    with_ds = [r for r in records if (r.get("fairness") or {}).get("ds") is not None]
    if not with_ds:
        why = "; ".join(str((r.get("fairness") or {}).get("skipped")) for r in records if r.get("fairness"))
        return not_measured("no rater has persona ratings with two groups in some attribute (DS needs the raters "
                            "run as demographic personas)" + (f": {why}" if why else ""),
                            artifact=artifact.label, models=artifact.models, data=named, data_kind=kind)
    best = _best_rater(with_ds) or with_ds[0]          # the rater whose ICC is reported, else the first with DS
    fairness = best["fairness"]
    gaps = {a.replace("rater_", ""): v["dpd"] for a, v in fairness["per_attribute"].items()
            if isinstance(v.get("dpd"), float)}
    ds_max = fairness.get("ds_max")
    detail = (f"{best['model']} personas: average over {len(gaps)} attribute(s) of the largest gap in unsafe rate "
              f"between personas" + (f"; max {ds_max:.3f}" if ds_max is not None else "")
              + ("; per attribute " + ", ".join(f"{a} {g:.3f}" for a, g in gaps.items()) if gaps else ""))
    definition = "personas and DS formula are ours (one attribute per persona; the paper's are unpublished)"
    return measured(artifact, fairness["ds"], reason=_reason(differs + _rater_differs(artifact, best["model"])
                                                             + [definition]),
                    data=named, data_kind=kind, detail=detail)
