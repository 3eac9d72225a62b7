"""Exact near-duplicate search over 64-bit fingerprints, and the keep-first deduplication scan.

Finding every pair within Hamming distance τ by comparing all pairs costs n²/2 popcounts (73 billion for the
papers' 382k prompts). We use the pigeonhole principle instead: split the 64 bits into m blocks; if two
fingerprints differ in at most τ bits, at least one block differs in at most r = ⌊τ/m⌋ bits. For each block we
bucket the fingerprints by that block's value (a counting sort: a direct-address offset table), and for every
fingerprint probe the buckets of all block values within r bit flips of its own. Every true pair is found; each
candidate is then checked with a vectorised popcount of the full 64-bit XOR, so the result is exactly the
brute-force answer. m is chosen per τ and corpus size to minimise probes + candidates; a pair that several
blocks would find is kept only from the first such block, so nothing is counted twice.

Deduplication semantics (the papers'): scan in input order; a text is a duplicate when an already-kept text is
within distance τ, and it points to the first (lowest-index) such kept text.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import comb
from typing import Sequence

import numpy as np

from workbench import WorkbenchError

BITS = 64


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise Hamming distance of two uint64 arrays."""
    return np.bitwise_count(np.bitwise_xor(a.astype(np.uint64), b.astype(np.uint64))).astype(np.int64)


