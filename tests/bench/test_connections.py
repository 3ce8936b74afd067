"""Connection lifecycle: dead keep-alive connections, Keep-Alive max, servers that close
after every response, and streams the server would not stream. Over real sockets on
127.0.0.1 against :class:`raw_http.RawServer`, which decides each connection's fate."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import pytest
from raw_http import Action, RawServer

from aiperf.bench.client import Client, new_fresh_session, new_session
from aiperf.bench.connections import KeepAlive, parse_keep_alive
from aiperf.bench.metrics import RunFacts
from aiperf.bench.payloads import RequestSpec, endpoint_url, request_body
from aiperf.bench.records import RequestRecord
from aiperf.bench.run_tally import compute_run_metrics


def spec(url: str, *, streaming: bool = True) -> RequestSpec:
    return RequestSpec(
        index=0, phase="profiling", x_request_id=str(uuid.uuid4()),
        intended_perf_ns=time.perf_counter_ns(), url=endpoint_url(url, "chat"),
        body=request_body("chat", model="m", prompt="hi there", osl=2, streaming=streaming),
        headers={"Content-Type": "application/json"}, input_tokens=2, streaming=streaming,
    )


def run_requests(decide: Callable[[int, int], Action], count: int, *, streaming: bool = True,
                 pause_s: float = 0.0, keep_alive: str | None = "timeout=5, max=100",
                 drop_delay_s: float = 0.0,
                 ) -> tuple[list[RequestRecord], RawServer, Client, list[str]]:
    """``count`` requests one after another over one pooled connection slot."""
    notices: list[str] = []

    async def go() -> tuple[list[RequestRecord], RawServer, Client]:
        async with RawServer(decide, keep_alive=keep_alive, drop_delay_s=drop_delay_s) as srv:
            async with new_session(1) as session, new_fresh_session() as fresh:
                client = Client(session, 10.0, lambda t: len(t.split()), fresh=fresh,
                                notify=notices.append)
                records = []
                for _ in range(count):
                    records.append(await client.send(spec(srv.url, streaming=streaming)))
                    await asyncio.sleep(pause_s)
                client.watch.closing()
            return records, srv, client

    records, srv, client = asyncio.run(go())
    return records, srv, client, notices


def first_request_only(connection: int, request: int) -> Action:
    """Answers the first request on each connection; a reused one is dead."""
    return "answer" if request == 1 else "drop"


class TestDeadReusedConnection:
    def test_is_resent_once_on_a_fresh_connection(self):
        """Every request on a dead reused connection goes again on a new one and succeeds."""
        records, srv, client, _ = run_requests(first_request_only, 6)

        assert all(r.ok for r in records)
        assert records[1].replaced_connection
        assert 1 == client.watch.health().stale_connections_replaced
        assert 6 + 1 == srv.requests  # the replaced request reached the server twice

    def test_a_connection_dead_right_after_its_response_stops_reuse(self):
        """A pooled connection that died within a second of its response says the server
        will not keep connections: later requests get one each and none is re-sent."""
        records, srv, client, notices = run_requests(first_request_only, 6)

        assert [False, True, False, False, False, False] == [
            r.replaced_connection for r in records]
        assert client.watch.health().reuse_stopped
        assert 1 == len(notices)
        assert 6 == srv.connections

    def test_is_never_counted_as_an_error(self):
        records, _, _, _ = run_requests(first_request_only, 4)
        metrics = compute_run_metrics(records, RunFacts(0, 1, streaming=True))

        assert 0 == metrics.error_count
        assert 4 == metrics.ok_count

    def test_timing_starts_at_the_send_that_worked(self):
        """The dead attempt takes 0.5 s before the server drops it; the latency does not
        include it (its wait shows up as scheduling lag instead)."""
        records, _, _, _ = run_requests(first_request_only, 2, drop_delay_s=0.5)
        replaced = records[1]
        latency_s = (replaced.chunks[-1].perf_ns - replaced.start_perf_ns) / 1e9
        lag_s = (replaced.start_perf_ns - replaced.intended_perf_ns) / 1e9

        assert replaced.ok and replaced.replaced_connection
        assert latency_s < 0.5
        assert lag_s >= 0.5

    def test_a_dead_fresh_connection_is_a_real_error(self):
        """No re-send when the connection was new: the server really failed."""
        records, srv, client, _ = run_requests(lambda c, r: "drop", 2)

        assert ["disconnected", "disconnected"] == [r.error.type for r in records]
        assert 0 == client.watch.health().stale_connections_replaced
        assert 2 == srv.requests

    def test_a_retry_that_dies_too_is_an_error(self):
        """Sent again once, not twice."""
        records, srv, _, _ = run_requests(
            lambda c, r: "answer" if (c, r) == (1, 1) else "drop", 2)

        assert records[0].ok
        assert "disconnected" == records[1].error.type
        assert 3 == srv.requests

    def test_never_resent_after_a_status_line(self):
        """Headers came back, then the connection died: a real error, sent once."""
        records, srv, _, _ = run_requests(
            lambda c, r: "answer" if r == 1 else "headers-then-drop", 2)

        assert records[0].ok
        assert not records[1].ok
        assert not records[1].replaced_connection
        assert 2 == srv.requests


class TestKeepAliveHeaders:
    def test_keep_alive_max_closes_the_connection(self):
        """max=2: the client opens a new connection after two responses on one."""
        records, srv, client, _ = run_requests(
            lambda c, r: "answer" if r <= 2 else "drop", 6, keep_alive="timeout=5, max=2")

        assert all(r.ok for r in records)
        assert not any(r.replaced_connection for r in records)
        assert 3 == srv.connections
        assert 3 == client.watch.health().closed_at_keep_alive_max

    def test_connection_close_is_honoured(self):
        records, srv, client, _ = run_requests(lambda c, r: "answer-close", 4)

        assert all(r.ok and not r.replaced_connection for r in records)
        assert 4 == srv.connections
        assert client.watch.reuse  # an announced close is no reason to stop reusing

    @pytest.mark.parametrize(("header", "expected"), [
        ("timeout=5, max=100", KeepAlive(5.0, 100)),
        ("max=3", KeepAlive(None, 3)),
        ("timeout=2.5", KeepAlive(2.5, None)),
        (' timeout="7" , MAX=9 ', KeepAlive(7.0, 9)),
        ("timeout=soon, max=many", KeepAlive()),
        (None, KeepAlive()),
    ])
    def test_keep_alive_header_is_parsed(self, header, expected):
        assert expected == parse_keep_alive(header)


class TestServerThatClosesAfterResponses:
    def test_reuse_stops_and_is_said_once(self):
        """llama.cpp's way: keep-alive advertised, connection closed after each response.
        The pause lets the close arrive while the connection idles in the pool."""
        records, srv, client, notices = run_requests(
            lambda c, r: "answer-then-close", 6, pause_s=0.05)
        health = client.watch.health()

        assert all(r.ok for r in records)
        assert health.reuse_stopped
        assert 1 == len(notices)
        assert "one connection per request" in notices[0]
        assert health.reuse_stopped_reason == notices[0]
        assert 6 == srv.connections

    def test_without_pauses_no_request_fails(self):
        """Back to back, the next request can meet the dying connection: it is re-sent."""
        records, _, _, _ = run_requests(lambda c, r: "answer-then-close", 12)

        assert all(r.ok for r in records)

    def test_an_idle_timeout_is_not_taken_for_it(self):
        """A connection the server keeps is reused; nothing stops."""
        records, srv, client, notices = run_requests(lambda c, r: "answer", 5, pause_s=0.02)

        assert all(r.ok for r in records)
        assert client.watch.reuse
        assert [] == notices
        assert 1 == srv.connections


class TestIgnoredStream:
    def test_plain_body_to_a_stream_request_is_marked(self):
        records, _, _, notices = run_requests(lambda c, r: "json", 3)

        assert all(r.ok and r.unstreamed for r in records)
        assert 1 == len(notices)
        assert "ignored stream: true" in notices[0]

    def test_its_itl_and_ttst_are_not_measured(self):
        records, _, _, _ = run_requests(lambda c, r: "json", 3)
        metrics = compute_run_metrics(records, RunFacts(0, 1, streaming=True))

        for tag in ("inter_token_latency", "time_to_second_token", "time_to_first_token"):
            assert metrics.distribution(tag) is None
        assert metrics.distribution("request_latency") is not None
        assert any("ignored stream: true" in w for w in metrics.warnings)

    def test_a_real_stream_is_not_marked(self):
        records, _, _, notices = run_requests(lambda c, r: "answer", 2)

        assert not any(r.unstreamed for r in records)
        assert [] == notices

    def test_a_non_streaming_request_is_not_marked(self):
        records, _, _, _ = run_requests(lambda c, r: "json", 2, streaming=False)

        assert not any(r.unstreamed for r in records)
