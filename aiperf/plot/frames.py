"""A run's exports as pandas tables: per-request records, timeslices, GPU telemetry.

:func:`load_run` reads one run directory (ours or NVIDIA AIPerf 0.13's) into a
:class:`LoadedRun`; :func:`runs_table` puts the summaries of several runs side by side.
The records are read by :mod:`aiperf.plot.requests_frame`, the timeslices and GPU
telemetry by :mod:`aiperf.plot.series_frames`; this module reads the summary and config.
Imported only by the plot command: it pulls in pandas.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeGuard

import attrs
import pandas as pd

from aiperf.artifacts.manifest import RunDir
from aiperf.artifacts.names import SWEEP_DIR, SWEEP_JSON, recipe_answer_name
from aiperf.plot.requests_frame import read_requests
from aiperf.plot.series_frames import read_gpu, read_server_series, read_timeslices

__all__ = ["ANSWERS", "SUMMARY_STATS", "LoadedRun", "NoData", "degraded", "load_run",
           "recipe_answers", "runs_table"]

#: The summary statistics that become ``runs_table`` columns, in column order.
SUMMARY_STATS = (
    "avg", "min", "max", "std", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99",
)
_RUN_COLUMNS = ("run_name", "model", "concurrency", "request_rate", "trial", "cell", "status",
                "isl", "osl", "sla_pass", "degraded", "degradation_threshold")


class NoData(Exception):
    """Nothing to plot (e.g. zero successful requests); the message says which run and why."""


@attrs.frozen(eq=False)  # eq=False: comparing or hashing DataFrames has no meaning here
class LoadedRun:
    """One run's data, ready to plot.

    ``requests`` has the columns of :data:`aiperf.plot.requests_frame.REQUEST_COLUMNS`,
    one row per profiling request in start order, failed ones included (``ok`` False).
    ``timeslices`` and ``gpu`` are None when the run did not export them. The remaining
    fields come from the summary's ``input_config`` (ours or the reference's) and are None
    when unknown.
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
    #: The server-metrics time series (see :func:`aiperf.plot.series_frames.
    #: read_server_series`), None when the run scraped no server.
    server: pd.DataFrame | None = None


def load_run(run: RunDir, name: str) -> LoadedRun:
    """Load ``run`` (named ``name`` in messages and tables).

    :class:`NoData` when the run has no per-request records file, its summary JSON is
    unreadable, or it holds no successful profiling request.
    """
    records_path = run.records_path
    if not records_path.is_file():
        raise NoData(f"{name}: no per-request records ({records_path} is missing)")
    summary = _read_summary(run, name)
    requests = read_requests(records_path)
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
        timeslices=read_timeslices(run),
        gpu=read_gpu(run, first_start_ns),
        server=read_server_series(run, first_start_ns),
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
            "degraded": degraded(loaded),
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
    table = pd.DataFrame(rows, columns=[*_RUN_COLUMNS, *metric_columns])
    table.attrs[ANSWERS] = recipe_answers(runs)
    return table


#: The key of ``runs_table(...).attrs`` holding the recipes' answers (see
#: :func:`recipe_answers`).
ANSWERS = "recipe_answers"


def recipe_answers(runs: Sequence[LoadedRun]) -> dict[str, Mapping[str, Any]]:
    """The answers the recipes of these runs wrote (``sweep_aggregate/<recipe>.json`` at
    each sweep's base), by the analysis they hold (``knee``, ``ttft-fit``, ``pareto``,
    ``max-concurrency``, ...): a recipe's plot draws that answer rather than judging the
    runs again. An analysis that two bases answer differently is left out: no single
    answer describes the runs together, and the plot works from the table instead."""
    bases = {cell.parent for cell in map(_cell_directory, runs) if cell is not None}
    found: dict[str, Mapping[str, Any]] = {}
    clashing: set[str] = set()
    for base in sorted(bases):
        for analysis, answer in _answers_in(base).items():
            if analysis in found and found[analysis] != answer:
                clashing.add(analysis)
            found.setdefault(analysis, answer)
    return {k: v for k, v in found.items() if k not in clashing}


def _answers_in(base: Path) -> dict[str, Mapping[str, Any]]:
    """The recipe answers under ``<base>/sweep_aggregate/``, by analysis: the files named
    after the recipe they hold (:func:`aiperf.artifacts.names.recipe_answer_name`)."""
    out: dict[str, Mapping[str, Any]] = {}
    for path in sorted((base / SWEEP_DIR).glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (isinstance(data, Mapping) and isinstance(data.get("analysis"), str)
                and path.name == recipe_answer_name(str(data.get("recipe")))):
            out[data["analysis"]] = data
    return out


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


def degraded(loaded: LoadedRun) -> bool | None:
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
