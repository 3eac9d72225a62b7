"""Background build jobs: a command run as a detached subprocess, its state kept in a small JSON file.

Used by the dashboard's build panels and Home. One job per paper at a time; the state lives in files under
``$WORKBENCH_HOME/jobs/`` (``<paper>.json`` beside ``<paper>.log``), not in the page, so a job survives navigating
away, page reloads and a restart of the dashboard. The command runs under a small runner (``python -m
workbench.jobs JOBFILE``) in a session of its own: the runner records the exit status when the command ends, and
cancelling kills the whole process group. The command's output reaches the log through a pseudo-terminal, so a
``workbench`` command draws its progress bar there, and progress is the last percentage the bar wrote.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from workbench import WorkbenchError

RUNNING, DONE, FAILED, CANCELLED, LOST = "running", "done", "failed", "cancelled", "lost"
TAIL_BYTES = 64 * 1024                     # how much of a log's end is read for progress and the last lines
STARTING_S = 30                            # a job without a pid yet is starting for this long, then lost
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*%(?!/s)")   # a percentage, not a rate ("12.5%/s")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")          # a terminal's cursor and colour codes
_PAPER = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_CHILDREN: dict[int, subprocess.Popen] = {}   # runners this process started: polled so they never stay zombies


@dataclass(frozen=True)
class Job:
    """One job's state file: what it runs, where it logs, and how it ended."""
    paper: str
    command: list[str]
    log: str
    status: str = RUNNING
    pid: int = 0                # the runner's pid, also the process group of everything the job runs
    started: float = 0.0        # time.time()
    finished: float | None = None
    returncode: int | None = None
    token: str = ""             # the process's start time, so a reused pid is not taken for the job's

    @property
    def active(self) -> bool:
        return self.status == RUNNING

    def elapsed(self, now: float | None = None) -> float:
        return (self.finished or (now if now is not None else time.time())) - self.started


@dataclass(frozen=True)
class Progress:
    fraction: float | None      # last percentage in the log / 100; None before the first one
    message: str                # the text of the log's last non-empty line
    tail: list[str]             # the log's last lines


def jobs_dir(folder: Path | None = None) -> Path:
    """``folder``, or ``$WORKBENCH_HOME/jobs`` (created)."""
    from workbench.paths import home

    path = Path(folder) if folder is not None else home() / "jobs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _state_path(paper: str, folder: Path | None) -> Path:
    if not _PAPER.match(paper):
        raise WorkbenchError(f"bad job name {paper!r}: use letters, digits, '-' or '_' (a paper id such as P1)")
    return jobs_dir(folder) / f"{paper}.json"


def _write(path: Path, job: Job) -> None:
    """Atomic: a temporary name in the same folder, then a rename."""
    part = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    try:
        part.write_text(json.dumps(asdict(job), indent=1))
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def _read(path: Path) -> Job | None:
    try:
        data = json.loads(path.read_text())
        return Job(**data)
    except (OSError, ValueError, TypeError):
        return None


def _proc_token(pid: int) -> str | None:
    """The start time of process ``pid`` (``/proc``), '' where ``/proc`` is absent; None when the process is gone or
    a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if not Path("/proc/self/stat").exists():      # no /proc: only ask whether the pid exists
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return None
            except PermissionError:
                return ""
            return ""
        return None
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()      # after "pid (name) ": state is field 3, start time field 22
    return None if fields[0] in ("Z", "X") else fields[19]


def _alive(job: Job) -> bool:
    child = _CHILDREN.get(job.pid)
    if child is not None and child.poll() is not None:  # reaped here: a finished runner is not left a zombie
        _CHILDREN.pop(job.pid, None)
        return False
    token = _proc_token(job.pid)
    return token is not None and (not job.token or not token or token == job.token)


def _reap() -> None:
    """Collect the runners this process started that have ended (else each stays a zombie until it exits)."""
    for pid, child in list(_CHILDREN.items()):
        if child.poll() is not None:
            _CHILDREN.pop(pid, None)


def get(paper: str, folder: Path | None = None) -> Job | None:
    """The latest job of ``paper``, its status checked: a job marked running whose process is gone without
    recording an exit (killed, or the machine restarted) is reported as ``lost``."""
    _reap()
    path = _state_path(paper, folder)
    job = _read(path)
    if job is None or not job.active or _alive(job):
        return job
    if not job.pid and time.time() - job.started < STARTING_S:     # written, its runner not launched yet
        return job
    time.sleep(0.05)                                    # the runner may be writing its exit status just now
    again = _read(path)
    if again is not None and not again.active:
        return again
    lost = replace(job, status=LOST, finished=time.time())
    _write(path, lost)
    return lost


def all_jobs(folder: Path | None = None) -> list[Job]:
    """Every paper's latest job, oldest first."""
    jobs = [get(p.stem, folder) for p in sorted(jobs_dir(folder).glob("*.json")) if _PAPER.match(p.stem)]
    return sorted((j for j in jobs if j is not None), key=lambda j: j.started)


