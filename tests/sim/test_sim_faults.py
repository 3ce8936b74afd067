"""Injected faults over real HTTP: errors, disconnects, malformed chunks, stalls."""

from __future__ import annotations

import json
import time

import aiohttp
import pytest
from simhelpers import chat_body, run, stats, stream, timing_sensitive

FAST = "sim://?mode=deterministic&ttft_ms=5&itl_ms=1"


def test_error_rate_one_answers_500_with_an_openai_error():
    """Every request fails at once with a JSON error object; stats count it."""

    async def scenario(session, base):
        async with session.post(base + "/v1/chat/completions",
                                json=chat_body(stream=True)) as resp:
            answer = resp.status, await resp.json()
        return answer, await stats(session, base)

    (status, body), recorded = run(FAST + "&error_rate=1", scenario)

    assert 500 == status
    assert {"message", "type", "param", "code"} == set(body["error"])
    assert ("server_error", 500) == (body["error"]["type"], body["error"]["code"])
    assert (1, 0) == (recorded["totals"]["errors_injected"], recorded["totals"]["completed"])
    assert ("error", 500) == (recorded["records"][0]["fault"], recorded["records"][0]["status"])


def test_disconnect_rate_one_closes_the_stream_midway():
    """The client gets some tokens, then a payload error, and never [DONE]."""

    async def scenario(session, base):
        received = []
        with pytest.raises(aiohttp.ClientPayloadError):
            async with session.post(base + "/v1/chat/completions",
                                    json=chat_body(stream=True, max_tokens=10)) as resp:
                async for line in resp.content:
                    received.append(line)
        with pytest.raises(aiohttp.ServerDisconnectedError):
            async with session.post(base + "/v1/chat/completions",
                                    json=chat_body(max_tokens=4)) as resp:
                await resp.read()
        return received, await stats(session, base)

    received, recorded = run(FAST + "&disconnect_rate=1", scenario)
    events = [line for line in received if line.startswith(b"data: ")]

    assert 1 + 5 == len(events)  # the role chunk and half of the ten tokens
    assert b"data: [DONE]\n" not in received
    assert 2 == recorded["totals"]["disconnects"]
    assert [5, 4] == [r["output_tokens"] for r in recorded["records"]]
    assert not any(r["completed"] for r in recorded["records"])


def test_malformed_rate_one_sends_an_unparseable_chunk():
    """Streams carry one event that is not JSON; plain bodies are cut off."""

    async def scenario(session, base):
        streamed = await stream(session, base + "/v1/completions",
                                {"prompt": "a b", "max_tokens": 6, "stream": True})
        async with session.post(base + "/v1/completions",
                                json={"prompt": "a b", "max_tokens": 6}) as resp:
            return streamed, resp.status, await resp.text()

    streamed, status, text = run(FAST + "&malformed_rate=1", scenario)
    bad = []
    for event in streamed.events[:-1]:  # all but [DONE]
        try:
            json.loads(event.data)
        except json.JSONDecodeError:
            bad.append(event)

    assert 1 == len(bad)
    assert "[DONE]" == streamed.events[-1].data  # the stream itself goes on to the end
    assert 200 == status
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


@timing_sensitive
def test_stall_delays_the_first_byte():
    """Response headers arrive only after stall_ms; the stall counts in the server's TTFT."""

    async def scenario(session, base):
        start = time.perf_counter()
        async with session.get(base + "/v1/models") as resp:
            await resp.read()
        models_s = time.perf_counter() - start
        result = await stream(session, base + "/v1/chat/completions",
                              chat_body(stream=True, max_tokens=2))
        return models_s, result, await stats(session, base)

    models_s, result, recorded = run("sim://?mode=deterministic&ttft_ms=0&itl_ms=0&stall_ms=150",
                                     scenario)

    assert models_s < 0.1  # only generation endpoints stall
    assert result.headers_at >= 0.149
    assert recorded["records"][0]["ttft_ms"] == pytest.approx(150, abs=1)
    assert 1 == recorded["totals"]["stalls"]


def test_fault_draws_are_seeded_and_reset_replays_them():
    """error_rate=0.5 fails about half; after /sim/reset the same sequence repeats."""

    async def statuses(session, base):
        out = []
        for _ in range(30):
            async with session.post(base + "/v1/completions", json={"prompt": "x"}) as resp:
                await resp.read()
                out.append(resp.status)
        return out

    async def scenario(session, base):
        first = await statuses(session, base)
        async with session.post(base + "/sim/reset") as resp:
            await resp.read()
        return first, await statuses(session, base)

    first, second = run("sim://?mode=deterministic&ttft_ms=0&itl_ms=0&error_rate=0.5&seed=4",
                        scenario)

    assert first == second
    assert 8 <= first.count(500) <= 22
