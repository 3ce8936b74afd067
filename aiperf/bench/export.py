"""Write a run's artifact directory in NVIDIA AIPerf 0.13's formats, plus our manifest.

:func:`export_run` writes, each atomically (temp file + rename), in this order:

1. (the per-request JSONL, ``profile_export.jsonl``, is not written here: the record
   writer, :mod:`aiperf.bench.record_writer`, streamed it while the run went on, and
   the manifest lists it);
2. the summary JSON (``profile_export_aiperf.json``, reference schema 1.4);
3. the summary CSV (``profile_export_aiperf.csv``, the reference's sections);
4. with a slice duration, the timeslice CSV and JSON (``profile_export_aiperf_timeslices
   .csv`` / ``.json``: the summary JSON's name without ``.json``, plus ``_timeslices``);
5. ``resolved_config.yaml`` when given;
6. ``run.json``, our manifest;
7. ``.aiperf_results_ready.json``, the reference's "all files are there" marker, last.

The render functions are pure (they return text) so tests can compare them with the
reference fixtures without touching the disk. Layout decisions that follow the reference
exactly: key order of the summary and of each stat block, one key per metric tag at the
top level, ``{unit, avg}`` for run-level values, indent 2 without a final newline; CSV
rows sorted by tag, ``Header (unit)`` names with ``count``/``requests`` units hidden,
2-decimal floats, ``\\r\\n`` line ends, and the (empty) GPU section header.
"""

from __future__ import annotations

import csv
import io
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import orjson

import aiperf
from aiperf.artifacts.atomic import write_text_atomic
from aiperf.artifacts.manifest import (
    MANIFEST_FILE,
    READY_MARKER_FILE,
    REFERENCE_NAMES,
    RESOLVED_CONFIG_FILE,
    ExportNames,
    RecordCounts,
    RunIdentity,
    RunKind,
    RunManifest,
    Status,
    write_manifest,
)
from aiperf.bench.metrics import (
    RECORD_UNITS,
    MetricStats,
    RecordMetrics,
    RunMetrics,
    ScalarMetric,
    error_of,
)
from aiperf.bench.records import RequestError
from aiperf.bench.stats import PERCENTILES
from aiperf.bench.timeslices import Timeslice
from aiperf.metric_catalogue import declared_summary_tags

__all__ = [
    "SCHEMA_VERSION",
    "RunExport",
    "export_run",
    "new_benchmark_id",
    "record_line",
    "record_line_bytes",
    "render_summary_csv",
    "render_summary_json",
    "render_timeslices_csv",
    "render_timeslices_json",
    "timeslice_file_names",
]

#: The reference's summary schema version, which our summary follows.
SCHEMA_VERSION = "1.4"

#: Metric keys the reference declares on its summary model; they come first, in this
#: order, before the run facts. Every other metric follows the run facts. Each metric's
#: place here is declared in the metric catalogue (``Metric.declared``).
_DECLARED_TAGS = declared_summary_tags()

#: Statuses of a run that sent every request it meant to (``no_success``: all of them
#: failed, which is the run's data, not a stop): the reference's marker and summary call
#: such a run complete; run.json says more.
_FINISHED = frozenset({"complete", "no_success"})

#: CSV columns of the distribution section, in the reference's order.
_CSV_STATS = ("avg", "min", "max", "sum", *(f"p{p}" for p in PERCENTILES), "std")
_CSV_GPU_HEADER = (
    "Endpoint", "GPU_Index", "GPU_Name", "GPU_UUID", "Platform", "Metric", *_CSV_STATS,
)
#: Units the reference leaves out of a CSV metric name.
_CSV_HIDDEN_UNITS = frozenset({"count", "requests"})
#: Header of the tidy ("long") timeslice CSV: one row per slice, metric and statistic.
_TIMESLICE_CSV_HEADER = ("Timeslice", "Start_NS", "End_NS", "Metric", "Unit", "Stat", "Value")


