"""First use without waiting: every locally trained default model built once, and the demo queue.

Used by ``workbench models prepare`` and ``make demo``, and by the dashboard's Home (``queue_state``).

* ``prepare_steps(smoke)`` — what a first use would otherwise train: the profile's zoo models (GGUF →
  safetensors, the Whisper join), the deepfake default model, the meme tagger and the three meme settings, and the
  captioning scorers (the guide ``tiny-clap``, its independent judge, the weaker guide of the scorer comparison).
  Each step calls the very function a first use calls (``deepfake.training.default_model``,
  ``memes.ablation.default_models``, ``captioning.clap.default_scorer`` …) with the same configurations, so it
  fills the very cache folders, keyed by configuration, that the first use would look for.
* ``prepare(steps)`` — runs the steps whose folder is missing; a step that is ready is skipped, so a second call
  does nothing and an interrupted one resumes with the step it was on (each folder is written atomically).
* ``demo_queue()`` / ``run_queue()`` — what ``make demo`` starts in the background (a ``workbench.jobs`` job named
  ``demo``) while the dashboard is already serving: a **quick pass** (every paper's smoke-size build, so every
  view shows real content, marked as smoke size), then the preparation above, then the **full builds** (each
  replacing its paper's smoke-size artifacts). Items that are already done are skipped when their turn comes;
  each item runs as a job of its own (a paper's build as that paper's job), so Home shows its progress.

``ESTIMATES_S`` holds the times a first use took on a 2-core laptop-class CPU (measured on a fresh home); they are
estimates — another machine, or a busy one, differs.
"""
from __future__ import annotations

import json
import os
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

from workbench import WorkbenchError

Progress = Callable[[float, str], None]

# Seconds a step (or a first use that trains it) took on a 2-core CPU, fresh home: measured, stated as estimates.
ESTIMATES_S: dict[str, float] = {
    "models": 30,                 # SmolLM2 GGUF → safetensors, Whisper join
    "deepfake": 15 * 60,          # synthetic corpora + detectors + the reasoning stage's calibration
    "memes": 17 * 60,             # synthetic memes + tagger + three settings (a first `meme classify`: > 17 min)
    "tiny-clap": 3 * 60,
    "tiny-clap-judge": 2 * 60,
    "tiny-clap-small": 60,
}
# A paper's build, seconds on the same machine (smoke size measured for P1 and P3; others not measured yet).
BUILD_ESTIMATES_S: dict[tuple[str, bool], float] = {("P1", True): 218, ("P3", True): 223}


def estimate_text(seconds: float | None) -> str:
    """``about 15 min`` (rounded), or ``time not measured yet`` for None."""
    if seconds is None:
        return "time not measured yet"
    return f"about {round(seconds)} s" if seconds < 90 else f"about {round(seconds / 60)} min"


def first_use_line(what: str, seconds: float | None) -> str:
    """The one line a command says before work it must do first: ``<what> first (about 15 min on a 2-core CPU, an
    estimate; `workbench models prepare --all` does it ahead of time)``."""
    return (f"{what} first ({estimate_text(seconds)} on a 2-core CPU, an estimate; "
            "`workbench models prepare --all` does it ahead of time)")

# ------------------------------------------------------------------------------------------- preparation steps


@dataclass(frozen=True)
class Step:
    name: str
    description: str
    folder: Path                        # where it lands (the cache folder a first use looks for)
    ready: Callable[[], bool] = field(repr=False)
    run: Callable[[Progress], object] = field(repr=False)
    smoke: bool = False                 # the tiny configurations (no estimate: seconds)

    @property
    def estimate_s(self) -> float | None:
        return None if self.smoke else ESTIMATES_S.get(self.name)


def _files_exist(*paths: Path) -> Callable[[], bool]:
    return lambda: all(p.is_file() for p in paths)


def _zoo_step(profile) -> Step:
    from workbench.build import prepare_models
    from workbench.models import availability, get_spec
    from workbench.paths import models_dir

    names = profile.model_names()
    return Step("models", f"the {profile.name} profile's zoo models ({', '.join(names)})", models_dir(),
                lambda: all(availability(get_spec(n)).prepared for n in names),
                lambda report: prepare_models(names, report))


