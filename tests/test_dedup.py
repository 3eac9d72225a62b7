import random

import numpy as np
import pytest
from simhash import Simhash

from workbench import WorkbenchError
from workbench.dedup import cross_split_leakage, deduplicate, fingerprints, hamming, near_duplicate_pairs
from workbench.dedup.search import brute_force_pairs, keep_first
from workbench.dedup.simhash import simhash_features

WORDS = ("how can i stop my neighbour dog barking at night explain the rules of cricket is it legal to record "
         "a phone call without consent write a poem about autumn leaves in kyoto").split()


def _texts(n, seed=0):
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 25))) for _ in range(n)]


EDGE_CASES = ["", "a", "ab", "abc", "abcd", "!!!", "  ", "A  b,c.d", "Ünïcödé Straße", "東京 テスト 中文字符测试",
              "ÀÉÎÕÜ àéîõü", "tab\tand\nnewline", "emoji 🙂 are not word characters", "x" * 40]


def test_fingerprints_match_the_simhash_package():
    texts = _texts(2000) + EDGE_CASES
    ours = fingerprints(texts, chunk_size=333)           # several chunks, each with its own alphabet
    assert ours.dtype == np.uint64
    mismatched = [t for t, v in zip(texts, ours) if int(v) != Simhash(t).value]
    assert mismatched == []


def test_features_follow_the_spec():
    assert simhash_features("Hello, World!") == ["hell", "ello", "llow", "lowo", "owor", "worl", "orld"]
    assert simhash_features("ab") == ["ab"] and simhash_features("") == [""]
    assert simhash_features("a b c d e", shingle="word", n=2) == ["a b", "b c", "c d", "d e"]


def test_word_shingles_are_deterministic_and_differ_from_char():
    texts = _texts(50)
    a, b = fingerprints(texts, shingle="word", n=2), fingerprints(texts, shingle="word", n=2)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, fingerprints(texts))


def test_bad_inputs():
    with pytest.raises(WorkbenchError, match="text 1 is a float"):
        fingerprints(["ok", float("nan")])
    with pytest.raises(WorkbenchError, match="unknown shingle 'byte'"):
        fingerprints(["ok"], shingle="byte")
    with pytest.raises(WorkbenchError, match="tau must be between 0 and 64"):
        near_duplicate_pairs(np.zeros(3, np.uint64), tau=65)


def test_hamming_hand_computed():
    a = np.array([0b1011, 0, 2**64 - 1], dtype=np.uint64)
    b = np.array([0b0001, 0, 0], dtype=np.uint64)
    assert hamming(a, b).tolist() == [2, 0, 64]


def _planted(n_base=300, seed=0):
    """Random fingerprints plus copies with exactly k flipped bits for k = 1..14, shuffled."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 2**64, size=n_base, dtype=np.uint64, endpoint=False)
    out = [base]
    for k in range(1, 15):
        flips = np.zeros(n_base, dtype=np.uint64)
        for r in range(n_base):
            for bit in rng.choice(64, size=k, replace=False):
                flips[r] |= np.uint64(1) << np.uint64(int(bit))
        out.append(base ^ flips)
    fps = np.concatenate(out)
    rng.shuffle(fps)
    return fps


@pytest.mark.parametrize("tau", [0, 1, 3, 6, 10, 13])
def test_near_pairs_equal_brute_force(tau):
    fps = _planted()
    ours = near_duplicate_pairs(fps, tau)
    ref = brute_force_pairs(fps, tau)
    order = np.lexsort((ref[0], ref[1]))
    ref = tuple(x[order] for x in ref)
    assert len(ref[0]) > 0 or tau == 0
    for got, want in zip(ours, ref):
        np.testing.assert_array_equal(got, want)


def test_keep_first_semantics_by_hand():
    # 0 kept; 1 near 0 → dup of 0; 2 near 1 only → 1 is not kept, so 2 is kept; 3 near 0 and 2 → first kept (0).
    i = np.array([0, 1, 0, 2]); j = np.array([1, 2, 3, 3]); d = np.array([2, 3, 5, 1])
    dup, dist = keep_first(4, i, j, d)
    assert dup.tolist() == [-1, 0, -1, 0] and dist.tolist() == [-1, 2, -1, 5]


def test_deduplicate_texts_end_to_end():
    texts = ["How can I stop my neighbour's dog barking at night?",
             "Write a poem about autumn leaves in Kyoto.",
             "how can i stop my neighbours dog barking at night",        # same after normalisation
             "Is it legal to record a phone call without consent?",
             "Write a poem about autumn leaves in old Kyoto."]           # one word added
    result = deduplicate(texts, tau=10)
    assert result.duplicate_of.tolist()[:4] == [-1, -1, 0, -1]
    assert result.duplicate.sum() == result.n_removed
    assert result.kept.tolist()[:3] == [0, 1, 3]


def test_deduplicate_matches_brute_force_scan_on_text():
    texts = _texts(400, seed=3)
    texts += [t.upper() + "!" for t in texts[:50]]                  # exact duplicates after normalisation
    result = deduplicate(texts, tau=10)
    fps = fingerprints(texts)
    kept, expected = [], []
    for j in range(len(texts)):                                     # the scan as the papers describe it
        near = [k for k in kept if int(hamming(fps[k:k + 1], fps[j:j + 1])[0]) <= 10]
        expected.append(near[0] if near else -1)
        if not near:
            kept.append(j)
    assert result.duplicate_of.tolist() == expected


def test_cross_split_leakage():
    splits = {"train": ["the cat sat on the mat today", "a completely different sentence here"],
              "test": ["The cat sat on the mat today!", "nothing alike at all, really"]}
    leaks = cross_split_leakage(splits, tau=3)
    assert leaks[["split_a", "index_a", "split_b", "index_b", "distance"]].values.tolist() == [
        ["train", 0, "test", 0, 0]]