@attrs.frozen
class RunExport:
    """Everything the exporters need about a run besides its metrics.

    ``input_config`` is the resolved configuration as plain data with secrets already
    redacted; ``resolved_config_yaml`` the text of ``resolved_config.yaml`` (rendered by
    the caller). ``extra_files`` maps more file names to ``(text, role)``; they are
    written the same way and listed in the manifest. ``status`` is ``partial`` when the
    run stopped early (say why in ``partial_reason``; set ``was_cancelled`` when the user
    interrupted it). The timeslice CSV and JSON are written when the metrics hold
    timeslices (``--slice-duration``).
    """

    benchmark_id: str
    input_config: Mapping[str, Any]
    names: ExportNames = REFERENCE_NAMES
    resolved_config_yaml: str | None = None
    cli_command: str | None = None
    status: Status = "complete"
    partial_reason: str | None = None
    was_cancelled: bool = False
    kind: RunKind = "single"
    identity: RunIdentity = RunIdentity()
    aiperf_version: str = aiperf.__version__
    extra_files: Mapping[str, tuple[str, str]] = attrs.field(factory=dict)
    #: How the synthetic prompts were sized, for run.json (None: prompts from a file).
    prompt_sizing: Mapping[str, Any] | None = None
    #: A distributed run's workers (:meth:`aiperf.scale.driver.WorkerReport.to_json`).
    workers: tuple[Mapping[str, Any], ...] = ()
    #: The client's event loop, asked and used, for run.json (None: not known).
    event_loop: Mapping[str, Any] | None = None
    #: The run's thresholds as run.json lists them (``ThresholdResult.to_json``).
    thresholds: Sequence[Mapping[str, Any]] = ()


def new_benchmark_id() -> str:
    """A fresh benchmark id: 12 hex digits, like the reference's."""
    return uuid.uuid4().hex[:12]


def timeslice_file_names(names: ExportNames) -> tuple[str, str]:
    """The names of the timeslice CSV and JSON: the summary JSON's name without ``.json``,
    plus ``_timeslices.csv`` / ``_timeslices.json`` (``--profile-export-prefix foo`` gives
    ``foo_timeslices.csv``)."""
    stem = names.summary_json.removesuffix(".json")
    return f"{stem}_timeslices.csv", f"{stem}_timeslices.json"


def export_run(run_dir: str | Path, metrics: RunMetrics, run: RunExport) -> RunManifest:
    """Write every artifact of a run into ``run_dir`` (created if needed); return the manifest.

    ``ValueError``, before any file is written, for an extra file that would clash with
    another artifact.
    """
    directory = Path(run_dir)
    names = run.names
    # Checked before anything is written, so a bad name cannot leave half an export.
    ours = {names.records, names.summary_json, names.summary_csv, RESOLVED_CONFIG_FILE}
    if metrics.timeslices is not None:
        ours.update(timeslice_file_names(names))
    for name in run.extra_files:
        _check_extra_file(name, ours)
    files: dict[str, str] = {}

    # The JSONL was streamed while the run went on (aiperf.bench.record_writer).
    if (directory / names.records).is_file():
        files[names.records] = "records"
    write_text_atomic(directory / names.summary_json, render_summary_json(metrics, run))
    files[names.summary_json] = "summary_json"
    write_text_atomic(directory / names.summary_csv, render_summary_csv(metrics))
    files[names.summary_csv] = "summary_csv"
    timeslices = metrics.timeslices
    if timeslices:
        csv_name, json_name = timeslice_file_names(names)
        write_text_atomic(directory / csv_name, render_timeslices_csv(timeslices))
        files[csv_name] = "timeslices_csv"
        write_text_atomic(directory / json_name, render_timeslices_json(timeslices))
        files[json_name] = "timeslices_json"
    if run.resolved_config_yaml is not None:
        write_text_atomic(directory / RESOLVED_CONFIG_FILE, run.resolved_config_yaml)
        files[RESOLVED_CONFIG_FILE] = "resolved_config"
    for name, (text, role) in run.extra_files.items():
        write_text_atomic(directory / name, text)
        files[name] = role
    files[READY_MARKER_FILE] = "ready_marker"

    manifest = RunManifest(
        kind=run.kind,
        status=run.status,
        partial_reason=run.partial_reason if run.status != "complete" else None,
        benchmark_id=run.benchmark_id,
        aiperf_version=run.aiperf_version,
        started=_iso_with_offset(metrics.facts.start_wall_ns),
        ended=_iso_with_offset(metrics.facts.end_wall_ns),
        identity=run.identity,
        record_counts=RecordCounts(
            profiling=metrics.profiling_count,
            successful=metrics.ok_count,
            failed=metrics.error_count,
            warmup=metrics.warmup_count,
            cancelled=metrics.cancelled_count,
        ),
        export_names=names,
        files=files,
        prompt_sizing=run.prompt_sizing,
        workers=run.workers,
        thresholds=tuple(run.thresholds),
        event_loop=run.event_loop,
    )
    write_manifest(directory, manifest)
    partial = run.status not in _FINISHED
    marker = {"ready": True, "was_cancelled": run.was_cancelled, "partial": partial}
    write_text_atomic(directory / READY_MARKER_FILE, json.dumps(marker, separators=(",", ":")))
    return manifest


