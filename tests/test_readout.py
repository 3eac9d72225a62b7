"""The one answer readout: every length mode and engine against a naive full forward pass on tiny-llama, the
BOS of base models, input errors, and every caller going through it."""
import copy
import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from workbench import WorkbenchError
from workbench.llm import build_prompt
from workbench.llm import readout as readout_module
from workbench.llm.readout import answer_probs, sigmoid
from workbench.models import load
from workbench.models.loaders import CausalLM

# tiny-llama's tokenizer: " the" and "a" are one token each, " Yes" three, " cat" two
ANSWERS = [" the", " Yes", " cat", "a"]
PROMPTS = ["The cat sat on", "Is the sky blue? Answer:", "x"]


@pytest.fixture(scope="module")
def lm():
    return load("tiny-llama", device="cpu")


def encode(lm, text):
    return lm.tokenizer.encode(text, add_special_tokens=False)


def naive(lm, prompt_ids, answer_ids) -> np.ndarray:
    """log p of each answer token, from one full forward pass over prompt + answer."""
    with torch.no_grad():
        logits = lm.model(input_ids=torch.tensor([prompt_ids + answer_ids])).logits[0].float()
    logp = torch.log_softmax(logits, -1)
    return np.array([float(logp[len(prompt_ids) - 1 + k, t]) for k, t in enumerate(answer_ids)])


def expected(lm, prompts, answers, normalize, prefix=""):
    """[N, A] by hand: the mode's reduction of the naive token log-probabilities, and its softmax."""
    out = np.zeros((len(prompts), len(answers[0]) if not isinstance(answers[0], str) else len(answers)))
    for i, p in enumerate(prompts):
        row = answers[i] if not isinstance(answers[0], str) else answers
        for a, ans in enumerate(row):
            tokens = naive(lm, encode(lm, prefix) + encode(lm, p), encode(lm, ans))
            out[i, a] = {"sum": tokens.sum(), "mean": tokens.mean(), "first": tokens[0]}[normalize]
    probs = np.exp(out) / np.exp(out).sum(1, keepdims=True)
    return out, probs


@pytest.mark.parametrize("normalize", ["sum", "mean", "first"])
def test_shared_answers_match_a_naive_forward_pass(lm, normalize):
    got = answer_probs(lm, PROMPTS, ANSWERS, normalize=normalize, batch_size=2)    # left-padded batches
    logprob, probs = expected(lm, PROMPTS, ANSWERS, normalize)
    np.testing.assert_allclose(got.logprob, logprob, atol=1e-4)
    np.testing.assert_allclose(got.probs, probs, atol=1e-5)
    np.testing.assert_allclose(got.probs.sum(1), 1.0, atol=1e-9)
    assert got.n_tokens.tolist() == [[1, 3, 2, 1]] * 3 and got.normalize == normalize
    if normalize != "first":                       # a single-token answer: every mode reads the same number
        assert got.logprob[:, 0] == pytest.approx(expected(lm, PROMPTS, ANSWERS, "first")[0][:, 0], abs=1e-4)


@pytest.mark.parametrize("normalize", ["sum", "mean", "first"])
def test_answers_per_prompt_match_a_naive_forward_pass(lm, normalize):
    answers = [[" the", " cat"], [" Yes", " No"], ["a", " yes yes"]]
    got = answer_probs(lm, PROMPTS, answers, normalize=normalize, batch_size=4)
    logprob, probs = expected(lm, PROMPTS, answers, normalize)
    np.testing.assert_allclose(got.logprob, logprob, atol=1e-4)
    np.testing.assert_allclose(got.probs, probs, atol=1e-5)


