"""Reading prompt collections (CSV, TSV, JSONL, JSON, parquet) with clear errors, loaders for DICES and
BeaverTails in their released formats, and the bundled prompt sets."""
from workbench.datasets.sources import (dices_fixture, dices_gold, dices_group_shares, dices_items, dices_release,
                                        load_beavertails, load_dices)
from workbench.datasets.tables import MAX_FILE_BYTES, read_table, response_pairs, safety_check_set, seed_prompts

__all__ = ["MAX_FILE_BYTES", "dices_fixture", "dices_gold", "dices_group_shares", "dices_items", "dices_release",
           "load_beavertails", "load_dices", "read_table",
           "response_pairs", "safety_check_set", "seed_prompts"]
