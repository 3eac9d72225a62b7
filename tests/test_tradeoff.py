import math

import numpy as np
import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.metrics.detection import alignment_score
from workbench.metrics.tradeoff import dimension_profile, labelled, tradeoff_by, tradeoff_matrix


def frame():
    # value-only rows: detector perfect; value+culture rows: misses one of two misaligned; culture-only: perfect
    rows = [
        (["value"], True, True), (["value"], False, False), (["value"], True, True), (["value"], False, False),
        (["value", "culture"], True, True), (["value", "culture"], True, False),
        (["value", "culture"], False, False), (["value", "culture"], False, True),
        (["culture"], True, True), (["culture"], False, False),
    ]
    return pd.DataFrame(rows, columns=["dimensions", "misaligned", "flagged"]).assign(
        semantic_type=["object", "relation"] * 5)


def test_tradeoff_by_hand():
    matrix, counts = tradeoff_matrix(frame())
    # culture → value: AS(value only) = 1; AS(value & culture): coverage 0.5, FFR 0.5 → 0.5
    assert matrix.loc["culture", "value"] == pytest.approx(1.0 - alignment_score(0.5, 0.5))
    assert matrix.loc["value", "culture"] == pytest.approx(1.0 - 0.5)
    assert counts.loc["culture", "value"] == "4/4"
    assert math.isnan(matrix.loc["value", "value"])
    assert matrix.loc["safety"].isna().all() and matrix["safety"].isna().all()     # no safety rows
    assert matrix.loc["value", "culture"] == matrix.loc["culture", "value"]          # symmetric here by design


def test_labelled_from_top1_columns_and_errors():
    f = pd.DataFrame({"safety": ["animal_abuse", "None", "None"], "value": ["None", "benevolence", None]})
    assert labelled(f, "safety").tolist() == [True, False, False]
    assert labelled(f, "value").tolist() == [False, True, False]
    with pytest.raises(WorkbenchError, match="no 'dimensions' column and no 'culture' column"):
        labelled(f, "culture")
    assert labelled(pd.DataFrame({"dimensions": ["safety;value", "value"]}), "safety").tolist() == [True, False]


def test_by_semantic_type_and_profile():
    per = tradeoff_by(frame())
    assert set(per) == {"object", "relation"}
    profile = dimension_profile(frame(), n_boot=200).set_index("dimension")
    assert profile.loc["value", "n"] == 8 and math.isnan(profile.loc["safety", "alignment_score"])
    assert profile.loc["value", "as_low"] <= profile.loc["value", "alignment_score"] <= profile.loc["value", "as_high"]
    minimum = tradeoff_matrix(frame(), min_rows=5)[0]
    assert np.isnan(minimum.to_numpy()).all()
