"""A run's optional time series as DataFrames: the timeslice CSV and the GPU telemetry.

:func:`read_timeslices` and :func:`read_gpu` return None when the run did not export
them. Imported only by the plot command: it pulls in pandas.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from aiperf.artifacts.manifest import RunDir

__all__ = ["TIMESLICE_COLUMNS", "read_gpu", "read_timeslices"]

log = logging.getLogger("aiperf.plot")

_NS_PER_S = 1_000_000_000

TIMESLICE_COLUMNS = ("slice", "start_s", "end_s", "metric", "unit", "stat", "value")

_FIXED_TIMESLICES_CSV = "profile_export_aiperf_timeslices.csv"
_FIXED_GPU_TELEMETRY = "gpu_telemetry_export.jsonl"


def _optional_file(run: RunDir, role: str, fixed_name: str, prefixed_suffix: str) -> Path | None:
    """A run's optional export: by role in the manifest, then by the name a
    ``--profile-export-prefix`` gives it (``<prefix><suffix>``), then by the fixed name."""
    candidates = [name for name, file_role in run.manifest.files.items() if file_role == role]
    if run.manifest.export_names.prefix:
        stem = run.manifest.export_names.summary_json.removesuffix(".json")
        candidates.append(f"{stem}{prefixed_suffix}")
    candidates.append(fixed_name)
    for name in candidates:
        if (run.path / name).is_file():
            return run.path / name
    return None


def read_timeslices(run: RunDir) -> pd.DataFrame | None:
    """The tidy timeslice CSV as ``slice, start_s, end_s, metric, unit, stat, value``."""
    path = _optional_file(run, "timeslices_csv", _FIXED_TIMESLICES_CSV, "_timeslices.csv")
    if path is None:
        return None
    try:
        raw = pd.read_csv(path, dtype={"Metric": str, "Unit": str, "Stat": str},
                          keep_default_na=False)
    except (OSError, ValueError) as exc:  # pandas' parser errors are ValueErrors
        log.warning("%s: unreadable, timeslices left out (%s)", path, exc)
        return None
    missing = {"Timeslice", "Metric", "Unit", "Stat", "Value"} - set(raw.columns)
    if missing:
        log.warning("%s: no %s column, timeslices left out", path, ", ".join(sorted(missing)))
        return None
    slices = pd.to_numeric(raw["Timeslice"], errors="coerce")
    keep = slices.notna()
    raw, slices = raw[keep], slices[keep]
    frame = pd.DataFrame(
        {
            "slice": slices.astype("int64"),
            "start_s": _seconds_since_first_slice(raw, "Start_NS"),
            "end_s": _seconds_since_first_slice(raw, "End_NS"),
            "metric": raw["Metric"].astype(object),
            "unit": raw["Unit"].astype(object),
            "stat": raw["Stat"].astype(object),
            "value": pd.to_numeric(raw["Value"], errors="coerce").astype("float64"),
        }
    )
    return frame.reset_index(drop=True)[list(TIMESLICE_COLUMNS)]


def _seconds_since_first_slice(raw: pd.DataFrame, column: str) -> pd.Series:
    """Seconds since the first slice's start; NaN when the file has no such column."""
    if column not in raw.columns or "Start_NS" not in raw.columns:
        return pd.Series(math.nan, index=raw.index, dtype="float64")
    values = pd.to_numeric(raw[column], errors="coerce")
    first = pd.to_numeric(raw["Start_NS"], errors="coerce").min()
    # With whole columns of integers the subtraction is exact, before the float division.
    return ((values - first) / _NS_PER_S).astype("float64")


def read_gpu(run: RunDir, first_start_ns: int) -> pd.DataFrame | None:
    """GPU telemetry, one row per sample: the record's own fields plus its flattened
    ``telemetry_data``, and ``timestamp_s`` since the run's first request start."""
    path = _optional_file(run, "gpu_telemetry", _FIXED_GPU_TELEMETRY, "_gpu_telemetry.jsonl")
    if path is None:
        return None
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                rows.append(_flatten_sample(record))
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    if "timestamp_ns" in frame.columns:
        stamps = pd.to_numeric(frame["timestamp_ns"], errors="coerce")
        frame["timestamp_s"] = ((stamps - first_start_ns) / _NS_PER_S).astype("float64")
    else:
        frame["timestamp_s"] = math.nan
    return frame


def _flatten_sample(record: Mapping[str, Any]) -> dict[str, Any]:
    """A telemetry line's fields, with ``telemetry_data`` (nested mappings too) spread out."""
    row = {key: value for key, value in record.items() if key != "telemetry_data"}
    data = record.get("telemetry_data")
    if isinstance(data, Mapping):
        row.update(_flatten(data))
    return row


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in data.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{prefix}{key}_")
        else:
            yield f"{prefix}{key}", value


_FIXED_SERVER_SERIES = "server_metrics_export.jsonl"


def read_server_series(run: RunDir, first_start_ns: int) -> pd.DataFrame | None:
    """The server-metrics time series (``server_metrics_export.jsonl``), one row per
    scrape: ``endpoint_url``, ``timestamp_s`` since the run's first request start, and a
    column per series key (``vllm:num_requests_running{model_name="m"}``: a gauge's
    value, a counter's rate per second, a histogram's mean observation since the
    previous scrape). None when the run scraped no server."""
    path = _optional_file(run, "server_metrics_series", _FIXED_SERVER_SERIES,
                          "_server_metrics.jsonl")
    if path is None:
        return None
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            metrics = record.get("metrics") if isinstance(record, dict) else None
            if isinstance(metrics, Mapping) and isinstance(record.get("timestamp_ns"), int):
                rows.append({"timestamp_ns": record["timestamp_ns"],
                             "endpoint_url": record.get("endpoint_url"), **metrics})
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    stamps = pd.to_numeric(frame["timestamp_ns"], errors="coerce")
    frame["timestamp_s"] = ((stamps - first_start_ns) / _NS_PER_S).astype("float64")
    return frame
