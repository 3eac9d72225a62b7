"""Near-duplicate removal with 64-bit SimHash fingerprints (P1, P2, P4 dataset construction).

``fingerprints`` computes fingerprints bit-identical to ``simhash.Simhash(text).value`` (vectorised over a whole
corpus); ``near_duplicate_pairs`` finds every pair within Hamming distance τ exactly, with a multi-index
(pigeonhole) search; ``deduplicate`` applies the papers' keep-first scan; ``cross_split_leakage`` checks
train/val/test splits against each other.
"""
from workbench.dedup.search import DedupResult, cross_split_leakage, deduplicate, hamming, near_duplicate_pairs
from workbench.dedup.simhash import fingerprints, simhash_features

__all__ = ["DedupResult", "cross_split_leakage", "deduplicate", "fingerprints", "hamming", "near_duplicate_pairs",
           "simhash_features"]
