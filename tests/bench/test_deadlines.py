"""Tests for the shared per-request time limits (``aiperf.bench.deadlines``).

Delays are tens of milliseconds against limits of seconds (or the other way round), so
a loaded machine cannot flip an outcome.
"""

from __future__ import annotations

import asyncio

import pytest

from aiperf.bench.deadlines import NO_LIMIT, Deadlines


async def _sleep_within(deadlines: Deadlines, seconds: float) -> str:
    try:
        async with deadlines.limit():
            await asyncio.sleep(seconds)
    except TimeoutError:
        return "timeout"
    return "ok"


def test_a_block_past_its_limit_raises_timeout_error():
    """A block still running at its deadline is cancelled and raises TimeoutError."""
    deadlines = Deadlines(0.05)

    assert "timeout" == asyncio.run(_sleep_within(deadlines, 30))


def test_a_block_within_its_limit_is_untouched():
    """A block that ends before its deadline runs to its end."""
    deadlines = Deadlines(30)

    assert "ok" == asyncio.run(_sleep_within(deadlines, 0.01))


def test_a_timed_out_task_is_not_left_cancelling():
    """After the TimeoutError the task can go on awaiting (its cancel request is taken
    back, as asyncio.timeout does)."""
    deadlines = Deadlines(0.05)

    async def main() -> tuple[str, int, str]:
        first = await _sleep_within(deadlines, 30)
        cancelling = asyncio.current_task().cancelling()  # type: ignore[union-attr]
        await asyncio.sleep(0.01)
        return first, cancelling, "went on"

    assert ("timeout", 0, "went on") == asyncio.run(main())


def test_a_cancellation_from_elsewhere_is_not_a_timeout():
    """Cancelling the task (the user's Ctrl-C) raises CancelledError, not TimeoutError."""
    deadlines = Deadlines(30)

    async def main() -> str:
        task = asyncio.ensure_future(_sleep_within(deadlines, 30))
        await asyncio.sleep(0.01)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return "cancelled"
        return "not cancelled"

    assert "cancelled" == asyncio.run(main())


def test_each_request_gets_its_own_deadline():
    """Of requests started together, exactly those that outlast the limit time out,
    whatever order they end in."""
    deadlines = Deadlines(0.5)

    async def main() -> list[str]:
        return list(await asyncio.gather(*(
            _sleep_within(deadlines, s) for s in (0.01, 30, 0.02, 30, 0.01))))

    assert ["ok", "timeout", "ok", "timeout", "ok"] == asyncio.run(main())


def test_a_later_request_times_out_after_earlier_ones_ended():
    """A request started after many short ones have ended still times out: the limit
    does not depend on the first request's."""
    deadlines = Deadlines(0.2)

    async def main() -> tuple[list[str], str]:
        short = [await _sleep_within(deadlines, 0) for _ in range(500)]
        return short, await _sleep_within(deadlines, 30)

    short, late = asyncio.run(main())

    assert (["ok"] * 500, "timeout") == (short, late)


def test_one_long_request_does_not_stop_the_others_timing_out():
    """With a long request running (not past its limit yet), short ones behind it end
    normally and a stalled one started later still times out at its own deadline."""
    deadlines = Deadlines(1.0)

    async def main() -> list[str]:
        long = asyncio.ensure_future(_sleep_within(deadlines, 0.6))
        short = [await _sleep_within(deadlines, 0) for _ in range(300)]
        stalled = await _sleep_within(deadlines, 30)
        return [await long, *set(short), stalled]

    assert ["ok", "ok", "timeout"] == asyncio.run(main())


def test_the_limits_work_on_a_second_event_loop():
    """One Deadlines used on two loops in turn (two runs of one client) times out on
    both."""
    deadlines = Deadlines(0.05)

    assert ["timeout", "timeout"] == [asyncio.run(_sleep_within(deadlines, 30)),
                                      asyncio.run(_sleep_within(deadlines, 30))]


def test_no_limit_never_expires():
    """NO_LIMIT, for a run without a request timeout, lets a block run to its end."""

    async def main() -> str:
        async with NO_LIMIT:
            await asyncio.sleep(0.01)
        return "ok"

    assert "ok" == asyncio.run(main())


def test_a_limit_outside_a_task_is_an_error():
    """Like asyncio.timeout, a limit needs a running task to cancel."""
    deadlines = Deadlines(1.0)

    async def enter() -> None:
        async with deadlines.limit():
            pass

    coro = enter()
    with pytest.raises(RuntimeError):
        coro.send(None)
    coro.close()
