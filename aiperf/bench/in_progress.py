"""The ``run.json`` a run writes before it starts, so a killed process leaves a readable run.

It says ``partial`` with the reason :data:`IN_PROGRESS_REASON` and lists only the
per-request JSONL that :mod:`aiperf.bench.record_writer` streams: if the process dies
(SIGKILL, out of memory, power) that is what remains, and ``aiperf plot`` finds the
records through it. The exporter replaces it, atomically, with the finished run's
manifest; a run that ends normally never shows it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import aiperf
from aiperf.artifacts.manifest import ExportNames, RunIdentity, RunKind, RunManifest, write_manifest

__all__ = ["IN_PROGRESS_REASON", "mark_in_progress"]

#: What run.json says until the run's own manifest replaces it.
IN_PROGRESS_REASON = "the process ended before the run finished"


def mark_in_progress(run_dir: Path, names: ExportNames, benchmark_id: str,
                     kind: RunKind = "single", identity: RunIdentity | None = None) -> Path:
    """Write ``run_dir/run.json`` for a run under way; return its path."""
    manifest = RunManifest(
        kind=kind,
        status="partial",
        partial_reason=IN_PROGRESS_REASON,
        benchmark_id=benchmark_id,
        aiperf_version=aiperf.__version__,
        started=datetime.now().astimezone().isoformat(timespec="microseconds"),
        identity=identity or RunIdentity(),
        export_names=names,
        files={names.records: "records"},
    )
    return write_manifest(run_dir, manifest)
