"""The ``run.json`` of an experiment's base directory (trials, a sweep, a recipe).

The trials and cells of one experiment each write their own ``run.json``; the base
directory above them gets one too, of kind ``experiment``. It carries the experiment id
that every trial and cell repeats (so ``aiperf plot`` groups runs by id, never by folder
layout alone) and lists what the experiment made: its runs (role ``run``) and its own
files and folders (the aggregate, ``explain.json``, ...). The list is what a later run
into the same directory moves aside or deletes (:mod:`aiperf.bench.run_dir`), so it is
written before the first run starts and again as each run is added: a crash leaves a
base that still says what belongs to it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import attrs

import aiperf
from aiperf.artifacts.manifest import RunIdentity, RunManifest, Status, write_manifest

__all__ = ["RUN_ROLE", "Experiment", "new_experiment_id"]

#: The role, in a base's ``files``, of an entry that is a run directory of its own.
RUN_ROLE = "run"


def new_experiment_id() -> str:
    """A fresh experiment id: 32 hex digits, unique across reruns into one directory."""
    return uuid.uuid4().hex


def _now() -> str:
    """Local wall-clock time with its UTC offset, like a run's ``started``."""
    return dt.datetime.now().astimezone().isoformat(timespec="microseconds")


@attrs.define
class Experiment:
    """An experiment's base directory and the list of what it has made so far.

    ``identity`` places the base itself: a sweep cell that runs trials is the base of
    its trials and, at the same time, a cell of the sweep (same experiment id).
    """

    base: Path
    experiment_id: str = attrs.field(factory=new_experiment_id)
    identity: RunIdentity = RunIdentity()
    started: str = attrs.field(factory=_now)
    files: dict[str, str] = attrs.field(factory=dict)

    def run_identity(self, **where: object) -> RunIdentity:
        """The identity of a run of this experiment (``parent``, ``trial``, ``cell``)."""
        return RunIdentity(**where, experiment_id=self.experiment_id)  # type: ignore[arg-type]

    def add(self, name: str, role: str = RUN_ROLE) -> None:
        """Record ``name`` (relative to the base) as the experiment's, then save the list
        at once, before anything is written there."""
        self.files[name] = role
        self.write()

    def write(self, status: Status = "partial", reason: str | None = "in progress",
              ended: str | None = None) -> None:
        """Write the base's ``run.json`` (``partial``, "in progress" until :meth:`finish`)."""
        identity = attrs.evolve(self.identity, experiment_id=self.experiment_id)
        write_manifest(self.base, RunManifest(
            kind="experiment", status=status, partial_reason=reason,
            benchmark_id=self.experiment_id[:12], aiperf_version=aiperf.__version__,
            started=self.started, ended=ended, identity=identity, files=self.files))

    def finish(self, stopped: bool) -> None:
        """The final ``run.json``: complete, or partial when the user stopped it."""
        self.write("partial" if stopped else "complete",
                   "stopped by the user" if stopped else None, _now())