def _deepfake_step(profile, smoke: bool) -> Step:
    from workbench.deepfake.config import PipelineConfig
    from workbench.deepfake.training import SyntheticSpec, default_model, smoke_config, smoke_spec
    from workbench.paths import models_dir

    spec, config = ((smoke_spec(), smoke_config(profile=profile.name)) if smoke
                    else (SyntheticSpec(), PipelineConfig.for_profile(profile.name)))
    # the folder deepfake.training.default_model keys by the data and pipeline configuration
    folder = models_dir() / "deepfake" / f"{profile.name}-{spec.key()}-{config.key()}"
    return Step("deepfake", "the deepfake default model (P6; `deepfake score`)", folder,
                _files_exist(folder / "model.json"),
                lambda report: default_model(spec=spec, config=config, progress=report), smoke)


def _meme_step(profile, smoke: bool) -> Step:
    from workbench.memes.ablation import SETTINGS, default_models, default_models_folder, folder_name, smoke_configs

    corpus, tagger, config = smoke_configs() if smoke else (None, None, None)
    root = default_models_folder(corpus=corpus, tagger=tagger, config=config, profile=profile.name)
    needed = ("model.json", "clip_tags.json") if profile.name == "paper" else ("model.json",)
    return Step("memes", "the meme tagger and the three meme settings (P5; `meme classify`)", root,
                _files_exist(*(root / folder_name(s) / f for s in SETTINGS for f in needed)),
                lambda report: default_models(corpus=corpus, tagger=tagger, config=config, profile=profile.name,
                                              progress=report), smoke)


def smoke_clap():
    """(corpus, audio-text configuration) of the P9 smoke build: a few short clips, a small model."""
    from workbench.captioning.clap import ClapConfig
    from workbench.captioning.synth import SoundCorpusConfig
    from workbench.media.audio_encoders import CNNConfig

    return (SoundCorpusConfig(n_per_class=4, mixtures=4, seconds=2.0),
            ClapConfig(audio=CNNConfig(channels=(8, 16, 32), dim=64, max_seconds=2.0), dim=64, epochs=15))


def _clap_steps(smoke: bool) -> list[Step]:
    from workbench.captioning import clap
    from workbench.captioning.compare import SMALL_PER_CLASS

    corpus, config = smoke_clap() if smoke else (None, None)
    made = {"tiny-clap": ("the audio-text guide (P9; `caption run`)", clap.default_scorer_folder(
                              corpus=corpus, config=config), lambda r: clap.default_scorer(
                              corpus=corpus, config=config, progress=r)),
            "tiny-clap-judge": ("the independent caption judge (P9; `caption eval`)", clap.judge_scorer_folder(
                                    corpus=corpus, config=config), lambda r: clap.judge_scorer(
                                    corpus=corpus, config=config, progress=r)),
            "tiny-clap-small": ("the weaker guide of the scorer comparison (P9)", clap.small_scorer_folder(
                                    SMALL_PER_CLASS, corpus=corpus, config=config), lambda r: clap.small_scorer(
                                    SMALL_PER_CLASS, corpus=corpus, config=config, progress=r))}
    return [Step(name, text, folder, _files_exist(folder / "clap.json"), run, smoke)
            for name, (text, folder, run) in made.items()]


def prepare_steps(*, smoke: bool = False, profile=None) -> list[Step]:
    """Every model a first use of ``profile`` (default: the active one) would train, in the order to build them;
    ``smoke``: the tests' and smoke builds' tiny configurations instead of the defaults."""
    from workbench.profiles import get_profile

    profile = get_profile(profile)
    steps = [_zoo_step(profile), _deepfake_step(profile, smoke), _meme_step(profile, smoke)]
    return steps + (_clap_steps(smoke) if profile.name != "paper" else [])


def first_use_notice(name: str, what: str, say: Callable[[str], None]) -> bool:
    """Say ``first_use_line`` (through ``say``) when the active profile's step ``name`` (``deepfake``, ``memes``,
    ``tiny-clap``) is not built yet, so the command about to train it says so first; whether it was said."""
    from workbench.profiles import get_profile

    profile = get_profile(None)
    makers = {"deepfake": lambda: [_deepfake_step(profile, False)], "memes": lambda: [_meme_step(profile, False)],
              "tiny-clap": lambda: _clap_steps(False)[:1]}
    if name not in makers:
        raise WorkbenchError(f"unknown preparation step '{name}'; choose from {', '.join(makers)}")
    if name == "tiny-clap" and profile.name == "paper":
        return False
    step = makers[name]()[0]
    if step.ready():
        return False
    say(first_use_line(what, step.estimate_s))
    return True


def select(steps: list[Step], names: list[str] | None) -> list[Step]:
    """The steps named (all of them for None); an unknown name is an error listing the steps."""
    if not names:
        return steps
    known = {s.name: s for s in steps}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise WorkbenchError(f"unknown preparation step '{unknown[0]}'; choose from {', '.join(known)}")
    return [known[n] for n in names]


