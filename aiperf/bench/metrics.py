"""From request records to the metrics of a run, with NVIDIA AIPerf 0.13's tags, units and formulas.

:func:`compute_run_metrics` is the one entry point: it takes the records of a run (warm-up
records are set aside) and the facts only the runner knows (:class:`RunFacts`), and
returns a frozen :class:`RunMetrics` that the exporters render.

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
  schedule wanted), a property of the client rather than of the server.

Run-level values follow the reference too: ``benchmark_duration`` is
max(send + request_latency) - min(send) over successful requests, while every throughput
(requests, tokens, goodput) is divided by the profiling phase's wall-clock window
(:class:`RunFacts`), which is what AIPerf 0.13's own sample run shows. Goodput counts the
successful requests that meet every SLO: at least the threshold for throughput-like tags,
at most the threshold for the others.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

import attrs

from aiperf.bench.connections import ConnectionHealth
from aiperf.bench.records import Chunk, RequestError, RequestRecord
from aiperf.bench.stats import METHOD, Distribution, summarize

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
    "client_bottleneck_warning",
    "compute_run_metrics",
    "error_of",
    "metric_info",
    "record_metrics",
]

_NS_PER_MS = 1_000_000
_NS_PER_S = 1_000_000_000

Value = int | float | tuple[float, ...]


@attrs.frozen
class MetricInfo:
    """What a metric tag means: its display header and unit, and which way is better.

    ``ours`` marks tags NVIDIA AIPerf does not have (client-health metrics).
    """

    tag: str
    header: str
    unit: str
    larger_is_better: bool = False
    ours: bool = False


def _m(tag: str, header: str, unit: str, *, larger: bool = False, ours: bool = False) -> MetricInfo:
    return MetricInfo(tag, header, unit, larger_is_better=larger, ours=ours)


#: Per-request metrics, in the order the reference writes them into a JSONL record.
#: Headers are the reference's (they name the CSV rows and console columns).
RECORD_METRICS: tuple[MetricInfo, ...] = (
    _m("input_sequence_length", "Input Sequence Length", "tokens", larger=True),
    _m("usage_prompt_tokens", "Usage Prompt Tokens", "tokens"),
    _m("output_sequence_length", "Output Sequence Length", "tokens", larger=True),
    _m("time_to_first_token", "Time to First Token", "ms"),
    _m("request_latency", "Request Latency", "ms"),
    _m("usage_total_tokens", "Usage Total Tokens", "tokens"),
    _m("time_to_first_output_token", "Time to First Output Token", "ms"),
    _m("time_to_second_token", "Time to Second Token", "ms"),
    _m("usage_completion_tokens", "Usage Completion Tokens", "tokens"),
    _m("output_token_count", "Output Token Count", "tokens", larger=True),
    _m("inter_chunk_latency", "Inter Chunk Latency", "ms"),
    _m(
        "prefill_throughput_per_user", "Prefill Throughput Per User", "tokens/sec/user",
        larger=True,
    ),
    _m("inter_token_latency", "Inter Token Latency", "ms"),
    _m("decode_duration", "Decode Duration", "ms"),
    _m(
        "e2e_output_token_throughput", "E2E Output Token Throughput", "tokens/sec/user",
        larger=True,
    ),
    _m(
        "output_token_throughput_per_user", "Output Token Throughput Per User", "tokens/sec/user",
        larger=True,
    ),
    _m("error_isl", "Error Input Sequence Length", "tokens", larger=True),
    _m("client_input_sequence_length", "Client Input Sequence Length", "tokens", larger=True,
       ours=True),
    _m("scheduling_lag", "Scheduling Lag", "ms", ours=True),
)

#: Distributions that are not per-request metrics: samples the runner hands in.
DISTRIBUTION_METRICS: tuple[MetricInfo, ...] = (
    _m("event_loop_lag", "Event Loop Lag", "ms", ours=True),
)

#: Run-level values (the reference's derived and aggregate metrics, reported as ``avg``),
#: in the order the reference writes the ones it does not declare up front.
SCALAR_METRICS: tuple[MetricInfo, ...] = (
    _m("request_throughput", "Request Throughput", "requests/sec", larger=True),
    _m("request_count", "Request Count", "requests", larger=True),
    _m("output_token_throughput", "Output Token Throughput", "tokens/sec", larger=True),
    _m("total_output_tokens", "Total Output Tokens", "tokens", larger=True),
    _m("benchmark_duration", "Benchmark Duration", "sec"),
    _m("total_isl", "Total Input Sequence Length", "tokens", larger=True),
    _m("total_osl", "Total Output Sequence Length", "tokens", larger=True),
    _m("error_request_count", "Error Request Count", "requests"),
    _m("total_error_isl", "Total Error Input Sequence Length", "tokens"),
    # Requests the user stopped in flight (Ctrl-C): neither successes nor errors.
    _m("cancelled_request_count", "Cancelled Request Count", "requests", ours=True),
    # The reference's own headers for these two are written without spaces.
    _m("good_request_count", "GoodRequestCount", "requests", larger=True),
    _m("goodput", "Goodput", "requests/sec", larger=True),
    _m("total_usage_total_tokens", "Total Usage Total Tokens", "tokens"),
    _m("request_error_rate", "Request Error Rate", "%"),
    _m("completed_request_count", "Completed Requests (Success + Error)", "requests"),
    _m("total_usage_prompt_tokens", "Total Usage Prompt Tokens", "tokens"),
    _m("total_usage_completion_tokens", "Total Usage Completion Tokens", "tokens"),
    _m("input_token_throughput", "Input Token Throughput", "tokens/sec", larger=True),
    _m("total_token_throughput", "Total Token Throughput", "tokens/sec", larger=True),
    _m("good_request_fraction", "GoodRequestFraction", "ratio", larger=True),
    _m("achieved_request_rate", "Achieved Request Rate", "requests/sec", ours=True),
)

_BY_TAG: Mapping[str, MetricInfo] = MappingProxyType(
    {m.tag: m for m in (*RECORD_METRICS, *DISTRIBUTION_METRICS, *SCALAR_METRICS)}
)
_RECORD_TAGS = frozenset(m.tag for m in RECORD_METRICS)


def metric_info(tag: str) -> MetricInfo:
    """The :class:`MetricInfo` of a tag we produce; ``KeyError`` for any other tag."""
    return _BY_TAG[tag]


# --------------------------------------------------------------------------- per request


@attrs.frozen
class MetricValue:
    """One metric of one request, in display units (``inter_chunk_latency`` is a tuple)."""

    tag: str
    unit: str
    value: Value


@attrs.frozen
class RecordMetrics:
    """A request record with its metrics, in the reference's JSONL order.

    ``latency_ns`` is the request latency in integer nanoseconds (None for a failed
    request): exact where the ms value in ``values`` is a float.
    """

    record: RequestRecord
    values: tuple[MetricValue, ...]
    latency_ns: int | None = None

    def get(self, tag: str) -> Value | None:
        """The value of ``tag`` for this request, or None when it has none."""
        for item in self.values:
            if item.tag == tag:
                return item.value
        return None


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
    found["scheduling_lag"] = (record.start_perf_ns - record.intended_perf_ns) / _NS_PER_MS
    values = tuple(
        MetricValue(info.tag, info.unit, found[info.tag])
        for info in RECORD_METRICS
        if info.tag in found
    )
    return RecordMetrics(record=record, values=values, latency_ns=latency_ns)


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
    loop_lag_ms: tuple[float, ...] = attrs.field(default=(), converter=tuple)
    client_cpu_fraction: float | None = None
    connections: ConnectionHealth = ConnectionHealth()


@attrs.frozen
class MetricStats:
    """The distribution of one metric over the run."""

    info: MetricInfo
    dist: Distribution

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
    """Above these the client, not the server, probably limited the run.

    Asyncio timers are good to about a millisecond; a p99 lag of 10 ms means requests
    routinely left late, so the measured load was not the load asked for.
    """

    scheduling_lag_p99_ms: float = 10.0
    event_loop_lag_p99_ms: float = 10.0
    cpu_fraction: float = 0.9


@attrs.frozen
class ClientHealth:
    """How well the client kept up with the schedule, and the verdict."""

    scheduling_lag_p99_ms: float | None
    event_loop_lag_p99_ms: float | None
    client_cpu_fraction: float | None
    requested_request_rate: float | None
    achieved_request_rate: float | None
    thresholds: BottleneckThresholds
    warning: str | None
    connections: ConnectionHealth = ConnectionHealth()

    @property
    def client_bound(self) -> bool:
        """Whether the client was probably the bottleneck."""
        return self.warning is not None


@attrs.frozen
class RunMetrics:
    """Everything the exporters write about a run's profiling phase."""

    facts: RunFacts
    records: tuple[RecordMetrics, ...]
    distributions: tuple[MetricStats, ...]
    scalars: tuple[ScalarMetric, ...]
    errors: tuple[ErrorCount, ...]
    health: ClientHealth
    warmup_count: int
    statistics: Mapping[str, str]
    #: What the reader should know about the numbers (an ISL gap, an ignored stream).
    warnings: tuple[str, ...] = ()

    @property
    def ok_count(self) -> int:
        """Successful profiling requests."""
        return sum(1 for r in self.records if r.record.ok)

    @property
    def error_count(self) -> int:
        """Failed profiling requests (the server's failures; cancelled ones are apart)."""
        return sum(1 for r in self.records if _failed(r.record))

    @property
    def cancelled_count(self) -> int:
        """Profiling requests the user cancelled in flight (Ctrl-C, SIGTERM)."""
        return sum(1 for r in self.records if r.record.cancelled)

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
    "inter_chunk_latency": "exact, over every gap of every successful streaming request",
    "scheduling_lag": "every profiling request, successful or not",
    "benchmark_duration": "max(request start + request_latency) - min(request start), wall clock",
    "throughputs": "per second of the profiling phase's wall-clock window (start_time to end_time)",
})


