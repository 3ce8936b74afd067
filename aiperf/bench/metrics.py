"""The metrics of a request and of a run, with NVIDIA AIPerf 0.13's tags, units and formulas.

This module gives the bench's views of the metric catalogue
(:mod:`aiperf.metric_catalogue`, where every metric is declared), computes one request's
metrics from its record (:func:`record_metrics`, once, as the request finishes) and holds
the run-level types the exporters render (:class:`RunMetrics`). The run-level values are gathered
request by request in :mod:`aiperf.bench.run_tally`, with the facts only the runner
knows (:class:`RunFacts`).

Which metrics a request gets (reference section 7.2; values in display units, ms for times):

- every successful request: ``request_latency`` (last content chunk minus send; when no
  chunk carried content, e.g. an embeddings body, the end of the response),
  ``input_sequence_length``, ``output_sequence_length``, ``output_token_count`` and
  ``e2e_output_token_throughput`` when the token counts are known, and the ``usage_*``
  counts the server reported;
- streaming requests with content also get ``time_to_first_token``,
  ``time_to_second_token``, ``time_to_first_output_token``, ``inter_token_latency``,
  ``output_token_throughput_per_user``, ``inter_chunk_latency``, ``decode_duration`` and
  ``prefill_throughput_per_user``. A non-streaming response arrives in one piece, so the
  reference (flag ``STREAMING_ONLY``) reports none of them, and neither do we: a "TTFT"
  equal to the request latency would only pollute comparisons. A streaming request the
  server answered with one plain body (it ignored ``stream: true``) is marked
  ``unstreamed`` and gets none of them either; ITL and time to second token need two
  content chunks, so a stream that arrived in one chunk has neither (N/A, never 0);
- ``input_sequence_length`` is what the server saw: its ``usage.prompt_tokens`` when it
  reports usage (its tokenizer and chat template), else the client's count, which is
  always kept as our ``client_input_sequence_length``;
- failed requests get only ``error_isl`` (cancelled ones, stopped by the user, nothing:
  they are counted apart as ``cancelled_request_count``); their latencies are not mixed into
  the distributions (latency statistics cover successful requests, as in the reference);
- every request, failed or not, gets our ``scheduling_lag`` (send time minus the time the
  schedule wanted, less the time spent opening a new connection), a property of the
  client rather than of the server; a request that opened a connection gets our
  ``connection_setup`` (that time, the network's).

Run-level values follow the reference too: ``benchmark_duration`` is
max(send + request_latency) - min(send) over successful requests, while every throughput
(requests, tokens, goodput) is divided by the profiling phase's wall-clock window
(:class:`RunFacts`), which is what AIPerf 0.13's own sample run shows. Goodput counts the
successful requests that meet every SLO: at least the threshold for throughput-like tags,
at most the threshold for the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

if TYPE_CHECKING:
    from aiperf.bench.timeslices import Timeslice

from aiperf.bench.connections import ConnectionHealth
from aiperf.bench.records import Chunk, RequestError, RequestRecord
from aiperf.bench.sample import EXACT_LIMIT, RELATIVE_ACCURACY, Sample
from aiperf.bench.stats import METHOD, Distribution
from aiperf.metric_catalogue import METRICS, METRICS_BY_TAG, RECORD, SAMPLED, SCALAR, Metric

__all__ = [
    "DISTRIBUTION_METRICS",
    "RECORD_METRICS",
    "SCALAR_METRICS",
    "BottleneckThresholds",
    "ClientHealth",
    "ErrorCount",
    "MetricInfo",
    "MetricStats",
    "MetricValue",
    "RecordMetrics",
    "RunFacts",
    "RunMetrics",
    "ScalarMetric",
    "RECORD_TAGS",
    "client_bottleneck_warning",
    "error_of",
    "health_of",
    "metric_info",
    "record_metrics",
]

_NS_PER_MS = 1_000_000
_NS_PER_S = 1_000_000_000

Value = int | float | tuple[float, ...]


#: What a metric tag means (the row of :data:`aiperf.metric_catalogue.METRICS`).
MetricInfo = Metric

#: Per-request metrics, in the order the reference writes them into a JSONL record.
RECORD_METRICS: tuple[MetricInfo, ...] = tuple(m for m in METRICS if m.kind == RECORD)
#: Distributions that are not per-request metrics: samples the runner hands in.
DISTRIBUTION_METRICS: tuple[MetricInfo, ...] = tuple(m for m in METRICS if m.kind == SAMPLED)
#: Run-level values (the reference's derived and aggregate metrics, reported as ``avg``),
#: in the order the reference writes the ones it does not declare up front.
SCALAR_METRICS: tuple[MetricInfo, ...] = tuple(m for m in METRICS if m.kind == SCALAR)
#: The tags of the per-request metrics (what an SLO may name).
RECORD_TAGS = frozenset(m.tag for m in METRICS if m.slo)


def metric_info(tag: str) -> MetricInfo:
    """The :class:`MetricInfo` of a tag we produce; ``KeyError`` for any other tag."""
    return METRICS_BY_TAG[tag]


# --------------------------------------------------------------------------- per request


class MetricValue(NamedTuple):
    """One metric of one request, in display units (``inter_chunk_latency`` is a tuple).

    A named tuple: some twenty are made per request, and a tuple is built in a third of
    the time of a frozen attrs class."""

    tag: str
    unit: str
    value: Value


#: Each per-request metric's unit, by tag.
RECORD_UNITS: Mapping[str, str] = MappingProxyType({m.tag: m.unit for m in RECORD_METRICS})
_RECORD_ORDER: tuple[str, ...] = tuple(m.tag for m in RECORD_METRICS)


@attrs.frozen
class RecordMetrics:
    """A request record with its metrics, in the reference's JSONL order.

    ``by_tag`` maps each metric the request has to its value (display units; a tuple
    for ``inter_chunk_latency``), in the order of :data:`RECORD_METRICS`; its units are
    :data:`RECORD_UNITS`. A plain dict rather than a tuple of :class:`MetricValue`: some
    twenty values per request are looked up by tag on the hot path. ``latency_ns`` is
    the request latency in integer nanoseconds (None for a failed request): exact where
    the ms value is a float.
    """

    record: RequestRecord
    by_tag: Mapping[str, Value]
    latency_ns: int | None = None

    @property
    def values(self) -> tuple[MetricValue, ...]:
        """Every metric of the request, with its tag and unit, in order."""
        return tuple(MetricValue(tag, RECORD_UNITS[tag], value)
                     for tag, value in self.by_tag.items())

    def get(self, tag: str) -> Value | None:
        """The value of ``tag`` for this request, or None when it has none."""
        return self.by_tag.get(tag)

    def add_to(self, samples: dict[str, Sample], exact_limit: int) -> None:
        """Add each value to the sample of its tag in ``samples`` (made as needed, exact
        up to ``exact_limit`` values); a list-valued metric (inter_chunk_latency) adds
        every one of its values."""
        for tag, value in self.by_tag.items():
            sample = samples.get(tag)
            if sample is None:
                sample = samples[tag] = Sample(exact_limit)
            if value.__class__ is tuple:
                sample.extend(value)
            else:
                sample.add(float(value))  # type: ignore[arg-type]


def record_metrics(record: RequestRecord, *, streaming: bool) -> RecordMetrics:
    """Compute the metrics of one request (see the module docstring for which apply)."""
    latency_ns = None
    if record.ok:
        content = record.content_chunks
        last = content[-1].perf_ns if content else record.end_perf_ns
        latency_ns = last - record.start_perf_ns
        found = _measure_ok(record, content, latency_ns, streaming)
    elif record.cancelled:
        found = {}  # stopped by the user: not an error, so no error_isl either
    else:
        found = _measure_failed(record)
    # Opening a connection is the network's time, reported apart; the rest of the wait
    # between the intended and the actual send is the client's.
    connect_ns = record.connect_ns or 0
    found["scheduling_lag"] = (record.start_perf_ns - record.intended_perf_ns
                               - connect_ns) / _NS_PER_MS
    if record.connect_ns is not None:
        found["connection_setup"] = record.connect_ns / _NS_PER_MS
    by_tag = {tag: found[tag] for tag in _RECORD_ORDER if tag in found}
    return RecordMetrics(record, by_tag, latency_ns)


def _measure_failed(record: RequestRecord) -> dict[str, Value]:
    """A failed request only tells us how long its prompt was."""
    return {} if record.input_tokens is None else {"error_isl": record.input_tokens}


def _measure_ok(
    record: RequestRecord, content: Sequence[Chunk], latency_ns: int, streaming: bool
) -> dict[str, Value]:
    found: dict[str, Value] = {}
    isl, osl = delivered_isl(record), record.output_tokens

    found["request_latency"] = latency_ns / _NS_PER_MS
    if isl is not None:
        found["input_sequence_length"] = isl
    if record.input_tokens is not None:
        found["client_input_sequence_length"] = record.input_tokens
    if osl is not None:
        found["output_sequence_length"] = osl
        reasoning = record.usage.reasoning_tokens if record.usage else None
        # OSL counts reasoning tokens too (as OpenAI's completion_tokens does);
        # output_token_count is the answer alone.
        found["output_token_count"] = osl - (reasoning or 0)
        if latency_ns > 0:
            found["e2e_output_token_throughput"] = osl * _NS_PER_S / latency_ns
    found.update(_usage(record))
    if streaming and content and not record.unstreamed:
        found.update(_streaming(record, content, latency_ns))
    return found


def delivered_isl(record: RequestRecord) -> int | None:
    """The prompt length the server saw: its ``usage.prompt_tokens`` (its tokenizer and
    chat template) when it reports one, else the client's own count."""
    usage = record.usage
    if usage is not None and usage.prompt_tokens is not None:
        return usage.prompt_tokens
    return record.input_tokens


