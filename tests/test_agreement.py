"""Rater agreement: ICCs against Shrout & Fleiss (1979) and pingouin, inter-rater correlation by hand and scipy."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin
import pytest
from scipy import stats

from workbench import WorkbenchError
from workbench.metrics.agreement import (correlation_with_reference, icc, icc_table_to_dict,
                                         inter_rater_correlation)

COLUMNS = ["type", "description", "icc", "F", "df1", "df2", "pval", "ci_low", "ci_high"]
# Shrout & Fleiss (1979), Table 2: 6 targets (rows) x 4 judges (columns).
SF_TABLE = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])
SF_PUBLISHED = {"ICC1": 0.17, "ICC2": 0.29, "ICC3": 0.71, "ICC1k": 0.44, "ICC2k": 0.62, "ICC3k": 0.91}


def long(table, ids=None) -> pd.DataFrame:
    n, k = table.shape
    ids = list(range(n)) if ids is None else ids
    return pd.DataFrame({"t": np.repeat(ids, k), "r": np.tile([f"j{j}" for j in range(k)], n),
                         "y": np.asarray(table, dtype=float).ravel()})


def mean_squares(table):
    """Two-way ANOVA mean squares written out cell by cell (a different path from the module's)."""
    x = np.asarray(table, dtype=float)
    n, k = x.shape
    m = x.mean()
    ssr = sum(k * (x[i].mean() - m) ** 2 for i in range(n))
    ssc = sum(n * (x[:, j].mean() - m) ** 2 for j in range(k))
    sse = sum((x[i, j] - x[i].mean() - x[:, j].mean() + m) ** 2 for i in range(n) for j in range(k))
    return ssr / (n - 1), ssc / (k - 1), sse / ((n - 1) * (k - 1)), (ssc + sse) / (n * (k - 1))


def by_type(frame) -> pd.DataFrame:
    return frame.set_index("type")


def test_shrout_fleiss_table2():
    out = icc(long(SF_TABLE), targets="t", raters="r", ratings="y")
    assert list(out.columns) == COLUMNS
    assert out["type"].tolist() == list(SF_PUBLISHED)
    assert out.attrs["dropped_targets"] == []
    for kind, value in SF_PUBLISHED.items():
        assert round(by_type(out).at[kind, "icc"], 2) == value, kind
    # Published mean squares (Table 2): BMS 11.24, JMS 32.49, EMS 1.02, WMS 6.26.
    msr, msc, mse, msw = mean_squares(SF_TABLE)
    assert [round(v, 2) for v in (msr, msc, mse, msw)] == [11.24, 32.49, 1.02, 6.26]


def test_unrounded_values_match_hand_computation():
    out = by_type(icc(long(SF_TABLE), targets="t", raters="r", ratings="y", alpha=0.1))
    msr, msc, mse, msw = mean_squares(SF_TABLE)
    n, k = SF_TABLE.shape
    expected = {"ICC1": (msr - msw) / (msr + (k - 1) * msw),
                "ICC2": (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n),
                "ICC3": (msr - mse) / (msr + (k - 1) * mse),
                "ICC1k": (msr - msw) / msr, "ICC2k": (msr - mse) / (msr + (msc - mse) / n),
                "ICC3k": (msr - mse) / msr}
    for kind, value in expected.items():
        assert out.at[kind, "icc"] == pytest.approx(value, abs=1e-12)
    f3 = msr / mse
    assert out.at["ICC3", "F"] == pytest.approx(f3) and out.at["ICC1", "F"] == pytest.approx(msr / msw)
    assert out.at["ICC3", "pval"] == pytest.approx(stats.f.sf(f3, n - 1, (n - 1) * (k - 1)))
    # McGraw & Wong case 3 at alpha = 0.1: F_L = F / F_.95(5, 15), F_U = F * F_.95(15, 5).
    fl, fu = f3 / stats.f.ppf(0.95, 5, 15), f3 * stats.f.ppf(0.95, 15, 5)
    assert out.at["ICC3", "ci_low"] == pytest.approx((fl - 1) / (fl + k - 1), abs=1e-12)
    assert out.at["ICC3", "ci_high"] == pytest.approx((fu - 1) / (fu + k - 1), abs=1e-12)
    assert out.at["ICC3k", "ci_low"] == pytest.approx(1 - 1 / fl, abs=1e-12)
    # ICC2k bounds are the ICC2 bounds stepped up by Spearman-Brown.
    sb = lambda x: k * x / (1 + (k - 1) * x)  # noqa: E731
    assert out.at["ICC2k", "ci_low"] == pytest.approx(sb(out.at["ICC2", "ci_low"]), abs=1e-12)
    assert out.at["ICC2k", "ci_high"] == pytest.approx(sb(out.at["ICC2", "ci_high"]), abs=1e-12)
    assert (out["ci_low"] < out["icc"]).all() and (out["icc"] < out["ci_high"]).all()


@pytest.fixture
def random_ratings():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(30, 1)) + rng.normal(scale=0.8, size=(30, 5)) + rng.normal(size=5)
    return long(table, ids=[f"item{i:02d}" for i in range(30)])


