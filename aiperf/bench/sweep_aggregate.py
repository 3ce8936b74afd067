"""The sweep aggregate: one row per sweep cell, the best cell per objective and the
throughput/latency Pareto frontier (``sweep_aggregate/profile_export_aiperf_sweep.json``
and ``.csv``).

A sweep runs one benchmark per *cell* (one combination of the swept settings). Each cell
arrives as a :class:`CellResult`: its name, the swept values, how it ended and the
summary it wrote (``profile_export_aiperf.json``, where each metric tag maps to
``{unit, avg, min, max, p1..p99, std, count, sum}`` and scalars such as
``request_throughput`` carry ``{unit, avg}``). A cell run with several trials may hand
in its confidence aggregate (``profile_export_aiperf_aggregate.json``) instead; its
``metrics["<tag>_<stat>"]["mean"]`` is then read in place of ``<tag>.<stat>``.

Three views are computed, over the cells in the order given:

- :func:`sweep_table`: one row per cell with its status, swept values (by short name)
  and the key metrics (:data:`KEY_METRICS`); ``None`` where a value is absent or the
  cell failed.
- :func:`best_cells`: the best *complete* cell per objective (:data:`BEST_OBJECTIVES`);
  the first such cell in sweep order wins a tie.
- :func:`pareto_cells`: the non-dominated *complete* cells, maximizing output token
  throughput (request throughput when no cell reports output tokens, e.g. embeddings)
  and minimizing median request latency; see :func:`pareto_objectives`.

A *not_run* cell was planned but never started: the sweep was stopped (Ctrl-C, SIGTERM)
before it. It stays in the table, so an interrupted sweep's aggregate still lists every
planned cell and says which ones are missing, rather than looking like a smaller sweep.

A *degraded* cell ran, but failed more requests than ``benchmark.search.max_error_rate``
allows (:mod:`aiperf.recipes.degraded`): the table keeps its numbers and its reason, but it
is never best at anything and never on the frontier, because its numbers describe a
server that is breaking.

The JSON keeps NVIDIA AIPerf 0.13's sweep aggregate keys, so scripts reading those keep
working: ``aggregation_type``, ``num_profile_runs``, ``num_successful_runs``,
``failed_runs`` (``{label, error}``), ``metadata{sweep_parameters, num_combinations}``,
``per_combination_metrics[{parameters, metrics{<tag>_<stat>: {mean, unit}}}]``,
``best_configurations{<objective>: {parameters, metric, unit}}`` and ``pareto_optimal``
(parameter dicts). Ours adds ``schema_version``, a ``sweep`` block (type, counts, failed,
partial, degraded and not_run cell names), the objectives the frontier used, the ``cells`` table,
``best`` (objective -> cell name) and ``pareto_optimal_cells`` (names). ``num_profile_runs``
counts the cells that ran (``not_run`` ones excluded); ``num_combinations`` and
``sweep.cells`` count every planned cell. Where the reference is
wrong we differ: ``num_combinations`` is the number of cells, not the product of the
value-list lengths (wrong for zip and scenario sweeps); every cell carries its name and
status (the reference drops failed cells from the combinations silently); ties do not
dominate (the reference's rule too, but stated); and the CSV is one plain table rather
than four hand-parsed sections.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

import aiperf
from aiperf.artifacts.atomic import write_text_atomic
from aiperf.artifacts.names import SWEEP_CSV, SWEEP_JSON
from aiperf.metric_catalogue import sweep_columns

__all__ = [
    "BEST_OBJECTIVES",
    "CELL_STATUSES",
    "KEY_METRICS",
    "SWEEP_SCHEMA_VERSION",
    "CellResult",
    "best_cells",
    "pareto_cells",
    "pareto_objectives",
    "render_sweep_csv",
    "render_sweep_json",
    "sweep_table",
    "write_sweep_aggregate",
]

#: Version of our additions to the file (the reference does not version it).
SWEEP_SCHEMA_VERSION = 1

#: How a cell can end: complete, stopped early, without results, run but with an error
#: rate above the limit (its numbers kept, never trusted), or never started because the
#: sweep was stopped first.
CELL_STATUSES = ("complete", "partial", "failed", "degraded", "not_run")

#: The table's metric columns, ``<tag>_<stat>``, as (column, tag, stat). Which statistics
#: of which metrics are columns, and in what order, is declared in the metric catalogue
#: (``Metric.sweep``).
KEY_METRICS: tuple[tuple[str, str, str], ...] = tuple(
    (f"{tag}_{stat}", tag, stat) for tag, stat in sweep_columns()
)

#: ``best_cells`` objectives: (name, tag, stat, larger is better).
BEST_OBJECTIVES: tuple[tuple[str, str, str, bool], ...] = (
    ("max_output_token_throughput", "output_token_throughput", "avg", True),
    ("max_request_throughput", "request_throughput", "avg", True),
    ("max_output_token_throughput_per_user", "output_token_throughput_per_user", "avg", True),
    ("min_time_to_first_token_p50", "time_to_first_token", "p50", False),
    ("min_time_to_first_token_p99", "time_to_first_token", "p99", False),
    ("min_inter_token_latency_p50", "inter_token_latency", "p50", False),
    ("min_inter_token_latency_p99", "inter_token_latency", "p99", False),
    ("min_request_latency_p50", "request_latency", "p50", False),
    ("min_request_latency_p99", "request_latency", "p99", False),
)

#: The Pareto frontier's axes, as (tag, stat): the throughput maximized (first the one
#: present in any complete cell) and the latency minimized.
_PARETO_THROUGHPUTS = (("output_token_throughput", "avg"), ("request_throughput", "avg"))
_PARETO_LATENCY = ("request_latency", "p50")

#: Columns the table writes besides the swept values; a swept key never takes one.
_FIXED_COLUMNS = ("cell", "status", "reason")
_EXTRA_COLUMNS = ("pareto_optimal", "best_for")


def _check_status(_instance: Any, _attribute: Any, value: str) -> None:
    if value not in CELL_STATUSES:
        msg = f"cell status must be one of {', '.join(CELL_STATUSES)}, not {value!r}"
        raise ValueError(msg)


@attrs.frozen
class CellResult:
    """One sweep cell as it ended.

    ``values`` maps each swept field key (``"benchmark.load.concurrency"``) to its value
    in this cell. ``summary`` is the parsed summary JSON, ``None`` when the cell did not
    run; a ``"complete"`` or ``"degraded"`` cell must have one. ``reason`` says why a
    cell failed, is partial, is degraded (``"error rate 47% > 1%"``) or was not run. A
    ``"not_run"`` cell never started, so it has no summary.
    """

    name: str
    values: Mapping[str, Any]
    status: str = attrs.field(validator=_check_status)
    reason: str | None
    summary: Mapping[str, Any] | None

    def __attrs_post_init__(self) -> None:
        if self.status in ("complete", "degraded") and self.summary is None:
            msg = f"cell {self.name!r} is {self.status} but has no summary"
            raise ValueError(msg)
        if self.status == "not_run" and self.summary is not None:
            msg = f"cell {self.name!r} was not run but has a summary"
            raise ValueError(msg)


# --------------------------------------------------------------------------- reading


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if math.isfinite(value) else None


def _stat(summary: Mapping[str, Any] | None, tag: str, stat: str) -> float | int | None:
    """``summary[tag][stat]`` (a run summary) or ``summary["metrics"]["<tag>_<stat>"]
    ["mean"]`` (a confidence aggregate); ``None`` unless a finite number."""
    if summary is None:
        return None
    block = summary.get(tag)
    if isinstance(block, Mapping):
        return _number(block.get(stat))
    metrics = summary.get("metrics")
    if isinstance(metrics, Mapping):
        entry = metrics.get(f"{tag}_{stat}")
        if isinstance(entry, Mapping):
            return _number(entry.get("mean"))
    return None


def _unit(summary: Mapping[str, Any] | None, tag: str, stat: str) -> str | None:
    if summary is None:
        return None
    block = summary.get(tag)
    if not isinstance(block, Mapping):
        metrics = summary.get("metrics")
        block = metrics.get(f"{tag}_{stat}") if isinstance(metrics, Mapping) else None
    unit = block.get("unit") if isinstance(block, Mapping) else None
    return unit if isinstance(unit, str) else None


def _measured(cell: CellResult, tag: str, stat: str) -> float | int | None:
    """A metric of a cell that ran; ``None`` for a failed cell, whatever it reported."""
    return None if cell.status == "failed" else _stat(cell.summary, tag, stat)


def _check_cells(cells: Sequence[CellResult]) -> None:
    seen: set[str] = set()
    for cell in cells:
        if cell.name in seen:
            msg = f"two sweep cells are named {cell.name!r}"
            raise ValueError(msg)
        seen.add(cell.name)


# --------------------------------------------------------------------------- table


def _swept_keys(cells: Sequence[CellResult]) -> list[str]:
    """Every swept key, in the order first seen."""
    return list(dict.fromkeys(key for cell in cells for key in cell.values))


def _short_names(keys: Sequence[str]) -> dict[str, str]:
    """Each key's column: its last dotted part, or as many trailing parts as it takes to
    be unique among the keys and clear of the fixed columns (the full key at worst)."""
    reserved = {*_FIXED_COLUMNS, *(column for column, _, _ in KEY_METRICS), *_EXTRA_COLUMNS}
    split = {key: key.split(".") for key in keys}
    out: dict[str, str] = {}
    for key, parts in split.items():
        for n in range(1, len(parts) + 1):
            name = ".".join(parts[-n:])
            clash = any(".".join(other[-n:]) == name for k, other in split.items() if k != key)
            if not clash and name not in reserved:
                break
        else:
            name = key if key not in reserved else f"swept.{key}"
        out[key] = name
    return out


def sweep_table(cells: Sequence[CellResult]) -> list[dict[str, Any]]:
    """One row per cell, in the given order: ``cell``, ``status``, ``reason``, each swept
    key by its short name (last dotted part, longer when two keys share it; ``None`` where
    a cell lacks the key), then the :data:`KEY_METRICS` columns (``None`` when the summary
    lacks the value or the cell failed)."""
    _check_cells(cells)
    names = _short_names(_swept_keys(cells))
    rows: list[dict[str, Any]] = []
    for cell in cells:
        row: dict[str, Any] = {"cell": cell.name, "status": cell.status, "reason": cell.reason}
        row.update({name: cell.values.get(key) for key, name in names.items()})
        row.update({column: _measured(cell, tag, stat) for column, tag, stat in KEY_METRICS})
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- best / Pareto


def best_cells(cells: Sequence[CellResult]) -> dict[str, str]:
    """The best complete cell per :data:`BEST_OBJECTIVES` entry, ``objective -> cell
    name``; an objective no complete cell reports is left out, and degraded cells never
    win (their numbers are not trusted). The first cell in sweep order wins a tie."""
    _check_cells(cells)
    return {name: cell.name for name, (cell, _) in _best(cells).items()}


def _best(cells: Sequence[CellResult]) -> dict[str, tuple[CellResult, float | int]]:
    out: dict[str, tuple[CellResult, float | int]] = {}
    complete = [cell for cell in cells if cell.status == "complete"]
    for name, tag, stat, larger in BEST_OBJECTIVES:
        for cell in complete:
            value = _stat(cell.summary, tag, stat)
            if value is None:
                continue
            if name not in out or (value > out[name][1] if larger else value < out[name][1]):
                out[name] = (cell, value)
    return out


def pareto_objectives(cells: Sequence[CellResult]) -> tuple[str, str] | None:
    """The frontier's axes as ``(maximized, minimized)`` ``<tag>_<stat>`` keys:
    ``output_token_throughput_avg`` when any complete cell reports it, else
    ``request_throughput_avg`` (embeddings and other endpoints without output tokens),
    against ``request_latency_p50``. ``None`` when no complete cell reports a throughput.

    One throughput is chosen for the whole sweep, never per cell: tokens/s and
    requests/s are not comparable.
    """
    complete = [cell for cell in cells if cell.status == "complete"]
    for tag, stat in _PARETO_THROUGHPUTS:
        if any(_stat(cell.summary, tag, stat) is not None for cell in complete):
            return f"{tag}_{stat}", "_".join(_PARETO_LATENCY)
    return None


def pareto_cells(cells: Sequence[CellResult]) -> list[str]:
    """The names of the non-dominated complete cells, in sweep order.

    A cell dominates another when its throughput is at least as high and its latency at
    least as low, and one of the two strictly (:func:`pareto_objectives` names the
    axes). Equal cells do not dominate each other: both stay on the frontier. Failed,
    partial and degraded cells, and cells missing either value, take no part.
    O(n log n): sort by latency (ascending), then a cell is on the frontier iff its
    throughput is the highest among the cells of equal latency and strictly above every
    throughput seen at a lower latency.
    """
    _check_cells(cells)
    axes = pareto_objectives(cells)
    if axes is None:
        return []
    points = _pareto_points(cells, axes)
    order = sorted(range(len(points)), key=lambda i: points[i][1])
    front: set[int] = set()
    best_before = -math.inf  # highest throughput at a strictly lower latency
    start = 0
    while start < len(order):
        end = start
        latency = points[order[start]][1]
        while end < len(order) and points[order[end]][1] == latency:
            end += 1
        group = order[start:end]
        top = max(points[i][0] for i in group)
        if top > best_before:
            front.update(i for i in group if points[i][0] == top)
            best_before = top
        start = end
    return [points[i][2] for i in sorted(front)]


def _pareto_points(
    cells: Sequence[CellResult], axes: tuple[str, str]
) -> list[tuple[float | int, float | int, str]]:
    """(throughput, latency, name) of each complete cell reporting both, in sweep order."""
    (t_tag, t_stat), (l_tag, l_stat) = (_split(key) for key in axes)
    points: list[tuple[float | int, float | int, str]] = []
    for cell in cells:
        if cell.status != "complete":
            continue
        throughput = _stat(cell.summary, t_tag, t_stat)
        latency = _stat(cell.summary, l_tag, l_stat)
        if throughput is not None and latency is not None:
            points.append((throughput, latency, cell.name))
    return points


def _split(key: str) -> tuple[str, str]:
    tag, _, stat = key.rpartition("_")
    return tag, stat


# --------------------------------------------------------------------------- files


def _rows(cells: Sequence[CellResult]) -> list[dict[str, Any]]:
    """The table with ``pareto_optimal`` (bool) and ``best_for`` (objective names)."""
    table = sweep_table(cells)
    front = set(pareto_cells(cells))
    best_for: dict[str, list[str]] = {}
    for objective, name in best_cells(cells).items():
        best_for.setdefault(name, []).append(objective)
    for row in table:
        row["pareto_optimal"] = row["cell"] in front
        row["best_for"] = best_for.get(row["cell"], [])
    return table


def _per_cell_metrics(summary: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every numeric statistic of a summary as the reference's ``<tag>_<stat>: {mean,
    unit}`` (an aggregate's ``metrics`` are taken as they are)."""
    out: dict[str, dict[str, Any]] = {}
    metrics = summary.get("metrics")
    if isinstance(metrics, Mapping):
        for key, entry in metrics.items():
            if isinstance(entry, Mapping) and _number(entry.get("mean")) is not None:
                out[str(key)] = dict(entry)
    for tag, block in summary.items():
        if not isinstance(block, Mapping) or not isinstance(block.get("unit"), str):
            continue
        for stat, value in block.items():
            if stat != "unit" and _number(value) is not None:
                out.setdefault(f"{tag}_{stat}", {"mean": value, "unit": block["unit"]})
    return out


