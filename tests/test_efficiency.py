import numpy as np
import pandas as pd
import pytest
import torch

from workbench import WorkbenchError
from workbench.experts.efficiency import compare_latency, compare_memory, encode_left, full_copies, greedy
from workbench.experts.mixture import build_mixture
from workbench.experts.moe import MixtureOfExperts, one_hot
from workbench.experts.train import ExpertConfig

PROMPTS = ["helpful question number 1?", "harmless question 2?", "honest question 3?"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("eff")
    rows = [{"id": f"{a}-{i}", "axis": a, "split": "train" if i < 10 else "eval", "prompt": f"{a} question {i}?",
             "response": r} for a, r in (("helpful", "Four."), ("harmless", "No."), ("honest", "Unknown."))
            for i in range(14)]
    build_mixture("tiny-llama", pd.DataFrame(rows), out, experts=ExpertConfig(epochs=2, lr=5e-3), router_epochs=20)
    return out, MixtureOfExperts.load(out, device="cpu")


def test_the_greedy_loop_matches_generate_and_its_uncached_form(trained):
    folder, moe = trained
    enc = encode_left(moe.lm(), PROMPTS)
    cached = greedy([moe.model], one_hot([0, 1, 2], 3), enc, 5, mixture=moe)
    uncached = greedy([moe.model], one_hot([0, 1, 2], 3), enc, 5, mixture=moe, use_cache=False)
    assert torch.equal(cached, uncached)
    # the loop decodes like transformers' generate with the expert of each row alone
    for row, axis in enumerate(moe.axes):
        moe.model.set_adapter(axis)
        ref = moe.model.generate(**enc, max_new_tokens=5, min_new_tokens=5, do_sample=False,
                                 pad_token_id=moe.tokenizer.pad_token_id)[:, enc["input_ids"].shape[1]:]
        assert torch.equal(cached[row], ref[row])
    # a naive mixture over full copies with one-hot weights is the chosen copy alone
    copies = full_copies(folder, moe.axes)
    assert torch.equal(greedy(copies, one_hot([0, 1, 2], 3), enc, 5), cached)


def test_compare_latency_and_memory_report_ratios(trained):
    folder, moe = trained
    latency = compare_latency(moe, folder, PROMPTS, n_tokens=3, repeats=1)
    assert latency["outputs_equal_one_hot"] is True
    assert latency["latency_ratio"] > 0 and latency["latency_ratio_top1"] > 0
    assert "xlora_s_per_token" in latency or "xlora_error" in latency
    with pytest.raises(WorkbenchError, match="at least one new token"):
        compare_latency(moe, folder, PROMPTS, n_tokens=0)
    memory = compare_memory(folder, PROMPTS[:1], n_tokens=2)
    assert memory["ours_peak_bytes"] > 0 and memory["naive_peak_bytes"] > 0 and memory["measured_with"] == "peak RSS"
