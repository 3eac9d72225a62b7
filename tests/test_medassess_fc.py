"""P7 Factual Consistency can fail: a planted response stating another answer than the reference is inconsistent
even when the judge (here a judge that never sees a contradiction, like a weak LLM judge) passes it."""
import numpy as np
import pandas as pd

from workbench.steering import medical
from workbench.steering.clinical import clinical_qa, stated_answer


def test_stated_answer_reads_the_first_word_or_the_word_after_answer_is():
    mcq, yesno = ("A", "B", "C", "D"), ("yes", "no", "maybe")
    assert [stated_answer(t, mcq) for t in ("B. Because x", "(C) x", "The answer is D.", "Option A) is")] == \
        ["B", "C", "D", "A"]
    assert [stated_answer(t, mcq) for t in ("A patient with x", "E.", "I am not sure", None)] == [None] * 4
    assert [stated_answer(t, yesno) for t in ("Yes, because", "no.", "The answer is Maybe", "Nobody knows")] == \
        ["yes", "no", "maybe", None]


def test_a_planted_inconsistent_answer_fails_factual_consistency(monkeypatch):
    items = pd.concat([clinical_qa("eval", "mcq").head(2), clinical_qa("eval", "yesno").head(2)], ignore_index=True)
    wrong = {"yes": "No.", "no": "Yes.", "maybe": "No."}
    planted = [
        items["consistent"][0],                                                  # consistent: states the key
        next(f"{x}. It is." for x in "ABCD" if x != items["answer"][1]),          # states another option
        f"{items['answer'][2].capitalize()}. As the reference says.",            # consistent
        wrong[items["answer"][3]] + " Despite the evidence.",                    # states the opposite
    ]
    monkeypatch.setattr(medical, "choose_options", lambda lm, frame: list(frame["answer"]))
    monkeypatch.setattr(medical, "explain", lambda lm, frame, **kw: planted)

    def never_contradicts(prompts, responses):
        return np.full(len(prompts), 0.1)
    never_contradicts.name = "lenient"
    monkeypatch.setattr(medical, "consistency_judge", lambda model: never_contradicts)
    monkeypatch.setattr(medical, "medical_safety_judge", lambda model: never_contradicts)
    metrics, frame = medical.evaluate(None, items, judge="j")
    assert frame["consistent"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert metrics["factual_consistency"] == 0.5
    assert frame["stated"].tolist()[0] == items["answer"][0]
