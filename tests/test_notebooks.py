"""Every notebook in notebooks/ executed top to bottom with nbclient, in smoke mode."""
import pytest

from workbench.notebooks import execute, inject_parameters, notebook_paths, read

NOTEBOOKS = notebook_paths()


def test_there_are_notebooks():
    assert "00_tour.py" in [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_a_parameters_cell_with_smoke(path):
    cells = read(path).cells
    params = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and "SMOKE" in params[0].source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_defines_no_helpers_of_its_own(path):
    """Formatters, table and figure builders live in the package (workbench.notebooks, workbench.viz), tested."""
    import ast

    tree = ast.parse(path.read_text())
    defined = [f"line {n.lineno}: {type(n).__name__}" for n in ast.walk(tree)
               if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))]
    assert not defined, f"{path.name} defines its own helpers ({', '.join(defined)}); move them into the package"


def test_parameters_are_injected_after_the_parameters_cell():
    nb = inject_parameters(read(NOTEBOOKS[0]), {"SMOKE": True, "LIMIT": 3})
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    injected = nb.cells[index + 1]
    assert injected.metadata["tags"] == ["injected-parameters"]
    assert "SMOKE = True" in injected.source and "LIMIT = 3" in injected.source


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_in_smoke_mode(path):
    nb = execute(path, {"SMOKE": True})
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
