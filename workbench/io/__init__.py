"""Everything the workbench writes and reads: artifacts, atomic files and folders, and trained modules' weights.

* ``artifacts`` — the artifact store: DataFrames (parquet), records (jsonl) and tensors (safetensors), each with a
  ``meta.json`` (profile, models, seed, config, package version, git commit, created-at, schema); ``save_table``
  for single parquet files with the same provenance; ``ArtifactStore`` lays them out per profile and paper.
* ``files`` — the write primitives: ``atomic_dir``, ``write_text``, ``write_json``, ``build_once`` (a folder built
  once per config, keyed by ``config_key``).
* ``weights`` — ``save_weights`` / ``load_weights``: a module's state dict beside its config.

There is no pickle anywhere: parquet, JSON and safetensors only. Every write goes to a temporary name first and
is renamed into place, so a failed write never leaves a partial result or damages an earlier one. Used by every
capability that saves results or models, by the notebooks and by the dashboard.
"""
from workbench.io.artifacts import (
    KINDS, META_FILE, META_KEYS, ArtifactMeta, ArtifactStore, git_commit, load_frame, load_records, load_tensors,
    read_meta, save_frame, save_records, save_table, save_tensors, seed_store, seed_stores, table_meta,
)
from workbench.io.files import ArtifactError, atomic_dir, build_once, config_key, json_safe, write_json, write_text
from workbench.io.weights import load_weights, save_weights

__all__ = [
    "KINDS", "META_FILE", "META_KEYS", "ArtifactError", "ArtifactMeta", "ArtifactStore", "atomic_dir", "build_once",
    "config_key", "git_commit", "json_safe", "load_frame", "load_records", "load_tensors", "load_weights",
    "read_meta", "save_frame", "save_records", "save_table", "save_tensors", "save_weights", "seed_store",
    "seed_stores", "table_meta",
    "write_json", "write_text",
]
