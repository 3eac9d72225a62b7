"""Where steering pairs come from: a table of (prompt, positive, negative) rows, or a bundled set.

``load_pairs(spec)`` takes a file (CSV, TSV, JSONL, JSON, parquet with columns ``prompt``, ``positive``,
``negative``; other names via ``prompt_col`` …) or ``bundled:OBJECTIVE`` — ``bundled:helpful``,
``bundled:harmless``, ``bundled:honest`` (``data/steering/pairs.jsonl``) or ``bundled:clinical`` (the consistent vs
inconsistent answers of ``data/medical/clinical_qa.jsonl``), or ``qa:FILE`` — a PubMedQA ``.json`` or MedQA
``.jsonl`` file, its rows turned into (correct, incorrect) answer pairs by ``clinical.answer_pairs`` and split into
train and eval by ``clinical``'s hash rule. ``split`` keeps only train or eval rows of a bundled set or a QA file
(a table file is used whole).
"""
from __future__ import annotations

from dataclasses import dataclass

from workbench import WorkbenchError


@dataclass
class Pairs:
    prompts: list[str]
    positives: list[str]
    negatives: list[str]
    source: str

    def __len__(self) -> int:
        return len(self.prompts)

    def head(self, n: int | None) -> "Pairs":
        if n is None:
            return self
        return Pairs(self.prompts[:n], self.positives[:n], self.negatives[:n], self.source)


def load_pairs(spec: str, *, split: str | None = None, prompt_col: str = "prompt", positive_col: str = "positive",
               negative_col: str = "negative") -> Pairs:
    if spec.startswith("bundled:"):
        from workbench.steering import clinical

        name = spec.split(":", 1)[1]
        if name == "clinical":
            frame = clinical.clinical_qa(split=split)
        else:
            frame = clinical.steering_pairs(objective=name, split=split)
        prompts, positives, negatives = clinical.pair_texts(frame)
        source = f"bundled {name}" + (f" ({split})" if split else "")
    elif spec.startswith("qa:"):
        from pathlib import Path

        from workbench.steering import clinical

        path = spec.split(":", 1)[1]
        frame = clinical.answer_pairs(clinical.load_qa(path))
        if split is not None:
            frame = frame[frame["split"] == split]
        if frame.empty:
            raise WorkbenchError(f"{path}: no {split} rows (the hash split put every row on the other side)")
        prompts, positives, negatives = clinical.pair_texts(frame)
        source = Path(path).name + (f" ({split})" if split else "")
    else:
        from workbench.datasets.tables import check_text_column, read_table

        frame = read_table(spec)
        for col in (prompt_col, positive_col, negative_col):
            check_text_column(frame, col, spec)
        prompts, positives, negatives = (frame[c].tolist() for c in (prompt_col, positive_col, negative_col))
        source = str(spec).rsplit("/", 1)[-1]
    if not prompts:
        raise WorkbenchError(f"{spec}: no pairs")
    return Pairs(list(prompts), list(positives), list(negatives), source)


__all__ = ["Pairs", "load_pairs"]