def compute_run_metrics(
    records: Iterable[RequestRecord],
    facts: RunFacts,
    *,
    thresholds: BottleneckThresholds | None = None,
) -> RunMetrics:
    """Compute every metric of a run from its records.

    Warm-up records are counted and otherwise ignored. ``ValueError`` if an SLO names a
    tag that is not a per-request metric.
    """
    _check_slos(facts.slos)
    everything = tuple(records)
    profiling = tuple(r for r in everything if r.phase == "profiling")
    per_record = tuple(record_metrics(r, streaming=facts.streaming) for r in profiling)
    distributions = _distributions(per_record, facts.loop_lag_ms)
    scalars = _scalars(per_record, facts)
    health = _health(distributions, scalars, facts, thresholds or BottleneckThresholds())
    return RunMetrics(
        facts=facts,
        records=per_record,
        distributions=distributions,
        scalars=scalars,
        errors=_error_counts(profiling),
        health=health,
        warmup_count=len(everything) - len(profiling),
        statistics=STATISTICS,
        warnings=tuple(w for w in (isl_gap_warning(profiling), _unstreamed_warning(profiling))
                       if w is not None),
    )


#: Requested and delivered ISL may differ by this fraction on average before a warning.
ISL_GAP_TOLERANCE = 0.05


def isl_gap_warning(records: Sequence[RequestRecord]) -> str | None:
    """A warning when the prompts the server saw (``usage.prompt_tokens``) differ from the
    lengths the client asked for by more than 5% on average; None when they agree or the
    server reported no prompt usage."""
    pairs = [(r.input_tokens, r.usage.prompt_tokens) for r in records
             if r.ok and r.input_tokens and r.usage is not None
             and r.usage.prompt_tokens is not None]
    if not pairs:
        return None
    requested = sum(p[0] for p in pairs) / len(pairs)
    delivered = sum(p[1] for p in pairs) / len(pairs)
    gap = (delivered - requested) / requested
    if abs(gap) <= ISL_GAP_TOLERANCE:
        return None
    return (f"the server counted {delivered:.1f} prompt tokens per request on average "
            f"against {requested:.1f} requested ({gap:+.0%}); input_sequence_length reports "
            "the server's count. Size prompts in the server's tokens with --tokenizer "
            "PATH, or let aiperf calibrate against the server (--prompt-sizing server)")


