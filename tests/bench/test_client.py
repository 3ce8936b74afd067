"""Tests for the request client, over real HTTP against the stub server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from itertools import pairwise
from typing import Any, TypeVar

import pytest
from openai_stub import StubServer

from aiperf.bench.client import Client, InFlight, new_session
from aiperf.bench.payloads import RequestSpec, base_headers, endpoint_url, request_body
from aiperf.bench.records import RequestRecord

MS = 1_000_000
T = TypeVar("T")


def count_words(text: str) -> int:
    return len(text.split())


#: The event loop ``send`` runs on (set per test by ``event_loop_kind``).
LOOP_FACTORY: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop


@pytest.fixture(autouse=True, params=["asyncio", "uvloop"])
def event_loop_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs on asyncio's loop and on uvloop's (the [fast] extra, which a
    run uses when it is installed): their transports are not the same classes."""
    factory = asyncio.new_event_loop
    if request.param == "uvloop":
        uvloop = pytest.importorskip("uvloop", reason="the [fast] extra is not installed")
        factory = uvloop.new_event_loop
    monkeypatch.setattr(sys.modules[__name__], "LOOP_FACTORY", factory)
    return str(request.param)


@pytest.fixture(scope="module")
def server() -> Iterator[StubServer]:
    stub = StubServer().start()
    yield stub
    stub.stop()


def make_spec(
    url: str,
    stub: dict[str, Any] | None = None,
    *,
    endpoint: str = "chat",
    streaming: bool = True,
    api_key: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
    prompt: str = "say something",
) -> RequestSpec:
    extra_inputs = {**(extra or {}), **({"stub": stub} if stub is not None else {})}
    return RequestSpec(
        index=3,
        phase="profiling",
        x_request_id=str(uuid.uuid4()),
        intended_perf_ns=time.perf_counter_ns(),
        url=endpoint_url(url, endpoint),
        body=request_body(endpoint, model="m", prompt=prompt, osl=8, streaming=streaming,
                          extra_inputs=extra_inputs),
        headers=base_headers(api_key=api_key, headers=headers),
        input_tokens=count_words(prompt),
    )


def send(spec: RequestSpec, *, timeout: float = 5.0) -> RequestRecord:
    """Send one request on a fresh session, as the runner would on its shared one."""

    async def go() -> RequestRecord:
        async with new_session(2) as session:
            return await Client(session, timeout, count_words).send(spec)

    return run_on_loop(go())


def run_on_loop(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)`` on the event loop of the test's ``event_loop_kind``."""
    with asyncio.Runner(loop_factory=LOOP_FACTORY) as runner:
        return runner.run(coro)


def texts(record: RequestRecord) -> list[str]:
    return [c.text for c in record.chunks]


