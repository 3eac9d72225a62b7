"""`workbench export DATASET --format parquet|jsonl|hf OUT_DIR`: a built dataset (SAVACU, MISALIGNTRADE,
Demo-SafetyBench) as files a ``datasets`` user loads, with its dataset card (``workbench.datasets.card``).

Registered by ``workbench.cli.main``; pandas and ``datasets`` are imported inside the command."""
from __future__ import annotations

import argparse

from workbench import WorkbenchError
from workbench.cli.common import add_json, command, print_json, wants_json


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", help="savacu, misaligntrade or demo-safety (the active profile's artifacts, from "
                                   "`workbench build P1|P2|P4`), or a folder written by `workbench build DATASET "
                                   "--out`")
    p.add_argument("out", metavar="OUT_DIR", help="a new or empty folder (an earlier export there is replaced)")
    p.add_argument("--format", default="parquet", metavar="{parquet,jsonl,hf}",
                   help="parquet or jsonl: CONFIG/SPLIT files and a README.md card for datasets.load_dataset; "
                        "hf: one datasets.DatasetDict.save_to_disk folder per config (default: parquet)")
    add_json(p, "the rows written per config and split")


@command("export", "write a built dataset as parquet, JSON lines or a datasets save_to_disk folder, with its "
                   "dataset card", _export_args)
def _export(args) -> int:
    from workbench.datasets.card import FORMATS, export, resolve
    from workbench.profiles import active_profile

    if args.format not in FORMATS:
        raise WorkbenchError(f"unknown format '{args.format}'; choose from {', '.join(FORMATS)}")
    built = resolve(args.dataset, active_profile().name)
    counts = export(built, args.format, args.out)
    if wants_json(args):
        print_json({"dataset": built.provenance.dataset, "format": args.format, "out": args.out, "rows": counts})
        return 0
    summary = "; ".join(f"{config} " + ", ".join(f"{split} {n:,}" for split, n in splits.items())
                        for config, splits in counts.items())
    print(f"{built.provenance.dataset} ({built.provenance.profile}) → {args.out} as {args.format}: {summary}")
    return 0