def _check_extra_file(name: str, taken: set[str]) -> None:
    """An extra file must be a plain name that no other artifact uses."""
    reserved = {*taken, MANIFEST_FILE, READY_MARKER_FILE}
    if not name or Path(name).name != name or name in (".", ".."):
        msg = f"extra artifact {name!r} must be a plain file name"
        raise ValueError(msg)
    if name in reserved:
        msg = f"extra artifact {name!r} would overwrite another artifact of the run"
        raise ValueError(msg)


# --------------------------------------------------------------------------- JSONL


def record_line(item: RecordMetrics) -> str:
    """One request's JSONL line, newline included: what the record writer streams into
    the run's JSONL export as the request finishes."""
    return record_line_bytes(item).decode("utf-8")


def record_line_bytes(item: RecordMetrics) -> bytes:
    """:func:`record_line` as UTF-8 bytes, as the record writer wants it.

    orjson writes the same keys and values as ``json.dumps`` (compact, UTF-8) at a tenth
    of its cost per request; only a float's spelling can differ (``1e-5`` for ``1e-05``).
    A list value that is not finite (never met: gaps between clock readings) is null.
    """
    return orjson.dumps(_record_json(item), option=orjson.OPT_APPEND_NEWLINE)


def _record_json(item: RecordMetrics) -> dict[str, Any]:
    record = item.record

    def wall(perf_ns: int) -> int:
        # Wall-clock instant of a perf_counter reading, anchored at the send.
        return record.start_wall_ns + (perf_ns - record.start_perf_ns)

    metadata: dict[str, Any] = {
        "session_num": record.index,
        "x_request_id": record.x_request_id,
        # The reference's "credit issued" is when the scheduler released the request:
        # our intended send time.
        "credit_issued_ns": wall(record.intended_perf_ns),
        "request_start_ns": record.start_wall_ns,
    }
    if record.ack_perf_ns is not None:
        metadata["request_ack_ns"] = wall(record.ack_perf_ns)
    metadata["request_end_ns"] = record.end_wall_ns
    metadata["benchmark_phase"] = record.phase
    # The index of the profiling phase (not of the request): a run has one, number 0.
    metadata["profiling_index"] = 0
    metadata["phase_name"] = record.phase
    metadata["phase_kind"] = record.phase
    metadata["was_cancelled"] = record.cancelled
    if record.cancelled:
        metadata["cancellation_time_ns"] = record.end_wall_ns
    if record.session is not None:  # the reference's names for a conversation's turn
        metadata["conversation_id"] = record.session
        metadata["turn_index"] = record.turn
    if record.endpoint is not None:  # one of several endpoints (a repeated --url)
        metadata["endpoint_url"] = record.endpoint

    out: dict[str, Any] = {
        "metadata": metadata,
        "metrics": {
            tag: {"value": list(value) if value.__class__ is tuple else _finite(value),
                  "unit": RECORD_UNITS[tag]}
            for tag, value in item.by_tag.items()
        },
    }
    if not record.ok:
        out["error"] = _error_json(error_of(record))
    return out


# --------------------------------------------------------------------------- summary JSON


def render_summary_json(metrics: RunMetrics, run: RunExport) -> str:
    """The summary JSON in the reference's layout, with our ``statistics`` and
    ``client_health`` appended."""
    blocks = {d.tag: _distribution_json(d) for d in metrics.distributions}
    blocks.update({s.tag: _scalar_json(s) for s in metrics.scalars})

    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "aiperf_version": run.aiperf_version,
        "benchmark_id": run.benchmark_id,
    }
    for tag in _DECLARED_TAGS:
        if tag in blocks:
            out[tag] = blocks.pop(tag)
    out["input_config"] = run.input_config
    run_info: dict[str, Any] = {
        "benchmark_id": run.benchmark_id,
        "trial": run.identity.trial if run.identity.trial is not None else 0,
    }
    if run.cli_command is not None:
        run_info["cli_command"] = run.cli_command
    out["run_info"] = run_info
    out["was_cancelled"] = run.was_cancelled
    out["is_complete"] = run.status in _FINISHED
    if run.status not in _FINISHED and run.partial_reason:
        out["incomplete_reason"] = run.partial_reason
    out["error_summary"] = [
        {"error_details": _error_json(e.error), "count": e.count} for e in metrics.errors
    ]
    out["start_time"] = _naive_local_iso(metrics.facts.start_wall_ns)
    out["end_time"] = _naive_local_iso(metrics.facts.end_wall_ns)
    out.update(blocks)  # the remaining metrics, in catalogue order
    out["statistics"] = dict(metrics.statistics)
    out["client_health"] = _health_json(metrics)
    if metrics.sessions is not None or metrics.by_turn:
        out["sessions"] = _sessions_json(metrics)
    if metrics.by_endpoint:
        out["endpoints"] = [_endpoint_json(url, m) for url, m in metrics.by_endpoint]
    out["warnings"] = list(metrics.warnings)
    # default=str: an odd value in input_config must not lose a finished benchmark.
    return json.dumps(_jsonable(out), indent=2, ensure_ascii=False, allow_nan=False, default=str)