def pingouin_icc(data) -> pd.DataFrame:
    ref = pingouin.intraclass_corr(data=data, targets="t", raters="r", ratings="y")
    ci = next(c for c in ref.columns if c.startswith("CI95"))  # "CI95%" in older releases, "CI95" in 0.7
    bounds = np.vstack(ref[ci].to_numpy())
    return ref.assign(ci_low=bounds[:, 0], ci_high=bounds[:, 1])


def test_random_data_matches_pingouin(random_ratings, monkeypatch):
    ours = icc(random_ratings, targets="t", raters="r", ratings="y")
    ref = pingouin_icc(random_ratings)  # rows in the same order: ICC(1,1), ICC(A,1), ICC(C,1), ICC(1,k), ...
    for mine, theirs in [("icc", "ICC"), ("F", "F"), ("df1", "df1"), ("df2", "df2"), ("pval", "pval")]:
        np.testing.assert_allclose(ours[mine], ref[theirs], rtol=0, atol=1e-6, err_msg=mine)
    for col in ("ci_low", "ci_high"):  # pingouin rounds its interval to 2 decimals
        np.testing.assert_allclose(ours[col].round(2), ref[col], rtol=0, atol=1e-9, err_msg=col)
    monkeypatch.setitem(pingouin.options, "round.column.CI95", None)
    monkeypatch.setitem(pingouin.options, "round.column.CI95%", None)
    ref = pingouin_icc(random_ratings)
    for col in ("ci_low", "ci_high"):
        np.testing.assert_allclose(ours[col], ref[col], rtol=0, atol=1e-6, err_msg=col)


def test_incomplete_design_drops_targets(random_ratings):
    data = random_ratings.drop(index=[3, 57]).sample(frac=1, random_state=0)  # item00 / j3 and item11 / j2
    out = icc(data, targets="t", raters="r", ratings="y")
    assert out.attrs["dropped_targets"] == ["item00", "item11"]
    complete = random_ratings[~random_ratings["t"].isin(["item00", "item11"])]
    pd.testing.assert_frame_equal(out, icc(complete, targets="t", raters="r", ratings="y"), check_like=True)
    # A missing rating value counts as missing too.
    data = random_ratings.copy()
    data.loc[5, "y"] = np.nan
    assert icc(data, targets="t", raters="r", ratings="y").attrs["dropped_targets"] == ["item01"]


def test_icc_table_to_dict():
    out = icc_table_to_dict(icc(long(SF_TABLE), targets="t", raters="r", ratings="y"))
    assert list(out) == list(SF_PUBLISHED)
    assert set(out["ICC3"]) == {"icc", "ci_low", "ci_high"}
    assert all(type(v) is float for row in out.values() for v in row.values())
    assert round(out["ICC3k"]["icc"], 2) == 0.91


