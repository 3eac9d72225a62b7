"""The deepfake synthetic corpora's cache: built once per configuration, atomically, with a manifest of their
files.

Used by deepfake.synth.speech and deepfake.synth.video.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from workbench.io import build_once, write_json


def cached_corpus(folder: str | Path, config, build):
    """The manifest (absolute paths) of the corpus in ``folder``; when absent, ``build(tmp, rows)`` renders the
    media into a temporary sibling folder and appends one dict per clip to ``rows``, then ``manifest.parquet``
    (paths relative to the folder) and ``config.json`` (``config`` is a dataclass) are written and the folder is
    renamed into place (``io.build_once``), so a folder with a manifest is always complete."""
    import pandas as pd

    def write(tmp: Path) -> None:
        rows: list[dict] = []
        build(tmp, rows)
        pd.DataFrame(rows).to_parquet(tmp / "manifest.parquet", index=False)
        write_json(asdict(config), tmp / "config.json")

    folder = build_once(folder, write, complete="manifest.parquet")
    manifest = pd.read_parquet(folder / "manifest.parquet")
    manifest["path"] = [str(folder / p) for p in manifest["path"]]
    return manifest


__all__ = ["cached_corpus"]
