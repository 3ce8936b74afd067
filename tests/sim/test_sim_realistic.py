"""Realistic mode over real HTTP: prefill cost, queueing, batch slowdown, and /sim/stats."""

from __future__ import annotations

import asyncio
import statistics

import aiohttp
import pytest
from simhelpers import chat_body, run, stats, stream, timing_sensitive


def _gaps_ms(result):
    events = result.content_events()
    return [(b.at - a.at) * 1000 for a, b in zip(events, events[1:], strict=False)]


@timing_sensitive
def test_ttft_grows_with_input_length():
    """ISL 2000 costs 95 ms more prefill than ISL 100 at 0.05 ms per token."""

    async def scenario(session, base):
        url = base + "/v1/chat/completions"
        await stream(session, url, chat_body(1, stream=True, max_tokens=1))
        short = await stream(session, url, chat_body(100, stream=True, max_tokens=1))
        long = await stream(session, url, chat_body(2000, stream=True, max_tokens=1))
        return short, long

    short, long = run("sim://?base_ttft_ms=5&prefill_ms_per_token=0.05&jitter=0", scenario)
    ttft_short = short.content_events()[0].at * 1000
    ttft_long = long.content_events()[0].at * 1000

    assert ttft_short == pytest.approx(5 + 5, abs=5)
    assert ttft_long - ttft_short == pytest.approx(95, abs=10)


@timing_sensitive
def test_stream_headers_leave_before_prefill_ends():
    """Time to first byte is not time to first token: headers come at once, tokens later."""

    async def scenario(session, base):
        return await stream(session, base + "/v1/chat/completions",
                            chat_body(stream=True, max_tokens=1))

    result = run("sim://?base_ttft_ms=120&prefill_ms_per_token=0&jitter=0", scenario)

    assert result.headers_at < 0.06
    assert result.content_events()[0].at >= 0.119


@timing_sensitive
def test_requests_beyond_max_batch_queue_and_wait_longer():
    """Two slots, six requests: TTFT climbs in steps of one slot holding time (40 ms)."""
    sim = ("sim://?max_batch=2&base_ttft_ms=20&prefill_ms_per_token=0&base_itl_ms=10"
           "&itl_ms_per_seq=0&jitter=0")

    async def scenario(session, base):
        url = base + "/v1/chat/completions"
        results = await asyncio.gather(*(stream(session, url, chat_body(stream=True, max_tokens=3))
                                         for _ in range(6)))
        return results, await stats(session, base)

    results, body = run(sim, scenario)
    ttfts = sorted(r.content_events()[0].at * 1000 for r in results)

    assert ttfts[1] < 40
    assert 55 <= ttfts[2] and ttfts[3] < 85
    assert 95 <= ttfts[4]
    assert (2, 4) == (body["concurrency"]["max_batch_active"], body["concurrency"]["max_queued"])
    assert sorted(r["queue_ms"] > 30 for r in body["records"]) == [False] * 2 + [True] * 4


@timing_sensitive
def test_itl_grows_with_concurrent_sequences():
    """A lone sequence decodes at 5 + 2*1 ms per token; sixteen at once at 5 + 2*16."""
    sim = "sim://?base_ttft_ms=1&prefill_ms_per_token=0&base_itl_ms=5&itl_ms_per_seq=2&jitter=0"

    async def scenario(session, base):
        url = base + "/v1/chat/completions"
        lone = await stream(session, url, chat_body(stream=True, max_tokens=6))
        crowd = await asyncio.gather(*(stream(session, url, chat_body(stream=True, max_tokens=6))
                                       for _ in range(16)))
        return lone, crowd

    lone, crowd = run(sim, scenario)
    lone_itl = statistics.mean(_gaps_ms(lone))
    crowd_itl = statistics.mean(g for r in crowd for g in _gaps_ms(r))

    assert lone_itl == pytest.approx(7, abs=3)
    assert crowd_itl == pytest.approx(37, abs=6)


def test_stats_agree_with_what_the_client_saw():
    """Counts, token totals and per-request records match the client's own view."""
    sim = "sim://?base_ttft_ms=2&prefill_ms_per_token=0.01&base_itl_ms=1&itl_ms_per_seq=0.1"

    async def one(session, url, i):
        request = chat_body(10 + i, stream=i % 2 == 0, max_tokens=2 + i % 5)
        headers = {"x-request-id": f"req-{i}"}
        if request["stream"]:
            result = await stream(session, url, request, headers)
            return request, len(result.content_events()), result.content_events()[0].at * 1000
        async with session.post(url, json=request, headers=headers) as resp:
            answer = (await resp.json())["choices"][0]["message"]["content"]
        return request, len(answer.split()), None

    async def scenario(session, base):
        url = base + "/v1/chat/completions"
        seen = await asyncio.gather(*(one(session, url, i) for i in range(12)))
        return seen, await stats(session, base)

    seen, body = run(sim, scenario)
    records = {r["request_id"]: r for r in body["records"]}

    for i, (request, tokens, ttft_ms) in enumerate(seen):
        record = records[f"req-{i}"]
        assert (request["max_tokens"], request["max_tokens"], 10 + i, request["stream"]) == \
            (tokens, record["output_tokens"], record["isl"], record["streaming"])
        assert record["completed"] and record["fault"] is None
        if ttft_ms is not None:  # the server's schedule is never later than what we saw
            assert record["ttft_ms"] <= ttft_ms + 1
    totals = body["totals"]
    assert (12, 6, 12) == (totals["requests"], totals["streaming"], totals["completed"])
    assert sum(tokens for _, tokens, _ in seen) == totals["output_tokens"]
    assert sum(10 + i for i in range(12)) == totals["prompt_tokens"]
    assert 2 <= body["concurrency"]["max_in_flight"] <= 12
    assert 0 == body["concurrency"]["in_flight"]


@timing_sensitive
def test_a_client_that_gives_up_frees_its_batch_slot():
    """One slot: a request abandoned after 50 ms must not hold the next one for 500 ms."""
    sim = ("sim://?max_batch=1&base_ttft_ms=5&prefill_ms_per_token=0&base_itl_ms=50"
           "&itl_ms_per_seq=0&jitter=0")

    async def scenario(session, base):
        url = base + "/v1/chat/completions"
        with pytest.raises(asyncio.TimeoutError):
            await stream(session, url, chat_body(stream=True, max_tokens=10),
                         timeout=aiohttp.ClientTimeout(total=0.05))
        await asyncio.sleep(0.02)  # let the server notice the closed connection
        after = await stream(session, url, chat_body(stream=True, max_tokens=1))
        return after, await stats(session, base)

    after, body = run(sim, scenario)

    assert after.content_events()[0].at < 0.1
    assert 1 == body["totals"]["client_gone"]
    assert [False, True] == [r["completed"] for r in body["records"]]