def _usage(record: RequestRecord) -> dict[str, Value]:
    usage = record.usage
    if usage is None:
        return {}
    found: dict[str, Value] = {}
    if usage.prompt_tokens is not None:
        found["usage_prompt_tokens"] = usage.prompt_tokens
    if usage.completion_tokens is not None:
        found["usage_completion_tokens"] = usage.completion_tokens
    if usage.prompt_tokens is not None and usage.completion_tokens is not None:
        found["usage_total_tokens"] = usage.prompt_tokens + usage.completion_tokens
    if usage.cached_tokens is not None:
        found["cached_tokens"] = usage.cached_tokens
    return found


def _streaming(
    record: RequestRecord, content: Sequence[Chunk], latency_ns: int
) -> dict[str, Value]:
    """The metrics that need the arrival time of each (content) chunk."""
    start = record.start_perf_ns
    ttft_ns = content[0].perf_ns - start
    found: dict[str, Value] = {
        "time_to_first_token": ttft_ns / _NS_PER_MS,
        "decode_duration": (content[-1].perf_ns - content[0].perf_ns) / _NS_PER_MS,
    }
    answer = next((c for c in content if not c.reasoning), None)
    if answer is not None:
        found["time_to_first_output_token"] = (answer.perf_ns - start) / _NS_PER_MS
    if len(content) >= 2:
        times = [c.perf_ns for c in content]
        gaps = tuple((b - a) / _NS_PER_MS for a, b in zip(times, times[1:], strict=False))
        found["time_to_second_token"] = gaps[0]
        found["inter_chunk_latency"] = gaps
    isl, osl = delivered_isl(record), record.output_tokens
    if isl is not None and ttft_ns > 0:
        found["prefill_throughput_per_user"] = isl * _NS_PER_S / ttft_ns
    # ITL needs two arrival times: a stream that came in one chunk did not measure it.
    if osl is not None and osl >= 2 and len(content) >= 2:
        # The first chunk's tokens all arrive at TTFT; ITL spreads the rest of the
        # time over the remaining tokens. With no per-chunk count that is one token.
        first = content[0].tokens
        k = first if first is not None and 1 <= first < osl else 1
        itl_ns = (latency_ns - ttft_ns) / (osl - k)
        found["inter_token_latency"] = itl_ns / _NS_PER_MS
        if itl_ns > 0:
            found["output_token_throughput_per_user"] = _NS_PER_S / itl_ns
    return found


