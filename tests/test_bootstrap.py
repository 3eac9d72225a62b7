"""metrics.bootstrap: the percentile bootstrap against scipy.stats.bootstrap on hand cases, the cluster and skip
rules, and the callers that moved onto it giving what their hand-rolled loops gave (same draws, same values)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import bootstrap as scipy_bootstrap

from workbench import WorkbenchError
from workbench.metrics.bootstrap import bootstrap_ci, percentile_interval, resamples

X = np.array([2.0, 3.5, 1.0, 7.0, 4.0, 4.5, 0.5, 6.0, 3.0])
Y = np.array([1.5, 3.0, 1.5, 5.0, 4.5, 2.0, 0.0, 5.5, 2.0])


def scipy_ci(data, statistic, **kwargs):
    res = scipy_bootstrap(data, statistic, n_resamples=999, method="percentile",
                          random_state=np.random.default_rng(5), **kwargs)
    return res.confidence_interval.low, res.confidence_interval.high


@pytest.mark.parametrize("vectorized", [True, False])
def test_one_sample_mean_is_scipys_percentile_interval(vectorized):
    ours = bootstrap_ci(lambda a: a.mean(-1), X, n_resamples=999, seed=5, vectorized=vectorized)
    np.testing.assert_allclose(ours, scipy_ci((X,), np.mean), rtol=1e-12)
    assert ours[0] < X.mean() < ours[1]


def test_paired_and_independent_samples_are_scipys():
    diff = lambda a, b, axis=-1: a.mean(axis) - b.mean(axis)      # noqa: E731
    np.testing.assert_allclose(bootstrap_ci(diff, X, Y, n_resamples=999, seed=5, vectorized=True),
                               scipy_ci((X, Y), diff, paired=True), rtol=1e-12)
    np.testing.assert_allclose(bootstrap_ci(diff, X, Y[:5], paired=False, n_resamples=999, seed=5, vectorized=True),
                               scipy_ci((X, Y[:5]), diff), rtol=1e-12)


def test_a_hand_computed_interval():
    # two items, four resamples; seed 3 draws [1, 0], [0, 0], [0, 1], [1, 1]: means 1.5, 1, 1.5, 2, sorted
    # 1, 1.5, 1.5, 2; the 25th percentile lies 3/4 of the way from 1 to 1.5, the 75th 1/4 from 1.5 to 2
    assert resamples(2, 4, seed=3).tolist() == [[1, 0], [0, 0], [0, 1], [1, 1]]
    assert bootstrap_ci(lambda a: a.mean(-1), np.array([1.0, 2.0]), n_resamples=4, seed=3, vectorized=True,
                        confidence=0.5) == (1.375, 1.625)


def test_clusters_are_drawn_whole():
    # three prompts of 1, 2 and 3 tokens; the tokens of prompt "b" are all right, the others all wrong
    prompt = np.array(["a", "b", "b", "c", "c", "c"])
    hits = np.array([0, 1, 1, 0, 0, 0], float)
    for items in resamples(6, 50, seed=1, clusters=prompt):
        counts = {p: int((prompt[items] == p).sum()) for p in "abc"}
        assert counts["b"] % 2 == 0 and counts["c"] % 3 == 0 and sum(c > 0 for c in counts.values()) <= 3
    lo, hi = bootstrap_ci(np.mean, hits, clusters=prompt, n_resamples=500, seed=0)
    assert 0 <= lo < 2 / 6 < hi <= 1


def test_strata_keep_their_sizes_and_give_paired_differences_the_former_draws():
    from workbench.metrics.detection import paired_difference

    y = np.array([1, 1, 1, 0, 0, 0, 0, 0], bool)
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    draws = resamples(8, 100, seed=2, strata=[pos, neg])
    assert y[draws[:, :3]].all() and not y[draws[:, 3:]].any()
    rng = np.random.default_rng(2)
    assert (draws == np.concatenate([pos[rng.integers(0, 3, (100, 3))], neg[rng.integers(0, 5, (100, 5))]], 1)).all()
    a, b = np.array([1, 1, 0, 1, 0, 0, 0, 0], bool), np.array([1, 0, 0, 0, 0, 0, 1, 0], bool)
    cov = paired_difference(y, a, b, n_boot=100, seed=2)["coverage"]
    former = (a[draws[:, :3]].mean(1) - b[draws[:, :3]].mean(1))
    assert cov == (1 / 3, *np.quantile(former, [0.025, 0.975]))


def test_undefined_resamples_are_skipped_and_several_statistics_share_resamples():
    y = np.array([0, 0, 0, 1])
    only_both = lambda a: a.mean() if len(np.unique(a)) == 2 else None      # noqa: E731
    lo, hi = bootstrap_ci(only_both, y, n_resamples=200)
    assert 0 < lo <= hi < 1
    assert bootstrap_ci(lambda a: None, y, n_resamples=20) is None
    assert bootstrap_ci(lambda a: a.mean(), y, n_resamples=1, min_valid=2) is None
    mean_ci, max_ci = bootstrap_ci(lambda a: (a.mean(), a.max()), X, n_resamples=300)
    assert mean_ci == bootstrap_ci(lambda a: a.mean(), X, n_resamples=300) and max_ci[1] == X.max()
    assert percentile_interval([np.nan, 1.0, 3.0]) == (1.05, 2.95)


def test_bad_input_is_one_line():
    with pytest.raises(WorkbenchError, match="same length"):
        bootstrap_ci(lambda a, b: 0.0, X, Y[:3])
    with pytest.raises(WorkbenchError, match="confidence"):
        bootstrap_ci(np.mean, X, confidence=95)
    with pytest.raises(WorkbenchError, match="at least one item"):
        bootstrap_ci(np.mean, np.array([]))


# --- the callers: the values of their former hand-rolled loops ----------------------------------------------------

def test_eer_bootstrap_gives_the_former_loops_values():
    from workbench.metrics.eer import bootstrap_ci as eer_ci, eer

    rng = np.random.default_rng(0)
    y = np.array([0] * 6 + [1] * 6)
    s = y + rng.normal(0, 0.8, len(y))
    got = eer_ci(s, y, 0.5, n=300, seed=2)
    draws, eers, accs = np.random.default_rng(2), [], []
    for _ in range(300):
        i = draws.integers(0, len(y), len(y))
        if len(set(y[i])) < 2:
            continue
        eers.append(eer(s[i], y[i])[0])
        accs.append(float(((s[i] > 0.5).astype(int) == y[i]).mean()))
    assert got["eer_ci"] == [float(np.percentile(eers, 2.5)), float(np.percentile(eers, 97.5))]
    assert got["accuracy_ci"] == [float(np.percentile(accs, 2.5)), float(np.percentile(accs, 97.5))]


def test_paired_change_and_cluster_ci_give_the_former_values():
    from workbench.experts.token_router import prompt_cluster_ci
    from workbench.metrics.paired import change_statistic, paired_change

    _, ci = paired_change(X, Y, "relative reduction", n_boot=500, seed=4)
    idx = np.random.default_rng(4).integers(0, len(X), size=(500, len(X)))
    draws = change_statistic("relative reduction", X[idx], Y[idx])
    assert ci == tuple(float(q) for q in np.quantile(draws[np.isfinite(draws)], [0.025, 0.975]))
    prompt = np.repeat(np.arange(7), [3, 1, 4, 2, 5, 2, 3])
    hits = (np.random.default_rng(1).random(len(prompt)) < 0.6).astype(float)
    ids, owner = np.unique(prompt, return_inverse=True)
    right, total = np.bincount(owner, weights=hits), np.bincount(owner).astype(float)
    idx = np.random.default_rng(3).integers(0, len(ids), size=(400, len(ids)))
    former = np.quantile(right[idx].sum(1) / total[idx].sum(1), [0.025, 0.975])
    np.testing.assert_allclose(prompt_cluster_ci(hits, prompt, n_boot=400, seed=3), former, rtol=1e-12)
