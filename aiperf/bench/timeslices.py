"""A run's metrics per window of wall-clock time: the data behind ``--slice-duration``.

:class:`TimesliceTally` cuts the profiling phase ``[start_ns, end_ns)`` into windows
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
from collections.abc import Iterable
from typing import Literal

import attrs

from aiperf.bench.metrics import (
    RECORD_METRICS,
    MetricStats,
    RecordMetrics,
    ScalarMetric,
    metric_info,
)
from aiperf.bench.sample import Sample

__all__ = ["MAX_TIMESLICES", "WINDOW_EXACT_LIMIT", "AssignBy", "Timeslice", "TimesliceError",
           "TimesliceTally", "compute_timeslices"]

_NS_PER_S = 1_000_000_000

#: More windows than this is a mistake (a slice duration far shorter than the run), and
#: would take memory and disk out of proportion: ``compute_timeslices`` refuses it.
MAX_TIMESLICES = 100_000

#: Values a window keeps exactly per metric before it folds them into buckets (a window
#: holds one sample per metric, and a long run many windows).
WINDOW_EXACT_LIMIT = 1 << 12

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
    """The metrics of each window of ``slice_duration_s`` seconds over ``[start_ns, end_ns)``,
    for per-request metrics that are all at hand: :class:`TimesliceTally` in one go.

    Warm-up records, if any are passed, are ignored. See :class:`TimesliceTally` for the
    errors.
    """
    tally = TimesliceTally(slice_duration_s, assign_by=assign_by)
    tally.start(start_ns)
    for item in records:
        if item.record.phase == "profiling":
            tally.add(item)
    return tally.finish(start_ns, end_ns)


class _Window:
    """What one window gathered: counts, output tokens and one sample per metric."""

    __slots__ = ("ok", "samples", "tokens", "total")

    def __init__(self) -> None:
        self.ok = 0
        self.total = 0
        self.tokens: int | float = 0
        self.samples: dict[str, Sample] = {}

    def merge(self, other: _Window) -> None:
        self.ok += other.ok
        self.total += other.total
        self.tokens += other.tokens
        for tag, sample in other.samples.items():
            mine = self.samples.get(tag)
            if mine is None:
                self.samples[tag] = sample
            else:
                mine.merge(sample)


class TimesliceTally:
    """The windows of a run, gathered one finished request at a time.

    Each window keeps counts and one :class:`~aiperf.bench.sample.Sample` per metric
    (exact up to :data:`WINDOW_EXACT_LIMIT` values), so memory grows with the number of
    windows, never with the number of requests. Call :meth:`start` with the phase's
    first instant (``RunFacts.start_wall_ns``), :meth:`add` for every profiling request,
    and :meth:`finish` with the phase's last instant.

    ``ValueError`` if the slice duration is not a positive number of at least 1 ns or
    ``assign_by`` is neither ``start`` nor ``end``; :meth:`finish` raises
    :class:`TimesliceError` if it would cut the phase into more than
    :data:`MAX_TIMESLICES` windows.
    """

    def __init__(self, slice_duration_s: float, *, assign_by: AssignBy = "start",
                 exact_limit: int = WINDOW_EXACT_LIMIT) -> None:
        self.slice_duration_s = slice_duration_s
        self._duration_ns = _duration_ns(slice_duration_s)
        if assign_by not in ("start", "end"):
            msg = f"assign_by must be 'start' or 'end', not {assign_by!r}"
            raise ValueError(msg)
        self._by_end = assign_by == "end"
        self._exact_limit = exact_limit
        self._start_ns: int | None = None
        self._windows: dict[int, _Window] = {}
        self._has_tokens = False
        self._too_many = False

    def start(self, start_ns: int) -> None:
        """The phase began at ``start_ns`` (wall clock, ns since the epoch)."""
        self._start_ns = start_ns

    def add(self, item: RecordMetrics) -> None:
        """Add one profiling request to the window it belongs to."""
        if self._start_ns is None:
            msg = "TimesliceTally.start() must come before the first add()"
            raise RuntimeError(msg)
        record = item.record
        at = record.end_wall_ns if self._by_end else record.start_wall_ns
        index = max((at - self._start_ns) // self._duration_ns, 0)
        if index >= MAX_TIMESLICES:
            # finish() refuses this run's windows anyway: keep nothing more.
            self._too_many = True
            self._windows.clear()
            return
        if self._too_many:
            return
        window = self._windows.get(index)
        if window is None:
            window = self._windows[index] = _Window()
        window.total += 1
        item.add_to(window.samples, self._exact_limit)
        if record.ok:
            window.ok += 1
            osl = item.get("output_sequence_length")
            if osl is not None:
                self._has_tokens = True
                window.tokens += osl  # type: ignore[operator]

    def finish(self, start_ns: int, end_ns: int) -> list[Timeslice]:
        """The windows over ``[start_ns, end_ns)``; an empty phase has none. A request
        past the last window (it ended exactly at ``end_ns``) counts in the last one."""
        duration_ns = self._duration_ns
        span_ns = end_ns - start_ns
        if span_ns <= 0:
            return []
        count = -(-span_ns // duration_ns)  # ceiling division, in integers
        if count > MAX_TIMESLICES or self._too_many:
            msg = (
                f"a slice duration of {self.slice_duration_s:g} s cuts this "
                f"{span_ns / _NS_PER_S:g} s run into {count} windows, more than the "
                f"{MAX_TIMESLICES} allowed; use a longer slice duration"
            )
            raise TimesliceError(msg)
        last = count - 1
        windows: dict[int, _Window] = {}
        for index in sorted(self._windows):
            window = self._windows[index]
            if index > last and last in windows:
                windows[last].merge(window)
            else:
                windows[min(index, last)] = window
        slices = []
        for index in range(count):
            window = windows.get(index) or _Window()
            window_start = start_ns + index * duration_ns
            full_end = window_start + duration_ns
            window_end = min(full_end, end_ns)
            slices.append(
                Timeslice(
                    index=index,
                    start_ns=window_start,
                    end_ns=window_end,
                    is_complete=full_end <= end_ns,
                    distributions=_distributions(window),
                    scalars=_scalars(window, (window_end - window_start) / _NS_PER_S,
                                     self._has_tokens),
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


def _distributions(window: _Window) -> tuple[MetricStats, ...]:
    """Every per-request metric of the window's requests, summarised like the run summary:
    list-valued metrics (inter_chunk_latency) contribute each of their values."""
    return tuple(
        MetricStats(info, sample.summary(), exact=sample.exact)
        for info in RECORD_METRICS
        if (sample := window.samples.get(info.tag)) is not None and len(sample)
    )


def _scalars(window: _Window, window_s: float, has_tokens: bool) -> tuple[ScalarMetric, ...]:
    scalars = [
        ScalarMetric(metric_info("request_throughput"), window.ok / window_s),
        ScalarMetric(metric_info("request_count"), window.ok),
    ]
    if has_tokens:
        scalars.append(ScalarMetric(metric_info("output_token_throughput"),
                                    window.tokens / window_s))
    scalars.append(ScalarMetric(metric_info("error_request_count"), window.total - window.ok))
    return tuple(scalars)
