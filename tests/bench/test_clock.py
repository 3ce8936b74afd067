"""The run's clock (aiperf.bench.clock): wall stamps derived from the monotonic clock."""

from __future__ import annotations

import time

from aiperf.bench.clock import perf_ns, wall_ns, wall_of


def test_wall_stamps_keep_the_order_and_the_gaps_of_the_monotonic_readings():
    readings = [perf_ns() for _ in range(1000)]

    walls = [wall_of(p) for p in readings]

    assert walls == sorted(walls)
    assert [b - a for a, b in zip(readings, readings[1:], strict=False)] == [
        b - a for a, b in zip(walls, walls[1:], strict=False)]


def test_the_derived_wall_clock_agrees_with_the_system_clock():
    # Generous: only a wrong offset (seconds, or the epoch missing) could be this far off.
    assert abs(wall_ns() - time.time_ns()) < 1_000_000_000