class TestStreaming:
    """Streaming requests that succeed."""

    def test_chunks_and_record_fields(self, server):
        """Each content delta is a chunk; the record carries the spec's identity and status."""
        spec = make_spec(server.url, {"n": 5})

        record = send(spec)

        assert record.ok
        assert ["tok0 ", "tok1 ", "tok2 ", "tok3 ", "tok4 "] == texts(record)
        assert (3, "profiling", spec.x_request_id, spec.intended_perf_ns, 2, 200) == (
            record.index, record.phase, record.x_request_id, record.intended_perf_ns,
            record.input_tokens, record.status)

    def test_timestamps_are_ordered(self, server):
        """intended <= start <= ack <= chunks (non-decreasing) <= end; wall clock is sane."""
        record = send(make_spec(server.url, {"n": 4, "itl": 0.002}))
        stamps = [c.perf_ns for c in record.chunks]

        assert record.intended_perf_ns <= record.start_perf_ns <= record.ack_perf_ns
        assert record.ack_perf_ns <= stamps[0]
        assert stamps == sorted(stamps)
        assert stamps[-1] <= record.end_perf_ns
        assert abs(record.start_wall_ns - time.time_ns()) < 60 * 1000 * MS
        assert record.end_wall_ns >= record.start_wall_ns

    def test_measured_ttft_and_gaps_match_server_delays(self, server):
        """TTFT is close to the server's delay, and chunk gaps close to its inter-token delay."""
        record = send(make_spec(server.url, {"n": 5, "ttft": 0.15, "itl": 0.03}))
        ttft = record.chunks[0].perf_ns - record.start_perf_ns
        gaps = [b.perf_ns - a.perf_ns for a, b in pairwise(record.chunks)]

        assert 150 * MS <= ttft < 230 * MS
        # One late chunk shortens the gap after it, so single gaps are not bounded below;
        # the last chunk, though, can never arrive before the server sent it.
        assert record.chunks[-1].perf_ns - record.start_perf_ns >= (150 + 4 * 30) * MS
        assert 25 * MS <= statistics.median(gaps) < 60 * MS

    def test_output_tokens_from_tokenizer(self, server):
        """Without usage, output tokens are counted by the tokenizer passed in."""
        record = send(make_spec(server.url, {"pieces": ["one two ", "three"]}))

        assert (3, None) == (record.output_tokens, record.usage)

    def test_output_tokens_from_usage_chunk(self, server):
        """A trailing usage-only chunk gives the output count and adds no chunk."""
        record = send(make_spec(server.url, {"n": 3, "usage": 42}))

        assert (3, 42, 42) == (len(record.chunks), record.output_tokens,
                               record.usage.completion_tokens)

    def test_usage_not_requested(self, server):
        """Turning include_usage off (extra_inputs) falls back to the tokenizer."""
        record = send(make_spec(server.url, {"n": 3, "usage": 42},
                                extra={"stream_options": {"include_usage": False}}))

        assert (3, None) == (record.output_tokens, record.usage)

    def test_per_chunk_usage(self, server):
        """Cumulative usage on every chunk gives each chunk its own token count."""
        record = send(make_spec(server.url, {"n": 4, "per_chunk_usage": True}))

        assert ([1, 1, 1, 1], 4) == ([c.tokens for c in record.chunks], record.output_tokens)

    def test_final_usage_is_not_per_chunk(self, server):
        """Usage only at the end leaves chunk token counts unknown."""
        record = send(make_spec(server.url, {"n": 2, "usage": 2}))

        assert [None, None] == [c.tokens for c in record.chunks]

    @pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
    def test_reasoning(self, server, field):
        """Reasoning deltas are chunks marked reasoning, counted into the output tokens."""
        record = send(make_spec(server.url, {"reasoning": ["thinking ", "hard "],
                                             "reasoning_field": field, "n": 3}))

        assert [True, True, False, False, False] == [c.reasoning for c in record.chunks]
        assert 5 == record.output_tokens

    @pytest.mark.parametrize("stub", [
        {"split": 3, "eol": "\r\n"},
        {"split": 7, "eol": "\r"},
        {"split": 1},
        {"keepalive": True, "eol": "\r\n"},
    ], ids=["split3-crlf", "split7-cr", "split1", "keepalive"])
    def test_awkward_framing(self, server, stub):
        """Events cut at odd bytes (inside UTF-8 characters), CR/CRLF, and keep-alives."""
        pieces = ["héllo ", "世界 ", "🙂 "]

        record = send(make_spec(server.url, {**stub, "pieces": pieces}))

        assert (True, pieces) == (record.ok, texts(record))

    def test_no_done_sentinel(self, server):
        """A stream that ends cleanly without [DONE] is still a success."""
        record = send(make_spec(server.url, {"n": 2, "done": False}))

        assert (True, 2) == (record.ok, len(record.chunks))

    def test_completions(self, server):
        """The completions endpoint streams text chunks."""
        record = send(make_spec(server.url, {"n": 3}, endpoint="completions"))

        assert (True, ["tok0 ", "tok1 ", "tok2 "]) == (record.ok, texts(record))