def render_sweep_json(sweep_type: str, cells: Sequence[CellResult]) -> str:
    """The sweep JSON (indent 2, no final newline, like the summary). See
    :func:`write_sweep_aggregate`."""
    rows = _rows(cells)
    keys = _swept_keys(cells)
    front = set(pareto_cells(cells))
    best = _best(cells)
    complete = [cell.name for cell in cells if cell.status == "complete"]
    failed = [cell for cell in cells if cell.status == "failed"]
    not_run = [cell.name for cell in cells if cell.status == "not_run"]
    axes = pareto_objectives(cells)

    best_configurations: dict[str, Any] = {}
    for name, tag, stat, _ in BEST_OBJECTIVES:
        if name in best:
            cell, value = best[name]
            best_configurations[name] = {
                "cell": cell.name, "parameters": dict(cell.values), "metric": value,
                "metric_key": f"{tag}_{stat}", "unit": _unit(cell.summary, tag, stat),
            }
    # The reference's two entries, for scripts that read them.
    if "max_request_throughput" in best_configurations:
        best_configurations["best_throughput"] = best_configurations["max_request_throughput"]
    for latency in ("min_time_to_first_token_p99", "min_request_latency_p99"):
        if latency in best_configurations:
            best_configurations["best_latency_p99"] = best_configurations[latency]
            break

    out: dict[str, Any] = {
        "schema_version": SWEEP_SCHEMA_VERSION,
        "aiperf_version": aiperf.__version__,
        "aggregation_type": "sweep",
        "num_profile_runs": len(cells) - len(not_run),
        "num_successful_runs": len(complete),
        "failed_runs": [{"label": cell.name, "error": cell.reason} for cell in failed],
        "metadata": {
            "sweep_parameters": [
                {"name": key,
                 "values": _distinct(cell.values[key] for cell in cells if key in cell.values)}
                for key in keys
            ],
            "num_combinations": len(cells),
        },
        "sweep": {
            "type": sweep_type,
            "cells": len(cells),
            "complete": len(complete),
            "partial": [cell.name for cell in cells if cell.status == "partial"],
            "failed": [cell.name for cell in failed],
            "degraded": [cell.name for cell in cells if cell.status == "degraded"],
            "not_run": not_run,
            "parameters": dict(zip(keys, _short_names(keys).values(), strict=True)),
        },
        "pareto_objectives": (
            None if axes is None else {"maximize": axes[0], "minimize": axes[1]}
        ),
        "cells": rows,
        "per_combination_metrics": [
            {"cell": cell.name, "status": cell.status, "parameters": dict(cell.values),
             "pareto_optimal": cell.name in front, "metrics": _per_cell_metrics(cell.summary)}
            for cell in cells
            if cell.status != "failed" and cell.summary is not None
        ],
        "best": {name: cell.name for name, (cell, _) in best.items()},
        "best_configurations": best_configurations,
        "pareto_optimal": [dict(cell.values) for cell in cells if cell.name in front],
        "pareto_optimal_cells": [cell.name for cell in cells if cell.name in front],
    }
    # default=str: an odd swept value must not lose the aggregate.
    return json.dumps(out, indent=2, ensure_ascii=False, allow_nan=False, default=str)


