"""The multi-trial aggregate: each statistic of each metric, with a confidence interval
over the trials (``profile_export_aiperf_aggregate.json`` / ``.csv``).

Every trial writes its own summary (``profile_export_aiperf.json``). For each metric
block of those summaries (a top-level mapping with a string ``unit``) and each numeric
statistic in it (``avg``, ``p50``, ``p99``, ``min``, ``max``, ``std``, ``count``, ...), the
values of the trials that report it are summarised as a :class:`Confidence`: their mean,
sample standard deviation (``ddof = 1``), min, max, coefficient of variation, standard
error and the two-sided Student-t interval ``mean ± t * se`` with ``n - 1`` degrees of
freedom. The Student-t quantile is :func:`aiperf.student_t.t_critical`.

The files follow NVIDIA AIPerf 0.13's confidence aggregate: a JSON document with
``schema_version``, ``aiperf_version``, ``metadata`` (the reference's keys) and
``metrics`` keyed ``<tag>_<stat>``, each ``{mean, std, min, max, cv, se, ci_low, ci_high,
t_critical, unit}``; and a CSV with columns ``metric,mean,...,t_critical,unit`` followed by
a blank line and a metadata section. Ours adds, in both, the number of trials behind each
value (``n``), and in the JSON an ``aggregation`` block stating how the numbers were
computed. Where the reference writes ``NaN``/``inf`` (``t_critical`` of a single value,
``cv`` of a zero mean), we write ``0.0`` and ``null``: see :data:`METHOD` and
:data:`SINGLE_VALUE_NOTE`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

import aiperf
from aiperf.artifacts.atomic import write_text_atomic
from aiperf.student_t import t_critical

__all__ = [
    "AGGREGATE_CSV",
    "AGGREGATE_JSON",
    "AGGREGATE_SCHEMA_VERSION",
    "CSV_COLUMNS",
    "METHOD",
    "SINGLE_VALUE_NOTE",
    "Confidence",
    "aggregate_summaries",
    "render_aggregate_csv",
    "render_aggregate_json",
    "write_aggregate",
]

#: The aggregate's file names; fixed, as in the reference (``aiperf plot`` looks for them).
AGGREGATE_JSON = "profile_export_aiperf_aggregate.json"
AGGREGATE_CSV = "profile_export_aiperf_aggregate.csv"
#: The reference versions its aggregate file separately from the summary; so do we.
AGGREGATE_SCHEMA_VERSION = "1.0"

#: How the numbers are computed, written into the JSON's ``aggregation`` block.
METHOD = "Student-t interval on the trial values; std is the sample std (ddof=1)"
#: What a statistic reported by a single trial gets (written into the JSON as well).
SINGLE_VALUE_NOTE = (
    "n == 1: no interval; std, se and cv are 0, t_critical is written as 0.0 "
    "(undefined for 0 degrees of freedom), ci_low == ci_high == mean"
)

#: The CSV header: the reference's columns, then ours (``n``).
CSV_COLUMNS = (
    "metric", "mean", "std", "min", "max", "cv", "se", "ci_low", "ci_high", "t_critical",
    "unit", "n",
)
#: Columns the reference writes with 4 decimals (the others get the summary CSV's 2).
_FOUR_DECIMALS = frozenset({"cv", "se", "t_critical"})


@attrs.frozen
class Confidence:
    """One statistic of one metric across trials.

    ``std`` is the sample standard deviation (``ddof = 1``), ``se = std / sqrt(n)``,
    ``cv = std / mean`` (None when the mean is 0), and the interval is
    ``mean ± t_critical * se`` with ``n - 1`` degrees of freedom. With ``n == 1`` there is
    no interval: ``std``, ``se`` and ``cv`` are 0, ``t_critical`` is 0.0 and
    ``ci_low == ci_high == mean``.
    """

    mean: float
    std: float
    min: float
    max: float
    cv: float | None
    se: float
    ci_low: float
    ci_high: float
    t_critical: float
    n: int


# --------------------------------------------------------------------------- aggregation


def aggregate_summaries(
    summaries: Sequence[Mapping[str, Any]], confidence_level: float = 0.95
) -> dict[str, dict[str, Confidence]]:
    """metric tag -> stat name (avg, p50, p90, p99, ...) -> Confidence over the trials that
    have it.

    A metric is a top-level mapping of a summary with a string ``unit`` (so ``input_config``,
    ``run_info``, ``client_health``, ``telemetry_data``, ... are not); its statistics are
    its other entries whose value is a finite int or float (booleans, strings, None, NaN
    and infinities are skipped, as the reference skips them). A metric or statistic that
    only some trials report is aggregated over those; ``n`` says how many. Tags and stats
    keep the order in which they first appear in the summaries.
    """
    _check_level(confidence_level)
    return {
        tag: {stat: _confidence(values, confidence_level) for stat, values in stats.items()}
        for tag, (_unit, stats) in _collect(summaries).items()
    }


def _collect(
    summaries: Sequence[Mapping[str, Any]],
) -> dict[str, tuple[str, dict[str, list[float]]]]:
    """tag -> (unit of the first trial that has it, stat -> values over the trials)."""
    out: dict[str, tuple[str, dict[str, list[float]]]] = {}
    for summary in summaries:
        for tag, block in summary.items():
            if not isinstance(block, Mapping) or not isinstance(block.get("unit"), str):
                continue
            for stat, value in block.items():
                if stat == "unit" or not _is_number(value):
                    continue
                _, stats = out.setdefault(tag, (block["unit"], {}))
                stats.setdefault(stat, []).append(value)
    return out


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def _confidence(values: Sequence[float], confidence_level: float) -> Confidence:
    n = len(values)
    # statistics.mean/stdev are exact (rational) then rounded: equal values give std 0.0
    # exactly and min <= mean <= max always.
    mean = float(statistics.mean(values))
    low, high = float(min(values)), float(max(values))
    if n == 1:
        return Confidence(mean=mean, std=0.0, min=low, max=high,
                          cv=0.0 if mean != 0 else None, se=0.0, ci_low=mean, ci_high=mean,
                          t_critical=0.0, n=1)
    std = float(statistics.stdev(values))
    se = std / math.sqrt(n)
    t = t_critical(confidence_level, n - 1)
    margin = t * se
    return Confidence(mean=mean, std=std, min=low, max=high,
                      cv=std / mean if mean != 0 else None, se=se,
                      ci_low=mean - margin, ci_high=mean + margin, t_critical=t, n=n)


def _check_level(confidence_level: float) -> None:
    if not 0.0 < confidence_level < 1.0:
        msg = f"confidence level must be between 0 and 1 (exclusive), not {confidence_level!r}"
        raise ValueError(msg)


# --------------------------------------------------------------------------- files


@attrs.frozen
class _Entry:
    key: str  # <tag>_<stat>
    tag: str
    stat: str
    unit: str
    value: Confidence


def _entries(
    summaries: Sequence[Mapping[str, Any]], confidence_level: float
) -> list[_Entry]:
    entries: list[_Entry] = []
    seen: dict[str, tuple[str, str]] = {}
    for tag, (unit, stats) in _collect(summaries).items():
        for stat, values in stats.items():
            key = f"{tag}_{stat}"
            if key in seen:
                msg = (f"metric {tag!r} stat {stat!r} and metric {seen[key][0]!r} stat "
                       f"{seen[key][1]!r} would both be written as {key!r}")
                raise ValueError(msg)
            seen[key] = (tag, stat)
            entries.append(_Entry(key, tag, stat, unit, _confidence(values, confidence_level)))
    return entries


def _failed_runs(failed_trials: Sequence[str] | Mapping[str, str | None]) -> list[dict[str, Any]]:
    if isinstance(failed_trials, Mapping):
        return [{"label": str(k), "error": None if v is None else str(v)}
                for k, v in failed_trials.items()]
    return [{"label": str(name), "error": None} for name in failed_trials]


def _check_inputs(trial_names: Sequence[str], summaries: Sequence[Mapping[str, Any]],
                  confidence_level: float) -> None:
    _check_level(confidence_level)
    if len(trial_names) != len(summaries):
        msg = f"{len(trial_names)} trial names for {len(summaries)} summaries"
        raise ValueError(msg)
    if not summaries:
        msg = "no successful trial to aggregate"
        raise ValueError(msg)


def render_aggregate_json(
    trial_names: Sequence[str],
    summaries: Sequence[Mapping[str, Any]],
    confidence_level: float,
    failed_trials: Sequence[str] | Mapping[str, str | None] = (),
    *,
    metadata: Mapping[str, Any] | None = None,
) -> str:
    """The aggregate JSON (indent 2, no final newline, like the summary). See
    :func:`write_aggregate`."""
    _check_inputs(trial_names, summaries, confidence_level)
    entries = _entries(summaries, confidence_level)
    failed = _failed_runs(failed_trials)
    meta: dict[str, Any] = {
        "aggregation_type": "confidence",
        "num_profile_runs": len(summaries) + len(failed),
        "num_successful_runs": len(summaries),
        "failed_runs": failed,
        "confidence_level": confidence_level,
        "run_labels": list(trial_names),
        "single_run": len(summaries) == 1,
    }
    for key, value in (metadata or {}).items():
        if key in meta:
            msg = f"metadata key {key!r} is computed by the aggregate and cannot be given"
            raise ValueError(msg)
        meta[key] = value
    aggregation: dict[str, Any] = {
        "confidence_level": confidence_level,
        "num_trials": len(summaries),
        "trials": list(trial_names),
        "failed_trials": [f["label"] for f in failed],
        "method": METHOD,
        "single_value": SINGLE_VALUE_NOTE,
    }
    metrics: dict[str, Any] = {}
    for e in entries:
        c = e.value
        metrics[e.key] = {
            "mean": c.mean, "std": c.std, "min": c.min, "max": c.max, "cv": c.cv, "se": c.se,
            "ci_low": c.ci_low, "ci_high": c.ci_high, "t_critical": c.t_critical,
            "unit": e.unit, "n": c.n,
        }
    out = {
        "schema_version": AGGREGATE_SCHEMA_VERSION,
        "aiperf_version": aiperf.__version__,
        "metadata": meta,
        "aggregation": aggregation,
        "metrics": metrics,
    }
    # default=str: an odd value in the caller's metadata must not lose the aggregate.
    return json.dumps(out, indent=2, ensure_ascii=False, allow_nan=False, default=str)


def render_aggregate_csv(
    trial_names: Sequence[str],
    summaries: Sequence[Mapping[str, Any]],
    confidence_level: float,
    failed_trials: Sequence[str] | Mapping[str, str | None] = (),
    *,
    metadata: Mapping[str, Any] | None = None,
) -> str:
    """The aggregate CSV: :data:`CSV_COLUMNS` with one row per metric and statistic (rows
    sorted by tag, statistics in summary order), a blank line, then ``Name,Value``
    metadata rows. ``\\r\\n`` line ends; numbers with 2 decimals (4 for cv, se and
    t_critical, as the reference), ``n`` bare, missing values empty."""
    _check_inputs(trial_names, summaries, confidence_level)
    entries = _entries(summaries, confidence_level)
    failed = _failed_runs(failed_trials)
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # "\r\n", as every CSV of ours
    writer.writerow(CSV_COLUMNS)
    for e in sorted(entries, key=lambda entry: entry.tag):  # stable: stats keep their order
        c = e.value
        row: list[str] = [e.key]
        for column in CSV_COLUMNS[1:-2]:
            row.append(_csv_number(getattr(c, column), 4 if column in _FOUR_DECIMALS else 2))
        row += [e.unit, str(c.n)]
        writer.writerow(row)
    writer.writerow([])
    rows: list[tuple[str, Any]] = [
        ("Aggregation Type", "confidence"),
        ("Total Runs", len(summaries) + len(failed)),
        ("Successful Runs", len(summaries)),
        ("Failed Runs", [f["label"] for f in failed]),
        ("Confidence Level", confidence_level),
        ("Run Labels", list(trial_names)),
        ("Single Run", len(summaries) == 1),
    ]
    rows += [(key.replace("_", " ").title(), value) for key, value in (metadata or {}).items()]
    for name, value in rows:
        writer.writerow([name, _csv_value(value)])
    return buffer.getvalue()


def _csv_number(value: float | None, decimals: int) -> str:
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:.{decimals}f}"


def _csv_value(value: Any) -> str:
    """A metadata value: lists joined with ``;``, everything else as ``str``."""
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return str(value)


def write_aggregate(
    folder: Path,
    trial_names: Sequence[str],
    summaries: Sequence[Mapping[str, Any]],
    confidence_level: float,
    failed_trials: Sequence[str] | Mapping[str, str | None] = (),
    *,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Write ``<folder>/profile_export_aiperf_aggregate.json`` and ``.csv`` atomically;
    return ``{"json": path, "csv": path}``.

    ``summaries[i]`` is the parsed summary JSON of the successful trial ``trial_names[i]``;
    ``failed_trials`` names the trials that produced none (a mapping gives each one's
    error message). ``metadata`` adds keys to the JSON's reference ``metadata`` block (and
    rows to the CSV's metadata section), e.g. ``model``, ``cooldown_seconds``,
    ``variation_label``, ``variation_values``, ``sweep_mode``; it cannot override the
    computed keys. ``ValueError``, before anything is written, for a level outside (0, 1),
    names and summaries of different lengths, or no successful trial at all.

    Both files are rendered before either is written, and the CSV is written first: the
    JSON (which ``aiperf plot`` looks for) appears only once both are complete.
    """
    directory = Path(folder)
    json_text = render_aggregate_json(trial_names, summaries, confidence_level, failed_trials,
                                      metadata=metadata)
    csv_text = render_aggregate_csv(trial_names, summaries, confidence_level, failed_trials,
                                    metadata=metadata)
    csv_path = directory / AGGREGATE_CSV
    json_path = directory / AGGREGATE_JSON
    write_text_atomic(csv_path, csv_text)
    write_text_atomic(json_path, json_text)
    return {"json": json_path, "csv": csv_path}
