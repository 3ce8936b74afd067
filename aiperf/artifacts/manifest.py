"""The run manifest (``run.json``) and finding a run's files again.

``run.json`` is ours: it lists the files a run wrote and their roles, the export names
chosen with ``--profile-export-prefix`` / ``--profile-export-file``, the run's status and
identity. :func:`read_run` reads it back, and for directories written by NVIDIA AIPerf
0.13 (which have no ``run.json``) it builds an equivalent manifest from the reference's
fixed file names, so both load the same way.

This module reads and writes JSON only: no numpy, so ``config explain ARTIFACT_DIR`` and
run discovery stay light. Its schema is ``schemas/run.schema.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import attrs

from aiperf.artifacts.atomic import write_text_atomic

__all__ = [
    "MANIFEST_FILE",
    "READY_MARKER_FILE",
    "REFERENCE_NAMES",
    "RESOLVED_CONFIG_FILE",
    "ExportNames",
    "NotARunDirectory",
    "RecordCounts",
    "RunDir",
    "RunIdentity",
    "RunManifest",
    "export_names",
    "read_run",
    "write_manifest",
]

#: ``no_success``: the run finished but no request succeeded (every one got an HTTP
#: error, timed out...); ``partial``: the user stopped it; ``aborted``: the server went away.
Status = Literal["complete", "partial", "aborted", "no_success", "failed"]
#: ``experiment``: the base directory of trials or a sweep; it lists its runs, and has
#: no measurements of its own.
RunKind = Literal["single", "trial", "cell", "experiment"]

MANIFEST_FILE = "run.json"
RESOLVED_CONFIG_FILE = "resolved_config.yaml"
#: The reference's "results are complete" marker, written last.
READY_MARKER_FILE = ".aiperf_results_ready.json"
MANIFEST_SCHEMA_VERSION = 1

#: Suffixes removed from a ``--profile-export-prefix`` value before use, longest first,
#: so that ``--profile-export-prefix run.json`` still means ``run``.
_KNOWN_SUFFIXES = ("_raw.jsonl", "_timeslices.csv", "_timeslices.json", ".jsonl", ".json", ".csv")


@attrs.frozen
class ExportNames:
    """The file names of the three reference-format exports, and the options behind them."""

    records: str = "profile_export.jsonl"
    summary_json: str = "profile_export_aiperf.json"
    summary_csv: str = "profile_export_aiperf.csv"
    prefix: str | None = None
    export_file: str | None = None


#: The reference's fixed names (what AIPerf 0.13 writes without a prefix).
REFERENCE_NAMES = ExportNames()


def export_names(prefix: str | None = None, export_file: str | None = None) -> ExportNames:
    """The export names for ``--profile-export-prefix P`` and ``--profile-export-file NAME``.

    A prefix renames all three like the reference does (``P.json``, ``P.csv``,
    ``P.jsonl``) after stripping a known suffix and any directory part (the files always
    go into the run directory). ``NAME`` then sets the JSONL name alone; ``.jsonl`` is
    appended when it has no extension of that kind.
    """
    names = REFERENCE_NAMES
    if prefix:
        stem = _strip_known_suffix(Path(prefix).name)
        if not stem:
            msg = f"--profile-export-prefix {prefix!r} leaves no file name without its suffix"
            raise ValueError(msg)
        names = attrs.evolve(
            names, records=f"{stem}.jsonl", summary_json=f"{stem}.json", summary_csv=f"{stem}.csv"
        )
    if export_file:
        name = Path(export_file).name
        if not name:
            msg = f"--profile-export-file {export_file!r} has no file name"
            raise ValueError(msg)
        names = attrs.evolve(names, records=name if name.endswith(".jsonl") else f"{name}.jsonl")
    return attrs.evolve(names, prefix=prefix or None, export_file=export_file or None)


def _strip_known_suffix(name: str) -> str:
    for suffix in _KNOWN_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


@attrs.frozen
class RecordCounts:
    """How many requests the run made. ``warmup`` is None when not known; ``cancelled``
    requests were stopped in flight by the user and are not ``failed``."""

    profiling: int
    successful: int
    failed: int
    warmup: int | None = None
    cancelled: int = 0


@attrs.frozen
class RunIdentity:
    """Where a run sits in a larger experiment; all None for a single run.

    ``parent`` is the experiment's base directory, relative to this run's directory.
    ``experiment_id`` is shared by every trial and cell of one experiment and by its base;
    it, not the folder layout, says which runs belong together (an earlier run's folders
    left in the same place have another id).
    """

    parent: str | None = None
    trial: int | None = None
    cell: str | None = None
    experiment_id: str | None = None


def _read_only(files: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(files))


def _tuple_of(items: Iterable[Mapping[str, Any]]) -> tuple[Mapping[str, Any], ...]:
    return tuple(items)


@attrs.frozen
class RunManifest:
    """What ``run.json`` says about a run.

    ``files`` maps each file name in the run directory to its role (``records``,
    ``summary_json``, ``summary_csv``, ``resolved_config``, ``ready_marker``, ...).
    ``started`` / ``ended`` are ISO 8601 timestamps with the local UTC offset (those
    read from a reference directory have no offset: it does not record one).
    """

    kind: RunKind
    status: Status
    benchmark_id: str
    aiperf_version: str
    files: Mapping[str, str] = attrs.field(converter=_read_only)
    export_names: ExportNames = REFERENCE_NAMES
    partial_reason: str | None = None
    started: str | None = None
    ended: str | None = None
    identity: RunIdentity = RunIdentity()
    record_counts: RecordCounts | None = None
    schema_version: int = MANIFEST_SCHEMA_VERSION
    #: How synthetic prompts were sized (:meth:`aiperf.bench.calibrate.Calibration.to_json`).
    prompt_sizing: Mapping[str, Any] | None = None
    #: The run's thresholds with their measured values and verdicts
    #: (:meth:`aiperf.bench.thresholds.ThresholdResult.to_json`); empty when none was set.
    thresholds: tuple[Mapping[str, Any], ...] = attrs.field(default=(), converter=_tuple_of)
    #: A distributed run's workers: host, process, clock offset and its error bound, the
    #: requests each sent and how it ended; empty for a run in one process.
    workers: tuple[Mapping[str, Any], ...] = attrs.field(default=(), converter=_tuple_of)
    #: The client's event loop: ``asked`` (the resolved ``benchmark.event_loop``), ``used``
    #: (asyncio or uvloop, read off the running loop) and uvloop's ``version``; None when
    #: not known (a reference run, or an older aiperf).
    event_loop: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The manifest as the JSON object written to ``run.json``."""
        return {
            "schema_version": self.schema_version,
            "kind": self.kind,
            "status": self.status,
            "partial_reason": self.partial_reason,
            "benchmark_id": self.benchmark_id,
            "aiperf_version": self.aiperf_version,
            "started": self.started,
            "ended": self.ended,
            "parent": self.identity.parent,
            "trial": self.identity.trial,
            "cell": self.identity.cell,
            "experiment_id": self.identity.experiment_id,
            "record_counts": (
                None if self.record_counts is None else attrs.asdict(self.record_counts)
            ),
            "export_names": attrs.asdict(self.export_names),
            "files": dict(self.files),
            "prompt_sizing": None if self.prompt_sizing is None else dict(self.prompt_sizing),
            "thresholds": [dict(t) for t in self.thresholds],
            "workers": [dict(w) for w in self.workers],
            "event_loop": None if self.event_loop is None else dict(self.event_loop),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunManifest:
        """Read a manifest from the JSON object of ``run.json`` (``ValueError`` if malformed)."""
        try:
            counts = data.get("record_counts")
            return cls(
                kind=data["kind"],
                status=data["status"],
                partial_reason=data.get("partial_reason"),
                benchmark_id=data["benchmark_id"],
                aiperf_version=data["aiperf_version"],
                started=data.get("started"),
                ended=data.get("ended"),
                identity=RunIdentity(data.get("parent"), data.get("trial"), data.get("cell"),
                                     data.get("experiment_id")),
                record_counts=None if counts is None else RecordCounts(**counts),
                export_names=ExportNames(**data["export_names"]),
                files=data["files"],
                schema_version=data["schema_version"],
                prompt_sizing=data.get("prompt_sizing"),
                thresholds=data.get("thresholds") or (),
                workers=data.get("workers") or (),
                event_loop=data.get("event_loop"),
            )
        except (KeyError, TypeError) as exc:
            msg = f"malformed {MANIFEST_FILE}: {exc!r}"
            raise ValueError(msg) from exc


def write_manifest(run_dir: Path, manifest: RunManifest) -> Path:
    """Write ``run.json`` atomically and return its path.

    The runner may call this before the run starts with ``status="partial"`` and a reason
    such as "interrupted", so that a crash leaves a directory that says what it is.
    """
    path = Path(run_dir) / MANIFEST_FILE
    write_text_atomic(path, json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n")
    return path


# --------------------------------------------------------------------------- reading


class NotARunDirectory(ValueError):
    """A directory with neither ``run.json`` nor the reference's export files."""


@attrs.frozen
class RunDir:
    """A run directory found on disk, ours or the reference's.

    ``from_manifest`` is False when the manifest was rebuilt from the reference's fixed
    file names because the directory has no ``run.json``.
    """

    path: Path
    manifest: RunManifest
    from_manifest: bool

    @property
    def records_path(self) -> Path:
        """The per-request JSONL export."""
        return self.path / self.manifest.export_names.records

    @property
    def summary_json_path(self) -> Path:
        """The summary JSON export."""
        return self.path / self.manifest.export_names.summary_json

    @property
    def summary_csv_path(self) -> Path:
        """The summary CSV export."""
        return self.path / self.manifest.export_names.summary_csv

    def summary(self) -> dict[str, Any]:
        """The summary JSON (reference layout: one key per metric tag)."""
        return json.loads(self.summary_json_path.read_text(encoding="utf-8"))

    def iter_records(self, *, skip_corrupt: bool = False) -> Iterator[dict[str, Any]]:
        """The per-request records of the JSONL export, one mapping per request.

        Blank lines are ignored. A line that is not a JSON object raises ``ValueError``
        naming the file and line, unless ``skip_corrupt`` is set.
        """
        with self.records_path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    if skip_corrupt:
                        continue
                    msg = f"{self.records_path}:{number}: not valid JSON ({exc.msg})"
                    raise ValueError(msg) from exc
                if not isinstance(record, dict):
                    if skip_corrupt:
                        continue
                    msg = f"{self.records_path}:{number}: expected a JSON object"
                    raise ValueError(msg)
                yield record


def read_run(run_dir: str | Path) -> RunDir:
    """Load a run directory through its ``run.json``, or through the reference's fixed names.

    Raises :class:`NotARunDirectory` when the directory has neither ``run.json`` nor both
    ``profile_export.jsonl`` and ``profile_export_aiperf.json`` (the reference's test for
    a run directory), and ``ValueError`` when ``run.json`` is malformed.
    """
    path = Path(run_dir)
    manifest_path = path / MANIFEST_FILE
    if manifest_path.is_file():
        try:
            data = json.loads(manifest_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            msg = f"{manifest_path}: not valid JSON ({exc.msg})"
            raise ValueError(msg) from exc
        return RunDir(path=path, manifest=RunManifest.from_json(data), from_manifest=True)
    names = REFERENCE_NAMES
    if not ((path / names.records).is_file() and (path / names.summary_json).is_file()):
        msg = (
            f"{path} is not a run directory: it has no {MANIFEST_FILE}, and not both "
            f"{names.records} and {names.summary_json}"
        )
        raise NotARunDirectory(msg)
    return RunDir(path=path, manifest=_reference_manifest(path), from_manifest=False)


#: Roles of the files an AIPerf 0.13 run directory may hold.
_REFERENCE_ROLES = {
    REFERENCE_NAMES.records: "records",
    REFERENCE_NAMES.summary_json: "summary_json",
    REFERENCE_NAMES.summary_csv: "summary_csv",
    READY_MARKER_FILE: "ready_marker",
    "profile_export_console.txt": "console",
    "inputs.json": "inputs",
    "profile_export_raw.jsonl": "raw_records",
    "profile_export_aiperf_timeslices.csv": "timeslices_csv",
    "profile_export_aiperf_timeslices.json": "timeslices_json",
    "server_metrics_export.json": "server_metrics_json",
    "server_metrics_export.csv": "server_metrics_csv",
    "server_metrics_export.jsonl": "server_metrics_series",
    "gpu_telemetry_export.jsonl": "gpu_telemetry",
    "run_config.json": "run_config",
}


def _reference_manifest(path: Path) -> RunManifest:
    """The manifest an AIPerf 0.13 directory would have had, from its summary and marker."""
    summary = json.loads((path / REFERENCE_NAMES.summary_json).read_text(encoding="utf-8"))
    marker = _read_json_object(path / READY_MARKER_FILE)
    cancelled = bool(summary.get("was_cancelled") or marker.get("was_cancelled"))
    complete = summary.get("is_complete", True) and not marker.get("partial", False)
    status: Status = "complete" if complete and not cancelled else "partial"
    reason = None
    if status == "partial":
        reason = summary.get("incomplete_reason") or ("cancelled" if cancelled else "incomplete")
    successful = _scalar(summary, "request_count")
    failed = _scalar(summary, "error_request_count") or 0
    counts = None
    if successful is not None:
        counts = RecordCounts(profiling=successful + failed, successful=successful, failed=failed)
    return RunManifest(
        kind="single",
        status=status,
        partial_reason=reason,
        benchmark_id=str(summary.get("benchmark_id", "")),
        aiperf_version=str(summary.get("aiperf_version", "")),
        started=summary.get("start_time"),
        ended=summary.get("end_time"),
        record_counts=counts,
        files={name: role for name, role in _REFERENCE_ROLES.items() if (path / name).is_file()},
    )


def _scalar(summary: Mapping[str, Any], tag: str) -> int | None:
    entry = summary.get(tag)
    if isinstance(entry, Mapping) and isinstance(entry.get("avg"), int | float):
        return round(entry["avg"])
    return None


def _read_json_object(path: Path) -> dict[str, Any]:
    """A small JSON object file, or {} when absent or unreadable (it is advisory)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
