"""Write the server-metrics exports beside the request records.

- ``server_metrics_export.json`` and ``.csv``: the structure of NVIDIA AIPerf 0.13's
  files of the same names (``schema_version`` 1.1 in the JSON, 1.0 in the CSV comment,
  as there), plus a histogram table in the CSV (count, sum, avg, p50, p90, p95, p99).
  The CSV's ``Metric`` column carries a series' labels as ``name{a="1"}``.
- ``server_metrics_export.jsonl``: our time series, one JSON object per scrape:
  ``{"timestamp_ns": int, "endpoint_url": str, "metrics": {series: value}}`` where a
  series is ``name`` or ``name{label="v",...}``, a gauge's value is its value and a
  counter's is its rate per second since the previous scrape (the first scrape of an
  endpoint has no counter rates).

Every file is written atomically, and every URL in them has its user-info redacted.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from aiperf.artifacts.atomic import write_text_atomic
from aiperf.telemetry.prometheus import Scrape
from aiperf.telemetry.scraper import FetchStats, redact
from aiperf.telemetry.server_summary import (
    GAUGE_STATS,
    HISTOGRAM_QUANTILES,
    summarise,
    time_series,
)

__all__ = ["CSV_NAME", "JSONL_NAME", "JSON_NAME", "SCHEMA_VERSION", "ServerMetricsRun",
           "export_csv", "export_document", "export_jsonl_lines", "write_exports"]

JSON_NAME = "server_metrics_export.json"
CSV_NAME = "server_metrics_export.csv"
JSONL_NAME = "server_metrics_export.jsonl"
SCHEMA_VERSION = "1.1"
CSV_SCHEMA_VERSION = "1.0"

_COUNTER_COLUMNS = ("total", "rate", "rate_avg", "rate_min", "rate_max", "rate_std")
_HISTOGRAM_COLUMNS = ("count", "sum", "avg", *HISTOGRAM_QUANTILES)


@attrs.frozen
class ServerMetricsRun:
    """What the scraper gathered: the configured URLs, each URL's scrapes and fetch
    statistics, and the profiling window (wall clock, ns)."""

    urls: tuple[str, ...]
    scrapes: Mapping[str, Sequence[Scrape]]
    fetch_stats: Mapping[str, FetchStats]
    start_ns: int
    end_ns: int


def _version() -> str:
    import aiperf

    return aiperf.__version__


def _iso(ns: int) -> str:
    """Local wall-clock time, ISO 8601 without zone, as the reference writes it."""
    return datetime.datetime.fromtimestamp(ns / 1e9).isoformat()  # noqa: DTZ006


def _endpoint_info(stats: FetchStats) -> dict[str, Any]:
    first, last = stats.first_update_ns, stats.last_update_ns
    return {
        "total_fetches": stats.total_fetches,
        "first_fetch_ns": stats.first_fetch_ns,
        "last_fetch_ns": stats.last_fetch_ns,
        "avg_fetch_latency_ms": stats.avg_fetch_latency_ms,
        "unique_updates": stats.unique_updates,
        "first_update_ns": first,
        "last_update_ns": last,
        "duration_seconds": (last - first) / 1e9 if first is not None and last is not None
        else None,
        "avg_update_interval_ms": stats.avg_update_interval_ms,
        "median_update_interval_ms": stats.median_update_interval_ms,
    }


def export_document(run: ServerMetricsRun, benchmark_id: str,
                    input_config: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON export as a dict (``input_config`` is written as given)."""
    successful = [u for u in run.urls if run.scrapes.get(u)]
    metrics: dict[str, Any] = {}
    for url in successful:
        for name, summary in summarise(run.scrapes[url], run.start_ns, run.end_ns).items():
            entry = metrics.setdefault(name, {"type": summary.type,
                                              "description": summary.description})
            if summary.unit:
                entry["unit"] = summary.unit
            series = entry.setdefault("series", [])
            for s in summary.series:
                item: dict[str, Any] = {"endpoint_url": redact(url)}
                if s.labels:
                    item["labels"] = dict(s.labels)
                item["stats"] = dict(s.stats)
                series.append(item)
    return {
        "schema_version": SCHEMA_VERSION,
        "aiperf_version": _version(),
        "benchmark_id": benchmark_id,
        "summary": {
            "endpoints_configured": [redact(u) for u in run.urls],
            "endpoints_successful": [redact(u) for u in successful],
            "start_time": _iso(run.start_ns),
            "end_time": _iso(run.end_ns),
            "endpoint_info": {redact(u): _endpoint_info(run.fetch_stats[u])
                              for u in successful if u in run.fetch_stats},
            "phase_time_ranges": {"profiling": {"start_ns": run.start_ns,
                                                "end_ns": run.end_ns}},
        },
        "metrics_phase": "profiling",
        "metrics": dict(sorted(metrics.items())),
        "input_config": dict(input_config),
    }


