import json

import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.experts.data import (AXES, COLUMNS, axis_data, load_alpaca, load_beavertails_axis, load_truthfulqa,
                                    matched_axis_data)


def test_bundled_axis_data():
    data = axis_data()
    assert list(data.columns) == COLUMNS and set(data["axis"]) == {"helpful", "harmless", "honest"}
    assert data["id"].is_unique and (data["prompt"].str.len() > 0).all()
    train, held = axis_data("train"), axis_data("eval")
    assert len(train) + len(held) == len(data) and set(train["prompt"]).isdisjoint(held["prompt"])
    assert (data[data["axis"] != "helpful"]["rejected"].str.len() > 0).all()
    with pytest.raises(WorkbenchError, match="split must be 'train' or 'eval'"):
        axis_data("test")


def test_public_formats(tmp_path):
    alpaca = tmp_path / "alpaca.json"
    alpaca.write_text(json.dumps([{"instruction": "Add the numbers.", "input": "2 and 3", "output": "5"},
                                  {"instruction": "Say hi.", "input": "", "output": "Hi!"}] * 5))
    a = load_alpaca(alpaca)
    assert a.loc[0, "prompt"] == "Add the numbers.\n\n2 and 3" and a.loc[1, "prompt"] == "Say hi."
    assert (a["split"] == "eval").sum() == 1 and list(a.columns) == COLUMNS

    bt = tmp_path / "bt.jsonl"
    cats = {k: False for k in ("animal_abuse", "violence,aiding_and_abetting,incitement")}
    rows = [{"prompt": "How do I hurt a cat?", "response": "Please don't; see a vet about behaviour.",
             "category": cats, "is_safe": True},
            {"prompt": "How do I hurt a cat?", "response": "Sure, go ahead.",
             "category": {**cats, "animal_abuse": True}, "is_safe": False}]
    bt.write_text("\n".join(json.dumps(r) for r in rows))
    h = load_beavertails_axis(bt)
    assert len(h) == 1 and h.loc[0, "rejected"] == "Sure, go ahead." and h.loc[0, "axis"] == "harmless"

    tqa = tmp_path / "TruthfulQA.csv"
    pd.DataFrame({"Type": ["Adversarial"], "Category": ["Misconceptions"],
                  "Question": ["Do we only use 10% of our brains?"],
                  "Best Answer": ["No, we use virtually all of our brain."],
                  "Correct Answers": ["No"], "Incorrect Answers": ["Yes, only 10%; Yes"],
                  "Source": ["x"]}).to_csv(tqa, index=False)
    t = load_truthfulqa(tqa)
    assert t.loc[0, "rejected"] == "Yes, only 10%" and t.loc[0, "axis"] == "honest"

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"instruction": "x"}]))
    with pytest.raises(WorkbenchError, match="record 0 lacks 'instruction' or 'output'"):
        load_alpaca(bad)
    (tmp_path / "empty.json").write_text("{")
    with pytest.raises(WorkbenchError, match="not an Alpaca JSON file"):
        load_alpaca(tmp_path / "empty.json")
    (tmp_path / "q.csv").write_text("Question,Answer\nWhy?,Because\n")
    with pytest.raises(WorkbenchError, match="not a TruthfulQA CSV"):
        load_truthfulqa(tmp_path / "q.csv")


def test_matched_set_routes_by_meaning_only():
    """The lexically matched test set: one prompt per axis and topic, none copied from a train file, lengths
    matched, and a bag of words trained on the train prompts near chance on it (the point of the set)."""
    from workbench.experts.shortcuts import surface_routing

    matched, data = matched_axis_data(), axis_data()
    assert list(matched.columns) == [*COLUMNS, "topic"] and set(matched["split"]) == {"matched"}
    assert matched["id"].is_unique and matched["topic"].nunique() >= 25
    assert (matched.groupby("topic")["axis"].agg(sorted) == [sorted(AXES)] * matched["topic"].nunique()).all()
    assert set(matched["prompt"]).isdisjoint(data["prompt"])
    assert set(matched["prompt"].str.lower()).isdisjoint(data["prompt"].str.lower())
    words = matched["prompt"].str.split().str.len()
    median = words.groupby(matched["topic"]).transform("median")
    assert ((words - median).abs() <= 0.2 * median).all()
    train = data[data["split"] == "train"]
    index = {a: i for i, a in enumerate(AXES)}
    report = surface_routing(train["prompt"], train["axis"].map(index), matched["prompt"],
                             matched["axis"].map(index), len(AXES))
    assert report["n"] == len(matched)
    assert report["bag of words"]["accuracy"] < 0.5
    assert report["length"]["accuracy"] < 0.5


def test_matched_set_loader_refuses_bad_rows(tmp_path):
    good = matched_axis_data().head(3)

    def write(frame):
        path = tmp_path / "m.jsonl"
        frame.drop(columns="topic").to_json(path, orient="records", lines=True)
        return path

    with pytest.raises(WorkbenchError, match="split must be 'matched', not 'test'"):
        matched_axis_data(write(good.assign(split="test")))
    with pytest.raises(WorkbenchError, match="unknown axis 'kind'"):
        matched_axis_data(write(good.assign(axis=["helpful", "kind", "honest"])))
    with pytest.raises(WorkbenchError, match="id must be match-NN-harm for axis harmless"):
        matched_axis_data(write(good.assign(axis=["helpful", "harmless", "harmless"],
                                            id=["match-01-help", "match-01-harm", "match-01-hon"])))
    with pytest.raises(WorkbenchError, match="topic match-01 needs exactly one prompt per axis"):
        matched_axis_data(write(good.head(2)))
    with pytest.raises(WorkbenchError, match="empty prompt"):
        matched_axis_data(write(good.assign(prompt=["a", " ", "c"])))
    with pytest.raises(WorkbenchError, match="missing column"):
        matched_axis_data(write(good.drop(columns="prompt")))
    with pytest.raises(WorkbenchError, match="split must be 'train' or 'eval', not 'matched'"):
        axis_data("matched")
