"""workbench.jobs: background jobs with their state in files (fake commands, no real build)."""
import json
import os
import re
import sys
import time

import pytest

from workbench import WorkbenchError, jobs

# A fake build: prints a tqdm-like bar with \r updates, one step per `step` seconds, then a last line.
FAKE = ("import sys, time\n"
        "n = int(sys.argv[1]); step = float(sys.argv[2])\n"
        "for i in range(n + 1):\n"
        "    sys.stderr.write(f'\\rbuilding P1: {100 * i // n}%| step {i}/{n}'); sys.stderr.flush(); time.sleep(step)\n"
        "print('\\nP1: built fake')\n")


def fake(n: int = 4, step: float = 0.05) -> list[str]:
    return [sys.executable, "-c", FAKE, str(n), str(step)]


def wait(paper, folder, until, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = jobs.get(paper, folder)
        if until(job):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {paper} stuck at {jobs.get(paper, folder)}")


def test_a_job_runs_in_the_background_and_records_its_end(tmp_path):
    job = jobs.start("P1", fake(), folder=tmp_path)
    assert job.active and job.pid > 0
    state = json.loads((tmp_path / "P1.json").read_text())
    assert {"pid", "paper", "started", "status", "log"} <= set(state) and state["status"] == "running"
    done = wait("P1", tmp_path, lambda j: not j.active)
    assert done.status == "done" and done.returncode == 0 and done.finished >= done.started
    progress = jobs.progress(done)
    assert progress.fraction == 1.0 and progress.message == "P1: built fake"
    assert "building P1: 50%| step 2/4" in progress.tail


def test_progress_is_parsed_while_running(tmp_path):
    job = jobs.start("P2", fake(n=200, step=0.05), folder=tmp_path)
    try:
        wait("P2", tmp_path, lambda j: (jobs.progress(j).fraction or 0) > 0)
        p = jobs.progress(jobs.get("P2", tmp_path))
        assert 0 < p.fraction < 1 and p.message.startswith("building P1: ") and "step" in p.message
    finally:
        jobs.cancel("P2", tmp_path)
    assert job.log.endswith("P2.log")


def test_one_job_per_paper_and_cancel_kills_the_process_group(tmp_path):
    # the command starts a grandchild in the same group: cancelling must stop it too
    sleeper = [sys.executable, "-c", "import subprocess, sys, time\n"
               "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
               "print('grandchild', p.pid, 'started', flush=True); time.sleep(60)\n"]
    job = jobs.start("P3", sleeper, folder=tmp_path)
    with pytest.raises(WorkbenchError, match=r"^P3 already has a build running \(pid \d+"):
        jobs.start("P3", fake(), folder=tmp_path)
    other = jobs.start("P4", fake(n=1, step=0.01), folder=tmp_path)      # another paper may run beside it
    assert other.active
    seen = []                            # the line as one read saw it whole (the log may be mid-write)

    def printed(j):
        seen[:] = re.findall(r"grandchild (\d+) started", jobs.progress(j).message)
        return bool(seen)

    wait("P3", tmp_path, printed)
    grandchild = int(seen[0])
    cancelled = jobs.cancel("P3", tmp_path)
    assert cancelled.status == "cancelled"
    time.sleep(0.2)
    assert jobs.get("P3", tmp_path).status == "cancelled"           # the runner did not overwrite it
    for pid in (job.pid, grandchild):
        assert jobs._proc_token(pid) is None, f"process {pid} outlived the cancel"
    assert jobs.start("P3", fake(n=1, step=0.01), folder=tmp_path).active  # a new job once the old one is gone


def test_status_is_recovered_from_the_files_alone(tmp_path):
    """A page that forgot everything (a fresh process: no handle on the runner) reads the same status."""
    job = jobs.start("P5", fake(n=100, step=0.05), folder=tmp_path)
    jobs._CHILDREN.clear()                                           # forget the runner, as a new process would
    try:
        seen = jobs.all_jobs(tmp_path)
        assert [(j.paper, j.status, j.pid) for j in seen] == [("P5", "running", job.pid)]
    finally:
        jobs.cancel("P5", tmp_path)
    assert jobs.get("P5", tmp_path).status == "cancelled"


def test_a_job_whose_process_vanished_is_lost_and_a_failure_is_failed(tmp_path):
    gone = jobs.Job("P6", ["true"], str(tmp_path / "P6.log"), pid=2**22 + 7, started=time.time() - 100,
                    token="1")
    jobs._write(tmp_path / "P6.json", gone)
    assert jobs.get("P6", tmp_path).status == "lost"
    jobs.start("P7", [sys.executable, "-c", "print('boom'); raise SystemExit(3)"], folder=tmp_path)
    failed = wait("P7", tmp_path, lambda j: not j.active)
    assert failed.status == "failed" and failed.returncode == 3 and jobs.progress(failed).message == "boom"


def test_bad_input_is_refused_in_one_line(tmp_path):
    with pytest.raises(WorkbenchError, match="bad job name '../x'"):
        jobs.start("../x", fake(), folder=tmp_path)
    with pytest.raises(WorkbenchError, match="a job needs a command"):
        jobs.start("P1", [], folder=tmp_path)
    assert jobs.cancel("P9", tmp_path) is None and jobs.all_jobs(tmp_path) == []


def test_build_command_uses_the_profile_and_the_cli():
    cmd = jobs.build_command("P1", profile="paper", smoke=True, roles="roles.toml")
    assert cmd[:3] == [sys.executable, "-m", "workbench.cli"]
    assert cmd[3:] == ["--profile", "paper", "build", "P1", "--smoke", "--roles", "roles.toml"]
    assert os.path.basename(cmd[0]).startswith("python")


def test_a_workbench_progress_bar_reaches_the_log_as_percentages(tmp_path):
    """The job's output is a terminal, so the CLI's stage helper draws its bar (off a terminal it would write one
    line per stage, without percentages) and the log yields the stage's progress."""
    script = ("import time\n"
              "from workbench.cli.progress import stage\n"
              "with stage('building P8') as update:\n"
              "    for i in range(4):\n"
              "        update(i / 4, f'step {i}'); time.sleep(0.2)\n"
              "    time.sleep(30)\n")
    jobs.start("P8", [sys.executable, "-c", script], folder=tmp_path)
    try:
        job = wait("P8", tmp_path, lambda j: (jobs.progress(j).fraction or 0) >= 0.75)
        shown = jobs.progress(job)
        assert shown.fraction == 0.75 and "building P8" in shown.message and "step 3" in shown.message
        assert "\x1b[" not in shown.message
    finally:
        jobs.cancel("P8", tmp_path)


def test_ended_runners_are_reaped(tmp_path):
    job = jobs.start("P9", fake(n=1, step=0.01), folder=tmp_path)
    assert job.pid in jobs._CHILDREN
    wait("P9", tmp_path, lambda j: not j.active)
    deadline = time.time() + 10
    while job.pid in jobs._CHILDREN and time.time() < deadline:     # the runner exits just after recording
        jobs.get("P9", tmp_path)
        time.sleep(0.05)
    assert job.pid not in jobs._CHILDREN and jobs._proc_token(job.pid) is None   # no zombie left behind
