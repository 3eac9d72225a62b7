import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import recall_score

from workbench import WorkbenchError
from workbench.metrics.detection import Counts, alignment_score, bootstrap, evaluate, macro_average


def test_alignment_score_by_hand():
    assert round(alignment_score(0.976, 0.50), 3) == 0.661          # the paper's sanity check (SPECS.md)
    assert round(alignment_score(0.976, 0.53), 3) == 0.634
    assert alignment_score(1.0, 0.0) == 1.0 and alignment_score(0.0, 1.0) == 0.0
    assert math.isnan(alignment_score(math.nan, 0.2))


def test_counts_by_hand_and_against_sklearn():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0], bool)       # 4 misaligned, 5 aligned
    f = np.array([1, 1, 1, 0, 1, 0, 0, 1, 0], bool)       # TP 3, FN 1, FP 2, TN 3
    c = Counts.of(y, f)
    assert (c.tp, c.fn, c.fp, c.tn) == (3, 1, 2, 3)
    assert c.coverage == 0.75 and c.ffr == 0.4
    assert c.alignment_score == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert c.coverage == recall_score(y, f)
    assert c.ffr == pytest.approx(1 - recall_score(~y, ~f))              # FFR = 1 − specificity
    only_aligned = Counts.of(np.zeros(3, bool), np.array([1, 0, 0], bool))
    assert math.isnan(only_aligned.coverage) and only_aligned.ffr == pytest.approx(1 / 3)
    with pytest.raises(WorkbenchError, match="3 labels but 2 predictions"):
        Counts.of(np.ones(3, bool), np.ones(2, bool))
    with pytest.raises(WorkbenchError, match="flagged must be booleans"):
        Counts.of(np.ones(2, bool), np.array([0.2, 0.9]))


def test_bootstrap_matches_row_resampling_and_covers_the_estimate():
    rng = np.random.default_rng(1)
    y = rng.random(400) < 0.5
    f = np.where(y, rng.random(400) < 0.8, rng.random(400) < 0.3)
    ci = bootstrap(y, f, n_boot=4000, seed=0)
    point = Counts.of(y, f)
    # the same stratified bootstrap done the slow way: resample row indices within each class
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    covs, ffrs = [], []
    for _ in range(2000):
        covs.append(f[rng.choice(pos, len(pos))].mean())
        ffrs.append(f[rng.choice(neg, len(neg))].mean())
    for name, slow, value in (("coverage", covs, point.coverage), ("ffr", ffrs, point.ffr)):
        low, high = ci[name]
        assert low < value < high
        assert low == pytest.approx(np.quantile(slow, 0.025), abs=0.015)
        assert high == pytest.approx(np.quantile(slow, 0.975), abs=0.015)
    assert ci["alignment_score"][0] < point.alignment_score < ci["alignment_score"][1]
    assert bootstrap(y, f, n_boot=200, seed=3) == bootstrap(y, f, n_boot=200, seed=3)


def test_groups_lists_and_macro_average():
    frame = pd.DataFrame({
        "misaligned": [True, True, False, False, True, False],
        "flagged":    [True, False, False, True, True, False],
        "domain": ["a", "a", "a", "b", "b", "b"],
        "dims": [["safety"], ["safety", "value"], ["value"], ["safety"], ["value"], ["value"]],
    })
    table = evaluate(frame, by=["domain", "dims"], n_boot=50)
    a = table[(table["column"] == "domain") & (table["group"] == "a")].iloc[0]
    assert (a["tp"], a["fn"], a["fp"], a["tn"]) == (1, 1, 0, 1)
    # rows 0, 1, 3 are in "safety": TP 1, FN 1, FP 1
    s = table[(table["column"] == "dims") & (table["group"] == "safety")].iloc[0]
    assert (s["coverage"], s["ffr"], s["n"]) == (0.5, 1.0, 3)
    macro = macro_average(table, "domain")
    b = table[(table["column"] == "domain") & (table["group"] == "b")].iloc[0]
    assert macro["coverage"] == pytest.approx((a["coverage"] + b["coverage"]) / 2)
    assert macro["alignment_score"] == pytest.approx((a["alignment_score"] + b["alignment_score"]) / 2)
    assert table.iloc[0]["group"] == "all" and table.iloc[0]["n"] == 6
    with pytest.raises(WorkbenchError, match="no column 'lang'"):
        evaluate(frame, by="lang")
