"""The values of one metric, gathered as a run goes on, in memory that stays bounded.

A :class:`Sample` keeps its values exactly, as 8-byte floats, up to ``exact_limit`` of
them; its summary is then :func:`aiperf.bench.stats.summarize` of those very values,
bit for bit what the whole list gave before. Past that limit it folds the values into
logarithmic buckets whose representative is within :data:`RELATIVE_ACCURACY` of every
value in the bucket (a DDSketch-style mapping), so a run of any length holds at most
``exact_limit`` floats plus one counter per occupied bucket (a few thousand at most,
since a bucket spans 0.1% of a value). What stays exact whatever the length: the count,
min, max and sum (within float rounding); the average, and the standard deviation (merged
batch by batch, Chan et al.). Percentiles of a folded sample are within
:data:`RELATIVE_ACCURACY` of the exact ones; the summary says which metrics were folded.

Folding works on whole batches with numpy, so a long run pays a few nanoseconds per value,
never a Python-level step per value on the event loop; numpy is imported only when a
sample first folds.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from typing import Any

from aiperf.bench.stats import PERCENTILES, Distribution, linear_percentile, summarize

__all__ = ["EXACT_LIMIT", "RELATIVE_ACCURACY", "Sample"]

#: Values a sample keeps exactly (1 MiB of floats) before it folds them into buckets.
EXACT_LIMIT = 1 << 17
#: A folded sample's percentiles are within this fraction of the exact ones.
RELATIVE_ACCURACY = 0.0005
_GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(_GAMMA)
#: Magnitudes below this (ms, tokens: far under any resolution we measure) share bucket 0.
_TINY = 1e-9


class Sample:
    """One metric's values: exact up to ``exact_limit``, then in buckets (see the module)."""

    __slots__ = ("_buckets", "_exact_limit", "_m2", "_max", "_mean", "_min", "_n_folded",
                 "_sums", "_values")

    def __init__(self, exact_limit: int = EXACT_LIMIT) -> None:
        if exact_limit < 1:
            msg = f"exact_limit must be at least 1, not {exact_limit}"
            raise ValueError(msg)
        self._exact_limit = exact_limit
        self._values = array("d")
        # What was folded: signed bucket key -> count; the batch sums; and the merged
        # count, mean and M2 (sum of squared deviations) of the folded values.
        self._buckets: dict[int, int] = {}
        self._sums: list[float] = []
        self._n_folded = 0
        self._mean = 0.0
        self._m2 = 0.0
        self._min = math.inf
        self._max = -math.inf

    def __len__(self) -> int:
        return self._n_folded + len(self._values)

    @property
    def exact(self) -> bool:
        """Whether every value is still held exactly (the summary is then exact)."""
        return self._n_folded == 0

    def add(self, value: float) -> None:
        """Add one value."""
        self._values.append(value)
        if len(self._values) >= self._exact_limit:
            self._fold()

    def extend(self, values: Iterable[float]) -> None:
        """Add several values."""
        self._values.extend(values)
        if len(self._values) >= self._exact_limit:
            self._fold()

    def merge(self, other: Sample) -> None:
        """Add every value of ``other`` (which is left as it was)."""
        if other._n_folded:
            for key, count in other._buckets.items():
                self._buckets[key] = self._buckets.get(key, 0) + count
            self._sums.extend(other._sums)
            self._combine(other._n_folded, other._mean, other._m2)
            self._min = min(self._min, other._min)
            self._max = max(self._max, other._max)
        self.extend(other._values)

    def summary(self) -> Distribution:
        """avg, min, max, percentiles, std, count and sum; ``ValueError`` when empty."""
        if self.exact:
            return summarize(self._values)
        if self._values:
            self._fold()
        n = self._n_folded
        ordered = sorted(self._buckets.items())
        keys = [key for key, _ in ordered]
        ends = []
        running = 0
        for _, count in ordered:
            running += count
            ends.append(running)

        def at_rank(rank: int) -> float:
            # The bucket holding the rank-th smallest value, clamped to the exact extremes.
            lo, hi = 0, len(ends) - 1
            while lo < hi:
                mid = (lo + hi) // 2
                if ends[mid] > rank:
                    hi = mid
                else:
                    lo = mid + 1
            return min(max(_representative(keys[lo]), self._min), self._max)

        total = math.fsum(self._sums)
        return Distribution(
            count=n,
            sum=total,
            avg=total / n,
            min=self._min,
            max=self._max,
            std=math.sqrt(self._m2 / n),
            **{f"p{p}": linear_percentile(at_rank, n, p) for p in PERCENTILES},
        )

    def _fold(self) -> None:
        import numpy as np

        batch: Any = np.frombuffer(self._values, dtype=np.float64).copy()
        self._values = array("d")
        magnitude = np.abs(batch)
        keys = np.zeros(batch.shape, dtype=np.int64)
        big = magnitude >= _TINY
        # Key k holds magnitudes in (gamma^(k-1), gamma^k]; shifted by one so that key 0
        # is left for zero, and signed for negative values.
        keys[big] = np.ceil(np.log(magnitude[big]) / _LOG_GAMMA).astype(np.int64)
        keys[big] += _KEY_SHIFT
        keys = np.where(batch < 0, -keys, keys)
        found, counts = np.unique(keys, return_counts=True)
        for key, count in zip(found.tolist(), counts.tolist(), strict=True):
            self._buckets[key] = self._buckets.get(key, 0) + count
        self._sums.append(math.fsum(batch))
        mean = float(batch.mean())
        self._combine(len(batch), mean, float(((batch - mean) ** 2).sum()))
        self._min = min(self._min, float(batch.min()))
        self._max = max(self._max, float(batch.max()))

    def _combine(self, n: int, mean: float, m2: float) -> None:
        # Chan et al.'s pairwise update of (count, mean, M2).
        total = self._n_folded + n
        delta = mean - self._mean
        self._mean += delta * n / total
        self._m2 += m2 + delta * delta * self._n_folded * n / total
        self._n_folded = total


#: Added to every non-zero magnitude's key so that all of them are positive (magnitudes
#: down to _TINY give keys above -_KEY_SHIFT), leaving 0 for zero and the sign for sign.
_KEY_SHIFT = math.ceil(-math.log(_TINY) / _LOG_GAMMA) + 1


def _representative(key: int) -> float:
    """The value that stands for bucket ``key``: within RELATIVE_ACCURACY of all its values."""
    if key == 0:
        return 0.0
    k = abs(key) - _KEY_SHIFT
    value = 2 * _GAMMA**k / (_GAMMA + 1)
    return value if key > 0 else -value