def _sessions_json(metrics: RunMetrics) -> dict[str, Any]:
    """The sessions: how many, how many ended early, turns per session and duration
    (ms, first send to last end), then the means by turn index."""
    out: dict[str, Any] = {}
    sessions = metrics.sessions
    if sessions is not None:
        out["count"] = sessions["count"]
        out["unfinished"] = sessions["unfinished"]
        out["turns"] = _summary_json(sessions["turns"], "turns")
        out["duration"] = _summary_json(sessions["duration_ms"], "ms")
    out["by_turn"] = [dict(row) for row in metrics.by_turn]
    return out


def _endpoint_json(url: str, metrics: RunMetrics) -> dict[str, Any]:
    """One endpoint's share of a run with several: its requests' counts, errors and
    metrics, in the summary's own layout."""
    out: dict[str, Any] = {"url": url, "error_summary": [
        {"error_details": _error_json(e.error), "count": e.count} for e in metrics.errors]}
    out.update({d.tag: _distribution_json(d) for d in metrics.distributions
                if d.tag != "event_loop_lag"})
    out.update({s.tag: _scalar_json(s) for s in metrics.scalars})
    return out


def _summary_json(dist: Any, unit: str) -> dict[str, Any]:
    block: dict[str, Any] = {"unit": unit, "avg": dist.avg}
    block.update({f"p{p}": dist.percentile(p) for p in PERCENTILES})
    block.update({"min": dist.min, "max": dist.max, "std": dist.std, "count": dist.count})
    return block


def _error_json(error: RequestError) -> dict[str, Any]:
    return {"code": error.code, "type": error.type, "message": error.message}


def _distribution_json(stats: MetricStats) -> dict[str, Any]:
    d = stats.dist
    block: dict[str, Any] = {"unit": stats.unit, "avg": d.avg}
    block.update({f"p{p}": d.percentile(p) for p in PERCENTILES})
    block.update({"min": d.min, "max": d.max, "std": d.std, "count": d.count, "sum": d.sum})
    return block


def _scalar_json(scalar: ScalarMetric) -> dict[str, Any]:
    return {"unit": scalar.unit, "avg": scalar.value}


def _health_json(metrics: RunMetrics) -> dict[str, Any]:
    health = metrics.health
    # The requested/achieved pair describes a rate-driven run; a closed-loop run has neither.
    rates = {
        "requested_request_rate": health.requested_request_rate,
        "achieved_request_rate": health.achieved_request_rate,
        "rate_share": health.rate_share,
    } if health.requested_request_rate is not None else {}
    return {
        "client_bound": health.client_bound,
        "warning": health.warning,
        "scheduling_lag_avg_ms": health.scheduling_lag_avg_ms,
        "scheduling_lag_p99_ms": health.scheduling_lag_p99_ms,
        "lag_share": health.lag_share,
        "event_loop_lag_avg_ms": health.event_loop_lag_avg_ms,
        "event_loop_lag_p99_ms": health.event_loop_lag_p99_ms,
        "loop_lag_share": health.loop_lag_share,
        "connection_setup_avg_ms": health.connection_setup_avg_ms,
        "client_cpu_fraction": health.client_cpu_fraction,
        **rates,
        "thresholds": attrs.asdict(health.thresholds),
        "connections": health.connections.to_json(),
    }


