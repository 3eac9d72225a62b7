"""What every ``workbench`` command module shares: the command registry, tables, the progress bar, JSON output.

Used by the capability modules of ``workbench.cli`` (core, lm, taxonomy, dedup, evaluate, experts, steer,
deepfake, caption, meme), which register their commands here with ``@command``, and by ``workbench.cli.main``,
which builds the parser from the registry. Nothing here imports a capability or a heavy library at module level.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
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


def print_json(obj) -> None:
    """The ``--json`` output of a command: one indented JSON document on stdout."""
    print(json.dumps(obj, indent=2))


def progress_bar(desc: str):
    """A tqdm bar on stderr driven by ``update(fraction, message)``; returns ``(bar, update)``; close the bar."""
    from tqdm import tqdm

    bar = tqdm(total=100, desc=desc, unit="%", bar_format="{l_bar}{bar}| {n:.0f}% {postfix}")

    def update(fraction: float, message: str) -> None:
        bar.n = round(100 * fraction, 1)
        bar.set_postfix_str(message[:60])
        bar.refresh()
    return bar, update


def require_new_columns(df, columns, source) -> None:
    """Refuse to overwrite columns the input already has."""
    clash = [c for c in columns if c in df.columns]
    if clash:
        raise WorkbenchError(f"{source}: already has column(s) {', '.join(clash)}; rename them first")


def fmt(x) -> str:
    """A metric with three decimals, or n/a for None/NaN."""
    return "n/a" if x is None or x != x else f"{x:.3f}"
