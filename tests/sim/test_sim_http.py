"""The OpenAI surface over real HTTP: deterministic timings, chunk formats, bodies, usage."""

from __future__ import annotations

import json
import statistics

import pytest
from simhelpers import chat_body, run, stats, stream, timing_sensitive, words

DETERMINISTIC = "sim://?mode=deterministic&ttft_ms=40&itl_ms=15"
INSTANT = "sim://?mode=deterministic&ttft_ms=0&itl_ms=0"


@timing_sensitive
def test_deterministic_timings_output_length_and_usage_as_configured():
    """TTFT, ITL and token count measured by the client match the configuration."""

    async def scenario(session, base):
        url = base + "/v1/chat/completions"
        await stream(session, url, chat_body(stream=True, max_tokens=1))  # warm the connection
        return await stream(session, url, chat_body(12, stream=True, max_tokens=8,
                                                     include_usage=True))

    result = run(DETERMINISTIC, scenario)
    content = result.content_events()
    gaps = [(b.at - a.at) * 1000 for a, b in zip(content, content[1:], strict=False)]

    assert 8 == len(content)
    assert content[0].at * 1000 == pytest.approx(40, abs=5)
    assert statistics.mean(gaps) == pytest.approx(15, abs=2)
    assert all(abs(g - 15) < 6 for g in gaps), gaps
    assert {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20,
            "prompt_tokens_details": {"cached_tokens": 0}} == \
        result.parsed()[-1]["usage"]


def test_deterministic_mode_ignores_load():
    """Twenty concurrent requests are scheduled the same TTFT as a lone one.

    The simulator's own record is the ground truth; what the client sees is checked only
    against a margin that a busy machine cannot break (the client shares the loop)."""
    import asyncio

    async def scenario(session, base):
        url = base + "/v1/completions"
        body = {"prompt": words(50), "max_tokens": 2, "stream": True}
        await stream(session, url, body)
        streamed = await asyncio.gather(*(stream(session, url, body) for _ in range(20)))
        return streamed, await stats(session, base)

    results, seen = run("sim://?mode=deterministic&ttft_ms=60&itl_ms=5", scenario)
    ttfts = [r.content_events()[0].at * 1000 for r in results]

    assert all(r["ttft_ms"] == pytest.approx(60.0) for r in seen["records"])
    assert 21 == len(seen["records"])
    assert min(ttfts) >= 60 - 1
    assert max(ttfts) < 60 + 500


def test_output_length_is_osl_when_the_request_sends_no_max_tokens():
    """Without max_tokens the answer has osl tokens and finishes with "stop"."""

    async def scenario(session, base):
        async with session.post(base + "/v1/chat/completions", json=chat_body()) as resp:
            return await resp.json()

    body = run(INSTANT + "&osl=7", scenario)
    choice = body["choices"][0]

    assert 7 == len(choice["message"]["content"].split())
    assert ("stop", 7) == (choice["finish_reason"], body["usage"]["completion_tokens"])


def test_chat_stream_format():
    """Role chunk, one content chunk per token, usage only on request, [DONE] last."""

    async def scenario(session, base):
        url = base + "/v1/chat/completions"
        with_usage = await stream(session, url, chat_body(3, stream=True, max_tokens=4,
                                                          include_usage=True))
        without = await stream(session, url, chat_body(3, stream=True, max_tokens=4))
        return with_usage, without

    with_usage, without = run(INSTANT, scenario)
    chunks = with_usage.parsed()

    assert "text/event-stream" in with_usage.headers["Content-Type"]
    assert "[DONE]" == with_usage.events[-1].data
    assert {"chat.completion.chunk"} == {c["object"] for c in chunks}
    assert {"test-model"} == {c["model"] for c in chunks}
    assert 1 == len({c["id"] for c in chunks})
    assert {"role": "assistant", "content": ""} == chunks[0]["choices"][0]["delta"]
    deltas = [c["choices"][0]["delta"]["content"] for c in chunks[1:5]]
    assert 4 == len("".join(deltas).split()) and all(d.endswith(" ") for d in deltas)
    assert "length" == chunks[4]["choices"][0]["finish_reason"]
    assert [] == chunks[-1]["choices"]
    assert {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7,
            "prompt_tokens_details": {"cached_tokens": 0}} == chunks[-1]["usage"]
    assert not any("usage" in c for c in without.parsed())
    assert 5 == len(without.parsed())
    assert "[DONE]" == without.events[-1].data


def test_completions_stream_format():
    """text_completion chunks carry choices[0].text; usage chunk when asked."""

    async def scenario(session, base):
        body = {"model": "m", "prompt": "a b c d e", "max_tokens": 3, "stream": True,
                "stream_options": {"include_usage": True}}
        return await stream(session, base + "/v1/completions", body)

    result = run(INSTANT, scenario)
    chunks = result.parsed()

    assert {"text_completion"} == {c["object"] for c in chunks}
    assert 3 == len([c for c in chunks if c["choices"] and c["choices"][0]["text"]])
    assert {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8,
            "prompt_tokens_details": {"cached_tokens": 0}} == chunks[-1]["usage"]
    assert "[DONE]" == result.events[-1].data