def _blocks(m: int) -> list[tuple[int, int]]:
    """m contiguous (low bit, width) blocks covering 64 bits, widths differing by at most one."""
    widths = [BITS // m + (1 if i < BITS % m else 0) for i in range(m)]
    lows = np.concatenate([[0], np.cumsum(widths)[:-1]])
    return [(int(lo), w) for lo, w in zip(lows, widths)]


def _plan(n: int, tau: int) -> int:
    """The number of blocks m (4..16, so each offset table has at most 2^16 entries and stays in cache) that
    minimises the expected work: probes plus candidates (each pair is examined from its later item only)."""
    best, best_cost = 4, None
    for m in range(4, 17):
        r = tau // m
        cost = sum(sum(comb(w, k) for k in range(r + 1)) * (1.0 + n / 2.0 ** w / 2) for _, w in _blocks(m))
        if best_cost is None or cost < best_cost:
            best, best_cost = m, cost
    return best


def _flip_masks(width: int, radius: int) -> np.ndarray:
    masks = [0]
    for k in range(1, radius + 1):
        for bits in combinations(range(width), k):
            masks.append(sum(1 << b for b in bits))
    return np.array(masks, dtype=np.int64)


def near_duplicate_pairs(fps: np.ndarray, tau: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair (i < j) with ``hamming(fps[i], fps[j]) <= tau``, exactly.

    Returns ``(i, j, distance)`` as int64 arrays sorted by (j, i).
    """
    from workbench.dedup._kernels import search_block

    fps = np.ascontiguousarray(fps, dtype=np.uint64)
    n = len(fps)
    if not 0 <= tau <= BITS:
        raise WorkbenchError(f"tau must be between 0 and {BITS}, got {tau}")
    if n < 2:
        return (np.zeros(0, np.int64),) * 3
    blocks = _blocks(_plan(n, tau))
    radius = tau // len(blocks)
    block_masks = np.array([((1 << w) - 1) << lo for lo, w in blocks], dtype=np.uint64)
    found = []
    for b, (lo, width) in enumerate(blocks):
        key = ((fps >> np.uint64(lo)) & np.uint64((1 << width) - 1)).astype(np.int64)
        order = np.argsort(key, kind="stable")              # bucket members in ascending index order
        offsets = np.zeros((1 << width) + 1, dtype=np.int64)
        np.cumsum(np.bincount(key, minlength=1 << width), out=offsets[1:])
        found.append(search_block(key, order, fps[order], offsets, _flip_masks(width, radius), fps,
                                  block_masks[:b], radius, tau))
    i, j, d = (np.concatenate([f[k] for f in found]) for k in range(3))
    order = np.lexsort((i, j))
    return i[order], j[order], d[order]


def brute_force_pairs(fps: np.ndarray, tau: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The all-pairs reference (O(n²) popcounts); for tests and small inputs."""
    fps = np.asarray(fps, dtype=np.uint64)
    out_i, out_j, out_d = [], [], []
    for j in range(1, len(fps)):
        d = hamming(fps[:j], np.full(j, fps[j], dtype=np.uint64))
        hit = np.flatnonzero(d <= tau)
        out_i.append(hit); out_j.append(np.full(len(hit), j)); out_d.append(d[hit])
    if not out_i:
        return (np.zeros(0, np.int64),) * 3
    return tuple(np.concatenate(x).astype(np.int64) for x in (out_i, out_j, out_d))


@dataclass(frozen=True)
class DedupResult:
    fingerprints: np.ndarray    # [n] uint64
    duplicate_of: np.ndarray    # [n] int64, -1 where the text is kept
    distance: np.ndarray        # [n] int64 distance to duplicate_of, -1 where kept
    tau: int

    @property
    def duplicate(self) -> np.ndarray:
        return self.duplicate_of >= 0

    @property
    def kept(self) -> np.ndarray:
        return np.flatnonzero(self.duplicate_of < 0)

    @property
    def n_removed(self) -> int:
        return int((self.duplicate_of >= 0).sum())


def keep_first(n: int, i: np.ndarray, j: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sequential scan over near pairs sorted by (j, i): j is a duplicate of its first kept earlier neighbour."""
    duplicate_of = np.full(n, -1, dtype=np.int64)
    distance = np.full(n, -1, dtype=np.int64)
    # A plain loop over the (sparse) pairs: j ascending, i ascending within j, so when pair (i, j) is visited
    # the fate of i (< j) is already decided, and the first kept i wins.
    for a, b, dist in zip(i.tolist(), j.tolist(), d.tolist()):
        if duplicate_of[b] < 0 and duplicate_of[a] < 0:
            duplicate_of[b], distance[b] = a, dist
    return duplicate_of, distance


def deduplicate(texts: Sequence[str] | None = None, *, fps: np.ndarray | None = None, tau: int = 10,
                shingle: str = "char", n: int = 4, progress=None) -> DedupResult:
    """Keep-first SimHash deduplication of ``texts`` (or of precomputed fingerprints ``fps``)."""
    from workbench.dedup.simhash import fingerprints

    if fps is None:
        if texts is None:
            raise WorkbenchError("deduplicate needs texts or fingerprints")
        fps = fingerprints(texts, shingle=shingle, n=n, progress=progress)
    fps = np.asarray(fps, dtype=np.uint64)
    i, j, d = near_duplicate_pairs(fps, tau)
    duplicate_of, distance = keep_first(len(fps), i, j, d)
    return DedupResult(fps, duplicate_of, distance, tau)


def cross_split_leakage(splits: dict[str, Sequence[str]], tau: int = 10) -> "object":
    """Near-duplicates across splits: a DataFrame (split_a, index_a, split_b, index_b, distance), one row a pair.

    Pairs inside one split are ignored; use ``deduplicate`` for those.
    """
    import pandas as pd

    from workbench.dedup.simhash import fingerprints

    names = list(splits)
    sizes = [len(splits[s]) for s in names]
    fps = fingerprints([t for s in names for t in splits[s]])
    owner = np.repeat(np.arange(len(names)), sizes)
    local = np.concatenate([np.arange(k) for k in sizes]) if sizes else np.zeros(0, np.int64)
    i, j, d = near_duplicate_pairs(fps, tau)
    cross = owner[i] != owner[j]
    i, j, d = i[cross], j[cross], d[cross]
    return pd.DataFrame({"split_a": [names[k] for k in owner[i]], "index_a": local[i],
                         "split_b": [names[k] for k in owner[j]], "index_b": local[j], "distance": d})