def test_icc_errors():
    data = long(SF_TABLE)
    with pytest.raises(WorkbenchError, match=r"'score'.*available: t, r, y"):
        icc(data, targets="t", raters="r", ratings="score")
    with pytest.raises(WorkbenchError, match="'y' must be numeric"):
        icc(data.assign(y=data["y"].map({2.0: "low"}).fillna("high")), targets="t", raters="r", ratings="y")
    with pytest.raises(WorkbenchError, match="target 0 rated by 'j0'"):
        icc(pd.concat([data, data.iloc[:1]]), targets="t", raters="r", ratings="y")
    with pytest.raises(WorkbenchError, match="at least 2 raters"):
        icc(data[data["r"] == "j0"], targets="t", raters="r", ratings="y")
    with pytest.raises(WorkbenchError, match="at least 2 targets"):
        icc(data[data["t"] == 0], targets="t", raters="r", ratings="y")
    with pytest.raises(WorkbenchError, match="only 1 target"):  # all but target 5 lose a rating
        icc(data.drop(index=[0, 4, 8, 12, 16]), targets="t", raters="r", ratings="y")
    with pytest.raises(WorkbenchError, match="alpha"):
        icc(data, targets="t", raters="r", ratings="y", alpha=1.5)


def test_inter_rater_correlation_perfect():
    base = np.array([1.0, 3, 2, 5, 4])
    table = np.column_stack([base, 2 * base + 1, base - 7])
    assert inter_rater_correlation(long(table), targets="t", raters="r", ratings="y") == pytest.approx(1.0)


def test_inter_rater_correlation_by_hand():
    # Raters a = (1, 2, 3), b = (1, 3, 2), c = (3, 2, 1) over three targets.
    # Deviations: a (-1, 0, 1), b (-1, 1, 0), c (1, 0, -1); each has sum of squares 2.
    # r(a, b) = (1 + 0 + 0) / 2 = 0.5, r(a, c) = (-1 + 0 - 1) / 2 = -1, r(b, c) = (-1 + 0 + 0) / 2 = -0.5.
    # Mean = (0.5 - 1 - 0.5) / 3 = -1/3.
    table = np.array([[1, 1, 3], [2, 3, 2], [3, 2, 1]])
    assert inter_rater_correlation(long(table), targets="t", raters="r", ratings="y") == pytest.approx(-1 / 3)
    # A fourth rater with constant ratings is skipped, leaving the same value.
    with_constant = np.column_stack([table, [4, 4, 4]])
    assert inter_rater_correlation(long(with_constant), targets="t", raters="r",
                                   ratings="y") == pytest.approx(-1 / 3)
    with pytest.raises(WorkbenchError, match="at least 2 raters whose ratings vary"):
        inter_rater_correlation(long(np.array([[1, 4], [2, 4], [3, 4]])), targets="t", raters="r", ratings="y")
    with pytest.raises(WorkbenchError, match="unknown correlation method"):
        inter_rater_correlation(long(table), targets="t", raters="r", ratings="y", method="kendall")


def test_spearman_matches_scipy(random_ratings):
    data = random_ratings.assign(y=random_ratings["y"].round(0))  # ties exercise average ranks
    wide = data.pivot(index="t", columns="r", values="y").to_numpy()
    rho = stats.spearmanr(wide).statistic
    expected = rho[np.triu_indices(5, k=1)].mean()
    got = inter_rater_correlation(data, targets="t", raters="r", ratings="y", method="spearman")
    assert got == pytest.approx(expected, abs=1e-12)
    pearson = np.corrcoef(wide, rowvar=False)[np.triu_indices(5, k=1)].mean()
    assert inter_rater_correlation(data, targets="t", raters="r", ratings="y") == pytest.approx(pearson)


def test_correlation_with_reference():
    pred, ref = [0.1, 0.4, 0.35, 0.8, np.nan], [0, 0, 1, 1, 1]
    assert correlation_with_reference(pred, ref) == pytest.approx(stats.pearsonr(pred[:4], ref[:4]).statistic)
    assert correlation_with_reference(pred, ref, method="spearman") == pytest.approx(
        stats.spearmanr(pred[:4], ref[:4]).statistic)
    with pytest.raises(WorkbenchError, match="differ in length"):
        correlation_with_reference([1, 2, 3], [1, 2])
    with pytest.raises(WorkbenchError, match="constant"):
        correlation_with_reference([1, 2, 3], [1, 1, 1])
