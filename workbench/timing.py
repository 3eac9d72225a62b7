"""Wall-clock timing for the benchmarks and efficiency reports: the best of a few repeats (the least disturbed)."""
from __future__ import annotations

import time
from typing import Callable


def best_of(fn: Callable[[], object], repeats: int) -> float:
    """The shortest wall-clock time, in seconds, of ``repeats`` calls of ``fn`` (at least one)."""
    best = float("inf")
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best
