"""What a person sees while a run goes and when it ends.

A rich progress bar (requests done, errors, req/s, elapsed and ETA) on a terminal, a
plain line every few seconds off one (CI logs, pipes), and a summary table in the
reference tool's metric order followed by the client's own health and the artifact
directory.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from aiperf.bench.metrics import RunMetrics, metric_info
from aiperf.bench.output import Output
from aiperf.bench.records import RequestRecord
from aiperf.bench.thresholds import ThresholdResult
from aiperf.metric_catalogue import CONSOLE_TABLES, ConsoleTable, console_rows

#: Each console table's title. Which metrics are its rows, and in what order (the
#: reference's for "LLM Metrics": distributions, then scalars), is declared in the metric
#: catalogue (:func:`aiperf.metric_catalogue.console_rows`).
_TITLES: dict[ConsoleTable, str] = {
    "llm": "aiperf | LLM Metrics",
    "health": "aiperf | Client Health",
    "telemetry": "aiperf | Server and GPU Telemetry",
}
STAT_COLUMNS = ("avg", "min", "max", "p99", "p90", "p50", "std")


#: Seconds between the plain progress lines printed off a terminal.
PROGRESS_INTERVAL_S = 5.0

#: How a run's progress is shown: a live bar, a plain line every few seconds, or not.
ProgressMode = Literal["bar", "lines", "off"]


def progress_mode(ui: str, output: Output) -> ProgressMode:
    """A rich bar on a terminal, plain lines off one (CI logs, pipes), nothing for
    ``--ui none``. Off a terminal a rich bar draws nothing (it cannot redraw in place),
    so ``--ui progress`` gets the plain lines there too."""
    if ui == "none":
        return "off"
    return "bar" if output.is_terminal else "lines"


class RunProgress:
    """A run's progress fed one record at a time: a live bar, plain lines, or a no-op.

    ``on_record`` runs for every finished request on the client's event loop, so it
    only counts; the plain lines come from a timer on ``loop`` (every ``interval_s``,
    :data:`PROGRESS_INTERVAL_S` by default), which keeps them coming while no request
    finishes (a stalled server). ``clock`` is the time source of the lines' numbers.
    """

    def __init__(self, output: Output, mode: ProgressMode, total: int | None,
                 duration_s: float | None, loop: asyncio.AbstractEventLoop | None = None,
                 interval_s: float | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.mode = mode
        self.total = total
        self.duration_s = duration_s
        self.done = 0
        self.errors = 0
        self.warmup_done = 0
        self._start = time.perf_counter()
        self._progress: Any = None
        self._task: Any = None
        self._lines: _ProgressLines | None = None
        if mode == "bar":
            self._progress = _rich_bar(output)
            self._task = self._progress.add_task("run", total=total, errors=0, rate=0.0)
        elif mode == "lines":
            if loop is None:
                msg = "progress lines need the event loop the run goes on"
                raise ValueError(msg)
            self._lines = _ProgressLines(
                self, output, loop,
                PROGRESS_INTERVAL_S if interval_s is None else interval_s, clock)

    @property
    def enabled(self) -> bool:
        """Whether anything is shown."""
        return self.mode != "off"

    def __enter__(self) -> RunProgress:
        if self._progress is not None:
            self._progress.start()
        if self._lines is not None:
            self._lines.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
        if self._lines is not None:
            self._lines.stop()

    def profiling_started(self) -> None:
        """The profiling phase began (after any warm-up): the lines' clock starts here."""
        if self._lines is not None:
            self._lines.profiling_started()

    def on_record(self, record: RequestRecord) -> None:
        """Count one finished request (warm-up requests are counted apart, not shown in
        the bar)."""
        if record.phase != "profiling":
            self.warmup_done += 1
            return
        self.done += 1
        # A request the user cancelled (Ctrl-C) is not an error of the server's.
        self.errors += 0 if record.ok or record.cancelled else 1
        if self._progress is not None:
            elapsed = max(time.perf_counter() - self._start, 1e-9)
            self._progress.update(self._task, completed=self.done, errors=self.errors,
                                  rate=self.done / elapsed)

    def progress_line(self) -> str | None:
        """The plain line the timer would print now (None unless in ``lines`` mode)."""
        return None if self._lines is None else self._lines.line()


