"""A run's metrics, gathered one finished request at a time, in bounded memory.

The runner hands every finished request to a :class:`RunTally` as soon as it ends (after
its metrics were computed once, :func:`aiperf.bench.metrics.record_metrics`, and its
JSONL line was written). The tally keeps no record: only counters, sums, extremes and one
:class:`~aiperf.bench.sample.Sample` per metric, and per timeslice window when
``--slice-duration`` asks for them. So a long run's memory does not grow with its
number of requests, and nothing is computed twice. :meth:`RunTally.finish` turns it
into the frozen :class:`~aiperf.bench.metrics.RunMetrics` the exporters render.

:func:`compute_run_metrics` is the same path for records that are all at hand (tests,
tools): it feeds them to a tally and finishes it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from aiperf.bench.metrics import (
    DISTRIBUTION_METRICS,
    RECORD_METRICS,
    RECORD_TAGS,
    SCALAR_METRICS,
    STATISTICS,
    BottleneckThresholds,
    ErrorCount,
    MetricStats,
    RecordMetrics,
    RunFacts,
    RunMetrics,
    ScalarMetric,
    error_of,
    health_of,
    metric_info,
    record_metrics,
)
from aiperf.bench.records import RequestError, RequestRecord
from aiperf.bench.sample import EXACT_LIMIT, RELATIVE_ACCURACY, Sample
from aiperf.bench.timeslices import AssignBy, TimesliceError, TimesliceTally

__all__ = ["ISL_GAP_TOLERANCE", "MAX_DISTINCT_ERRORS", "RunTally", "compute_run_metrics"]

_NS_PER_S = 1_000_000_000
#: Requested and delivered ISL may differ by this fraction on average before a warning.
ISL_GAP_TOLERANCE = 0.05
#: Distinct error messages kept apart; past this, a new message is counted with others of
#: its type and code (a server whose errors all differ, say by a request id, must not
#: grow the run's memory without bound).
MAX_DISTINCT_ERRORS = 1000
#: The message standing for the errors past MAX_DISTINCT_ERRORS.
OTHER_MESSAGES = "(other messages, not kept: more than 1000 distinct errors)"

#: Session turns summed apart by their index; later turns are folded into the last.
MAX_TURNS = 256
#: What a turn index sums: its requests, then the metrics whose mean it reports.
_TURN_SUMS = ("requests", "time_to_first_token", "input_sequence_length", "cached_tokens")

#: Run-level totals over successful requests: total tag -> per-request tag.
_OK_TOTALS = (
    ("total_isl", "input_sequence_length"),
    ("total_osl", "output_sequence_length"),
    ("total_output_tokens", "output_token_count"),
    ("total_usage_prompt_tokens", "usage_prompt_tokens"),
    ("total_usage_completion_tokens", "usage_completion_tokens"),
    ("total_usage_total_tokens", "usage_total_tokens"),
    ("total_cached_tokens", "cached_tokens"),
)


class RunTally:
    """The running totals of one run's profiling phase (see the module docstring).

    ``streaming`` says which metrics a record gets; ``slos`` (tag -> threshold) decides
    goodput as each request lands; ``slice_duration_s`` turns on timeslice windows, which
    need :meth:`start` with the phase's first wall-clock instant before the first
    :meth:`add`. Records that name their endpoint (a run with several) are also tallied
    per endpoint, unless ``per_endpoint`` is False (an endpoint's own tally).
    ``ValueError`` for an SLO that names no per-request metric, or a slice duration that
    is not a positive number.
    """

    def __init__(self, *, streaming: bool, slos: Mapping[str, float] | None = None,
                 slice_duration_s: float | None = None, assign_by: AssignBy = "start",
                 exact_limit: int = EXACT_LIMIT, per_endpoint: bool = True) -> None:
        self.streaming = streaming
        self._per_endpoint = per_endpoint
        self._slos = MappingProxyType(dict(slos or {}))
        _check_slos(self._slos)
        self._exact_limit = exact_limit
        self._slices = (None if slice_duration_s is None
                        else TimesliceTally(slice_duration_s, assign_by=assign_by))
        self._samples: dict[str, Sample] = {}
        self.ok_count = 0
        self.error_count = 0
        self.cancelled_count = 0
        self.warmup_count = 0
        self._good = 0
        self._totals: dict[str, int | float] = {}
        self._by_turn: dict[int, dict[str, float]] = {}
        # Per session id: first send, last end (wall ns), turns sent, whether one failed.
        self._sessions: dict[str, list[int]] = {}
        # Per endpoint (a repeated --url): a tally of its own requests.
        self._by_endpoint: dict[str, RunTally] = {}
        self._error_isl: int | float | None = None
        # benchmark_duration: over successful requests, else over all of them.
        self._ok_span: tuple[int, int] | None = None
        self._any_span: tuple[int, int] | None = None
        # achieved_request_rate: the sends' count and first and last perf time.
        self._sends = 0
        self._first_send = 0
        self._last_send = 0
        self._errors: Counter[RequestError] = Counter()
        self._isl_pairs = 0
        self._isl_requested = 0
        self._isl_delivered = 0
        self._unstreamed = 0

    @property
    def profiling_count(self) -> int:
        """Profiling requests added so far (successful, failed and cancelled)."""
        return self.ok_count + self.error_count + self.cancelled_count

    def start(self, start_wall_ns: int) -> None:
        """The profiling phase began at ``start_wall_ns``: where timeslice windows start."""
        if self._slices is not None:
            self._slices.start(start_wall_ns)

    def measure(self, record: RequestRecord) -> RecordMetrics:
        """The metrics of one record, as this run computes them (its ``streaming``)."""
        return record_metrics(record, streaming=self.streaming)

    def add_warmup(self) -> None:
        """Count one warm-up request (warm-up requests are counted, nothing more)."""
        self.warmup_count += 1

    def add(self, item: RecordMetrics) -> None:
        """Add one finished profiling request's metrics."""
        record = item.record
        if record.ok:
            self.ok_count += 1
        elif record.cancelled:
            self.cancelled_count += 1
        else:
            self.error_count += 1
            self._count_error(error_of(record))
        item.add_to(self._samples, self._exact_limit)
        if record.ok:
            self._add_ok(item)
        elif not record.cancelled:
            isl = item.get("error_isl")
            if isl is not None:
                self._error_isl = (self._error_isl or 0) + isl  # type: ignore[operator]
        self._any_span = _widen(self._any_span, record.start_wall_ns, record.end_wall_ns)
        if self._sends == 0:
            self._first_send = self._last_send = record.start_perf_ns
        else:
            self._first_send = min(self._first_send, record.start_perf_ns)
            self._last_send = max(self._last_send, record.start_perf_ns)
        self._sends += 1
        if self._slices is not None:
            self._slices.add(item)
        if record.session is not None:
            self._add_session(record)
        if record.endpoint is not None and self._per_endpoint:
            self._endpoint_tally(record.endpoint).add(item)

    def _endpoint_tally(self, endpoint: str) -> RunTally:
        tally = self._by_endpoint.get(endpoint)
        if tally is None:
            tally = self._by_endpoint[endpoint] = RunTally(
                streaming=self.streaming, slos=self._slos, exact_limit=self._exact_limit,
                per_endpoint=False)
        return tally

    def _add_session(self, record: RequestRecord) -> None:
        """Widen the session's span by one of its turns; a turn that did not succeed ends
        the session unfinished."""
        assert record.session is not None
        span = self._sessions.get(record.session)
        if span is None:
            self._sessions[record.session] = [record.start_wall_ns, record.end_wall_ns, 1,
                                              int(not record.ok)]
            return
        span[0] = min(span[0], record.start_wall_ns)
        span[1] = max(span[1], record.end_wall_ns)
        span[2] += 1
        span[3] |= int(not record.ok)

    def sessions(self) -> Mapping[str, Any] | None:
        """The sessions seen: how many, how many ended on a failed or cancelled turn, and
        the distributions of their turns and duration (first send to last end, think
        times included); None without sessions."""
        if not self._sessions:
            return None
        turns, duration = Sample(), Sample()
        for first, last, sent, _ in self._sessions.values():
            turns.add(sent)
            duration.add((last - first) / 1e6)
        failed = sum(span[3] for span in self._sessions.values())
        return {"count": len(self._sessions), "unfinished": failed,
                "turns": turns.summary(), "duration_ms": duration.summary()}

    def _add_turn(self, item: RecordMetrics) -> None:
        """Fold a successful session turn into its turn index's sums (TTFT by turn is
        the prefix-cache signal); turns past MAX_TURNS are folded into the last."""
        turn = item.record.turn
        if turn is None:
            return
        sums = self._by_turn.setdefault(min(turn, MAX_TURNS - 1), dict.fromkeys(_TURN_SUMS, 0.0))
        sums["requests"] += 1
        for tag in _TURN_SUMS[1:]:
            value = item.get(tag)
            if isinstance(value, int | float):
                sums[tag] += value
                sums[f"{tag}#n"] = sums.get(f"{tag}#n", 0.0) + 1

    def by_turn(self) -> tuple[Mapping[str, float | int | None], ...]:
        """Per turn index: requests and the mean TTFT, ISL and cached tokens."""
        out = []
        for turn, sums in sorted(self._by_turn.items()):
            row: dict[str, float | int | None] = {"turn": turn, "requests": int(sums["requests"])}
            for tag in _TURN_SUMS[1:]:
                n = sums.get(f"{tag}#n", 0.0)
                row[f"{tag}_avg"] = sums[tag] / n if n else None
            out.append(row)
        return tuple(out)

    def _add_ok(self, item: RecordMetrics) -> None:
        record = item.record
        if record.turn is not None:
            self._add_turn(item)
        by_tag, totals = item.by_tag, self._totals
        for total_tag, tag in _OK_TOTALS:
            value = by_tag.get(tag)
            if value is not None:
                totals[total_tag] = totals.get(total_tag, 0) + value  # type: ignore[operator]
        if item.latency_ns is not None:
            self._ok_span = _widen(self._ok_span, record.start_wall_ns,
                                   record.start_wall_ns + item.latency_ns)
        if self._slos and _meets_slos(item, self._slos):
            self._good += 1
        prompt = record.usage.prompt_tokens if record.usage is not None else None
        if record.input_tokens and prompt is not None:
            self._isl_pairs += 1
            self._isl_requested += record.input_tokens
            self._isl_delivered += prompt
        if record.unstreamed:
            self._unstreamed += 1

    def _count_error(self, error: RequestError) -> None:
        if error not in self._errors and len(self._errors) >= MAX_DISTINCT_ERRORS:
            error = RequestError(type=error.type, message=OTHER_MESSAGES, code=error.code)
        self._errors[error] += 1

    def finish(self, facts: RunFacts, *,
               thresholds: BottleneckThresholds | None = None) -> RunMetrics:
        """The run's metrics. ``facts`` are what only the runner knows at the end (its
        window, loop lag, CPU); the SLOs and streaming are this tally's own."""
        distributions = self._distributions(facts)
        scalars = self._scalars(facts)
        timeslices, timeslice_error = None, None
        if self._slices is not None:
            try:
                timeslices = tuple(self._slices.finish(facts.start_wall_ns, facts.end_wall_ns))
            except TimesliceError as e:
                timeslice_error = str(e)
        approximate = sorted(d.tag for d in distributions if not d.exact)
        statistics = dict(STATISTICS)
        if approximate:
            statistics["approximate_percentiles"] = (
                f"{', '.join(approximate)}: more than {self._exact_limit:,} values, so their "
                f"percentiles come from logarithmic buckets, within {RELATIVE_ACCURACY:.2%} "
                "of the exact ones (count, sum, min, max, avg and std stay exact)"
            )
        return RunMetrics(
            facts=facts,
            distributions=distributions,
            scalars=scalars,
            errors=self._error_counts(),
            health=health_of(distributions, scalars, facts,
                             thresholds or BottleneckThresholds()),
            ok_count=self.ok_count,
            error_count=self.error_count,
            cancelled_count=self.cancelled_count,
            warmup_count=self.warmup_count,
            statistics=MappingProxyType(statistics),
            warnings=tuple(w for w in (self._isl_gap_warning(), self._unstreamed_warning())
                           if w is not None),
            timeslices=timeslices,
            timeslice_error=timeslice_error,
            by_turn=self.by_turn(),
            sessions=self.sessions(),
            by_endpoint=tuple((url, tally.finish(facts, thresholds=thresholds))
                              for url, tally in self._by_endpoint.items()),
        )

    def _distributions(self, facts: RunFacts) -> tuple[MetricStats, ...]:
        samples = dict(self._samples)
        if len(facts.loop_lag_ms):
            samples["event_loop_lag"] = facts.loop_lag_ms
        out = []
        for info in (*RECORD_METRICS, *DISTRIBUTION_METRICS):
            sample = samples.get(info.tag)
            if sample is not None and len(sample):
                out.append(MetricStats(info, sample.summary(), exact=sample.exact))
        return tuple(out)

    def _scalars(self, facts: RunFacts) -> tuple[ScalarMetric, ...]:
        ok, failed = self.ok_count, self.error_count
        # A request the user cancelled is neither a success nor the server's error: it is
        # left out of the error counts and rates, and counted on its own.
        attempted = ok + failed
        found: dict[str, float] = {
            "request_count": ok,
            "completed_request_count": attempted,
            "request_error_rate": 100.0 * failed / attempted if attempted else 0.0,
        }
        if failed:  # the reference omits the error counter on a clean run
            found["error_request_count"] = failed
            if self._error_isl is not None:
                found["total_error_isl"] = float(self._error_isl)
        if self.cancelled_count:  # like the error counter: absent means none
            found["cancelled_request_count"] = self.cancelled_count
        found.update({tag: float(total) for tag, total in self._totals.items()})
        cached, prompted = found.get("total_cached_tokens"), found.get("total_usage_prompt_tokens")
        if cached is not None and prompted:
            # The share of the prompts the server took from its prefix cache.
            found["cache_hit_ratio"] = cached / prompted

        span = self._ok_span or self._any_span
        duration_s = None
        if span is not None and span[1] > span[0]:
            # Integer nanoseconds up to here: wall-clock ns do not fit a float exactly.
            duration_s = (span[1] - span[0]) / _NS_PER_S
            found["benchmark_duration"] = duration_s
        window_ns = facts.end_wall_ns - facts.start_wall_ns
        window_s = window_ns / _NS_PER_S if window_ns > 0 else duration_s
        if window_s is not None:
            found["request_throughput"] = ok / window_s
            for rate_tag, total_tag in (
                ("output_token_throughput", "total_osl"),
                ("input_token_throughput", "total_isl"),
            ):
                if total_tag in found:
                    found[rate_tag] = found[total_tag] / window_s
            if "total_isl" in found and "total_osl" in found:
                found["total_token_throughput"] = (found["total_isl"]
                                                   + found["total_osl"]) / window_s
        if self._slos:
            found["good_request_count"] = self._good
            found["good_request_fraction"] = self._good / attempted if attempted else 0.0
            if window_s is not None:
                found["goodput"] = self._good / window_s
        # Only a rate-driven run has a rate to compare with: in a closed loop the send rate
        # is whatever the server's latency allows, and reporting it invites a false reading.
        if facts.requested_request_rate is not None and self._sends >= 2:
            # n sends span n - 1 intervals; n / span would overstate a short run's rate.
            span_ns = self._last_send - self._first_send
            if span_ns > 0:
                found["requested_request_rate"] = facts.requested_request_rate
                found["achieved_request_rate"] = (self._sends - 1) * _NS_PER_S / span_ns
        return tuple(
            ScalarMetric(info, float(found[info.tag]))
            for info in SCALAR_METRICS if info.tag in found
        )

    def _error_counts(self) -> tuple[ErrorCount, ...]:
        """Failures grouped by identical (code, type, message), most frequent first."""
        ordered = sorted(self._errors.items(),
                         key=lambda kv: (-kv[1], kv[0].type, kv[0].message))
        return tuple(ErrorCount(error, n) for error, n in ordered)

    def _isl_gap_warning(self) -> str | None:
        """A warning when the prompts the server saw (``usage.prompt_tokens``) differ from
        the lengths the client asked for by more than 5% on average."""
        if not self._isl_pairs:
            return None
        requested = self._isl_requested / self._isl_pairs
        delivered = self._isl_delivered / self._isl_pairs
        gap = (delivered - requested) / requested
        if abs(gap) <= ISL_GAP_TOLERANCE:
            return None
        return (f"the server counted {delivered:.1f} prompt tokens per request on average "
                f"against {requested:.1f} requested ({gap:+.0%}); input_sequence_length "
                "reports the server's count. Size prompts in the server's tokens with "
                "--tokenizer PATH, or let aiperf calibrate against the server "
                "(--prompt-sizing server)")

    def _unstreamed_warning(self) -> str | None:
        if not self._unstreamed:
            return None
        return (f"{self._unstreamed} streaming request(s) were answered with one plain JSON "
                "body (the server ignored stream: true): their TTFT, ITL and time to second "
                "token are not measured")


def compute_run_metrics(
    records: Iterable[RequestRecord],
    facts: RunFacts,
    *,
    thresholds: BottleneckThresholds | None = None,
    slice_duration_s: float | None = None,
    assign_by: AssignBy = "start",
    exact_limit: int = EXACT_LIMIT,
) -> RunMetrics:
    """Every metric of a run whose records are all at hand: the tally's path, in one go.

    Warm-up records are counted and otherwise ignored. ``ValueError`` if an SLO names a
    tag that is not a per-request metric.
    """
    tally = RunTally(streaming=facts.streaming, slos=facts.slos,
                     slice_duration_s=slice_duration_s, assign_by=assign_by,
                     exact_limit=exact_limit)
    tally.start(facts.start_wall_ns)
    for record in records:
        if record.phase == "profiling":
            tally.add(tally.measure(record))
        else:
            tally.add_warmup()
    return tally.finish(facts, thresholds=thresholds)


def _check_slos(slos: Mapping[str, float]) -> None:
    unknown = sorted(set(slos) - RECORD_TAGS)
    if unknown:
        msg = f"unknown SLO metric tag(s) {unknown}; choose from {sorted(RECORD_TAGS)}"
        raise ValueError(msg)


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
        if metric_info(tag).larger_is_better:
            if not all(v >= threshold for v in values):
                return False
        elif not all(v <= threshold for v in values):
            return False
    return True


def _widen(span: tuple[int, int] | None, start: int, end: int) -> tuple[int, int]:
    if span is None:
        return start, end
    return min(span[0], start), max(span[1], end)
