"""What the HTML report shows, gathered from runs on disk into one JSON-ready mapping.

:func:`report_data` reads each run the plot command found (its summary, its per-request
records, its ``explain.json``) and returns plain data: a summary table per run with the
reference's metrics, client health and the verdict; the per-request columns the page
draws its charts from and recomputes goodput from when the reader changes an SLO; the
resolved configuration with each value's origin (secrets already hidden in
``explain.json``, and hidden again here); the recipes' answers; and, for several runs, a
comparison against the first with Welch confidence intervals where both sides have
trials, and the Pareto frontier.

Scatter views draw at most :data:`MAX_SCATTER_POINTS` requests per run; the data says
how many were drawn of how many, and the page shows it. Every other figure (CDFs, SLO
attainment, goodput, error counts) is computed from all requests.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiperf
from aiperf.bench.metrics import metric_info
from aiperf.config.redaction import REDACTED
from aiperf.student_t import t_critical

if TYPE_CHECKING:
    from aiperf.plot.discover import Discovery
    from aiperf.plot.frames import LoadedRun

__all__ = ["COMPARED", "MAX_SCATTER_POINTS", "SLO_TAGS", "pareto_points", "report_data",
           "welch_interval"]

#: The most requests a scatter view draws per run; more are drawn at an even stride.
MAX_SCATTER_POINTS = 2000
#: The summary table's distributions (the reference's metrics), in order.
DISTRIBUTIONS = (
    "time_to_first_token", "time_to_second_token", "inter_token_latency", "request_latency",
    "output_token_throughput_per_user", "input_sequence_length", "output_sequence_length",
)
#: The summary table's run-level values, in order.
SCALARS = (
    "request_throughput", "output_token_throughput", "total_token_throughput",
    "request_count", "error_request_count", "cancelled_request_count", "request_error_rate",
    "goodput", "good_request_fraction",
)
STATS = ("avg", "p50", "p90", "p99", "min", "max")
#: The thresholds the page lets the reader set: its input's name -> the metric's tag and
#: the per-request column it tests.
SLO_TAGS = {
    "ttft": ("time_to_first_token", "ttft_ms"),
    "itl": ("inter_token_latency", "itl_ms"),
    "latency": ("request_latency", "latency_ms"),
}
#: What a comparison sets side by side: (tag, statistic).
COMPARED = (
    ("time_to_first_token", "p50"), ("time_to_first_token", "p99"),
    ("inter_token_latency", "p50"), ("inter_token_latency", "p99"),
    ("request_latency", "p50"), ("request_latency", "p99"),
    ("request_throughput", "avg"), ("output_token_throughput", "avg"),
)
_HEALTH_KEYS = ("client_bound", "warning", "scheduling_lag_avg_ms", "scheduling_lag_p99_ms",
                "event_loop_lag_avg_ms", "cpu_share")


def report_data(discovery: Discovery, loaded: Sequence[LoadedRun],
                title: str | None = None) -> dict[str, Any]:
    """The report's data for ``loaded`` (the usable runs of ``discovery``, in order)."""
    from aiperf.plot.frames import recipe_answers

    runs = [_run(each) for each in loaded]
    groups = _groups(loaded)
    data: dict[str, Any] = {
        "title": title or f"aiperf report: {discovery.base.name or discovery.base}",
        "aiperf_version": aiperf.__version__,
        "mode": discovery.mode,
        "notes": list(discovery.notes),
        "max_scatter_points": MAX_SCATTER_POINTS,
        "slo_tags": {k: {"tag": tag, "column": col, "label": metric_info(tag).header}
                     for k, (tag, col) in SLO_TAGS.items()},
        "runs": runs,
        "answers": {k: _jsonable(v) for k, v in recipe_answers(loaded).items()},
        "comparison": _comparison(groups) if len(groups) > 1 else None,
        "pareto": pareto_points(runs) if len(runs) > 2 else None,
    }
    return data


