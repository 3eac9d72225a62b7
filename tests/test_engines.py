"""The engines behind one interface (workbench.engines): the hf engine against today's code paths, the vllm
engine's absence, and (below) the fake-engine contract: pipelines give identical results through any engine."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from workbench import WorkbenchError

PROMPTS = ["Hello there", "Write one request about cooking, please, right now", "Hi",
           "What is the capital of France and why is it there"]
SEEDS = [3, 5, 7, 11]


@pytest.fixture(scope="module")
def lm():
    from workbench.models import load

    return load("tiny-llama")


@pytest.fixture
def hf(lm):
    from workbench.engines.hf import HFEngine

    return HFEngine(lm, batch_size=16)


def test_hf_sampling_equals_todays_single_prompt_calls(lm, hf):
    from workbench.llm.generate import generate

    today = [generate(lm, p, temperature=0.7, top_p=0.9, seed=s, max_new_tokens=10) for p, s in zip(PROMPTS, SEEDS)]
    batched = hf.generate(PROMPTS, seeds=SEEDS, temperature=0.7, top_p=0.9, max_new_tokens=10)
    assert [row[0] for row in batched] == today
    assert len(set(today)) == len(today)          # the seeds matter: not one text for all


def test_hf_greedy_equals_todays_generate_and_does_not_depend_on_batching(lm, hf):
    from workbench.engines.hf import HFEngine
    from workbench.llm.generate import generate

    today = [generate(lm, p, max_new_tokens=10) for p in PROMPTS]
    assert [row[0] for row in hf.generate(PROMPTS, max_new_tokens=10)] == today
    one_by_one = HFEngine(lm, batch_size=1).generate(PROMPTS, seeds=SEEDS, temperature=0.7, max_new_tokens=10)
    assert one_by_one == hf.generate(PROMPTS, seeds=SEEDS, temperature=0.7, max_new_tokens=10)


def test_n_samples_each_with_its_own_seed(hf):
    two = hf.generate(PROMPTS[:2], n=2, seeds=SEEDS[:2], temperature=1.0, max_new_tokens=8)
    one = hf.generate(PROMPTS[:2], seeds=SEEDS[:2], temperature=1.0, max_new_tokens=8)
    assert [r[0] for r in two] == [r[0] for r in one]          # sample 0 is the single-sample call
    assert all(r[0] != r[1] for r in two)                       # sample 1 draws from another seed
    assert hf.generate(PROMPTS[:1], n=3, max_new_tokens=4)[0][0] == hf.generate(PROMPTS[:1], n=3,
                                                                                 max_new_tokens=4)[0][2]
    with pytest.raises(WorkbenchError, match="one seed per prompt"):
        hf.generate(PROMPTS, seeds=[1, 2], temperature=0.7)


def test_hf_readout_is_todays_answer_probs(lm, hf):
    from workbench.llm.readout import answer_probs

    for kwargs in ({}, {"prefix": "Question: "}, {"normalize": "mean"}):
        ours = hf.answer_probs(PROMPTS, [" Yes", " No", " Unsure"], **kwargs)
        today = answer_probs(lm, PROMPTS, [" Yes", " No", " Unsure"], **kwargs)
        np.testing.assert_array_equal(ours.logprob, today.logprob)


def test_prompt_logprobs_match_a_full_forward_pass(lm, hf):
    import torch

    from workbench.llm.scoring import encode_prompt

    got = hf.prompt_logprobs(PROMPTS)
    for prompt, lp in zip(PROMPTS, got):
        ids = encode_prompt(lm, prompt)
        with torch.inference_mode():
            logits = lm.model(input_ids=torch.tensor([ids])).logits[0].float()
        want = torch.log_softmax(logits[:-1], -1).gather(1, torch.tensor(ids[1:])[:, None])[:, 0].numpy()
        assert lp.shape == (len(ids) - 1,)
        np.testing.assert_allclose(lp, want, atol=1e-4)


def test_engine_choice_and_clear_errors(monkeypatch, lm):
    from workbench.engines import as_engine, engine_kind, load_engine

    assert engine_kind() == "hf"
    monkeypatch.setenv("WORKBENCH_ENGINE", "nope")
    with pytest.raises(WorkbenchError, match="unknown engine 'nope'; choose from hf, vllm"):
        load_engine("tiny-llama")
    monkeypatch.delenv("WORKBENCH_ENGINE")
    assert load_engine("tiny-llama").lm is lm
    assert as_engine(lm).kind == "hf" and as_engine(as_engine(lm)).kind == "hf"
    with pytest.raises(WorkbenchError, match="neither an engine"):
        as_engine("tiny-llama")


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_vllm_absent_is_one_line_saying_how_to_install():
    from workbench.engines import load_engine

    with pytest.raises(WorkbenchError) as info:
        load_engine("tiny-llama", "vllm")
    assert "make paper-env" in str(info.value) and "\n" not in str(info.value)
