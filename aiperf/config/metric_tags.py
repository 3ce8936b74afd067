"""The metric tags a threshold may name, and what each one is, as data.

The metric registry lives in :mod:`aiperf.bench.metrics`, but the configuration must
check ``--fail-on`` / ``benchmark.thresholds`` when it is loaded, and ``config`` never
imports ``bench`` (imports flow cli -> bench -> config). So the tags are listed here too;
``tests/unit/test_metric_tags.py`` proves this list equals the bench registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

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

_DISTRIBUTIONS = (
    "input_sequence_length", "usage_prompt_tokens", "output_sequence_length",
    "time_to_first_token", "request_latency", "usage_total_tokens",
    "time_to_first_output_token", "time_to_second_token", "usage_completion_tokens",
    "output_token_count", "inter_chunk_latency", "prefill_throughput_per_user",
    "inter_token_latency", "decode_duration", "e2e_output_token_throughput",
    "output_token_throughput_per_user", "error_isl", "client_input_sequence_length",
    "scheduling_lag", "event_loop_lag", "connection_setup",
)
_SCALARS = (
    "request_throughput", "request_count", "output_token_throughput", "total_output_tokens",
    "benchmark_duration", "total_isl", "total_osl", "error_request_count", "total_error_isl",
    "cancelled_request_count", "good_request_count", "goodput", "total_usage_total_tokens",
    "request_error_rate", "completed_request_count", "total_usage_prompt_tokens",
    "total_usage_completion_tokens", "input_token_throughput", "total_token_throughput",
    "good_request_fraction", "achieved_request_rate",
)

#: Every metric tag a run can report -> DISTRIBUTION or SCALAR.
METRIC_KINDS: Mapping[str, str] = MappingProxyType(
    {**{t: DISTRIBUTION for t in _DISTRIBUTIONS}, **{t: SCALAR for t in _SCALARS}}
)

#: Counters a run leaves out of its summary when they are zero (as the reference does
#: for ``error_request_count``): absent means 0, not "not measured".
ZERO_WHEN_ABSENT: frozenset[str] = frozenset(
    {"error_request_count", "total_error_isl", "cancelled_request_count"}
)


def stats_of(tag: str) -> tuple[str, ...]:
    """The statistics a threshold may take of ``tag`` (a known tag)."""
    return DISTRIBUTION_STATS if METRIC_KINDS[tag] == DISTRIBUTION else SCALAR_STATS
