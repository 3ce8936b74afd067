"""The server-gone rule (aiperf.bench.outage): only failures without any answer from the
server, lasting the whole window, mean it went away."""

from __future__ import annotations

import asyncio
import time

import attrs

from aiperf.bench.outage import OutageWatch
from aiperf.bench.records import RequestError
from tests.bench.metrics_helpers import MS, make_record

REFUSED = RequestError("connection", "cannot connect: [Errno 111] Connection refused")
RESET = RequestError("disconnected", "ServerDisconnectedError: Server disconnected")


def ended(at_ms: float, error: RequestError | None = None, *, status: int | None = None,
          cancelled: bool = False):
    """A request that ended ``at_ms`` after an arbitrary origin, with ``error``."""
    record = make_record(error=error, cancelled=cancelled)
    return attrs.evolve(record, end_perf_ns=round(at_ms * MS), status=status)


def watch_of(*records) -> OutageWatch:
    watch = OutageWatch(gone_after_s=2.0)
    for record in records:
        watch.observe(record)
    return watch


def test_the_server_is_gone_when_every_request_fails_to_connect_for_the_window():
    watch = watch_of(*(ended(t, REFUSED) for t in range(0, 2001, 100)))

    assert watch.gone.is_set()
    assert "Connection refused" in watch.reason


def test_the_server_is_not_gone_before_the_window_has_passed():
    watch = watch_of(*(ended(t, REFUSED) for t in range(0, 1999, 100)))

    assert not watch.gone.is_set()
    assert watch.unreachable


def test_a_connection_dropped_before_any_answer_counts_as_unreachable():
    watch = watch_of(ended(0, REFUSED), ended(1000, RESET), ended(2000, RESET))

    assert watch.gone.is_set()
    assert "Server disconnected" in watch.reason


def test_an_http_error_proves_the_server_is_there():
    http_500 = RequestError("http-status", "HTTP 500 Internal Server Error", 500)
    watch = watch_of(ended(0, REFUSED), ended(1000, http_500, status=500),
                     ended(1500, REFUSED), ended(3000, REFUSED))

    assert not watch.gone.is_set()


def test_a_drop_after_the_status_line_proves_the_server_is_there():
    watch = watch_of(ended(0, REFUSED), ended(1000, RESET, status=200),
                     ended(1500, REFUSED), ended(3000, REFUSED))

    assert not watch.gone.is_set()


def test_a_success_resets_the_window():
    watch = watch_of(ended(0, REFUSED), ended(1500), ended(1600, REFUSED), ended(3500, REFUSED))

    assert not watch.gone.is_set()
    assert watch.unreachable


def test_cancelled_requests_say_nothing_about_the_server():
    watch = watch_of(ended(0, REFUSED), ended(1000, cancelled=True), ended(2000, REFUSED))

    assert watch.gone.is_set()


def test_sends_go_at_once_while_the_server_answers():
    watch = watch_of(ended(0))

    async def turns() -> None:
        for _ in range(100):
            await watch.turn()

    started = time.perf_counter()
    asyncio.run(turns())
    assert time.perf_counter() - started < 5  # no probe pacing at all (no 10 s of it)


def test_one_probe_per_interval_while_nothing_reaches_the_server():
    watch = OutageWatch(gone_after_s=60, probe_interval_s=0.2)
    watch.observe(ended(0, REFUSED))
    sent: list[int] = []

    async def turns() -> None:
        for _ in range(4):
            await watch.turn()
            sent.append(time.perf_counter_ns())

    asyncio.run(turns())
    gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
    # Never closer than the interval (a busy machine can only make them later).
    assert all(gap >= 0.2 * 1e9 * 0.99 for gap in gaps), gaps