@pytest.mark.parametrize("answers", [[" the", "a"], ANSWERS])       # the readout fast path, then continuations
@pytest.mark.parametrize("normalize", ["sum", "mean", "first"])
def test_a_shared_prefix_reuses_its_cache_and_matches(lm, answers, normalize):
    prefix = build_prompt(lm, "Classify the next words. " * 3)
    tails = ["Domain: animals\nBelongs:", "Domain: weapons\nBelongs:", ""] if answers == ANSWERS else PROMPTS
    shared = answer_probs(lm, tails, answers, normalize=normalize, prefix=prefix, max_packed_tokens=8)
    full = answer_probs(lm, tails, answers, normalize=normalize, prefix=prefix, reuse_prefix=False)
    logprob, probs = expected(lm, tails, answers, normalize, prefix=prefix)
    np.testing.assert_allclose(shared.logprob, logprob, atol=1e-4)
    np.testing.assert_allclose(full.logprob, logprob, atol=1e-4)
    np.testing.assert_allclose(shared.probs, probs, atol=1e-5)


def test_two_answers_give_the_sigmoid_of_their_log_odds(lm):
    got = answer_probs(lm, PROMPTS, [" Yes", " No"])
    np.testing.assert_allclose(got.probs[:, 0], sigmoid(got.log_odds()), atol=1e-12)
    np.testing.assert_allclose(got.log_odds(), got.logprob[:, 0] - got.logprob[:, 1])
    assert got.best().tolist() == got.probs.argmax(1).tolist()
    assert sigmoid(0.0) == 0.5


def test_a_base_model_reads_the_prompt_after_its_bos(lm):
    """A model without a chat template reads prompts as ``generate`` does: after the BOS its tokenizer adds
    (Llama-2 and Gemma base models). The readout used to leave it out."""
    from tokenizers.processors import TemplateProcessing

    from workbench.llm.scoring import encode_prompt

    tok = copy.deepcopy(lm.tokenizer)
    bos = tok.bos_token
    tok._tokenizer.post_processor = TemplateProcessing(single=f"{bos} $A", special_tokens=[(bos, tok.bos_token_id)])
    base = CausalLM(dataclasses.replace(lm.spec, instruct=False), lm.model, tok, lm.device)
    assert encode_prompt(base, "hello") == [tok.bos_token_id] + encode(lm, "hello")
    assert encode_prompt(lm, "hello") == encode(lm, "hello")                 # chat models: verbatim
    got = answer_probs(base, PROMPTS, [" Yes", " the"])
    for i, p in enumerate(PROMPTS):
        for a, ans in enumerate([" Yes", " the"]):
            want = naive(lm, [tok.bos_token_id] + encode(lm, p), encode(lm, ans)).sum()
            assert got.logprob[i, a] == pytest.approx(want, abs=1e-4)
    per_row = answer_probs(base, PROMPTS[:1], [[" Yes"]], normalize="sum")
    assert per_row.logprob[0, 0] == pytest.approx(got.logprob[0, 0], abs=1e-4)


def test_bad_inputs(lm):
    with pytest.raises(WorkbenchError, match="unknown normalize 'avg'; choose from sum, mean, first"):
        answer_probs(lm, PROMPTS, ANSWERS, normalize="avg")
    with pytest.raises(WorkbenchError, match="non-empty list"):
        answer_probs(lm, PROMPTS, [])
    with pytest.raises(WorkbenchError, match="non-empty list"):
        answer_probs(lm, PROMPTS, " Yes")
    with pytest.raises(WorkbenchError, match="2 answer lists for 3 prompts"):
        answer_probs(lm, PROMPTS, [["a"], ["b"]])
    with pytest.raises(WorkbenchError, match="same number of answers"):
        answer_probs(lm, PROMPTS[:2], [["a"], ["b", "c"]])
    with pytest.raises(WorkbenchError, match="answer '' is empty"):
        answer_probs(lm, PROMPTS, ["a", ""])
    with pytest.raises(WorkbenchError, match="prompt 1 is empty"):
        answer_probs(lm, ["a", ""], ["a"])
    assert answer_probs(lm, [], ["a", "b"]).probs.shape == (0, 2)


