"""docs/cli.md, rendered from the ``workbench`` parser: every command and sub-command with its help and arguments.

Regenerate with ``python -m workbench.cli.docs > docs/cli.md``; tests/test_cli_structure.py checks that
docs/cli.md equals ``render()``.
"""
from __future__ import annotations

import argparse
import functools

from workbench.cli.main import EXIT_CODES, HelpFormatter, make_parser, subparsers

WIDTH = 100          # fixed, so that the page does not depend on the terminal it was rendered in
REGENERATE = "python -m workbench.cli.docs > docs/cli.md"


def _walk(parser: argparse.ArgumentParser, depth: int = 0):
    """(depth, parser) for ``parser`` and every sub-command below it, in --help order."""
    yield depth, parser
    for child in subparsers(parser).values():
        yield from _walk(child, depth + 1)


def render() -> str:
    """The markdown of docs/cli.md."""
    parser = make_parser()
    entries = list(_walk(parser))
    for _, p in entries:
        p.formatter_class = functools.partial(HelpFormatter, width=WIDTH)
    lines = ["# The `workbench` command line", "",
             f"Generated from the parser by `{REGENERATE}`; do not edit by hand.", "",
             *_conventions(), "## Commands", ""]
    for depth, p in entries[1:]:
        lines.append(f"{'  ' * (depth - 1)}- [`{p.prog}`](#{_anchor(p.prog)})")
    for depth, p in entries:
        lines += ["", f"{'#' * min(depth + 2, 4)} {p.prog}", "", "```text", p.format_help().rstrip(), "```"]
    return "\n".join(lines) + "\n"


def _conventions() -> list[str]:
    """The page's header: grammar, global options, output, progress and exit codes (the same for every command)."""
    return [
        "`workbench <noun> <verb>`. The global options (`--profile`, `--device`, `--dtype`, `--quantize`, "
        "`--engine`, `-q/--quiet`, `-v/--verbose`, `--debug`) may be given before or after the command (a value "
        "given after wins); `models list --profile` is that command's own filter. Old spellings still work and are "
        "not listed: `prepare` (`models prepare`), `generate` (`lm generate`), bare `taxonomy` (`taxonomy show`), "
        "`classify` and `expand` (`taxonomy classify`, `taxonomy expand`), `dedup INPUT` (`dedup run INPUT`), "
        "`caption FILE` (`caption run FILE`) and `caption-eval` (`caption eval`).", "",
        "**Output.** Results go to stdout; every command that prints results takes `--json` and then prints the "
        "same data as one JSON document on stdout, alone (numbers unformatted, missing values as `null`). "
        "Progress, messages and logging go to stderr. Every option's help shows its default.", "",
        "**Progress.** On a terminal a bar with count, rate and time left (`12/40 [00:31<01:12, 0.39 it/s]`); when "
        "stderr is a file or a pipe, one line per stage as it ends, with its time (`building P1: done in 3 min "
        "38 s`), never carriage-return redraws. `-q/--quiet` prints results "
        "only (no progress, no messages, only errors logged); `-v` adds info logging, `-vv` debug logging.", "",
        "**Exit codes.**", "", "| code | meaning |", "|---|---|",
        *[f"| {code} | {meaning} |" for code, meaning in EXIT_CODES.items()], ""]


def _anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, spaces to dashes, punctuation dropped."""
    return "".join(c for c in title.lower().replace(" ", "-") if c.isalnum() or c in "-_")


if __name__ == "__main__":
    print(render(), end="")
