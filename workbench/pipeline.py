"""A resumable, sharded pipeline runner: stages are functions over DataFrames, each output saved as an artifact.

The input is cut into shards of ``shard_size`` rows. A *sharded* stage maps one shard to one shard; a *global*
stage (expansion, deduplication: anything that must see every row) maps the whole frame at once. Every output is
written through ``workbench.io`` (temporary name, then rename), so a run killed at any point — even with
``kill -9`` — leaves only complete outputs behind; running again skips them and continues from the first
missing one. Stages must be deterministic for a given input and seed (seeds are derived per shard), so a resumed
run yields exactly the dataset an uninterrupted run would: nothing lost, nothing duplicated.

A work folder remembers the configuration it was started with (``run.json``); resuming it with a different
configuration is refused rather than mixing the two.

Scale-out: pass a ``dask.distributed.Client`` to ``run`` (``dask_client``: local CPU workers, one worker per GPU,
or a cluster) and the missing shards of each sharded stage are computed on its workers, each worker writing its
shard's artifact itself; the stages are the same functions.
For a real cluster the work folder must be on storage every worker sees, and stage functions should load
their models by name inside the function (``workbench.models.load`` caches per worker process).
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from workbench import WorkbenchError
from workbench.io import ArtifactError, config_key, load_frame, read_meta, save_frame, write_text


@dataclass(frozen=True)
class StageContext:
    stage: str
    shard: int | None        # None for a global stage
    seed: int                # the run's seed, offset by the shard index
    config: dict
    # progress within this shard or stage, as (done, total) items; a no-op on dask workers
    progress: Callable[[int, int], None] = lambda done, total: None


@dataclass(frozen=True)
class Stage:
    name: str
    fn: Callable[..., object]          # fn(frame, ctx) -> frame
    sharded: bool = True


def _digest(config: dict) -> str:
    return config_key(config, length=16)


class Pipeline:
    def __init__(self, stages: list[Stage], workdir: str | Path, *, config: dict | None = None, profile: str,
                 models: list[str] | tuple[str, ...] = (), seed: int = 0, shard_size: int = 64):
        names = [s.name for s in stages]
        if len(set(names)) != len(names):
            raise WorkbenchError(f"stage names repeat: {names}")
        if shard_size < 1:
            raise WorkbenchError("shard_size must be at least 1")
        self.stages, self.workdir, self.profile, self.models = stages, Path(workdir), profile, list(models)
        self.seed, self.shard_size = seed, shard_size
        self.config = {**(config or {}), "stages": names, "seed": seed, "shard_size": shard_size}

    def _claim(self, n_rows: int) -> None:
        run_file = self.workdir / "run.json"
        record = {"config": self.config, "digest": _digest({**self.config, "rows": n_rows})}
        if run_file.exists():
            previous = json.loads(run_file.read_text())
            if previous.get("digest") != record["digest"]:
                raise WorkbenchError(f"{self.workdir} holds a run with another configuration or input; "
                                     "use a new output folder (or delete this one) to start over")
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n", run_file)

    def _done(self, path: Path) -> bool:
        try:
            read_meta(path)
        except ArtifactError:
            return False
        return True

    def _save(self, frame, path: Path, stage: str) -> None:
        _save_output(frame, path, self.profile, self.models, self.seed, {**self.config, "stage": stage})

    def run(self, frame, *, progress: Callable[[float, str], None] | None = None, client=None):
        """Run (or resume) every stage; returns the last stage's output. With a dask ``client``, the missing
        shards of sharded stages run on its workers."""
        import pandas as pd

        self._claim(len(frame))
        frame = frame.reset_index(drop=True)
        n_shards = max(1, -(-len(frame) // self.shard_size))
        current: list | None = [frame.iloc[i * self.shard_size:(i + 1) * self.shard_size]
                                for i in range(n_shards)]
        steps = sum(n_shards if s.sharded else 1 for s in self.stages)
        step = 0
        for stage in self.stages:
            folder = self.workdir / stage.name
            if stage.sharded:
                paths = [folder / f"shard-{i:05d}" for i in range(len(current))]
                pending = [i for i, path in enumerate(paths) if not self._done(path)]
                jobs = [(stage.fn, current[i].reset_index(drop=True),
                         StageContext(stage.name, i, self.seed + i, self.config), paths[i],
                         self.profile, self.models, self.seed, {**self.config, "stage": stage.name}) for i in pending]
                if client is not None and jobs:
                    futures = client.map(_run_shard, jobs, pure=False)
                    for done_count, _ in enumerate(_as_completed(futures), 1):
                        if progress:
                            progress((step + done_count) / steps, f"{stage.name}: {done_count}/{len(jobs)} shards")
                else:
                    for done_count, job in enumerate(jobs, 1):
                        if progress:
                            job = job[:2] + (replace(job[2], progress=_within(progress, step + done_count - 1, steps,
                                                                              f"{stage.name}: shard {done_count}/"
                                                                              f"{len(jobs)}")),) + job[3:]
                        _run_shard(job)
                        if progress:
                            progress((step + done_count) / steps, f"{stage.name}: {done_count}/{len(jobs)} shards")
                current = [load_frame(path) for path in paths]
                step += len(paths)
            else:
                path = folder / "all"
                if not self._done(path):
                    whole = pd.concat(current, ignore_index=True)
                    ctx = StageContext(stage.name, None, self.seed, self.config,
                                       *([_within(progress, step, steps, stage.name)] if progress else []))
                    self._save(stage.fn(whole, ctx), path, stage.name)
                out = load_frame(path)
                # later sharded stages work on the same shard size again
                current = [out.iloc[i:i + self.shard_size] for i in range(0, max(len(out), 1), self.shard_size)]
                step += 1
                if progress:
                    progress(step / steps, f"{stage.name}: done")
        return pd.concat(current, ignore_index=True)

    def output(self, stage: str):
        """The saved output of a completed ``stage`` (all its shards, in order)."""
        import pandas as pd

        folder = self.workdir / stage
        paths = [folder / "all"] if (folder / "all").exists() else sorted(folder.glob("shard-*"))
        if stage not in self.config["stages"] or not paths or not all(self._done(p) for p in paths):
            raise WorkbenchError(f"stage '{stage}' has no complete output in {self.workdir}")
        return pd.concat([load_frame(p) for p in paths], ignore_index=True)


@contextmanager
def dask_client(address: str):
    """A ``dask.distributed.Client`` for ``--dask``: ``local`` (two CPU worker processes, ``local:N`` for N),
    ``cuda`` (one worker per visible GPU through dask-cuda's ``LocalCUDACluster``, each with its own engine:
    data parallelism across GPUs) or a scheduler address (``tcp://HOST:PORT``: a cluster whose workers see the
    output folder). Closed, with the cluster it started, on exit."""
    import importlib.util

    from distributed import Client, LocalCluster

    cluster = None
    if address == "cuda":
        if importlib.util.find_spec("dask_cuda") is None:
            raise WorkbenchError("--dask cuda needs dask-cuda (pip install dask-cuda, in the GPU environment: "
                                 "make paper-env); or start workers yourself and pass --dask tcp://HOST:PORT")
        from dask_cuda import LocalCUDACluster

        cluster = LocalCUDACluster(threads_per_worker=1, dashboard_address=None)
    elif address == "local" or address.startswith("local:"):
        n = address.partition(":")[2] or "2"
        if not n.isdigit() or int(n) < 1:
            raise WorkbenchError(f"--dask {address}: give local or local:N with N ≥ 1 workers")
        cluster = LocalCluster(n_workers=int(n), threads_per_worker=1, dashboard_address=None)
    elif "://" not in address:
        raise WorkbenchError(f"--dask {address}: choose local, local:N, cuda or a scheduler address tcp://HOST:PORT")
    try:
        client = Client(cluster if cluster is not None else address)
    except BaseException:
        if cluster is not None:
            cluster.close()
        raise
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _within(progress: Callable[[float, str], None], step: int, steps: int, label: str) -> Callable[[int, int], None]:
    """A (done, total) callback that moves the run's bar within step ``step`` of ``steps``."""
    def update(done: int, total: int) -> None:
        progress((step + done / max(total, 1)) / steps, f"{label} — {done}/{total}")
    return update


def _save_output(frame, path: Path, profile: str, models, seed: int, config: dict) -> None:
    save_frame(frame.reset_index(drop=True), path, profile=profile, models=models, seed=seed, config=config)


def _run_shard(job) -> str:
    """Compute one shard and write its artifact (runs in this process or on a dask worker)."""
    fn, shard, ctx, path, profile, models, seed, config = job
    _save_output(fn(shard, ctx), path, profile, models, seed, config)
    return str(path)


def _as_completed(futures):
    from distributed import as_completed

    for future in as_completed(futures):
        future.result()             # re-raises a worker's exception here
        yield future
