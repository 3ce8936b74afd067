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


def test_a_degraded_run_is_never_on_the_frontier():
    from aiperf.report.data import pareto_points

    def run(name: str, latency: float, throughput: float, degraded: bool) -> dict:
        return {"name": name, "degraded": degraded,
                "metrics": [{"tag": "request_latency", "stats": {"p50": latency}}],
                "scalars": [{"tag": "output_token_throughput", "value": throughput}]}

    # "fast" would dominate "mid", but its cell failed too many requests.
    points = pareto_points([run("slow", 300, 100, False), run("mid", 200, 80, False),
                      run("fast", 100, 500, True)])["points"]

    assert {p["name"]: p["front"] for p in points} == {"slow": True, "mid": True,
                                                      "fast": False}
