"""`workbench notebook run P…`: execute a paper's notebook with parameters into an .ipynb and an HTML report.

Registered by ``workbench.cli.main``; jupytext, nbclient and nbconvert are imported inside the command
(``workbench.notebooks.run_report``)."""
from __future__ import annotations

import argparse

from workbench.cli.common import add_json, command, group, print_json, progress, wants_json

group("notebook", "the papers' notebooks: `notebook run P…`")


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("paper", help="a paper id (P1 … P10) or short name, or a percent-format notebook file (.py)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override a value of the notebook's parameters cell (a Python literal, else a string), "
                        "e.g. --param SMOKE=True; repeat for more (default: the notebook's own values)")
    p.add_argument("--out", help="folder for NOTEBOOK.ipynb and NOTEBOOK.html (default: notebooks/ under the "
                                 "workbench home, $WORKBENCH_HOME)")
    p.add_argument("--timeout", type=int, default=900, help="seconds one cell may run")
    add_json(p, "the notebook, its parameters and the files written")


@command("notebook run", "execute a paper's notebook (with parameters) into an .ipynb and an HTML report",
         _run_args)
def _run(args) -> int:
    from pathlib import Path

    from workbench import WorkbenchError
    from workbench.notebooks import check_params, notebook_for, parse_params, run_report
    from workbench.paths import home

    if args.timeout < 1:
        raise WorkbenchError("--timeout must be at least 1")
    params = parse_params(args.param)
    path = notebook_for(args.paper)
    check_params(path, params)
    out = Path(args.out) if args.out else home() / "notebooks"
    with progress(f"running {path.name}", unit="cells") as update:
        report = run_report(path, params, out, timeout=args.timeout, progress=update)
    if wants_json(args):
        print_json(report)
        return 0
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "its own values"
    print(f"{report['notebook']} ({shown}): {report['cells']} cells in {report['seconds']:.1f} s")
    print(f"wrote {report['ipynb']} and {report['html']}")
    return 0
