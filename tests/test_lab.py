"""JupyterLab: the bootstrap's jupytext default-viewer setting, `make lab`'s landing notebook, and every notebook's
first cell saying what it reproduces and how long it runs."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.notebooks import notebook_paths, read
from workbench.papers import all_papers
from workbench.paths import REPO_ROOT

BOOTSTRAP = REPO_ROOT / "scripts" / "bootstrap.sh"
RUN_TIME = re.compile(r"\*\*Run time:\*\* (about \d+ min|under \d+ min|a few seconds) on the default profile\b.*"
                      r"`SMOKE = True`")


def _jupyter_config(venv: Path) -> dict:
    proc = subprocess.run(["/bin/bash", str(BOOTSTRAP), "--jupyter-config"], env={"VENV": str(venv),
                          "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads((venv / "etc" / "jupyter" / "labconfig" / "default_setting_overrides.json").read_text())


@pytest.fixture
def venv(tmp_path):
    """A venv-shaped folder whose jupytext-config is the one of the environment running the tests."""
    tool = Path(sys.prefix) / "bin" / "jupytext-config"
    if not tool.is_file():
        pytest.fail(f"jupytext-config is not installed beside {sys.executable}")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "jupytext-config").symlink_to(tool)
    return tmp_path


def test_bootstrap_makes_py_notebooks_open_as_notebooks(venv):
    config = _jupyter_config(venv)
    assert config["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]["python"] == "Jupytext Notebook"
    # idempotent, and other settings already there are kept
    path = venv / "etc" / "jupyter" / "labconfig" / "default_setting_overrides.json"
    config["@jupyterlab/apputils-extension:themes"] = {"theme": "JupyterLab Dark"}
    path.write_text(json.dumps(config))
    again = _jupyter_config(venv)
    assert again["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}
    assert again["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"] == {"python": "Jupytext Notebook"}
    assert not [p.name for p in path.parent.iterdir() if p.name != path.name]  # no temporary file left


def test_jupyterlab_reads_the_venv_config_dir():
    """The folder the bootstrap writes to is on this environment's Jupyter config path (JupyterLab merges the
    labconfig/default_setting_overrides.json of every folder there)."""
    from jupyter_core.paths import jupyter_config_path

    assert str(Path(sys.prefix) / "etc" / "jupyter") in jupyter_config_path()
    assert BOOTSTRAP.read_text().count("set-default-viewer python") == 1


def test_make_lab_starts_on_the_landing_notebook():
    makefile = (REPO_ROOT / "Makefile").read_text()
    lab = re.search(r"^lab:.*\n\t(.*)", makefile, re.M).group(1)
    url = re.search(r"--LabApp\.default_url=/lab/tree/(\S+)", lab).group(1)
    assert "--notebook-dir=notebooks" in lab and (REPO_ROOT / "notebooks" / url).is_file()


def test_landing_notebook_lists_every_paper_from_the_registry():
    source = (REPO_ROOT / "notebooks" / "index.py").read_text()
    assert "all_papers()" in source and "P1_" not in source  # read from the registry, not typed


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.name)
def test_first_cell_says_how_long_it_runs(path):
    first = read(path).cells[0]
    assert first.cell_type == "markdown"
    assert RUN_TIME.search(first.source), f"{path.name}: the first cell has no '**Run time:** about N min ...' line"


@pytest.mark.parametrize("paper", all_papers(), ids=lambda p: p.id)
def test_paper_notebook_first_cell_says_what_it_reproduces(paper):
    first = read(REPO_ROOT / paper.notebook).cells[0].source
    assert first.startswith(f"# {paper.id} — "), f"{paper.notebook}: the first cell starts with the paper's title"
    found = re.search(r"\*\*Reproduces:\*\* (.+?)(?:\n\n|\Z)", first, re.S)
    assert found and len(found.group(1).split()) >= 10, f"{paper.notebook}: no '**Reproduces:**' paragraph"
