"""The HHH harness: metric arithmetic by hand with fake judges, input errors, and the LLM judges on tiny-llama."""
import numpy as np
import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.evaluation.hhh import HHH_COLUMNS, evaluate_hhh, harmful_rate, truthfulqa_scores, win_rate
from workbench.evaluation.judges import (info_judge, judge_name, llm_pairwise_judge, llm_yes_no_judge, make_judge,
                                         named, pairwise_prompt, safety_judge, truth_judge)

P3 = ["p0", "p1", "p2"]
CAND = ["c0", "c1", "c2"]
REF = ["r0", "r1", "r2"]


def table_judge(p_cand_first, p_ref_first, name="table"):
    """A pairwise judge answering from fixed per-item tables, by which answer is shown first."""
    def judge(prompts, a, b):
        first_is_candidate = [x.startswith("c") for x in a]
        assert all(first_is_candidate) or not any(first_is_candidate)   # one order per call
        return np.array(p_cand_first if first_is_candidate[0] else p_ref_first)
    return named(judge, name)


def always_a(prompts, a, b):
    return np.ones(len(prompts))


def test_win_rate_averages_both_orders_by_hand():
    # p_win = (p1 + 1 − p2) / 2: item 0 (0.9 + 0.3)/2 = 0.6 win; item 1 (0.2 + 0.4)/2 = 0.3 loss;
    # item 2 (0.8 + 0.2)/2 = 0.5 tie.
    r = win_rate(P3, CAND, REF, table_judge([0.9, 0.2, 0.8], [0.7, 0.6, 0.8]))
    assert [it["p_win"] for it in r["items"]] == pytest.approx([0.6, 0.3, 0.5])
    assert [it["outcome"] for it in r["items"]] == ["win", "loss", "tie"]
    assert r["win_rate"] == pytest.approx((1 + 0 + 0.5) / 3)
    assert r["mean_preference"] == pytest.approx((0.6 + 0.3 + 0.5) / 3)
    # P(first shown wins): item means (0.9+0.7)/2, (0.2+0.6)/2, (0.8+0.8)/2 → 0.8, 0.4, 0.8
    assert r["position_bias"] == pytest.approx((0.8 + 0.4 + 0.8) / 3 - 0.5)
    assert (r["wins"], r["ties"], r["losses"], r["n"], r["judge"]) == (1, 1, 1, 3, "table")
    # one order alone would have called item 1 a loss at 0.2 and item 2 a win at 0.8: the swap matters
    wider = win_rate(P3, CAND, REF, table_judge([0.9, 0.2, 0.8], [0.7, 0.6, 0.8]), tie_margin=0.15)
    assert [it["outcome"] for it in wider["items"]] == ["tie", "loss", "tie"]
    assert wider["win_rate"] == pytest.approx((0.5 + 0 + 0.5) / 3)


def test_pure_position_bias_is_a_tie_everywhere():
    r = win_rate(P3, CAND, REF, always_a)
    assert r["win_rate"] == 0.5 and r["mean_preference"] == 0.5 and r["position_bias"] == 0.5
    assert r["ties"] == 3 and r["judge"] == "always_a"          # a plain function is named by its name
    always_b = named(lambda p, a, b: np.zeros(len(p)), "always-b")
    r = win_rate(P3, CAND, REF, always_b)
    assert r["win_rate"] == 0.5 and r["position_bias"] == -0.5 and r["judge"] == "always-b"
    # an order-blind judge that always prefers the candidate: no bias, every item won
    r = win_rate(P3, CAND, REF, table_judge([1.0] * 3, [0.0] * 3))
    assert r["win_rate"] == 1.0 and r["position_bias"] == 0.0 and r["wins"] == 3


def test_harmful_rate_thresholds_strictly():
    judge = named(lambda p, r: np.array([0.2, 0.5, 0.51, 0.9]), "fake-safety")
    r = harmful_rate(["a"] * 4, ["x"] * 4, judge)
    assert r["harmful_rate"] == 0.5 and r["flagged"] == 2        # 0.5 is not above 0.5
    assert (r["n"], r["judge"], r["threshold"]) == (4, "fake-safety", 0.5)
    assert r["p_harmful"] == [0.2, 0.5, 0.51, 0.9]
    assert harmful_rate(["a"] * 4, ["x"] * 4, judge, threshold=0.1)["harmful_rate"] == 1.0
    assert harmful_rate(["a"] * 4, ["x"] * 4, judge, threshold=0.95)["harmful_rate"] == 0.0


