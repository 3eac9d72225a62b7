"""The claims ledger's nouns: what a claim's "ours" is, where it was read from, and how sure we are it is the
same quantity.

A paper's claims live in ``data/papers.json`` only (``workbench.papers.Claim``: metric, value, unit, qualifier,
the abstract's wording, a note, and ``kind`` — the name of the measurement that computes ours). A measurement is a
function ``fn(claim, sources) -> Ours`` registered with ``@measures("kind")``; it reads built artifacts through a
``Sources`` (the artifact store, or the frames a notebook just computed, in the same shapes) and never returns a
literal. Its ``Ours.status`` is one of:

- ``comparable`` — the same quantity, on data and models that make the numbers comparable;
- ``not comparable`` — the same quantity, but ``reason`` says what differs (other data, other model size,
  other metric definition);
- ``not measured`` — we have no number for this quantity; ``reason`` says what is missing. A number that
  measures something else than the claim (e.g. steered vs unsteered where the paper claims AMBS vs naive 1-to-N)
  is never filled in: the claim is not measured.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol

from workbench import WorkbenchError

STATUSES = ("comparable", "not comparable", "not measured")
DATA_KINDS = ("real", "bundled", "synthetic", "")


@dataclass(frozen=True)
class Artifact:
    """One built artifact as a measurement sees it: its data (a DataFrame, a list of records or a dict of
    tensors), the models and config it records, and where it came from (``P1/default/construction_funnel`` or
    ``notebook (in memory)``)."""
    paper: str
    name: str
    data: Any
    profile: str
    models: tuple[str, ...] = ()
    config: dict = field(default_factory=dict)
    where: str = ""

    @property
    def label(self) -> str:
        return self.where or f"{self.paper}/{self.profile}/{self.name}"


class Sources(Protocol):
    """Where measurements read artifacts from."""
    profile: str

    def get(self, paper: str, name: str) -> Artifact | None:
        """The artifact, or None when it is not built."""


class StoreSources:
    """Artifacts read from an ``ArtifactStore`` (default: the workbench home) for one profile."""

    def __init__(self, profile: str, store=None):
        from workbench.io import ArtifactStore

        self.profile = profile
        self.store = store if store is not None else ArtifactStore()
        self._cache: dict[tuple[str, str], Artifact | None] = {}

    def get(self, paper: str, name: str) -> Artifact | None:
        key = (paper, name)
        if key not in self._cache:
            self._cache[key] = self._load(paper, name)
        return self._cache[key]

    def _load(self, paper: str, name: str) -> Artifact | None:
        from workbench.io import load_frame, load_records, load_tensors, read_meta

        path = self.store.path(paper, name, self.profile)
        if not self.store.exists(paper, name, self.profile):
            return None
        meta = read_meta(path)
        loader = {"frame": load_frame, "records": load_records, "tensors": load_tensors}[meta.kind]
        return Artifact(paper, name, loader(path), meta.profile, tuple(meta.models), dict(meta.config),
                        f"{paper}/{self.profile}/{name}")


class MemorySources:
    """Artifacts a notebook computed in memory, in the same shapes its builders save: ``{(paper, name):
    Artifact}``; anything not given is looked up in ``fallback`` (a ``StoreSources``) when one is set."""

    def __init__(self, profile: str, artifacts: Iterable[Artifact] = (), fallback: Sources | None = None):
        self.profile = profile
        self.artifacts = {(a.paper, a.name): a for a in artifacts}
        self.fallback = fallback

    def add(self, paper: str, name: str, data, *, models=(), config=None) -> "MemorySources":
        self.artifacts[(paper, name)] = Artifact(paper, name, data, self.profile, tuple(models), dict(config or {}),
                                                 "notebook (in memory)")
        return self

    def get(self, paper: str, name: str) -> Artifact | None:
        if (paper, name) in self.artifacts:
            return self.artifacts[(paper, name)]
        return self.fallback.get(paper, name) if self.fallback is not None else None


@dataclass(frozen=True)
class Ours:
    """Our side of one claim."""
    status: str                              # one of STATUSES
    value: float | None = None               # in the claim's unit; None when not measured
    ci: tuple[float, float] | None = None    # 95 % interval where the measurement has one
    reason: str = ""                         # not comparable: what differs; not measured: what is missing
    models: tuple[str, ...] = ()
    data: str = ""                           # named: "synthetic: bundled HHH pairs", "real: StrongREJECT (313)"
    data_kind: str = ""                      # one of DATA_KINDS
    artifact: str = ""                       # the artifact it was read from
    detail: str = ""                         # how the value was computed, one line
    # on synthetic data: the trivial surface-feature baseline trained on the same split, one line with its
    # features, score and chance level (e.g. "length+duration logistic: 0.52 accuracy; chance 0.50")
    shortcut: str = ""

    def __post_init__(self):
        if self.status not in STATUSES:
            raise WorkbenchError(f"unknown claim status '{self.status}'; one of {', '.join(STATUSES)}")
        if self.data_kind not in DATA_KINDS:
            raise WorkbenchError(f"unknown data kind '{self.data_kind}'; one of {', '.join(DATA_KINDS[:-1])}")
        if self.status == "not measured" and self.value is not None:
            raise WorkbenchError("a claim that is not measured carries no value")
        if self.status != "not measured" and (self.value is None or not math.isfinite(self.value)):
            raise WorkbenchError(f"a '{self.status}' claim needs a finite value")
        if self.status != "comparable" and not self.reason:
            raise WorkbenchError(f"a '{self.status}' claim needs a reason")


def not_measured(reason: str, *, artifact: str = "", models=(), data: str = "", data_kind: str = "") -> Ours:
    return Ours("not measured", reason=reason, artifact=artifact, models=tuple(models), data=data,
                data_kind=data_kind)


def not_built(paper: str, name: str) -> Ours:
    """The artifact a measurement reads is not built yet."""
    return not_measured(f"artifact {paper}/{name} is not built: run `workbench build {paper}`")


def measured(artifact: Artifact, value: float, *, reason: str = "", ci=None, data: str, data_kind: str,
             detail: str = "", models=None, shortcut: str = "") -> Ours:
    """Ours read from ``artifact``: ``comparable`` when ``reason`` is empty, else ``not comparable``."""
    ci = None if ci is None else (float(ci[0]), float(ci[1]))
    return Ours("not comparable" if reason else "comparable", value=float(value), ci=ci, reason=reason,
                models=tuple(artifact.models if models is None else models), data=data, data_kind=data_kind,
                artifact=artifact.label, detail=detail, shortcut=shortcut)


def reading(paper: str, name: str):
    """Decorator: the measurement ``fn(claim, artifact)`` gets artifact ``paper/name`` instead of the sources;
    ``not_built`` when the artifact is absent."""
    import functools

    def wrap(fn):
        @functools.wraps(fn)
        def run(claim, sources):
            artifact = sources.get(paper, name)
            return not_built(paper, name) if artifact is None else fn(claim, artifact)
        return run
    return wrap


Measurement = Callable[[Any, Sources], Ours]
MEASUREMENTS: dict[str, Measurement] = {}


def measures(kind: str):
    """Decorator: register ``fn(claim, sources) -> Ours`` as the measurement of claims of ``kind``."""
    def wrap(fn: Measurement) -> Measurement:
        if kind in MEASUREMENTS and MEASUREMENTS[kind] is not fn:
            raise WorkbenchError(f"claim kind '{kind}' is registered twice")
        MEASUREMENTS[kind] = fn
        return fn
    return wrap
