"""Macro-F1, bootstrap CIs and paired relative gain: hand-computed cases and scikit-learn as the reference."""
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from workbench import WorkbenchError
from workbench.metrics.classification import confusion, f1_report, f1_scores, relative_gain


def test_hand_computed_case():
    # truth 0 0 1 1 2 2, prediction 0 1 1 1 2 0
    # class 0: TP 1, FP 1, FN 1 → F1 = 2/4 = 0.5; class 1: TP 2, FP 1, FN 0 → 4/5 = 0.8; class 2: TP 1, FN 1 → 2/3
    out = f1_scores([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0], 3)
    assert out["per_class_f1"] == pytest.approx([0.5, 0.8, 2 / 3])
    assert out["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert out["accuracy"] == pytest.approx(4 / 6)


def test_absent_class_counts_as_zero_like_sklearn():
    t, p = [0, 0, 1, 1], [0, 0, 1, 0]
    ours = f1_scores(t, p, 3)
    ref = f1_score(t, p, labels=[0, 1, 2], average="macro", zero_division=0)
    assert ours["macro_f1"] == pytest.approx(ref)
    assert ours["per_class_f1"][2] == 0.0


def test_matches_sklearn_on_random_predictions():
    rng = np.random.default_rng(3)
    for n_classes in (2, 3, 5):
        t = rng.integers(0, n_classes, 200)
        p = np.where(rng.random(200) < 0.6, t, rng.integers(0, n_classes, 200))
        ours = f1_scores(t, p, n_classes)
        assert ours["macro_f1"] == pytest.approx(f1_score(t, p, labels=range(n_classes), average="macro"))
        assert ours["per_class_f1"] == pytest.approx(
            f1_score(t, p, labels=range(n_classes), average=None).tolist())
        assert ours["accuracy"] == pytest.approx(accuracy_score(t, p))
        assert (confusion(t, p, n_classes) == confusion_matrix(t, p, labels=range(n_classes))).all()


def test_bootstrap_interval_contains_point_and_is_seeded():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 3, 300)
    p = np.where(rng.random(300) < 0.7, t, rng.integers(0, 3, 300))
    a = f1_report(t, p, 3, n_boot=500, seed=1)
    b = f1_report(t, p, 3, n_boot=500, seed=1)
    assert a == b
    lo, hi = a["macro_f1_ci"]
    assert lo < a["macro_f1"] < hi and hi - lo < 0.2
    # the batched resampling equals a plain loop over the same indices
    idx = np.random.default_rng(1).integers(0, 300, size=(500, 300))
    loop = [f1_score(t[i], p[i], labels=range(3), average="macro", zero_division=0) for i in idx]
    assert a["macro_f1_ci"] == pytest.approx(np.percentile(loop, [2.5, 97.5]).tolist())


def test_perfect_predictions_have_a_degenerate_interval():
    out = f1_report([0, 1, 2, 1], [0, 1, 2, 1], 3, n_boot=50)
    assert out["macro_f1"] == 1.0 and out["accuracy_ci"] == [1.0, 1.0]


def test_relative_gain_is_paired():
    rng = np.random.default_rng(5)
    t = rng.integers(0, 3, 400)
    weak = np.where(rng.random(400) < 0.5, t, rng.integers(0, 3, 400))
    strong = np.where(rng.random(400) < 0.9, t, weak)
    out = relative_gain(t, weak, strong, 3, n_boot=400)
    fa = f1_score(t, weak, average="macro")
    fb = f1_score(t, strong, average="macro")
    assert out["relative_gain"] == pytest.approx((fb - fa) / fa)
    assert out["ci"][0] > 0 and out["share_positive"] == 1.0
    same = relative_gain(t, weak, weak, 3, n_boot=50)
    assert same["relative_gain"] == 0 and same["ci"] == [0.0, 0.0]


@pytest.mark.parametrize("args,match", [
    (([0, 1], [0], 2), "rows"), (([], [], 2), "no rows"), (([0, 3], [0, 1], 3), "outside"),
    (([0.5, 1.0], [0, 1], 2), "integers"), (([0, 1], [0, 1], 1), "two classes"),
])
def test_bad_input(args, match):
    with pytest.raises(WorkbenchError, match=match):
        f1_scores(*args)
