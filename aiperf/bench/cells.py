"""How each cell of a sweep, or probe of a search, went: its status (complete, degraded,
failed, partial, not run) and its summary, read back from what the run wrote."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiperf.bench.outcome import STOP_CODES
from aiperf.config.sweep import Cell

#: Why a planned cell has no results when the sweep was stopped before it started.
NOT_RUN_REASON = "the sweep was stopped before it started"


def sweep_summary_line(results: Sequence[Any]) -> str:
    """The console's one line about how a sweep's cells went, e.g. ``sweep: 1 of 3 cells
    succeeded; not: concurrency4 (stopped by the user); not run: concurrency8``. Cells a
    stopped sweep never started are named apart, so the line says the sweep is unfinished
    rather than lumping them with cells that ran and failed."""
    good = [r.name for r in results if r.status == "complete"]
    bad = [f"{r.name} ({r.reason})" for r in results
           if r.status not in ("complete", "not_run")]
    not_run = [r.name for r in results if r.status == "not_run"]
    return (f"sweep: {len(good)} of {len(results)} cells succeeded"
            + (f"; not: {', '.join(bad)}" if bad else "")
            + (f"; not run: {', '.join(not_run)}" if not_run else ""))


def cell_result(cell: Cell, run_dir: Path, code: int, max_error_rate: float) -> Any:
    """How one cell went, with its summary (the trials' means when it ran trials): a cell
    with successful requests but an error rate above ``max_error_rate`` is degraded."""
    from aiperf.bench.sweep_aggregate import CellResult
    from aiperf.recipes.degraded import degraded_reason

    if code in STOP_CODES:
        return CellResult(cell.name, cell.values, "partial", "stopped by the user", None)
    status, reason = run_status_of(run_dir)
    if status == "aborted":
        return CellResult(cell.name, cell.values, "failed", reason or "aborted",
                          cell_summary(run_dir))
    summary = cell_summary(run_dir)
    if summary is None:
        return CellResult(cell.name, cell.values, "failed", "no results", None)
    count = summary.get("request_count")
    ok = isinstance(count, dict) and (count.get("avg") or 0) > 0
    if not ok:
        return CellResult(cell.name, cell.values, "failed", "no successful requests", summary)
    degraded = degraded_reason(summary, max_error_rate)
    if degraded is not None:
        return CellResult(cell.name, cell.values, "degraded", degraded, summary)
    return CellResult(cell.name, cell.values, "complete", None, summary)


def run_status_of(run_dir: Path) -> tuple[str | None, str | None]:
    """The status and reason ``run.json`` in ``run_dir`` records; Nones when there is none
    (a cell of trials: its base holds no single run's status)."""
    from aiperf.artifacts.manifest import read_run

    try:
        manifest = read_run(run_dir).manifest
    except (OSError, ValueError):
        return None, None
    return manifest.status, manifest.partial_reason


def cell_summary(run_dir: Path) -> dict[str, Any] | None:
    import json

    from aiperf.artifacts.manifest import read_run
    from aiperf.bench.aggregate import AGGREGATE_JSON

    aggregate = run_dir / "aggregate" / AGGREGATE_JSON
    if aggregate.is_file():
        # Trials: each metric's statistics are the trials' means.
        metrics = json.loads(aggregate.read_text(encoding="utf-8"))["metrics"]
        summary: dict[str, Any] = {}
        for key, entry in metrics.items():
            tag, _, stat = key.rpartition("_")
            summary.setdefault(tag, {"unit": entry.get("unit")})[stat] = entry["mean"]
        return summary
    try:
        return read_run(run_dir).summary()
    except (OSError, ValueError):
        return None