class TestNonStreaming:
    """Requests answered with one JSON body."""

    def test_one_chunk_at_body_time(self, server):
        """The whole content is one chunk, stamped when the body was read."""
        record = send(make_spec(server.url, {"n": 3, "usage": 7}, streaming=False))

        assert (["tok0 tok1 tok2 "], 7) == (texts(record), record.output_tokens)
        assert record.ack_perf_ns <= record.chunks[0].perf_ns <= record.end_perf_ns

    def test_reasoning_body(self, server):
        """A body with reasoning gives a reasoning chunk and a content chunk."""
        record = send(make_spec(server.url, {"n": 1, "reasoning": ["hmm"]}, streaming=False))

        assert ([True, False], 2) == ([c.reasoning for c in record.chunks], record.output_tokens)

    def test_completions_body(self, server):
        """A completions body's text is the content."""
        record = send(make_spec(server.url, {"n": 2}, endpoint="completions", streaming=False))

        assert ["tok0 tok1 "] == texts(record)

    def test_embeddings(self, server):
        """Embeddings succeed with no output and the server's prompt count in usage."""
        record = send(make_spec(server.url, endpoint="embeddings"))

        assert (True, None, 3) == (record.ok, record.output_tokens, record.usage.prompt_tokens)


class TestPayloadOnTheWire:
    """What the server received."""

    def test_body_and_headers(self, server):
        """The body is the spec's; the headers carry bearer token, user header and request id."""
        spec = make_spec(server.url + "/v1", {"n": 1}, api_key="sk-test",
                         headers={"X-Team": "bench"})

        send(spec)
        seen = server.seen[spec.x_request_id]

        assert "/v1/chat/completions" == seen.path
        assert spec.body == seen.body
        assert ("Bearer sk-test", "bench", "application/json") == (
            seen.headers["Authorization"], seen.headers["X-Team"], seen.headers["Content-Type"])

    def test_pre_encoded_body(self, server):
        """A body given as bytes is sent as it is."""
        spec = make_spec(server.url, {"n": 1}, streaming=False)
        raw = b'{"model":"m","messages":[{"role":"user","content":"x"}],"stub":{"n":1}}'

        record = send(RequestSpec(0, "warmup", spec.x_request_id, 0, spec.url, raw, spec.headers))

        assert (True, "warmup") == (record.ok, record.phase)
        assert "x" == server.seen[spec.x_request_id].body["messages"][0]["content"]


