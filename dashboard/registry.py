"""View registration: each module in ``dashboard/views/`` defines ``VIEW = View(...)``; the app discovers them.

Adding a view means adding one file; nothing else is edited. ``papers`` ties a view to the paper ids it serves,
so Home can link each paper to its views.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

SECTIONS = ("Overview", "Benchmarks", "Experts & steering", "Multimodal")


@dataclass(frozen=True)
class View:
    key: str                       # url path and the id papers.json refers to
    title: str
    render: Callable[[], None]
    section: str = "Overview"
    icon: str = ":material/article:"
    papers: tuple[str, ...] = field(default=())
    order: int = 100
    default: bool = False


def discover() -> list[View]:
    """Every ``VIEW`` in ``dashboard.views``, ordered by section then ``order``."""
    import dashboard.views as package

    views = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"dashboard.views.{info.name}")
        view = getattr(module, "VIEW", None)
        if isinstance(view, View):
            views.append(view)
    keys = [v.key for v in views]
    dupes = {k for k in keys if keys.count(k) > 1}
    if dupes:
        raise RuntimeError(f"dashboard views share keys: {', '.join(sorted(dupes))}")
    rank = {s: i for i, s in enumerate(SECTIONS)}
    return sorted(views, key=lambda v: (rank.get(v.section, len(SECTIONS)), v.order, v.title))


# Filled by app.py with the st.Page objects it built, so views can link to each other.
PAGES: dict[str, object] = {}
