import numpy as np
import pytest
import torch

from workbench import WorkbenchError
from workbench.llm import build_prompt
from workbench.llm.scoring import score_continuations
from workbench.models import load

CONTINUATIONS = ["Domain: animals\nBelongs:", "Domain: a much longer label name here\nBelongs:", "x",
                 "Domain: weapons\nBelongs:"]


@pytest.fixture(params=["tiny-llama", "tiny-gpt2"])
def lm(request):
    return load(request.param, device="cpu")


def test_shared_prefix_equals_naive(lm):
    prefix = build_prompt(lm, "Is it safe to feed chocolate to a dog? " * 4)
    shared = score_continuations(lm, prefix, CONTINUATIONS, readout=["<|im_end|>", "<pad>"], max_packed_tokens=12)
    naive = score_continuations(lm, prefix, CONTINUATIONS, readout=["<|im_end|>", "<pad>"], reuse_prefix=False)
    np.testing.assert_allclose(shared.logprob, naive.logprob, atol=1e-4)
    np.testing.assert_allclose(shared.readout, naive.readout, atol=1e-4)
    assert shared.n_tokens.tolist() == naive.n_tokens.tolist()
    assert shared.tokens_processed < naive.tokens_processed
    # per-token log-probabilities (what the readout's mean and first-token modes read) add up to the total
    assert [len(t) for t in shared.token_logprobs] == shared.n_tokens.tolist()
    np.testing.assert_allclose([t.sum() for t in shared.token_logprobs], shared.logprob, atol=1e-4)
    for a, b in zip(shared.token_logprobs, naive.token_logprobs):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_matches_a_hand_computed_log_likelihood(lm):
    prefix, cont = build_prompt(lm, "hello there"), " the cat sat"
    p_ids = lm.tokenizer.encode(prefix, add_special_tokens=False)
    c_ids = lm.tokenizer.encode(cont, add_special_tokens=False)
    with torch.no_grad():
        logits = lm.model(input_ids=torch.tensor([p_ids + c_ids])).logits[0]
    logp = torch.log_softmax(logits.float(), -1)
    expected = sum(float(logp[len(p_ids) - 1 + k, t]) for k, t in enumerate(c_ids))
    got = score_continuations(lm, prefix, [cont, "x"]).logprob[0]
    assert abs(got - expected) < 1e-4


def test_packing_does_not_change_scores(lm):
    prefix = build_prompt(lm, "classify me")
    a = score_continuations(lm, prefix, CONTINUATIONS, max_packed_tokens=1).logprob    # one continuation a pass
    b = score_continuations(lm, prefix, CONTINUATIONS, max_packed_tokens=4096).logprob  # all in one pass
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_bad_inputs(lm):
    with pytest.raises(WorkbenchError, match="no continuations"):
        score_continuations(lm, "prefix", [])
    with pytest.raises(WorkbenchError, match="continuation 1 is empty"):
        score_continuations(lm, "prefix", ["a", ""])
    with pytest.raises(WorkbenchError, match="must be a single token"):
        score_continuations(lm, "prefix", ["a"], readout=["supercalifragilistic"])


def test_answer_logprobs_batched_matches_one_by_one():
    from workbench.llm.scoring import answer_logprobs

    lm = load("smollm2-135m-instruct", device="cpu")
    prompts = ["Is the sky blue? Answer:", "Question: is fire cold? Please answer carefully and briefly. Answer:",
               "Is 2 + 2 = 4? Answer:"]
    batched = answer_logprobs(lm, prompts, [" Yes", " No"], batch_size=3)      # left-padded rows
    for i, p in enumerate(prompts):
        np.testing.assert_allclose(batched[i], score_continuations(lm, p, [" Yes", " No"]).logprob, atol=1e-4)
    mixed = answer_logprobs(lm, prompts, [" Yes", " Unsure", " No"], batch_size=2)   # " Unsure": 3 tokens
    for i, p in enumerate(prompts):
        np.testing.assert_allclose(mixed[i], score_continuations(lm, p, [" Yes", " Unsure", " No"]).logprob,
                                   atol=1e-4)
    tiny = load("tiny-llama", device="cpu")        # splits " Yes" and " No" into several tokens
    whole = answer_logprobs(tiny, prompts, [" Yes", " No"], batch_size=3)
    for i, p in enumerate(prompts):
        np.testing.assert_allclose(whole[i], score_continuations(tiny, p, [" Yes", " No"]).logprob, atol=1e-4)
    with pytest.raises(WorkbenchError, match="prompt 1 is empty"):
        answer_logprobs(lm, ["a", ""], [" Yes"])


def test_keeping_only_the_last_logits_reads_the_same_numbers(lm):
    """``_left_padded(keep=k)`` gives the last k positions of the full logits (the read-outs ask for no more)."""
    from workbench.llm.scoring import _left_padded, answer_token_logprobs, pair_token_logprobs

    rng = np.random.default_rng(0)
    seqs = [rng.integers(5, 200, n).tolist() for n in (3, 9, 17)]
    with torch.no_grad():
        full, last = _left_padded(lm, seqs, 0), _left_padded(lm, seqs, 0, keep=4)
    assert last.shape == (3, 4, full.shape[2])
    torch.testing.assert_close(last, full[:, -4:], rtol=0, atol=1e-6)
    assert _left_padded(lm, seqs, 0, keep=99).shape == full.shape            # more than there is: all of them
    # the read-outs against the same logits taken whole
    answers, paired = [[7], [8, 9]], [rng.integers(5, 200, n).tolist() for n in (1, 3, 2)]
    with torch.no_grad():
        logp = [torch.log_softmax(_left_padded(lm, [s], 0)[0].float(), -1) for s in seqs]
    shared = answer_token_logprobs(lm, seqs, answers, batch_size=2)
    for i, row in enumerate(logp):
        assert shared[0][i, 0] == pytest.approx(float(row[-1, 7]), abs=1e-5)
    with torch.no_grad():
        whole = [torch.log_softmax(_left_padded(lm, [s + a], 0)[0].float(), -1) for s, a in zip(seqs, paired)]
    for got, row, a in zip(pair_token_logprobs(lm, seqs, paired, batch_size=2), whole, paired):
        want = [float(row[len(row) - len(a) - 1 + k, t]) for k, t in enumerate(a)]
        np.testing.assert_allclose(got, want, atol=1e-5)