def prepare(steps: list[Step], *, dry_run: bool = False, progress: Progress | None = None,
            say: Callable[[str], None] | None = None) -> list[dict]:
    """Run each step that is not ready (``dry_run``: only say which would run); one row per step: name, status
    (``ready``, ``built``, ``would build``), seconds, estimate and folder. Progress is weighted by the estimates."""
    report = progress or (lambda f, m: None)
    say = say or (lambda text: None)
    weights = [s.estimate_s or 60.0 for s in steps]
    total, done, rows = sum(weights) or 1.0, 0.0, []
    for step, weight in zip(steps, weights):
        row = {"step": step.name, "description": step.description, "estimate_s": step.estimate_s,
               "folder": str(step.folder), "seconds": 0.0}
        if step.ready():
            rows.append({**row, "status": "ready"})
        elif dry_run:
            rows.append({**row, "status": "would build"})
        else:
            say(f"{step.name}: building {step.description} ({estimate_text(step.estimate_s)}, an estimate)")
            start = time.perf_counter()
            step.run(lambda f, m, done=done, weight=weight, name=step.name: report(
                (done + weight * min(max(f, 0.0), 1.0)) / total, f"{name}: {m}"))
            rows.append({**row, "status": "built", "seconds": round(time.perf_counter() - start, 1)})
        done += weight
        report(done / total, f"{step.name}: {rows[-1]['status']}")
    return rows


# ------------------------------------------------------------------------------------------------ demo queue

QUICK, PREPARE, FULL = "quick", "prepare", "full"
QUEUE_JOB = "demo"


@dataclass(frozen=True)
class QueueItem:
    name: str                     # "P1 quick", "prepare", "P1 full"
    phase: str                    # quick | prepare | full
    paper: str = ""               # the paper a build item builds
    status: str = "waiting"       # waiting | running | done | skipped | failed
    detail: str = ""


def demo_queue(papers: list[str] | None = None) -> list[QueueItem]:
    """The items ``make demo`` runs, in order: each paper's quick pass (smoke size), the preparation of every
    trained default model, then each paper's full build."""
    from workbench.papers import all_papers

    ids = papers or [p.id for p in all_papers()]
    return ([QueueItem(f"{p} quick", QUICK, p) for p in ids] + [QueueItem("prepare", PREPARE)]
            + [QueueItem(f"{p} full", FULL, p) for p in ids])


def _sizes(paper: str, profile: str, store) -> dict[str, bool | None]:
    """Per builder of ``paper``: None when its artifact is missing, else whether it was built at smoke size."""
    from workbench.build import builders_for
    from workbench.io.artifacts import ArtifactError, read_meta

    sizes = {}
    for builder in builders_for(paper):
        try:
            sizes[builder.name] = bool(read_meta(store.path(paper, builder.name, profile)).config.get("smoke"))
        except ArtifactError:
            sizes[builder.name] = None
    return sizes


def item_command(item: QueueItem, profile: str, store=None) -> list[str] | None:
    """The command that does ``item`` now, or None when there is nothing to do: a quick pass builds the paper's
    missing quick artifacts at smoke size (``Builder.quick``: a view's secondary sections that cost much even at
    smoke size wait for the full pass; none when every quick one exists, whatever its size); a full build builds
    the missing ones and rebuilds the smoke-size ones (``--force``); none when all are full size."""
    from workbench.build import builders_for, discover
    from workbench.io import ArtifactStore

    cli = [sys.executable, "-m", "workbench.cli", "--profile", profile]
    if item.phase == PREPARE:
        return cli + ["models", "prepare", "--all"]
    discover()
    sizes = _sizes(item.paper, profile, store or ArtifactStore())
    if not sizes:
        return None
    if item.phase == QUICK:                    # the paper's quick builders that are missing, at smoke size
        quick = {b.name for b in builders_for(item.paper) if b.quick}
        missing = [name for name, size in sizes.items() if size is None and name in quick]
        if not missing:
            return None
        return cli + ["build", item.paper, "--smoke"] + ([] if len(missing) == len(sizes) else
                                                         ["--only", ",".join(missing)])
    if all(s is False for s in sizes.values()):
        return None
    return cli + ["build", item.paper] + (["--force"] if any(sizes.values()) else [])


def shown(command: list[str]) -> str:
    """``workbench …`` for a ``python -m workbench.cli …`` command line."""
    return " ".join(["workbench", *command[3:]]) if command[1:3] == ["-m", "workbench.cli"] else " ".join(command)