class TestErrors:
    """Failures become RequestErrors on the record and never raise."""

    def test_mid_stream_error_object(self, server):
        """An error object in the stream is a server-error; earlier chunks are kept."""
        record = send(make_spec(server.url, {"n": 4, "error_after": 2}))

        assert ("server-error", "out of memory", 500) == (
            record.error.type, record.error.message, record.error.code)
        assert 2 == len(record.chunks)

    def test_connection_closed_mid_stream(self, server):
        """A connection dropped mid-stream is disconnected."""
        record = send(make_spec(server.url, {"n": 4, "close_after": 2}))

        assert ("disconnected", 200, 2) == (record.error.type, record.status, len(record.chunks))

    def test_malformed_chunk_fails_the_request(self, server):
        """A chunk that is not JSON fails the request as malformed-response."""
        record = send(make_spec(server.url, {"n": 4, "malformed_after": 1}))

        assert "malformed-response" == record.error.type
        assert not record.ok

    def test_not_found(self, server):
        """An unknown path is http-status 404."""
        spec = make_spec(server.url, {"n": 1})

        record = send(RequestSpec(0, "profiling", "r", 0, server.url + "/v2/nothing", spec.body))

        assert ("http-status", 404, 404) == (record.error.type, record.error.code, record.status)
        assert "Not Found" in record.error.message

    def test_server_error_json(self, server):
        """A 500 with a JSON error body keeps the server's message."""
        record = send(make_spec(server.url, {"status": 500}))

        assert ("http-status", 500) == (record.error.type, record.error.code)
        assert "the stub was told to fail" in record.error.message

    def test_server_error_html(self, server):
        """A 502 HTML page is reduced to its text."""
        record = send(make_spec(server.url, {"status": 502, "error_body": "html"}))

        assert "HTTP 502 Bad Gateway: 502 Bad Gateway" == record.error.message

    def test_html_body_with_200(self, server):
        """A 200 that is not JSON is malformed-response."""
        record = send(make_spec(server.url, {"body": "html"}, streaming=False))

        assert "malformed-response" == record.error.type
        assert "text/html" in record.error.message

    def test_error_object_with_200(self, server):
        """A 200 JSON body that is an error object is server-error."""
        record = send(make_spec(server.url, {"body": "error"}, streaming=False))

        assert ("server-error", "model overloaded", 503) == (
            record.error.type, record.error.message, record.error.code)

    def test_timeout_before_headers(self, server):
        """A server that stalls past the per-request timeout gives timeout, promptly."""
        started = time.perf_counter()

        record = send(make_spec(server.url, {"stall": 3}), timeout=0.3)

        assert ("timeout", None) == (record.error.type, record.status)
        assert time.perf_counter() - started < 2
        assert 250 * MS <= record.end_perf_ns - record.start_perf_ns

    def test_timeout_mid_stream(self, server):
        """The timeout covers reading the body: a stall after some chunks times out too."""
        record = send(make_spec(server.url, {"n": 4, "stall_after": 2}), timeout=0.3)

        assert ("timeout", 2) == (record.error.type, len(record.chunks))

    def test_connection_refused(self, server):
        """Nothing listening on the port is a connection error."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]

        record = send(make_spec(f"http://127.0.0.1:{port}", {"n": 1}))

        assert ("connection", None, ()) == (record.error.type, record.status, record.chunks)

    def test_invalid_url(self, server):
        """A URL aiohttp cannot use is a connection error, not an exception."""
        spec = make_spec(server.url, {"n": 1})

        record = send(RequestSpec(0, "profiling", "r", 0, "not a url", spec.body))

        assert "connection" == record.error.type

    def test_errors_do_not_leak_the_api_key(self, server):
        """Neither the record nor its error text contains the API key."""
        for stub in ({"status": 401}, {"n": 2, "close_after": 1}):
            record = send(make_spec(server.url, stub, api_key="sk-very-secret"))

            assert "sk-very-secret" not in repr(record)


class TestCancellation:
    """The runner cancels in-flight requests; it still gets a partial record."""

    def test_cancel_mid_stream(self, server):
        """CancelledError propagates; the flight's record is cancelled with the chunks so far."""

        async def go() -> tuple[InFlight, bool]:
            async with new_session(1) as session:
                client = Client(session, 5.0, count_words)
                flight = client.prepare(make_spec(server.url, {"n": 20, "itl": 0.05}))
                task = asyncio.create_task(client.run(flight))
                while len(flight.chunks) < 2:
                    await asyncio.sleep(0.01)
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    return flight, True
                return flight, False

        flight, raised = run_on_loop(go())
        record = flight.record()

        assert raised
        assert (True, "cancelled", False) == (record.cancelled, record.error.type, record.ok)
        assert 2 <= len(record.chunks) < 20
        assert record.chunks[-1].perf_ns <= record.end_perf_ns
        assert 2 <= record.output_tokens

    def test_cancel_before_start(self, server):
        """A request cancelled before it was sent is recorded as cancelled and not sent."""

        async def go() -> InFlight:
            async with new_session(1) as session:
                client = Client(session, 5.0, count_words)
                flight = client.prepare(make_spec(server.url, {"n": 1}))
                task = asyncio.create_task(client.run(flight))
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                return flight

        flight = run_on_loop(go())
        record = flight.record()

        assert (False, True, ()) == (flight.sent, record.cancelled, record.chunks)
        assert record.start_perf_ns == record.end_perf_ns

    def test_record_is_stable(self, server):
        """Calling record() again gives the same record (the end is stamped once)."""
        spec = make_spec(server.url, {"n": 1})

        async def go() -> InFlight:
            async with new_session(1) as session:
                client = Client(session, 5.0, count_words)
                flight = client.prepare(spec)
                await client.run(flight)
                return flight

        flight = run_on_loop(go())

        assert flight.record() == flight.record()


def test_concurrent_requests_share_a_session(server):
    """Many requests through one limited session all succeed and keep their own data."""

    async def go() -> list[RequestRecord]:
        async with new_session(4) as session:
            client = Client(session, 5.0, count_words)
            specs = [make_spec(server.url, {"pieces": [f"r{i} "] * (i % 3 + 1), "itl": 0.005})
                     for i in range(12)]
            return await asyncio.gather(*(client.send(s) for s in specs))

    records = run_on_loop(go())

    assert all(r.ok for r in records)
    assert [i % 3 + 1 for i in range(12)] == [r.output_tokens for r in records]
    assert all(set(texts(r)) == {f"r{i} "} for i, r in enumerate(records))