def _jsonable(value: Any) -> Any:
    """Plain JSON data: mappings become dicts, tuples lists, NaN and infinities null."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return _finite(value)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _naive_local_iso(wall_ns: int) -> str:
    """Local wall-clock time without an offset, as the reference writes start/end times."""
    return _local_datetime(wall_ns).replace(tzinfo=None).isoformat(timespec="microseconds")


def _iso_with_offset(wall_ns: int) -> str:
    """Local wall-clock time with its UTC offset (our manifest is unambiguous)."""
    return _local_datetime(wall_ns).isoformat(timespec="microseconds")


def _local_datetime(wall_ns: int) -> datetime:
    # Split in integers: a float of nanoseconds since 1970 cannot hold microseconds exactly.
    seconds, rest_ns = divmod(wall_ns, 1_000_000_000)
    return (datetime.fromtimestamp(seconds) + timedelta(microseconds=rest_ns // 1000)).astimezone()


# --------------------------------------------------------------------------- summary CSV


def render_summary_csv(metrics: RunMetrics) -> str:
    """The summary CSV: distributions, a blank line, run-level values, then the (empty)
    GPU telemetry section header, exactly as the reference lays them out."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # the csv module's default "\r\n", as in the reference
    distributions = sorted(metrics.distributions, key=lambda d: d.tag)
    scalars = sorted(metrics.scalars, key=lambda s: s.tag)
    if distributions:
        writer.writerow(["Metric", *_CSV_STATS])
        for stats in distributions:
            d = stats.dist
            values = (getattr(d, name) for name in _CSV_STATS)
            writer.writerow([_csv_name(stats.info.header, stats.unit), *map(_csv_number, values)])
        if scalars:
            writer.writerow([])
    if scalars:
        writer.writerow(["Metric", "Value"])
        for scalar in scalars:
            writer.writerow([_csv_name(scalar.info.header, scalar.unit), _csv_number(scalar.value)])
    # We collect no GPU telemetry; the reference still writes the section header then.
    writer.writerow([])
    writer.writerow([])
    writer.writerow(_CSV_GPU_HEADER)
    return buffer.getvalue()


def _csv_name(header: str, unit: str) -> str:
    return header if unit.lower() in _CSV_HIDDEN_UNITS else f"{header} ({unit})"


def _csv_number(value: float | int | None) -> str:
    """The reference's CSV number format: integers bare, reals with 2 decimals."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{value:.2f}"


# --------------------------------------------------------------------------- timeslices


def render_timeslices_json(timeslices: Sequence[Timeslice]) -> str:
    """The timeslice JSON: ``{"timeslices": [{start_ns, end_ns, is_complete, <tag>: {...}}]}``.

    Metric blocks are the summary's (``{unit, avg, p1..p99, min, max, std, count, sum}``
    for distributions, ``{unit, avg}`` for window-level values), tags sorted as in the CSV.
    ``is_complete`` is written for every slice (AIPerf 0.13 writes it only when false).
    """
    out = []
    for piece in timeslices:
        entry: dict[str, Any] = {
            "start_ns": piece.start_ns,
            "end_ns": piece.end_ns,
            "is_complete": piece.is_complete,
        }
        blocks = {d.tag: _distribution_json(d) for d in piece.distributions}
        blocks.update({s.tag: _scalar_json(s) for s in piece.scalars})
        entry.update(sorted(blocks.items()))
        out.append(entry)
    return json.dumps(_jsonable({"timeslices": out}), indent=2, ensure_ascii=False,
                      allow_nan=False)


def render_timeslices_csv(timeslices: Sequence[Timeslice]) -> str:
    """The timeslice CSV in the reference's tidy form,
    ``Timeslice,Start_NS,End_NS,Metric,Unit,Stat,Value``: one row per slice, metric
    (display header, tags sorted) and statistic. Distributions give the summary CSV's
    statistics in its order (avg, min, max, sum, p1..p99, std); window-level values one
    ``avg`` row. Numbers as in the summary CSV; missing values leave no row. Lines end in
    ``\\r\\n`` and fields are quoted only when needed, as the csv module writes them (the
    rows are joined by hand: a long run with short slices has a million of them)."""
    lines = [",".join(_TIMESLICE_CSV_HEADER), "\r\n"]
    for piece in timeslices:
        entries = [
            (d.tag, d.info.header, d.unit, [(name, getattr(d.dist, name)) for name in _CSV_STATS])
            for d in piece.distributions
        ]
        entries += [(s.tag, s.info.header, s.unit, [("avg", s.value)]) for s in piece.scalars]
        for _, header, unit, stats in sorted(entries, key=lambda entry: entry[0]):
            prefix = (
                f"{piece.index},{piece.start_ns},{piece.end_ns},"
                f"{_csv_field(header)},{_csv_field(unit)},"
            )
            for stat, value in stats:
                text = _csv_number(value)
                if text:
                    lines += (prefix, stat, ",", text, "\r\n")
    return "".join(lines)


def _csv_field(text: str) -> str:
    """A CSV field quoted the way ``csv.writer`` does by default (only when it must be)."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text
