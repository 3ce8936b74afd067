"""Evaluate a run's thresholds (``--fail-on``, ``benchmark.thresholds``) against its metrics.

The configuration has already checked every expression; here each is parsed again and
compared with the statistic the run measured. A metric the run did not measure (TTFT of
a non-streaming run, any latency of a run without a successful request) fails its
threshold: a CI gate must not pass on missing data. Counters the summary omits when they
are zero (``error_request_count``...) count as 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from aiperf.bench.metrics import RunMetrics
from aiperf.config.metric_tags import DISTRIBUTION, METRIC_KINDS, ZERO_WHEN_ABSENT
from aiperf.config.thresholds import Threshold, parse_threshold

__all__ = ["ThresholdResult", "breached", "evaluate", "measure"]


@attrs.frozen
class ThresholdResult:
    """One threshold and how the run did against it (``measured`` None: not measured)."""

    threshold: Threshold
    measured: float | None
    passed: bool

    def to_json(self) -> dict[str, Any]:
        """The entry written to ``run.json``'s ``thresholds`` list."""
        t = self.threshold
        return {"expression": t.text, "metric": t.metric, "stat": t.stat, "op": t.op,
                "limit": t.limit, "measured": self.measured, "passed": self.passed}

    def describe(self) -> str:
        """``time_to_first_token.p95<200: measured 251.3`` for the console."""
        shown = "not measured" if self.measured is None else f"measured {self.measured:g}"
        return f"{self.threshold.text}: {shown}"


def measure(metrics: RunMetrics, metric: str, stat: str) -> float | None:
    """The value of ``stat`` of ``metric`` in this run, or None when it was not measured."""
    if METRIC_KINDS[metric] == DISTRIBUTION:
        stats = metrics.distribution(metric)
        if stats is None:
            return None
        dist = stats.dist
        return dist.percentile(int(stat[1:])) if stat.startswith("p") else getattr(dist, stat)
    scalar = metrics.scalar(metric)
    if scalar is None:
        return 0.0 if metric in ZERO_WHEN_ABSENT else None
    return scalar.value


def evaluate(expressions: Iterable[str], metrics: RunMetrics) -> tuple[ThresholdResult, ...]:
    """Every threshold of ``expressions`` judged against ``metrics``, in the given order."""
    results = []
    for text in expressions:
        threshold = parse_threshold(text)
        value = measure(metrics, threshold.metric, threshold.stat)
        results.append(ThresholdResult(threshold, value,
                                       value is not None and threshold.holds(value)))
    return tuple(results)


def breached(results: Iterable[ThresholdResult]) -> tuple[ThresholdResult, ...]:
    """The thresholds that failed."""
    return tuple(r for r in results if not r.passed)
