"""What a finished run was: its status in run.json, and the exit code it leaves.

The statuses: ``complete`` (every request was sent and at least one succeeded),
``no_success`` (every request was sent and none succeeded: HTTP errors, timeouts,
malformed answers), ``partial`` (the user stopped it: Ctrl-C or SIGTERM), ``aborted`` (it
stopped because the server went away). The exit codes (the README lists them): 0 a run
that finished, even one whose requests all failed (its errors are its data, and auto-plot
then reports "no data", as the auto-plot spec says), 1 one that could not start or was
aborted, 3 a finished run that breached a threshold (``--fail-on`` is how CI fails on
errors), 130 stopped by Ctrl-C, 143 stopped by SIGTERM.
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # profile.py imports the exit codes at start-up: keep this light
    from aiperf.bench.metrics import RunMetrics
    from aiperf.bench.records import RequestError

EXIT_OK, EXIT_FAILED, EXIT_THRESHOLD = 0, 1, 3
#: 128 + the signal's number, as a shell reports a process the signal killed.
EXIT_INTERRUPTED, EXIT_TERMINATED = 128 + signal.SIGINT, 128 + signal.SIGTERM
#: The codes of a run the user stopped: no more runs after it.
STOP_CODES = frozenset({EXIT_INTERRUPTED, EXIT_TERMINATED})


def run_status(runner_status: str, reason: str | None,
               metrics: RunMetrics) -> tuple[str, str | None]:
    """The run's status and the reason it is not complete (None when it is).

    The runner knows whether the run was stopped or aborted; only the metrics know that
    a run which sent every request got no answer worth having.
    """
    if runner_status != "complete" or metrics.ok_count > 0:
        return runner_status, reason
    if not metrics.profiling_count:
        return "no_success", "no request was measured"
    commonest = metrics.errors[0] if metrics.errors else None
    why = "" if commonest is None else (
        f"; commonest error ({commonest.count}x): {_error_text(commonest.error)}")
    return "no_success", f"no successful request: all {metrics.profiling_count} failed{why}"


def _error_text(error: RequestError) -> str:
    code = f" {error.code}" if error.code is not None else ""
    return f"{error.type}{code}: {error.message}"


def stop_code(signals: Sequence[int]) -> int:
    """The exit code of a run stopped by ``signals`` (the first one decides): 143 for
    SIGTERM, else 130."""
    return EXIT_TERMINATED if signals and signals[0] == signal.SIGTERM else EXIT_INTERRUPTED


def exit_code(status: str, thresholds_breached: bool, signals: Sequence[int] = ()) -> int:
    """The exit code one run leaves: a stop beats a failure, which beats a threshold. A
    run ended early with no signal (a distributed run's worker died) failed: exit 1."""
    if status == "partial":
        return stop_code(signals) if signals else EXIT_FAILED
    if status in ("aborted", "failed"):
        return EXIT_FAILED
    return EXIT_THRESHOLD if thresholds_breached else EXIT_OK


__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_TERMINATED", "EXIT_THRESHOLD",
           "STOP_CODES", "exit_code", "run_status", "stop_code"]
