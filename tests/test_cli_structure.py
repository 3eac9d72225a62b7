"""The shape of the command line and of the package: noun-verb grammar with hidden aliases for the old
spellings, global options before or after the command, no heavy imports for light commands, no import cycles
in ``workbench``, and docs/cli.md in step with the parser."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import workbench
from workbench import WorkbenchError
from workbench.cli.main import main, make_parser, rewrite_aliases, subparsers

PACKAGE = Path(workbench.__file__).parent
ROOT = PACKAGE.parent

# old spelling -> the new one it stands for
ALIASES = [
    (["prepare", "--models", "tiny-gpt2"], ["models", "prepare", "--models", "tiny-gpt2"]),
    (["generate", "--model", "tiny-llama", "hi"], ["lm", "generate", "--model", "tiny-llama", "hi"]),
    (["taxonomy"], ["taxonomy", "show"]),
    (["taxonomy", "--dimension", "safety", "--full"], ["taxonomy", "show", "--dimension", "safety", "--full"]),
    (["classify", "in.csv", "--text-col", "t", "--dimension", "safety", "--out", "o.parquet"],
     ["taxonomy", "classify", "in.csv", "--text-col", "t", "--dimension", "safety", "--out", "o.parquet"]),
    (["expand", "in.csv", "--text-col", "t", "--dimension", "value", "--out", "o.parquet"],
     ["taxonomy", "expand", "in.csv", "--text-col", "t", "--dimension", "value", "--out", "o.parquet"]),
    (["dedup", "in.csv", "--text-col", "t", "--out", "o.parquet"],
     ["dedup", "run", "in.csv", "--text-col", "t", "--out", "o.parquet"]),
    (["caption", "clip.wav", "--json", "--k", "4"], ["caption", "run", "clip.wav", "--json", "--k", "4"]),
    (["caption-eval", "--data", "synthetic", "--limit", "2"], ["caption", "eval", "--data", "synthetic", "--limit", "2"]),
    (["--profile", "paper", "dedup", "in.csv", "--text-col", "t", "--out", "o.parquet"],
     ["--profile", "paper", "dedup", "run", "in.csv", "--text-col", "t", "--out", "o.parquet"]),
    (["--device", "cpu", "--debug", "prepare"], ["--device", "cpu", "--debug", "models", "prepare"]),
]
OLD_WORDS = ("prepare", "generate", "classify", "expand", "caption-eval")


def _parsed(argv: list[str]) -> dict:
    return vars(make_parser().parse_args(argv))


@pytest.mark.parametrize("old,new", ALIASES, ids=[" ".join(old) for old, _ in ALIASES])
def test_every_old_spelling_is_an_alias_of_its_new_command(old, new):
    assert rewrite_aliases(old) == new
    assert rewrite_aliases(new) == new                      # the new spelling is left alone
    assert _parsed(rewrite_aliases(old)) == _parsed(new)


def test_aliases_are_not_listed_in_help(capsys):
    parser = make_parser()
    assert set(subparsers(parser)) == {"info", "papers", "claims", "build", "models", "notebook", "lm", "taxonomy", "dedup",
                                       "export", "eval", "experts", "steer", "deepfake", "caption", "meme", "rehearse"}
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    lines = capsys.readouterr().out.splitlines()
    listed = {line.split()[0] for line in lines if line.startswith("    ") and not line.startswith("     ")}
    assert listed == set(subparsers(parser))
    assert not any(word in listed for word in OLD_WORDS)


def test_old_and_new_spellings_print_the_same(capsys):
    assert main(["taxonomy", "--dimension", "culture"]) == 0
    old = capsys.readouterr().out
    assert main(["taxonomy", "show", "--dimension", "culture"]) == 0
    assert capsys.readouterr().out == old and old.startswith("culture: ")
    assert main(["prepare", "--models", "tiny-gpt2"]) == 0
    capsys.readouterr()
    assert main(["models", "prepare", "--models", "tiny-gpt2"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert main(["papers"]) == 0
    old = capsys.readouterr().out
    assert main(["papers", "list"]) == 0 and capsys.readouterr().out == old


def test_dedup_old_and_new_spellings_write_the_same_table(tmp_path, capsys):
    import pandas as pd

    src = tmp_path / "in.csv"
    pd.DataFrame({"text": ["the cat sat on the mat", "the cat sat on the mat!", "something else entirely"]}
                 ).to_csv(src, index=False)
    assert main(["dedup", str(src), "--text-col", "text", "--out", str(tmp_path / "old.parquet")]) == 0
    assert main(["dedup", "run", str(src), "--text-col", "text", "--out", str(tmp_path / "new.parquet")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].replace("old.parquet", "new.parquet") == out[1]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "old.parquet"), pd.read_parquet(tmp_path / "new.parquet"))


@pytest.mark.parametrize("argv", [
    ["--profile", "paper", "build", "P1"],
    ["build", "P1", "--profile", "paper"],
    ["--profile", "default", "build", "P1", "--profile", "paper"],       # a value given after wins
    ["--debug", "--device", "cpu", "taxonomy", "show", "--profile", "paper"],
    ["taxonomy", "show", "--profile", "paper", "--debug", "--device", "cpu"],
    ["experts", "train", "--out", "x", "--profile", "paper", "--device", "cpu", "--debug"],
    ["--profile", "paper", "deepfake", "--debug", "score", "f.wav", "--device", "cpu"],
])
def test_global_options_before_or_after_the_command(argv):
    args = _parsed(argv)
    assert args["profile"] == "paper"
    assert args["debug"] == ("--debug" in argv)
    assert args["device"] == ("cpu" if "--device" in argv else None)


def test_global_options_after_the_command_take_effect(capsys):
    assert main(["info", "--profile", "paper"]) == 0
    assert "profile:  paper" in capsys.readouterr().out
    assert main(["--profile", "paper", "info", "--profile", "default"]) == 0
    assert "profile:  default" in capsys.readouterr().out
    assert main(["info", "--device", "nope"]) == 1
    assert capsys.readouterr().err.startswith("error: unknown device 'nope'")
    assert main(["--device", "nope", "taxonomy", "--device", "cpu"]) == 0
    with pytest.raises(WorkbenchError, match="unknown model 'nope'"):
        main(["generate", "--model", "nope", "hi", "--debug"])
    # `models list --profile` stays that command's own filter
    assert main(["models", "list", "--profile", "paper"]) == 0
    out = capsys.readouterr().out
    assert "mistral-7b-instruct-v0.3" in out and "smollm2" not in out


def test_every_command_accepts_the_global_options():
    def walk(parser):
        yield parser
        for child in subparsers(parser).values():
            yield from walk(child)

    found = list(walk(make_parser()))
    assert len(found) >= 40                  # the top, 13 nouns and their verbs
    for parser in found:
        options = {s for a in parser._actions for s in a.option_strings}
        assert {"--profile", "--device", "--debug"} <= options, parser.prog


def test_light_commands_import_no_heavy_library():
    script = (
        "import sys\n"
        "from workbench.cli.main import main\n"
        "heavy = ('torch', 'transformers', 'streamlit')\n"
        "for argv in (['papers'], ['--help'], ['models', 'list']):\n"
        "    try:\n"
        "        assert main(argv) == 0, argv\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code == 0, argv\n"
        "    loaded = [m for m in heavy if m in sys.modules]\n"
        "    assert not loaded, f'{argv} imported {loaded}'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    run = subprocess.run([sys.executable, "-m", "workbench", "papers"], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert run.returncode == 0 and run.stdout.splitlines()[2].startswith("P1 "), run.stderr[-2000:]


# --- the import graph of the package ------------------------------------------------------------------------

def _module_name(path: Path) -> str:
    parts = ["workbench", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_level_imports(body):
    """Import statements that run when the module is imported (not inside functions, not under TYPE_CHECKING)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            test = node.test
            if getattr(test, "id", None) == "TYPE_CHECKING" or getattr(test, "attr", None) == "TYPE_CHECKING":
                yield from _module_level_imports(node.orelse)
            else:
                yield from _module_level_imports(node.body)
                yield from _module_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _module_level_imports(block)
        elif isinstance(node, (ast.With, ast.ClassDef)):
            yield from _module_level_imports(node.body)


