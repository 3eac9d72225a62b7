"""Expansion of low-resource domains with a generator LLM (P1, P2, P4 step 2).

Every domain of a dimension with fewer than ``target`` prompts (the released counts suggest 100) is topped up:
the generator is shown the domain's description and up to ``n_examples`` real prompts from that domain and asked
for one new prompt, sampled at T = 0.7, top-p 0.9 as in the papers. Each generated row keeps its provenance:
``origin`` ("expanded"), ``generator``, ``seed`` (the per-row sampling seed) and ``source_ids`` (the example rows
it was shown). Empty outputs and exact repeats are discarded and retried up to ``max_tries`` per row; near-
duplicates are left to the SimHash stage that follows.

The prompt wording is ours (the papers give only the generator and sampling settings).
"""
from __future__ import annotations

import re
from typing import Callable

from workbench import WorkbenchError
from workbench.seeding import row_seed
from workbench.taxonomy import dimension

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
    generated from the description alone."""
    import pandas as pd

    from workbench.llm import generate

    domain_col = domain_col or dim_name
    for col in (text_col, id_col, domain_col):
        if col not in frame.columns:
            raise WorkbenchError(f"no column '{col}'; columns: {', '.join(map(str, frame.columns))}")
    needs = expansion_needs(frame, dim_name, target=target, domain_col=domain_col)
    total, done = sum(needs.values()), 0
    seen = set(frame[text_col])
    rows = []
    for key, need in needs.items():
        domain = dimension(dim_name).get(key)
        pool = frame[frame[domain_col] == key]
        for k in range(need):
            examples = pool.iloc[[(k + j) % len(pool) for j in range(min(n_examples, len(pool)))]] if len(pool) \
                else pool
            listing = "\n".join(f"- {t}" for t in examples[text_col]) or "- (none yet)"
            prompt = INSTRUCTION.format(name=domain.name, description=domain.description, examples=listing)
            for attempt in range(max_tries):
                s = row_seed(seed, key, k, attempt)
                text = clean_generation(generate(lm, prompt, max_new_tokens=max_new_tokens,
                                                 temperature=temperature, top_p=top_p, seed=s))
                if text and text not in seen:
                    seen.add(text)
                    rows.append({id_col: f"exp-{dim_name}-{key}-{k}", text_col: text, domain_col: key,
                                 "origin": "expanded", "generator": lm.name, "seed": s,
                                 "source_ids": [str(x) for x in examples[id_col]]})
                    break
            done += 1
            if progress:
                progress(done, total)
    columns = [id_col, text_col, domain_col, "origin", "generator", "seed", "source_ids"]
    return pd.DataFrame(rows, columns=columns)