# --------------------------------------------------------------------------- per run


def _frozen_mapping(mapping: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(mapping))


def _as_sample(values: Sample | Iterable[float]) -> Sample:
    if isinstance(values, Sample):
        return values
    sample = Sample()
    sample.extend(float(v) for v in values)
    return sample


@attrs.frozen
class RunFacts:
    """What only the runner knows about a run.

    ``start_wall_ns`` / ``end_wall_ns`` bound the profiling phase (``time.time_ns()`` when
    it began issuing requests and when its last response ended). The reference divides
    every throughput (requests, tokens, goodput) by this window, while it reports
    ``benchmark_duration`` from the requests themselves; we do the same, so our numbers
    compare with its numbers. (In its sample run: 40 requests / 2.0205 s window =
    19.797 requests/sec, with a benchmark_duration of 2.0096 s.)
    ``slos`` maps a record-metric tag to a threshold in its display unit (ms for times).
    ``loop_lag_ms`` are event-loop lag samples the runner measured; ``client_cpu_fraction``
    is the client process's CPU time over wall time (1.0 = one core fully busy).
    """

    start_wall_ns: int
    end_wall_ns: int
    streaming: bool
    slos: Mapping[str, float] = attrs.field(factory=dict, converter=_frozen_mapping)
    requested_request_rate: float | None = None
    loop_lag_ms: Sample = attrs.field(factory=Sample, converter=_as_sample)
    client_cpu_fraction: float | None = None
    connections: ConnectionHealth = ConnectionHealth()


