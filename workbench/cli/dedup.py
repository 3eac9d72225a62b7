"""`workbench dedup run INPUT` (formerly `workbench dedup INPUT`): SimHash near-duplicate removal of a table.

Registered by ``workbench.cli.main``; numpy and pandas are imported inside the command."""
from __future__ import annotations

import argparse
from pathlib import Path

from workbench.cli.common import add_json, command, group, print_json, progress, require_new_columns, wants_json

group("dedup", "near-duplicate removal: `dedup run INPUT`")


def _dedup_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="CSV, TSV, JSONL, JSON or parquet file")
    p.add_argument("--text-col", required=True, help="column holding the texts")
    p.add_argument("--tau", type=int, default=10, help="Hamming distance threshold")
    p.add_argument("--shingle", choices=["char", "word"], default="char",
                   help="char 4-grams (default; identical to the simhash package) or word n-grams")
    p.add_argument("--ngram", type=int, default=4, help="shingle size")
    p.add_argument("--out", required=True, help="output .parquet file")
    add_json(p, "the counts kept and marked")


@command("dedup run", "SimHash near-duplicate removal (keep the first, mark later near-duplicates)",
         _dedup_args)
def _dedup(args) -> int:
    import numpy as np
    import pandas as pd

    from workbench.datasets import read_table
    from workbench.dedup import deduplicate
    from workbench.io import save_table
    from workbench.profiles import active_profile

    df = read_table(args.input, text_col=args.text_col)
    require_new_columns(df, ("simhash", "duplicate_of", "duplicate"), args.input)
    with progress("fingerprinting", unit="texts") as update:
        result = deduplicate(df[args.text_col].tolist(), tau=args.tau, shingle=args.shingle, n=args.ngram,
                             progress=update)
    out = df.copy()
    out["simhash"] = result.fingerprints
    out["duplicate_of"] = pd.array(np.where(result.duplicate, result.duplicate_of, None), dtype="Int64")
    out["duplicate"] = result.duplicate
    save_table(out, args.out, profile=active_profile().name,
               config={"input": Path(args.input).name, "text_col": args.text_col, "tau": args.tau,
                       "shingle": args.shingle, "ngram": args.ngram})
    if wants_json(args):
        print_json({"rows": len(out), "kept": len(out) - result.n_removed, "near_duplicates": result.n_removed,
                    "tau": args.tau, "shingle": args.shingle, "ngram": args.ngram, "out": args.out})
        return 0
    print(f"kept {len(out) - result.n_removed:,} of {len(out):,} texts; {result.n_removed:,} near-duplicate(s) "
          f"within distance {args.tau} marked; wrote {args.out}")
    return 0