def state_path() -> Path:
    from workbench.jobs import jobs_dir

    return jobs_dir() / f"{QUEUE_JOB}-queue.json"


def _save_state(items: list[QueueItem], path: Path) -> None:
    """Atomic: a temporary name beside the file, then a rename."""
    part = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    try:
        part.write_text(json.dumps([asdict(i) for i in items], indent=1))
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def queue_state(path: Path | None = None) -> list[QueueItem]:
    """The demo queue's items with their status, as the running queue last wrote them ([] before any)."""
    try:
        return [QueueItem(**row) for row in json.loads((path or state_path()).read_text())]
    except (OSError, ValueError, TypeError):
        return []


def _wait_for_paper_job(paper: str, poll_s: float = 5.0) -> None:
    """A build of ``paper`` started from a view runs first: the queue waits for it (one build per paper)."""
    from workbench import jobs

    while (job := jobs.get(paper)) is not None and job.active:
        time.sleep(poll_s)


def run_as_job(name: str, command: list[str], poll_s: float = 2.0) -> int:
    """Run ``command`` as the background job ``name`` (``workbench.jobs``: Home shows its progress and can cancel
    it, and a view's build button of the same paper waits for it) and wait for its end; its exit status (1 when it
    was cancelled or lost)."""
    from workbench import jobs

    jobs.start(name, command)
    while (job := jobs.get(name)) is not None and job.active:
        time.sleep(poll_s)
    return 0 if job is not None and job.status == jobs.DONE else (job.returncode if job and job.returncode else 1)


def run_queue(items: list[QueueItem], profile: str, *, dry_run: bool = False, path: Path | None = None,
              call: Callable[[str, list[str]], int] | None = None,
              say: Callable[[str], None] = print) -> list[QueueItem]:
    """Run the queue's items in order, each with ``call(job name, command)`` (default ``run_as_job``: a paper's
    build is that paper's job, the preparation the job ``prepare``); the state goes to ``path`` after every item,
    so Home can show it. ``dry_run``: say each item's command without running it. A failed item is recorded and the
    queue goes on (a paper's failure leaves the others' builds)."""
    path = path or state_path()
    call = call or run_as_job
    items = list(items)
    for i, item in enumerate(items):
        if item.paper and not dry_run:
            _wait_for_paper_job(item.paper)
        command = item_command(item, profile)
        label = f"[{i + 1}/{len(items)}] {item.name}"
        if command is None:
            items[i] = replace(item, status="skipped", detail="already built")
            say(f"{label}: already built")
        elif dry_run:
            items[i] = replace(item, detail=shown(command))
            say(f"{label}: {items[i].detail}")
        else:
            items[i] = replace(item, status="running", detail=shown(command))
            if path is not None:
                _save_state(items, path)
            say(f"{label}: {items[i].detail}  ({100 * i / len(items):.0f}% of the demo queue)")
            try:
                code = call(item.paper or PREPARE, command)
            except WorkbenchError as exc:            # a build of the paper was started meanwhile
                say(f"{label}: {exc}")
                code = 1
            items[i] = replace(items[i], status="done" if code == 0 else "failed",
                               detail=items[i].detail + ("" if code == 0 else f" (exit {code})"))
        if path is not None and not dry_run:
            _save_state(items, path)
    if not dry_run:
        say(f"demo queue finished: {sum(i.status == 'done' for i in items)} ran, "
            f"{sum(i.status == 'skipped' for i in items)} already built, {sum(i.status == 'failed' for i in items)} "
            "failed (100%)")
    return items


def start_queue(profile: str, papers: list[str] | None = None, *, cwd: Path | None = None):
    """Start the demo queue as the background job ``demo`` (``workbench.jobs``) and return it at once; refused
    while one is running. The queue's state file starts with every item waiting."""
    from workbench import jobs

    current = jobs.get(QUEUE_JOB)
    if current is not None and current.active:
        return current
    _save_state(demo_queue(papers), state_path())
    command = [sys.executable, "-m", "workbench.cli", "--profile", profile, "models", "prepare", "--demo"]
    return jobs.start(QUEUE_JOB, command + (["--papers", ",".join(papers)] if papers else []), cwd=cwd)


__all__ = ["BUILD_ESTIMATES_S", "ESTIMATES_S", "QueueItem", "Step", "demo_queue", "estimate_text", "first_use_line",
           "first_use_notice", "item_command", "prepare", "prepare_steps", "queue_state", "run_queue", "select",
           "start_queue"]
