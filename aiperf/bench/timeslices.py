"""A run's metrics per window of wall-clock time: the data behind ``--slice-duration``.

:func:`compute_timeslices` cuts the profiling phase ``[start_ns, end_ns)`` into windows
``[start_ns + k*d, start_ns + (k+1)*d)`` and reports, for each window:

- the distribution of every per-request metric over the requests assigned to it, with
  the same values and the same population rules as the run summary (the per-request
  values are the ones :mod:`aiperf.bench.metrics` computed; nothing is recomputed here).
  Latencies and token metrics exist only for successful requests, so a failed request is
  counted but adds nothing to them (it does add its ``error_isl`` and ``scheduling_lag``,
  exactly as in the summary);
- ``request_count`` (successful requests) and ``error_request_count`` (failed or
  cancelled ones), both always present, 0 included;
- ``request_throughput`` and ``output_token_throughput``: the window's successful
  requests and their output tokens divided by the window's length in seconds (section
  7.2: "duration" is the slice window for timeslices). Token throughput is reported in
  every window when any successful request of the run has an output length, else in none.

Which window a request belongs to: the one in which it **started** (its send time,
``request_start_ns``). That is what NVIDIA AIPerf 0.13 does (its metrics accumulator bins
records by ``request_start_ns``); the reference spec (section 6.6) does not say.
``assign_by="end"`` bins by the time the response ended instead. A request whose
timestamp falls outside the phase (clock skew, a response ending exactly at ``end_ns``)
goes to the first or last window rather than being dropped.

The last window is cut at ``end_ns``; when it is shorter than ``d`` it is flagged
``is_complete=False`` and its throughputs divide by its actual length. Windows with no
request are kept (counts 0, throughputs 0, no distributions), so the windows tile the
phase without gaps; AIPerf 0.13 leaves such windows out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal

import attrs

from aiperf.bench.metrics import (
    RECORD_METRICS,
    MetricStats,
    RecordMetrics,
    ScalarMetric,
    metric_info,
)
from aiperf.bench.stats import summarize

__all__ = ["MAX_TIMESLICES", "AssignBy", "Timeslice", "compute_timeslices"]

_NS_PER_S = 1_000_000_000

#: More windows than this is a mistake (a slice duration far shorter than the run), and
#: would take memory and disk out of proportion: ``compute_timeslices`` refuses it.
MAX_TIMESLICES = 100_000

AssignBy = Literal["start", "end"]


class TimesliceError(ValueError):
    """The slice duration does not fit the run (far too many windows)."""


@attrs.frozen
class Timeslice:
    """The metrics of one window ``[start_ns, end_ns)`` (wall clock, ns since the epoch).

    ``index`` is 0-based. ``distributions`` are in the catalogue order of
    :data:`aiperf.bench.metrics.RECORD_METRICS`; ``scalars`` hold ``request_throughput``,
    ``request_count``, ``output_token_throughput`` (when the run has output lengths) and
    ``error_request_count``, in the catalogue order of the run-level metrics.
    """

    index: int
    start_ns: int
    end_ns: int
    is_complete: bool
    distributions: tuple[MetricStats, ...]
    scalars: tuple[ScalarMetric, ...]

    @property
    def duration_s(self) -> float:
        """The window's length in seconds (shorter than the slice duration when incomplete)."""
        return (self.end_ns - self.start_ns) / _NS_PER_S

    @property
    def request_count(self) -> int:
        """Successful requests assigned to the window."""
        return int(self._scalar_value("request_count"))

    @property
    def error_request_count(self) -> int:
        """Failed or cancelled requests assigned to the window."""
        return int(self._scalar_value("error_request_count"))

    def distribution(self, tag: str) -> MetricStats | None:
        """The distribution of ``tag`` in this window, or None when it has none."""
        return next((d for d in self.distributions if d.tag == tag), None)

    def scalar(self, tag: str) -> ScalarMetric | None:
        """The window-level value of ``tag``, or None when it has none."""
        return next((s for s in self.scalars if s.tag == tag), None)

    def _scalar_value(self, tag: str) -> float:
        found = self.scalar(tag)
        return 0 if found is None else found.value


