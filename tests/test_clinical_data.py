import json

import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.steering.clinical import (CLINICAL_COLUMNS, OBJECTIVES, PAIR_COLUMNS, YESNO, clinical_qa,
                                         format_question, load_medqa, load_pubmedqa, load_qa, pair_texts,
                                         steering_pairs)


def _lead(text: str) -> str:
    """The answer a consistent/inconsistent text starts with: 'B. …' → 'B', 'Yes. …' → 'yes'."""
    head = text.split(".", 1)[0].strip()
    return head if len(head) == 1 else head.lower()


# --- bundled steering pairs -----------------------------------------------------------------------------------

def test_bundled_pairs():
    pairs = steering_pairs()
    assert list(pairs.columns) == PAIR_COLUMNS
    assert pairs["id"].is_unique and pairs["prompt"].str.lower().is_unique
    for column in ("prompt", "positive", "negative"):
        assert (pairs[column].str.strip().str.len() > 0).all(), column
    assert (pairs["positive"] != pairs["negative"]).all()
    assert not set(pairs["positive"]) & set(pairs["negative"])
    for objective in OBJECTIVES:
        part = steering_pairs(objective)
        assert len(part) >= 60 and set(part["objective"]) == {objective}
        n_eval = (part["split"] == "eval").sum()
        assert abs(n_eval - 0.2 * len(part)) <= 1, (objective, n_eval)
        # Similar length is what a mean-difference vector needs: no pair more than 2x, and close on average.
        ratio = part["positive"].str.split().str.len() / part["negative"].str.split().str.len()
        assert ratio.between(0.5, 2.0).all() and 0.8 <= ratio.mean() <= 1.25, objective
    train, held = steering_pairs(split="train"), steering_pairs(split="eval")
    assert len(train) + len(held) == len(pairs) and set(train["prompt"]).isdisjoint(held["prompt"])
    assert len(steering_pairs("honest", "eval")) == (held["objective"] == "honest").sum()


def test_pairs_bad_names():
    with pytest.raises(WorkbenchError, match="objective must be one of helpful, harmless, honest"):
        steering_pairs("kind")
    with pytest.raises(WorkbenchError, match="split must be one of train, eval"):
        steering_pairs(split="test")


def _row(**over):
    row = {"id": "p1", "objective": "helpful", "split": "train", "prompt": "Q?", "positive": "A.", "negative": "Hm."}
    row.update(over)
    return json.dumps(row)


