"""Expansion of low-resource domains with a generator LLM (P1, P2, P4 step 2).

Every domain of a dimension with fewer than ``target`` prompts (the released counts suggest 100) is topped up:
the generator is shown the domain's description and up to ``n_examples`` real prompts from that domain and asked
for one new prompt, sampled at T = 0.7, top-p 0.9 as in the papers. Each generated row keeps its provenance:
``origin`` ("expanded"), ``generator``, ``seed`` (the per-row sampling seed) and ``source_ids`` (the example rows
it was shown). Empty outputs and exact repeats are discarded and retried up to ``max_tries`` per row; near-
duplicates are left to the SimHash stage that follows. Generation goes through an engine
(``workbench.engines``): every open row's attempt is one batched call, and the outputs are then judged in row
order, so a row's retry comes after every row's first attempt [ours; per-row seeds as before].

The prompt wording is ours (the papers give only the generator and sampling settings).
"""
from __future__ import annotations

import re
from typing import Callable

from workbench import WorkbenchError
from workbench.seeding import row_seed
from workbench.taxonomy import dimension

EXPAND_CHUNK = 64      # rows per engine call (the engine batches within it); progress is reported per call
INSTRUCTION = (
    "Write one new, realistic request that a user might type to a chatbot and that belongs to this domain.\n"
    "Domain: {name} — {description}\n"
    "Examples from this domain:\n{examples}\n"
    "Reply with the new request only, on one line, different from the examples."
)


def clean_generation(text: str) -> str:
    """First non-empty line, without list markers, labels or surrounding quotes."""
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*•]|\d+[.)]|new (?:request|prompt)\s*:|request\s*:)\s*", "", line,
                      flags=re.IGNORECASE).strip().strip('"“”\'').strip()
        if line:
            return line
    return ""


def expansion_needs(frame, dim_name: str, *, target: int = 100, domain_col: str | None = None) -> dict[str, int]:
    """Domain key → number of prompts to add so that it reaches ``target`` (``None`` is never expanded)."""
    domain_col = domain_col or dim_name
    if domain_col not in frame.columns:
        raise WorkbenchError(f"no column '{domain_col}' to count domains from")
    counts = frame[domain_col].value_counts()
    return {d.key: target - int(counts.get(d.key, 0)) for d in dimension(dim_name).labels
            if int(counts.get(d.key, 0)) < target}


def expand(frame, dim_name: str, lm, *, text_col: str = "text", id_col: str = "id", domain_col: str | None = None,
           target: int = 100, n_examples: int = 3, temperature: float = 0.7, top_p: float = 0.9,
           max_new_tokens: int = 64, seed: int = 0, max_tries: int = 3,
           progress: Callable[[int, int], None] | None = None):
    """New rows (``id``, ``text``, the domain column, ``origin``, ``generator``, ``seed``, ``source_ids``)
    topping each under-represented domain of ``dim_name`` up to ``target``. Domains without any example are
    generated from the description alone. ``lm``: an engine (``workbench.engines``) or a ``CausalLM``."""
    import pandas as pd

    from workbench.engines import as_engine

    engine = as_engine(lm)
    domain_col = domain_col or dim_name
    for col in (text_col, id_col, domain_col):
        if col not in frame.columns:
            raise WorkbenchError(f"no column '{col}'; columns: {', '.join(map(str, frame.columns))}")
    needs = expansion_needs(frame, dim_name, target=target, domain_col=domain_col)
    jobs = []                                     # (domain key, k, prompt, example ids): one per row to write
    for key, need in needs.items():
        domain = dimension(dim_name).get(key)
        pool = frame[frame[domain_col] == key]
        for k in range(need):
            examples = pool.iloc[[(k + j) % len(pool) for j in range(min(n_examples, len(pool)))]] if len(pool) \
                else pool
            listing = "\n".join(f"- {t}" for t in examples[text_col]) or "- (none yet)"
            jobs.append((key, k, INSTRUCTION.format(name=domain.name, description=domain.description,
                                                    examples=listing), [str(x) for x in examples[id_col]]))
    seen = set(frame[text_col])
    accepted: dict[int, tuple[str, int]] = {}
    open_ = list(range(len(jobs)))
    for attempt in range(max_tries):
        # every open row's attempt in one engine call (cut in chunks for progress), judged in row order
        still = []
        for start in range(0, len(open_), EXPAND_CHUNK):
            chunk = open_[start:start + EXPAND_CHUNK]
            seeds = [row_seed(seed, jobs[j][0], jobs[j][1], attempt) for j in chunk]
            outs = engine.generate([jobs[j][2] for j in chunk], seeds=seeds, max_new_tokens=max_new_tokens,
                                   temperature=temperature, top_p=top_p)
            for j, s, out in zip(chunk, seeds, outs):
                text = clean_generation(out[0])
                if text and text not in seen:
                    seen.add(text)
                    accepted[j] = (text, s)
                else:
                    still.append(j)
            if progress:
                progress(len(accepted) + (len(still) if attempt == max_tries - 1 else 0), len(jobs))
        open_ = still
    rows = [{id_col: f"exp-{dim_name}-{jobs[j][0]}-{jobs[j][1]}", text_col: accepted[j][0], domain_col: jobs[j][0],
             "origin": "expanded", "generator": engine.name, "seed": accepted[j][1], "source_ids": jobs[j][3]}
            for j in sorted(accepted)]
    columns = [id_col, text_col, domain_col, "origin", "generator", "seed", "source_ids"]
    return pd.DataFrame(rows, columns=columns)


