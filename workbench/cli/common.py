"""What every ``workbench`` command module shares: the command registry, tables, progress, messages, JSON output.

Used by the capability modules of ``workbench.cli`` (core, notebook, lm, taxonomy, dedup, datasets, evaluate,
experts, steer, deepfake, caption, meme), which register their commands here with ``@command``, and by
``workbench.cli.main``, which builds the parser from the registry. Nothing here imports a capability or a heavy
library at module level.

Output conventions: a command's results go to stdout, as text or, with its ``--json`` flag, as one JSON document
(``add_json``, ``wants_json``, ``print_json``); progress (``progress``, drawn by ``workbench.cli.progress``) and
messages (``message``; ``note`` for the lines of a text report that are not results) go to stderr, or nowhere
with the global ``-q``. ``main`` sets ``OUTPUT`` for the command it runs. ``add_track`` and ``tracked`` give the
training and evaluation commands their optional ``--track`` (``workbench.tracking``).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from workbench import WorkbenchError

Handler = Callable[[argparse.Namespace], int]
Configure = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Command:
    """One registered command: ``noun`` alone (``workbench info``) or ``noun verb`` (``workbench models list``)."""
    noun: str
    verb: str | None
    help: str
    configure: Configure
    handler: Handler


COMMANDS: list[Command] = []      # in registration order: the order of `workbench --help`
GROUPS: dict[str, str] = {}       # noun -> help of a noun whose verbs register separately


def group(noun: str, help: str) -> None:
    """Declare ``workbench NOUN`` as a group of verbs registered with ``@command("NOUN VERB", ...)``."""
    GROUPS[noun] = help


def command(name: str, help: str, configure: Configure = lambda p: None):
    """Register ``fn(args) -> int`` as ``workbench NAME`` (``"noun"`` or ``"noun verb"``); ``configure`` adds its
    arguments."""
    noun, _, verb = name.partition(" ")

    def wrap(fn: Handler) -> Handler:
        COMMANDS.append(Command(noun, verb or None, help, configure, fn))
        return fn
    return wrap


def print_table(rows: list[dict], columns: list[str]) -> None:
    """A plain fixed-width table on stdout."""
    widths = {c: max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    print("  ".join("-" * widths[c] for c in columns))
    for row in rows:
        print("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns).rstrip())


@dataclass
class Output:
    """How the running command reports: ``json`` (its ``--json`` flag), ``quiet`` (``-q``), ``verbose`` (``-v``
    count)."""
    json: bool = False
    quiet: bool = False
    verbose: int = 0


OUTPUT = Output()


@contextmanager
def output(json: bool = False, quiet: bool = False, verbose: int = 0):
    """Set ``OUTPUT`` for one command run (``main`` does), restoring the previous settings afterwards."""
    global OUTPUT
    before, OUTPUT = OUTPUT, Output(json, quiet, verbose)
    try:
        yield OUTPUT
    finally:
        OUTPUT = before


def add_json(p: argparse.ArgumentParser, what: str = "the results") -> None:
    """The ``--json`` flag of a result command: ``what`` as one JSON document on stdout, nothing else there."""
    p.add_argument("--json", action="store_true", help=f"print {what} as one JSON document on stdout (messages and "
                                                       "progress go to stderr)")


def wants_json(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False))


def jsonable(obj):
    """``obj`` with numpy scalars and arrays, pandas frames and series, paths, sets and tuples turned into plain
    JSON values; NaN and infinities become null (JSON has neither)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "to_dict") and hasattr(obj, "columns"):          # a pandas DataFrame
        return jsonable(obj.to_dict("records"))
    if hasattr(obj, "to_dict"):                                       # a pandas Series
        return jsonable(obj.to_dict())
    if hasattr(obj, "tolist"):                                        # numpy arrays and scalars
        return jsonable(obj.tolist())
    if hasattr(obj, "item"):
        return jsonable(obj.item())
    if obj.__class__.__name__ in ("NAType", "NaTType"):               # pandas' missing values
        return None
    return str(obj)


def print_json(obj) -> None:
    """The ``--json`` output of a command: one indented JSON document on stdout."""
    print(json.dumps(jsonable(obj), indent=2, ensure_ascii=False))


def message(text: str) -> None:
    """A message for the user on stderr (loading a model, a skipped row); nothing with ``-q``."""
    if not OUTPUT.quiet:
        print(text, file=sys.stderr, flush=True)


def bracketed(text: str) -> None:
    """``[text]`` on stderr: the ``progress`` callback of ``workbench.models.load``."""
    message(f"[{text}]")


def note(text: str) -> None:
    """A line of a text report that is not a result (what is about to run, where a file was written): stdout in
    text mode, stderr with ``--json`` (so stdout stays one JSON document), nothing with ``-q``."""
    if not OUTPUT.quiet:
        print(text, file=sys.stderr if OUTPUT.json else sys.stdout, flush=OUTPUT.json)


def progress(desc: str, unit: str = "it"):
    """``with progress("training") as update: ...``: the stage's progress on stderr (a bar on a terminal, one line
    per stage, when it ends, elsewhere, nothing with ``-q``); ``update(done, total)`` or ``update(fraction, message)``."""
    from workbench.cli.progress import stage

    return stage(desc, quiet=OUTPUT.quiet, unit=unit)


def add_track(p: argparse.ArgumentParser) -> None:
    """The ``--track`` option of a training or evaluation command (``workbench.tracking``; off by default)."""
    from workbench.tracking import BACKENDS

    p.add_argument("--track", choices=BACKENDS, help="log losses, metrics and the run's meta.json to a local "
                                                     "store under the workbench home (runs/; docs/tracking.md)")


@contextmanager
def tracked(args: argparse.Namespace, name: str):
    """``with tracked(args, "meme train") as tracker:`` — the run's tracker (``workbench.tracking``) for
    ``args.track``, one that records nothing when the flag is absent; says where the run went when it ends."""
    from workbench.tracking import Tracker, run_meta, tracking

    backend = getattr(args, "track", None)
    if backend is None:
        yield Tracker()
        return
    from workbench.profiles import active_profile

    meta = run_meta(name, {k: v for k, v in vars(args).items() if not k.startswith("_")}, active_profile().name)
    with tracking(backend, name, meta=meta) as tracker:
        yield tracker
    message(f"tracked with {backend}: {tracker.where}")


def require_new_columns(df, columns, source) -> None:
    """Refuse to overwrite columns the input already has."""
    clash = [c for c in columns if c in df.columns]
    if clash:
        raise WorkbenchError(f"{source}: already has column(s) {', '.join(clash)}; rename them first")


def fmt(x) -> str:
    """A metric with three decimals, or n/a for None/NaN."""
    return "n/a" if x is None or x != x else f"{x:.3f}"
