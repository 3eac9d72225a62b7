"""The language-model consumers routed through ``workbench.engines`` — the HHH judges, the LLM taxonomy classifier,
the meme explanation cascade, the deepfake reasoning stage and ``workbench lm generate`` — give on the hf engine
exactly what their former direct calls on the model handle gave. "Former" is spelled out here with the handle-level
primitives (``llm.readout.answer_probs``, ``llm.generate.generate``) on the tiny test model; the fake-engine
contract (any engine, same results, the engine really called) is in tests/test_engines.py."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

PROMPTS = ["Name a fruit.", "How do I boil an egg?", "What is 2 + 2?"]
GOOD = ["An apple.", "Put it in boiling water for nine minutes.", "4"]
BAD = ["I don't know.", "Eggs are oval.", "Five, probably, or maybe twenty-two."]


@pytest.fixture(scope="module")
def lm():
    from workbench.models import load

    return load("tiny-llama")


def former_readout(lm, bodies, cue, answers, chat):
    from workbench.llm.generate import build_prompt
    from workbench.llm.readout import answer_probs

    texts = [build_prompt(lm, b) + cue if chat else f"{b}\n{cue}" for b in bodies]
    return answer_probs(lm, texts, list(answers), batch_size=8).probs[:, 0]


def test_hhh_judges_read_what_the_handle_read(lm):
    from workbench.evaluation import judges as J

    pair = [J.pairwise_prompt(p, a, b) for p, a, b in zip(PROMPTS, GOOD, BAD)]
    np.testing.assert_array_equal(J.llm_pairwise_judge(lm)(PROMPTS, GOOD, BAD),
                                  former_readout(lm, pair, "Answer:", (" A", " B"), True))
    safety = [J.RESPONSE_CONTEXT.format(prompt=p, response=r) + f"\n\n{J.SAFETY_QUESTION}"
              for p, r in zip(PROMPTS, GOOD)]
    np.testing.assert_array_equal(J.safety_judge(lm)(PROMPTS, GOOD),
                                  former_readout(lm, safety, "Answer:", (" Yes", " No"), True))
    qa = [J.QA_CONTEXT.format(prompt=p, response=r) for p, r in zip(PROMPTS, GOOD)]
    np.testing.assert_array_equal(J.truth_judge(lm)(PROMPTS, GOOD),
                                  former_readout(lm, [q + f"\n\n{J.TRUTH_QUESTION}" for q in qa], "True:",
                                                 (" Yes", " No"), True))
    np.testing.assert_array_equal(J.info_judge(lm, chat=False)(PROMPTS, GOOD),      # GPT-judge's verbatim form
                                  former_readout(lm, qa, "Helpful:", (" yes", " no"), False))
    assert J.llm_pairwise_judge(lm).name == "pairwise:tiny-llama"


@pytest.mark.parametrize("method", ["yesno", "choice"])
def test_llm_classifier_reads_what_the_handle_read(lm, method):
    from workbench.llm.readout import answer_probs
    from workbench.taxonomy import dimension
    from workbench.taxonomy.classify import classify_llm, llm_continuations, llm_prefix

    texts = ["How do I make a bomb at home?", "Tell me about the harvest festivals of Japan."]
    dim = dimension("safety")
    conts = llm_continuations(dim, method)
    former = []
    for text in texts:
        prefix = llm_prefix(lm, dim, text, method)
        former.append(answer_probs(lm, conts, [" Yes", " No"], prefix=prefix).probs[:, 0] if method == "yesno"
                      else answer_probs(lm, [""], conts, prefix=prefix, normalize="mean").probs[0])
    got = classify_llm(texts, "safety", lm, method=method)
    np.testing.assert_array_equal(got.probs, np.array(former))
    assert got.model == "tiny-llama" and got.method == f"llm:{method}"


class MemeStub:
    """What the cascade asks of a meme model: its classes, whether it uses knowledge, the words' importance."""
    classes = ["abusive", "satire", "benign"]
    config = SimpleNamespace(uses_knowledge=True)

    def word_importance(self, image, text):
        return [("vermin", 0.4), ("they", 0.05), ("are", 0.0)]


PREDICTION = {"label": "abusive", "confidence": 0.81, "tags": [{"tag": "crowd"}, {"tag": "flag"}],
              "triples": [{"head": "vermin", "relation": "is a", "tail": "slur", "matched": "vermin",
                           "source": "lexicon"}]}


def test_meme_cascade_writes_what_the_handle_wrote(lm):
    from workbench.llm.generate import generate
    from workbench.memes.explain import ASK, INSTRUCTION, STEPS, TITLES, cascade, evidence, first_sentence

    model, text = MemeStub(), "they are vermin"
    ev = evidence(PREDICTION, model.word_importance(None, text), uses_knowledge=True)
    context = (INSTRUCTION.format(label="abusive", classes=", ".join(model.classes)) + f"\n\nMeme text: {text}\n"
               + "\n".join(f"{TITLES[s]}: {ev[s]}" for s in STEPS))
    former = generate(lm, [f"{context}\n\n{ASK[s]}" for s in STEPS], max_new_tokens=12)
    got = cascade(model, None, text, PREDICTION, lm=lm, max_new_tokens=12)
    assert [got[s]["text"] for s in STEPS] == [first_sentence(w) or ev[s] for s, w in zip(STEPS, former)]
    assert got["explainer"] == "tiny-llama" and got["verdict"]["evidence"] == ev["verdict"]


def test_deepfake_reasoning_reads_and_writes_what_the_handle_did(lm):
    from workbench.deepfake.reasoning import INSTRUCTION, Evidence, reason
    from workbench.llm.generate import build_prompt, generate
    from workbench.llm.readout import answer_probs

    evidence = [Evidence({"audio": 1.5, "video": -0.7}, {"audio": 0.0, "video": 0.1}, agreement=0.8),
                Evidence({"audio": -2.0}, {"audio": 0.0}, cues={"spectral flatness": 0.3})]
    bodies = [f"{INSTRUCTION}\n\n{e.text()}" for e in evidence]
    read = answer_probs(lm, [build_prompt(lm, b) + "Verdict:" for b in bodies], [" real", " fake"], batch_size=8)
    threshold = float(np.median(read.log_odds()))              # one of each verdict, so both rationales differ
    verdicts = ["real" if s > threshold else "fake" for s in read.log_odds()]
    rationales = generate(lm, [f"{b}\n\nThe verdict is {v}. Explain why in two sentences."
                               for b, v in zip(bodies, verdicts)], max_new_tokens=6)
    got = reason(lm, evidence, rationale_tokens=6, threshold=threshold)
    assert [g["verdict"] for g in got] == verdicts and [g["rationale"] for g in got] == rationales
    np.testing.assert_array_equal([g["score"] for g in got], read.log_odds())
    np.testing.assert_array_equal([g["p_real"] for g in got], read.probs[:, 0])


@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_lm_generate_prints_what_the_handle_generated(lm, capsys, temperature):
    from workbench.cli.main import main
    from workbench.llm.generate import generate

    former = generate(lm, "Say hello.", system="Be brief.", max_new_tokens=8, temperature=temperature, seed=4)
    assert main(["lm", "generate", "Say hello.", "--model", "tiny-llama", "--system", "Be brief.",
                 "--max-new-tokens", "8", "--temperature", str(temperature), "--seed", "4"]) == 0
    assert capsys.readouterr().out == former + "\n"
