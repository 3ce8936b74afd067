"""Summary statistics of one metric's values, computed the way the reference tool does.

- percentiles: numpy's default ``linear`` method (type 7 in Hyndman & Fan): the value at
  rank ``(n - 1) * p / 100`` of the sorted sample, interpolating between neighbours;
- std: population standard deviation (``ddof = 0``);
- avg: ``sum / count``.

These are the methods NVIDIA AIPerf 0.13 uses for record metrics (it calls numpy), so
numbers computed here and there from the same samples agree; a property test checks
them against numpy. The arithmetic is plain Python on purpose: importing numpy costs a
``profile`` run about 0.1 s of start-up, more than summarising 10,000 records takes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import attrs

__all__ = ["METHOD", "PERCENTILES", "Distribution", "linear_percentile", "summarize"]

#: The percentiles every distribution reports, in the reference's order.
PERCENTILES: tuple[int, ...] = (1, 5, 10, 25, 50, 75, 90, 95, 99)

#: How the numbers were computed, written into the summary file so readers know.
METHOD: dict[str, str] = {
    "percentiles": "linear interpolation (numpy 'linear', type 7)",
    "std": "population (ddof=0)",
    "avg": "sum / count",
}


@attrs.frozen
class Distribution:
    """avg, min, max, percentiles, std, count and sum of a non-empty sample."""

    count: int
    sum: float
    avg: float
    min: float
    max: float
    std: float
    p1: float
    p5: float
    p10: float
    p25: float
    p50: float
    p75: float
    p90: float
    p95: float
    p99: float

    def percentile(self, p: int) -> float:
        """One of the reported percentiles, e.g. ``percentile(99)``."""
        if p not in PERCENTILES:
            msg = f"percentile {p} is not reported; choose one of {list(PERCENTILES)}"
            raise ValueError(msg)
        return float(getattr(self, f"p{p}"))


def summarize(values: Iterable[float]) -> Distribution:
    """Summarise a non-empty sample; raises ``ValueError`` for an empty one."""
    sample = sorted(float(v) for v in values)
    n = len(sample)
    if n == 0:
        msg = "need a non-empty sample"
        raise ValueError(msg)
    # fsum: exactly rounded, so a long run's sum does not drift with the order of records.
    total = math.fsum(sample)
    avg = total / n
    variance = math.fsum((v - avg) ** 2 for v in sample) / n
    return Distribution(
        count=n,
        sum=total,
        avg=avg,
        min=sample[0],
        max=sample[-1],
        std=math.sqrt(variance),
        **{f"p{p}": linear_percentile(sample.__getitem__, n, p) for p in PERCENTILES},
    )


def linear_percentile(value_at: Callable[[int], float], n: int, p: float) -> float:
    """numpy's ``linear`` method: interpolate at rank ``(n-1)*p/100`` of a sorted sample of
    ``n`` values, where ``value_at(i)`` is the ``i``-th smallest (0-based)."""
    rank = (n - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, n - 1)
    below, above = value_at(low), value_at(high)
    # numpy's form (lerp from whichever end is nearer) keeps equal neighbours exact.
    fraction = rank - low
    if fraction <= 0.5:
        return below + (above - below) * fraction
    return above - (above - below) * (1 - fraction)