def import_graph() -> dict[str, set[str]]:
    """module -> the workbench modules it imports at module level (``from workbench.x import y`` counts as an
    import of ``workbench.x.y`` when y is a submodule, else of ``workbench.x``)."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in _module_level_imports(ast.parse(path.read_text(), str(path)).body):
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names if a.name in files}
                continue
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                if f"{target}.{alias.name}" in files:
                    edges.add(f"{target}.{alias.name}")
                elif target in files:
                    edges.add(target)
        graph[name] = edges - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}       # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_find_cycle_reports_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert {"workbench.cli.main", "workbench.cli.common", "workbench.io"} <= set(graph)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_command_modules_register_through_common_not_main():
    graph = import_graph()
    heavy = ("torch", "transformers", "streamlit")
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        name = _module_name(path)
        if name not in ("workbench.cli.main", "workbench.cli.docs", "workbench.cli.__main__"):
            assert "workbench.cli.main" not in graph[name], f"{name} imports workbench.cli.main"
        top = {a.name.split(".")[0] for node in _module_level_imports(ast.parse(path.read_text()).body)
               for a in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])}
        assert not top & set(heavy), f"{name} imports {top & set(heavy)} at module level"


# --- docs/cli.md ----------------------------------------------------------------------------------------------

def test_docs_cli_md_is_rendered_from_the_parser():
    from workbench.cli.docs import REGENERATE, render

    page = render()
    for command in ("workbench models prepare", "workbench taxonomy classify", "workbench caption eval",
                    "workbench meme classify", "workbench dedup run"):
        assert f"\n### {command}\n" in page or f"\n#### {command}\n" in page, command
    assert "(default: 64)" in page                             # defaults are shown
    on_disk = (ROOT / "docs" / "cli.md").read_text() if (ROOT / "docs" / "cli.md").is_file() else ""
    assert on_disk == page, f"docs/cli.md is out of date; regenerate it with `{REGENERATE}`"


def test_command_order_does_not_depend_on_which_module_was_imported_first():
    """A command module imported before the parser is built (as some tests and scripts do) keeps its place."""
    import subprocess
    import sys

    code = ("import workbench.cli.caption, workbench.cli.meme; from workbench.cli.docs import render; "
            "import sys; sys.stdout.write(render())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out == (ROOT / "docs" / "cli.md").read_text()