def _rich_bar(output: Output) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]profiling"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[errors]} errors"),
        TextColumn("{task.fields[rate]:.1f} req/s"),
        TimeElapsedColumn(), TimeRemainingColumn(),
        console=output.console, transient=True,  # type: ignore[attr-defined]  # RichOutput
    )


class _ProgressLines:
    """``progress: 1,200/5,000 requests, 412.3 req/s (last 5.0 s), 0 errors, 2.9 s``,
    printed by a loop timer every ``interval_s``.

    The rate is over the window since the previous line (since profiling began, for the
    first), so a run that slows down shows it; the time is since profiling began, over
    the run's duration when it has one. Before that (warm-up, prompt sizing) the line
    says so, with the warm-up requests done."""

    def __init__(self, progress: RunProgress, output: Output,
                 loop: asyncio.AbstractEventLoop, interval_s: float,
                 clock: Callable[[], float]) -> None:
        self._progress = progress
        self._output = output
        self._loop = loop
        self._interval_s = interval_s
        self._clock = clock
        self._began = clock()
        self._profiling_began: float | None = None
        self._mark = (0.0, 0)  # (time, requests done) at the previous line
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._began = self._clock()
        self._handle = self._loop.call_later(self._interval_s, self._tick)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def profiling_started(self) -> None:
        self._profiling_began = self._clock()
        self._mark = (self._profiling_began, self._progress.done)

    def _tick(self) -> None:
        self._handle = self._loop.call_later(self._interval_s, self._tick)
        try:
            self._output.line(self.line())
        except OSError:
            # A closed pipe (``| head``) must not break the run: stop printing, and let
            # the end of the run deal with the pipe.
            self.stop()

    def line(self) -> str:
        """The line for now; moves the rate window on to now."""
        p = self._progress
        now = self._clock()
        if self._profiling_began is None:
            return (f"progress: starting (warm-up or prompt sizing), "
                    f"{p.warmup_done:,} warm-up requests done, {now - self._began:.1f} s")
        since, done_then = self._mark
        window = now - since
        rate = (p.done - done_then) / window if window > 0 else 0.0
        self._mark = (now, p.done)
        count = f"{p.done:,}" if p.total is None else f"{p.done:,}/{p.total:,}"
        elapsed = now - self._profiling_began
        clock = (f"{elapsed:.1f} s" if p.duration_s is None
                 else f"{elapsed:.1f}/{p.duration_s:g} s")
        return (f"progress: {count} requests, {rate:,.1f} req/s (last {window:.1f} s), "
                f"{p.errors:,} errors, {clock}")


def _number(value: float | None) -> str:
    return "N/A" if value is None else f"{value:,.2f}"


def _label(tag: str) -> str:
    info = metric_info(tag)
    return f"{info.header} ({info.unit})" if info.unit not in ("", "count") else info.header


def _rows(metrics: RunMetrics, distributions: Sequence[str],
          scalars: Sequence[str]) -> list[list[str]]:
    rows = []
    for tag in distributions:
        stats = metrics.distribution(tag)
        if stats is not None:
            rows.append([_label(tag), *(_number(getattr(stats.dist, s)) for s in STAT_COLUMNS)])
    for tag in scalars:
        scalar = metrics.scalar(tag)
        if scalar is not None:
            rows.append([_label(tag), _number(scalar.value), *("N/A",) * 6])
    return rows


