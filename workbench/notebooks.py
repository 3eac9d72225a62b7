"""The notebooks' side of the package: running them, and the small helpers their cells call.

Running: the jupytext percent notebooks in ``notebooks/`` are executed with injected parameters (used by the tests
and ``workbench notebook run``). A notebook marks its parameters cell with ``# %% tags=["parameters"]``; ``execute``
inserts a cell right after it that overrides those values (the papermill convention), then runs every cell with
nbclient. ``run_report`` resolves a paper's notebook (``notebook_for``), checks the parameters against its
parameters cell (``parse_params``, ``parameter_names``) and writes the executed ``.ipynb`` and an HTML report
(nbconvert), each atomically.

Helpers: number formatters (``signed_percent``, ``percent``, ``change``, ``with_ci``, ``gain_with_ci``,
``reduction``), ``captioned`` tables, the closing "paper vs ours" table every paper notebook ends with
(``claims_table``) and the P5 notebook's meme grid and ablation tables. Notebooks define no helpers of their own.
"""
from __future__ import annotations

import os
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


def notebook_for(name: str | Path) -> Path:
    """The notebook of paper ``name`` (``P3``, ``p3`` or a short name), or ``name`` itself when it is a ``.py``
    notebook file; an unknown paper is a ``WorkbenchError`` that lists the known ones."""
    from workbench.papers import get_paper

    path = Path(name)
    if path.suffix == ".py":
        if not path.is_file():
            raise WorkbenchError(f"no notebook at {path}")
        return path
    return REPO_ROOT / get_paper(str(name)).notebook


def parameter_names(nb) -> list[str]:
    """The names the notebook's ``parameters`` cell assigns, in order (empty when it has none)."""
    import ast

    names: list[str] = []
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            for node in ast.parse(cell.source).body:
                targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
                names += [t.id for t in targets if isinstance(t, ast.Name) and t.id not in names]
    return names


def parse_params(items: list[str]) -> dict[str, Any]:
    """``["SMOKE=True", "LIMIT=20", "MODEL=tiny-llama"]`` -> ``{"SMOKE": True, "LIMIT": 20, "MODEL": "tiny-llama"}``:
    each value is read as a Python literal, else kept as a string."""
    import ast

    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise WorkbenchError(f"--param '{item}': write KEY=VALUE with KEY a Python name (e.g. SMOKE=True)")
        try:
            params[key] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            params[key] = value.strip()
    return params


def check_params(path: Path, params: dict[str, Any]) -> None:
    """Refuse a parameter that the notebook's parameters cell does not define (it would be silently unused)."""
    known = parameter_names(read(path))
    unknown = [k for k in params if k not in known]
    if unknown:
        raise WorkbenchError(f"{path.name} has no parameter {', '.join(unknown)}; its parameters: "
                             f"{', '.join(known) or '(none)'}")