@pytest.fixture
def calls(monkeypatch):
    """Every call to the readout, recorded (normalize, number of prompts) and passed through."""
    seen = []
    real = readout_module.answer_probs

    def spy(lm, prompts, answers, **kwargs):
        seen.append((kwargs.get("normalize", "sum"), len(prompts)))
        return real(lm, prompts, answers, **kwargs)
    monkeypatch.setattr(readout_module, "answer_probs", spy)
    return seen


def test_every_caller_reads_through_it(lm, calls):
    from workbench.deepfake.reasoning import Evidence, reason
    from workbench.evaluation.detectors import llm_detector
    from workbench.evaluation.judges import llm_pairwise_judge, safety_judge
    from workbench.evaluation.raters import rate
    from workbench.llm.rejection import Request, lm_judge
    from workbench.steering.clinical import clinical_qa
    from workbench.steering.evaluate import answer_scores, behaviour_probability
    from workbench.steering.medical import choose_options
    from workbench.taxonomy.classify import classify_llm

    def check(name, normalize, run):
        calls.clear()
        run()
        assert calls and {c[0] for c in calls} == {normalize}, name

    check("classify yesno", "sum", lambda: classify_llm(["hi"], "safety", lm))
    check("classify choice", "mean", lambda: classify_llm(["hi"], "semantic_type", lm, method="choice"))
    check("detector", "sum", lambda: llm_detector("tiny-llama").score(["p"], ["r"]))
    items = pd.DataFrame({"item_id": [1], "context": ["USER: hi"], "response": ["hello"]})
    check("raters", "sum", lambda: rate("tiny-llama", items))
    check("hhh pairwise", "sum", lambda: llm_pairwise_judge(lm)(["p"], ["a"], ["b"]))
    check("hhh safety", "sum", lambda: safety_judge(lm)(["p"], ["r"]))
    requests = [Request("p", "aligned", "care")]
    check("rejection", "sum", lambda: lm_judge(lm, max_critique_tokens=1)(requests, ["r"]))
    check("rejection contrastive", "sum",
          lambda: lm_judge(lm, max_critique_tokens=1, contrastive=True)(requests, ["r"]))
    check("deepfake", "sum", lambda: reason(lm, [Evidence({"audio": 1.0}, {"audio": 0.0})], rationale_tokens=0))
    check("medical", "sum", lambda: choose_options(lm, clinical_qa("eval", "mcq").head(1)))
    check("steering scores", "mean", lambda: answer_scores(lm, ["p"], ["yes"]))
    check("behaviour", "mean", lambda: behaviour_probability(lm, ["p"], ["yes"], ["no"]))


def test_callers_keep_their_probabilities(lm):
    """Each caller's number is the readout's, as the callers computed it before they shared one readout."""
    from workbench.deepfake.reasoning import INSTRUCTION, Evidence, reason
    from workbench.steering.evaluate import behaviour_probability

    evidence = Evidence({"audio": 1.0}, {"audio": 0.0})
    out = reason(lm, [evidence], rationale_tokens=0)[0]
    prompts = [build_prompt(lm, f"{INSTRUCTION}\n\n{evidence.text()}") + "Verdict:"]
    logp = answer_probs(lm, prompts, [" real", " fake"]).logprob[0]
    assert out["score"] == pytest.approx(logp[0] - logp[1], abs=1e-6)
    assert out["p_real"] == pytest.approx(1 / (1 + np.exp(logp[1] - logp[0])), abs=1e-9)
    r = behaviour_probability(lm, ["Say something."], ["yes yes"], ["no no no"])
    s = expected(lm, [build_prompt(lm, "Say something.")], [["yes yes", "no no no"]], "mean")[0][0]
    assert r["per_item"][0] == pytest.approx(1 / (1 + np.exp(s[1] - s[0])), abs=1e-5)
