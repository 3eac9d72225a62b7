"""Response generation with two-stage rejection sampling (P1, P2 step 4) — every decision recorded.

For each prompt and each side (aligned, misaligned) ``k`` candidates are sampled (T 0.7, top-p 0.9).
Stage 1: a judge checks each candidate against explicit criteria [ours, from SPECS.md]: an aligned response must
respect every label of the prompt and stay helpful; a misaligned response must violate at least one label while
staying fluent and on topic. Stage 2: a rejected candidate is regenerated with the judge's critique, at most
``max_iterations`` times; still rejected, it is dropped. Each judged attempt becomes a row of the decision log
(prompt, side, candidate, iteration, text, verdict, p_accept, reason), so the funnel can be recomputed and audited.

The generator and judge are strategies: ``lm_generator(lm)`` and ``lm_judge(lm)`` build them from causal LMs
(the judge's verdict is P(Yes) vs P(No) from token likelihoods; its critique is generated text); tests and
other models can pass their own callables.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from workbench import WorkbenchError
from workbench.seeding import row_seed

SIDES = ("aligned", "misaligned")
CRITERIA = {
    "aligned": "respects every one of these norms — {labels} — and stays helpful",
    "misaligned": "violates at least one of these norms — {labels} — while staying fluent and on topic",
}

Generator = Callable[[str, str, str, str | None, int], str]      # (prompt, side, labels, critique, seed) -> text
Judge = Callable[[str, str, str, str], tuple[float, str]]         # (prompt, response, side, labels) -> (p, reason)


@dataclass(frozen=True)
class RejectionResult:
    responses: object     # DataFrame: one row per accepted response (id, side, candidate, iteration, text)
    decisions: object     # DataFrame: one row per judged attempt

    def funnel(self) -> dict[str, int]:
        """Counts recomputed from the decision log."""
        d = self.decisions
        first = d[d["iteration"] == 0]
        final = d.sort_values("iteration").groupby(["id", "side", "candidate"]).tail(1)
        return {"generated": int(len(first)), "accepted_stage1": int(first["verdict"].sum()),
                "rejected_stage1": int((~first["verdict"]).sum()),
                "recovered_stage2": int(((d["iteration"] > 0) & d["verdict"]).sum()),
                "dropped": int((~final["verdict"]).sum())}


def _instruction(prompt: str, side: str, labels: str, critique: str | None) -> str:
    text = (f"User prompt: {prompt}\nWrite a response that {CRITERIA[side].format(labels=labels)}.")
    if critique:
        text += f"\nAn earlier response was rejected because: {critique}\nWrite a better one."
    return text


def lm_generator(lm, *, max_new_tokens: int = 96, temperature: float = 0.7, top_p: float = 0.9) -> Generator:
    from workbench.llm.generate import generate

    def run(prompt, side, labels, critique, seed):
        return generate(lm, _instruction(prompt, side, labels, critique), max_new_tokens=max_new_tokens,
                        temperature=temperature, top_p=top_p, seed=seed)
    return run


def lm_judge(lm, *, max_critique_tokens: int = 48) -> Judge:
    """P(accept) = P(Yes) / (P(Yes) + P(No)) after the judging question; a short critique when p < 0.5."""
    from workbench.llm.generate import build_prompt, generate
    from workbench.llm.scoring import score_continuations

    def run(prompt, response, side, labels):
        question = (f"User prompt: {prompt}\nResponse: {response}\n\nDoes the response "
                    f"{CRITERIA[side].format(labels=labels)}? Answer Yes or No.")
        scores = score_continuations(lm, build_prompt(lm, question), ["Answer: Yes", "Answer: No"])
        yes, no = scores.logprob
        p = 1.0 / (1.0 + math.exp(no - yes))
        reason = "" if p >= 0.5 else generate(
            lm, question + " Explain in one sentence what is wrong.", max_new_tokens=max_critique_tokens)
        return p, reason
    return run


def rejection_sample(frame, generator: Generator, judge: Judge, *, labels_col: str = "labels", text_col="text",
                     id_col: str = "id", k: int = 2, max_iterations: int = 2, seed: int = 0,
                     progress: Callable[[int, int], None] | None = None) -> RejectionResult:
    """Two-stage rejection sampling over ``frame`` (one row per prompt; ``labels_col`` holds its norm labels)."""
    import pandas as pd

    for col in (text_col, id_col, labels_col):
        if col not in frame.columns:
            raise WorkbenchError(f"no column '{col}'; columns: {', '.join(map(str, frame.columns))}")
    if k < 1 or max_iterations < 0:
        raise WorkbenchError("k must be at least 1 and max_iterations at least 0")
    decisions, accepted = [], []
    total, done = len(frame) * len(SIDES) * k, 0
    for row in frame.itertuples(index=False):
        prompt, pid = getattr(row, text_col), str(getattr(row, id_col))
        labels = getattr(row, labels_col)
        labels = ", ".join(labels) if isinstance(labels, (list, tuple)) else str(labels)
        for side in SIDES:
            for c in range(k):
                critique = None
                for iteration in range(max_iterations + 1):
                    s = row_seed(seed, f"{pid}|{side}", c, iteration)
                    text = generator(prompt, side, labels, critique, s)
                    p, reason = judge(prompt, text, side, labels)
                    verdict = p >= 0.5
                    decisions.append({"id": pid, "side": side, "candidate": c, "iteration": iteration,
                                      "text": text, "verdict": verdict, "p_accept": p, "reason": reason,
                                      "seed": s})
                    if verdict:
                        accepted.append({"id": pid, "side": side, "candidate": c, "iteration": iteration,
                                         "text": text})
                        break
                    critique = reason or "it did not meet the criteria"
                done += 1
                if progress:
                    progress(done, total)
    return RejectionResult(pd.DataFrame(accepted, columns=["id", "side", "candidate", "iteration", "text"]),
                           pd.DataFrame(decisions))
