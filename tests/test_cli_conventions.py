"""The conventions every ``workbench`` command follows: ``--json`` on every result command (the whole parser is
walked), defaults in every help, progress that is a bar on a terminal and a few lines elsewhere, ``-q``/``-v``,
exit codes 0 / 1 / 2 / 130, and ``workbench notebook run``."""
from __future__ import annotations

import io
import json
import logging

import numpy as np
import pandas as pd
import pytest

from workbench.cli.common import jsonable
from workbench.cli.main import HelpFormatter, main, make_parser, subparsers
from workbench.cli.progress import Stage, stage

# Leaf commands allowed to lack --json while a change adds it (none now: every result command has it).
PENDING_JSON: set[str] = set()


def _walk(parser):
    yield parser
    for child in subparsers(parser).values():
        yield from _walk(child)


def _leaves():
    return [p for p in _walk(make_parser()) if not subparsers(p)]


def test_every_result_command_has_json():
    leaves = _leaves()
    assert len(leaves) >= 30, [p.prog for p in leaves]
    missing = {p.prog for p in leaves if "--json" not in p._option_string_actions}
    assert missing <= PENDING_JSON, f"result commands without --json: {sorted(missing - PENDING_JSON)}"


def _shown_help(parser, action) -> str:
    return parser._get_formatter()._expand_help(action) if action.help else ""


def _has_a_default_to_show(action) -> bool:
    if action.help == "==SUPPRESS==" or action.required or action.dest in ("help", "version"):
        return False
    if action.nargs == 0 and action.default in (None, False):   # a flag (--smoke): off unless given
        return False
    return bool(action.option_strings) or action.nargs in ("?", "*")


def test_every_option_help_shows_its_default():
    untold = []
    for parser in _walk(make_parser()):
        for action in parser._actions:
            if not _has_a_default_to_show(action):
                continue
            if "default" not in _shown_help(parser, action).lower():
                untold.append(f"{parser.prog} {'/'.join(action.option_strings) or action.dest}")
    assert not untold, f"options whose help does not show the default: {untold}"


def test_the_formatter_adds_a_missing_default_and_keeps_a_told_one():
    import argparse

    p = argparse.ArgumentParser(prog="toy", formatter_class=HelpFormatter)
    p.add_argument("--k", type=int, default=45, help="candidates per step")
    p.add_argument("--limit", type=int, help="at most N rows")
    p.add_argument("--model", help="a model (default: the profile's)")
    p.add_argument("--smoke", action="store_true", help="tiny sizes")
    text = " ".join(p.format_help().split())
    assert "candidates per step (default: 45)" in text
    assert "at most N rows (default: none)" in text
    assert "(default: the profile's)" in text and "(default: the profile's) (default" not in text
    assert "tiny sizes (default" not in text


@pytest.mark.parametrize("argv,check", [
    (["papers", "--json"], lambda d: [r["id"] for r in d] == [f"P{i}" for i in range(1, 11)]),
    (["models", "list", "--json", "--profile", "paper"],
     lambda d: all(r["profile"] == "paper" for r in d) and isinstance(d[0]["available"], bool)),
    (["info", "--json"], lambda d: d["profile"] == "default" and d["device"] == "cpu"
     and {m["model"] for m in d["models"]} >= {"smollm2-135m-instruct", "minilm-l6"}),
    (["taxonomy", "show", "--dimension", "safety", "--json"],
     lambda d: list(d) == ["safety"] and d["safety"]["domains"]),
], ids=lambda x: " ".join(x) if isinstance(x, list) else "")
def test_json_output_is_one_document_on_stdout(argv, check, capsys):
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert check(json.loads(out))


def test_jsonable_turns_numpy_pandas_and_nan_into_plain_json():
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, np.nan]})
    value = jsonable({"n": np.int64(3), "x": np.float32(0.25), "nan": float("nan"), "arr": np.arange(2),
                      "rows": frame, "flag": np.bool_(True), "na": pd.NA, 7: ("t",)})
    assert value == {"n": 3, "x": 0.25, "nan": None, "arr": [0, 1], "rows": [{"a": 1, "b": 0.5}, {"a": 2, "b": None}],
                     "flag": True, "na": None, "7": ["t"]}
    json.dumps(value, allow_nan=False)


# --- progress ------------------------------------------------------------------------------------------------

def test_progress_off_a_terminal_is_one_line_per_stage():
    stream = io.StringIO()                          # not a terminal
    with stage("scoring", stream=stream, unit="rows") as update:
        for done in range(1, 501):
            update(done, 500)
        for i in range(100):
            update(i / 100, f"builder: step {i}")
    text = stream.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert len(lines) == 1 and lines[0].startswith("scoring: done in ") and lines[0].endswith("(500/500 rows)")


def test_progress_on_a_terminal_shows_count_rate_and_eta():
    stream = io.StringIO()
    s = Stage("training", "bar", stream, unit="it")
    for done in (1, 5, 12):
        s(done, 40)
    s.close()
    text = stream.getvalue()
    assert "12/40 [" in text and "<" in text and ("it/s" in text or "s/it" in text)