@attrs.frozen
class MetricStats:
    """The distribution of one metric over the run."""

    info: MetricInfo
    dist: Distribution
    #: False when the percentiles came from buckets (:mod:`aiperf.bench.sample`).
    exact: bool = True

    @property
    def tag(self) -> str:
        return self.info.tag

    @property
    def unit(self) -> str:
        return self.info.unit


@attrs.frozen
class ScalarMetric:
    """One run-level value (a count, a rate, a duration)."""

    info: MetricInfo
    value: float

    @property
    def tag(self) -> str:
        return self.info.tag

    @property
    def unit(self) -> str:
        return self.info.unit


@attrs.frozen
class ErrorCount:
    """How many requests failed with one particular error."""

    error: RequestError
    count: int


@attrs.frozen
class BottleneckThresholds:
    """When the client's own delays distort what a run measured.

    Lag is judged by what it costs, not by a fixed number of milliseconds: a request sent
    10 ms late matters for a 20 ms request and not for a 700 ms one. Any one sign
    suffices; the CPU share is only named as the likely cause.
    """

    #: Mean scheduling lag above this fraction of the mean request latency.
    lag_share: float = 0.05
    #: Mean event-loop lag above this fraction of the mean time to first token (of the
    #: mean request latency when nothing was streamed): chunks were stamped late.
    loop_lag_share: float = 0.05
    #: Mean lags under this are asyncio's timer resolution, whatever the latency.
    min_lag_ms: float = 1.0
    #: A rate-driven run that achieved less than this fraction of its target rate.
    rate_share: float = 0.95
    #: A client process above this share of a core is named as the likely cause.
    cpu_fraction: float = 0.9


@attrs.frozen
class ClientHealth:
    """How well the client kept up with the schedule, what its delays cost, and the verdict.

    ``lag_share`` is the mean scheduling lag over the mean request latency;
    ``loop_lag_share`` the mean event-loop lag over the mean time to first token (the
    mean request latency when nothing was streamed); ``rate_share`` the achieved over
    the requested request rate (rate-driven runs only). ``connection_setup_avg_ms`` is
    the mean time to open a new connection, kept out of the scheduling lag.
    """

    scheduling_lag_avg_ms: float | None
    scheduling_lag_p99_ms: float | None
    event_loop_lag_avg_ms: float | None
    event_loop_lag_p99_ms: float | None
    lag_share: float | None
    loop_lag_share: float | None
    client_cpu_fraction: float | None
    requested_request_rate: float | None
    achieved_request_rate: float | None
    rate_share: float | None
    connection_setup_avg_ms: float | None
    thresholds: BottleneckThresholds
    warning: str | None
    connections: ConnectionHealth = ConnectionHealth()

    @property
    def client_bound(self) -> bool:
        """Whether the client was probably the bottleneck."""
        return self.warning is not None


