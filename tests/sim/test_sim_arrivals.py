"""A request's arrival is when the simulator's process first read its bytes, not when its
handler started (aiperf.sim.arrivals): aiohttp's own work on a burst of new connections
must not count as the client's error, nor push the deterministic TTFT deadline later.

Each test speaks raw HTTP/1.1 (:mod:`rawhttp`) and reads the arrival the simulator
recorded from ``/sim/stats``. The only time checks are orderings against pauses of half a
second that the test itself makes, so a busy machine cannot break them.
"""

from __future__ import annotations

import asyncio
import time

from rawhttp import RawConnection
from simhelpers import chat_body, run

FAST = "sim://?mode=deterministic&ttft_ms=0&itl_ms=0"
PAUSE_S = 0.5


def _body(n_words: int = 3) -> dict:
    return {**chat_body(n_words, max_tokens=2), "model": "aiperf-sim"}


async def _arrivals(base: str) -> dict[str, int]:
    async with RawConnection(base) as conn:
        stats = (await conn.get("/sim/stats")).json()
    return {r["request_id"]: r["arrival_unix_ns"] for r in stats["records"]}


def test_arrival_is_stamped_at_the_first_read_of_the_request():
    """The request line came half a second before the rest of the request, which the
    handler needs to start: the arrival is before the rest was sent."""

    async def scenario(_session, base):
        async with RawConnection(base) as conn:
            line_sent = time.time_ns()
            response = await conn.request("POST", "/v1/chat/completions", _body(),
                                            headers={"x-request-id": "slow"},
                                            pause_after_line_s=PAUSE_S)
            rest_sent = conn.rest_sent_ns
        return response, line_sent, rest_sent, (await _arrivals(base))["slow"]

    response, line_sent, rest_sent, arrival = run(FAST, scenario)

    assert 200 == response.status
    assert line_sent <= arrival < rest_sent


async def _first_then_next(base: str, first) -> tuple[int, dict[str, int]]:
    """On one connection: ``await first(conn)``, half a second's pause, then a chat
    request with id ``next``; the wall clock just before ``next`` was sent, and every
    arrival the simulator recorded."""
    async with RawConnection(base) as conn:
        await first(conn)
        await asyncio.sleep(PAUSE_S)
        sent = time.time_ns()
        await conn.post("/v1/chat/completions", _body(), headers={"x-request-id": "next"})
    return sent, await _arrivals(base)


def test_each_request_on_a_keep_alive_connection_has_its_own_arrival():
    """A second request on the same connection, sent half a second after the first
    response, arrives after it was sent (the first request's stamp is not reused)."""

    async def first(conn):
        await conn.post("/v1/chat/completions", _body(), headers={"x-request-id": "first"})

    sent, arrivals = run(FAST, lambda _session, base: _first_then_next(base, first))

    assert arrivals["first"] < sent <= arrivals["next"]


def test_a_request_after_a_get_on_the_same_connection_has_its_own_arrival():
    """A GET handled by another route does not leave its stamp to the next request."""

    async def first(conn):
        await conn.get("/v1/models")

    sent, arrivals = run(FAST, lambda _session, base: _first_then_next(base, first))

    assert sent <= arrivals["next"]


def test_a_body_read_in_many_parts_leaves_no_stamp_for_the_next_request():
    """A prompt of about a megabyte is read in many parts, some after its handler
    started; the next request on the connection is still stamped by its own bytes."""

    async def first(conn):
        await conn.post("/v1/chat/completions", _body(150_000),
                        headers={"x-request-id": "large"})

    sent, arrivals = run(FAST, lambda _session, base: _first_then_next(base, first))

    assert arrivals["large"] < sent <= arrivals["next"]