def test_progress_is_silent_when_quiet_and_says_stopped_on_error():
    quiet = io.StringIO()
    with stage("x", stream=quiet, quiet=True) as update:
        update(1, 2)
    assert quiet.getvalue() == ""
    stream = io.StringIO()
    with pytest.raises(RuntimeError), stage("building", stream=stream):
        raise RuntimeError("boom")
    assert stream.getvalue().startswith("building: stopped in ") and stream.getvalue().count("\n") == 1


def test_a_command_off_a_terminal_writes_a_few_progress_lines(tmp_path, capsys):
    table = tmp_path / "t.csv"
    pd.DataFrame({"text": [f"prompt number {i} about topic {i % 7}" for i in range(300)]}).to_csv(table, index=False)
    assert main(["dedup", "run", str(table), "--text-col", "text", "--out", str(tmp_path / "o.parquet")]) == 0
    captured = capsys.readouterr()
    assert "\r" not in captured.err and captured.err.startswith("fingerprinting: done in ")
    assert len(captured.err.splitlines()) == 1, captured.err
    assert captured.out.startswith("kept ")
    assert main(["-q", "dedup", "run", str(table), "--text-col", "text", "--out", str(tmp_path / "q.parquet")]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out.startswith("kept ")
    assert main(["dedup", "run", str(table), "--text-col", "text", "--out", str(tmp_path / "j.parquet"), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["rows"] == 300


def test_verbose_raises_the_log_level_for_the_command_only(monkeypatch, capsys):
    from workbench import papers

    seen = []
    real = papers.all_papers
    monkeypatch.setattr(papers, "all_papers", lambda: seen.append(logging.getLogger().level) or real())
    before = logging.getLogger().level
    assert main(["-v", "papers"]) == 0 and main(["papers", "-vv"]) == 0 and main(["-q", "papers"]) == 0
    assert seen == [logging.INFO, logging.DEBUG, logging.ERROR]
    assert logging.getLogger().level == before


# --- exit codes -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["nope"], ["papers", "--bogus"], ["dedup", "run"], ["-q", "-v", "papers"]],
                         ids=" ".join)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_errors_exit_1_and_ctrl_c_exits_130_with_one_line(monkeypatch, capsys):
    assert main(["notebook", "run", "P42"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unknown paper 'P42'; choose from P1") and err.count("\n") == 1

    from workbench import papers

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(papers, "all_papers", interrupted)
    assert main(["papers"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_the_exit_codes_are_documented_in_docs_cli_md():
    from workbench.cli.docs import render

    page = render()
    for code in (0, 1, 2, 130):
        assert f"\n| {code} | " in page
    assert "`--json`" in page and "-q/--quiet" in page


# --- workbench notebook run -----------------------------------------------------------------------------------

TINY = '''# %% [markdown]
# # A tiny notebook

# %% tags=["parameters"]
SMOKE = False
N = 3

# %%
total = sum(range(N))
print(f"total {total} smoke {SMOKE}")
'''


def test_notebook_run_writes_the_executed_notebook_and_an_html_report(tmp_path, capsys):
    notebook = tmp_path / "tiny.py"
    notebook.write_text(TINY)
    out = tmp_path / "report"
    argv = ["notebook", "run", str(notebook), "--param", "N=5", "--param", "SMOKE=True", "--out", str(out)]
    assert main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["parameters"] == {"N": 5, "SMOKE": True}
    assert report["cells"] == 3                 # the parameters cell, the injected one, the code cell
    executed = (out / "tiny.ipynb").read_text()
    assert "total 10 smoke True" in executed and "total 10 smoke True" in (out / "tiny.html").read_text()
    assert sorted(p.name for p in out.iterdir()) == ["tiny.html", "tiny.ipynb"]        # no temporary left
    assert main(["notebook", "run", str(notebook), "--param", "LIMIT=2", "--out", str(out)]) == 1
    assert "tiny.py has no parameter LIMIT; its parameters: SMOKE, N" in capsys.readouterr().err


def test_notebook_run_keeps_a_failing_run_readable(tmp_path, capsys):
    notebook = tmp_path / "fails.py"
    notebook.write_text(TINY + '\n# %%\nraise ValueError(f"planted {N}")\n')
    assert main(["notebook", "run", str(notebook), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "fails.py: a cell failed (ValueError: planted 3)" in err
    assert "planted 3" in (tmp_path / "fails.ipynb").read_text()


def test_notebook_params_are_python_literals_or_strings():
    from workbench import WorkbenchError
    from workbench.notebooks import notebook_for, parse_params

    assert parse_params(["SMOKE=True", "LIMIT=20", "MODEL=tiny-llama", "XS=[1, 2]"]) == {
        "SMOKE": True, "LIMIT": 20, "MODEL": "tiny-llama", "XS": [1, 2]}
    with pytest.raises(WorkbenchError, match="KEY=VALUE"):
        parse_params(["SMOKE"])
    assert notebook_for("p3").name == "P3_alignx.py"
