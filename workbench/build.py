"""Builders: the named steps that produce each paper's artifacts, and the default-profile model preparation.

A capability registers a builder with ``@register_builder(paper, name)``; the dashboard's paper views offer a
button that runs it with a progress bar, ``workbench build PAPER`` runs it from the shell, and Home shows
which papers have their artifacts. A builder receives a ``BuildContext`` (store, profile, seed, progress
callback) and writes its artifacts through ``workbench.io`` so every output carries its meta.json.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from workbench import WorkbenchError
from workbench.io import ArtifactStore
from workbench.profiles import Profile

Progress = Callable[[float, str], None]   # (fraction done in [0, 1], message)


@dataclass(frozen=True)
class BuildContext:
    store: ArtifactStore
    profile: Profile
    seed: int = 0
    smoke: bool = False               # tiny sizes, for tests and the notebooks' smoke mode
    progress: Progress = lambda fraction, message: None
    paper: str = ""                   # set by build_paper for the builder it runs
    rehearsal: bool = False           # a tiny rehearsal (``workbench.rehearse``): random weights, so the fewest
                                      # items that still run every step (``rehearsal_limit``) are enough

    def path(self, paper: str, name: str):
        return self.store.path(paper, name, self.profile.name)


def rehearsal_limit(ctx: BuildContext, smoke: int, rehearsal: int = 2) -> int:
    """How many items a smoke-sized step takes: ``rehearsal`` in a tiny rehearsal (random weights: only the code
    path is checked, and every item costs the same), else ``smoke``."""
    return rehearsal if ctx.rehearsal else smoke


@dataclass(frozen=True)
class Builder:
    paper: str
    name: str                          # the artifact folder it writes
    description: str
    run: Callable[[BuildContext], None]
    quick: bool = True                 # built by the demo queue's quick pass (False: a view's secondary section
    #                                    that costs much even at smoke size; the full pass builds it)


BUILDERS: dict[tuple[str, str], Builder] = {}


def register_builder(paper: str, name: str, description: str, *, quick: bool = True):
    """Decorator: register ``fn(ctx)`` as the builder of artifact ``name`` for ``paper`` (``quick=False``: left to
    the demo queue's full pass, see ``Builder.quick``)."""
    def wrap(fn: Callable[[BuildContext], None]):
        BUILDERS[(paper, name)] = Builder(paper, name, description, fn, quick)
        return fn
    return wrap


def builders_for(paper: str) -> list[Builder]:
    return [b for (p, _), b in BUILDERS.items() if p == paper]


def build_status(paper: str, profile: str, store: ArtifactStore | None = None) -> dict[str, bool]:
    """Artifact name → built? for every builder registered for ``paper``."""
    store = store or ArtifactStore()
    return {b.name: store.exists(paper, b.name, profile) for b in builders_for(paper)}


def select_builders(paper: str, only=None) -> list[Builder]:
    """``paper``'s builders, or those named in ``only`` (artifact names; an unknown one is refused in one line
    naming the choices)."""
    builders = builders_for(paper)
    if not builders:
        raise WorkbenchError(f"no builders are registered for {paper} yet")
    if only is None:
        return builders
    names = {b.name for b in builders}
    unknown = [n for n in only if n not in names]
    if unknown or not only:
        raise WorkbenchError(f"{paper} has no artifact '{unknown[0] if unknown else ''}'; choose from "
                             f"{', '.join(sorted(names))}")
    return [b for b in builders if b.name in set(only)]


def build_paper(paper: str, ctx: BuildContext, *, force: bool = False, only=None,
                seconds: dict | None = None) -> list[str]:
    """Run ``paper``'s builders whose artifacts are missing (all of them with ``force``; only the artifacts named
    in ``only`` when given); returns those run. ``seconds``, when given, receives each run builder's wall time."""
    import time

    pending = [b for b in select_builders(paper, only)
               if force or not ctx.store.exists(paper, b.name, ctx.profile.name)]
    for i, builder in enumerate(pending):
        def scaled(fraction: float, message: str, i=i) -> None:
            ctx.progress((i + min(max(fraction, 0.0), 1.0)) / len(pending), f"{builder.name}: {message}")
        start = time.monotonic()
        builder.run(replace(ctx, progress=scaled, paper=paper))
        if seconds is not None:
            seconds[builder.name] = round(time.monotonic() - start, 1)
    ctx.progress(1.0, "done")
    return [b.name for b in pending]


def prepare_models(names: list[str], progress: Progress = lambda f, m: None) -> list[str]:
    """Convert/build each named model once (GGUF → safetensors, Whisper join, tiny models); returns those done now.

    Models already prepared are skipped, so running it again does no work.
    """
    from workbench.models import availability, get_spec, local_path

    states = {name: availability(get_spec(name)) for name in names}
    unavailable = [f"{name} ({state.detail})" for name, state in states.items() if not state.available]
    if unavailable:
        raise WorkbenchError(f"not available offline: {'; '.join(unavailable)}")
    done = []
    for i, name in enumerate(names):
        progress(i / max(len(names), 1), f"{name}: {states[name].detail}")
        if not states[name].prepared:
            local_path(get_spec(name), lambda message: progress(i / max(len(names), 1), f"{name}: {message}"))
            done.append(name)
    progress(1.0, "models ready")
    return done


# Modules that register builders when imported; each capability adds its own line here.
BUILDER_MODULES: tuple[str, ...] = ("workbench.taxonomy.artifacts", "workbench.evaluation.artifacts",
                                     "workbench.experts.artifacts", "workbench.steering.artifacts",
                                     "workbench.deepfake.artifacts", "workbench.captioning.artifacts",
                                     "workbench.memes.artifacts")


def discover() -> None:
    """Import every module in ``BUILDER_MODULES`` so their builders are registered."""
    import importlib

    for module in BUILDER_MODULES:
        importlib.import_module(module)
