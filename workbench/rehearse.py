"""Rehearse the paper profile: each paper's paper-profile pipeline run end to end on random-weight stand-ins.

Used by ``workbench rehearse`` and the dashboard's *Paper-profile readiness* page. For each paper it runs the
paper's builders on the ``paper`` profile (smoke sizes; a tiny rehearsal also sets ``BuildContext.rehearsal``, so
steps whose items all cost the same take two or three of them, ``build.rehearsal_limit``) with every paper model
replaced by a random-weight model of the same architecture (``workbench.models.rehearsal``), then reads every claim
of the paper from what was built (the claims ledger, which reads the artifacts the views read). Per paper it
reports ok or the error (one line naming the cause), wall time, peak host memory (resident set, sampled), peak GPU
memory, and the stand-in models' throughput (tokens or items through their forward passes per second inside them).

Outputs go to their own store, ``<artifacts>/rehearsal/<size>-<dtype>/``, and every artifact's meta.json says
``rehearsal`` (random weights): they are never read as results. The report is written (temporary name, then rename)
to ``<artifacts>/rehearsal/report-<size>-<dtype>.json``.
"""
from __future__ import annotations

import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from workbench import WorkbenchError

Progress = Callable[[float, str], None]


@dataclass
class PaperRehearsal:
    paper: str
    ok: bool
    error: str | None
    wall_s: float
    peak_host_mb: float
    peak_gpu_mb: float | None
    models: list[str]
    tokens: int = 0                     # tokens (text models) through the stand-ins' forward passes
    items: int = 0                      # items (audio clips, videos, images) through the encoders' forward passes
    forward_s: float = 0.0              # time spent inside those forward passes
    artifacts: list[str] = field(default_factory=list)
    claims: int = 0                     # claims the ledger read from the rehearsal's artifacts

    @property
    def tokens_per_s(self) -> float | None:
        return self.tokens / self.forward_s if self.tokens and self.forward_s > 0 else None

    @property
    def items_per_s(self) -> float | None:
        return self.items / self.forward_s if self.items and self.forward_s > 0 else None

    def to_json(self) -> dict:
        return {**asdict(self), "tokens_per_s": self.tokens_per_s, "items_per_s": self.items_per_s}


def rehearsal_root(store_root: str | Path | None = None) -> Path:
    from workbench.paths import artifacts_dir

    return Path(store_root) if store_root is not None else artifacts_dir() / "rehearsal"


def report_path(size: str, dtype: str, root: str | Path | None = None) -> Path:
    return rehearsal_root(root) / f"report-{size}-{dtype}.json"


class _PeakRSS:
    """Peak resident set size of this process while the block runs, sampled every ``interval`` seconds."""

    def __init__(self, interval: float = 0.05):
        import psutil

        self.process, self.interval, self.peak = psutil.Process(), interval, 0
        self._stop = threading.Event()

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self):
        self.peak = self.process.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def rehearse_paper(paper: str, *, size: str = "tiny", dtype: str = "bfloat16", device: str | None = None,
                   seed: int = 0, root: str | Path | None = None, progress: Progress | None = None
                   ) -> PaperRehearsal:
    """Rehearse one paper (see the module docstring); an error is caught and reported, never raised."""
    import shutil

    from workbench.build import BuildContext, build_paper, discover
    from workbench.paths import environ
    from workbench.claims import ledger
    from workbench.io import ArtifactStore
    from workbench.models import clear_cache, rehearsal
    from workbench.profiles import get_profile, pick_device

    discover()
    device = pick_device(device)
    cuda = device.startswith("cuda")
    if cuda:
        import torch

        torch.cuda.reset_peak_memory_stats(device)
    store_root = rehearsal_root(root) / f"{size}-{dtype}"
    shutil.rmtree(store_root / "paper" / paper, ignore_errors=True)   # every rehearsal starts from nothing
    store = ArtifactStore(store_root)
    error, built, claims = None, [], 0
    stats = rehearsal.ForwardStats()
    last = {"message": "starting"}

    def update(fraction: float, message: str) -> None:
        last["message"] = message
        if progress:
            progress(fraction, message)

    start = time.perf_counter()
    with _PeakRSS() as rss:
        try:
            # WORKBENCH_PROFILE=paper, as `workbench --profile paper build` sets it for code that reads it
            with environ(WORKBENCH_PROFILE="paper"), \
                    rehearsal.rehearsing(size, dtype, seed, stats=stats, device=device):
                ctx = BuildContext(store, get_profile("paper"), seed, True, update, rehearsal=size == "tiny")
                built = build_paper(paper, ctx, force=True)
                claims = len(ledger([paper], profile="paper", store=store, seeds=False))
        except Exception as exc:      # noqa: BLE001 - one paper's failure must not stop the others
            where = traceback.extract_tb(exc.__traceback__)[-1]
            error = (f"{paper}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
                     f"(during '{last['message']}'; {Path(where.filename).name}:{where.lineno})")
        finally:
            clear_cache()
    wall = time.perf_counter() - start
    peak_gpu = None
    if cuda:
        import torch

        peak_gpu = torch.cuda.max_memory_allocated(device) / 2 ** 20
        torch.cuda.empty_cache()
    return PaperRehearsal(paper, error is None, error, round(wall, 2), round(rss.peak / 2 ** 20, 1),
                          None if peak_gpu is None else round(peak_gpu, 1), sorted(stats.models),
                          stats.tokens, stats.items, round(stats.seconds, 3), built, claims)


