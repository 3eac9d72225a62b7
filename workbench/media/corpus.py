"""Synthetic corpora cached on disk: built once per configuration, atomically, with a manifest of their files.

Used by the synthetic corpora of the deepfake detector (deepfake.synth), audio captioning (captioning.sounds) and
meme classification (memes.synth).
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from workbench.io import build_once


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
        (tmp / "config.json").write_text(json.dumps(asdict(config), indent=2) + "\n")

    folder = build_once(folder, write, complete="manifest.parquet")
    manifest = pd.read_parquet(folder / "manifest.parquet")
    manifest["path"] = [str(folder / p) for p in manifest["path"]]
    return manifest


__all__ = ["cached_corpus"]
