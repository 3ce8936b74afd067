"""The per-request table of a run: its JSONL records export read into a DataFrame.

:func:`read_requests` reads the profiling records (ours or NVIDIA AIPerf 0.13's) into the
columns of :data:`REQUEST_COLUMNS`, one row per request in start order. Imported only by
the plot command: it pulls in pandas.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any, Literal, TypeGuard

import pandas as pd

__all__ = ["REQUEST_COLUMNS", "read_requests"]

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


def read_requests(path: Path) -> pd.DataFrame:
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


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
