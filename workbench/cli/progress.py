"""Progress on stderr for every ``workbench`` command: ``stage(desc)``, one helper for all of them.

Used by ``workbench.cli.common.progress`` (which every command module calls) with the style that the global
``-q`` option and the terminal decide:

- ``bar``: stderr is a terminal. A tqdm bar with count, rate and ETA: ``12/40 [00:31<01:12, 0.39 it/s]``.
- ``lines``: stderr is a file or a pipe (a log, CI). No carriage-return redraws: one line per stage, when it ends,
  with its time and count: ``building P1: done in 3 min 38 s`` (``stopped`` when it failed). One whole line, so
  the warnings a library logs meanwhile cannot split it.
- ``off``: ``-q``. Nothing.

The callback a stage yields takes either convention of the library: ``update(done, total)`` with item counts
(the bar counts items) or ``update(fraction, message)`` as ``workbench.build`` and ``workbench.pipeline`` report
(the bar counts percent, the message is shown beside it). Nothing here imports a heavy library at module level.
"""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import TextIO

STYLES = ("bar", "lines", "off")


def default_style(stream: TextIO, quiet: bool = False) -> str:
    """``off`` when quiet, ``bar`` on a terminal, else ``lines``."""
    if quiet:
        return "off"
    try:
        return "bar" if stream.isatty() else "lines"
    except (AttributeError, ValueError):        # a closed or exotic stream
        return "lines"


def duration(seconds: float) -> str:
    """``4.2 s``, ``3 min 38 s`` or ``1 h 02 min``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Stage:
    """One stage's progress; call it with ``(done, total)`` or ``(fraction, message)``; ``close()`` at the end."""

    def __init__(self, desc: str, style: str, stream: TextIO, unit: str = "it"):
        if style not in STYLES:
            raise ValueError(f"unknown progress style '{style}'; choose from {', '.join(STYLES)}")
        self.desc, self.style, self.stream, self.unit = desc, style, stream, unit
        self.started = time.monotonic()
        self.counts: tuple[int, int] | None = None      # the last (done, total) seen
        self.percent = False                            # the bar counts percent (fraction updates)
        self.bar = None

    def __call__(self, done, total_or_message=None) -> None:
        if isinstance(total_or_message, str) or total_or_message is None:
            self._fraction(float(done), total_or_message or "")
        else:
            self._count(int(done), int(total_or_message))

    def _make_bar(self, percent: bool, total: float):
        from tqdm import tqdm

        if self.bar is not None and self.percent == percent:
            return self.bar
        if self.bar is not None:
            self.bar.close()
        self.percent = percent
        counted = "" if percent else " {n_fmt}/{total_fmt}"
        fmt = "{desc}: {percentage:3.0f}%|{bar}|" + counted + " [{elapsed}<{remaining}, {rate_fmt}{postfix}]"
        self.bar = tqdm(total=total, desc=self.desc, unit="%" if percent else self.unit, file=self.stream,
                        bar_format=fmt, dynamic_ncols=True, leave=True)
        return self.bar

    def _count(self, done: int, total: int) -> None:
        self.counts = (done, total)
        if self.style != "bar":
            return
        bar = self._make_bar(False, max(total, 1))
        if bar.total != max(total, 1):
            bar.total = max(total, 1)
        bar.update(done - bar.n)

    def _fraction(self, fraction: float, message: str) -> None:
        if self.style != "bar":
            return
        bar = self._make_bar(True, 100)
        bar.set_postfix_str(message[:60], refresh=False)
        bar.update(round(100 * min(max(fraction, 0.0), 1.0), 1) - bar.n)

    def close(self, ok: bool = True) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.style == "lines":
            counted = f" ({self.counts[0]:,}/{self.counts[1]:,} {self.unit})" if self.counts else ""
            state = "done" if ok else "stopped"
            print(f"{self.desc}: {state} in {duration(time.monotonic() - self.started)}{counted}", file=self.stream,
                  flush=True)
        self.style = "off"                 # closing twice prints nothing more


@contextmanager
def stage(desc: str, *, style: str | None = None, stream: TextIO | None = None, quiet: bool = False,
          unit: str = "it"):
    """``with stage("training") as update: train(..., progress=update)``: progress of one stage on ``stream``
    (stderr); ``style`` defaults to ``default_style``."""
    stream = stream or sys.stderr
    s = Stage(desc, style or default_style(stream, quiet), stream, unit)
    try:
        yield s
    except BaseException:
        s.close(ok=False)
        raise
    s.close()
