"""Run the jupytext percent notebooks in ``notebooks/`` with injected parameters (used by the tests and
``workbench notebook``).

A notebook marks its parameters cell with ``# %% tags=["parameters"]``; ``execute`` inserts a cell right after
it that overrides those values (the papermill convention), then runs every cell with nbclient.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench import WorkbenchError
from workbench.paths import REPO_ROOT

NOTEBOOK_DIR = REPO_ROOT / "notebooks"


def notebook_paths() -> list[Path]:
    """Every percent-format notebook (``notebooks/*.py``), sorted."""
    return sorted(p for p in NOTEBOOK_DIR.glob("*.py") if not p.name.startswith("_"))


def read(path: str | Path):
    import jupytext

    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(f"no notebook at {path}")
    return jupytext.read(path, fmt="py:percent")


def inject_parameters(nb, params: dict[str, Any]):
    """Insert an ``injected-parameters`` cell after the ``parameters`` cell (or first, when there is none)."""
    import nbformat

    if not params:
        return nb
    source = "# Parameters injected for this run\n" + "\n".join(f"{k} = {v!r}" for k, v in params.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    index = next((i + 1 for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])), 0)
    nb.cells.insert(index, cell)
    return nb


def execute(path: str | Path, params: dict[str, Any] | None = None, *, timeout: int = 900,
            kernel_name: str = "python3"):
    """Execute notebook ``path`` with ``params`` in its own folder; returns the executed notebook.

    Raises nbclient's ``CellExecutionError`` (with the failing cell's traceback) when a cell fails.
    """
    from nbclient import NotebookClient

    path = Path(path)
    nb = inject_parameters(read(path), params or {})
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return nb
