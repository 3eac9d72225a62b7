"""The paper registry: P1–P10 with title, arXiv id, venue, capabilities, notebook, dashboard views and the
headline numbers each abstract claims (data for the notebooks' "paper vs ours" tables), and the other published
numbers the workbench quotes beside its own (``reported``, each with its source; e.g. secondary sources or a
reference method's results). Views and figures read every paper number from here.

The data lives in ``data/papers.json``; this module gives it types.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache

from workbench import WorkbenchError
from workbench.paths import DATA_DIR, REPO_ROOT


@dataclass(frozen=True)
class Claim:
    metric: str
    value: float
    unit: str
    qualifier: str = ""     # ">", "~" … when the abstract states a bound or an approximation
    source: str = ""        # where a ``reported`` number comes from (claims: the paper's abstract)
    wording: str = ""       # a claim: the abstract's words
    kind: str = ""          # a claim: the measurement of ``workbench.claims`` that computes ours
    params: dict = field(default_factory=dict, hash=False, compare=False)   # the measurement's arguments
    note: str = ""          # where the abstract is inconsistent or leaves the quantity open
    view: str = ""          # the dashboard view that shows ours (default: the paper's first view)

    @property
    def text(self) -> str:
        value = f"{self.value:g}"
        return f"{self.qualifier}{value}{(' ' + self.unit) if self.unit else ''}".strip()


@dataclass(frozen=True)
class Paper:
    id: str
    short_name: str
    title: str
    arxiv: str
    venue: str
    code: str
    capabilities: tuple[str, ...]
    notebook: str
    views: tuple[str, ...]
    claims: tuple[Claim, ...]
    reported: tuple[Claim, ...] = ()

    def number(self, metric: str) -> Claim:
        """The claim or reported number named ``metric``; a ``WorkbenchError`` listing the names when unknown."""
        for claim in self.claims + self.reported:
            if claim.metric == metric:
                return claim
        names = ", ".join(c.metric for c in self.claims + self.reported)
        raise WorkbenchError(f"{self.id} has no number '{metric}'; known: {names}")

    @property
    def url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv}"

    @property
    def notebook_exists(self) -> bool:
        return (REPO_ROOT / self.notebook).is_file()


@lru_cache(maxsize=1)
def _load() -> dict[str, Paper]:
    raw = json.loads((DATA_DIR / "papers.json").read_text())
    papers = {}
    for entry in raw["papers"]:
        claims = tuple(Claim(**c) for c in entry.pop("claims"))
        entry["reported"] = tuple(Claim(**c) for c in entry.pop("reported", ()))
        entry["capabilities"] = tuple(entry["capabilities"])
        entry["views"] = tuple(entry["views"])
        papers[entry["id"]] = Paper(claims=claims, **entry)
    return papers


def all_papers() -> list[Paper]:
    """P1..P10 in numeric order."""
    return sorted(_load().values(), key=lambda p: int(p.id[1:]))


def get_paper(paper_id: str) -> Paper:
    """A paper by id (``P3``, case-insensitive) or short name; unknown ids list the known ones."""
    papers = _load()
    key = paper_id.strip().upper()
    if key in papers:
        return papers[key]
    for paper in papers.values():
        if paper.short_name.lower() == paper_id.strip().lower():
            return paper
    raise WorkbenchError(f"unknown paper '{paper_id}'; choose from {', '.join(p.id for p in all_papers())}")


def claims_frame(paper_id: str | None = None):
    """The claimed headline numbers as a DataFrame (paper, metric, value, unit, claim)."""
    import pandas as pd

    rows = [
        {"paper": p.id, "metric": c.metric, "value": c.value, "unit": c.unit, "claim": c.text}
        for p in all_papers() if paper_id is None or p.id == get_paper(paper_id).id
        for c in p.claims
    ]
    return pd.DataFrame(rows, columns=["paper", "metric", "value", "unit", "claim"])


CLAIMS_BEGIN = "<!-- claims: generated from data/papers.json; do not edit -->"
CLAIMS_END = "<!-- end of claims -->"
REGENERATE_CLAIMS = 'python -c "from workbench.papers import write_claim_docs; write_claim_docs()"'


def claims_markdown(paper_id: str) -> str:
    """The claimed headline numbers of a paper as a Markdown list, between the markers its docs page carries
    (``docs/papers/P*.md`` quote no claimed number of their own; this block is their one copy)."""
    paper = get_paper(paper_id)
    lines = [f"- {c.metric}: **{c.text}**" for c in paper.claims]
    return "\n".join([CLAIMS_BEGIN, *lines, CLAIMS_END])


def write_claim_docs(folder=None) -> list[str]:
    """Rewrite the claims block of every ``docs/papers/P*.md`` from the registry; the ids of the pages changed.
    A page without the markers is an error naming it (the block is never appended silently)."""
    from pathlib import Path

    from workbench.io import write_text

    folder = Path(folder) if folder is not None else REPO_ROOT / "docs" / "papers"
    changed = []
    for paper in all_papers():
        path = folder / f"{paper.id}.md"
        text = path.read_text()
        start, end = text.find(CLAIMS_BEGIN), text.find(CLAIMS_END)
        if start < 0 or end < start:
            raise WorkbenchError(f"{path}: no claims block ({CLAIMS_BEGIN} … {CLAIMS_END})")
        new = text[:start] + claims_markdown(paper.id) + text[end + len(CLAIMS_END):]
        if new != text:
            write_text(new, path)
            changed.append(paper.id)
    return changed
