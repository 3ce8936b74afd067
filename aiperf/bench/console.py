"""What a person sees while a run goes and when it ends.

A rich progress bar (requests done, errors, req/s, elapsed and ETA) that is shown only
on a terminal (or with ``--ui progress``), and a summary table in the reference tool's
metric order followed by the client's own health and the artifact directory.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from aiperf.bench.metrics import RunMetrics, metric_info
from aiperf.bench.output import Output
from aiperf.bench.records import RequestRecord
from aiperf.bench.thresholds import ThresholdResult

#: The reference's "LLM Metrics" rows, in its order: distributions, then scalars.
SUMMARY_DISTRIBUTIONS = (
    "time_to_first_token",
    "time_to_second_token",
    "time_to_first_output_token",
    "request_latency",
    "decode_duration",
    "inter_token_latency",
    "output_token_throughput_per_user",
    "e2e_output_token_throughput",
    "output_sequence_length",
    "input_sequence_length",
)
SUMMARY_SCALARS = (
    "output_token_throughput",
    "input_token_throughput",
    "request_throughput",
    "completed_request_count",
    "request_error_rate",
    "request_count",
    "error_request_count",
    "cancelled_request_count",
    "goodput",
    "good_request_fraction",
)
HEALTH_DISTRIBUTIONS = ("scheduling_lag", "event_loop_lag")
STAT_COLUMNS = ("avg", "min", "max", "p99", "p90", "p50", "std")


def show_progress(ui: str, output: Output) -> bool:
    """Whether to draw a progress bar: ``auto`` draws one only on a terminal."""
    return ui == "progress" or (ui == "auto" and output.is_terminal)


class RunProgress:
    """A live progress bar fed one record at a time (a no-op when switched off)."""

    def __init__(self, output: Output, enabled: bool, total: int | None,
                 duration_s: float | None) -> None:
        self.enabled = enabled
        self.total = total
        self.duration_s = duration_s
        self.done = 0
        self.errors = 0
        self._start = time.perf_counter()
        self._progress: Any = None
        self._task: Any = None
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]profiling"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[errors]} errors"),
                TextColumn("{task.fields[rate]:.1f} req/s"),
                TimeElapsedColumn(), TimeRemainingColumn(),
                console=output.console, transient=True,  # enabled: a RichOutput
            )
            self._task = self._progress.add_task("run", total=total, errors=0, rate=0.0)

    def __enter__(self) -> RunProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def on_record(self, record: RequestRecord) -> None:
        """Count one finished request (warm-up requests are not shown)."""
        if record.phase != "profiling":
            return
        self.done += 1
        # A request the user cancelled (Ctrl-C) is not an error of the server's.
        self.errors += 0 if record.ok or record.cancelled else 1
        if self._progress is not None:
            elapsed = max(time.perf_counter() - self._start, 1e-9)
            self._progress.update(self._task, completed=self.done, errors=self.errors,
                                  rate=self.done / elapsed)


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
                  thresholds: Sequence[ThresholdResult] = ()) -> None:
    """The end-of-run report: metrics, client health, errors, thresholds, where the files
    are, and last the one-line verdict with the request counts."""
    for title, distributions, scalars in (
        ("aiperf | LLM Metrics", SUMMARY_DISTRIBUTIONS, SUMMARY_SCALARS),
        ("aiperf | Client Health", HEALTH_DISTRIBUTIONS, ("achieved_request_rate",)),
    ):
        rows = _rows(metrics, distributions, scalars)
        if rows:
            output.table(title, ("Metric", *STAT_COLUMNS), rows)
    for item in metrics.errors:
        output.line(f"{item.error.type}: {item.error.message}",
                    label=f"{item.count} request(s) failed:", style="red")
    if metrics.health.warning:
        output.line(metrics.health.warning, label="warning:", style="yellow")
    for warning in metrics.warnings:
        output.line(warning, label="warning:", style="yellow")
    for note in _connection_notes(metrics):
        output.line(note, label="connections:")
    if status != "complete":
        output.line(reason or "", label=f"run is {status}:", style="yellow")
    _print_thresholds(output, thresholds)
    output.line(f"Artifacts: {artifact_dir}")
    output.line(verdict(status, metrics), label="verdict:",
                style="green" if status == "complete" else "red")


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
