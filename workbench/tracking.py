"""Optional run tracking: losses, metrics and the run's meta.json to a local TensorBoard or MLflow store, offline.

Off by default. ``--track tensorboard|mlflow`` on the training and evaluation commands (``cli.common.add_track``)
opens a ``Tracker`` for the command's run; the trainers are not changed: ``Tracker.watch(update)`` wraps the
progress callback they already report to, forwards every call and logs the numbers their messages carry —
``"helpful: step 3/40, loss 0.412"`` becomes the scalar ``helpful/loss`` at step 3 (``parse_scalars`` [ours]).
At the end the command logs its result (``log_metrics``: every number in it, flattened to ``a/b/c`` tags).

Where runs go: ``<workbench home>/runs/tensorboard/<command>-<time>/`` (event files and a ``meta.json``; view them
with ``tensorboard --logdir <home>/runs/tensorboard``) or the MLflow store ``<home>/runs/mlflow`` (a local SQLite
database ``mlflow.db`` with the runs' artifacts in ``artifacts/``, experiment ``workbench``; ``mlflow ui
--backend-store-uri sqlite:///<home>/runs/mlflow/mlflow.db``). Both are optional packages
(the ``track`` extra); asking for one that is not installed is one line saying how to install it. Used by the
command modules of ``workbench.cli`` through ``cli.common.tracked``.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from workbench import WorkbenchError

BACKENDS = ("tensorboard", "mlflow")
INSTALL = {"tensorboard": "pip install 'workbench[track]' (or: pip install tensorboard)",
           "mlflow": "pip install 'workbench[track]' (or: pip install mlflow)"}
META_FILE = "meta.json"

# "name 0.123" / "name: 0.123" / "name=1e-3" in a progress message: a decimal number (an integer is a count,
# an epoch or a step, not a scalar worth a curve) after a word.
_SCALAR = re.compile(r"(?<![\w/])([A-Za-z][\w+\-]*)\s*[:=]?\s+(-?\d+\.\d+(?:e[-+]?\d+)?|-?\d+e[-+]?\d+)\b")
_STEP = re.compile(r"\b(?:step|epoch)\s+(\d+)")


def runs_dir() -> Path:
    """``<workbench home>/runs``: where the tracking stores live."""
    from workbench.paths import home

    return home() / "runs"


def parse_scalars(message: str) -> tuple[int | None, dict[str, float]]:
    """(step, {tag: value}) from a progress message [ours]: the step is the number after ``step``/``epoch``; each
    scalar is tagged ``<prefix>/<name>``, the prefix being the words before the message's last ``:`` with the
    numbers and the words step/epoch left out (``"image tagger epoch 2: loss 0.5"`` → ``image tagger/loss``)."""
    head, sep, tail = message.rpartition(":")
    body = tail if sep else message
    if sep and not _SCALAR.search(body):              # "p: 0.5" style: the colon belongs to the scalar
        head, body = "", message
    words = [w for w in re.split(r"\s+", head.strip()) if w and not re.search(r"\d", w)
             and w.lower() not in ("step", "epoch")]
    prefix = " ".join(words).strip(",;")
    found = _STEP.search(message)
    scalars = {}
    for name, value in _SCALAR.findall(body):
        if name.lower() in ("step", "epoch"):
            continue
        scalars[f"{prefix}/{name}" if prefix else name] = float(value)
    return (int(found.group(1)) if found else None), scalars


def flatten(obj, prefix: str = "") -> dict[str, float]:
    """Every finite number in a nested dict/list as ``{"a/b/0": x}`` (booleans and strings left out)."""
    out: dict[str, float] = {}
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, (list, tuple)):
        items = enumerate(obj)
    else:
        if isinstance(obj, bool) or not isinstance(obj, (int, float)) and not hasattr(obj, "item"):
            return out
        try:
            value = float(obj)
        except (TypeError, ValueError):
            return out
        return {prefix or "value": value} if math.isfinite(value) else out
    for key, value in items:
        out.update(flatten(value, f"{prefix}/{key}" if prefix else str(key)))
    return out


class Tracker:
    """The off switch and the interface: ``log(step, **scalars)``, ``log_metrics(result)``, ``log_meta(meta)``,
    ``watch(update)``, ``close()``. This base class records nothing."""
    backend: str | None = None
    where: Path | str | None = None

    def __init__(self):
        self._steps: dict[str, int] = {}

    def log(self, step: int, **scalars: float) -> None:
        pass

    def log_meta(self, meta: dict) -> None:
        pass

    def log_metrics(self, result, prefix: str = "metrics") -> None:
        """Every number in ``result`` (a command's JSON result) at step 0, under ``prefix/…``."""
        scalars = flatten(result, prefix)
        if scalars:
            self.log(0, **scalars)

    def watch(self, update: Callable, prefix: str = "") -> Callable:
        """``update`` itself when off; else a progress callback that forwards each call and logs its scalars (their
        tags under ``prefix/`` when given: two models trained in one run keep their curves apart)."""
        if self.backend is None:
            return update

        def report(done, total_or_message=None):
            update(done, total_or_message)
            if isinstance(total_or_message, str):
                step, scalars = parse_scalars(total_or_message)
                for tag, value in scalars.items():
                    tag = f"{prefix}/{tag}" if prefix else tag
                    # no step in the message: count this tag's reports
                    self._steps[tag] = step if step is not None else self._steps.get(tag, 0) + 1
                    self.log(self._steps[tag], **{tag: value})
        return report

    def close(self) -> None:
        pass


class TensorBoardTracker(Tracker):
    """Event files (``torch.utils.tensorboard.SummaryWriter``) and ``meta.json`` in the run's folder."""
    backend = "tensorboard"

    def __init__(self, folder: Path):
        super().__init__()
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise WorkbenchError(f"--track tensorboard needs the tensorboard package: {INSTALL['tensorboard']}") \
                from None
        self.where = folder
        self.writer = SummaryWriter(log_dir=str(folder))

    def log(self, step: int, **scalars: float) -> None:
        for tag, value in scalars.items():
            self.writer.add_scalar(tag, float(value), int(step))

    def log_meta(self, meta: dict) -> None:
        from workbench.io import write_json

        write_json(meta, Path(self.where) / META_FILE)
        text = json.dumps(meta, indent=2, default=str)
        self.writer.add_text(META_FILE, "\n".join("    " + line for line in text.splitlines()), 0)

    def close(self) -> None:
        self.writer.close()


EXPERIMENT = "workbench"


def tracking_uri(store: Path) -> str:
    """The MLflow tracking URI of the store folder ``store``: its SQLite database ``mlflow.db``."""
    return f"sqlite:///{(Path(store) / 'mlflow.db').resolve()}"


class MLflowTracker(Tracker):
    """A run in the local MLflow store ``runs_dir()/mlflow`` (``mlflow.db``, artifacts in ``artifacts/``; experiment
    ``workbench``)."""
    backend = "mlflow"

    def __init__(self, store: Path, run_name: str):
        super().__init__()
        try:
            import mlflow
        except ImportError:
            raise WorkbenchError(f"--track mlflow needs the mlflow package: {INSTALL['mlflow']}") from None
        self.mlflow = mlflow
        store.mkdir(parents=True, exist_ok=True)
        # a local SQLite store (MLflow 3 refuses its plain file store by default): no server, no network; the
        # experiment's artifacts (meta.json) beside it, never in the working directory
        mlflow.set_tracking_uri(tracking_uri(store))
        if mlflow.get_experiment_by_name(EXPERIMENT) is None:
            try:
                mlflow.create_experiment(EXPERIMENT, artifact_location=(store / "artifacts").resolve().as_uri())
            except mlflow.exceptions.MlflowException:      # made meanwhile by another run
                pass
        mlflow.set_experiment(EXPERIMENT)
        self.run = mlflow.start_run(run_name=run_name)
        self.where = str(store)

    def log(self, step: int, **scalars: float) -> None:
        # MLflow's metric names allow letters, digits, _ - . / and spaces
        self.mlflow.log_metrics({re.sub(r"[^\w\-./ ]", "_", k): float(v) for k, v in scalars.items()},
                                step=int(step))

    def log_meta(self, meta: dict) -> None:
        self.mlflow.log_dict(json.loads(json.dumps(meta, default=str)), META_FILE)

    def close(self) -> None:
        self.mlflow.end_run()


def open_tracker(backend: str | None, name: str, *, root: Path | None = None) -> Tracker:
    """A tracker for run ``name`` (e.g. ``"deepfake train"``) on ``backend`` (None: off), under ``root`` (default
    ``runs_dir()``)."""
    if backend is None:
        return Tracker()
    if backend not in BACKENDS:
        raise WorkbenchError(f"unknown tracking backend '{backend}'; choose from {', '.join(BACKENDS)}")
    root = Path(root) if root is not None else runs_dir()
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    run_name = f"{name.replace(' ', '-')}-{stamp}"
    if backend == "tensorboard":
        return TensorBoardTracker(root / "tensorboard" / run_name)
    return MLflowTracker(root / "mlflow", run_name)


def run_meta(name: str, args: dict, profile: str) -> dict:
    """What a tracked run records as its meta.json: the command, its arguments, the profile, the package version
    and git commit, the start time."""
    from workbench import __version__
    from workbench.io import git_commit, json_safe

    return {"command": name, "args": json_safe({k: v if isinstance(v, (str, int, float, bool, type(None), list))
                                                else str(v) for k, v in args.items()}),
            "profile": profile, "package_version": __version__, "git_commit": git_commit(),
            "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}


@contextmanager
def tracking(backend: str | None, name: str, *, meta: dict | None = None,
             root: Path | None = None) -> Iterator[Tracker]:
    """``with tracking("tensorboard", "meme train", meta=...) as tracker:`` — the run is closed on the way out,
    also when the command fails."""
    tracker = open_tracker(backend, name, root=root)
    try:
        if meta is not None:
            tracker.log_meta(meta)
        yield tracker
    finally:
        tracker.close()
