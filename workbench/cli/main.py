"""The ``workbench`` command line: ``workbench <noun> <verb>``.

The parser is built from the commands that the capability modules (``CAPABILITIES``) register in
``workbench.cli.common``. Global options: ``--profile``, ``--device``, ``--dtype``, ``--quantize``, ``--engine``
(also ``$WORKBENCH_PROFILE``, ``$WORKBENCH_DEVICE``, ``$WORKBENCH_DTYPE``, ``$WORKBENCH_QUANTIZE``,
``$WORKBENCH_ENGINE``; a roles file's ``engine = "vllm"`` when ``--engine`` is not given), ``-q/--quiet``
(results only), ``-v/--verbose`` (more logging) and ``--debug`` (show tracebacks), accepted before or after the
command (a value given after wins). Old spellings (``prepare``, ``generate``, bare ``taxonomy``, ``classify``,
``expand``, ``dedup INPUT``, ``caption FILE``, ``caption-eval``) are rewritten to their new commands before parsing
and are not listed in ``--help``. Every option's help shows its default (``HelpFormatter``).

Exit codes (``EXIT_CODES``): 0 ok, 1 error (one line on stderr), 2 usage (a bad option or argument), 130
interrupted (Ctrl-C: one line, no traceback).

Entry point of the ``workbench`` console script and of ``python -m workbench``; ``workbench.cli.docs`` renders
docs/cli.md from ``make_parser()``.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys

from workbench import WorkbenchError, __version__
from workbench.cli.common import COMMANDS, GROUPS, output

# One module per capability; importing it registers its commands (in this order in --help).
CAPABILITIES = ("core", "notebook", "lm", "taxonomy", "dedup", "datasets", "evaluate", "experts", "steer",
                "deepfake", "caption", "meme")

# Old top-level spellings -> their new words. A group name maps to its default verb, which is inserted
# unless a verb (or -h) follows it.
ALIASES: dict[str, tuple[str, ...]] = {
    "prepare": ("models", "prepare"),
    "generate": ("lm", "generate"),
    "classify": ("taxonomy", "classify"),
    "expand": ("taxonomy", "expand"),
    "caption-eval": ("caption", "eval"),
}
DEFAULT_VERBS = {"taxonomy": "show", "dedup": "run", "caption": "run"}
EXIT_CODES = {0: "ok",
              1: "error: one line on stderr naming the problem (`--debug` shows the traceback)",
              2: "usage: the command line does not parse (an unknown command or option, a missing argument, a value "
                 "of the wrong type or outside its choices); `deepfake score`, `caption run` and `meme classify` "
                 "also for an input file they cannot read",
              130: "interrupted (Ctrl-C): one line, no traceback"}
SHORT_FLAGS = {"--quiet": "-q", "--verbose": "-v"}
GLOBAL_OPTIONS: tuple[tuple[str, dict], ...] = (
    ("--profile", {"choices": ["default", "paper"], "help": "active profile (default: default)"}),
    ("--device", {"help": "auto, cpu, cuda, cuda:N or mps (default: auto)"}),
    ("--dtype", {"choices": ["auto", "bfloat16", "float16", "float32"],
                 "help": "weights' dtype of loaded models (default: auto = bfloat16 on CUDA, else float32)"}),
    ("--quantize", {"choices": ["none", "4bit", "8bit"],
                    "help": "load the paper profile's models quantised with bitsandbytes (CUDA only; default: none)"}),
    ("--engine", {"choices": ["hf", "vllm"],
                  "help": "the engine of commands that generate or score text: hf (transformers) or vllm (a separate "
                          "environment: make paper-env; default: hf, or the roles file's engine)"}),
    ("--quiet", {"action": "store_true", "help": "results only: no progress, no messages, warnings and errors "
                                                 "only in the log"}),
    ("--verbose", {"action": "count", "default": 0, "help": "more logging on stderr: -v info, -vv debug"}),
    ("--debug", {"action": "store_true", "help": "show tracebacks"}),
)
GLOBAL_VALUE_OPTIONS = tuple(flag for flag, kwargs in GLOBAL_OPTIONS if "action" not in kwargs)


class HelpFormatter(argparse.HelpFormatter):
    """Shows each option's default unless its help already names one: ``(default: 64)``, ``(default: none)`` for
    an option that is unset unless given; flags (``--smoke``) and required options have none to show."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help = action.help or ""
        if not _default_untold(action):
            return help
        shown = "none" if action.default in (None, "") else "%(default)s"
        return f"{help} (default: {shown})".lstrip()


def _default_untold(action: argparse.Action) -> bool:
    """Whether ``action`` has a default worth showing that its help does not already mention."""
    default, help = action.default, action.help or ""
    if action.required or default is argparse.SUPPRESS or help is argparse.SUPPRESS:
        return False
    if action.nargs == 0 and default in (None, False):      # a flag: off unless given
        return False
    if "default" in help or (default not in (None, "") and f"({default})" in help):   # "... (0.5)"
        return False
    return bool(action.option_strings) or action.nargs in ("?", "*")


def _load_commands() -> None:
    for name in CAPABILITIES:
        importlib.import_module(f"workbench.cli.{name}")


