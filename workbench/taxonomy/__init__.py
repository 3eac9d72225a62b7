"""The misalignment taxonomy of safety, value and culture domains (P1, P2, P4) and the three semantic types (P2), as data.

Safety: the 14 BeaverTails harm categories; value: the 56 Schwartz Value Survey items grouped under the ten
motivational types; culture: 41 UNESCO-FCS domains grouped under the UFCS domains. Every dimension also has an
explicit ``None`` label. Descriptions (used by the classifiers) and group assignments are written by this project;
the files in ``data/taxonomy/`` say where each label set comes from.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from workbench import WorkbenchError
from workbench.paths import DATA_DIR

DIMENSIONS = ("safety", "value", "culture")
NONE = "None"


@dataclass(frozen=True)
class Domain:
    key: str
    name: str
    description: str
    parent: str | None = None      # Schwartz type / UFCS domain; None for safety
    dimension: str = ""


@dataclass(frozen=True)
class Dimension:
    name: str                       # safety | value | culture | semantic_type
    source: str
    parent_level: str | None
    domains: tuple[Domain, ...]     # the None label last (semantic types have none)

    @property
    def keys(self) -> list[str]:
        return [d.key for d in self.domains]

    @property
    def labels(self) -> list[Domain]:
        """The named domains, without ``None``."""
        return [d for d in self.domains if d.key != NONE]

    def get(self, key: str) -> Domain:
        for domain in self.domains:
            if domain.key == key:
                return domain
        raise WorkbenchError(f"unknown {self.name} domain '{key}'")


@lru_cache(maxsize=None)
def dimension(name: str) -> Dimension:
    """One dimension: ``safety``, ``value``, ``culture`` or ``semantic_type``."""
    folder = DATA_DIR / "taxonomy"
    if name == "semantic_type":
        raw = json.loads((folder / "semantic_types.json").read_text())
        domains = tuple(Domain(t["key"], t["name"], t["description"], None, name) for t in raw["types"])
        return Dimension(name, raw["source"], None, domains)
    if name not in DIMENSIONS:
        raise WorkbenchError(f"unknown dimension '{name}'; choose from {', '.join(DIMENSIONS + ('semantic_type',))}")
    raw = json.loads((folder / f"{name}.json").read_text())
    domains = tuple(Domain(d["key"], d["name"], d["description"], d.get("parent"), name) for d in raw["domains"])
    return Dimension(name, raw["source"], raw.get("parent_level"), domains)


def taxonomy_frame(name: str | None = None):
    """Every domain as a DataFrame (dimension, key, name, parent, description)."""
    import pandas as pd

    names = [name] if name else list(DIMENSIONS) + ["semantic_type"]
    rows = [{"dimension": d.dimension, "key": d.key, "name": d.name, "parent": d.parent, "description": d.description}
            for n in names for d in dimension(n).domains]
    return pd.DataFrame(rows)