@attrs.frozen
class RunMetrics:
    """Everything the exporters write about a run's profiling phase.

    Built by :meth:`aiperf.bench.run_tally.RunTally.finish`; it holds no request record
    (those went to the JSONL as they finished). ``timeslices`` are the windows of
    ``--slice-duration`` (None when not asked for, or when ``timeslice_error`` says why
    they could not be cut).
    """

    facts: RunFacts
    distributions: tuple[MetricStats, ...]
    scalars: tuple[ScalarMetric, ...]
    errors: tuple[ErrorCount, ...]
    health: ClientHealth
    #: Successful profiling requests.
    ok_count: int
    #: Failed profiling requests (the server's failures; cancelled ones are apart).
    error_count: int
    #: Profiling requests the user cancelled in flight (Ctrl-C, SIGTERM).
    cancelled_count: int
    warmup_count: int
    statistics: Mapping[str, str]
    #: What the reader should know about the numbers (an ISL gap, an ignored stream).
    warnings: tuple[str, ...] = ()
    timeslices: tuple[Timeslice, ...] | None = None
    timeslice_error: str | None = None
    #: Multi-turn sessions: per turn index, its requests and mean TTFT, ISL and cached
    #: tokens (empty without sessions).
    by_turn: tuple[Mapping[str, float | int | None], ...] = ()
    #: Multi-turn sessions: their count, the unfinished ones, and the summaries
    #: (:meth:`aiperf.bench.sample.Sample.summary`) of turns per session and session
    #: duration in ms; None without sessions.
    sessions: Mapping[str, Any] | None = None
    #: With several endpoints (a repeated --url): each one's URL (password left out) and
    #: the metrics of the requests it served, in the order first served.
    by_endpoint: tuple[tuple[str, RunMetrics], ...] = ()

    @property
    def profiling_count(self) -> int:
        """Every profiling request: successful, failed and cancelled."""
        return self.ok_count + self.error_count + self.cancelled_count

    def distribution(self, tag: str) -> MetricStats | None:
        """The distribution of ``tag``, or None when the run has none."""
        return next((d for d in self.distributions if d.tag == tag), None)

    def scalar(self, tag: str) -> ScalarMetric | None:
        """The run-level value of ``tag``, or None when the run has none."""
        return next((s for s in self.scalars if s.tag == tag), None)


#: Written into the summary file so a reader knows how the numbers were made.
STATISTICS: Mapping[str, str] = MappingProxyType({
    **METHOD,
    "latency_population": "successful requests",
    "inter_chunk_latency": "over every gap of every successful streaming request",
    "percentile_precision": f"exact up to {EXACT_LIMIT:,} values of a metric; past that, "
                            f"within {RELATIVE_ACCURACY:.2%} (logarithmic buckets; "
                            "approximate_percentiles then names the metrics)",
    "scheduling_lag": "every profiling request, successful or not, less the time spent "
                      "opening a new connection (connection_setup)",
    "benchmark_duration": "max(request start + request_latency) - min(request start), wall clock",
    "throughputs": "per second of the profiling phase's wall-clock window (start_time to end_time)",
})


def error_of(record: RequestRecord) -> RequestError:
    """The error of a failed request; a cancelled one without an error gets one."""
    if record.error is not None:
        return record.error
    return RequestError(type="cancelled", message="The request was cancelled.")


