"""The metric tags a threshold may name, and what each one is.

The configuration checks ``--fail-on`` / ``benchmark.thresholds`` when it is loaded, and
``config`` never imports ``bench`` (imports flow cli -> bench -> config); so the tags are
read from the metric catalogue (:mod:`aiperf.metric_catalogue`), which both may import.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from aiperf.metric_catalogue import METRICS

#: A metric measured per request (or sampled): it has a distribution over the run.
DISTRIBUTION = "distribution"
#: A run-level value: one number per run.
SCALAR = "scalar"

#: The percentiles every distribution reports (``aiperf.bench.stats.PERCENTILES``).
PERCENTILES: tuple[int, ...] = (1, 5, 10, 25, 50, 75, 90, 95, 99)
#: The statistics a threshold may take of a distribution.
DISTRIBUTION_STATS: tuple[str, ...] = ("avg", "min", "max", *(f"p{p}" for p in PERCENTILES), "std")
#: A scalar has one value, which the summary reports as ``avg``.
SCALAR_STATS: tuple[str, ...] = ("avg",)

#: Every metric tag a run can report -> DISTRIBUTION or SCALAR.
METRIC_KINDS: Mapping[str, str] = MappingProxyType(
    {m.tag: DISTRIBUTION if m.distribution else SCALAR for m in METRICS}
)

#: Counters a run leaves out of its summary when they are zero (as the reference does
#: for ``error_request_count``): absent means 0, not "not measured".
ZERO_WHEN_ABSENT: frozenset[str] = frozenset(m.tag for m in METRICS if m.zero_when_absent)


def stats_of(tag: str) -> tuple[str, ...]:
    """The statistics a threshold may take of ``tag`` (a known tag)."""
    return DISTRIBUTION_STATS if METRIC_KINDS[tag] == DISTRIBUTION else SCALAR_STATS