def compute_timeslices(
    records: Iterable[RecordMetrics],
    slice_duration_s: float,
    start_ns: int,
    end_ns: int,
    *,
    assign_by: AssignBy = "start",
) -> list[Timeslice]:
    """The metrics of each window of ``slice_duration_s`` seconds over ``[start_ns, end_ns)``.

    ``records`` are the per-request metrics of the run (``RunMetrics.records``); warm-up
    records, if any are passed, are ignored. ``start_ns``/``end_ns`` bound the profiling
    phase on the wall clock (``RunFacts.start_wall_ns``/``end_wall_ns``). Each request
    belongs to the window in which it started (``assign_by="end"``: in which it ended);
    see the module docstring for the details. An empty phase (``end_ns <= start_ns``)
    has no windows.

    ``ValueError`` if the slice duration is not a positive number of at least 1 ns, or if
    it would cut the phase into more than :data:`MAX_TIMESLICES` windows.
    """
    duration_ns = _duration_ns(slice_duration_s)
    if assign_by not in ("start", "end"):
        msg = f"assign_by must be 'start' or 'end', not {assign_by!r}"
        raise ValueError(msg)
    span_ns = end_ns - start_ns
    if span_ns <= 0:
        return []
    count = -(-span_ns // duration_ns)  # ceiling division, in integers
    if count > MAX_TIMESLICES:
        msg = (
            f"a slice duration of {slice_duration_s:g} s cuts this {span_ns / _NS_PER_S:g} s run "
            f"into {count} windows, more than the {MAX_TIMESLICES} allowed; use a longer "
            "slice duration"
        )
        raise TimesliceError(msg)

    profiling = [r for r in records if r.record.phase == "profiling"]
    buckets: list[list[RecordMetrics]] = [[] for _ in range(count)]
    last = count - 1
    for item in profiling:
        record = item.record
        at = record.start_wall_ns if assign_by == "start" else record.end_wall_ns
        buckets[min(max((at - start_ns) // duration_ns, 0), last)].append(item)

    # Decided once for the run, so that the column is in every window or in none.
    has_tokens = any(r.record.ok and r.get("output_sequence_length") is not None for r in profiling)
    slices = []
    for index, bucket in enumerate(buckets):
        window_start = start_ns + index * duration_ns
        full_end = window_start + duration_ns
        window_end = min(full_end, end_ns)
        slices.append(
            Timeslice(
                index=index,
                start_ns=window_start,
                end_ns=window_end,
                is_complete=full_end <= end_ns,
                distributions=_distributions(bucket),
                scalars=_scalars(bucket, (window_end - window_start) / _NS_PER_S, has_tokens),
            )
        )
    return slices


def _duration_ns(slice_duration_s: float) -> int:
    """The slice duration in whole nanoseconds; ``ValueError`` unless it is at least 1 ns."""
    duration_ns = 0
    if isinstance(slice_duration_s, int | float) and math.isfinite(slice_duration_s):
        duration_ns = round(slice_duration_s * _NS_PER_S)
    if isinstance(slice_duration_s, bool) or duration_ns < 1:
        msg = (
            "the slice duration must be a positive number of seconds, at least one "
            f"nanosecond, not {slice_duration_s!r}"
        )
        raise ValueError(msg)
    return duration_ns


def _distributions(bucket: Sequence[RecordMetrics]) -> tuple[MetricStats, ...]:
    """Every per-request metric of the window's requests, summarised like the run summary:
    list-valued metrics (inter_chunk_latency) contribute each of their values."""
    samples: dict[str, list[float]] = {}
    for item in bucket:
        for value in item.values:
            sample = samples.setdefault(value.tag, [])
            if isinstance(value.value, tuple):
                sample.extend(value.value)
            else:
                sample.append(float(value.value))
    return tuple(
        MetricStats(info, summarize(samples[info.tag]))
        for info in RECORD_METRICS
        if samples.get(info.tag)
    )


def _scalars(
    bucket: Sequence[RecordMetrics], window_s: float, has_tokens: bool
) -> tuple[ScalarMetric, ...]:
    ok = [item for item in bucket if item.record.ok]
    scalars = [
        ScalarMetric(metric_info("request_throughput"), len(ok) / window_s),
        ScalarMetric(metric_info("request_count"), len(ok)),
    ]
    if has_tokens:
        lengths = (item.get("output_sequence_length") for item in ok)
        tokens = sum(v for v in lengths if isinstance(v, int | float))
        scalars.append(ScalarMetric(metric_info("output_token_throughput"), tokens / window_s))
    scalars.append(ScalarMetric(metric_info("error_request_count"), len(bucket) - len(ok)))
    return tuple(scalars)
