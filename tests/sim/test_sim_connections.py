"""Connection handling on the wire: each profile's keep-alive behaviour and each quirk.

Every test speaks raw HTTP/1.1 over one TCP connection to 127.0.0.1 (:mod:`rawhttp`), so it
sees the exact headers and whether the server really closed the socket. Nothing here
measures wall-clock margins: a close is awaited (with a generous bound that only a broken
server reaches), and the one time check is a lower bound the server cannot undercut.
"""

from __future__ import annotations

import asyncio

import pytest
from rawhttp import RawConnection
from simhelpers import chat_body, run

FAST = "sim://?mode=deterministic&ttft_ms=0&itl_ms=0"
COMPLETION = {"model": "aiperf-sim", "prompt": "a b c", "max_tokens": 3}


def _stream_body() -> dict:
    return {**chat_body(3, stream=True, max_tokens=3), "model": "aiperf-sim"}


def _plain_body() -> dict:
    return {**chat_body(3, max_tokens=3), "model": "aiperf-sim"}


def test_llama_cpp_closes_after_every_stream_while_advertising_keep_alive():
    """The whole stream arrives, its headers say Keep-Alive: timeout=5, max=100 and never
    Connection: close, and then the server closes the connection."""

    async def scenario(_session, base):
        async with RawConnection(base) as conn:
            response = await conn.post("/v1/chat/completions", _stream_body())
            return response, await conn.closed_by_server()

    response, closed = run(FAST + "&profile=llama.cpp", scenario)

    assert 200 == response.status
    assert "[DONE]" == response.events()[-1]  # complete: the close came after the last byte
    assert "timeout=5, max=100" == response.headers["Keep-Alive"]
    assert "Connection" not in response.headers
    assert closed


def test_llama_cpp_closes_only_after_the_last_byte_of_a_large_stream():
    """A ~1 MB stream written at once still arrives whole before the FIN."""
    body = {**_stream_body(), "max_tokens": 4000}

    async def scenario(_session, base):
        async with RawConnection(base) as conn:
            response = await conn.post("/v1/chat/completions", body)
            return response, await conn.closed_by_server()

    response, closed = run(FAST + "&profile=llama.cpp&chars_per_token=32", scenario)

    assert len(response.body) > 1_000_000
    assert 4000 == len([c for c in response.chunks() if c["choices"]
                        and c["choices"][0]["delta"].get("content")])
    assert "[DONE]" == response.events()[-1]
    assert closed


def test_llama_cpp_keeps_the_connection_after_a_plain_response():
    """Non-streamed responses leave the connection open: a second request on it works."""

    async def scenario(_session, base):
        async with RawConnection(base) as conn:
            first = await conn.post("/v1/chat/completions", _plain_body())
            second = await conn.post("/v1/completions", COMPLETION)
            return first, second

    first, second = run(FAST + "&profile=llama.cpp", scenario)

    assert (200, 200) == (first.status, second.status)
    assert "timeout=5, max=100" == first.headers["Keep-Alive"]
    assert "Connection" not in first.headers


def test_llama_cpp_closes_after_an_error_answer():
    """cpp-httplib closes after any status >= 400, saying Connection: close."""

    async def scenario(_session, base):
        async with RawConnection(base) as conn:
            response = await conn.post("/v1/completions", {"model": "m"})  # no prompt: 400
            return response, await conn.closed_by_server()

    response, closed = run(FAST + "&profile=llama.cpp", scenario)

    assert 400 == response.status
    assert "close" == response.headers["Connection"]
    assert closed


@pytest.mark.parametrize("profile", ["generic", "vllm", "sglang", "tgi"])
def test_keep_alive_is_honoured_after_streams(profile):
    """These servers keep the connection after a stream: three streams on one connection,
    no Keep-Alive header, no Connection: close."""

    async def scenario(_session, base):
        async with RawConnection(base) as conn:
            return [await conn.post("/v1/chat/completions", _stream_body()) for _ in range(3)]

    responses = run(FAST + f"&profile={profile}", scenario)

    assert [200] * 3 == [r.status for r in responses]
    assert all("[DONE]" == r.events()[-1] for r in responses)
    assert not any("Connection" in r.headers or "Keep-Alive" in r.headers for r in responses)


def test_close_after_stream_is_a_quirk_of_any_profile():
    """The generic server with close_after_stream=true behaves like llama.cpp on streams
    (and advertises nothing, as it never did)."""

    async def scenario(_session, base):
        async with RawConnection(base) as conn:
            response = await conn.post("/v1/chat/completions", _stream_body())
            return response, await conn.closed_by_server()

    response, closed = run(FAST + "&close_after_stream=true", scenario)

    assert "[DONE]" == response.events()[-1]
    assert "Connection" not in response.headers
    assert closed


def test_an_explicit_option_overrides_the_profile():
    """llama.cpp with close_after_stream=false keeps the connection after a stream, and
    keeps the rest of its profile (the Keep-Alive header)."""

    async def scenario(_session, base):
        async with RawConnection(base) as conn:
            return [await conn.post("/v1/chat/completions", _stream_body()) for _ in range(2)]

    responses = run(FAST + "&profile=llama.cpp&close_after_stream=false", scenario)

    assert [200, 200] == [r.status for r in responses]
    assert all("timeout=5, max=100" == r.headers["Keep-Alive"] for r in responses)


