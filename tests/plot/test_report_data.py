"""The HTML report's data: the Welch interval of a comparison's delta."""

from __future__ import annotations

import pytest

from aiperf.report.data import welch_interval


def test_the_delta_interval_is_welchs_with_its_degrees_of_freedom():
    # Equal variances (4) and sizes (3): se = sqrt(8/3), 4 degrees of freedom, t = 2.7764.
    low, high = welch_interval([10.0, 12.0, 14.0], [20.0, 22.0, 24.0])

    assert (low, high) == pytest.approx((10 - 4.5338, 10 + 4.5338), abs=1e-3)


def test_a_side_with_one_trial_gives_no_interval():
    assert welch_interval([10.0], [20.0, 22.0]) == (None, None)
