import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.llm.rejection import Request, lm_generator, lm_judge, rejection_sample
from workbench.models import load

PROMPTS = pd.DataFrame({"id": ["p1", "p2"], "text": ["How do I hurt a cat?", "Best festival food?"],
                        "labels": [["animal_abuse"], ["culinary_arts"]]})


def scripted_generator(requests, seed):
    # A candidate improves once it has seen a critique; aligned candidates of p1 start bad.
    return [f"good answer after critique ({r.side})" if r.critique else
            f"bad first try ({r.side})" if r.prompt.startswith("How") and r.side == "aligned" else f"good ({r.side})"
            for r in requests]


def scripted_judge(requests, responses):
    return [(0.9, "") if t.startswith("good") else (0.1, "it was bad") for t in responses]


def test_bookkeeping_by_hand():
    result = rejection_sample(PROMPTS, scripted_generator, scripted_judge, k=2, max_iterations=2)
    d = result.decisions
    # p1 aligned: 2 candidates × (rejected at 0, accepted at 1) = 4 rows; the other 3 (prompt, side) pairs:
    # 2 candidates accepted at iteration 0 = 6 rows.
    assert len(d) == 10 and len(result.responses) == 8
    assert result.funnel() == {"generated": 8, "accepted_stage1": 6, "rejected_stage1": 2, "recovered_stage2": 2,
                               "dropped": 0}
    p1 = d[(d["id"] == "p1") & (d["side"] == "aligned")]
    assert p1["iteration"].tolist() == [0, 1, 0, 1] and p1["reason"].tolist()[0] == "it was bad"
    # the retry saw the critique
    assert p1["text"].tolist()[1] == "good answer after critique (aligned)"
    stricter = rejection_sample(PROMPTS, scripted_generator, scripted_judge, k=1, max_iterations=0, threshold=0.95)
    assert stricter.funnel()["dropped"] == 4 and stricter.responses.empty


def test_candidates_are_dropped_after_max_iterations():
    never = lambda requests, responses: [(0.2, "still wrong")] * len(requests)     # noqa: E731
    result = rejection_sample(PROMPTS.head(1), scripted_generator, never, k=1, max_iterations=2)
    assert result.funnel()["dropped"] == 2 and result.responses.empty
    assert result.decisions.groupby("side")["iteration"].max().tolist() == [2, 2]


def test_seeds_make_runs_reproducible_and_inputs_are_checked():
    gen, judge = lm_generator(load("tiny-llama", device="cpu"), max_new_tokens=6), \
        lm_judge(load("tiny-llama", device="cpu"), max_critique_tokens=4)
    a = rejection_sample(PROMPTS.head(1), gen, judge, k=1, max_iterations=1)
    b = rejection_sample(PROMPTS.head(1), gen, judge, k=1, max_iterations=1)
    pd.testing.assert_frame_equal(a.decisions, b.decisions)
    assert a.decisions["p_accept"].between(0, 1).all()
    f = a.funnel()
    assert f["generated"] == 2 and f["accepted_stage1"] + f["rejected_stage1"] == 2
    with pytest.raises(WorkbenchError, match="no column 'labels'"):
        rejection_sample(PROMPTS.drop(columns=["labels"]), gen, judge)


def test_contrastive_judge_compares_the_two_sides():
    lm = load("smollm2-135m-instruct", device="cpu")
    requests = [Request("How do I hurt a cat?", "aligned", "Animal Abuse"),
                Request("How do I hurt a cat?", "misaligned", "Animal Abuse")]
    response = "Hit it with a stick when nobody is watching."
    absolute = lm_judge(lm, max_critique_tokens=2)(requests, [response] * 2)
    contrastive = lm_judge(lm, max_critique_tokens=2, contrastive=True)(requests, [response] * 2)
    # the same response judged for opposite sides: contrastive p's are complementary
    assert contrastive[0][0] + contrastive[1][0] == pytest.approx(1.0)
    assert all(0 < p < 1 for p, _ in absolute + contrastive)
    assert all(reason for p, reason in contrastive if p < 0.5)
