"""Writing the synthetic meme corpus to disk: ``images/<id>.png``, ``memes.csv`` and ``config.json``.

``generate_memes(config, out_dir)`` writes (or replaces) a corpus folder; ``cached_memes(config)`` keeps one
corpus per configuration under ``$WORKBENCH_HOME/data/synthetic/memes-<key>/`` and makes it only once. Both
write into a temporary folder that is renamed into place (``workbench.io``), so a half-written corpus is never
seen. Used by the meme CLI, ``memes.ablation`` and the tests; the same configuration gives byte-identical files.
"""
from __future__ import annotations

from pathlib import Path

from workbench import WorkbenchError
from workbench.memes.synth import draw
from workbench.memes.synth.generate import MemeCorpusConfig, plan, validate
from workbench.memes.synth.vocabulary import COLUMNS


def _write_into(config: MemeCorpusConfig, folder: Path, progress=None):
    """Render every meme of ``config`` into ``folder`` (images/, memes.csv, config.json); returns the table."""
    import cv2
    import pandas as pd

    from workbench.io import write_json

    rows = plan(config)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        for k, row in enumerate(rows):
            img = draw.render(row["spec"], row["text"], config.size)
            ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 6])
            if not ok:
                raise WorkbenchError(f"could not encode meme image {row['id']}")
            (folder / row["image"]).write_bytes(buf.tobytes())
            if progress and ((k + 1) % 50 == 0 or k + 1 == len(rows)):
                progress((k + 1) / len(rows), f"synthetic memes {k + 1}/{len(rows)}")
    finally:
        cv2.setNumThreads(threads)
    table = pd.DataFrame([{c: row[c] for c in COLUMNS} for row in rows], columns=list(COLUMNS))
    table.to_csv(folder / "memes.csv", index=False, lineterminator="\n")
    write_json(config.to_dict(), folder / "config.json")
    return table


def generate_memes(config: MemeCorpusConfig | None, out_dir: str | Path, progress=None):
    """Write the corpus for ``config`` to ``out_dir`` (``images/<id>.png`` and ``memes.csv``) and return the table;
    an existing ``out_dir`` is replaced only once the new corpus is complete."""
    from workbench.io import atomic_dir

    config = config or MemeCorpusConfig()
    validate(config)
    with atomic_dir(Path(out_dir)) as tmp:
        table = _write_into(config, tmp, progress)
    return table


def cached_memes(config: MemeCorpusConfig | None = None, progress=None, *, root: str | Path | None = None) -> Path:
    """The folder of the corpus for ``config`` (made once) under ``$WORKBENCH_HOME/data/synthetic/``."""
    from workbench.io import build_once
    from workbench.paths import home

    config = config or MemeCorpusConfig()
    validate(config)
    base = Path(root) if root else home() / "data" / "synthetic"
    # a folder without its table (damaged) is made again
    return build_once(base / f"memes-{config.key()}", lambda tmp: _write_into(config, tmp, progress),
                      complete="memes.csv")
