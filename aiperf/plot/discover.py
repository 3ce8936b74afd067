"""Find the run directories under the paths given to ``aiperf plot``, and the plot mode.

A directory is a run when :func:`aiperf.bench.manifest.read_run` accepts it: it has our
``run.json`` (so custom ``--profile-export-prefix`` names are found), or NVIDIA AIPerf
0.13's ``profile_export.jsonl`` with ``profile_export_aiperf.json``. Unlike the
reference, ``profile_runs/`` folders are always walked, and a mistyped path is reported
as such before anything is written: this module only reads.

Light on purpose (no pandas, numpy or matplotlib): it runs before the plot command
decides whether there is anything to draw.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

import attrs

from aiperf.bench.manifest import (
    MANIFEST_FILE,
    REFERENCE_NAMES,
    NotARunDirectory,
    RunDir,
    read_run,
)

__all__ = ["Discovery", "Mode", "PlotInputError", "discover"]

Mode = Literal["single", "trials", "multi"]

#: Folders never walked into: our own output, and hidden folders (``.git``, caches).
_SKIPPED_FOLDER = "plots"
#: The folder that holds the trials of one experiment, in the reference's layouts.
_TRIALS_FOLDER = "profile_runs"


class PlotInputError(Exception):
    """Bad input for plotting: the message is one line naming the path, for the user."""


@attrs.frozen
class Discovery:
    """The runs found under the given paths, and how to plot them.

    ``runs`` is sorted by path and holds each directory once, however it was reached.
    ``base`` is the first path given; run names are relative to it.
    """

    mode: Mode
    runs: tuple[RunDir, ...]
    base: Path

    def name_of(self, run: RunDir) -> str:
        """The run's path relative to ``base``; the base's own name for the base itself.

        A run found under another given path (outside ``base``) is named by its
        relative path from ``base`` (``../other/run``), which stays unique.
        """
        try:
            relative = run.path.relative_to(self.base)
        except ValueError:
            try:
                return Path(os.path.relpath(run.path, self.base)).as_posix()
            except ValueError:  # another drive on Windows: no relative path exists
                return run.path.as_posix()
        if relative == Path("."):
            return self.base.name or self.base.resolve().name
        return relative.as_posix()


def discover(paths: Sequence[Path | str]) -> Discovery:
    """Find every run directory under ``paths`` and decide the plot mode.

    Every path must be an existing directory and must hold at least one run, else
    :class:`PlotInputError`. Nothing is created or modified.
    """
    roots = [Path(p) for p in paths]
    if not roots:
        raise PlotInputError("no run directory given")
    # All paths are checked before any is walked, so a typo is reported first.
    for root in roots:
        if not root.exists():
            raise PlotInputError(f"{root}: no such directory")
        if not root.is_dir():
            raise PlotInputError(f"{root}: not a directory")

    # One entry per resolved directory: the first reached, unless only a symbolic link
    # led there and a real path turns up later (names then follow the real layout).
    found: dict[Path, tuple[RunDir, bool]] = {}
    for root in roots:
        runs = [(_load(directory), linked) for directory, linked in _walk(root)]
        runs = [(run, linked) for run, linked in runs if run is not None]
        if not runs:
            raise PlotInputError(
                f"{root}: no run directories found (looked for {MANIFEST_FILE}, or "
                f"{REFERENCE_NAMES.records} with {REFERENCE_NAMES.summary_json})"
            )
        for run, linked in runs:
            key = run.path.resolve()
            if key not in found or (found[key][1] and not linked):
                found[key] = (run, linked)

    ordered = tuple(sorted((run for run, _ in found.values()), key=lambda run: run.path))
    return Discovery(mode=_mode(ordered), runs=ordered, base=roots[0])


def _walk(root: Path) -> Iterator[tuple[Path, bool]]:
    """``root`` and every folder below it, depth first in name order, each with whether a
    symbolic link led to it.

    Links are followed, but a folder reached a second time (a link loop, or a link to a
    folder also reached directly) is yielded without being walked again.
    """
    seen: set[Path] = set()
    pending = [(root, False)]
    while pending:
        directory, linked = pending.pop()
        yield directory, linked
        resolved = directory.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError:  # unreadable folder: its runs could not be loaded anyway
            continue
        children = [
            (Path(entry.path), linked or entry.is_symlink())
            for entry in entries
            if _walkable(entry.name) and _is_dir(entry)
        ]
        pending.extend(reversed(children))


def _walkable(name: str) -> bool:
    return name != _SKIPPED_FOLDER and not name.startswith(".")


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows symlinks
    except OSError:
        return False


def _load(directory: Path) -> RunDir | None:
    """The run in ``directory``, None when it is not one; bad run files are the user's."""
    try:
        return read_run(directory)
    except NotARunDirectory:
        return None
    # read_run parses files the user gave us; any failure there means a broken file,
    # which deserves a message naming it rather than a traceback.
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        manifest = directory / MANIFEST_FILE
        culprit = manifest if manifest.is_file() else directory / REFERENCE_NAMES.summary_json
        reason = str(exc).removeprefix(f"{culprit}: ") or type(exc).__name__
        raise PlotInputError(f"{culprit}: {reason}") from exc


def _mode(runs: Sequence[RunDir]) -> Mode:
    if len(runs) == 1:
        return "single"
    if _all_trials_by_manifest(runs) or _all_in_one_trials_folder(runs):
        return "trials"
    return "multi"


def _all_trials_by_manifest(runs: Sequence[RunDir]) -> bool:
    """Every run's ``run.json`` says it is a trial, of one cell of one experiment."""
    if not all(run.manifest.kind == "trial" for run in runs):
        return False
    cells = {run.manifest.identity.cell for run in runs}
    parents = {
        (run.path / run.manifest.identity.parent).resolve()
        for run in runs
        if run.manifest.identity.parent is not None
    }
    return len(cells) == 1 and len(parents) <= 1


def _all_in_one_trials_folder(runs: Sequence[RunDir]) -> bool:
    """Every run sits directly in the same ``profile_runs/`` folder (``.../trial_0001``).

    Runs deeper down (``profile_runs/trial_0001/<cell>/``) are cells of a sweep, not
    trials of one experiment, so they do not count.
    """
    parents = {run.path.resolve().parent for run in runs}
    return len(parents) == 1 and parents.pop().name == _TRIALS_FOLDER
