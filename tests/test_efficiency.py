import numpy as np
import pandas as pd
import pytest
import torch

from workbench import WorkbenchError
from workbench.experts.artifacts import measure_efficiency
from workbench.experts.efficiency import (compare_latency, compare_memory, efficiency_rows, encode_left, full_copies,
                                          greedy)
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
    assert latency["latency_ratio_dense"] > 0 and latency["latency_ratio_routed"] > 0
    assert latency["routing_top_k"] == moe.router.config.top_k and latency["experts"] == 3
    assert "xlora_s_per_token" in latency or "xlora_error" in latency
    with pytest.raises(WorkbenchError, match="at least one new token"):
        compare_latency(moe, folder, PROMPTS, n_tokens=0)
    assert latency["routing_calibrator"] == "temperature"
    with pytest.raises(WorkbenchError, match="calibrator"):     # the paper's calibrator reaches the routing
        compare_latency(moe, folder, PROMPTS, n_tokens=1, repeats=1, calibrator="no-such-calibrator")
    memory = compare_memory(folder, PROMPTS[:1], n_tokens=2)
    assert memory["ours_peak_bytes"] > 0 and memory["naive_peak_bytes"] > 0 and memory["measured_with"] == "peak RSS"
    assert memory["memory_routing"] == "dense"
    with pytest.raises(WorkbenchError, match="one row of expert weights per prompt"):
        compare_memory(folder, PROMPTS[:1], n_tokens=2, weights=np.ones((2, 3)))


def test_efficiency_rows_of_a_build_name_the_configured_system_and_its_baseline(trained):
    """The bug: the efficiency figures reported ours-dense / three-copies-dense as "the" ratio, although the
    papers' systems route top-1. Each row now names its system and baseline; the configured system's ratio is
    the top-1 routed one, and the dense ratio is labelled as dense vs three copies."""
    folder, moe = trained
    assert moe.router.config.top_k == 1            # as AlignX and TrinityX configure it
    result = measure_efficiency(moe, folder, PROMPTS, smoke=True, label="AlignX")
    rows = {(r["quantity"], r["configured"]): r for r in result["rows"]}
    routed = rows[("latency", True)]
    assert routed["system"] == "AlignX top-1 routed (1 expert per prompt)"
    assert routed["baseline"].startswith("three separate full copies") and "top-1 routed" in routed["baseline"]
    assert routed["ratio"] == pytest.approx(result["ours_routed_s_per_token"] / result["naive_routed_s_per_token"])
    assert routed["reduction_pct"] == pytest.approx(100 * (1 - routed["ratio"]))
    dense = rows[("latency", False)]
    assert dense["system"].startswith("AlignX dense mixture of 3 experts") and "dense" in dense["baseline"]
    assert dense["note"].startswith("dense vs three copies")
    assert dense["ratio"] == pytest.approx(result["ours_dense_s_per_token"] / result["naive_dense_s_per_token"])
    assert ("memory", True) not in rows           # smoke size: memory is not measured, so no memory row


def test_efficiency_rows_by_hand():
    figures = {"experts": 3, "routing_top_k": 2, "ours_dense_s_per_token": 1.0, "naive_dense_s_per_token": 2.0,
               "ours_routed_s_per_token": 1.0, "naive_routed_s_per_token": 4.0, "ours_peak_bytes": 10,
               "naive_peak_bytes": 40, "memory_routing": "dense", "measured_with": "peak RSS"}
    rows = efficiency_rows(figures, "TrinityX")
    assert [(r["quantity"], r["configured"], r["ratio"]) for r in rows] == [
        ("latency", True, 0.25), ("memory", False, 0.25), ("latency", False, 0.5)]
    assert rows[0]["system"] == "TrinityX top-2 routed (2 experts per prompt)"
    assert "dense" in rows[1]["system"]            # memory measured densely is labelled so, not as the system