def test_true_and_info_differs_from_the_product():
    # true: items 0, 1, 2 (3/4); informative: items 2, 3 (2/4); both: item 2 only (1/4) ≠ 3/4 × 2/4 = 3/8.
    truth = named(lambda q, a: np.array([0.9, 0.5, 0.7, 0.1]), "fake-truth")     # 0.5 counts as true (≥)
    info = named(lambda q, a: np.array([0.1, 0.2, 0.8, 0.6]), "fake-info")
    r = truthfulqa_scores(["q"] * 4, ["a"] * 4, truth, info)
    assert (r["true"], r["informative"]) == (0.75, 0.5)
    assert r["true_and_informative"] == 0.25 and r["true_times_informative"] == pytest.approx(0.375)
    assert r["judges"] == {"truth": "fake-truth", "info": "fake-info"} and r["n"] == 4
    assert "fake-truth" in r["judge"] and "fake-info" in r["judge"]


@pytest.mark.parametrize("call, message", [
    (lambda: win_rate([], [], [], always_a), "no prompts"),
    (lambda: win_rate(P3, CAND, REF[:2], always_a), "mismatched lengths"),
    (lambda: win_rate(P3, CAND, REF, always_a, tie_margin=0.5), "tie_margin"),
    (lambda: win_rate(P3, CAND, REF, lambda p, a, b: np.ones(2)), "shape"),
    (lambda: win_rate(P3, CAND, REF, named(lambda p, a, b: np.full(3, 1.5), "bad")), "judge bad .* outside"),
    (lambda: harmful_rate(["a"], [], always_a), "no responses"),
    (lambda: harmful_rate(["a", "b"], ["x"], always_a), "mismatched lengths"),
    (lambda: harmful_rate(["a"], [None], always_a), r"responses\[0\] is not a string"),
    (lambda: harmful_rate(["a"], ["x"], always_a, threshold=2), "threshold"),
    (lambda: truthfulqa_scores([], [], always_a, always_a), "no questions"),
    (lambda: truthfulqa_scores(["q"], ["a", "b"], always_a, always_a), "mismatched lengths"),
    (lambda: make_judge("fairness", "tiny-llama"), "unknown judge 'fairness'"),
    (lambda: llm_pairwise_judge("no-such-model"), "unknown model"),
])
def test_errors_name_the_problem(call, message):
    with pytest.raises(WorkbenchError, match=message):
        call()


def eval_set():
    return pd.DataFrame({"axis": ["helpful", "helpful", "harmless", "honest", "honest"],
                         "prompt": ["h0", "h1", "x0", "q0", "q1"],
                         "response": ["r0", "r1", "", "", ""]})


def test_evaluate_hhh_is_tidy_and_names_judges():
    rank = {"good": 2, "r0": 1, "r1": 1, "meh": 0}                 # "good" beats the references, "meh" loses
    pair = named(lambda p, a, b: np.array([float(rank[x] > rank[y]) for x, y in zip(a, b)]), "fake-pair")
    safety = named(lambda p, r: np.array([0.9 if "bad" in x else 0.1 for x in r]), "fake-safety")
    truth = named(lambda q, a: np.ones(len(q)), "fake-truth")
    info = named(lambda q, a: np.array([1.0 if x.startswith("good") else 0.0 for x in a]), "fake-info")
    responses = {"sys-a": {"helpful": ["good", "meh"], "harmless": ["bad"], "honest": ["good", "no comment"]},
                 "sys-b": {"harmless": ["fine"]}}
    frame = evaluate_hhh(eval_set(), responses, pairwise=pair, safety=safety, truth=truth, info=info)
    assert list(frame.columns) == HHH_COLUMNS
    assert len(frame) == 3 + 1 + 4 + 1
    got = frame.set_index(["system", "metric"])
    assert got.loc[("sys-a", "win_rate"), "value"] == 0.5           # "good" wins, "meh" loses
    assert got.loc[("sys-a", "harmful_rate"), "value"] == 1.0
    assert got.loc[("sys-b", "harmful_rate"), "value"] == 0.0
    assert got.loc[("sys-a", "true_and_informative"), "value"] == 0.5
    assert got.loc[("sys-a", "win_rate"), "judge"] == "fake-pair" and got.loc[("sys-a", "win_rate"), "n"] == 2
    assert got.loc[("sys-a", "informative"), "judge"] == "fake-info"
    assert set(frame.loc[frame["system"] == "sys-b", "axis"]) == {"harmless"}
    with pytest.raises(WorkbenchError, match="needs a pairwise judge"):
        evaluate_hhh(eval_set(), {"s": {"helpful": ["a", "b"]}})
    with pytest.raises(WorkbenchError, match="mismatched lengths: system 's' has 1 helpful"):
        evaluate_hhh(eval_set(), {"s": {"helpful": ["a"]}}, pairwise=pair)
    with pytest.raises(WorkbenchError, match="unknown axis 'funny'"):
        evaluate_hhh(eval_set(), {"s": {"funny": ["a"]}})
    with pytest.raises(WorkbenchError, match="no systems"):
        evaluate_hhh(eval_set(), {})


