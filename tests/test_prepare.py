"""workbench.prepare: preparation keyed as first use keys it, resumable; the demo queue's order and skips; the
`make demo` command line (dry run); Home shows the queue."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from workbench import prepare as prep

ROOT = Path(__file__).resolve().parents[1]


class Stop(Exception):
    """Raised by a stand-in ``build_once``: the folder a first use would build, without building it."""


@pytest.fixture
def first_use_folders(monkeypatch):
    """Calls ``fn`` with ``build_once`` replaced; returns the folder the first use asked it for."""
    import workbench.deepfake.training as training
    import workbench.io as io

    def stop(folder, build, complete=None):
        raise Stop(Path(folder))
    monkeypatch.setattr(io, "build_once", stop)
    monkeypatch.setattr(training, "build_once", stop)

    def folder_of(fn):
        with pytest.raises(Stop) as caught:
            fn()
        return caught.value.args[0]
    return folder_of


@pytest.mark.parametrize("smoke", [False, True])
def test_each_step_fills_the_folder_its_first_use_looks_for(first_use_folders, smoke):
    from workbench.captioning import clap
    from workbench.captioning.compare import SMALL_PER_CLASS
    from workbench.deepfake.training import default_model, smoke_config, smoke_spec
    from workbench.memes.ablation import default_models_folder, smoke_configs

    steps = {s.name: s for s in prep.prepare_steps(smoke=smoke)}
    assert list(steps) == ["models", "deepfake", "memes", "tiny-clap", "tiny-clap-judge", "tiny-clap-small"]
    df_args = dict(spec=smoke_spec(), config=smoke_config()) if smoke else {}
    assert steps["deepfake"].folder == first_use_folders(lambda: default_model(**df_args))
    corpus, config = prep.smoke_clap() if smoke else (None, None)
    assert steps["tiny-clap"].folder == first_use_folders(lambda: clap.default_scorer(corpus=corpus, config=config))
    assert steps["tiny-clap-judge"].folder == first_use_folders(
        lambda: clap.judge_scorer(corpus=corpus, config=config))
    assert steps["tiny-clap-small"].folder == first_use_folders(
        lambda: clap.small_scorer(SMALL_PER_CLASS, corpus=corpus, config=config))
    meme_corpus, tagger, model = smoke_configs() if smoke else (None, None, None)
    assert steps["memes"].folder == default_models_folder(corpus=meme_corpus, tagger=tagger, config=model)
    # the smoke steps are the smoke builds' own configurations: not the defaults' folders
    if smoke:
        defaults = {s.name: s.folder for s in prep.prepare_steps()}
        assert all(defaults[n] != s.folder for n, s in steps.items() if n != "models")


def test_prepare_runs_missing_steps_once_then_nothing(tmp_path):
    built = []

    def step(name):
        marker = tmp_path / name / "done"

        def run(report):
            report(0.5, "half")
            marker.parent.mkdir()
            marker.write_text("x")
            built.append(name)
        return prep.Step(name, name, marker.parent, marker.is_file, run)

    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "done").write_text("x")                         # b was prepared before
    steps = [step("a"), step("b"), step("c")]
    seen = []
    rows = prep.prepare(steps, progress=lambda f, m: seen.append(f))
    assert [r["status"] for r in rows] == ["built", "ready", "built"] and built == ["a", "c"]
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert [r["status"] for r in prep.prepare(steps)] == ["ready"] * 3 and built == ["a", "c"]
    assert prep.prepare([step("d")], dry_run=True)[0]["status"] == "would build" and built == ["a", "c"]


def test_prepare_cli_on_a_smoke_step_is_resumable(capsys):
    """The real step: the second call finds the folder and does nothing."""
    import json

    from workbench.cli.main import main

    assert main(["models", "prepare", "tiny-clap-small", "--smoke", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)["steps"]
    assert [s["status"] for s in first] in (["built"], ["ready"])
    assert main(["prepare", "tiny-clap-small", "--smoke", "--json"]) == 0      # the old spelling, same command
    again = json.loads(capsys.readouterr().out)["steps"]
    assert [(s["status"], s["seconds"]) for s in again] == [("ready", 0.0)]
    assert again[0]["folder"] == first[0]["folder"] and Path(again[0]["folder"], "clap.json").is_file()


def test_prepare_refuses_unknown_steps_and_mixed_options():
    from workbench import WorkbenchError
    from workbench.cli.main import main

    with pytest.raises(WorkbenchError, match="unknown preparation step 'nope'; choose from models, deepfake"):
        prep.select(prep.prepare_steps(smoke=True), ["nope"])
    assert main(["models", "prepare", "--background"]) == 1
    assert main(["models", "prepare", "--demo", "--smoke"]) == 1


def test_first_use_says_so_with_an_estimate(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))          # nothing prepared here
    said = []
    assert prep.first_use_notice("deepfake", "training the deepfake default model", said.append)
    assert said == ["training the deepfake default model first (about "
                    f"{round(prep.ESTIMATES_S['deepfake'] / 60)} min on a 2-core CPU, an estimate; "
                    "`workbench models prepare --all` does it ahead of time)"]
    assert prep.estimate_text(None) == "time not measured yet" and prep.estimate_text(42) == "about 42 s"


# ------------------------------------------------------------------------------------------------ demo queue


@pytest.fixture
def toy_papers(tmp_path, monkeypatch):
    """Two papers with one toy builder each, artifacts and jobs in this test's folders."""
    from workbench import build

    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.setattr(build, "BUILDERS", {(p, "toy"): build.Builder(p, "toy", "toy", lambda ctx: None)
                                            for p in ("P1", "P2")})
    monkeypatch.setattr(build, "BUILDER_MODULES", ())
    return ["P1", "P2"]


