"""Find the run directories under the paths given to ``aiperf plot``, and the plot mode.

A directory is a run when :func:`aiperf.artifacts.manifest.read_run` accepts it: it has our
``run.json`` (so custom ``--profile-export-prefix`` names are found), or NVIDIA AIPerf
0.13's ``profile_export.jsonl`` with ``profile_export_aiperf.json``. Unlike the
reference, ``profile_runs/`` folders are always walked, and a mistyped path is reported
as such before anything is written: this module only reads.

Runs belong to one experiment when their ``run.json`` files say so (the same
``experiment_id`` as the experiment's base), never by folder layout alone: a trial
folder an earlier run left below a base with another id is ignored, with a note. A run
whose files are broken is skipped with a one-line note, so one bad run among many does
not stop the others from plotting.

Light on purpose (no pandas, numpy or matplotlib): it runs before the plot command
decides whether there is anything to draw.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

import attrs

from aiperf.artifacts.manifest import (
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
    ``base`` is the first path given; run names are relative to it. ``notes`` say, one
    line each, which directories were skipped and why.
    """

    mode: Mode
    runs: tuple[RunDir, ...]
    base: Path
    notes: tuple[str, ...] = ()

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
    :class:`PlotInputError` (naming the broken file when its only run is broken).
    Nothing is created or modified.
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
    notes: list[str] = []
    experiments = _Experiments()
    for root in roots:
        runs: list[tuple[RunDir, bool]] = []
        broken: list[str] = []
        for directory, linked in _walk(root):
            try:
                run = _load(directory)
            except PlotInputError as exc:
                broken.append(str(exc))
                continue
            if run is None:
                continue
            if run.manifest.kind == "experiment":
                # A base measures nothing itself; it only vouches for its runs.
                experiments.remember(run)
                continue
            runs.append((run, linked))
        if not runs and broken:
            raise PlotInputError(broken[0])
        if not runs:
            raise PlotInputError(
                f"{root}: no run directories found (looked for {MANIFEST_FILE}, or "
                f"{REFERENCE_NAMES.records} with {REFERENCE_NAMES.summary_json})"
            )
        notes += [f"skipped {why}" for why in broken]
        for run, linked in runs:
            key = run.path.resolve()
            if key not in found or (found[key][1] and not linked):
                found[key] = (run, linked)

    kept = []
    for run in sorted((run for run, _ in found.values()), key=lambda run: run.path):
        stray = experiments.stray(run)
        if stray is None:
            kept.append(run)
        else:
            notes.append(stray)
    if not kept:
        raise PlotInputError(f"{roots[0]}: every run found is left over from an earlier "
                             "experiment: " + "; ".join(notes))
    ordered = tuple(kept)
    return Discovery(mode=_mode(ordered, experiments), runs=ordered, base=roots[0],
                     notes=tuple(notes))


class _Experiments:
    """The experiment ids of base directories, read once each, by resolved path."""

    def __init__(self) -> None:
        self._ids: dict[Path, str | None] = {}

    def remember(self, base: RunDir) -> None:
        self._ids[base.path.resolve()] = base.manifest.identity.experiment_id

    def of_parent(self, run: RunDir) -> tuple[bool, str | None]:
        """Whether ``run``'s parent is an experiment base, and that base's id."""
        parent = run.manifest.identity.parent
        if parent is None:
            return False, None
        key = (run.path / parent).resolve()
        if key not in self._ids:
            # The parent was not walked (a trial given on its own): read it now.
            try:
                base = read_run(key)
            except (OSError, ValueError, TypeError):
                return False, None
            if base.manifest.kind != "experiment":
                return False, None
            self.remember(base)
        return True, self._ids[key]

    def stray(self, run: RunDir) -> str | None:
        """A note when ``run`` sits below an experiment base that does not list it as
        its own (another experiment id: an earlier run's leftover); None otherwise."""
        has_base, base_id = self.of_parent(run)
        own = run.manifest.identity.experiment_id
        if not has_base or own == base_id:
            return None
        base = (run.path / (run.manifest.identity.parent or ".")).resolve()
        return (f"ignored {run.path}: left over from an earlier experiment (its "
                f"experiment_id {own} is not {base}'s {base_id})")


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
    """The run in ``directory``, None when it is not one; :class:`PlotInputError`
    naming the file when its run files are broken (they are the user's to fix)."""
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


def _mode(runs: Sequence[RunDir], experiments: _Experiments) -> Mode:
    if len(runs) == 1:
        return "single"
    if _all_trials_by_manifest(runs, experiments) or _all_in_one_trials_folder(runs):
        return "trials"
    return "multi"


def _all_trials_by_manifest(runs: Sequence[RunDir], experiments: _Experiments) -> bool:
    """Every run's ``run.json`` says it is a trial of one cell of one experiment: the
    same experiment id, which is also their base's when they name one."""
    if not all(run.manifest.kind == "trial" for run in runs):
        return False
    cells = {run.manifest.identity.cell for run in runs}
    ids = {run.manifest.identity.experiment_id for run in runs}
    if len(cells) != 1 or len(ids) != 1 or None in ids:
        return False
    (experiment_id,) = ids
    for run in runs:
        if run.manifest.identity.parent is None:
            continue
        has_base, base_id = experiments.of_parent(run)
        if not has_base or base_id != experiment_id:
            return False
    return True


def _all_in_one_trials_folder(runs: Sequence[RunDir]) -> bool:
    """NVIDIA AIPerf 0.13's trials, which have no run.json to say so: every run sits
    directly in the same ``profile_runs/`` folder (``.../run_0001``).

    Runs deeper down (``profile_runs/trial_0001/<cell>/``) are cells of a sweep, not
    trials of one experiment, so they do not count; our own runs are grouped by their
    experiment id only.
    """
    if any(run.from_manifest for run in runs):
        return False
    parents = {run.path.resolve().parent for run in runs}
    return len(parents) == 1 and parents.pop().name == _TRIALS_FOLDER