def _host(url: str) -> str:
    """``http://user:pw@host:8000/metrics`` -> ``host:8000`` (the CSV's Endpoint)."""
    return urlsplit(url).netloc.rpartition("@")[2]


def _metric(name: str, labels: Mapping[str, str] | None) -> str:
    if not labels:
        return name
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _number(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else ""


def export_csv(document: Mapping[str, Any]) -> str:
    """The CSV export of a document from :func:`export_document`: comment lines, then one
    table per type (gauge, counter, histogram) that has rows, separated by blank lines."""
    header = (f"# AIPerf Server Metrics Export (CSV)\n"
              f"# aiperf_version: {document['aiperf_version']}\n"
              f"# schema_version: {CSV_SCHEMA_VERSION}\n"
              f"# benchmark_id: {document['benchmark_id']}\n"
              "# Note: Same benchmark_id and version appear in JSON and Parquet exports\n"
              "#\n")
    tables = []
    for type_, columns in (("gauge", GAUGE_STATS), ("counter", _COUNTER_COLUMNS),
                           ("histogram", _HISTOGRAM_COLUMNS)):
        rows = []
        for name, entry in document["metrics"].items():
            if entry["type"] != type_:
                continue
            for s in entry["series"]:
                rows.append([_host(s["endpoint_url"]), type_, _metric(name, s.get("labels")),
                             entry.get("unit", ""),
                             *(_number(s["stats"].get(c)) for c in columns),
                             entry["description"]])
        if rows:
            buffer = io.StringIO()
            writer = csv.writer(buffer)  # "\r\n" rows, as the reference's csv module writes
            writer.writerow(["Endpoint", "Type", "Metric", "Unit", *columns, "Description"])
            writer.writerows(rows)
            tables.append(buffer.getvalue())
    return header + "\r\n".join(tables)


def export_jsonl_lines(run: ServerMetricsRun) -> Iterator[str]:
    """The JSONL export, one line per scrape, endpoint by endpoint, oldest first."""
    for url in run.urls:
        shown = redact(url)
        for point in time_series(run.scrapes.get(url, ())):
            yield json.dumps({"timestamp_ns": point.timestamp_ns, "endpoint_url": shown,
                              "metrics": dict(point.values)}, allow_nan=False) + "\n"


def export_texts(run: ServerMetricsRun, benchmark_id: str,
                 input_config: Mapping[str, Any]) -> dict[str, str]:
    """The JSON, CSV and JSONL exports' texts, by file name."""
    document = export_document(run, benchmark_id, input_config)
    return {JSON_NAME: json.dumps(document, indent=2, allow_nan=False) + "\n",
            CSV_NAME: export_csv(document),
            JSONL_NAME: "".join(export_jsonl_lines(run))}


def write_exports(directory: Path, run: ServerMetricsRun, benchmark_id: str,
                  input_config: Mapping[str, Any]) -> list[Path]:
    """Write the JSON, CSV and JSONL exports into ``directory``; return their paths."""
    paths = []
    for name, text in export_texts(run, benchmark_id, input_config).items():
        write_text_atomic(directory / name, text)
        paths.append(directory / name)
    return paths
