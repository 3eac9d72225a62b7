"""P7 steering vs fine-tuning: QA-file pairs, the clinical LoRA fine-tune (planted signal), the four-way comparison
(dev-only selection, paired changes), its figures and the ledger's wording."""
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.cli.main import main
from workbench.steering import clinical, finetune, medassess, medical

FIXTURES = Path(__file__).parent / "fixtures" / "clinical"
PUBMEDQA, MEDQA = FIXTURES / "ori_pqal.json", FIXTURES / "medqa_us_test.jsonl"


def planted(n, start, answer="C"):
    """MCQ items whose correct option is always ``answer`` and reads "Refer to a specialist" (the planted
    pattern); the other options vary with the item."""
    options = {"A": "Drug {k}", "B": "Scan {k}", "C": "Refer to a specialist", "D": "Wait {k} days"}
    rows = []
    for k in range(start, start + n):
        opts = {letter: text.format(k=k) for letter, text in options.items()}
        if answer != "C":
            opts[answer], opts["C"] = opts["C"], opts[answer]
        rows.append({"id": f"p-{k}", "type": "mcq", "split": "train", "question": f"Patient {k} has symptom {k % 7}. "
                     "What next?", "options": opts, "answer": answer, "rationale": "", "consistent": "",
                     "inconsistent": "", "unsafe": False, "source": "planted", "context": ""})
    return pd.DataFrame(rows)


# --- pairs from any QA file -------------------------------------------------------------------------------------

def test_answer_pairs_from_pubmedqa_and_medqa_files():
    for path in (PUBMEDQA, MEDQA):
        frame = clinical.answer_pairs(clinical.load_qa(path))
        assert (frame["consistent"] != "").all() and (frame["consistent"] != frame["inconsistent"]).all()
        for _, row in frame.iterrows():
            given, wrong = row["consistent"].split(".")[0], row["inconsistent"].split(".")[0]
            if row["type"] == "mcq":
                assert given == row["answer"] and wrong in row["options"] and wrong != row["answer"]
                assert row["consistent"] == f"{row['answer']}. {row['options'][row['answer']]}"
            else:
                assert given.lower() == row["answer"] and wrong.lower() in clinical.YESNO and wrong.lower() != given.lower()
        again = clinical.answer_pairs(clinical.load_qa(path))
        assert again["inconsistent"].tolist() == frame["inconsistent"].tolist()     # the same on every run
    bundled = clinical.clinical_qa("train").head(3)
    assert clinical.answer_pairs(bundled)[["consistent", "inconsistent"]].equals(bundled[["consistent",
                                                                                         "inconsistent"]])


def test_qa_file_errors_and_pairs_spec(tmp_path):
    with pytest.raises(WorkbenchError, match=r"unknown QA file format '\.txt'; expected PubMedQA"):
        clinical.load_qa(tmp_path / "x.txt")
    bad = json.loads(PUBMEDQA.read_text())
    next(iter(bad.values()))["final_decision"] = "Yes"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(WorkbenchError, match="final_decision' has unknown value 'Yes'"):
        clinical.load_qa(tmp_path / "bad.json")
    from workbench.steering.pairs import load_pairs

    whole = load_pairs(f"qa:{MEDQA}")
    parts = [load_pairs(f"qa:{MEDQA}", split=s) for s in ("train", "eval")]
    assert len(whole) == 6 and sum(len(p) for p in parts) == 6 and "medqa_us_test.jsonl" in whole.source
    assert set(whole.positives) == set(parts[0].positives) | set(parts[1].positives)


