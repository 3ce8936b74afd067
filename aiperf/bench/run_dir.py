"""Make room for a new run in a directory that holds an earlier one.

A rerun with the same settings lands in the same directory (the default name,
``artifacts/<model>-concurrency<N>``, does not change). Left alone, the earlier run's
trials, aggregate and plots would sit beside the new ones and be read as one
experiment. So before a run writes anything, :func:`clear_earlier_run` either moves
the earlier run aside into a sibling directory named after its start time,
``<dir>.<YYYYmmdd-HHMMSS>`` (``-2``, ``-3``, ... when that is taken), or, with
``--overwrite``, deletes it.

Only what the earlier run owns is moved or deleted: its ``run.json``, the files and
folders that ``run.json`` lists, the folders aiperf makes after the run (``plots/``,
the plot config receipt), and, for an experiment's base, each trial or cell it lists
whose own ``run.json`` carries the same experiment id (by the same rule, recursively).
Files aiperf did not write stay where they are, in both cases: the directory may hold
the user's own notes, and a benchmark must never lose them. Folders emptied by the move
are removed; a folder that still holds a user's file stays.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import attrs

from aiperf.artifacts.manifest import MANIFEST_FILE, READY_MARKER_FILE, RESOLVED_CONFIG_FILE
from aiperf.bench.experiment import RUN_ROLE

__all__ = ["Cleared", "clear_earlier_run"]

#: Written into a run directory after its run.json (by auto-plot or ``aiperf plot``), so
#: never listed there, yet aiperf's. The receipt's name is spelled out rather than
#: imported: the plot side must not be a dependency of the runner.
_MADE_LATER = ("plots", ".aiperf-plot-config.yaml")

#: What aiperf writes into a run directory, for an earlier run whose run.json cannot be
#: read: its list is lost, but these names are ours whoever wrote them.
_FIXED_NAMES = (
    "profile_export.jsonl", "profile_export_aiperf.json", "profile_export_aiperf.csv",
    "profile_export_aiperf_timeslices.csv", "profile_export_aiperf_timeslices.json",
    READY_MARKER_FILE, RESOLVED_CONFIG_FILE, "explain.json", "search_history.json",
    "profile_runs", "aggregate", "sweep_aggregate",
)


@attrs.frozen
class Cleared:
    """What became of an earlier run: moved to ``moved_to``, or deleted (None).

    ``kept`` counts the files aiperf did not write, left in the directory.
    """

    directory: Path
    moved_to: Path | None
    kept: int

    def message(self) -> str:
        """One console line saying where the earlier run went."""
        what = (f"moved the earlier run in {self.directory} to {self.moved_to}"
                if self.moved_to is not None
                else f"deleted the earlier run in {self.directory} (--overwrite)")
        if self.kept:
            what += (f"; {self.kept} file(s) aiperf did not write stay in "
                     f"{self.directory}")
        return what


def clear_earlier_run(directory: Path, overwrite: bool) -> Cleared | None:
    """Move aside (or, with ``overwrite``, delete) the earlier aiperf run in
    ``directory``; None when it holds none (no ``run.json``). ``OSError`` propagates."""
    if not (directory / MANIFEST_FILE).is_file():
        return None
    manifest = _read_manifest(directory)
    owned = _outermost(set(_owned(directory, PurePosixPath(), manifest)))
    target = None if overwrite else _free_sibling(directory, _start_stamp(directory, manifest))
    for relative in owned:
        source = directory / relative
        if target is None:
            _delete(source)
        else:
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, destination)
    _prune(directory, owned)
    kept = sum(len(files) for _, _, files in os.walk(directory))
    return Cleared(directory, target, kept)


def _read_manifest(directory: Path) -> dict[str, Any] | None:
    """The run.json object, or None when it is not a readable JSON object."""
    try:
        data = json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _owned(directory: Path, prefix: PurePosixPath,
           manifest: dict[str, Any] | None) -> Iterator[PurePosixPath]:
    """The paths (relative to the top directory, under ``prefix``) the run in
    ``directory`` owns, descending into the runs it lists."""
    yield prefix / MANIFEST_FILE
    files = manifest.get("files") if manifest is not None else None
    if isinstance(files, dict):
        entries = {str(name): role for name, role in files.items()}
    else:
        entries = dict.fromkeys(_FIXED_NAMES, "")
    entries.update(dict.fromkeys(_MADE_LATER, "made later"))
    experiment = manifest.get("experiment_id") if manifest is not None else None
    for name, role in entries.items():
        relative = _inside(name)
        if relative is None:
            continue  # a listed name that would leave the directory is never ours
        path = directory / relative
        if not (path.exists() or path.is_symlink()):
            continue
        if role != RUN_ROLE:
            yield prefix / relative
            continue
        child = _read_manifest(path) if (path / MANIFEST_FILE).is_file() else None
        # A listed run is ours only if it says so: a folder of the same name left by
        # another experiment (or by the user) is not.
        if child is not None and experiment is not None \
                and child.get("experiment_id") == experiment:
            yield from _owned(path, prefix / relative, child)


def _inside(name: str) -> PurePosixPath | None:
    """``name`` as a path below the directory, or None when it would leave it."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or path == PurePosixPath("."):
        return None
    return path


def _outermost(paths: set[PurePosixPath]) -> list[PurePosixPath]:
    """``paths`` without those inside another of them (moved with it), sorted."""
    return sorted(p for p in paths if not any(q in p.parents for q in paths))


def _start_stamp(directory: Path, manifest: dict[str, Any] | None) -> str:
    """``YYYYmmdd-HHMMSS`` of the earlier run's start (its own local time), or of its
    run.json's last change when it does not say."""
    started = manifest.get("started") if manifest is not None else None
    when = None
    if isinstance(started, str):
        try:
            when = dt.datetime.fromisoformat(started)
        except ValueError:
            when = None
    if when is None:
        when = dt.datetime.fromtimestamp((directory / MANIFEST_FILE).stat().st_mtime)
    return when.strftime("%Y%m%d-%H%M%S")


def _free_sibling(directory: Path, stamp: str) -> Path:
    """``<directory>.<stamp>``, or with ``-2``, ``-3``, ... when that exists already."""
    # Named like the directory was given (relative stays relative), but "." and ".."
    # have no name of their own.
    here = directory if directory.name not in ("", ".", "..") else directory.resolve()
    candidate = here.with_name(f"{here.name}.{stamp}")
    number = 2
    while candidate.exists() or candidate.is_symlink():
        candidate = here.with_name(f"{here.name}.{stamp}-{number}")
        number += 1
    return candidate


def _delete(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _prune(directory: Path, owned: list[PurePosixPath]) -> None:
    """Remove the folders the owned paths sat in (a trial's, ``profile_runs/``) once
    they are empty, deepest first; the top directory itself stays for the new run."""
    folders = {parent for p in owned for parent in p.parents if parent != PurePosixPath()}
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        try:
            (directory / folder).rmdir()
        except OSError:
            pass  # still holds a file aiperf did not write: it stays
