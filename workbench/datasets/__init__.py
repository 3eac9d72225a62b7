"""Reading prompt collections (CSV, TSV, JSONL, JSON, parquet) with clear errors, and the bundled prompt sets."""
from workbench.datasets.tables import MAX_FILE_BYTES, read_table, seed_prompts, safety_check_set

__all__ = ["MAX_FILE_BYTES", "read_table", "safety_check_set", "seed_prompts"]
