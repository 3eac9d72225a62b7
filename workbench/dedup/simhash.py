"""64-bit SimHash fingerprints, vectorised over a corpus.

The default fingerprint is the one SPECS.md fixes so results can be checked against the ``simhash`` package
(``simhash.Simhash(text).value``):

1. lower-case the text; keep the runs of word characters (regex ``[\\w\\u4e00-\\u9fcc]+``), joined with nothing;
2. features are the sliding 4-character windows of that string (a shorter string is one feature, itself, even
   when empty); each distinct feature is weighted by its count;
3. a feature's hash is the last 8 bytes of the MD5 of its UTF-8 bytes, read as 64 bits, most significant bit of
   the first byte first;
4. fingerprint bit b is 1 when the total weight of features with bit b set is strictly greater than half the
   total weight; the bits are read back in the same order as an unsigned big-endian integer.

Instead of hashing every window of every text, the corpus is processed in chunks: all 4-character windows are
encoded as integers over the chunk's alphabet, factorised, each distinct window is hashed once, and the per-text
bit counts come from one sparse-matrix product. ``shingle="word"`` (word n-grams) is offered as an option; it
takes a simpler per-text path.
"""
from __future__ import annotations

import hashlib
import re
from typing import Iterable, Sequence

import numpy as np

from workbench import WorkbenchError

WORD_RE = re.compile(r"[\w\u4e00-\u9fcc]+")
WIDTH = 4
CHUNK = 50_000


def _clean(text: str) -> str:
    return "".join(WORD_RE.findall(text.lower()))


def simhash_features(text: str, shingle: str = "char", n: int = WIDTH) -> list[str]:
    """The features of one text (with repeats), for inspection and for the slow reference path."""
    if shingle == "char":
        s = _clean(text)
        return [s[i:i + n] for i in range(max(len(s) - n + 1, 1))]
    if shingle == "word":
        words = WORD_RE.findall(text.lower())
        return [" ".join(words[i:i + n]) for i in range(max(len(words) - n + 1, 1))]
    raise WorkbenchError(f"unknown shingle '{shingle}'; choose from char, word")


def _hash64(feature: str) -> int:
    return int.from_bytes(hashlib.md5(feature.encode("utf-8")).digest()[-8:], "big")


def _bits(hashes: np.ndarray) -> np.ndarray:
    """[k] uint64 → [k, 64] uint8, column 0 = most significant bit."""
    return np.unpackbits(hashes.astype(">u8").view(np.uint8).reshape(-1, 8), axis=1)


def _pack(bitsums: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """[n, 64] weighted bit counts and [n] total weights → [n] uint64 fingerprints."""
    on = bitsums > (totals[:, None] / 2.0)
    return np.packbits(on, axis=1).view(">u8").reshape(-1).astype(np.uint64)


def _generic(texts: Sequence[str], shingle: str, n: int) -> np.ndarray:
    cache: dict[str, int] = {}
    out = np.zeros(len(texts), dtype=np.uint64)
    for i, text in enumerate(texts):
        feats = simhash_features(text, shingle, n)
        uniq, counts = np.unique(np.array(feats, dtype=object), return_counts=True)
        for f in uniq:
            if f not in cache:
                cache[f] = _hash64(f)
        hashes = np.array([cache[f] for f in uniq], dtype=np.uint64)
        sums = (_bits(hashes).astype(np.int64) * counts[:, None]).sum(0)
        out[i] = _pack(sums[None, :], np.array([counts.sum()]))[0]
    return out


def _char_chunk(texts: Sequence[str]) -> np.ndarray:
    import pandas as pd
    from scipy import sparse

    cleaned = [_clean(t) for t in texts]
    lengths = np.fromiter((len(s) for s in cleaned), dtype=np.int64, count=len(cleaned))
    out = np.zeros(len(cleaned), dtype=np.uint64)

    short = np.flatnonzero(lengths < WIDTH)       # one feature: the whole (possibly empty) string
    if len(short):
        out[short] = _pack(_bits(np.array([_hash64(cleaned[i]) for i in short], dtype=np.uint64)).astype(float),
                           np.ones(len(short)))
    long_ = np.flatnonzero(lengths >= WIDTH)
    if not len(long_):
        return out

    joined = "".join(cleaned[i] for i in long_)
    codepoints = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    # Dense codes over the chunk's alphabet (a lookup table, cheaper than sorting the code points).
    alphabet = np.flatnonzero(np.bincount(codepoints))
    if len(alphabet) >= 1 << 16:   # four 16-bit codes no longer fit one integer: hash window by window
        out[long_] = _generic([texts[i] for i in long_], "char", WIDTH)
        return out
    table = np.zeros(int(alphabet[-1]) + 1, dtype=np.uint64)
    table[alphabet] = np.arange(len(alphabet), dtype=np.uint64)
    codes = table[codepoints]
    lens = lengths[long_]
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    n_windows = lens - WIDTH + 1                                    # [t]
    window_start = np.repeat(starts, n_windows) + (
        np.arange(n_windows.sum()) - np.repeat(np.cumsum(n_windows) - n_windows, n_windows))
    keys = ((codes[window_start] << np.uint64(48)) | (codes[window_start + 1] << np.uint64(32))
            | (codes[window_start + 2] << np.uint64(16)) | codes[window_start + 3])     # [windows]
    del window_start
    inverse, uniq = pd.factorize(keys, sort=False)
    del keys
    chars = alphabet.astype(np.uint32)
    hashes = np.empty(len(uniq), dtype=np.uint64)
    for k, key in enumerate(uniq.tolist()):
        window = "".join(chr(chars[(key >> shift) & 0xFFFF]) for shift in (48, 32, 16, 0))
        hashes[k] = _hash64(window)
    bits = _bits(hashes).astype(np.float32)                         # [unique, 64]
    indptr = np.concatenate([[0], np.cumsum(n_windows)])
    counts = sparse.csr_matrix((np.ones(len(inverse), dtype=np.float32), inverse, indptr),
                               shape=(len(long_), len(uniq)))
    out[long_] = _pack(np.asarray(counts @ bits), n_windows.astype(np.float64))
    return out


def fingerprints(texts: Iterable[str], *, shingle: str = "char", n: int = WIDTH, chunk_size: int = CHUNK,
                 progress=None) -> np.ndarray:
    """64-bit SimHash fingerprints as a ``uint64`` array ``[len(texts)]``.

    ``shingle="char"`` with ``n=4`` is the default fingerprint described in the module docstring
    (bit-identical to ``simhash.Simhash(text).value``); ``shingle="word"`` uses word n-grams instead.
    ``progress(done, total)`` is called after each chunk.
    """
    texts = list(texts)
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise WorkbenchError(f"text {bad} is a {type(texts[bad]).__name__}, not a string")
    if shingle not in {"char", "word"}:
        raise WorkbenchError(f"unknown shingle '{shingle}'; choose from char, word")
    if n < 1:
        raise WorkbenchError(f"shingle size must be at least 1, got {n}")
    if shingle != "char" or n != WIDTH:
        return _generic(texts, shingle, n)
    out = np.zeros(len(texts), dtype=np.uint64)
    for start in range(0, len(texts), chunk_size):
        out[start:start + chunk_size] = _char_chunk(texts[start:start + chunk_size])
        if progress:
            progress(min(start + chunk_size, len(texts)), len(texts))
    return out