def _fake_build(command: list[str]) -> int:
    """What `build P… [--smoke]` would leave: the toy artifact, smoke size or not; `models prepare` does nothing."""
    import pandas as pd

    from workbench import io

    if "build" in command:
        paper = command[command.index("build") + 1]
        io.save_frame(pd.DataFrame({"x": [1]}), io.ArtifactStore().path(paper, "toy", "default"),
                      profile="default", config={"smoke": "--smoke" in command})
    return 0


def test_demo_queue_runs_the_quick_pass_before_the_full_builds(toy_papers, tmp_path):
    queue = prep.demo_queue(toy_papers)
    assert [i.name for i in queue] == ["P1 quick", "P2 quick", "prepare", "P1 full", "P2 full"]
    calls, names = [], []
    state = tmp_path / "queue.json"
    done = prep.run_queue(queue, "default", path=state,
                          call=lambda name, c: names.append(name) or calls.append(c) or _fake_build(c),
                          say=lambda text: None)
    assert names == ["P1", "P2", "prepare", "P1", "P2"]                # each a job: a paper's build is its job
    shown = [prep.shown(c) for c in calls]
    assert shown == ["workbench --profile default build P1 --smoke", "workbench --profile default build P2 --smoke",
                     "workbench --profile default models prepare --all",
                     "workbench --profile default build P1 --force",     # smoke-size artifacts are replaced
                     "workbench --profile default build P2 --force"]
    assert [i.status for i in done] == ["done"] * 5 and prep.queue_state(state) == done
    calls.clear()                                                        # a second `make demo`: all built
    again = prep.run_queue(queue, "default", path=state, call=lambda name, c: calls.append(c) or 0,
                          say=lambda t: None)
    assert [prep.shown(c) for c in calls] == ["workbench --profile default models prepare --all"]
    assert [i.status for i in again] == ["skipped", "skipped", "done", "skipped", "skipped"]


def test_a_failed_item_is_recorded_and_the_queue_goes_on(toy_papers, tmp_path):
    done = prep.run_queue(prep.demo_queue(["P1"]), "default", path=tmp_path / "q.json",
                          call=lambda name, c: 3 if "--smoke" in c else _fake_build(c), say=lambda t: None)
    assert [(i.status, i.detail.endswith("(exit 3)")) for i in done] == [("failed", True), ("done", False),
                                                                        ("done", False)]


def test_an_item_runs_as_a_job_and_its_exit_status_is_returned(toy_papers):
    from workbench import jobs

    assert prep.run_as_job("P1", [sys.executable, "-c", "print('built')"], poll_s=0.05) == 0
    assert jobs.get("P1").status == "done" and jobs.progress(jobs.get("P1")).message == "built"
    assert prep.run_as_job("P2", [sys.executable, "-c", "import sys; sys.exit(3)"], poll_s=0.05) == 3


