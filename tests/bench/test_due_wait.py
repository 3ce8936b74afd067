"""Waiting for a request's due time (aiperf.bench.due_wait): never early, and the busy
part of the wait kept within its share of the wall time. No assertion here depends on
how late a loaded machine wakes a sleeper."""

from __future__ import annotations

import asyncio
import random

from aiperf.bench.clock import perf_ns
from aiperf.bench.due_wait import EARLY_NS, DueWait


def _waits(wait: DueWait, delays_ns: list[int]) -> list[int]:
    """Wait for each delay in turn (from the previous wait's end); how far past its due
    time each wait returned."""

    async def main() -> list[int]:
        past = []
        for delay in delays_ns:
            due = perf_ns() + delay
            await wait.until(due)
            past.append(perf_ns() - due)
        return past

    return asyncio.run(main())


def test_a_wait_never_ends_before_its_due_time():
    rng = random.Random(7)
    delays = [rng.randrange(0, 4 * EARLY_NS) for _ in range(200)]

    assert min(_waits(DueWait(budget=1.0), delays)) >= 0


def test_a_due_time_already_past_returns_without_spinning():
    wait = DueWait(budget=1.0)

    assert min(_waits(wait, [-EARLY_NS] * 20)) >= 0
    assert 0 == wait.spun_ns


def test_without_a_budget_the_timer_alone_waits():
    wait = DueWait(budget=0.0)

    assert min(_waits(wait, [EARLY_NS // 2] * 50)) >= 0
    assert 0 == wait.spun_ns


def test_the_busy_part_of_the_waits_stays_within_its_budget():
    """Waits shorter than the early margin would be busy from start to end; the budget
    lets them spin only while the spinning so far is under its share of the time."""
    wait = DueWait(budget=0.05)

    async def main() -> int:
        start = perf_ns()
        for _ in range(300):
            await wait.until(perf_ns() + EARLY_NS // 2)
        return perf_ns() - start

    elapsed = asyncio.run(main())

    assert 0 < wait.spun_ns <= 0.05 * elapsed + EARLY_NS