def _run(each: LoadedRun) -> dict[str, Any]:
    summary = each.summary
    manifest = each.run.manifest
    frame = each.requests
    n = len(frame)
    stride = max(1, math.ceil(n / MAX_SCATTER_POINTS))
    error_types = sorted({t for t in frame["error_type"] if t is not None})
    index = {t: i for i, t in enumerate(error_types)}
    requests = {
        "start_s": _column(frame["start_s"]),
        "end_s": _column(frame["end_s"]),
        **{col: _column(frame[col]) for _, col in SLO_TAGS.values()},
        "ok": [int(v) for v in frame["ok"]],
        "error": [-1 if t is None else index[t] for t in frame["error_type"]],
    }
    from aiperf.plot.frames import degraded

    ok = _number(_block(summary, "request_count").get("avg"))
    rate = _number(_block(summary, "request_throughput").get("avg"))
    # The summary's goodput divides by the measured window: ok / request_throughput.
    window_s = ok / rate if ok and rate else _number(
        _block(summary, "benchmark_duration").get("avg"))
    return {
        "name": each.name,
        "path": str(each.run.path),
        "status": manifest.status,
        "verdict": _verdict(summary, manifest.status, frame),
        "model": each.model,
        "concurrency": each.concurrency,
        "request_rate": each.request_rate,
        "streaming": each.streaming,
        "trial": manifest.identity.trial,
        "cell": manifest.identity.cell,
        # The sweep marked the cell degraded (too many errors): never on the frontier.
        "degraded": bool(degraded(each)),
        "metrics": [_distribution(tag, summary) for tag in DISTRIBUTIONS
                    if _block(summary, tag).get("avg") is not None],
        "scalars": [_scalar(tag, summary) for tag in SCALARS
                    if _block(summary, tag).get("avg") is not None],
        "health": {k: _jsonable(v) for k, v in _block(summary, "client_health").items()
                   if k in _HEALTH_KEYS},
        "errors": [_error(e) for e in summary.get("error_summary") or ()
                   if isinstance(e, Mapping)],
        "warnings": [str(w) for w in summary.get("warnings") or ()],
        "window_s": window_s,
        "slos": _slos(summary),
        "goodput": _number(_block(summary, "goodput").get("avg")),
        "requests": requests,
        "error_types": error_types,
        "sampled": {"stride": stride, "shown": math.ceil(n / stride), "of": n},
        "config": _config(each.run.path, summary),
    }


def _verdict(summary: Mapping[str, Any], status: str, frame: Any) -> dict[str, Any]:
    """The run's ending and its request counts, as the console's verdict line says them."""
    cancelled = int((frame["error_type"] == "cancelled").sum())
    failed = int((~frame["ok"]).sum()) - cancelled
    ok = int(frame["ok"].sum())
    return {"status": status, "requests": len(frame), "ok": ok, "failed": failed,
            "cancelled": cancelled,
            "text": f"{status} - {len(frame)} requests, {ok} ok, {failed} failed, "
                    f"{cancelled} cancelled"}


def _distribution(tag: str, summary: Mapping[str, Any]) -> dict[str, Any]:
    info = metric_info(tag)
    block = _block(summary, tag)
    return {"tag": tag, "label": info.header, "unit": info.unit,
            "stats": {s: _number(block.get(s)) for s in STATS}}


def _scalar(tag: str, summary: Mapping[str, Any]) -> dict[str, Any]:
    info = metric_info(tag)
    return {"tag": tag, "label": info.header, "unit": info.unit,
            "value": _number(_block(summary, tag).get("avg"))}


def _error(entry: Mapping[str, Any]) -> dict[str, Any]:
    details = entry.get("error_details")
    details = details if isinstance(details, Mapping) else {}
    return {"type": str(details.get("type") or details.get("code") or "error"),
            "message": str(details.get("message") or ""), "count": _number(entry.get("count"))}


def _slos(summary: Mapping[str, Any]) -> dict[str, float]:
    """The run's own goodput thresholds that the page's inputs can show."""
    config = summary.get("input_config")
    benchmark = config.get("benchmark") if isinstance(config, Mapping) else None
    slos = benchmark.get("slos") if isinstance(benchmark, Mapping) else None
    if not isinstance(slos, Mapping):
        return {}
    out = {}
    for name, (tag, _) in SLO_TAGS.items():
        value = _number(slos.get(tag))
        if value is not None:
            out[name] = value
    return out


