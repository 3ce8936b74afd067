"""A run's exports as pandas tables: per-request records, timeslices, GPU telemetry.

:func:`load_run` reads one run directory (ours or NVIDIA AIPerf 0.13's) into a
:class:`LoadedRun`; :func:`runs_table` puts the summaries of several runs side by side.
Imported only by the plot command: it pulls in pandas.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import Any, Literal, TypeGuard

import attrs
import pandas as pd

from aiperf.artifacts.manifest import RunDir
from aiperf.artifacts.names import SWEEP_DIR, SWEEP_JSON

__all__ = [
    "REQUEST_COLUMNS",
    "SUMMARY_STATS",
    "TIMESLICE_COLUMNS",
    "LoadedRun",
    "NoData",
    "load_run",
    "runs_table",
]

log = logging.getLogger("aiperf.plot")

_NS_PER_S = 1_000_000_000

#: ``requests`` float columns and the record metric tag each comes from.
_METRIC_COLUMNS = {
    "ttft_ms": "time_to_first_token",
    "ttst_ms": "time_to_second_token",
    "itl_ms": "inter_token_latency",
    "latency_ms": "request_latency",
    "isl": "input_sequence_length",
    "osl": "output_sequence_length",
    "per_user_tps": "output_token_throughput_per_user",
}
REQUEST_COLUMNS = (
    "request_number", "start_ns", "end_ns", "start_s", "end_s",
    *_METRIC_COLUMNS, "ok", "error_type",
)
TIMESLICE_COLUMNS = ("slice", "start_s", "end_s", "metric", "unit", "stat", "value")
#: The summary statistics that become ``runs_table`` columns, in column order.
SUMMARY_STATS = (
    "avg", "min", "max", "std", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99",
)
_RUN_COLUMNS = ("run_name", "model", "concurrency", "request_rate", "trial", "cell", "status",
                "isl", "osl", "sla_pass", "degraded", "degradation_threshold")

#: A compact JSONL record (ours, and AIPerf 0.13's orjson output) starts with its
#: metadata object, and the metrics object follows it.
_COMPACT_START = '{"metadata":{'
_COMPACT_METADATA_END = '},"metrics":{'
#: Each wanted metric's (tag, key) in a compact record: ``"<tag>":{"value":<number>``.
_COMPACT_METRIC_KEYS = tuple((tag, f'"{tag}":{{"value":') for tag in _METRIC_COLUMNS.values())
#: The text of a JSON scalar inside a flat compact object: up to the next "," or "}".
_COMPACT_SCALAR = re.compile(r"[^,}]*")
#: A JSON string with no escapes and no separators in it.
_PLAIN_STRING = re.compile(r'"[^"\\,}]*"')

_FIXED_TIMESLICES_CSV = "profile_export_aiperf_timeslices.csv"
_FIXED_GPU_TELEMETRY = "gpu_telemetry_export.jsonl"


class NoData(Exception):
    """Nothing to plot (e.g. zero successful requests); the message says which run and why."""


@attrs.frozen(eq=False)  # eq=False: comparing or hashing DataFrames has no meaning here
class LoadedRun:
    """One run's data, ready to plot.

    ``requests`` has the columns of :data:`REQUEST_COLUMNS`, one row per profiling
    request in start order, failed ones included (``ok`` False). ``timeslices`` and
    ``gpu`` are None when the run did not export them. The remaining fields come from
    the summary's ``input_config`` (ours or the reference's) and are None when unknown.
    """

    name: str
    run: RunDir
    requests: pd.DataFrame
    summary: Mapping[str, Any]
    timeslices: pd.DataFrame | None
    gpu: pd.DataFrame | None
    model: str | None
    concurrency: int | None
    request_rate: float | None
    streaming: bool | None
    slice_duration_s: float | None


def load_run(run: RunDir, name: str) -> LoadedRun:
    """Load ``run`` (named ``name`` in messages and tables).

    :class:`NoData` when the run has no per-request records file, its summary JSON is
    unreadable, or it holds no successful profiling request.
    """
    records_path = run.records_path
    if not records_path.is_file():
        raise NoData(f"{name}: no per-request records ({records_path} is missing)")
    summary = _read_summary(run, name)
    requests = _read_requests(records_path)
    if not len(requests):
        raise NoData(f"{name}: no profiling requests in {records_path}")
    if not requests["ok"].any():
        raise NoData(f"{name}: no successful requests ({len(requests)} failed)")
    first_start_ns = int(requests["start_ns"].iloc[0])
    config = summary.get("input_config")
    settings = _settings(config if isinstance(config, Mapping) else {})
    return LoadedRun(
        name=name,
        run=run,
        requests=requests,
        summary=summary,
        timeslices=_read_timeslices(run),
        gpu=_read_gpu(run, first_start_ns),
        **settings,
    )


def runs_table(runs: Sequence[LoadedRun]) -> pd.DataFrame:
    """One row per run: its identity and settings, then ``<tag>_<stat>`` for every summary
    metric with statistics (``time_to_first_token_p50``, ``request_throughput_avg``).

    A metric missing from some run is NaN there. Metric columns follow the order in which
    the runs' summaries first list them.
    """
    rows: list[dict[str, Any]] = []
    metric_columns: dict[str, None] = {}  # an ordered set
    for loaded in runs:
        manifest = loaded.run.manifest
        row: dict[str, Any] = {
            "run_name": loaded.name,
            "model": loaded.model,
            "concurrency": loaded.concurrency,
            "request_rate": loaded.request_rate,
            "trial": manifest.identity.trial,
            "cell": manifest.identity.cell,
            "status": manifest.status,
            **_lengths(loaded.summary.get("input_config")),
            "sla_pass": _verdict(loaded),
            "degraded": _degraded(loaded),
            "degradation_threshold": _degradation_threshold(loaded.summary.get("input_config")),
        }
        for tag, entry in loaded.summary.items():
            if not isinstance(entry, Mapping):
                continue
            for stat in SUMMARY_STATS:
                value = entry.get(stat)
                if _is_number(value):
                    column = f"{tag}_{stat}"
                    row[column] = float(value)
                    metric_columns[column] = None
        rows.append(row)
    return pd.DataFrame(rows, columns=[*_RUN_COLUMNS, *metric_columns])


# --------------------------------------------------------------------------- requests


def _read_requests(path: Path) -> pd.DataFrame:
    """The profiling records of a JSONL export as the ``requests`` table.

    Built column by column in plain lists and turned into a DataFrame once: a DataFrame
    per record, or ``pd.json_normalize``, is an order of magnitude slower on 100k records.
    """
    starts: list[int] = []
    ends: list[int] = []
    metric_values: list[Mapping[str, float]] = []
    errors: list[Any] = []
    corrupt = 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            request = _read_record(line)
            if request is None:
                corrupt += bool(line.strip())  # blank lines are allowed
            elif request is not _OTHER_PHASE:
                start, end, values, error = request
                starts.append(start)
                ends.append(end)
                metric_values.append(values)
                errors.append(error)
    if corrupt:
        log.warning("%s: skipped %d corrupt line(s)", path, corrupt)

    frame = pd.DataFrame(
        {
            "start_ns": pd.Series(starts, dtype="int64"),
            "end_ns": pd.Series(ends, dtype="int64"),
            **{
                column: _floats([values.get(tag) for values in metric_values])
                for column, tag in _METRIC_COLUMNS.items()
            },
            "ok": pd.Series([error is None for error in errors], dtype="bool"),
            # object, not pandas' string dtype, so that "no error" stays None
            "error_type": pd.Series(
                [None if error is None else _error_type(error) for error in errors],
                dtype="object",
            ),
        }
    )
    frame = frame.sort_values("start_ns", kind="stable", ignore_index=True)
    first = int(frame["start_ns"].iloc[0]) if len(frame) else 0
    frame.insert(0, "request_number", pd.Series(range(len(frame)), dtype="int64"))
    # Differences in integer ns first: float64 cannot hold epoch nanoseconds exactly.
    frame.insert(3, "start_s", (frame["start_ns"] - first) / _NS_PER_S)
    frame.insert(4, "end_s", (frame["end_ns"] - first) / _NS_PER_S)
    return frame[list(REQUEST_COLUMNS)]


#: A profiling request read from a record: start and end (ns), the wanted metric values
#: by tag (floats; a metric that is absent or not a number is left out), and the error.
Request = tuple[int, int, Mapping[str, float], Any]


class _Phase(Enum):
    OTHER = "other phase"


#: What :func:`_read_record` returns for a record of another phase (warm-up).
_OTHER_PHASE = _Phase.OTHER


def _read_record(line: str) -> Request | Literal[_Phase.OTHER] | None:
    """A JSONL line as a profiling request, :data:`_OTHER_PHASE`, or None if corrupt.

    Parsing a whole record with ``json`` costs 30 us or more, nearly all of it in data no
    table here uses (``inter_chunk_latency`` alone is a list of hundreds of floats), which
    makes 100k records take several seconds. So a complete compact record without an
    error goes through :func:`_read_compact`, which picks the few values it needs out of
    the text; anything it is not sure about, and every other line, goes through ``json``
    (:func:`_parse_record`). Both give the same result for the same record.
    """
    if (
        line.startswith(_COMPACT_START)
        # Writers end every record with a newline: a line cut short by a killed run
        # (the last one) has none, or ends elsewhere than its closing brace.
        and line.endswith("}\n")
        # An error record is rare and holds free text: left to json.
        and '"error":' not in line
    ):
        request = _read_compact(line)
        if request is not None:
            return request
    return _parse_record(line)


def _read_compact(line: str) -> Request | Literal[_Phase.OTHER] | None:
    """The fast path of :func:`_read_record`; None when unsure (json then decides).

    Sure means: the metadata object is flat (no "{" inside it), so a ``"key":`` found in
    it is one of its keys (inside a JSON string every quote is escaped); the values read
    from it are plain (``"profiling"``, digits); the wanted metrics have the
    ``{"value":<scalar>`` shape. A metric tag is looked up after the metadata, where
    "metrics" comes first in both writers' records.
    """
    start_at = len(_COMPACT_START)
    meta_end = line.find(_COMPACT_METADATA_END, start_at)
    # A nested object would hold a "{"; one inside a string (never seen) only costs time.
    if meta_end < 0 or line.find("{", start_at, meta_end) >= 0:
        return None
    for key in ('"benchmark_phase":', '"phase_kind":'):
        at = line.find(key, start_at, meta_end)
        if at >= 0:
            text = _scalar_at(line, at + len(key), meta_end)
            if text not in ('"profiling"', "null"):
                return _OTHER_PHASE if _PLAIN_STRING.fullmatch(text) else None
    times = []
    for key in ('"request_start_ns":', '"request_end_ns":'):
        at = line.find(key, start_at, meta_end)
        if at < 0:
            return None
        text = _scalar_at(line, at + len(key), meta_end)
        if not (text.isascii() and text.isdigit()):
            return None
        times.append(int(text))
    values: dict[str, float] = {}
    for tag, key in _COMPACT_METRIC_KEYS:
        at = line.find(key, meta_end)
        if at >= 0:
            text = _scalar_at(line, at + len(key))
            try:
                values[tag] = float(text)
            except ValueError:
                if text not in ("null", "true", "false") and text[:1] != '"':
                    return None  # not a scalar after all (an object, a list)
        elif line.find(f'"{tag}":', meta_end) >= 0:
            return None  # there, but not in the shape expected
    return times[0], times[1], values, None


def _scalar_at(line: str, start: int, end: int | None = None) -> str:
    """The :data:`_COMPACT_SCALAR` text of ``line`` from ``start`` (before ``end``)."""
    match = _COMPACT_SCALAR.match(line, start, len(line) if end is None else end)
    assert match is not None  # the pattern matches the empty string too
    return match.group()


def _parse_record(line: str) -> Request | Literal[_Phase.OTHER] | None:
    """The exact path of :func:`_read_record`: the whole line through ``json``."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    metadata = record.get("metadata") if isinstance(record, dict) else None
    if not isinstance(metadata, dict):
        return None
    if not _is_profiling(metadata):
        return _OTHER_PHASE
    start = metadata.get("request_start_ns")
    end = metadata.get("request_end_ns")
    # type(), not isinstance(): True is an int, but not a timestamp
    if type(start) is not int or type(end) is not int:
        return None  # a record that cannot be placed in time
    metrics = record.get("metrics")
    if not isinstance(metrics, dict):
        metrics = {}
    values: dict[str, float] = {}
    for tag in _METRIC_COLUMNS.values():
        entry = metrics.get(tag)
        if isinstance(entry, dict):
            entry = entry.get("value")
        if _is_number(entry):
            values[tag] = float(entry)
    return start, end, values, record.get("error")


def _floats(values: list[float | None]) -> pd.Series:
    """Floats as float64, None as NaN."""
    return pd.Series(values, dtype="float64")


def _is_profiling(metadata: Mapping[str, Any]) -> bool:
    """False for warm-up (or any other non-profiling) records; records that do not say
    which phase they belong to are profiling records."""
    for key in ("benchmark_phase", "phase_kind"):
        phase = metadata.get(key)
        if phase is not None and phase != "profiling":
            return False
    return True


def _error_type(error: Any) -> str:
    """A short name for a record's error: its ``type``, else its ``code``, else "error"."""
    if isinstance(error, Mapping):
        kind = error.get("type")
        if isinstance(kind, str) and kind:
            return kind
        if error.get("code") is not None:
            return str(error["code"])
    return "error"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --------------------------------------------------------------------------- summary


def _read_summary(run: RunDir, name: str) -> Mapping[str, Any]:
    """The summary JSON; empty when the run has none (the records are still plottable)."""
    path = run.summary_json_path
    if not path.is_file():
        return {}
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NoData(f"{name}: cannot read {path} ({exc})") from exc
    if not isinstance(summary, dict):
        raise NoData(f"{name}: {path} is not a JSON object")
    return summary


def _settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """model, concurrency, request_rate, streaming and slice_duration_s of a run.

    Our summary holds our resolved config (``benchmark: {endpoint, load, artifacts}``);
    AIPerf 0.13's holds its ``BenchmarkConfig`` (``models``, ``endpoint``, ``phases``,
    ``artifacts`` / legacy ``output``).
    """
    ours = config.get("benchmark")
    if isinstance(ours, Mapping):
        endpoint = _mapping(ours, "endpoint")
        load = _mapping(ours, "load")
        model = endpoint.get("model")
        concurrency = load.get("concurrency")
        rate = load.get("request_rate")
        slice_duration = _mapping(ours, "artifacts").get("slice_duration")
    else:
        endpoint = _mapping(config, "endpoint")
        items = _mapping(config, "models").get("items")
        model = items[0].get("name") if _list_of_mappings(items) and items else None
        if model is None:
            model = endpoint.get("model_names")
        phase = _profiling_phase(config)
        concurrency = phase.get("concurrency")
        rate = phase.get("rate", phase.get("request_rate"))
        slice_duration = _mapping(config, "output").get("slice_duration")
        if slice_duration is None:
            slice_duration = _mapping(config, "artifacts").get("slice_duration")
    if isinstance(model, list):  # several models: the first names the run, like the reference
        model = model[0] if model else None
    streaming = endpoint.get("streaming")
    return {
        "model": str(model) if model is not None else None,
        "concurrency": _as_int(concurrency),
        "request_rate": float(rate) if _is_number(rate) else None,
        "streaming": streaming if isinstance(streaming, bool) else None,
        "slice_duration_s": _seconds(slice_duration),
    }


def _verdict(loaded: LoadedRun) -> bool | None:
    """Whether this run, a probe of an SLA search, met the SLAs: the search's
    ``search_history.json`` next to it says so; None for any other run."""
    if loaded.concurrency is None or loaded.run.manifest.kind != "cell":
        return None
    return _search_history(loaded.run.path.parent).get(loaded.concurrency)


def _search_history(folder: Path) -> Mapping[int, bool]:
    try:
        steps = json.loads((folder / "search_history.json").read_text(encoding="utf-8"))
        return {int(s["concurrency"]): bool(s["passed"]) for s in steps}
    except (OSError, ValueError, TypeError, KeyError):
        return {}


def _degraded(loaded: LoadedRun) -> bool | None:
    """Whether the sweep this run belongs to (as a cell, or a trial of a cell) marked the
    cell degraded in its sweep aggregate: the runner decided it, the plots only read it.
    None for a run that is no sweep cell."""
    cell = _cell_directory(loaded)
    if cell is None:
        return None
    status = _sweep_statuses(cell.parent).get(cell.name)
    return None if status is None else status == "degraded"


def _cell_directory(loaded: LoadedRun) -> Path | None:
    """The sweep cell's directory: the run's own, or the one above its ``profile_runs``."""
    path = loaded.run.path
    kind = loaded.run.manifest.kind
    if kind == "cell":
        return path
    if kind == "trial" and path.parent.name == "profile_runs":
        return path.parent.parent
    return None


def _sweep_statuses(base: Path) -> Mapping[str, str]:
    """Cell name -> status, from ``<base>/sweep_aggregate/``; empty when there is none."""
    try:
        data = json.loads((base / SWEEP_DIR / SWEEP_JSON).read_text(encoding="utf-8"))
        return {str(c["cell"]): str(c["status"]) for c in data["cells"]}
    except (OSError, ValueError, TypeError, KeyError):
        return {}


def _degradation_threshold(config: Any) -> float | None:
    """The run's resolved ``benchmark.search.degradation_threshold`` (what its knee was
    judged by); None when it has none or is not ours."""
    ours = config.get("benchmark") if isinstance(config, Mapping) else None
    value = _mapping(ours, "search").get("degradation_threshold") \
        if isinstance(ours, Mapping) else None
    return float(value) if _is_number(value) else None


def _lengths(config: Any) -> dict[str, float | None]:
    """The configured mean input and output lengths (what a prefill or decode curve
    sweeps); None when the run did not set them."""
    if not isinstance(config, Mapping):
        return {"isl": None, "osl": None}
    ours = config.get("benchmark")
    if isinstance(ours, Mapping):
        dataset = _mapping(ours, "dataset")
        isl, osl = _mapping(dataset, "isl").get("mean"), _mapping(dataset, "osl").get("mean")
    else:
        datasets = config.get("datasets")
        prompts = _mapping(datasets[0], "prompts") if _list_of_mappings(datasets) and datasets \
            else {}
        isl, osl = _mapping(prompts, "isl").get("mean"), _mapping(prompts, "osl").get("mean")
    return {"isl": float(isl) if _is_number(isl) else None,
            "osl": float(osl) if _is_number(osl) else None}


def _profiling_phase(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """The reference's profiling phase, else its first phase, else its legacy ``loadgen``."""
    phases = config.get("phases")
    if _list_of_mappings(phases) and phases:
        for phase in phases:
            if phase.get("kind") == "profiling" or phase.get("name") == "profiling":
                return phase
        return phases[0]
    return _mapping(config, "loadgen")


def _mapping(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = parent.get(key)
    return value if isinstance(value, Mapping) else {}


def _list_of_mappings(value: Any) -> TypeGuard[list[Mapping[str, Any]]]:
    return isinstance(value, list) and all(isinstance(item, Mapping) for item in value)


def _as_int(value: Any) -> int | None:
    if _is_int(value):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


#: Units a duration may be written in, in a config (``"10s"``, ``"500ms"``, ``"5m"``).
_DURATION_UNITS = (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0))


def _seconds(value: Any) -> float | None:
    """A duration in seconds from a number or a string such as ``"10s"``; None if neither."""
    if _is_number(value):
        return float(value)
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    for suffix, scale in _DURATION_UNITS:
        if text.endswith(suffix):
            text, factor = text.removesuffix(suffix).strip(), scale
            break
    else:
        factor = 1.0
    try:
        return float(text) * factor
    except ValueError:
        return None


# --------------------------------------------------------------------------- optional exports


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


def _read_timeslices(run: RunDir) -> pd.DataFrame | None:
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


def _read_gpu(run: RunDir, first_start_ns: int) -> pd.DataFrame | None:
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