def test_non_streaming_bodies():
    """Full chat and completion bodies with usage."""

    async def scenario(session, base):
        async with session.post(base + "/v1/chat/completions",
                                json=chat_body(6, max_tokens=5)) as resp:
            chat = await resp.json()
        async with session.post(base + "/v1/completions",
                                json={"model": "m", "prompt": "x y", "max_tokens": 2}) as resp:
            completion = await resp.json()
        return chat, completion

    chat, completion = run(INSTANT, scenario)

    assert "chat.completion" == chat["object"]
    assert "assistant" == chat["choices"][0]["message"]["role"]
    assert 5 == len(chat["choices"][0]["message"]["content"].split())
    assert {"prompt_tokens": 6, "completion_tokens": 5, "total_tokens": 11,
            "prompt_tokens_details": {"cached_tokens": 0}} == chat["usage"]
    assert "text_completion" == completion["object"]
    assert 2 == len(completion["choices"][0]["text"].split())
    assert 2 == completion["usage"]["prompt_tokens"]


def test_reasoning_tokens_come_first_and_count_in_usage():
    """reasoning_content deltas precede the answer; usage reports them."""

    async def scenario(session, base):
        url = base + "/v1/chat/completions"
        streamed = await stream(session, url, chat_body(stream=True, max_tokens=2,
                                                         include_usage=True))
        async with session.post(url, json=chat_body(max_tokens=2)) as resp:
            return streamed, await resp.json()

    streamed, body = run(INSTANT + "&reasoning_tokens=3", scenario)
    kinds = [next(iter(c["choices"][0]["delta"])) for c in streamed.parsed()[1:-1]]
    usage = streamed.parsed()[-1]["usage"]

    assert ["reasoning_content"] * 3 + ["content"] * 2 == kinds
    assert (5, 3) == (usage["completion_tokens"],
                      usage["completion_tokens_details"]["reasoning_tokens"])
    assert 3 == len(body["choices"][0]["message"]["reasoning_content"].split())
    assert 2 == len(body["choices"][0]["message"]["content"].split())


def test_embeddings_and_models():
    """One vector per input with usage; the configured model is listed."""

    async def scenario(session, base):
        async with session.post(base + "/v1/embeddings",
                                json={"model": "e", "input": ["a b", "c d e"]}) as resp:
            embeddings = await resp.json()
        async with session.get(base + "/v1/models") as resp:
            models = await resp.json()
        return embeddings, models

    embeddings, models = run(INSTANT + "&embedding_dim=6&model=my-model", scenario)

    assert "list" == embeddings["object"]
    assert [0, 1] == [d["index"] for d in embeddings["data"]]
    assert {6} == {len(d["embedding"]) for d in embeddings["data"]}
    assert {"prompt_tokens": 5, "total_tokens": 5} == embeddings["usage"]
    assert ["my-model"] == [m["id"] for m in models["data"]]


def test_request_id_is_echoed_and_recorded():
    """x-request-id comes back in the headers and names the stats record."""

    async def scenario(session, base):
        result = await stream(session, base + "/v1/chat/completions",
                              chat_body(stream=True, max_tokens=2), {"x-request-id": "abc-1"})
        return result, await stats(session, base)

    result, body = run(INSTANT, scenario)

    assert "abc-1" == result.headers["x-request-id"]
    assert ["abc-1"] == [r["request_id"] for r in body["records"]]


def test_bad_request_gets_an_openai_error():
    """Invalid JSON or a missing field is a 400 with an error object."""

    async def scenario(session, base):
        async with session.post(base + "/v1/chat/completions", data=b"{nope") as resp:
            bad_json = resp.status, await resp.json()
        async with session.post(base + "/v1/completions", json={"model": "m"}) as resp:
            missing = resp.status, await resp.json()
        return bad_json, missing

    bad_json, missing = run(INSTANT, scenario)

    assert 400 == bad_json[0] and "invalid_request_error" == bad_json[1]["error"]["type"]
    assert (400, "prompt") == (missing[0], missing[1]["error"]["param"])


def test_reset_clears_stats():
    """POST /sim/reset forgets every record."""

    async def scenario(session, base):
        async with session.post(base + "/v1/completions", json={"prompt": "a"}) as resp:
            await resp.read()
        async with session.post(base + "/sim/reset") as resp:
            assert {"reset": True} == await resp.json()
        return await stats(session, base)

    body = run(INSTANT, scenario)

    assert (0, []) == (body["totals"]["requests"], body["records"])
    assert json.dumps(body)  # plain JSON throughout
