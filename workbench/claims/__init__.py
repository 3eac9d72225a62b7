"""The claims ledger: every headline claim of the ten abstracts (``data/papers.json``) beside ours, computed from
built artifacts by one measurement function per claim kind, with its status (comparable / not comparable /
not measured), reason, CI, profile, models, data and the artifact it was read from.

``workbench claims``, the dashboard's *Claims vs ours* page and every notebook's closing table all call
``ledger``. The measurements live in ``text`` (P1, P2, dataset sizes), ``raters`` (P4), ``experts`` (P3, P10),
``steering`` (P7, P8), ``memes`` (P5) and ``media`` (P6, P9); the nouns in ``core``.
"""
from __future__ import annotations

import importlib
import math
from dataclasses import asdict, dataclass

from workbench import WorkbenchError
from workbench.claims.core import (MEASUREMENTS, STATUSES, Artifact, MemorySources, Ours, Sources,  # noqa: F401
                                   StoreSources, measured, measures, not_built, not_measured)

MEASUREMENT_MODULES = ("workbench.claims.text", "workbench.claims.raters", "workbench.claims.experts",
                       "workbench.claims.steering", "workbench.claims.memes", "workbench.claims.media")

COLUMNS = ["paper", "metric", "claim", "ours", "status", "reason", "shortcut", "profile", "models", "data", "artifact",
           "view"]


def discover() -> dict:
    """Import every measurement module; the registry of claim kind → measurement."""
    for module in MEASUREMENT_MODULES:
        importlib.import_module(module)
    return MEASUREMENTS


@dataclass(frozen=True)
class LedgerRow:
    paper: str
    metric: str
    claim: str          # the paper's number as the abstract states it (e.g. "> 40 %")
    wording: str        # the abstract's words
    note: str           # where the abstract is inconsistent or ambiguous
    kind: str
    status: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    unit: str
    reason: str
    profile: str
    models: tuple[str, ...]
    data: str
    data_kind: str
    artifact: str
    view: str
    detail: str
    shortcut: str = ""  # synthetic data: the surface-feature baseline on the same split (see Ours.shortcut)
    # over seeds (extra seeds built with `workbench build P --seeds N`): value is then their mean, ci the main
    # seed's bootstrap CI, seed_sd the sample standard deviation and seed_values every seed's value
    seeds: int = 1
    seed_sd: float | None = None
    seed_values: tuple[float, ...] = ()

    @property
    def ours(self) -> str:
        """Our value as text, with its CI where one exists; "not measured" otherwise."""
        if self.value is None:
            return "not measured"
        unit = f" {self.unit}" if self.unit else ""
        text = f"{self.value:.4g}{unit}"
        if self.ci_low is not None and self.ci_high is not None:
            text += f" [{self.ci_low:.3g}, {self.ci_high:.3g}]"
        if self.seeds > 1 and self.seed_sd == 0:
            # the build does not depend on its seed here (fixed training seeds or no training): say so, no "sd 0"
            text += f" (the same for all {self.seeds} seeds)"
        elif self.seeds > 1:
            text += f" (mean of {self.seeds} seeds, sd {self.seed_sd:.3g})"
        return text

    def to_json(self) -> dict:
        out = asdict(self)
        out["models"] = list(self.models)
        out["seed_values"] = list(self.seed_values)
        out["ours"] = self.ours
        return out


def _row(paper, claim, ours: Ours, profile: str) -> LedgerRow:
    ci = ours.ci or (None, None)
    return LedgerRow(paper.id, claim.metric, claim.text, claim.wording, claim.note, claim.kind, ours.status,
                     ours.value, ci[0], ci[1], claim.unit, ours.reason, profile, ours.models, ours.data,
                     ours.data_kind, ours.artifact, claim.view or paper.views[0], ours.detail, ours.shortcut)


def measure(paper_id: str, claim, sources: Sources) -> Ours:
    """Ours for one claim; a missing measurement function is an error naming the kind."""
    fn = discover().get(claim.kind)
    if fn is None:
        raise WorkbenchError(f"{paper_id} claim '{claim.metric}': no measurement for kind '{claim.kind}'; "
                             f"known: {', '.join(sorted(MEASUREMENTS))}")
    ours = fn(claim, sources)
    if not isinstance(ours, Ours):
        raise WorkbenchError(f"measurement '{claim.kind}' returned {type(ours).__name__}, not Ours")
    return ours


def over_seeds(row: LedgerRow, others: list[Ours]) -> LedgerRow:
    """``row`` (the main seed's) with the values of the extra seeds' runs folded in: the mean over every seed
    whose run measured the claim with the same status, its sample SD and the values; the CI stays the main seed's
    bootstrap CI. Unchanged when no other seed measured it."""
    import statistics

    if row.value is None:
        return row
    values = [row.value] + [o.value for o in others if o.status == row.status and o.value is not None]
    if len(values) < 2:
        return row
    from dataclasses import replace

    return replace(row, value=float(statistics.fmean(values)), seeds=len(values),
                   seed_sd=float(statistics.stdev(values)), seed_values=tuple(float(v) for v in values))


def ledger(papers=None, *, profile: str | None = None, store=None, sources: Sources | None = None,
           seeds: bool = True) -> list[LedgerRow]:
    """Every claim of ``papers`` (ids; all when None) with ours read from ``sources`` (default: the artifact
    store of ``profile``, default the active profile). With ``seeds`` and no ``sources`` given, the extra seeds'
    stores (``workbench.io.seed_stores``) are read too and each row is their mean (``over_seeds``)."""
    from workbench.papers import all_papers, get_paper
    from workbench.profiles import get_profile

    extra = []
    if sources is None:
        from workbench.io import seed_stores

        name = get_profile(profile).name
        sources = StoreSources(name, store)
        extra = [StoreSources(name, s) for s in seed_stores(sources.store).values()] if seeds else []
    chosen = all_papers() if not papers else [get_paper(p) for p in papers]
    rows = []
    for p in chosen:
        for c in p.claims:
            row = _row(p, c, measure(p.id, c, sources), sources.profile)
            rows.append(over_seeds(row, [measure(p.id, c, s) for s in extra]) if extra else row)
    return rows


def ledger_frame(papers=None, **kwargs):
    """``ledger`` as a DataFrame: the ``COLUMNS`` first (ours as text), then value, CI, unit, wording, note, kind,
    data kind and detail."""
    import pandas as pd

    rows = [r.to_json() for r in ledger(papers, **kwargs)]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame["models"] = [", ".join(m) for m in frame["models"]]
    rest = [c for c in frame.columns if c not in COLUMNS]
    return frame[COLUMNS + rest]


def _cell(text) -> str:
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    return str(text).replace("|", "\\|").replace("\n", " ")


def ledger_markdown(rows: list[LedgerRow]) -> str:
    """A Markdown table of ``rows``: paper, claim, ours, status, reason, profile / models, data, artifact."""
    head = "| paper | metric | claim | ours | status | why | shortcut baseline | profile / models | data | artifact |"
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        models = f"{r.profile} / {', '.join(r.models)}" if r.models else r.profile
        lines.append("| " + " | ".join(_cell(x) for x in (r.paper, r.metric, r.claim, r.ours, r.status, r.reason,
                                                            r.shortcut, models, r.data, r.artifact)) + " |")
    return "\n".join(lines)


def status_counts(rows: list[LedgerRow]) -> dict[str, int]:
    return {s: sum(r.status == s for r in rows) for s in STATUSES}