def _add_globals(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The global options. Below the top they are hidden from help and, when not given, leave the value given
    before the command alone; a command's own option of the same name wins (``models list --profile``)."""
    for flag, kwargs in GLOBAL_OPTIONS:
        if flag in parser._option_string_actions:
            continue
        flags = [f for f in (SHORT_FLAGS.get(flag), flag) if f and f not in parser._option_string_actions]
        parser.add_argument(*flags, **(kwargs if top else {**kwargs, "default": argparse.SUPPRESS,
                                                            "help": argparse.SUPPRESS}))


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The sub-commands of ``parser`` by name (empty for a leaf command)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _finish(parser: argparse.ArgumentParser) -> None:
    """Every sub-parser below the top: the help formatter and the global options."""
    for child in subparsers(parser).values():
        child.formatter_class = HelpFormatter
        for action in child._actions:
            if action.help is None and _default_untold(action):
                # argparse shows nothing for an option without help
                action.help = "(default: none)" if action.default in (None, "") else "(default: %(default)s)"
        _add_globals(child, top=False)
        _finish(child)


def make_parser() -> argparse.ArgumentParser:
    """The full ``workbench`` parser (every capability's commands registered)."""
    _load_commands()
    parser = argparse.ArgumentParser(prog="workbench", description="The workbench command line: "
                                     "workbench <noun> <verb>.", formatter_class=HelpFormatter,
                                     epilog="Global options may also follow the command: "
                                            "`workbench build P1 --profile paper`.")
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    _add_globals(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction] = {}
    # The order of CAPABILITIES, not of registration: a test or script that imports one command module first
    # must not reorder `--help` or docs/cli.md (sorted is stable, so a module keeps its own order).
    rank = {f"workbench.cli.{name}": i for i, name in enumerate(CAPABILITIES)}
    for cmd in sorted(COMMANDS, key=lambda c: rank.get(c.handler.__module__, len(rank))):
        if cmd.verb is None:
            p = sub.add_parser(cmd.noun, help=cmd.help, description=cmd.help)
        else:
            if cmd.noun not in groups:
                help_text = GROUPS.get(cmd.noun, "")
                g = sub.add_parser(cmd.noun, help=help_text, description=help_text)
                groups[cmd.noun] = g.add_subparsers(dest="action", required=True, metavar="VERB")
            p = groups[cmd.noun].add_parser(cmd.verb, help=cmd.help, description=cmd.help)
        cmd.configure(p)
        p.set_defaults(_handler=cmd.handler)
    _finish(parser)
    return parser


def rewrite_aliases(argv: list[str]) -> list[str]:
    """Old spellings to new words: ``prepare`` -> ``models prepare``, ``dedup IN`` -> ``dedup run IN``, ..."""
    argv = list(argv)
    i = 0
    while i < len(argv):                     # skip the global options before the command
        token = argv[i]
        if token == "--":
            return argv
        if token in GLOBAL_VALUE_OPTIONS:
            i += 2
        elif token.startswith("-"):
            i += 1
        else:
            break
    else:
        return argv
    word = argv[i]
    if word in ALIASES:
        return argv[:i] + list(ALIASES[word]) + argv[i + 1:]
    if word in DEFAULT_VERBS:
        verbs = {c.verb for c in COMMANDS if c.noun == word}
        following = argv[i + 1] if i + 1 < len(argv) else None
        if following not in verbs and following not in ("-h", "--help"):
            return argv[:i + 1] + [DEFAULT_VERBS[word]] + argv[i + 1:]
    return argv


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit code (``EXIT_CODES``). A usage error exits 2 through argparse."""
    try:
        parser = make_parser()
        args = parser.parse_args(rewrite_aliases(sys.argv[1:] if argv is None else argv))
        if args.command is None:
            parser.print_help()
            return 2
        if args.quiet and args.verbose:
            parser.error("give -q/--quiet or -v/--verbose, not both")
        with output(json=bool(getattr(args, "json", False)), quiet=args.quiet, verbose=args.verbose), \
                _logging(args.quiet, args.verbose):
            return _with_environment(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


@contextlib.contextmanager
def _logging(quiet: bool, verbose: int):
    """Log records on stderr: warnings by default, errors only with -q, info with -v, debug with -vv (a handler is
    added only where the root logger has none, so an embedding application's logging is left as it is)."""
    import logging

    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO)[verbose] if verbose < 2 else logging.DEBUG
    root = logging.getLogger()
    handler = None
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    before = root.level
    root.setLevel(level)
    try:
        yield
    finally:
        if handler is not None:
            root.removeHandler(handler)
        root.setLevel(before)


def _with_environment(args) -> int:
    # Global options become environment variables so every library call below sees the same choice;
    # they are restored afterwards so that calling main() in-process leaves no trace.
    from workbench.paths import environ

    with environ(WORKBENCH_PROFILE=args.profile or None, WORKBENCH_DEVICE=args.device or None,
                 WORKBENCH_DTYPE=(getattr(args, "dtype", None) or None) if args.command != "rehearse" else None,
                 WORKBENCH_QUANTIZE=args.quantize or None,           # rehearse has its own --dtype
                 WORKBENCH_ENGINE=args.engine or None):
        return _run(args)


def _run(args) -> int:
    """The command's handler, with its errors as one line (``--debug`` for the traceback)."""
    try:
        from workbench.profiles import active_profile, pick_device

        active_profile()
        if os.environ.get("WORKBENCH_DEVICE", "auto").lower() != "auto":
            pick_device()     # a device asked for must exist; "auto" always resolves (and would import torch)
        if getattr(args, "roles", None) and not args.engine:
            from workbench.engines import roles_engine
            from workbench.paths import environ

            with environ(WORKBENCH_ENGINE=roles_engine(args.roles)):        # the roles file's engine, if any
                return args._handler(args)
        return args._handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for the user; --debug for the traceback
        if args.debug:
            raise
        kind = "" if isinstance(exc, WorkbenchError) else f"{type(exc).__name__}: "
        print(f"error: {kind}{exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