def _config(run_dir: Path, summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each resolved setting with where it came from and the rule that decided it, from
    the run's ``explain.json``; for a run without one (NVIDIA AIPerf's), the summary's
    ``input_config`` flattened, its origin unknown."""
    try:
        explained = json.loads((run_dir / "explain.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        explained = None
    if isinstance(explained, Mapping) and isinstance(explained.get("fields"), list):
        rows = []
        for field in explained["fields"]:
            if not isinstance(field, Mapping):
                continue
            origin = _mapping(field.get("origin"))
            rule = _mapping(field.get("rule"))
            value = field.get("value")
            if field.get("secret") and value not in (None, {}, []):
                value = REDACTED
            rows.append({"key": str(field.get("key")), "value": _jsonable(value),
                         "origin": str(origin.get("text") or ""),
                         "rule": str(rule.get("id") or ""),
                         "because": str(field.get("because") or "")})
        return rows
    config = summary.get("input_config")
    return [{"key": k, "value": _jsonable(v), "origin": "unknown (no explain.json)",
             "rule": "", "because": ""} for k, v in _flatten(config)]


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, Mapping) and value:
        out = []
        for k, v in value.items():
            out += _flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    return [(prefix, value)] if prefix else []


# --------------------------------------------------------------------------- several runs


def _groups(loaded: Sequence[LoadedRun]) -> list[tuple[str, list[LoadedRun]]]:
    """Runs side by side: the trials of one experiment's cell together, every other run
    on its own, in the order given."""
    groups: dict[tuple[Any, ...], tuple[str, list[LoadedRun]]] = {}
    for each in loaded:
        identity = each.run.manifest.identity
        if identity.trial is not None and identity.experiment_id is not None:
            key: tuple[Any, ...] = ("trials", identity.experiment_id, identity.cell)
            name = each.name.rsplit("/", 2)[0] if "/" in each.name else each.name
        else:
            key, name = ("run", each.name), each.name
        groups.setdefault(key, (name, []))[1].append(each)
    return list(groups.values())


def _stat(each: LoadedRun, tag: str, stat: str) -> float | None:
    return _number(_block(each.summary, tag).get(stat))


def _comparison(groups: Sequence[tuple[str, Sequence[LoadedRun]]]) -> dict[str, Any]:
    """Each group against the first (the baseline): the means of each compared statistic,
    the relative change, and a 95% Welch interval of the difference where both sides have
    at least two trials."""
    (base_name, base), others = groups[0], groups[1:]
    rows = []
    for name, runs in others:
        for tag, stat in COMPARED:
            a = [v for v in (_stat(r, tag, stat) for r in base) if v is not None]
            b = [v for v in (_stat(r, tag, stat) for r in runs) if v is not None]
            if not a or not b:
                continue
            mean_a, mean_b = statistics.fmean(a), statistics.fmean(b)
            low, high = welch_interval(a, b)
            info = metric_info(tag)
            rows.append({
                "treatment": name, "tag": tag, "stat": stat,
                "label": f"{info.header} {stat}", "unit": info.unit,
                "larger_is_better": info.larger_is_better,
                "baseline": mean_a, "value": mean_b, "delta": mean_b - mean_a,
                "delta_pct": 100.0 * (mean_b - mean_a) / mean_a if mean_a else None,
                "ci_low": low, "ci_high": high, "trials": [len(a), len(b)],
            })
    return {"baseline": base_name, "treatments": [n for n, _ in others], "rows": rows}


def welch_interval(a: Sequence[float], b: Sequence[float]) -> tuple[float | None, float | None]:
    """The 95% Welch-Satterthwaite interval of mean(b) - mean(a); None without at least
    two values on each side (degrees of freedom rounded down: the wider interval)."""
    if len(a) < 2 or len(b) < 2:
        return None, None
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    diff = statistics.fmean(b) - statistics.fmean(a)
    se = math.sqrt(va + vb)
    if se == 0:
        return diff, diff
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = t_critical(0.95, max(1, math.floor(dof))) * se
    return diff - half, diff + half


def pareto_points(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Latency p50 against output token throughput per run, and which are on the
    frontier (lower latency, higher throughput) among the runs not degraded; runs
    without both values are left out."""
    import numpy as np

    from aiperf.plot.pareto import pareto_front

    points = []
    for run in runs:
        latency = next((m["stats"]["p50"] for m in run["metrics"]
                        if m["tag"] == "request_latency"), None)
        throughput = next((s["value"] for s in run["scalars"]
                           if s["tag"] == "output_token_throughput"), None)
        if latency is not None and throughput is not None:
            points.append((run["name"], latency, throughput, run["degraded"]))
    usable = [p for p in points if not p[3]]
    front: Sequence[bool] = list(pareto_front(
        np.array([p[1] for p in usable], dtype=float),
        np.array([p[2] for p in usable], dtype=float))) if usable else []
    on_front = {p[0] for p, f in zip(usable, front, strict=True) if f}
    return {"x": "request_latency p50 (ms)", "y": "output_token_throughput (tokens/sec)",
            "points": [{"name": n, "latency": x, "throughput": y, "front": n in on_front,
                        "degraded": bad} for n, x, y, bad in points]}


# --------------------------------------------------------------------------- plain values


def _block(summary: Mapping[str, Any], tag: str) -> Mapping[str, Any]:
    return _mapping(summary.get(tag))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _column(series: Any) -> list[float | None]:
    """A float column, rounded to the microsecond or 1e-3 unit, NaN as null."""
    return [None if v != v else round(float(v), 6) for v in series.tolist()]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
