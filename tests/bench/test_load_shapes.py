"""Load shapes: gamma arrivals keep the rate and set the burstiness, a rate ramp is a time
change of the arrival process, a concurrency ramp opens the slots evenly."""

from __future__ import annotations

import itertools
import statistics

import pytest

from aiperf.bench.schedule import arrival_offsets, slot_opening_s


def gaps(arrival: str, n: int, **shape: float) -> list[float]:
    offsets = list(itertools.islice(arrival_offsets(10.0, arrival, 7, **shape), n + 1))
    return [b - a for a, b in zip(offsets, offsets[1:], strict=False)]


@pytest.mark.parametrize("burstiness", [0.25, 1.0, 4.0])
def test_gamma_arrivals_keep_the_rate_and_vary_as_vllms_burstiness(burstiness: float):
    drawn = gaps("gamma", 40_000, burstiness=burstiness)
    mean = statistics.fmean(drawn)

    assert mean == pytest.approx(0.1, rel=0.03)
    # A gamma of shape k has a coefficient of variation of 1/sqrt(k).
    assert statistics.pstdev(drawn) / mean == pytest.approx(burstiness ** -0.5, rel=0.05)


def test_constant_arrivals_are_evenly_spaced():
    assert gaps("constant", 5) == pytest.approx([0.1] * 5)


def test_a_rate_ramp_rises_linearly_then_holds_the_rate():
    # 10/s reached after a 4 s ramp: 0-1 s holds 1.25 arrivals, 3-4 s 8.75, then 10/s.
    offsets = list(itertools.takewhile(
        lambda t: t < 6, arrival_offsets(10.0, "constant", 1, ramp_s=4.0)))
    per_second = [sum(1 for t in offsets if s <= t < s + 1) for s in range(6)]

    assert sum(per_second[:4]) == 20  # rate x ramp / 2
    assert per_second[:4] == sorted(per_second[:4])
    assert per_second[4:] == [10, 10]


def test_a_ramped_poisson_process_keeps_its_count_over_the_ramp():
    offsets = list(itertools.takewhile(
        lambda t: t < 100, arrival_offsets(100.0, "poisson", 3, ramp_s=100.0)))

    assert len(offsets) == pytest.approx(5000, rel=0.05)  # 100/s x 100 s / 2
    first, second = (sum(1 for t in offsets if lo <= t < lo + 50) for lo in (0, 50))
    assert second / first == pytest.approx(3, rel=0.1)  # the ramp's integral: 1 to 3


def test_a_concurrency_ramp_opens_the_slots_evenly_from_the_first_to_the_last():
    assert [slot_opening_s(s, 4, 3.0) for s in range(4)] == [0.0, 1.0, 2.0, 3.0]
    assert [slot_opening_s(s, 4, None) for s in range(4)] == [0.0] * 4
