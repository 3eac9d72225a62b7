"""Fairness metrics on small hand-computed examples."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.metrics.fairness import (demographic_parity_difference, demographic_sensitivity,
                                        equalized_odds_difference, group_rates)


@pytest.fixture
def parity():
    # A: 1 1 0 0 -> 2/4 = 0.5;  B: 1 0 0 -> 1/3;  C: 0 0 -> 0.
    return pd.DataFrame({"g": list("AAAABBBCC"), "unsafe": [1, 1, 0, 0, 1, 0, 0, 0, 0]})


@pytest.fixture
def odds():
    # A: truth 1 1 0 0, pred 1 0 0 0 -> TPR 1/2, FPR 0.
    # B: truth 1 1 1 0, pred 1 1 1 0 -> TPR 1,   FPR 0.
    # C: truth 0 0 0 0, pred 1 0 0 0 -> no positives (TPR undefined), FPR 1/4.
    # D: truth 1,       pred 0       -> TPR 0, no negatives (FPR undefined); only one row.
    return pd.DataFrame({"g": list("AAAABBBBCCCCD"),
                         "truth": [1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1],
                         "pred": [1, 0, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0]})


def test_group_rates(parity):
    rates = group_rates(parity, group="g", positive="unsafe")
    assert rates["n"].tolist() == [4, 3, 2]
    np.testing.assert_allclose(rates["positive_rate"], [0.5, 1 / 3, 0.0])
    assert rates.attrs["skipped"] == []
    rates = group_rates(parity, group="g", positive="unsafe", min_size=3)
    assert rates.index.tolist() == ["A", "B"] and rates.attrs["skipped"] == ["C"]
    # Booleans are accepted; rows without a group value are left out.
    frame = parity.assign(unsafe=parity["unsafe"].astype(bool), g=parity["g"].where(parity["g"] != "C"))
    rates = group_rates(frame, group="g", positive="unsafe")
    assert rates.index.tolist() == ["A", "B"] and rates["n"].tolist() == [4, 3]


def test_demographic_parity_difference(parity):
    assert demographic_parity_difference(parity, group="g", positive="unsafe") == pytest.approx(0.5)  # 0.5 - 0
    # C (2 rows) excluded: 0.5 - 1/3 = 1/6.
    assert demographic_parity_difference(parity, group="g", positive="unsafe", min_size=3) == pytest.approx(1 / 6)
    with pytest.raises(WorkbenchError, match="needs at least two groups"):
        demographic_parity_difference(parity, group="g", positive="unsafe", min_size=4)


def test_equalized_odds_difference(odds):
    # min_size=2 drops D. TPR gap over A, B (C undefined) = 1 - 1/2 = 1/2; FPR gap over A, B, C = 1/4 - 0.
    # EOD = max(1/2, 1/4) = 1/2. (Counting C's TPR as 0 would wrongly give 1.)
    assert equalized_odds_difference(odds, group="g", positive="pred", truth="truth", min_size=2) == pytest.approx(0.5)
    # With D (TPR 0): TPR gap = 1 - 0 = 1; D has no negatives, so the FPR gap stays 1/4. EOD = 1.
    assert equalized_odds_difference(odds, group="g", positive="pred", truth="truth") == pytest.approx(1.0)


def test_equalized_odds_skips_undefined_rate():
    # Only A has negatives, so the FPR gap is skipped; TPR: A 1/2, B 1 -> EOD = 1/2.
    frame = pd.DataFrame({"g": list("AAABB"), "truth": [1, 1, 0, 1, 1], "pred": [1, 0, 1, 1, 1]})
    assert equalized_odds_difference(frame, group="g", positive="pred", truth="truth") == pytest.approx(0.5)
    # A has only positives and B only negatives: neither rate is defined for two groups.
    frame = pd.DataFrame({"g": list("AABB"), "truth": [1, 1, 0, 0], "pred": [1, 0, 1, 0]})
    with pytest.raises(WorkbenchError, match="equalized odds difference needs at least two groups"):
        equalized_odds_difference(frame, group="g", positive="pred", truth="truth")


@pytest.fixture
def people():
    return pd.DataFrame({"unsafe": [1, 1, 0, 0, 1, 0, 0, 0],
                         "gender": list("FFFFMMMM"),   # F 2/4 = 0.5, M 1/4 -> gap 0.25
                         "age": list("yyooyooo"),      # y (rows 0, 1, 4) 3/3 = 1, o 0/5 = 0 -> gap 1
                         "region": ["EU"] * 8})        # one group -> skipped


def test_demographic_sensitivity(people):
    out = demographic_sensitivity(people, attributes=["gender", "age", "region"], positive="unsafe")
    # DS is the average over the attributes measured (the paper's reading), the maximum beside it
    assert out["ds"] == pytest.approx((0.25 + 1.0) / 2) and out["ds_max"] == pytest.approx(1.0)
    assert out["per_attribute"] == pytest.approx({"gender": 0.25, "age": 1.0})
    assert list(out["skipped"]) == ["region"] and "need two" in out["skipped"]["region"]
    # min_size=4: age keeps only "o" (5 rows; "y" has 3) and is skipped too; DS = gender's 0.25.
    out = demographic_sensitivity(people, attributes=["gender", "age", "region"], positive="unsafe", min_size=4)
    assert out["ds"] == out["ds_max"] == pytest.approx(0.25) and set(out["skipped"]) == {"age", "region"}
    assert "['y']" in out["skipped"]["age"]
    with pytest.raises(WorkbenchError, match="every attribute was skipped"):
        demographic_sensitivity(people, attributes=["region"], positive="unsafe")


def test_errors(people, odds):
    with pytest.raises(WorkbenchError, match=r"'sex'.*available: unsafe, gender, age, region"):
        demographic_sensitivity(people, attributes=["gender", "sex"], positive="unsafe")
    with pytest.raises(WorkbenchError, match="'unsafe' must be binary"):
        group_rates(people.assign(unsafe=[2, 1, 0, 0, 1, 0, 0, 0]), group="gender", positive="unsafe")
    with pytest.raises(WorkbenchError, match="'unsafe' must be binary"):
        group_rates(people.assign(unsafe=[np.nan, 1, 0, 0, 1, 0, 0, 0]), group="gender", positive="unsafe")
    with pytest.raises(WorkbenchError, match="'truth' must be binary"):
        equalized_odds_difference(odds.assign(truth="yes"), group="g", positive="pred", truth="truth")
    with pytest.raises(WorkbenchError, match="missing column.*'label'"):
        equalized_odds_difference(odds, group="g", positive="pred", truth="label")
    with pytest.raises(WorkbenchError, match="min_size"):
        demographic_parity_difference(people, group="gender", positive="unsafe", min_size=0)
    with pytest.raises(WorkbenchError, match="non-empty list"):
        demographic_sensitivity(people, attributes=[], positive="unsafe")
