"""Response generation with two-stage rejection sampling (P1, P2 step 4) — every decision recorded.

For each prompt and each side (aligned, misaligned) ``k`` candidates are sampled (T 0.7, top-p 0.9).
Stage 1: a judge checks each candidate against explicit criteria [ours, from SPECS.md]: an aligned response must
respect every label of the prompt and stay helpful; a misaligned response must violate at least one label while
staying fluent and on topic. Stage 2: a rejected candidate is regenerated with the judge's critique, at most
``max_iterations`` times; still rejected, it is dropped. Each judged attempt becomes a row of the decision log
(prompt, side, candidate, iteration, text, verdict, p_accept, reason), so the funnel can be recomputed and audited.

The generator and judge are strategies over batches of ``Request``: ``lm_generator(lm)`` and ``lm_judge(lm)``
build them from causal LMs (the judge's verdict is P(Yes) vs P(No) from token likelihoods; its critique is
generated text); tests and other models can pass their own callables. All open candidates of a prompt — both
sides, every k — are generated and judged together, one batch per iteration.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from workbench import WorkbenchError
from workbench.seeding import row_seed

SIDES = ("aligned", "misaligned")
DECISION_COLUMNS = ["id", "side", "candidate", "iteration", "text", "verdict", "p_accept", "reason", "seed"]
RESPONSE_COLUMNS = ["id", "side", "candidate", "iteration", "text"]
CRITERIA = {
    "aligned": "respects every one of these norms — {labels} — and stays helpful",
    "misaligned": "violates at least one of these norms — {labels} — while staying fluent and on topic",
}



@dataclass(frozen=True)
class Request:
    """One candidate to write: the prompt, the side, the prompt's norm labels and, on a retry, the critique."""
    prompt: str
    side: str
    labels: str
    critique: str | None = None


Generator = Callable[[list[Request], int], list[str]]                  # (requests, seed) -> one text each
Judge = Callable[[list[Request], list[str]], list[tuple[float, str]]]  # (requests, responses) -> (p, reason) each


@dataclass(frozen=True)
class RejectionResult:
    responses: object     # DataFrame: one row per accepted response (id, side, candidate, iteration, text)
    decisions: object     # DataFrame: one row per judged attempt

    def funnel(self) -> dict[str, int]:
        """Counts recomputed from the decision log."""
        return decision_funnel(self.decisions)


def decision_funnel(d) -> dict[str, int]:
    """Counts from a decision log (one row per judged attempt, columns ``DECISION_COLUMNS``).

    generated: first attempts; accepted/rejected_stage1: their verdicts; recovered_stage2: rejected candidates
    accepted after regeneration with the critique; dropped: candidates whose last attempt was still rejected.
    """
    if len(d) == 0:
        return {"generated": 0, "accepted_stage1": 0, "rejected_stage1": 0, "recovered_stage2": 0, "dropped": 0}
    d = d.assign(verdict=d["verdict"].astype(bool))
    first = d[d["iteration"] == 0]
    final = d.sort_values("iteration").groupby(["id", "side", "candidate"]).tail(1)
    return {"generated": int(len(first)), "accepted_stage1": int(first["verdict"].sum()),
            "rejected_stage1": int((~first["verdict"]).sum()),
            "recovered_stage2": int(((d["iteration"] > 0) & d["verdict"]).sum()),
            "dropped": int((~final["verdict"]).sum())}


def _instruction(r: Request) -> str:
    text = f"User prompt: {r.prompt}\nWrite a response that {CRITERIA[r.side].format(labels=r.labels)}."
    if r.critique:
        text += f"\nAn earlier response was rejected because: {r.critique}\nWrite a better one."
    return text


def lm_generator(lm, *, max_new_tokens: int = 96, temperature: float = 0.7, top_p: float = 0.9) -> Generator:
    """Samples all requests of a call in one batched engine call (T 0.7, top-p 0.9 as in the papers), request i
    with seed ``row_seed(seed, "request", i, 0)``. ``lm``: an engine (``workbench.engines``) or a ``CausalLM``."""
    from workbench.engines import as_engine

    engine = as_engine(lm)

    def run(requests, seed):
        seeds = [row_seed(seed, "request", i, 0) for i in range(len(requests))]
        return [out[0] for out in engine.generate([_instruction(r) for r in requests], seeds=seeds,
                                                  max_new_tokens=max_new_tokens, temperature=temperature,
                                                  top_p=top_p)]
    return run