def test_steer_clinical_cli(tmp_path, capsys):
    out = tmp_path / "pairs.jsonl"
    assert main(["steer", "clinical", "--qa", str(PUBMEDQA), "--split", "all", "--pairs-out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 6 and rows[0]["prompt"].startswith("Context:") and rows[0]["positive"] in ("Yes.", "No.",
                                                                                                    "Maybe.")
    vec = tmp_path / "v.safetensors"
    assert main(["steer", "clinical", "--qa", str(MEDQA), "--split", "all", "--model", "tiny-llama", "--layers", "0",
                 "--out", str(vec)]) == 0
    assert vec.is_file() and "mean_difference vectors from 6 pairs (medqa_us_test.jsonl)" in capsys.readouterr().out
    assert main(["steer", "clinical", "--qa", str(MEDQA)]) == 1
    assert "nothing to do" in capsys.readouterr().err
    assert main(["steer", "clinical", "--qa", str(MEDQA), "--out", str(vec)]) == 1
    assert "give --layers" in capsys.readouterr().err


# --- the fine-tune ---------------------------------------------------------------------------------------------

def test_sft_rows_learn_the_read_out_cue():
    rows = finetune.sft_rows(pd.concat([clinical.clinical_qa("train").head(2), clinical.load_qa(MEDQA).head(2)]))
    assert (rows["axis"] == "clinical").all() and (rows["split"] == "train").all()
    assert rows["response"].str.startswith("Answer: ").all() and rows["prompt"].str.contains("Question:").all()
    assert rows["response"].iloc[2] == "Answer: A."                      # the answer label only, from the key
    assert rows["response"].iloc[0] == f"Answer: {clinical.clinical_qa('train').iloc[0]['answer']}."
    yesno = finetune.sft_rows(clinical.load_qa(PUBMEDQA).head(1))
    assert yesno["response"].iloc[0] in ("Answer: Yes.", "Answer: No.", "Answer: Maybe.")
    with pytest.raises(WorkbenchError, match="no clinical training items"):
        finetune.sft_rows(rows.head(0))


def test_fine_tune_on_a_planted_answer_pattern_raises_accuracy_on_held_out_items(tmp_path, monkeypatch):
    from safetensors.torch import load_file

    from workbench.models import load

    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    train, test = planted(16, 0), planted(12, 100)
    base = medical.accuracy(load("tiny-llama"), test)
    config = finetune.specialist_config("default", smoke=False, epochs=2, lr=5e-3)
    folder = finetune.train_specialist("tiny-llama", train, config)
    assert folder.parent == tmp_path / "models" / "clinical"
    assert any("lora_" in k for k in load_file(folder / "clinical" / "adapter_model.safetensors"))
    info = finetune.specialist_info(folder)
    assert info["steps"] == 4 and info["train_seconds"] > 0 and info["loss_last"] < info["loss_first"]
    curve = info["loss_per_epoch"]
    assert [e["epoch"] for e in curve] == [1, 2] and sum(e["steps"] for e in curve) == 4
    assert curve[1]["mean"] < curve[0]["mean"] and len(info["losses"]) == 4
    tuned = finetune.load_specialist(folder)
    assert tuned.name == "tiny-llama+clinical-lora"
    assert medical.accuracy(tuned, test) >= base + 0.5                     # the planted pattern was learned
    assert finetune.train_specialist("tiny-llama", train, config) == folder    # built once
    with pytest.raises(WorkbenchError, match="trains one adapter"):
        finetune.train_specialist("tiny-llama", train, config.__class__(axes=("a", "b")))


def test_the_paper_profile_uses_its_medical_lm(monkeypatch):
    import workbench.models
    from workbench.profiles import get_profile

    monkeypatch.setattr(workbench.models, "load", lambda name, **kw: SimpleNamespace(name=name))
    lm, info = finetune.specialised_lm(get_profile("paper"), "deepseek-7b", clinical.clinical_qa("train"))
    assert lm.name == get_profile("paper").model_for("medical_lm") and "medical_lm" in info["kind"]


# --- the four-way comparison -----------------------------------------------------------------------------------

class FakeModels:
    """Per-item correctness planted per (model, steering): the specialised model and every steered arm answer
    ``good`` items right; the general model unsteered answers none. Records the items each call saw."""

    def __init__(self, good):
        self.good, self.seen = set(good), []

    def _correct(self, lm, items, steering):
        return [i in self.good and (lm.name == "special" or steering is not None) for i in items["id"]]

    def accuracy(self, lm, items, *, steering=None):
        self.seen.append(("dev", lm.name, set(items["id"])))
        return float(np.mean(self._correct(lm, items, steering)))

    def evaluate(self, lm, items, *, steering=None, judge=None, max_new_tokens=48):
        self.seen.append(("test", lm.name, set(items["id"])))
        correct = self._correct(lm, items, steering)
        frame = items[["id", "type", "answer"]].assign(chosen="", correct=correct, response="r",
                                                       p_contradicts=np.nan, p_unsafe=0.0, consistent=np.nan,
                                                       safety_error=[0.0 if c else 1.0 for c in correct])
        return {"accuracy": float(np.mean(correct)), "factual_consistency": float("nan"),
                "safety_error_rate": float(frame["safety_error"].mean()), "n": len(items), "n_consistency": 0,
                "judges": {"consistency": "fake", "safety": "fake"}}, frame


def test_run_comparison_chooses_each_system_on_dev_and_reports_four_arms_on_test(monkeypatch):
    from workbench.steering.vectors import SteeringVector
    import torch

    items = medassess.evaluation_pool()
    fake = FakeModels(items["id"][::2])
    monkeypatch.setattr(medical, "accuracy", fake.accuracy)
    monkeypatch.setattr(medical, "evaluate", fake.evaluate)
    vector = SteeringVector({1: torch.ones(4), 2: torch.ones(4)}, "m")
    run = medassess.run_comparison([("base", SimpleNamespace(name="general"), vector, [1, 2]),
                                    ("finetuned", SimpleNamespace(name="special"), vector, [2])], items,
                                   multipliers=[1.0, 2.0])
    dev, test = set(run.config["split"]["dev_ids"]), set(run.config["split"]["test_ids"])
    assert all(ids <= dev for kind, _, ids in fake.seen if kind == "dev")       # selection never reads test items
    assert all(ids == test for kind, _, ids in fake.seen if kind == "test")
    assert run.summary["arm"].tolist() == list(medassess.ARMS)
    assert run.config["systems"] == {"base": "general", "finetuned": "special"}
    assert run.config["selections"]["finetuned"]["layers"] == [2] and run.choices["finetuned"].layer == 2
    assert run.config["selection"] == run.config["selections"]["base"]
    table = medassess.comparisons(run.per_item, n_boot=200)
    vs = table[(table["comparison"] == "steered general vs specialised") & (table["metric"] == "accuracy")].iloc[0]
    assert vs["value"] == 0 and vs["ci_low"] == vs["ci_high"] == 0                 # planted: identical per item
    gain = table[(table["comparison"] == "steering the general model") & (table["metric"] == "accuracy")].iloc[0]
    assert gain["ci_low"] > 0
    with pytest.raises(WorkbenchError, match="systems must be distinct names"):
        medassess.run_comparison([("other", None, vector, [1])], items, multipliers=[1.0])


def four_arms(n=20):
    """Per-item results of the four arms: accuracy 0.25 / 0.75 / 0.75 / 1.0 (general, steered, specialised,
    specialised + steered)."""
    ids = [f"i{k}" for k in range(n)]
    rows = []
    for arm, share in (("unsteered", 0.25), ("steered", 0.75), ("finetuned", 0.75), ("finetuned_steered", 1.0)):
        rows += [{"id": i, "arm": arm, "correct": float(k < share * n), "consistent": np.nan,
                  "safety_error": float(k >= share * n)} for k, i in enumerate(ids)]
    return pd.DataFrame(rows)


def test_arm_intervals_and_figures_show_the_planted_values():
    from workbench.viz.clinical import changes_figure, comparison_figure

    intervals = medassess.arm_intervals(four_arms(), n_boot=300)
    acc = intervals[intervals["metric"] == "accuracy"].set_index("arm")
    assert acc["value"].to_dict() == {"unsteered": 0.25, "steered": 0.75, "finetuned": 0.75,
                                      "finetuned_steered": 1.0}
    assert (acc["ci_low"] <= acc["value"]).all() and (acc["value"] <= acc["ci_high"]).all()
    assert acc.loc["finetuned_steered", "ci_low"] == 1.0          # every resample of all-correct items is 1
    fig = comparison_figure(intervals, models={"base": "gen-lm", "finetuned": "gen-lm+clinical-lora"})
    bars = {trace.name: trace for trace in fig.data}
    assert set(bars) == {"general (gen-lm)", "general + steering (gen-lm)", "specialised (gen-lm+clinical-lora)",
                         "specialised + steering (gen-lm+clinical-lora)"}
    assert bars["general (gen-lm)"].y[0] == pytest.approx(25.0) and bars["general (gen-lm)"].y[1] is None
    assert bars["general (gen-lm)"].error_y.array[0] == pytest.approx(100 * (acc.loc["unsteered", "ci_high"] - 0.25))
    assert "(test split" in fig.layout.title.text
    table = medassess.comparisons(four_arms(), n_boot=300)
    assert set(table["comparison"]) == {label for label, _, _ in medassess.COMPARISONS}
    fig = changes_figure(table)
    accuracy = next(t for t in fig.data if t.name.startswith("Accuracy"))
    assert list(accuracy.x) == pytest.approx([50.0, 50.0, 0.0, 25.0])


def test_ledger_detail_compares_the_steered_general_model_with_the_specialised_one():
    from workbench.claims import MemorySources, measure
    from workbench.papers import get_paper

    per_item = four_arms()
    summary = per_item.groupby("arm", sort=False).agg(accuracy=("correct", "mean"),
                                                      safety_error_rate=("safety_error", "mean")).reset_index()
    summary["factual_consistency"] = np.nan
    config = {"split": {"test_ids": sorted(set(per_item["id"]))},
              "selection": {"criterion": "dev accuracy", "layer": 3, "multiplier": 2.0, "dev_n": 10},
              "systems": {"base": "gen-lm", "finetuned": "gen-lm+clinical-lora"}}
    claim = next(c for c in get_paper("P7").claims if c.params.get("metric") == "accuracy")

    def measured(items):
        src = MemorySources("default").add("P7", "clinical_steering", summary, models=["gen-lm"], config=config)
        src.add("P7", "clinical_items", items, models=["gen-lm"], config=config)
        return measure("P7", claim, src)

    ours = measured(per_item)
    assert ours.status == "not comparable" and ours.value == pytest.approx(50.0)
    assert "steered general vs specialised (gen-lm+clinical-lora): 0.750 specialised vs 0.750 steered general, " \
           "+0.0 points" in ours.detail and "steering the specialised model: +25.0 points" in ours.detail
    two = measured(per_item[per_item["arm"].isin(["unsteered", "steered"])])
    assert "no specialised (fine-tuned or medical) model in this artifact" in two.detail
    config.update(majority_baseline={"accuracy": 0.4},
                  finetuned={"loss_per_epoch": finetune.loss_curve([3, 2, 1, .5], 2)})
    assert "majority-answer baseline 0.400; fine-tune training loss per epoch (mean) 2.50 → 0.75" in \
        measured(per_item).detail


def test_steering_view_shows_the_four_way_comparison(tmp_path):
    from conftest import chart_texts, view_app
    from workbench.io import ArtifactStore, save_frame

    per_item = four_arms()
    summary = per_item.groupby("arm", sort=False).agg(accuracy=("correct", "mean"),
                                                      safety_error_rate=("safety_error", "mean")).reset_index()
    summary = summary.assign(factual_consistency=np.nan, judges="judge-x", condition=summary["arm"])
    grid = [{"layer": 3, "multiplier": 2.0, "accuracy": 0.5}]
    selection = {"criterion": "dev accuracy", "layer": 3, "multiplier": 2.0, "dev_accuracy": 0.5,
                 "dev_unsteered_accuracy": 0.25, "dev_n": 10, "dev_grid": grid}
    config = {"items": "bundled (20)", "split": {"test_ids": sorted(set(per_item["id"])), "dev_ids": ["d"]},
              "selection": selection, "selections": {"base": selection, "finetuned": {**selection, "layer": 2}},
              "systems": {"base": "gen-lm", "finetuned": "gen-lm+clinical-lora"},
              "finetuned": {"kind": "LoRA SFT of the steering LM", "model": "gen-lm+clinical-lora", "steps": 21,
                            "items": 55, "train_seconds": 40.0, "losses": [2.5, 1.25, 0.5],
                            "loss_per_epoch": finetune.loss_curve([2.5, 1.25, 0.5], 3)},
              "majority_baseline": {"accuracy": 0.3, "answers": {"mcq": "B"}, "n": 20}}
    store = ArtifactStore(tmp_path)
    for name, frame in (("clinical_steering", summary), ("clinical_items", per_item)):
        save_frame(frame, store.path("P7", name, "default"), profile="default", models=["gen-lm"], config=config)
    at = view_app("steering", tmp_path).run()
    assert not at.exception, at.exception
    charts = chart_texts(at)
    assert "general vs specialised model (test split" in charts and "Paired changes on the test split" in charts
    assert "specialised + steering (gen-lm+clinical-lora)" in charts
    assert "Fine-tune training loss" in charts and "2.50 → 0.50" in charts
    text = " ".join(m.value for m in at.markdown)
    assert "21 optimiser steps on 55 train items" in text and "Steered general vs specialised" in text
    assert any("Surface-feature baseline" in c.value and "0.300" in c.value for c in at.caption)


def test_majority_baseline_gives_the_train_items_most_common_answer():
    train = pd.concat([planted(3, 0, "C"), planted(1, 10, "A")]).assign(type="mcq")
    test = pd.concat([planted(2, 20, "C"), planted(2, 30, "B")])
    out = medassess.majority_baseline(train, test)
    assert out == {"accuracy": 0.5, "answers": {"mcq": "C"}, "n": 4}
    with pytest.raises(WorkbenchError, match="no train items of type yesno"):
        medassess.majority_baseline(train, test.assign(type="yesno"))


def test_loss_curve_summarises_each_epoch():
    curve = finetune.loss_curve([4.0, 3.0, 2.0, 1.5, 1.0, 0.5], 2)
    assert curve == [{"epoch": 1, "steps": 3, "first": 4.0, "last": 2.0, "min": 2.0, "mean": 3.0},
                     {"epoch": 2, "steps": 3, "first": 1.5, "last": 0.5, "min": 0.5, "mean": 1.0}]
    with pytest.raises(WorkbenchError, match="no training losses"):
        finetune.loss_curve([], 1)


def test_a_qa_file_is_split_train_dev_test_and_only_train_rows_train():
    """A file given to the P7 builder: its train half trains (pairs from the answer key), its eval half is split
    dev / test; the two halves are disjoint and the same on every run."""
    from workbench.steering.artifacts import clinical_data_kind, clinical_smoke, clinical_train

    files = {"pubmedqa": PUBMEDQA, "medqa": MEDQA}
    train, pool = medassess.training_pool(**files), medassess.evaluation_pool(**files)
    real_train = train[train["source"] != "bundled"]
    real_eval = pool[pool["source"] != "bundled"]
    assert len(real_train) + len(real_eval) == 12 and len(real_train) and len(real_eval)
    assert set(real_train["id"]).isdisjoint(real_eval["id"])
    assert (real_train["consistent"] != "").all() and (real_train["consistent"] != real_train["inconsistent"]).all()
    assert train["id"].tolist() == medassess.training_pool(**files)["id"].tolist()
    split = medassess.dev_test_split(pool, seed=0)
    assert set(split["part"]) == {"dev", "test"} and set(split["id"]).isdisjoint(train["id"])
    sft = finetune.sft_rows(clinical_train(clinical_smoke(False), files))
    assert set(real_train["id"]) <= set(sft["id"]) and set(sft["id"]).isdisjoint(pool["id"])
    assert clinical_data_kind(files) == "real + bundled" and clinical_data_kind({}) == "bundled"


def test_loss_figure_draws_the_recorded_curve():
    from workbench.viz.clinical import loss_figure

    losses = [4.0, 3.0, 2.0, 1.5, 1.0, 0.5]
    fig = loss_figure({"losses": losses, "loss_per_epoch": finetune.loss_curve(losses, 2), "target": "answer"})
    assert list(fig.data[0].y) == losses and "4.00 → 0.50" in fig.layout.title.text
    assert [list(t.y) for t in fig.data[1:]] == [[3.0, 3.0], [1.0, 1.0]]
    assert "No fine-tune loss" in loss_figure({"kind": "medical LM"}).layout.title.text
