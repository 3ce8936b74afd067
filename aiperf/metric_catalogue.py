"""Every metric aiperf reports, declared once: its tag, header, unit and kind, which way
is better, and where it is shown.

Everything else is derived from :data:`METRICS`: the bench's views
(``aiperf.bench.metrics.RECORD_METRICS``, ``DISTRIBUTION_METRICS``, ``SCALAR_METRICS``,
``RECORD_TAGS``, the tags an SLO may name), the tags and kinds a threshold may name
(``aiperf.config.metric_tags``), the console tables' rows (``aiperf.bench.console``), the
summary JSON's leading keys (``aiperf.bench.export``), the sweep aggregate's metric columns
(``aiperf.bench.sweep_aggregate.KEY_METRICS``) and the plots' axis labels
(``aiperf.plot.figure.metric_label``).

:data:`METRICS` is in the order NVIDIA AIPerf 0.13 writes a JSONL record (the per-request
metrics), then the sampled distributions, then the run-level values in the order the
reference writes the ones it does not declare up front. The other orders (the console's,
the summary's declared keys, the sweep columns) are positions in the rows.

Adding a metric: one row here, and its formula (``aiperf.bench.metrics.record_metrics``
for a per-request metric, ``aiperf.bench.run_tally`` for a run-level one).

This module imports only the standard library and attrs: the configuration reads it when
it is loaded, and ``config`` never imports ``bench``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal

import attrs

__all__ = [
    "CONSOLE_TABLES",
    "METRICS",
    "METRICS_BY_TAG",
    "RECORD",
    "SAMPLED",
    "SCALAR",
    "ConsoleTable",
    "Kind",
    "Metric",
    "console_rows",
    "declared_summary_tags",
    "sweep_columns",
]

#: Measured per request (one value, or a list of them, per request): a distribution.
RECORD: Final = "record"
#: Sampled by the runner while the run goes (not per request): a distribution.
SAMPLED: Final = "sampled"
#: One value per run.
SCALAR: Final = "scalar"
Kind = Literal["record", "sampled", "scalar"]

#: The console's summary tables, in the order they are printed.
ConsoleTable = Literal["llm", "health", "telemetry"]
CONSOLE_TABLES: tuple[ConsoleTable, ...] = ("llm", "health", "telemetry")


@attrs.frozen
class Metric:
    """What a metric tag means, and where it is shown.

    ``header`` and ``unit`` are the reference's (they name the CSV rows and console
    columns). ``ours`` marks tags NVIDIA AIPerf does not have (client-health metrics).
    ``zero_when_absent``: a counter the summary leaves out when it is zero (absent means
    0, not "not measured"). ``declared``: the position of the tag among the keys the
    reference's summary model declares (they lead the summary JSON, in that order; the
    gaps are reference keys we do not report). ``console``: the console table it is a row
    of, and its position there (distributions are printed before scalars).
    ``sweep``: the statistics that are sweep-aggregate columns (``<tag>_<stat>``), each
    with its column position. ``plot_label``: the words on a plot axis (the unit comes
    from ``unit``); None leaves the plots to spell the tag.

    Every metric may be named by a threshold; an SLO (goodput) may name the per-request
    ones (:attr:`slo`).
    """

    tag: str
    header: str
    unit: str
    kind: Kind
    larger_is_better: bool = False
    ours: bool = False
    zero_when_absent: bool = False
    declared: int | None = None
    console: tuple[ConsoleTable, int] | None = None
    sweep: tuple[tuple[str, int], ...] = ()
    plot_label: str | None = None

    @property
    def distribution(self) -> bool:
        """Whether the run reports a distribution of it (else one value)."""
        return self.kind != SCALAR

    @property
    def slo(self) -> bool:
        """Whether an SLO may name it: a per-request metric, judged request by request."""
        return self.kind == RECORD


def _row(kind: Kind, tag: str, header: str, unit: str, *, larger: bool = False,
         ours: bool = False, zero_when_absent: bool = False, declared: int | None = None,
         console: tuple[ConsoleTable, int] | None = None,
         sweep: tuple[tuple[str, int], ...] = (), plot_label: str | None = None) -> Metric:
    return Metric(tag, header, unit, kind, larger_is_better=larger, ours=ours,
                  zero_when_absent=zero_when_absent, declared=declared, console=console,
                  sweep=sweep, plot_label=plot_label)


METRICS: tuple[Metric, ...] = (
    # Per-request metrics, in the order the reference writes them into a JSONL record.
    _row(RECORD, "input_sequence_length", "Input Sequence Length", "tokens", larger=True,
         declared=9, console=("llm", 10)),
    _row(RECORD, "usage_prompt_tokens", "Usage Prompt Tokens", "tokens"),
    _row(RECORD, "output_sequence_length", "Output Sequence Length", "tokens", larger=True,
         declared=8, console=("llm", 9)),
    _row(RECORD, "time_to_first_token", "Time to First Token", "ms",
         declared=3, console=("llm", 1), sweep=(("p50", 3), ("p99", 4)),
         plot_label="time to first token"),
    _row(RECORD, "request_latency", "Request Latency", "ms",
         declared=1, console=("llm", 4), sweep=(("p50", 7), ("p99", 8)),
         plot_label="request latency"),
    _row(RECORD, "usage_total_tokens", "Usage Total Tokens", "tokens"),
    _row(RECORD, "time_to_first_output_token", "Time to First Output Token", "ms",
         console=("llm", 3)),
    _row(RECORD, "time_to_second_token", "Time to Second Token", "ms",
         declared=4, console=("llm", 2), plot_label="time to second token"),
    _row(RECORD, "usage_completion_tokens", "Usage Completion Tokens", "tokens"),
    _row(RECORD, "output_token_count", "Output Token Count", "tokens", larger=True, declared=12),
    _row(RECORD, "inter_chunk_latency", "Inter Chunk Latency", "ms", declared=16),
    _row(RECORD, "prefill_throughput_per_user", "Prefill Throughput Per User", "tokens/sec/user",
         larger=True),
    _row(RECORD, "inter_token_latency", "Inter Token Latency", "ms",
         declared=5, console=("llm", 6), sweep=(("p50", 5), ("p99", 6)),
         plot_label="inter-token latency"),
    _row(RECORD, "decode_duration", "Decode Duration", "ms", console=("llm", 5)),
    _row(RECORD, "e2e_output_token_throughput", "E2E Output Token Throughput", "tokens/sec/user",
         larger=True, console=("llm", 8)),
    _row(RECORD, "output_token_throughput_per_user", "Output Token Throughput Per User",
         "tokens/sec/user", larger=True,
         declared=7, console=("llm", 7), sweep=(("avg", 9),),
         plot_label="output token throughput per user"),
    _row(RECORD, "error_isl", "Error Input Sequence Length", "tokens", larger=True, declared=23),
    _row(RECORD, "client_input_sequence_length", "Client Input Sequence Length", "tokens",
         larger=True, ours=True),
    _row(RECORD, "cached_tokens", "Cached Tokens", "tokens", ours=True),
    _row(RECORD, "scheduling_lag", "Scheduling Lag", "ms", ours=True, console=("health", 1)),
    _row(RECORD, "connection_setup", "Connection Setup", "ms", ours=True, console=("health", 3)),
    # Distributions that are not per-request metrics: samples the runner hands in.
    _row(SAMPLED, "event_loop_lag", "Event Loop Lag", "ms", ours=True, console=("health", 2)),
    # Run-level values (the reference's derived and aggregate metrics, reported as ``avg``).
    _row(SCALAR, "request_throughput", "Request Throughput", "requests/sec", larger=True,
         declared=0, console=("llm", 13), sweep=(("avg", 1),),
         plot_label="request throughput"),
    _row(SCALAR, "request_count", "Request Count", "requests", larger=True,
         declared=2, console=("llm", 16)),
    _row(SCALAR, "output_token_throughput", "Output Token Throughput", "tokens/sec", larger=True,
         declared=6, console=("llm", 11), sweep=(("avg", 2),),
         plot_label="output token throughput"),
    _row(SCALAR, "total_output_tokens", "Total Output Tokens", "tokens", larger=True, declared=17),
    _row(SCALAR, "benchmark_duration", "Benchmark Duration", "sec", declared=19),
    _row(SCALAR, "total_isl", "Total Input Sequence Length", "tokens", larger=True, declared=20),
    _row(SCALAR, "total_osl", "Total Output Sequence Length", "tokens", larger=True, declared=21),
    _row(SCALAR, "error_request_count", "Error Request Count", "requests", zero_when_absent=True,
         declared=22, console=("llm", 17), sweep=(("avg", 10),)),
    _row(SCALAR, "total_error_isl", "Total Error Input Sequence Length", "tokens",
         zero_when_absent=True, declared=24),
    # Requests the user stopped in flight (Ctrl-C): neither successes nor errors.
    _row(SCALAR, "cancelled_request_count", "Cancelled Request Count", "requests", ours=True,
         zero_when_absent=True, console=("llm", 18)),
    # The reference's own headers for these two are written without spaces.
    _row(SCALAR, "good_request_count", "GoodRequestCount", "requests", larger=True, declared=11),
    _row(SCALAR, "goodput", "Goodput", "requests/sec", larger=True,
         declared=10, console=("llm", 19)),
    _row(SCALAR, "total_usage_total_tokens", "Total Usage Total Tokens", "tokens"),
    _row(SCALAR, "request_error_rate", "Request Error Rate", "%",
         console=("llm", 15), sweep=(("avg", 11),)),
    _row(SCALAR, "completed_request_count", "Completed Requests (Success + Error)", "requests",
         console=("llm", 14)),
    _row(SCALAR, "total_usage_prompt_tokens", "Total Usage Prompt Tokens", "tokens"),
    _row(SCALAR, "total_usage_completion_tokens", "Total Usage Completion Tokens", "tokens"),
    _row(SCALAR, "input_token_throughput", "Input Token Throughput", "tokens/sec", larger=True,
         console=("llm", 12)),
    _row(SCALAR, "total_token_throughput", "Total Token Throughput", "tokens/sec", larger=True),
    _row(SCALAR, "good_request_fraction", "GoodRequestFraction", "ratio", larger=True,
         console=("llm", 20)),
    # The rate of the arrivals the plan drew (a trace's own, or the seeded draws of
    # --request-rate), counted as the achieved rate is: what "achieved" is measured against.
    _row(SCALAR, "requested_request_rate", "Requested Request Rate", "requests/sec",
         ours=True, console=("health", 4)),
    _row(SCALAR, "achieved_request_rate", "Achieved Request Rate", "requests/sec", ours=True,
         console=("health", 5)),
    # The server's prefix cache, as it reports it (usage.prompt_tokens_details).
    _row(SCALAR, "total_cached_tokens", "Total Cached Tokens", "tokens", ours=True),
    _row(SCALAR, "cache_hit_ratio", "Cache Hit Ratio", "ratio", larger=True, ours=True,
         console=("telemetry", 11)),
    # What the server and its GPUs reported over the profiling window (aiperf.telemetry):
    # the server's own latencies (the mean its histograms give exactly), beside the
    # client's, show the client's and the network's share.
    _row(SCALAR, "server_time_to_first_token", "Server Time to First Token", "ms", ours=True,
         console=("telemetry", 1)),
    _row(SCALAR, "server_inter_token_latency", "Server Inter Token Latency", "ms", ours=True,
         console=("telemetry", 2)),
    _row(SCALAR, "server_request_latency", "Server Request Latency", "ms", ours=True,
         console=("telemetry", 3)),
    _row(SCALAR, "gpu_count", "GPU Count", "GPUs", ours=True, console=("telemetry", 4)),
    _row(SCALAR, "gpu_utilization", "GPU Utilization", "%", ours=True,
         console=("telemetry", 5)),
    _row(SCALAR, "gpu_power", "GPU Power", "W", ours=True, console=("telemetry", 6)),
    _row(SCALAR, "gpu_energy", "GPU Energy", "J", ours=True, console=("telemetry", 7)),
    _row(SCALAR, "energy_per_output_token", "Energy per Output Token", "J/token", ours=True,
         console=("telemetry", 8), sweep=(("avg", 14),), plot_label="energy per output token"),
    _row(SCALAR, "output_token_throughput_per_watt", "Output Token Throughput per Watt",
         "tokens/sec/W", larger=True, ours=True, console=("telemetry", 9),
         sweep=(("avg", 12),), plot_label="output token throughput per watt"),
    _row(SCALAR, "output_token_throughput_per_gpu", "Output Token Throughput per GPU",
         "tokens/sec/GPU", larger=True, ours=True, console=("telemetry", 10),
         sweep=(("avg", 13),), plot_label="output token throughput per GPU"),
)

#: :data:`METRICS` by tag.
METRICS_BY_TAG: Mapping[str, Metric] = MappingProxyType({m.tag: m for m in METRICS})


def console_rows(table: ConsoleTable) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The tags of a console table's rows, in its order: ``(distributions, scalars)``."""
    rows = sorted((m for m in METRICS if m.console is not None and m.console[0] == table),
                  key=lambda m: m.console[1] if m.console is not None else 0)
    return (tuple(m.tag for m in rows if m.distribution),
            tuple(m.tag for m in rows if not m.distribution))


def declared_summary_tags() -> tuple[str, ...]:
    """The tags the reference's summary model declares, in its order (they lead the
    summary JSON)."""
    return tuple(m.tag for m in sorted((m for m in METRICS if m.declared is not None),
                                       key=lambda m: m.declared or 0))


def sweep_columns() -> tuple[tuple[str, str], ...]:
    """The sweep aggregate's metric columns as ``(tag, stat)``, in column order."""
    return tuple((tag, stat) for _, tag, stat in sorted(
        (position, m.tag, stat) for m in METRICS for stat, position in m.sweep))