@contextlib.contextmanager
def _locked(folder: Path | None):
    """One writer at a time across processes: starting, cancelling and a runner recording its exit."""
    import fcntl

    with open(jobs_dir(folder) / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def start(paper: str, command: list[str], *, folder: Path | None = None, cwd: Path | None = None) -> Job:
    """Run ``command`` in the background as ``paper``'s job; its output goes to ``<paper>.log``. Refused
    (``WorkbenchError``) while ``paper`` has a job running."""
    if not command:
        raise WorkbenchError("a job needs a command")
    path = _state_path(paper, folder)
    with _locked(folder):                  # two pages pressing Build at once start one job
        current = get(paper, folder)
        if current is not None and current.active:
            raise WorkbenchError(f"{paper} already has a build running (pid {current.pid}, started "
                                 f"{time.strftime('%H:%M:%S', time.localtime(current.started))}); wait for it or "
                                 f"cancel it first")
        log = path.with_suffix(".log")
        log.write_text("")
        job = Job(paper, [str(c) for c in command], str(log), started=time.time())
        _write(path, job)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        runner = subprocess.Popen([sys.executable, "-m", "workbench.jobs", str(path)], cwd=cwd,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True, env=env)
        _CHILDREN[runner.pid] = runner
        job = replace(job, pid=runner.pid, token=_proc_token(runner.pid) or "")
        _write(path, job)                  # under the lock: the runner records its exit only after this
    return job


def cancel(paper: str, folder: Path | None = None, *, grace_s: float = 5.0) -> Job | None:
    """Stop ``paper``'s running job: SIGTERM to its process group, SIGKILL after ``grace_s``; the job is marked
    ``cancelled``. Nothing happens when no job is running."""
    job = get(paper, folder)
    if job is None or not job.active:
        return job
    with _locked(folder):                  # marked first, so the runner does not record a failure
        job = _read(_state_path(paper, folder))
        if job is None or not job.active:
            return job
        job = replace(job, status=CANCELLED, finished=time.time())
        _write(_state_path(paper, folder), job)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(job.pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        deadline = time.time() + grace_s
        while time.time() < deadline and _alive(job):
            time.sleep(0.05)
        if not _alive(job):
            break
    return job


def progress(job: Job) -> Progress:
    """The job's progress, read from the end of its log (a tqdm bar's ``\\r`` updates count as lines)."""
    try:
        with open(job.log, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - TAIL_BYTES))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return Progress(None, "", [])
    text = _ANSI.sub("", text)
    lines = [line.strip() for line in re.split(r"[\r\n]+", text) if line.strip()]
    fraction = None
    for line in reversed(lines):
        found = _PERCENT.search(line)           # the first: a bar's own, before its postfix
        if found:
            fraction = min(float(found.group(1)), 100.0) / 100
            break
    return Progress(fraction, lines[-1] if lines else "", lines[-20:])


def build_command(paper: str, *, profile: str, smoke: bool = False, roles: str | None = None) -> list[str]:
    """The command line that builds ``paper``'s artifacts on ``profile`` (what a dashboard build button runs)."""
    command = [sys.executable, "-m", "workbench.cli", "--profile", profile, "build", paper]
    return command + (["--smoke"] if smoke else []) + (["--roles", roles] if roles else [])


def _call_on_terminal(command: list[str], log) -> int:
    """Run ``command`` with its stdout and stderr on a pseudo-terminal copied into ``log``; its exit status.

    A terminal, because the ``workbench`` commands draw a progress bar with percentages only there (to a file
    they write one line per stage), and those percentages are what ``progress`` reads. Newlines stay ``\n``."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.ONLCR                                 # no \r\n in the log
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 160, 0, 0))
    try:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    finally:
        os.close(slave)
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:                                    # EIO: every writer has closed the terminal
                break
            if not chunk:
                break
            log.write(chunk)
            log.flush()
    finally:
        os.close(master)
    return proc.wait()


def _run(state: Path) -> int:
    """The runner: run the job's command with its output in the log, then record how it ended (unless the job was
    cancelled meanwhile)."""
    job = _read(state)
    if job is None:
        return 2
    with open(job.log, "ab") as log:
        try:
            code = _call_on_terminal(job.command, log)
        except OSError as exc:
            log.write(f"cannot start {job.command[0]}: {exc}\n".encode())
            code = 127
    with _locked(state.parent):
        latest = _read(state) or job
        if latest.active:
            _write(state, replace(latest, status=DONE if code == 0 else FAILED, finished=time.time(), returncode=code))
    return code


if __name__ == "__main__":
    sys.exit(_run(Path(sys.argv[1])))
