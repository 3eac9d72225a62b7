"""Compiled inner loop of the multi-index near-duplicate search (numba; see ``search.near_duplicate_pairs``)."""
from __future__ import annotations

import numpy as np
from numba import njit

M1 = np.uint64(0x5555555555555555)
M2 = np.uint64(0x3333333333333333)
M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
H01 = np.uint64(0x0101010101010101)


@njit(cache=True, inline="always")
def popcount(x):
    x = x - ((x >> np.uint64(1)) & M1)
    x = (x & M2) + ((x >> np.uint64(2)) & M2)
    x = (x + (x >> np.uint64(4))) & M4
    return np.int64((x * H01) >> np.uint64(56))


@njit(cache=True)
def search_block(key, bucket_idx, bucket_fps, offsets, masks, fps, earlier_masks, radius, tau):
    """Pairs (i < j) found through one block: i sits in a bucket within ``radius`` flips of j's block value,
    the full distance is at most ``tau``, and no earlier block already finds the pair.

    key: [n] this block's values; bucket_idx/bucket_fps: [n] item indices and fingerprints sorted by key (stable,
    so ascending index within a bucket — contiguous, cache-friendly reads); offsets: [2^w + 1] bucket starts;
    masks: [P] flip masks; fps: [n] uint64; earlier_masks: [b] bit masks of the earlier blocks.
    Returns (i, j, distance) int64 arrays.
    """
    n = fps.shape[0]
    cap = 1024
    out_i = np.empty(cap, np.int64)
    out_j = np.empty(cap, np.int64)
    out_d = np.empty(cap, np.int64)
    count = 0
    for j in range(n):
        kj = key[j]
        fj = fps[j]
        for p in range(masks.shape[0]):
            t = kj ^ masks[p]
            for pos in range(offsets[t], offsets[t + 1]):
                i = bucket_idx[pos]
                if i >= j:            # the rest of the bucket are later items
                    break
                x = bucket_fps[pos] ^ fj
                d = popcount(x)
                if d > tau:
                    continue
                seen = False
                for e in range(earlier_masks.shape[0]):
                    if popcount(x & earlier_masks[e]) <= radius:
                        seen = True
                        break
                if seen:
                    continue
                if count == cap:
                    cap *= 2
                    out_i = np.concatenate((out_i, np.empty(cap - count, np.int64)))
                    out_j = np.concatenate((out_j, np.empty(cap - count, np.int64)))
                    out_d = np.concatenate((out_d, np.empty(cap - count, np.int64)))
                out_i[count] = i
                out_j[count] = j
                out_d[count] = d
                count += 1
    return out_i[:count], out_j[:count], out_d[:count]