def test_make_demo_starts_the_queue_in_the_background_before_serving(toy_papers):
    """`make demo`'s own command lines (make -n): the queue starts detached before streamlit; the same line with
    --dry-run lists the queue in its order and starts nothing."""
    import os

    lines = subprocess.run(["make", "-n", "demo"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lines = lines.splitlines()
    queue = next(i for i, line in enumerate(lines) if "models prepare --demo" in line)
    serve = next(i for i, line in enumerate(lines) if "streamlit run dashboard/app.py" in line)
    assert queue < serve and lines[queue].split()[-1] == "--background"
    command = lines[queue].split()
    command[0] = str(ROOT / command[0])
    out = subprocess.run(command + ["--dry-run", "--papers", ",".join(toy_papers)], cwd=ROOT, capture_output=True,
                         text=True, env=os.environ, timeout=120)
    assert out.returncode == 0, out.stderr
    items = [re.sub(r"^\[\d/\d\] ", "", line) for line in out.stdout.splitlines()]
    assert [i.split(":")[0] for i in items] == ["P1 quick", "P2 quick", "prepare", "P1 full", "P2 full"]
    assert not (Path(os.environ["WORKBENCH_HOME"]) / "jobs" / "demo.json").exists()    # nothing started


def test_home_shows_the_demo_queue_and_its_job(toy_papers, tmp_path):
    from dataclasses import replace

    from streamlit.testing.v1 import AppTest

    from workbench import jobs

    items = prep.demo_queue(toy_papers)
    items[0] = replace(items[0], status="done")
    items[1] = replace(items[1], status="running", detail="workbench --profile default build P2 --smoke")
    prep._save_state(items, prep.state_path())
    jobs.start(prep.QUEUE_JOB, [sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        at = AppTest.from_string(f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from dashboard.registry import discover
next(v for v in discover() if v.key == "home").render()
""", default_timeout=120).run()
        assert not at.exception, at.exception
        texts = [b.proto.text for b in at.get("progress")]
        assert "Demo queue: 1/5 items finished — now: P2 quick (smoke size)" in texts
        frame = next(d.value for d in at.dataframe if "phase" in d.value.columns)
        assert frame["status"].tolist() == ["done", "running", "waiting", "waiting", "waiting"]
        jobs_frame = next(d.value for d in at.dataframe if "paper" in d.value.columns)
        assert jobs_frame[["paper", "status"]].values.tolist() == [["demo", "running"]]
    finally:
        jobs.cancel(prep.QUEUE_JOB)


def test_the_quick_pass_leaves_slow_secondary_artifacts_to_the_full_pass(toy_papers, monkeypatch):
    from workbench import build

    monkeypatch.setattr(build, "BUILDERS", {**build.BUILDERS, ("P1", "slow"): build.Builder(
        "P1", "slow", "a secondary section", lambda ctx: None, quick=False)})
    quick, full = (prep.QueueItem(f"P1 {phase}", phase, "P1") for phase in (prep.QUICK, prep.FULL))
    assert prep.shown(prep.item_command(quick, "default")) == \
        "workbench --profile default build P1 --smoke --only toy"
    _fake_build(prep.item_command(quick, "default"))                       # the quick artifact, smoke size
    assert prep.item_command(quick, "default") is None                     # nothing quick is missing
    assert prep.shown(prep.item_command(full, "default")) == "workbench --profile default build P1 --force"
    registered = {(b.paper, b.name) for b in build.BUILDERS.values() if not b.quick}
    assert registered == {("P1", "slow")}


def test_the_real_registry_marks_the_costly_secondary_builders():
    from workbench.build import BUILDERS, discover

    discover()
    slow = {(p, n) for (p, n), b in BUILDERS.items() if not b.quick}
    assert {("P5", "meme_vlm"), ("P6", "deepfake_ptm"), ("P9", "caption_scorers"), ("P8", "ambs_vs_naive"),
            ("P3", "hhh_shortcuts"), ("P10", "hhh_eval")} <= slow
    for paper in {p for p, _ in BUILDERS}:                  # every paper still has something for its view at once
        assert any(b.quick for (p, _), b in BUILDERS.items() if p == paper), paper
