"""The reasoning stage of ConLLM (P6): an LLM reads the evidence and gives a verdict with a rationale.

The evidence is written out as text [ours]: a one-line summary (how many detectors call it fake; the
notebook measures what it changes on the held-out set), then each modality's detector score (higher =
more bona fide) with the detector's EER threshold, the cross-modal agreement (cosine of the audio and video
projections, when both exist) and simple measured cues (e.g. spectral flatness of the audio, the lip–audio sync
offset). The verdict is read from token likelihoods after "Verdict:" — P(" real") against P(" fake") — so it is a
probability that can be evaluated like any score (does the reasoning stage change accuracy or EER? the notebook and
``eval`` measure it); a pipeline passes the threshold it calibrated on held-out rows. The one-paragraph rationale is
generated greedily after the verdict. Any causal LM of the zoo can reason (the default profile's SmolLM2; the
``paper`` profile's Mistral-7B-Instruct), through an engine (``workbench.engines``: a model name or handle runs on
the engine ``--engine`` picks), every piece of evidence of a call in one read-out and one generation call.
"""
from __future__ import annotations

from dataclasses import dataclass

from workbench import WorkbenchError

INSTRUCTION = ("You are checking whether a media file is genuine or a deepfake. A detector scored each modality: "
               "higher scores mean more likely genuine, and a score above the threshold counts as genuine. "
               "Read the evidence and give a verdict, real or fake, then explain it in two sentences.")


@dataclass
class Evidence:
    scores: dict[str, float]                 # modality → detector score (higher = more bona fide)
    thresholds: dict[str, float]             # modality → the detector's decision threshold
    agreement: float | None = None           # cosine of the audio and video projections
    cues: dict[str, float] | None = None     # measured cues, e.g. {"spectral flatness": 0.02}

    def text(self) -> str:
        lines = [f"- {m} detector score: {s:+.2f} (threshold {self.thresholds.get(m, 0.0):+.2f}, "
                 f"{'above' if s > self.thresholds.get(m, 0.0) else 'below'})" for m, s in self.scores.items()]
        if self.agreement is not None:
            lines.append(f"- audio–video agreement: {self.agreement:+.2f} (1 = the sound matches the picture)")
        for name, value in (self.cues or {}).items():
            lines.append(f"- {name}: {value:.3g}")
        below = sum(s <= self.thresholds.get(m, 0.0) for m, s in self.scores.items())
        return (f"Summary: {below} of {len(self.scores)} detectors call it fake.\nEvidence:\n"
                + "\n".join(lines))


def reason(lm, evidence: list[Evidence], *, rationale_tokens: int = 48, batch_size: int = 8,
           threshold: float = 0.0) -> list[dict]:
    """For each piece of evidence: ``score`` = log P(" real") − log P(" fake") after "Verdict:", ``p_real`` =
    σ(score), ``verdict`` = real when score > ``threshold`` (0 = the LM's own preference; a pipeline passes the
    threshold it calibrated on held-out rows, since a small LM's two answers are rarely balanced) and the
    ``rationale`` generated for that verdict. ``lm``: an engine, a ``CausalLM`` handle or a model name
    (``workbench.engines.select_engine``)."""
    from workbench.engines import select_engine

    if not evidence:
        raise WorkbenchError("no evidence to reason about")
    engine = select_engine(lm)
    bodies = [f"{INSTRUCTION}\n\n{e.text()}" for e in evidence]
    prompts = [engine.build_prompt(b) + "Verdict:" for b in bodies]
    read = engine.answer_probs(prompts, [" real", " fake"], batch_size=batch_size)
    score, p_real = read.log_odds(), read.probs[:, 0]          # log P(real) − log P(fake); σ(score)
    verdicts = ["real" if s > threshold else "fake" for s in score]
    follow = [f"{b}\n\nThe verdict is {v}. Explain why in two sentences." for b, v in zip(bodies, verdicts)]
    rationales = ([out[0] for out in engine.generate(follow, max_new_tokens=rationale_tokens)]
                  if rationale_tokens > 0 else [""] * len(bodies))
    return [{"p_real": float(p), "verdict": v, "rationale": r, "score": float(s)}
            for p, v, r, s in zip(p_real, verdicts, rationales, score)]


__all__ = ["Evidence", "INSTRUCTION", "reason"]
