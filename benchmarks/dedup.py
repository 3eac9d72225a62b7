"""SimHash deduplication at the papers' scale, and against the `simhash` package's own index.

(a) as many synthetic prompts as SAVACU has samples (P1's claim, read from the registry), with planted
    near-duplicates: wall time and peak memory of fingerprinting +
    exact near-duplicate search + keep-first scan (τ = 10), measured in a fresh child process.
(b) 20,000 texts: the same keep-first job done with `simhash.Simhash` + `simhash.SimhashIndex(k=10)` (query the
    kept texts, add the text when nothing is near) against ours, side by side; the answers must be identical.

    python benchmarks/dedup.py [--n-large N] [--n-small 20000]

Ends with `dedup_382k_seconds`, `dedup_382k_peak_mib` and `speedup_vs_simhashindex`.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import resource
import time

import numpy as np

VOCAB = ("how can i make my neighbour stop playing loud music at night what is the best way to ask for a raise "
         "without seeming greedy explain why some cultures bow when they greet each other write a short story "
         "about a dragon who loves libraries tell me about the history of jazz in new orleans is it ethical to "
         "read my partner's messages when i suspect cheating give me tips for photographing wildlife in national "
         "parks which festivals celebrate the harvest in japan and korea how do vaccines train the immune system "
         "should employers monitor remote workers keystrokes summarise the arguments for and against nuclear power"
         ).split()


def synthetic_corpus(n: int, dup_rate: float = 0.1, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """n prompts; about ``dup_rate`` of them are light edits of an earlier prompt (returned as ``planted``)."""
    rng = random.Random(seed)
    texts, planted = [], np.full(n, -1, dtype=np.int64)
    for k in range(n):
        if k > 10 and rng.random() < dup_rate:
            src = rng.randrange(k)
            words = texts[src].split()
            op = rng.randrange(3)
            if op == 0 and len(words) > 3:
                words[rng.randrange(len(words))] = rng.choice(VOCAB)          # one word swapped
            elif op == 1:
                words = [w.upper() if rng.random() < 0.2 else w for w in words] + ["?"]   # case, punctuation
            else:
                words.insert(rng.randrange(len(words) + 1), rng.choice(VOCAB))   # one word inserted
            texts.append(" ".join(words))
            planted[k] = src
        else:
            texts.append(" ".join(rng.choice(VOCAB) for _ in range(rng.randint(12, 40))))
    return texts, planted


def _large_job(n: int, tau: int, queue) -> None:
    from workbench.dedup import deduplicate

    texts, planted = synthetic_corpus(n)
    start = time.perf_counter()
    result = deduplicate(texts, tau=tau)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    caught = float(np.mean(result.duplicate[planted >= 0]))
    queue.put((seconds, peak_kib / 1024, result.n_removed, caught))


def simhashindex_keep_first(texts: list[str], tau: int) -> np.ndarray:
    import logging

    from simhash import Simhash, SimhashIndex

    quiet = logging.getLogger("simhash-benchmark")
    quiet.setLevel(logging.ERROR)           # its per-insert "Big bucket found" warnings would dominate the timing
    index = SimhashIndex([], k=tau, log=quiet)
    duplicate_of = np.full(len(texts), -1, dtype=np.int64)
    for k, text in enumerate(texts):
        near = index.get_near_dups(Simhash(text))
        if near:
            duplicate_of[k] = min(int(x) for x in near)
        else:
            index.add(str(k), Simhash(text))
    return duplicate_of


def main() -> None:
    from workbench.papers import get_paper

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-large", type=int, default=int(get_paper("P1").number("SAVACU samples").value))
    parser.add_argument("--n-small", type=int, default=20_000)
    parser.add_argument("--tau", type=int, default=10)
    args = parser.parse_args()

    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_large_job, args=(args.n_large, args.tau, queue))
    child.start()
    seconds, peak_mib, removed, caught = queue.get()
    child.join()
    print(f"(a) {args.n_large:,} prompts: {seconds:.1f} s, peak RSS {peak_mib:.0f} MiB, removed {removed:,}, "
          f"planted near-duplicates caught {caught:.1%}")

    from workbench.dedup import deduplicate

    texts, _ = synthetic_corpus(args.n_small, seed=1)
    start = time.perf_counter()
    ours = deduplicate(texts, tau=args.tau)
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    reference = simhashindex_keep_first(texts, args.tau)
    ref_s = time.perf_counter() - start
    same = bool(np.array_equal(ours.duplicate_of, reference))
    print(f"(b) {args.n_small:,} texts: ours {ours_s:.2f} s, SimhashIndex(k={args.tau}) {ref_s:.1f} s, "
          f"identical answer: {same}")
    if not same:
        raise SystemExit("the answers differ")
    print(f"dedup_382k_seconds: {seconds:.2f}")
    print(f"dedup_382k_peak_mib: {peak_mib:.0f}")
    print(f"speedup_vs_simhashindex: {ref_s / ours_s:.1f}")


if __name__ == "__main__":
    main()
