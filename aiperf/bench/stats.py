"""Summary statistics of one metric's values, computed the way the reference tool does.

- percentiles: numpy's default ``linear`` method (type 7 in Hyndman & Fan): the value at
  rank ``(n - 1) * p / 100`` of the sorted sample, interpolating between neighbours;
- std: population standard deviation (``ddof = 0``);
- avg: ``sum / count``.

These are the methods NVIDIA AIPerf 0.13 uses for record metrics, so numbers computed
here and there from the same samples agree. numpy is imported here only; this module is
loaded by the profile command, never by ``--help`` or ``config``.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

__all__ = ["METHOD", "PERCENTILES", "Distribution", "summarize"]

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


def summarize(values: Sequence[float] | np.ndarray) -> Distribution:
    """Summarise a non-empty sample; raises ``ValueError`` for an empty one."""
    sample = np.asarray(values, dtype=np.float64)
    if sample.ndim != 1 or sample.size == 0:
        msg = f"need a non-empty one-dimensional sample, got shape {sample.shape}"
        raise ValueError(msg)
    total = float(sample.sum())
    percentiles = np.percentile(sample, PERCENTILES, method="linear")
    return Distribution(
        count=int(sample.size),
        sum=total,
        avg=total / sample.size,
        min=float(sample.min()),
        max=float(sample.max()),
        std=float(sample.std(ddof=0)),
        **{f"p{p}": float(v) for p, v in zip(PERCENTILES, percentiles, strict=True)},
    )