def _distinct(values: Any) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if value not in out:  # not a set: values may be unhashable (lists)
            out.append(value)
    return out


def render_sweep_csv(cells: Sequence[CellResult]) -> str:
    """The sweep CSV: a header, then one row per cell with the :func:`sweep_table`
    columns, ``pareto_optimal`` (``true``/``false``) and ``best_for`` (the objectives the
    cell is best at, ``;``-joined). ``\\r\\n`` line ends; metric numbers as in the summary
    CSV (integers bare, reals with 2 decimals), swept values as written, missing values
    empty."""
    rows = _rows(cells)
    keys = _swept_keys(cells)
    swept = list(_short_names(keys).values())
    columns = [*_FIXED_COLUMNS, *swept, *(c for c, _, _ in KEY_METRICS), *_EXTRA_COLUMNS]
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # "\r\n", as every CSV of ours
    writer.writerow(columns)
    for row in rows:
        line = [_csv_text(row["cell"]), _csv_text(row["status"]), _csv_text(row["reason"])]
        line += [_csv_value(row[name]) for name in swept]
        line += [_csv_number(row[column]) for column, _, _ in KEY_METRICS]
        line += ["true" if row["pareto_optimal"] else "false", ";".join(row["best_for"])]
        writer.writerow(line)
    return buffer.getvalue()