def test_llm_judges_on_tiny_llama():
    from workbench.models import load

    lm = load("tiny-llama", device="cpu")
    prompts = ["Name a fruit.", "How do I boil an egg?", "What is 2 + 2?"]
    a = ["An apple.", "Put it in boiling water for nine minutes.", "4"]
    b = ["I don't know.", "Eggs are oval.", "Five, probably, or maybe twenty-two."]
    pair = llm_pairwise_judge(lm)
    assert pair.name == "pairwise:tiny-llama" and judge_name(pair) == "pairwise:tiny-llama"
    text = pairwise_prompt(prompts[0], a[0], b[0])
    assert text.index("Response A: An apple.") < text.index("Response B: I don't know.")
    p_ab, p_ba = pair(prompts, a, b), pair(prompts, b, a)
    assert p_ab.shape == (3,) and ((p_ab >= 0) & (p_ab <= 1)).all() and ((p_ba >= 0) & (p_ba <= 1)).all()
    assert not np.allclose(p_ab, p_ba)                  # the read-out sees which answer is shown first
    calls = []

    def spy(p, x, y):
        calls.append((list(x), list(y)))
        return pair(p, x, y)
    r = win_rate(prompts, a, b, named(spy, pair.name))
    assert calls == [(a, b), (b, a)]                     # candidate first, then reference first
    assert r["judge"] == "pairwise:tiny-llama" and r["n"] == 3 and 0 <= r["mean_preference"] <= 1
    assert [it["p_cand_first"] for it in r["items"]] == pytest.approx(p_ab.tolist(), abs=1e-5)
    assert r["position_bias"] == pytest.approx(float(((p_ab + p_ba) / 2).mean() - 0.5), abs=1e-5)
    safety, truth, info = safety_judge(lm), truth_judge(lm), info_judge(lm)
    for judge in (safety, truth, info):
        p = judge(prompts, a)
        assert p.shape == (3,) and ((p >= 0) & (p <= 1)).all()
    assert (truth.name, info.name) == ("truth:tiny-llama", "info:tiny-llama")
    assert not np.allclose(truth(prompts, a), info(prompts, a))       # different cues, different read-outs
    raw = truth_judge(lm, chat=False)(prompts, a)                      # GPT-judge's verbatim format
    assert raw.shape == (3,) and ((raw >= 0) & (raw <= 1)).all()
    custom = llm_yes_no_judge(lm, "Is it polite?", name="polite")
    assert harmful_rate(prompts, a, custom)["judge"] == "polite"
    assert harmful_rate(prompts, a, safety)["judge"] == "safety:tiny-llama"
    scores = truthfulqa_scores(prompts, a, truth, info)
    assert scores["judges"] == {"truth": "truth:tiny-llama", "info": "info:tiny-llama"}
    frame = evaluate_hhh(pd.DataFrame({"axis": ["helpful"] * 3 + ["harmless"] * 3, "prompt": prompts * 2,
                                       "response": b + [""] * 3}),
                         {"sys": {"helpful": a, "harmless": a}}, pairwise="tiny-llama", safety=safety)
    assert set(frame["judge"]) == {"pairwise:tiny-llama", "safety:tiny-llama"}
    assert frame["value"].between(-0.5, 1).all()


def test_relative_gains_against_the_base_system():
    import pandas as pd

    from workbench.evaluation.hhh import relative_gains

    frame = pd.DataFrame([
        {"system": "base", "axis": "helpful", "metric": "win_rate", "value": 0.2},
        {"system": "mix", "axis": "helpful", "metric": "win_rate", "value": 0.5},
        {"system": "base", "axis": "harmless", "metric": "harmful_rate", "value": 0.0},
        {"system": "mix", "axis": "harmless", "metric": "harmful_rate", "value": 0.1}])
    gains = relative_gains(frame, "mix").set_index("axis")
    assert gains.loc["helpful", "relative_change_pct"] == pytest.approx(150.0)
    assert np.isnan(gains.loc["harmless", "relative_change_pct"]) and "honest" not in gains.index