def _unstreamed_warning(records: Sequence[RequestRecord]) -> str | None:
    unstreamed = sum(1 for r in records if r.ok and r.unstreamed)
    if not unstreamed:
        return None
    return (f"{unstreamed} streaming request(s) were answered with one plain JSON body (the "
            "server ignored stream: true): their TTFT, ITL and time to second token are not "
            "measured")


def _check_slos(slos: Mapping[str, float]) -> None:
    unknown = sorted(set(slos) - _RECORD_TAGS)
    if unknown:
        msg = f"unknown SLO metric tag(s) {unknown}; choose from {sorted(_RECORD_TAGS)}"
        raise ValueError(msg)


def _distributions(
    per_record: Sequence[RecordMetrics], loop_lag_ms: Sequence[float]
) -> tuple[MetricStats, ...]:
    samples: dict[str, list[float]] = {}
    for item in per_record:
        for value in item.values:
            bucket = samples.setdefault(value.tag, [])
            if isinstance(value.value, tuple):
                bucket.extend(value.value)
            else:
                bucket.append(float(value.value))
    if loop_lag_ms:
        samples["event_loop_lag"] = [float(v) for v in loop_lag_ms]
    return tuple(
        MetricStats(info, summarize(samples[info.tag]))
        for info in (*RECORD_METRICS, *DISTRIBUTION_METRICS)
        if samples.get(info.tag)
    )