def _csv_text(value: str | None) -> str:
    return "" if value is None else str(value)


def _csv_number(value: float | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{value:.2f}"


def _csv_value(value: Any) -> str:
    """A swept value as set: numbers and strings as they are, booleans lower-case,
    lists and mappings as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def write_sweep_aggregate(
    folder: Path, sweep_type: str, cells: Sequence[CellResult]
) -> dict[str, Path]:
    """Write ``<folder>/profile_export_aiperf_sweep.json`` and ``.csv`` atomically; return
    ``{"json": path, "csv": path}``.

    ``folder`` is the sweep's ``sweep_aggregate`` directory (created when missing);
    ``sweep_type`` names the sweep (``grid``, ``zip``, ``scenarios``, a recipe, ...).
    ``ValueError``, before anything is written, when two cells share a name. Both files
    are rendered before either is written, and the CSV is written first, so the JSON
    appears only once both are complete.
    """
    directory = Path(folder)
    json_text = render_sweep_json(sweep_type, cells)
    csv_text = render_sweep_csv(cells)
    csv_path = directory / SWEEP_CSV
    json_path = directory / SWEEP_JSON
    write_text_atomic(csv_path, csv_text)
    write_text_atomic(json_path, json_text)
    return {"json": json_path, "csv": csv_path}