def run_report(name: str | Path, params: dict[str, Any], out_dir: str | Path, *, timeout: int = 900,
               progress=None) -> dict:
    """Execute notebook ``name`` (a paper id or a ``.py`` notebook) with ``params`` and write ``STEM.ipynb`` and
    ``STEM.html`` into ``out_dir``, each under a temporary name first. Returns the paths, parameters, cell count
    and seconds. Plotly figures render with plotly.js embedded (``$PLOTLY_RENDERER``, unless set), so the report
    shows them offline. A parameter the parameters cell does not define, or a failing cell, is a ``WorkbenchError``; a
    failing run still writes the notebook up to the failing cell, so its traceback can be read.
    ``progress(done, total)`` is called after each code cell."""
    import time

    import nbformat
    from nbclient.exceptions import CellExecutionError
    from nbconvert import HTMLExporter

    from workbench.io import write_text
    from workbench.paths import environ

    started = time.monotonic()
    path = notebook_for(name)
    check_params(path, params)
    out = Path(out_dir)
    ipynb, html = out / f"{path.stem}.ipynb", out / f"{path.stem}.html"
    failure = None
    try:
        with environ(PLOTLY_RENDERER=os.environ.get("PLOTLY_RENDERER") or "plotly_mimetype+notebook"):
            nb = execute(path, params, timeout=timeout, progress=progress)
    except CellExecutionError as exc:
        nb, failure = exc.nb, exc
    write_text(nbformat.writes(nb), ipynb)
    body, _ = HTMLExporter().from_notebook_node(nb)
    write_text(body, html)
    if failure is not None:
        raise WorkbenchError(f"{path.name}: a cell failed ({failure.ename}: {failure.evalue}); the notebook up to "
                             f"that cell is in {ipynb}")
    return {"notebook": str(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path),
            "parameters": params, "ipynb": str(ipynb), "html": str(html),
            "cells": sum(c.cell_type == "code" for c in nb.cells), "seconds": round(time.monotonic() - started, 1)}


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
            kernel_name: str = "python3", progress=None):
    """Execute notebook ``path`` with ``params`` in its own folder; returns the executed notebook;
    ``progress(done, total)`` after each code cell.

    Raises nbclient's ``CellExecutionError`` (with the failing cell's traceback, and the notebook executed so far
    as its ``nb``) when a cell fails.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = Path(path)
    nb = inject_parameters(read(path), params or {})
    total = sum(c.cell_type == "code" and bool(c.source.strip()) for c in nb.cells)     # nbclient skips empty ones
    done = []

    def cell_executed(cell, cell_index, execute_reply):
        done.append(cell_index)
        if progress:
            progress(len(done), total)

    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, on_cell_executed=cell_executed,
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        exc.nb = nb
        raise
    return nb


# --- helpers the notebooks call: number formatters, captioned tables, the closing "paper vs ours" table --------

def _missing(x) -> bool:
    return x is None or x != x          # None or NaN


def signed_percent(x, unit: str = "%") -> str:
    """``+3.2%`` for 3.2 (one decimal, always signed); ``n/a`` for None or NaN. Used for relative gains."""
    return "n/a" if _missing(x) else f"{x:+.1f}{unit}"


def percent(fraction, *, digits: int = 2, missing: str = "not measured") -> str:
    """A fraction as ``12.50 %``; ``missing`` for None or NaN."""
    return missing if _missing(fraction) else f"{100 * fraction:.{digits}f} %"


def percent_of(reports: dict, name: str, key: str) -> str:
    """``percent(reports[name][key])``, e.g. a stage's EER from an evaluation report; ``not measured`` when the
    report or the key is absent."""
    return percent((reports.get(name) or {}).get(key))


def change(before: float, after: float, *, relative: bool = False) -> str:
    """The change from ``before`` to ``after`` (fractions): ``+6.0 points``, or with ``relative`` the change as a
    share of ``before``, ``-25% relative`` (``n/a`` when ``before`` is 0)."""
    if relative:
        return "n/a" if before == 0 else f"{100 * (after - before) / before:+.0f}% relative"
    return f"{100 * (after - before):+.1f} points"


def with_ci(value: float, lo: float, hi: float, *, digits: int = 3) -> str:
    """``0.812 [0.750, 0.870]``: a value and its confidence interval."""
    return f"{value:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def gain_with_ci(gain: float, lo: float, hi: float) -> str:
    """A relative gain and its CI given as fractions, in signed percent: ``+12.0 % [+3.1, +20.4]``."""
    return f"{100 * gain:+.1f} % [{100 * lo:+.1f}, {100 * hi:+.1f}]"


def reduction(efficiency: dict) -> str:
    """``latency −30%, memory −55%`` from an efficiency report's ``latency_ratio`` (and ``memory_ratio`` when it was
    measured): how much less the measured system needs than its baseline."""
    text = f"latency −{100 * (1 - efficiency['latency_ratio']):.0f}%"
    if "memory_ratio" in efficiency:
        text += f", memory −{100 * (1 - efficiency['memory_ratio']):.0f}%"
    return text


def rounded(values: dict, digits: int = 4) -> dict:
    """``values`` with its floats rounded to ``digits`` (other values unchanged), for printing a report."""
    return {k: round(v, digits) if isinstance(v, float) else v for k, v in values.items()}


def provenance(profile: str, models, *, smoke: bool = False) -> str:
    """``default / model-a, model-b · smoke``: which profile and models produced a number."""
    models = models if isinstance(models, str) else ", ".join(models)
    return f"{profile} / {models}" + (" · smoke" if smoke else "")


def captioned(table, models, *, profile: str, smoke: bool = False, precision: int = 3):
    """``table`` styled with the profile and the models that produced it as its caption (a pandas Styler); a
    notebook binds its profile once: ``captioned = partial(notebooks.captioned, profile=..., smoke=SMOKE)``."""
    note = f"profile: {profile} · models: {', '.join(models)}" + (" · smoke" if smoke else "")
    return table.style.set_caption(note).format(precision=precision)


def claims_table(paper: str, sources=None, *, profile: str | None = None):
    """The table every paper notebook ends with: the paper's claims beside ours, from the claims ledger
    (``workbench.claims.ledger_frame``, the same rows as ``workbench claims`` and the dashboard's *Claims vs
    ours* page). ``sources`` is where ours are read from: a ``claims.MemorySources`` holding what the notebook
    computed (in its builders' artifact shapes), or None for the artifact store of ``profile``."""
    from workbench.claims import ledger_frame

    table = ledger_frame([paper], sources=sources, profile=profile)
    return table[["metric", "claim", "ours", "status", "reason", "profile", "models", "data", "artifact"]]


def best_detector(profiles: dict, *, column: str = "alignment_score", exclude=("always", "never")) -> str:
    """The detector whose profile has the highest mean ``column`` (NaN counted as 0), baselines excluded."""
    import numpy as np

    names = [n for n in profiles if n not in exclude]
    if not names:
        raise WorkbenchError(f"no detector other than {', '.join(exclude)}")
    return max(names, key=lambda n: np.nan_to_num(profiles[n][column].mean()))


# --- P5 (memes): the grid of memes and the ablation's tables ------------------------------------------------

def meme_titles(rows) -> list[str]:
    """``label · split`` per meme, with `` · KIND flip`` for a meme of a meaning-flip pair."""
    return [f"{r.label} · {r.split}" + (f" · {r.flip} flip" if r.flip else "") for r in rows.itertuples()]


def meme_grid(rows, cols: int, title: str, size: int = 230):
    """The memes of ``rows`` (columns image, label, split, flip) as images in a grid, titled by ``meme_titles``."""
    from workbench.memes.vision import load_image
    from workbench.viz.grids import image_grid

    return image_grid([load_image(p) for p in rows["image"]], meme_titles(rows), cols=cols, title=title, size=size)


def ablation_table(result: dict, classes):
    """One row per setting of ``memes.ablation.run_ablation``'s result: macro-F1 and accuracy with their CIs, F1
    per class, held-out rows, the best dev macro-F1 and the models."""
    import pandas as pd

    metrics = result["metrics"]
    return pd.DataFrame({
        "setting": metrics["setting"],
        "macro-F1 [95 % CI]": [with_ci(r.macro_f1, r.macro_f1_lo, r.macro_f1_hi) for r in metrics.itertuples()],
        "accuracy [95 % CI]": [with_ci(r.accuracy, r.accuracy_lo, r.accuracy_hi) for r in metrics.itertuples()],
        **{f"F1 {c}": metrics[f"f1_{c}"] for c in classes},
        "held-out memes": metrics["rows"],
        "best dev macro-F1": [result["models"][s].info["best_dev_macro_f1"] for s in metrics["setting"]],
        "models": metrics["models"]})


def lora_note(history) -> str | None:
    """Whether stage 2 (LoRA) of ``knowledge+lora`` beat stage 1, from its training history (None: no LoRA
    stage ran); the decision is ``memes.train.lora_epoch_kept``'s."""
    from workbench.memes.train import lora_epoch_kept

    kept = lora_epoch_kept(history.to_dict("records")) if "stage" in history else None
    if kept is None:
        return None
    stage1 = history.loc[history["stage"] == "head", "dev_macro_f1"].max()
    stage2 = history.loc[history["stage"] == "lora", "dev_macro_f1"]
    return (f"knowledge+lora: stage 1 best dev macro-F1 {stage1:.3f}; LoRA epochs {len(stage2)}, best "
            f"{stage2.max():.3f} → " + (f"LoRA epoch {kept} was kept" if kept else
                                        "no LoRA epoch beat stage 1, so stage 1's head was kept (= knowledge)"))


def gains_table(gains):
    """The relative macro-F1 gains over the baseline in signed percent with their CIs (``run_ablation``'s
    ``gains``)."""
    import pandas as pd

    return pd.DataFrame({"setting": gains["setting"], "over": gains["over"],
                         "relative macro-F1 gain": [f"{100 * g:+.1f} %" for g in gains["relative_gain"]],
                         "95 % CI": [f"[{100 * lo:+.1f} %, {100 * hi:+.1f} %]"
                                     for lo, hi in zip(gains["lo"], gains["hi"])],
                         "share > 0": gains["share_positive"]})


def flip_accuracy(preds, settings):
    """Accuracy per setting on each kind of meaning-flip meme, and on both memes of a pair together (a pair counts
    only when both are right), from ``run_ablation``'s predictions."""
    import pandas as pd

    from workbench.memes.artifacts import slice_accuracy

    by_flip = pd.DataFrame(slice_accuracy(preds, "flip")).pivot(index="setting", columns="flip", values="accuracy")
    paired = preds[preds["pair_id"].fillna("") != ""]
    paired = paired.assign(right=paired["label"] == paired["pred"])
    both = paired.groupby(["setting", "flip", "pair_id"])["right"].all().groupby(["setting", "flip"]).mean()
    by_flip = by_flip.join(both.unstack("flip").add_suffix(" (both of the pair)"))
    return by_flip.reindex(list(settings)).rename_axis(columns=None)