def rehearse(papers: list[str] | None = None, *, size: str = "tiny", dtype: str = "bfloat16",
             device: str | None = None, seed: int = 0, root: str | Path | None = None,
             progress: Progress | None = None) -> dict:
    """Rehearse ``papers`` (all when None) one after the other; returns the report, also written to
    ``report_path`` (merged with the entries of papers rehearsed earlier at this size and dtype)."""
    from workbench.io import write_json
    from workbench.models.rehearsal import Rehearsal
    from workbench.papers import all_papers, get_paper
    from workbench.profiles import pick_device

    Rehearsal(size, dtype, seed)                    # validates size and dtype before any work
    device = pick_device(device)
    _check_dtype(dtype, device)
    ids = [p.id for p in all_papers()] if not papers else [get_paper(p).id for p in papers]
    results = []
    for i, paper in enumerate(ids):
        def scaled(fraction: float, message: str, i=i, paper=paper) -> None:
            if progress:
                progress((i + fraction) / len(ids), f"{paper}: {message}")
        results.append(rehearse_paper(paper, size=size, dtype=dtype, device=device, seed=seed, root=root,
                                      progress=scaled))
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    entries = [{**r.to_json(), "device": device, "created_at": now} for r in results]
    path = report_path(size, dtype, root)
    # Papers rehearsed earlier at this size and dtype (and not now) stay in the report, each with its own date
    # and device, so papers can be rehearsed one at a time (e.g. one per GPU session).
    earlier = read_reports(root).get((size, dtype), {}).get("papers", [])
    kept = [e for e in earlier if e.get("paper") not in ids]
    order = {p.id: i for i, p in enumerate(all_papers())}
    report = {"rehearsal": True, "weights": "random", "size": size, "dtype": dtype, "device": device,
              "seed": seed, "created_at": now, "ran": ids,
              "papers": sorted(kept + entries, key=lambda e: order.get(e["paper"], len(order)))}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(report, path)
    return report


def _check_dtype(dtype: str, device: str) -> None:
    """A dtype the device cannot compute in is one clear error before any paper runs."""
    import torch

    if device.startswith("cuda") and dtype == "bfloat16" and not torch.cuda.is_bf16_supported():
        raise WorkbenchError(f"device '{device}' does not support bfloat16; use --dtype float16 or float32")


def read_reports(root: str | Path | None = None) -> dict[tuple[str, str], dict]:
    """(size, dtype) → the last rehearsal report written for it (unreadable files are skipped)."""
    import json

    out = {}
    for path in sorted(rehearsal_root(root).glob("report-*-*.json")):
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(report, dict) and "papers" in report:
            out[(report.get("size"), report.get("dtype"))] = report
    return out


def readiness(reports: dict[tuple[str, str], dict] | None = None, *, root: str | Path | None = None):
    """One row per paper for the *Paper-profile readiness* page: the paper-profile models its rehearsals
    loaded, how many of them are in the local Hugging Face cache (and which are missing), and per rehearsal
    report (``tiny bfloat16`` …) ok / FAILED / not run, with wall time, peak memory, throughput and the error."""
    import pandas as pd

    from workbench.models import availability, get_spec
    from workbench.papers import all_papers

    reports = read_reports(root) if reports is None else reports
    by_paper: dict[str, dict[str, dict]] = {}
    for (size, dtype), report in sorted(reports.items(), key=lambda kv: (kv[0][0] != "tiny", kv[0])):
        for entry in report["papers"]:
            by_paper.setdefault(entry["paper"], {})[f"{size} {dtype}"] = {**entry, "device": report.get("device")}
    cached: dict[str, bool] = {}
    rows = []
    for paper in all_papers():
        runs = by_paper.get(paper.id, {})
        models = sorted({m for r in runs.values() for m in r.get("models", [])})
        for name in models:
            if name not in cached:
                try:
                    cached[name] = availability(get_spec(name)).available
                except WorkbenchError:
                    cached[name] = False
        row = {"paper": paper.id, "models": ", ".join(models) or "—",
               "in local cache": f"{sum(cached[m] for m in models)}/{len(models)}" if models else "—",
               "missing": ", ".join(m for m in models if not cached[m]) or "—"}
        for run, entry in runs.items():
            row[run] = "ok" if entry["ok"] else "FAILED"
            row[f"{run} wall s"] = entry["wall_s"]
            row[f"{run} host MB"] = entry["peak_host_mb"]
            row[f"{run} GPU MB"] = entry["peak_gpu_mb"]
            row[f"{run} tok/s"] = entry.get("tokens_per_s")
            row[f"{run} items/s"] = entry.get("items_per_s")
            if entry.get("error"):
                row["error"] = entry["error"]
        rows.append(row)
    return pd.DataFrame(rows)
