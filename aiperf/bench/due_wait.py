"""Waiting for a request's due time to within tens of microseconds, not a millisecond.

asyncio's timers wake through ``epoll_wait`` (uvloop's through libuv), whose timeout is
in whole milliseconds, rounded up: a plain ``asyncio.sleep`` wakes up to a millisecond
late (0.94 ms at the median on a 2-core VM), and every request of a rate or trace run
started that late. :class:`DueWait` ends the timer's part of the wait a millisecond early
and then yields to the loop (``sleep(0)``, so every other callback and read still runs at
once) until the due time.

The yielding is busy: it costs CPU for whatever part of that millisecond the timer did not
use (little, as the timer is usually late itself). Where requests come so often that it
would turn into busy-waiting, a budget stops it: once the yielding has taken more than
:data:`SPIN_BUDGET` of the time since the first wait, a wait is the timer's alone, as
before. Either way a wait never ends before its due time.
"""

from __future__ import annotations

import asyncio

from aiperf.bench.clock import perf_ns

#: The timer's part of a wait ends this long before the due time (epoll's rounding).
EARLY_NS = 1_000_000
#: The share of the wall time the yielding may take, at most.
SPIN_BUDGET = 0.02


class DueWait:
    """Waits for due times on the running loop (one per open-loop run)."""

    def __init__(self, budget: float = SPIN_BUDGET) -> None:
        self._budget = budget
        self._first_ns: int | None = None
        #: Nanoseconds spent yielding until due times, over this waiter's life.
        self.spun_ns = 0

    async def until(self, due_ns: int) -> None:
        """Return at ``due_ns`` (``perf_counter_ns``) or just after it, never before."""
        now = perf_ns()
        if self._first_ns is None:
            self._first_ns = now
        if now >= due_ns:
            return
        if not self._may_spin(now):
            await asyncio.sleep((due_ns - now) / 1e9)
            return
        if due_ns - now > EARLY_NS:
            await asyncio.sleep((due_ns - EARLY_NS - now) / 1e9)
        started = perf_ns()
        while perf_ns() < due_ns:
            await asyncio.sleep(0)
        self.spun_ns += perf_ns() - started

    def _may_spin(self, now: int) -> bool:
        assert self._first_ns is not None
        return self.spun_ns < self._budget * (now - self._first_ns)
