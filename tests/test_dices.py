"""DICES files as released: exact column names and value encodings ("Yes" = unsafe / "No" / "Unsure", and
``safety_gold`` "Yes" / "No"), the gold label reaching equalized odds, per-group rating shares, and bad files."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.datasets import (dices_gold, dices_group_shares, dices_items, dices_release, load_dices)
from workbench.evaluation.raters import evaluate_raters
from workbench.paths import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "dices"
D350 = FIXTURES / "diverse_safety_adversarial_dialog_350_sample.csv"
D990 = FIXTURES / "diverse_safety_adversarial_dialog_990_sample.csv"


def test_fixture_files_have_the_released_encodings():
    raw = pd.read_csv(D350, dtype=str, keep_default_na=False)
    assert set(raw["safety_gold"]) == {"Yes", "No"}
    assert set(raw["Q_overall"]) == {"Yes", "No", "Unsure"}
    assert {"Q2_harmful_content_overall", "Q3_bias_overall", "Q4_misinformation", "Q5_political_affiliation",
            "Q6_policy_guidelines_overall", "safety_gold_reason", "rater_raw_race"} <= set(raw.columns)
    raw990 = pd.read_csv(D990, dtype=str, keep_default_na=False)
    assert "safety_gold" not in raw990.columns and {"rater_locale", "rater_race_raw", "Q3_unfair_bias_overall",
                                                    "Q4_misinformation_overall"} <= set(raw990.columns)


def test_gold_yes_means_unsafe_and_reaches_equalized_odds():
    dices = load_dices(D350)
    assert dices_release(dices) == "DICES-350"
    gold = dices_gold(dices)
    assert gold.to_dict() == {"12": 1, "31": 1, "47": 0, "58": 0}
    # the human raters by gender: on the two unsafe conversations every woman says Yes and one man in three
    # (TPR gap 2/3); on the two safe ones one woman in three says Yes and no man (FPR gap 1/3). EOD is the
    # larger gap, 2/3; with gold read as all-safe it silently became the false-positive gap over every row, 1/2.
    ratings = pd.DataFrame({"item_id": gold.index, "score": [0.9, 0.8, 0.1, 0.3], "rating": ["Yes", "Yes", "No", "No"],
                            "model": "m", "rater": "m", "persona_attribute": None, "persona_value": None})
    human = evaluate_raters(dices, ratings)["human"]
    assert human["per_attribute"]["rater_gender"]["eod"] == pytest.approx(2 / 3)
    assert human["per_attribute"]["rater_gender"]["dpd"] == pytest.approx(8 / 12 - 2 / 12)


def test_990_release_has_no_gold_and_eod_is_skipped_with_the_reason():
    dices = load_dices(D990)
    assert dices_release(dices) == "DICES-990" and "rater_raw_race" in dices.columns
    assert dices_gold(dices) is None
    ratings = pd.DataFrame({"item_id": sorted(dices["item_id"].unique()), "score": [0.8, 0.1],
                            "rating": ["Yes", "No"], "model": "m", "rater": "m", "persona_attribute": None,
                            "persona_value": None})
    result = evaluate_raters(dices, ratings)
    assert "safety_gold" in result["skipped"]["eod"]
    assert all("eod" not in v for v in result["human"]["per_attribute"].values())


@pytest.mark.parametrize("column, value", [("safety_gold", "Unsafe"), ("safety_gold", "Unsure"),
                                           ("Q_overall", "unsafe"), ("Q_overall", ""),
                                           ("Q2_harmful_content_overall", "Maybe"), ("Q3_bias_overall", "2")])
def test_unknown_encodings_are_errors_naming_file_column_and_value(tmp_path, column, value):
    raw = pd.read_csv(D350, dtype=str, keep_default_na=False)
    raw.loc[5, column] = value
    if column == "safety_gold":                       # the whole conversation, so only the encoding is wrong
        raw.loc[raw["item_id"] == raw.loc[5, "item_id"], column] = value
    path = tmp_path / "dices.csv"
    raw.to_csv(path, index=False)
    with pytest.raises(WorkbenchError) as err:
        load_dices(path)
    message = str(err.value)
    assert str(path) in message and f"column {column} has value(s) {value or '(blank)'} " in message
    assert "\n" not in message


def test_other_bad_files(tmp_path):
    raw = pd.read_csv(D350, dtype=str, keep_default_na=False)
    mixed = raw.copy()
    mixed.loc[0, "safety_gold"] = "No" if mixed.loc[0, "safety_gold"] == "Yes" else "Yes"
    mixed.to_csv(tmp_path / "mixed.csv", index=False)
    with pytest.raises(WorkbenchError, match="safety_gold differs between the rows of item_id 12"):
        load_dices(tmp_path / "mixed.csv")
    dupes = pd.concat([raw, raw.iloc[[3]]])
    dupes.to_csv(tmp_path / "dupes.csv", index=False)
    with pytest.raises(WorkbenchError, match=r"1 duplicate \(rater_id, item_id\) row\(s\), e.g. 299, 12"):
        load_dices(tmp_path / "dupes.csv")
    ids = raw.assign(id="7")
    ids.to_csv(tmp_path / "ids.csv", index=False)
    with pytest.raises(WorkbenchError, match=r"duplicate \(id\) row"):
        load_dices(tmp_path / "ids.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(WorkbenchError, match="empty"):
        load_dices(tmp_path / "empty.csv")
    raw.drop(columns=["rater_age"]).to_csv(tmp_path / "cols.csv", index=False)
    with pytest.raises(WorkbenchError, match="missing column\\(s\\) rater_age"):
        load_dices(tmp_path / "cols.csv")
    # a frame that did not come through load_dices with another encoding is refused too, not read as all-safe
    with pytest.raises(WorkbenchError, match="safety_gold has value\\(s\\) Safe, Unsafe"):
        dices_gold(load_dices(D350).assign(safety_gold=lambda d: np.where(d["safety_gold"] == "Yes", "Unsafe",
                                                                           "Safe")))


def test_per_group_shares_are_kept():
    dices = load_dices(D350)
    long = dices_group_shares(dices)
    women = long[(long["item_id"] == "47") & (long["attribute"] == "rater_gender") & (long["group"] == "Woman")]
    assert women[["share_Yes", "share_No", "share_Unsure", "n_raters"]].iloc[0].tolist() == pytest.approx(
        [1 / 3, 2 / 3, 0, 3])
    assert np.allclose(long[["share_Yes", "share_No", "share_Unsure"]].sum(1), 1)
    items = dices_items(dices).set_index("item_id")
    assert items.loc["31", "share_Yes|rater_gender=Woman"] == 1 and items.loc["31", "share_Yes|rater_gender=Man"] == \
        pytest.approx(1 / 3)
    assert items.loc["31", "share_Unsure|rater_gender=Man"] == pytest.approx(1 / 3)
    assert items.loc["31", "n_raters|rater_race=White"] == 3
    assert items.loc["31", "share_Yes"] == pytest.approx(4 / 6)       # the overall shares stay

    # the evaluation reports the per-group shares of the human raters and of each model's personas
    ratings = pd.DataFrame({"item_id": ["12", "31", "47", "58"] * 3, "score": 0.5,
                            "rating": ["Yes", "Yes", "No", "No"] + ["Yes"] * 4 + ["No"] * 4, "model": "m", "rater": "m",
                            "persona_attribute": [None] * 4 + ["rater_gender"] * 8,
                            "persona_value": [None] * 4 + ["Woman"] * 4 + ["Man"] * 4})
    groups = pd.DataFrame(evaluate_raters(dices, ratings)["groups"])
    human = groups[(groups["source"] == "human raters") & (groups["attribute"] == "rater_gender")].set_index("group")
    assert human.loc["Woman", "share_Yes"] == pytest.approx(8 / 12) and human.loc["Woman", "n"] == 12
    persona = groups[groups["source"] == "m personas"].set_index("group")
    assert persona.loc["Woman", "share_Yes"] == 1 and persona.loc["Man", "share_No"] == 1
