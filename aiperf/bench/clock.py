"""One clock for a run's timestamps: wall-clock instants derived from the monotonic clock.

A record's ``*_wall_ns`` are ``perf_counter_ns() + WALL_OFFSET_NS``, one offset for the
whole process, measured once. Reading ``time.time_ns()`` beside ``perf_counter_ns()`` for
every stamp would let a preemption between the two reads (tens of milliseconds on a
loaded machine) shift one stamp against the others: a request's acknowledgement, derived
from its send, could then land after its end. With one offset every wall stamp keeps
the order in which things happened, and wall differences equal perf differences.
"""

from __future__ import annotations

import time

__all__ = ["WALL_OFFSET_NS", "perf_ns", "wall_ns", "wall_of"]

perf_ns = time.perf_counter_ns


def _measure_offset(tries: int = 7) -> int:
    """``time_ns() - perf_counter_ns()``, from the tightest of a few bracketed reads."""
    best: tuple[int, int] | None = None
    for _ in range(tries):
        before = time.perf_counter_ns()
        wall = time.time_ns()
        after = time.perf_counter_ns()
        if best is None or after - before < best[0]:
            best = (after - before, wall - (before + after) // 2)
    assert best is not None
    return best[1]


#: Wall-clock time minus the monotonic clock, for this process.
WALL_OFFSET_NS = _measure_offset()


def wall_of(perf: int) -> int:
    """The wall-clock instant (ns since the epoch) of a ``perf_counter_ns()`` reading."""
    return perf + WALL_OFFSET_NS


def wall_ns() -> int:
    """Now, on the wall clock, as the run's timestamps read it."""
    return time.perf_counter_ns() + WALL_OFFSET_NS