def print_summary(output: Output, metrics: RunMetrics, artifact_dir: str,
                  status: str, reason: str | None,
                  thresholds: Sequence[ThresholdResult] = (),
                  server_notes: Sequence[str] = (), workers: Sequence[Any] = ()) -> None:
    """The end-of-run report: metrics, client health (per worker for a distributed run),
    telemetry, errors, what the server's own figures say (``server_notes``), thresholds,
    where the files are, and last the one-line verdict with the request counts."""
    for table in CONSOLE_TABLES:
        rows = _rows(metrics, *console_rows(table))
        if rows:
            output.table(_TITLES[table], ("Metric", *STAT_COLUMNS), rows)
    if metrics.by_endpoint:
        output.table("aiperf | Endpoints", _ENDPOINT_COLUMNS, [
            _endpoint_row(url, m) for url, m in metrics.by_endpoint])
    if metrics.sessions is not None:
        output.line(_sessions_line(metrics.sessions), label="sessions:")
    for item in metrics.errors:
        output.line(f"{item.error.type}: {item.error.message}",
                    label=f"{item.count} request(s) failed:", style="red")
    for worker in workers:
        output.line(worker.line(), label="worker:")
    if metrics.health.warning:
        output.line(metrics.health.warning + _busiest(workers), label="warning:",
                    style="yellow")
    for warning in metrics.warnings:
        output.line(warning, label="warning:", style="yellow")
    for note in _connection_notes(metrics):
        output.line(note, label="connections:")
    for note in server_notes:
        output.line(note, label="server:")
    if status != "complete":
        output.line(reason or "", label=f"run is {status}:", style="yellow")
    _print_thresholds(output, thresholds)
    output.line(f"Artifacts: {artifact_dir}")
    output.line(verdict(status, metrics), label="verdict:",
                style="green" if status == "complete" else "red")


_ENDPOINT_COLUMNS = ("Endpoint", "Requests", "Errors", "TTFT p50 (ms)", "TTFT p99 (ms)",
                     "Latency p50 (ms)", "Latency p99 (ms)", "Req/s")


def _endpoint_row(url: str, metrics: RunMetrics) -> list[str]:
    """One endpoint's requests, errors, TTFT and latency quantiles and throughput."""
    def quantile(tag: str, p: int) -> str:
        stats = metrics.distribution(tag)
        return "N/A" if stats is None else _number(stats.dist.percentile(p))

    rate = metrics.scalar("request_throughput")
    return [url, f"{metrics.profiling_count:,}", f"{metrics.error_count:,}",
            quantile("time_to_first_token", 50), quantile("time_to_first_token", 99),
            quantile("request_latency", 50), quantile("request_latency", 99),
            _number(None if rate is None else rate.value)]


def _sessions_line(sessions: Mapping[str, Any]) -> str:
    """``16 (0 unfinished), 3.0 turns and 1,234.56 ms each on average``."""
    return (f"{sessions['count']:,} ({sessions['unfinished']:,} unfinished), "
            f"{sessions['turns'].avg:,.1f} turns and {sessions['duration_ms'].avg:,.2f} ms "
            "each on average")


def _busiest(workers: Sequence[Any]) -> str:
    """Which worker of a distributed run the client bottleneck is likeliest at: the one
    whose event loop lagged most."""
    lagged = [w for w in workers if w.loop_lag_p99_ms is not None]
    if len(lagged) < 2:
        return ""
    worst = max(lagged, key=lambda w: w.loop_lag_p99_ms)
    return (f" (worst at worker {worst.index} on {worst.host}: event-loop lag p99 "
            f"{worst.loop_lag_p99_ms:.2f} ms)")


def verdict(status: str, metrics: RunMetrics) -> str:
    """``complete - 200 requests, 200 ok, 0 failed, 0 cancelled``: what happened, in counts."""
    return (f"{status} - {metrics.profiling_count} requests, {metrics.ok_count} ok, "
            f"{metrics.error_count} failed, {metrics.cancelled_count} cancelled")


def _print_thresholds(output: Output, results: Sequence[ThresholdResult]) -> None:
    """Each failing threshold with its measured value, or one line saying all passed."""
    failing = [r for r in results if not r.passed]
    for result in failing:
        output.line(result.describe(), label="threshold failed:", style="red")
    if results and not failing:
        output.line(f"all {len(results)} passed", label="thresholds:", style="green")


def _connection_notes(metrics: RunMetrics) -> list[str]:
    """What the client did about the server's connections, when it did anything."""
    health = metrics.health.connections
    notes = []
    if health.stale_connections_replaced:
        notes.append(f"{health.stale_connections_replaced} request(s) re-sent on a fresh "
                     "connection because the reused one had been closed by the server "
                     "(not errors; timed from the re-send)")
    if health.closed_at_keep_alive_max:
        notes.append(f"{health.closed_at_keep_alive_max} connection(s) closed at the "
                     "server's Keep-Alive max")
    if health.reuse_stopped_reason:
        notes.append(f"reuse stopped: {health.reuse_stopped_reason}")
    return notes
