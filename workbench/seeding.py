"""Seeds derived from a run's seed and a row's identity, so that every generated row is reproducible on its own
(and the same whichever shard, worker or resumed run produces it). Used by expansion and rejection sampling."""
from __future__ import annotations

import hashlib


def row_seed(seed: int, key: str, k: int, attempt: int) -> int:
    """A 32-bit sampling seed for row ``k`` of ``key`` at ``attempt``; the same inputs always give the same seed."""
    digest = hashlib.sha256(f"{seed}|{key}|{k}|{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big")