def _scalars(per_record: Sequence[RecordMetrics], facts: RunFacts) -> tuple[ScalarMetric, ...]:
    ok = [r for r in per_record if r.record.ok]
    failed = [r for r in per_record if _failed(r.record)]
    # A request the user cancelled is neither a success nor the server's error: it is
    # left out of the error counts and rates, and counted on its own.
    cancelled = sum(1 for r in per_record if r.record.cancelled)
    attempted = len(ok) + len(failed)
    found: dict[str, float] = {
        "request_count": len(ok),
        "completed_request_count": attempted,
        "request_error_rate": 100.0 * len(failed) / attempted if attempted else 0.0,
    }
    if failed:  # the reference omits the error counter on a clean run
        found["error_request_count"] = len(failed)
        found.update(_total("total_error_isl", failed, "error_isl"))
    if cancelled:  # like the error counter: absent means none
        found["cancelled_request_count"] = cancelled
    for total_tag, tag in (
        ("total_isl", "input_sequence_length"),
        ("total_osl", "output_sequence_length"),
        ("total_output_tokens", "output_token_count"),
        ("total_usage_prompt_tokens", "usage_prompt_tokens"),
        ("total_usage_completion_tokens", "usage_completion_tokens"),
        ("total_usage_total_tokens", "usage_total_tokens"),
    ):
        found.update(_total(total_tag, ok, tag))

    duration_s = _benchmark_duration_s(per_record)
    if duration_s is not None:
        found["benchmark_duration"] = duration_s
    window_s = _window_s(facts) or duration_s
    if window_s is not None:
        found["request_throughput"] = len(ok) / window_s
        for rate_tag, total_tag in (
            ("output_token_throughput", "total_osl"),
            ("input_token_throughput", "total_isl"),
        ):
            if total_tag in found:
                found[rate_tag] = found[total_tag] / window_s
        if "total_isl" in found and "total_osl" in found:
            found["total_token_throughput"] = (found["total_isl"] + found["total_osl"]) / window_s

    if facts.slos:
        good = sum(1 for r in ok if _meets_slos(r, facts.slos))
        found["good_request_count"] = good
        found["good_request_fraction"] = good / attempted if attempted else 0.0
        if window_s is not None:
            found["goodput"] = good / window_s

    # Only a rate-driven run has a rate to compare with: in a closed loop the send rate
    # is whatever the server's latency allows, and reporting it invites a false reading.
    achieved = (_achieved_request_rate([r.record for r in per_record])
                if facts.requested_request_rate is not None else None)
    if achieved is not None:
        found["achieved_request_rate"] = achieved
    return tuple(
        ScalarMetric(info, float(found[info.tag])) for info in SCALAR_METRICS if info.tag in found
    )


def _total(total_tag: str, items: Sequence[RecordMetrics], tag: str) -> dict[str, float]:
    """``{total_tag: sum}`` over the requests that have ``tag``; empty when none has it."""
    values = [v for v in (r.get(tag) for r in items) if v is not None]
    return {total_tag: float(sum(values))} if values else {}  # type: ignore[arg-type]


def _window_s(facts: RunFacts) -> float | None:
    """The profiling phase's wall-clock window in seconds, or None if it is empty."""
    window_ns = facts.end_wall_ns - facts.start_wall_ns
    return window_ns / _NS_PER_S if window_ns > 0 else None


def _benchmark_duration_s(per_record: Sequence[RecordMetrics]) -> float | None:
    """max(start + request_latency) - min(start), over successful requests (wall clock).

    When none succeeded, the span from the first send to the last response end, so that a
    run of failures still has a duration (and a throughput of zero). Integer nanoseconds
    throughout: wall-clock ns do not fit a float exactly.
    """
    spans = [
        (item.record.start_wall_ns, item.record.start_wall_ns + item.latency_ns)
        for item in per_record
        if item.latency_ns is not None
    ]
    if not spans:
        spans = [(r.record.start_wall_ns, r.record.end_wall_ns) for r in per_record]
    if not spans:
        return None
    duration_ns = max(end for _, end in spans) - min(start for start, _ in spans)
    return duration_ns / _NS_PER_S if duration_ns > 0 else None