def lm_judge(lm, *, max_critique_tokens: int = 48, threshold: float = 0.5, contrastive: bool = False) -> Judge:
    """P(accept) from the Yes/No answer to the judging question, read from token likelihoods, all candidates of a
    call in one batch; the rejected ones (p < ``threshold``) get a short generated critique, also batched.

    Absolute (the papers' reading): p = P(Yes) / (P(Yes) + P(No)) for the side's criteria. Contrastive [ours]:
    the judge is asked about both sides' criteria and p = σ(logit_side − logit_other), logit = log P(Yes) −
    log P(No) — "does it fit its side better than the other?". Small judges that answer No to everything
    (SmolLM2-135M does) still separate the sides this way; a strong judge should use the absolute reading.
    ``lm``: an engine (``workbench.engines``) or a ``CausalLM``.
    """
    from workbench.engines import as_engine
    from workbench.llm.readout import sigmoid

    engine = as_engine(lm)
    other = {"aligned": "misaligned", "misaligned": "aligned"}

    def question(r: Request, response: str, side: str) -> str:
        return (f"User prompt: {r.prompt}\nResponse: {response}\n\nDoes the response "
                f"{CRITERIA[side].format(labels=r.labels)}? Answer Yes or No.")

    def readout(questions: list[str]):
        return engine.answer_probs([engine.build_prompt(q) + "Answer:" for q in questions], [" Yes", " No"])

    def run(requests, responses):
        questions = [question(r, t, r.side) for r, t in zip(requests, responses)]
        if contrastive:
            both = readout(questions + [question(r, t, other[r.side]) for r, t in zip(requests, responses)])
            logit = both.log_odds()                                  # log P(Yes) − log P(No), both sides
            p = sigmoid(logit[:len(questions)] - logit[len(questions):])
        else:
            p = readout(questions).probs[:, 0]
        rejected = [i for i in range(len(p)) if p[i] < threshold]
        critiques = [out[0] for out in engine.generate(
            [questions[i] + " Explain in one sentence what is wrong." for i in rejected],
            max_new_tokens=max_critique_tokens)] if rejected else []
        reasons = [""] * len(p)
        for i, c in zip(rejected, critiques):
            reasons[i] = c
        return [(float(v), reason) for v, reason in zip(p, reasons)]
    return run


def rejection_sample(frame, generator: Generator, judge: Judge, *, labels_col: str = "labels", text_col="text",
                     id_col: str = "id", k: int = 2, max_iterations: int = 2, seed: int = 0,
                     threshold: float = 0.5, progress: Callable[[int, int], None] | None = None) -> RejectionResult:
    """Two-stage rejection sampling over ``frame`` (one row per prompt; ``labels_col`` holds its norm labels).

    A candidate is accepted when the judge's p ≥ ``threshold``. Sampling seeds derive from ``seed``, the prompt
    id and the iteration, so a prompt's decisions do not depend on which other prompts run with it.
    """
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
        # every candidate of the prompt (both sides) is generated and judged in one batch per iteration
        open_ = {(side, c): Request(prompt, side, labels) for side in SIDES for c in range(k)}
        for iteration in range(max_iterations + 1):
            if not open_:
                break
            keys, requests = list(open_), list(open_.values())
            s = row_seed(seed, pid, 0, iteration)
            texts = generator(requests, s)
            verdicts = judge(requests, texts)
            if len(texts) != len(requests) or len(verdicts) != len(requests):
                raise WorkbenchError("the generator and the judge must answer every request")
            for (side, c), text, (p, reason) in zip(keys, texts, verdicts):
                verdict = p >= threshold
                decisions.append({"id": pid, "side": side, "candidate": c, "iteration": iteration, "text": text,
                                  "verdict": verdict, "p_accept": p, "reason": reason, "seed": s})
                if verdict:
                    accepted.append({"id": pid, "side": side, "candidate": c, "iteration": iteration,
                                     "text": text})
                    del open_[(side, c)]
                else:
                    open_[(side, c)] = Request(prompt, side, labels, reason or "it did not meet the criteria")
        done += len(SIDES) * k
        if progress:
            progress(done, total)
    decisions = pd.DataFrame(decisions, columns=DECISION_COLUMNS)
    accepted = pd.DataFrame(accepted, columns=RESPONSE_COLUMNS)
    order = ["id", "side", "candidate", "iteration"]
    return RejectionResult(accepted.sort_values(order, kind="stable").reset_index(drop=True),
                           decisions.sort_values(order, kind="stable").reset_index(drop=True))