def health_of(
    distributions: Sequence[MetricStats],
    scalars: Sequence[ScalarMetric],
    facts: RunFacts,
    thresholds: BottleneckThresholds,
) -> ClientHealth:
    """How well the client kept up (lags, CPU, rates), what its delays cost against the
    requests' own timings, and whether to warn about it."""
    by_tag = {d.tag: d.dist for d in distributions}

    def avg(tag: str) -> float | None:
        dist = by_tag.get(tag)
        return dist.avg if dist is not None else None

    def p99(tag: str) -> float | None:
        dist = by_tag.get(tag)
        return dist.p99 if dist is not None else None

    sched, loop = avg("scheduling_lag"), avg("event_loop_lag")
    latency = avg("request_latency")
    first_token = avg("time_to_first_token") or latency
    achieved = next((s.value for s in scalars if s.tag == "achieved_request_rate"), None)
    requested = facts.requested_request_rate
    lag_share = _share(sched, latency)
    loop_share = _share(loop, first_token)
    rate_share = _share(achieved, requested)
    return ClientHealth(
        scheduling_lag_avg_ms=sched,
        scheduling_lag_p99_ms=p99("scheduling_lag"),
        event_loop_lag_avg_ms=loop,
        event_loop_lag_p99_ms=p99("event_loop_lag"),
        lag_share=lag_share,
        loop_lag_share=loop_share,
        client_cpu_fraction=facts.client_cpu_fraction,
        requested_request_rate=requested,
        achieved_request_rate=achieved,
        rate_share=rate_share,
        connection_setup_avg_ms=avg("connection_setup"),
        thresholds=thresholds,
        connections=facts.connections,
        warning=client_bottleneck_warning(
            scheduling_lag_avg_ms=sched, lag_share=lag_share,
            event_loop_lag_avg_ms=loop, loop_lag_share=loop_share,
            first_token_streamed="time_to_first_token" in by_tag,
            achieved_request_rate=achieved, requested_request_rate=requested,
            client_cpu_fraction=facts.client_cpu_fraction, thresholds=thresholds,
        ),
    )


def _share(part: float | None, whole: float | None) -> float | None:
    if part is None or whole is None or whole <= 0:
        return None
    return part / whole


def client_bottleneck_warning(
    *,
    scheduling_lag_avg_ms: float | None = None,
    lag_share: float | None = None,
    event_loop_lag_avg_ms: float | None = None,
    loop_lag_share: float | None = None,
    first_token_streamed: bool = True,
    achieved_request_rate: float | None = None,
    requested_request_rate: float | None = None,
    client_cpu_fraction: float | None = None,
    thresholds: BottleneckThresholds | None = None,
) -> str | None:
    """A warning saying what the client's own delays cost the run, or None if they cost
    nothing worth a warning.

    Any one sign suffices: requests were sent late by more than ``lag_share`` of their
    latency; the event loop woke late by more than ``loop_lag_share`` of the time to
    first token (chunks were stamped late); or a rate-driven run fell short of its target
    rate. Lags under ``min_lag_ms`` are timer noise. The CPU share is named as the likely
    cause when the warning fires. Unknown values (None) are not evidence either way.
    """
    limits = thresholds or BottleneckThresholds()
    reasons = []
    if (scheduling_lag_avg_ms is not None and lag_share is not None
            and scheduling_lag_avg_ms > limits.min_lag_ms and lag_share > limits.lag_share):
        reasons.append(f"requests started {scheduling_lag_avg_ms:.1f} ms late on average: "
                       f"about {lag_share:.0%} of their latency")
    if (event_loop_lag_avg_ms is not None and loop_lag_share is not None
            and event_loop_lag_avg_ms > limits.min_lag_ms
            and loop_lag_share > limits.loop_lag_share):
        against = "the time to first token" if first_token_streamed else "their latency"
        reasons.append(f"the event loop woke {event_loop_lag_avg_ms:.1f} ms late on average "
                       f"(responses were stamped late): about {loop_lag_share:.0%} of "
                       f"{against}")
    if (achieved_request_rate is not None and requested_request_rate
            and achieved_request_rate < limits.rate_share * requested_request_rate):
        reasons.append(f"the achieved rate was "
                       f"{achieved_request_rate / requested_request_rate:.0%} of the target "
                       f"({achieved_request_rate:.1f} of {requested_request_rate:g} "
                       "requests/s)")
    if not reasons:
        return None
    if client_cpu_fraction is not None and client_cpu_fraction > limits.cpu_fraction:
        reasons.append(f"the client used {client_cpu_fraction:.0%} of a CPU core")
    return (
        "The client, not the server, may have limited this run: "
        + "; ".join(reasons)
        + ". Measured latencies and rates may understate what the server can do; "
        "lower the load per client or run several clients."
    )