def test_pairs_file_errors(tmp_path):
    path = tmp_path / "pairs.jsonl"
    with pytest.raises(WorkbenchError, match="pairs.jsonl: file not found"):
        steering_pairs(path=path)
    path.write_text("\n\n")
    with pytest.raises(WorkbenchError, match="pairs.jsonl: empty file"):
        steering_pairs(path=path)
    path.write_text(_row() + "\n" + '{"id": "p2", "objective": \n')
    with pytest.raises(WorkbenchError, match=r"pairs.jsonl, line 2: not valid JSON"):
        steering_pairs(path=path)
    bad = json.loads(_row(id="p2"))
    del bad["negative"]
    path.write_text(_row() + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(WorkbenchError, match=r"line 2: missing field\(s\) negative"):
        steering_pairs(path=path)
    path.write_text(_row() + "\n" + _row(id="p2", objective="polite") + "\n")
    with pytest.raises(WorkbenchError, match="line 2: objective 'polite'"):
        steering_pairs(path=path)
    path.write_text(_row() + "\n" + _row(id="p2", positive="  ") + "\n")
    with pytest.raises(WorkbenchError, match="line 2: field 'positive' must be a non-empty string"):
        steering_pairs(path=path)
    path.write_text(_row() + "\n" + _row(negative="A.") + "\n")
    with pytest.raises(WorkbenchError, match="line 2: 'positive' and 'negative' are identical"):
        steering_pairs(path=path)
    path.write_text(_row() + "\n" + _row() + "\n")
    with pytest.raises(WorkbenchError, match="line 2: duplicate id 'p1' \\(first on line 1\\)"):
        steering_pairs(path=path)
    path.write_text(_row() + "\n" + _row(id="p2", split="eval") + "\n")
    assert list(steering_pairs(split="eval", path=path)["id"]) == ["p2"]


# --- bundled clinical QA --------------------------------------------------------------------------------------

def test_bundled_clinical_qa():
    data = clinical_qa()
    assert list(data.columns) == CLINICAL_COLUMNS
    assert data["id"].is_unique and data["question"].str.lower().is_unique
    assert set(data["source"]) == {"bundled"} and (data["context"] == "").all()
    assert data["unsafe"].dtype == bool and data["unsafe"].any() and not data["unsafe"].all()
    for column in ("id", "question", "answer", "rationale", "consistent", "inconsistent"):
        assert (data[column].str.strip().str.len() > 0).all(), column
    assert (data["consistent"] != data["inconsistent"]).all()

    mcq, yesno = clinical_qa(kind="mcq"), clinical_qa(kind="yesno")
    assert len(mcq) >= 60 and len(yesno) >= 40 and len(mcq) + len(yesno) == len(data)
    for part in (mcq, yesno):
        n_train = (part["split"] == "train").sum()
        assert abs(n_train - len(part) / 2) <= 2  # about 50/50
        assert set(part["split"]) == {"train", "eval"}
    for _, row in mcq.iterrows():
        assert sorted(row["options"]) == ["A", "B", "C", "D"], row["id"]
        assert all(text.strip() for text in row["options"].values()) and len(set(row["options"].values())) == 4
        assert row["answer"] in row["options"], row["id"]
        assert _lead(row["consistent"]) == row["answer"], row["id"]
        assert _lead(row["inconsistent"]) in row["options"] and _lead(row["inconsistent"]) != row["answer"], row["id"]
    # Answer letters are balanced, so a constant-letter guesser gets 25%.
    assert mcq["answer"].value_counts().max() - mcq["answer"].value_counts().min() <= 2
    for _, row in yesno.iterrows():
        assert row["answer"] in YESNO and row["options"] is None, row["id"]
        assert _lead(row["consistent"]) == row["answer"], row["id"]
        assert _lead(row["inconsistent"]) in YESNO and _lead(row["inconsistent"]) != row["answer"], row["id"]
    assert set(yesno["answer"]) == set(YESNO)
    assert len(clinical_qa("train", "mcq")) + len(clinical_qa("eval", "mcq")) == len(mcq)
    with pytest.raises(WorkbenchError, match="kind must be one of mcq, yesno"):
        clinical_qa(kind="open")


def _item(**over):
    item = {"id": "m1", "type": "mcq", "split": "train", "question": "Which organ makes insulin?",
            "options": {"A": "Liver", "B": "Pancreas"}, "answer": "B", "rationale": "The pancreas does.",
            "consistent": "B. The pancreas.", "inconsistent": "A. The liver.", "unsafe": False}
    item.update(over)
    return json.dumps(item)


def test_clinical_file_errors(tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_text(_item() + "\n" + _item(id="m2", answer="C") + "\n")
    with pytest.raises(WorkbenchError, match="qa.jsonl, line 2: field 'answer' has unknown value 'C'; not one of the options A, B"):
        clinical_qa(path=path)
    path.write_text(_item(type="yesno", answer="probably") + "\n")
    with pytest.raises(WorkbenchError, match="line 1: yesno answer 'probably'"):
        clinical_qa(path=path)
    path.write_text(_item(unsafe="no") + "\n")
    with pytest.raises(WorkbenchError, match="line 1: field 'unsafe' must be true or false"):
        clinical_qa(path=path)
    no_options = json.loads(_item())
    del no_options["options"]
    path.write_text(json.dumps(no_options) + "\n")
    with pytest.raises(WorkbenchError, match=r"line 1: missing field\(s\) options \(required for mcq\)"):
        clinical_qa(path=path)
    path.write_text(_item() + "\n" + "[1, 2]\n")
    with pytest.raises(WorkbenchError, match="line 2: expected a JSON object, got list"):
        clinical_qa(path=path)


# --- public formats -------------------------------------------------------------------------------------------

def _pubmedqa_entry(question, decision, **over):
    entry = {"QUESTION": question,
             "CONTEXTS": ["We studied 120 adults.", "Outcomes improved in the treated group."],
             "LABELS": ["METHODS", "RESULTS"], "MESHES": ["Adult", "Humans"], "YEAR": "2001",
             "reasoning_required_pred": "yes", "reasoning_free_pred": "yes", "final_decision": decision,
             "LONG_ANSWER": "Treatment was associated with better outcomes."}
    entry.update(over)
    return entry


def test_load_pubmedqa(tmp_path):
    path = tmp_path / "ori_pqal.json"
    entries = {"21645374": _pubmedqa_entry("Does treatment X improve outcome Y?", "yes"),
               "16418930": _pubmedqa_entry("Is marker Z useful?", "maybe", LABELS=["BACKGROUND"]),
               "9488747": _pubmedqa_entry("Does A cause B?", "no")}
    path.write_text(json.dumps(entries))
    data = load_pubmedqa(path)
    assert list(data.columns) == CLINICAL_COLUMNS and len(data) == 3
    row = data.iloc[0]
    assert row["id"] == "pubmedqa-21645374" and row["type"] == "yesno" and row["answer"] == "yes"
    assert row["question"] == "Does treatment X improve outcome Y?" and row["options"] is None
    assert row["rationale"] == "Treatment was associated with better outcomes." and row["source"] == "pubmedqa"
    assert row["context"] == "METHODS: We studied 120 adults.\nRESULTS: Outcomes improved in the treated group."
    # One label for two contexts: the labels don't fit, so the contexts are joined without them.
    assert data.iloc[1]["context"] == "We studied 120 adults.\nOutcomes improved in the treated group."
    assert (data["consistent"] == "").all() and (data["inconsistent"] == "").all() and not data["unsafe"].any()
    assert list(data["answer"]) == ["yes", "maybe", "no"]
    # The split depends on the PMID only: same result in another order, and overridable.
    again = load_pubmedqa(path)
    assert list(again["split"]) == list(data["split"]) and set(data["split"]) <= {"train", "eval"}
    path.write_text(json.dumps(dict(reversed(list(entries.items())))))
    assert dict(zip(load_pubmedqa(path)["id"], load_pubmedqa(path)["split"])) == dict(zip(data["id"], data["split"]))
    assert set(load_pubmedqa(path, split="eval")["split"]) == {"eval"}
    assert set(load_pubmedqa(path, eval_percent=0)["split"]) == {"train"}
    assert set(load_pubmedqa(path, eval_percent=100)["split"]) == {"eval"}


def test_pubmedqa_errors(tmp_path):
    path = tmp_path / "ori_pqal.json"
    with pytest.raises(WorkbenchError, match="ori_pqal.json: file not found"):
        load_pubmedqa(path)
    path.write_text('{"123": {"QUESTION": "x",')
    with pytest.raises(WorkbenchError, match="ori_pqal.json: not valid JSON"):
        load_pubmedqa(path)
    path.write_text("{}")
    with pytest.raises(WorkbenchError, match="ori_pqal.json: empty"):
        load_pubmedqa(path)
    path.write_text(json.dumps([_pubmedqa_entry("Q?", "yes")]))
    with pytest.raises(WorkbenchError, match="expected a JSON object keyed by PMID"):
        load_pubmedqa(path)
    broken = _pubmedqa_entry("Q?", "yes")
    del broken["final_decision"]
    path.write_text(json.dumps({"111": _pubmedqa_entry("Q?", "yes"), "222": broken}))
    with pytest.raises(WorkbenchError, match=r"entry 222: missing field\(s\) final_decision"):
        load_pubmedqa(path)
    path.write_text(json.dumps({"111": _pubmedqa_entry("Q?", "unclear")}))
    with pytest.raises(WorkbenchError, match="ori_pqal.json: entry 111: field 'final_decision' has unknown value 'unclear'"):
        load_pubmedqa(path)
    path.write_text(json.dumps({"111": _pubmedqa_entry("Q?", "yes", CONTEXTS="one string")}))
    with pytest.raises(WorkbenchError, match="entry 111: 'CONTEXTS' must be a list of strings"):
        load_pubmedqa(path)
    with pytest.raises(WorkbenchError, match="eval_percent must be an integer from 0 to 100"):
        load_pubmedqa(path, eval_percent=150)


def _medqa_line(question, answer_idx="B", **over):
    options = {"A": "Ampicillin", "B": "Nitrofurantoin", "C": "Doxycycline", "D": "Vancomycin"}
    record = {"question": question, "answer": options[answer_idx], "options": options, "meta_info": "step2&3",
              "answer_idx": answer_idx, "metamap_phrases": ["woman", "dysuria"]}
    record.update(over)
    return json.dumps(record)


def test_load_medqa(tmp_path):
    path = tmp_path / "test.jsonl"
    path.write_text(_medqa_line("A 23-year-old woman has dysuria. Which drug is best?") + "\n"
                    + _medqa_line("Which drug treats C. difficile orally?", "D") + "\n")
    data = load_medqa(path)
    assert list(data.columns) == CLINICAL_COLUMNS and len(data) == 2
    assert list(data["id"]) == ["medqa-00001", "medqa-00002"] and list(data["answer"]) == ["B", "D"]
    assert (data["type"] == "mcq").all() and (data["source"] == "medqa").all() and (data["rationale"] == "").all()
    assert data.iloc[0]["options"] == {"A": "Ampicillin", "B": "Nitrofurantoin", "C": "Doxycycline",
                                       "D": "Vancomycin"}
    assert set(load_medqa(path, split="train")["split"]) == {"train"}
    assert list(load_medqa(path)["split"]) == list(data["split"])

    path.write_text(_medqa_line("Q1?") + "\n" + '{"question": "Q2?", "options": {"A": "x"\n')
    with pytest.raises(WorkbenchError, match=r"test.jsonl, line 2: not valid JSON"):
        load_medqa(path)
    path.write_text(_medqa_line("Q1?") + "\n" + json.dumps({"question": "Q2?", "options": {"A": "x", "B": "y"}}) + "\n")
    with pytest.raises(WorkbenchError, match=r"test.jsonl, line 2: missing field\(s\) answer_idx"):
        load_medqa(path)
    path.write_text(_medqa_line("Q1?", answer="Ampicillin") + "\n")
    with pytest.raises(WorkbenchError, match="line 1: 'answer' .* is not the text of option B"):
        load_medqa(path)
    path.write_text(json.dumps({"question": "Q?", "options": {"A": "x", "B": "y"}, "answer_idx": "E"}) + "\n")
    with pytest.raises(WorkbenchError, match="test.jsonl, line 1: field 'answer_idx' has unknown value 'E'; not one of the options A, B"):
        load_medqa(path)
    path.write_text("")
    with pytest.raises(WorkbenchError, match="test.jsonl: empty file"):
        load_medqa(path)


# --- prompts and pairs ----------------------------------------------------------------------------------------

def test_format_question(tmp_path):
    mcq = clinical_qa(kind="mcq").iloc[0]
    text = format_question(mcq)
    assert text.startswith(f"Question: {mcq['question']}")
    for letter, option in mcq["options"].items():
        assert f"{letter}. {option}" in text
    assert text.endswith("Answer with the letter of the correct option (A, B, C or D).")
    yesno = format_question(clinical_qa(kind="yesno").iloc[0])
    assert yesno.endswith("Answer with yes, no or maybe.") and "A." not in yesno

    five = {"question": "Pick one.", "type": "mcq", "options": {"E": "e", "A": "a", "C": "c", "B": "b", "D": "d"}}
    text = format_question(five)
    assert text.index("A. a") < text.index("E. e") and text.endswith("(A, B, C, D or E).")

    path = tmp_path / "ori_pqal.json"
    path.write_text(json.dumps({"1": _pubmedqa_entry("Does X help?", "yes")}))
    text = format_question(load_pubmedqa(path).iloc[0])
    assert text.startswith("Context: METHODS: We studied 120 adults.") and "Question: Does X help?" in text
    assert text.endswith("Answer with yes, no or maybe.")
    with pytest.raises(WorkbenchError, match="an mcq row needs an options dict"):
        format_question({"id": "x", "type": "mcq", "question": "Q?", "options": None})


def test_pair_texts(tmp_path):
    pairs = steering_pairs("harmless", "train")
    prompts, positives, negatives = pair_texts(pairs)
    assert prompts == list(pairs["prompt"]) and positives == list(pairs["positive"]) and len(negatives) == len(pairs)

    clinical = clinical_qa("train")
    prompts, positives, negatives = pair_texts(clinical)
    assert len(prompts) == len(clinical) and prompts[0] == format_question(clinical.iloc[0])
    assert positives[0] == clinical.iloc[0]["consistent"] and negatives[0] == clinical.iloc[0]["inconsistent"]

    path = tmp_path / "ori_pqal.json"
    path.write_text(json.dumps({"1": _pubmedqa_entry("Does X help?", "yes"), "2": _pubmedqa_entry("Or Y?", "no")}))
    mixed = pd.concat([clinical.head(3), load_pubmedqa(path)], ignore_index=True)
    with pytest.warns(UserWarning, match="skipped 2 of 5 row"):
        prompts, _, _ = pair_texts(mixed)
    assert len(prompts) == 3
    with pytest.raises(WorkbenchError, match="none of the 2 row"):
        pair_texts(load_pubmedqa(path))
    with pytest.raises(WorkbenchError, match="pair_texts needs a frame with columns"):
        pair_texts(pd.DataFrame({"text": ["x"]}))


# --- the real files' exact formats (fixtures copy their keys and value encodings) -----------------------------

FIXTURES = __import__("pathlib").Path(__file__).parent / "fixtures" / "clinical"


def test_real_format_fixtures_load():
    pubmed = load_pubmedqa(FIXTURES / "ori_pqal.json", split="eval")
    assert len(pubmed) == 6 and set(pubmed["answer"]) == set(YESNO) and (pubmed["rationale"] != "").all()
    assert pubmed.iloc[0]["context"].startswith("BACKGROUND: Hip fracture patients")
    medqa = load_medqa(FIXTURES / "medqa_us_test.jsonl", split="eval")
    assert len(medqa) == 6 and (medqa["rationale"] == "").all()
    assert sorted(medqa.iloc[5]["options"]) == ["A", "B", "C", "D", "E"] and medqa.iloc[5]["answer"] == "E"


def test_unknown_values_in_real_files_are_errors_naming_file_field_value(tmp_path):
    entries = json.loads((FIXTURES / "ori_pqal.json").read_text())
    for bad in ("Yes", "unsure", ""):
        first = next(iter(entries))
        path = tmp_path / "ori_pqal.json"
        path.write_text(json.dumps({**entries, first: {**entries[first], "final_decision": bad}}))
        with pytest.raises(WorkbenchError, match=f"ori_pqal.json: entry {first}: field 'final_decision' has unknown "
                                                 f"value '{bad}'"):
            load_pubmedqa(path)
    path.write_text('{"1": {"QUESTION": "Q?"}, "1": {"QUESTION": "R?"}}')
    with pytest.raises(WorkbenchError, match="ori_pqal.json: duplicate key '1'"):
        load_pubmedqa(path)
    lines = (FIXTURES / "medqa_us_test.jsonl").read_text().splitlines()
    record = json.loads(lines[1])
    record["answer_idx"] = "F"
    path = tmp_path / "test.jsonl"
    path.write_text("\n".join([lines[0], json.dumps(record)]) + "\n")
    with pytest.raises(WorkbenchError, match="test.jsonl, line 2: field 'answer_idx' has unknown value 'F'; "
                                             "not one of the options A, B, C, D"):
        load_medqa(path)


# --- the P7 protocol's evaluation pool and dev / test split ---------------------------------------------------

def test_evaluation_pool_holds_the_eval_half_of_the_real_files():
    from workbench.steering.medassess import evaluation_pool

    files = {"pubmedqa": FIXTURES / "ori_pqal.json", "medqa": FIXTURES / "medqa_us_test.jsonl"}
    pool = evaluation_pool(**files)
    assert (pool["split"] == "eval").all() and pool["id"].is_unique
    halves = {s: load_qa(files[s]) for s in files}
    assert pool.groupby("source").size().to_dict() == {
        "bundled": len(clinical_qa("eval")), **{s: int((f["split"] == "eval").sum()) for s, f in halves.items()}}


def test_dev_test_split_is_seeded_stratified_disjoint_and_content_blind():
    from workbench.steering.medassess import dev_test_split, evaluation_pool

    pool = evaluation_pool(pubmedqa=FIXTURES / "ori_pqal.json", medqa=FIXTURES / "medqa_us_test.jsonl")
    split = dev_test_split(pool, seed=0)
    dev, test = set(split.loc[split["part"] == "dev", "id"]), set(split.loc[split["part"] == "test", "id"])
    assert not dev & test and dev | test == set(pool["id"])
    for (source, kind), group in split.groupby(["source", "type"]):          # every stratum on both sides
        assert {"dev", "test"} <= set(group["part"]), (source, kind)
        assert abs((group["part"] == "dev").sum() - len(group) / 2) <= 1
    again = dev_test_split(pool.sample(frac=1, random_state=3), seed=0)       # order does not matter
    assert dict(zip(again["id"], again["part"])) == dict(zip(split["id"], split["part"]))
    edited = pool.assign(question=pool["question"] + " (edited)", answer=pool["answer"].iloc[::-1].to_numpy())
    assert dict(zip(*dev_test_split(edited, seed=0)[["id", "part"]].T.to_numpy())) == \
        dict(zip(split["id"], split["part"]))
    other = dev_test_split(pool, seed=1)
    assert dict(zip(other["id"], other["part"])) != dict(zip(split["id"], split["part"]))
    limited = dev_test_split(pool, seed=0, limit=1)
    assert limited.groupby(["part", "source", "type"]).size().max() == 1
    with pytest.raises(WorkbenchError, match="duplicate id 'x'"):
        dev_test_split(pd.concat([pool.head(2).assign(id="x")]), seed=0)
    with pytest.raises(WorkbenchError, match="too few for a dev and a test split"):
        dev_test_split(pool.head(1), seed=0)