def _meets_slos(item: RecordMetrics, slos: Mapping[str, float]) -> bool:
    """Whether a request meets every objective; a missing metric does not.

    The direction is the reference's: throughput-like tags (larger is better) must reach
    the threshold, the others must stay at or under it. For ``inter_chunk_latency`` every
    gap must.
    """
    for tag, threshold in slos.items():
        value = item.get(tag)
        if value is None:
            return False
        values = value if isinstance(value, tuple) else (value,)
        if _BY_TAG[tag].larger_is_better:
            if not all(v >= threshold for v in values):
                return False
        elif not all(v <= threshold for v in values):
            return False
    return True


def _achieved_request_rate(records: Sequence[RequestRecord]) -> float | None:
    """Requests actually sent per second: (n - 1) / (last send - first send).

    n sends span n - 1 intervals; n / span would overstate the rate of a short run.
    """
    if len(records) < 2:
        return None
    starts = [r.start_perf_ns for r in records]
    span_ns = max(starts) - min(starts)
    return (len(records) - 1) * _NS_PER_S / span_ns if span_ns > 0 else None


def _error_counts(records: Sequence[RequestRecord]) -> tuple[ErrorCount, ...]:
    """Failures grouped by identical (code, type, message), most frequent first;
    requests the user cancelled are no failure of the server's and are left out."""
    counts = Counter(error_of(r) for r in records if _failed(r))
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].type, kv[0].message))
    return tuple(ErrorCount(error, n) for error, n in ordered)


def _failed(record: RequestRecord) -> bool:
    """A request that failed by the server's (or the network's) doing, not the user's."""
    return not record.ok and not record.cancelled


def error_of(record: RequestRecord) -> RequestError:
    """The error of a failed request; a cancelled one without an error gets one."""
    if record.error is not None:
        return record.error
    return RequestError(type="cancelled", message="The request was cancelled.")


def _health(
    distributions: Sequence[MetricStats],
    scalars: Sequence[ScalarMetric],
    facts: RunFacts,
    thresholds: BottleneckThresholds,
) -> ClientHealth:
    by_tag = {d.tag: d for d in distributions}
    sched = by_tag.get("scheduling_lag")
    loop = by_tag.get("event_loop_lag")
    achieved = next((s.value for s in scalars if s.tag == "achieved_request_rate"), None)
    sched_p99 = sched.dist.p99 if sched else None
    loop_p99 = loop.dist.p99 if loop else None
    return ClientHealth(
        scheduling_lag_p99_ms=sched_p99,
        event_loop_lag_p99_ms=loop_p99,
        client_cpu_fraction=facts.client_cpu_fraction,
        requested_request_rate=facts.requested_request_rate,
        achieved_request_rate=achieved,
        thresholds=thresholds,
        connections=facts.connections,
        warning=client_bottleneck_warning(
            scheduling_lag_p99_ms=sched_p99,
            event_loop_lag_p99_ms=loop_p99,
            client_cpu_fraction=facts.client_cpu_fraction,
            thresholds=thresholds,
        ),
    )


def client_bottleneck_warning(
    *,
    scheduling_lag_p99_ms: float | None,
    event_loop_lag_p99_ms: float | None,
    client_cpu_fraction: float | None,
    thresholds: BottleneckThresholds | None = None,
) -> str | None:
    """A warning saying why the client probably limited the run, or None if it kept up.

    Any one sign suffices: requests left late (scheduling lag p99), the event loop was
    slow to wake (loop lag p99), or the client process used nearly a whole CPU core.
    Unknown values (None) are not evidence either way.
    """
    limits = thresholds or BottleneckThresholds()
    reasons = []
    if scheduling_lag_p99_ms is not None and scheduling_lag_p99_ms > limits.scheduling_lag_p99_ms:
        reasons.append(
            f"requests were sent late (scheduling lag p99 {scheduling_lag_p99_ms:.1f} ms > "
            f"{limits.scheduling_lag_p99_ms:g} ms)"
        )
    if event_loop_lag_p99_ms is not None and event_loop_lag_p99_ms > limits.event_loop_lag_p99_ms:
        reasons.append(
            f"the event loop was slow to respond (loop lag p99 {event_loop_lag_p99_ms:.1f} ms > "
            f"{limits.event_loop_lag_p99_ms:g} ms)"
        )
    if client_cpu_fraction is not None and client_cpu_fraction > limits.cpu_fraction:
        reasons.append(
            f"the client used {client_cpu_fraction:.0%} of a CPU core "
            f"(> {limits.cpu_fraction:.0%})"
        )
    if not reasons:
        return None
    return (
        "The client, not the server, may have been the bottleneck: "
        + "; ".join(reasons)
        + ". Measured latencies and rates may understate what the server can do; "
        "lower the load per client or run several clients."
    )