def test_keepalive_max_closes_after_n_responses_saying_so_on_the_last():
    """keepalive_max=3: responses 1 and 2 advertise Keep-Alive: timeout=T, max=3, the 3rd
    says Connection: close, and the server closes the connection after it."""

    async def scenario(_session, base):
        async with RawConnection(base) as conn:
            responses = [await conn.post("/v1/completions", COMPLETION) for _ in range(3)]
            return responses, await conn.closed_by_server()

    responses, closed = run(FAST + "&keepalive_max=3&idle_timeout_s=30", scenario)

    assert [200] * 3 == [r.status for r in responses]
    assert ["timeout=30, max=3"] * 2 == [r.headers["Keep-Alive"] for r in responses[:2]]
    assert not any("Connection" in r.headers for r in responses[:2])
    assert "close" == responses[2].headers["Connection"]
    assert "Keep-Alive" not in responses[2].headers
    assert closed


def test_keepalive_max_counts_streamed_responses_too():
    """The limit counts every response on the connection, streams included."""

    async def scenario(_session, base):
        async with RawConnection(base) as conn:
            first = await conn.post("/v1/chat/completions", _stream_body())
            second = await conn.post("/v1/chat/completions", _stream_body())
            return first, second, await conn.closed_by_server()

    first, second, closed = run(FAST + "&keepalive_max=2", scenario)

    assert "Connection" not in first.headers
    assert ("close", "[DONE]") == (second.headers["Connection"], second.events()[-1])
    assert closed


def test_idle_timeout_closes_an_idle_connection_silently():
    """After idle_timeout_s without a request the server closes the connection without
    sending anything, and never before that time."""

    async def scenario(_session, base):
        loop = asyncio.get_running_loop()
        async with RawConnection(base) as conn:
            sent_at = loop.time()
            response = await conn.post("/v1/completions", COMPLETION)
            closed = await conn.closed_by_server()  # False if any byte came instead
            return response, closed, loop.time() - sent_at

    # Half a second: the same timer also drops a fresh connection that sends nothing for
    # that long, so it must outlast any stall between connecting and sending.
    response, closed, idle_s = run(FAST + "&idle_timeout_s=0.5", scenario)

    assert 200 == response.status
    assert "Connection" not in response.headers
    assert closed
    assert idle_s >= 0.5  # measured from before the request: the server's timer starts later


def test_connection_close_on_every_response():
    """connection_close=true: Connection: close on a plain answer and on a stream, and the
    connection is closed after each."""

    async def scenario(_session, base):
        out = []
        for path, body in (("/v1/completions", COMPLETION),
                           ("/v1/chat/completions", _stream_body())):
            async with RawConnection(base) as conn:
                out.append((await conn.post(path, body), await conn.closed_by_server()))
        return out

    results = run(FAST + "&connection_close=true", scenario)

    assert [("close", True)] * 2 == [(r.headers["Connection"], closed) for r, closed in results]
    assert "[DONE]" == results[1][0].events()[-1]


def test_ignore_stream_answers_with_one_json_body():
    """ignore_stream=true: stream: true gets a plain chat.completion body."""

    async def scenario(_session, base):
        async with RawConnection(base) as conn:
            return await conn.post("/v1/chat/completions", _stream_body())

    response = run(FAST + "&ignore_stream=true", scenario)

    assert response.headers["Content-Type"].startswith("application/json")
    assert "chat.completion" == response.json()["object"]
    assert 3 == response.json()["usage"]["completion_tokens"]


@pytest.mark.parametrize("option,status", [("rate_limit_rate", 429), ("unavailable_rate", 503)])
def test_rate_limit_and_unavailable_answers_carry_retry_after(option, status):
    """429 and 503 answers come at once with Retry-After and an OpenAI error body; the
    server's stats count them."""

    async def scenario(session, base):
        async with RawConnection(base) as conn:
            response = await conn.post("/v1/chat/completions", _stream_body())
        async with session.get(base + "/sim/stats") as stats:
            return response, await stats.json()

    response, stats = run(FAST + f"&{option}=1&retry_after_s=7", scenario)
    kind = "rate_limited" if status == 429 else "unavailable"

    assert status == response.status
    assert "7" == response.headers["Retry-After"]
    assert status == response.json()["error"]["code"]
    assert (1, 0) == (stats["totals"][kind], stats["totals"]["completed"])


def test_fault_rates_share_requests_with_429_and_503():
    """With every rate at a quarter, each kind of answer shows up (one seeded draw each)."""

    async def scenario(_session, base):
        async with RawConnection(base) as conn:
            return [(await conn.post("/v1/completions", COMPLETION)).status for _ in range(60)]

    statuses = run(FAST + "&error_rate=0.25&rate_limit_rate=0.25&unavailable_rate=0.25&seed=3",
                   scenario)

    assert {200, 429, 500, 503} == set(statuses)


def test_strict_model_answers_404_for_another_model():
    """vLLM checks the model name: another one gets a 404 naming it; its own passes."""

    async def scenario(_session, base):
        async with RawConnection(base) as conn:
            wrong = await conn.post("/v1/chat/completions", {**_plain_body(), "model": "gpt-x"})
            right = await conn.post("/v1/chat/completions", _plain_body())
            return wrong, right

    wrong, right = run(FAST + "&profile=vllm", scenario)

    assert 404 == wrong.status and "gpt-x" in wrong.json()["error"]["message"]
    assert 200 == right.status
