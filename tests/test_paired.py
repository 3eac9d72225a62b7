"""The paired change between two systems on the same items (metrics.paired), on hand-computed cases."""
import math

import numpy as np
import pytest

from workbench import WorkbenchError
from workbench.metrics.paired import paired_change


def test_points_and_relative_changes_by_hand():
    base, other = [1, 0, 0, 1], [1, 1, 0, 1]                 # means 0.5 → 0.75
    assert paired_change(base, other, "points")[0] == pytest.approx(25.0)
    assert paired_change(base, other, "relative gain")[0] == pytest.approx(50.0)
    assert paired_change(other, base, "relative reduction")[0] == pytest.approx(100 * 0.25 / 0.75)


def test_interval_is_paired_and_contains_the_value():
    rng = np.random.default_rng(1)
    base = rng.normal(size=200)
    other = base + 0.1                                        # the same shift on every item: a paired CI is a point
    value, (lo, hi) = paired_change(base, other, "points")
    assert value == pytest.approx(10.0) and lo == pytest.approx(10.0) and hi == pytest.approx(10.0)
    noisy = base + 0.1 + rng.normal(scale=0.2, size=200)
    value, (lo, hi) = paired_change(base, noisy, "points")
    assert lo < value < hi and lo > 0                         # ≈ 10 ± 3 points


def test_undefined_relative_change_and_bad_input():
    value, ci = paired_change([0, 0], [1, 0], "relative gain")
    assert math.isnan(value) and ci is None
    with pytest.raises(WorkbenchError, match="unknown change"):
        paired_change([1], [1], "ratio")
    with pytest.raises(WorkbenchError, match="same items"):
        paired_change([1, 0], [1], "points")
