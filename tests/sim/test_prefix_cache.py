"""The simulator's prefix cache: the pure block store, then over real HTTP on 127.0.0.1.

The HTTP tests assert on ground truth: the ``usage`` the server reported, its ``/metrics``
and the TTFT it scheduled (``/sim/stats`` records deadlines, not wall-clock readings).
With the generic profile a completion prompt of N words is exactly N tokens.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from promtext import parse
from simhelpers import run, stats

from aiperf.sim.prefix_cache import PrefixCache

#: Realistic, no noise, 1 ms per prompt token: TTFT = 1 + uncached tokens (ms).
TIMED = "sim://?base_ttft_ms=1&prefill_ms_per_token=1&jitter=0&base_itl_ms=0&itl_ms_per_seq=0"
FAST = "sim://?mode=deterministic&ttft_ms=0&itl_ms=0"


def _tokens(n: int, tag: str = "t") -> list[str]:
    return [f"{tag}{i}" for i in range(n)]


def _text(n: int, tag: str = "w") -> str:
    return " ".join(_tokens(n, tag))


# -- the pure cache ------------------------------------------------------------------------


def test_a_repeated_prompt_hits_on_its_whole_blocks():
    """40 tokens in blocks of 16: the second time, two whole blocks are cached."""
    cache = PrefixCache(1024, 16)

    assert (0, 32) == (cache.query(_tokens(40)), cache.query(_tokens(40)))


def test_the_last_token_is_never_a_hit():
    """A 32-token prompt seen before reuses one block: the last token must be computed."""
    cache = PrefixCache(1024, 16)
    cache.query(_tokens(32))

    assert 16 == cache.query(_tokens(32))


def test_a_block_hits_only_when_the_whole_prefix_before_it_matches():
    """The same second block after another first block is a miss (chained hashes)."""
    cache = PrefixCache(1024, 16)
    cache.query(_tokens(16, "a") + _tokens(16, "b") + ["end"])

    assert 0 == cache.query(_tokens(16, "c") + _tokens(16, "b") + ["end"])


def test_least_recently_used_blocks_are_evicted_first():
    """Four blocks of room: A, B, A again, then C evicts B, not A."""
    cache = PrefixCache(64, 16)
    a, b, c = (_tokens(33, tag) for tag in "abc")
    seen = [cache.query(p) for p in (a, b, a, c, a, b)]

    assert [0, 0, 32, 0, 32, 0] == seen


def test_a_prompts_tail_is_evicted_before_its_head():
    """Two blocks of room and a three-block prompt: its first two blocks stay."""
    cache = PrefixCache(32, 16)
    cache.query(_tokens(49))

    assert (32, 32) == (cache.held_tokens, cache.query(_tokens(49)))


def test_no_capacity_means_no_cache():
    """capacity 0 (or less than a block) caches nothing."""
    cache = PrefixCache(0, 16)
    cache.query(_tokens(40))

    assert (False, 0) == (cache.enabled, cache.query(_tokens(40)))


def test_a_query_without_reuse_still_stores_its_blocks():
    """reuse=False (llama.cpp's cache_prompt: false) hits nothing but warms the cache."""
    cache = PrefixCache(1024, 16)
    cache.query(_tokens(40))

    assert (0, 32) == (cache.query(_tokens(40), reuse=False), cache.query(_tokens(40)))


# -- over HTTP -----------------------------------------------------------------------------


async def _complete(session: aiohttp.ClientSession, base: str, prompt: str,
                    **extra: Any) -> dict[str, Any]:
    body = {"model": "m", "prompt": prompt, "max_tokens": 1, **extra}
    async with session.post(base + "/v1/completions", json=body) as resp:
        assert 200 == resp.status
        return await resp.json()


def _cached(answer: dict[str, Any]) -> int:
    return int(answer["usage"]["prompt_tokens_details"]["cached_tokens"])


def test_a_repeated_prompt_reports_its_cached_blocks_and_skips_their_prefill():
    """40 tokens twice: 0 then 32 cached; scheduled TTFT 1 + 40 ms, then 1 + 8 ms."""

    async def scenario(session, base):
        answers = [await _complete(session, base, _text(40)) for _ in range(2)]
        return answers, await stats(session, base)

    answers, body = run(TIMED, scenario)

    assert [0, 32] == [_cached(a) for a in answers]
    assert [41.0, 9.0] == pytest.approx([r["ttft_ms"] for r in body["records"]])


def test_prompts_sharing_a_prefix_share_exactly_its_whole_blocks():
    """Two 50-token prompts equal in their first 37 tokens share two blocks (32)."""
    shared = _text(37)

    async def scenario(session, base):
        first = await _complete(session, base, shared + " " + _text(13, "x"))
        return first, await _complete(session, base, shared + " " + _text(13, "y"))

    first, second = run(FAST, scenario)

    assert (0, 32) == (_cached(first), _cached(second))


def test_unique_prompts_get_no_cached_tokens():
    """Prompts that differ from their first token on share nothing."""

    async def scenario(session, base):
        return [await _complete(session, base, _text(40, tag)) for tag in "abc"]

    assert [0, 0, 0] == [_cached(a) for a in run(FAST, scenario)]


def test_a_conversation_sent_turn_by_turn_reuses_its_history():
    """Each turn resends the history: it hits on every whole block of the previous turn's
    prompt, and the session header is recorded on every turn."""

    async def scenario(session, base):
        messages = [{"role": "system", "content": _text(20, "s")}]
        usages = []
        for turn in range(3):
            messages.append({"role": "user", "content": _text(10, f"u{turn}-")})
            body = {"model": "m", "max_tokens": 5, "messages": messages}
            async with session.post(base + "/v1/chat/completions", json=body,
                                    headers={"X-Session-ID": "conv-1"}) as resp:
                answer = await resp.json()
            usages.append(answer["usage"])
            messages.append(answer["choices"][0]["message"])
        return usages, await stats(session, base)

    usages, body = run(FAST, scenario)
    prompts = [u["prompt_tokens"] for u in usages]

    assert [30, 45, 60] == prompts
    assert [0, 16, 32] == [u["prompt_tokens_details"]["cached_tokens"] for u in usages]
    assert [16 * (p // 16) for p in prompts[:-1]] == [u["prompt_tokens_details"]
                                                      ["cached_tokens"] for u in usages[1:]]
    assert ["conv-1"] * 3 == [r["session_id"] for r in body["records"]]


def test_the_same_words_under_another_role_are_another_prompt():
    """Roles are part of the rendered chat: system words resent as user words miss."""

    async def scenario(session, base):
        out = []
        for role in ("system", "user"):
            body = {"model": "m", "max_tokens": 1,
                    "messages": [{"role": role, "content": _text(40)}]}
            async with session.post(base + "/v1/chat/completions", json=body) as resp:
                out.append(_cached(await resp.json()))
        return out

    assert [0, 0] == run(FAST, scenario)


def test_a_small_cache_evicts_the_least_recently_used_prompt():
    """Room for four blocks: A, B, A, C pushes B out and keeps A."""

    async def scenario(session, base):
        prompts = {tag: _text(33, tag) for tag in "abc"}
        return [_cached(await _complete(session, base, prompts[tag])) for tag in "abacab"]

    assert [0, 0, 32, 0, 32, 0] == run(FAST + "&prefix_cache_tokens=64", scenario)


def test_zero_capacity_turns_the_cache_off():
    """prefix_cache_tokens=0: a repeated prompt is never cached, and TTFT stays full."""

    async def scenario(session, base):
        answers = [await _complete(session, base, _text(40)) for _ in range(2)]
        return answers, await stats(session, base)

    answers, body = run(TIMED + "&prefix_cache_tokens=0", scenario)

    assert [0, 0] == [_cached(a) for a in answers]
    assert [41.0, 41.0] == pytest.approx([r["ttft_ms"] for r in body["records"]])


def test_vllm_metrics_and_sim_stats_agree_with_the_usage_reported():
    """Hits total the usage's cached tokens; queries total every prompt token. (The
    50-token prompt hits only 32: the 40-token one before it filled two blocks.)"""

    async def scenario(session, base):
        answers = [await _complete(session, base, p)
                   for p in (_text(40), _text(40), _text(50), _text(20, "z"))]
        async with session.get(base + "/metrics") as resp:
            families = parse(await resp.text())
        return answers, families, await stats(session, base)

    answers, families, body = run(FAST, scenario)
    cached = [_cached(a) for a in answers]
    totals = body["totals"]

    assert [0, 32, 32, 0] == cached
    assert cached == [r["cached_tokens"] for r in body["records"]]
    assert sum(cached) == totals["cached_tokens"] == \
        families["vllm:prefix_cache_hits_total"].value()
    assert 150 == totals["prompt_tokens"] == families["vllm:prefix_cache_queries_total"].value()


def test_llama_cpp_metrics_count_cached_tokens_apart_from_processed_ones():
    """llama-server counts reused tokens in prompt_tokens_cached_total and leaves them out
    of prompt_tokens_total; its usage reports them as OpenAI does."""

    async def scenario(session, base):
        answers = [await _complete(session, base, _text(40)) for _ in range(2)]
        async with session.get(base + "/metrics") as resp:
            return answers, parse(await resp.text())

    answers, families = run(FAST + "&profile=llama.cpp", scenario)

    assert [41, 41] == [a["usage"]["prompt_tokens"] for a in answers]  # BOS + 40 words
    assert [0, 32] == [_cached(a) for a in answers]
    assert 32 == families["llamacpp:prompt_tokens_cached_total"].value()
    assert 82 - 32 == families["llamacpp:prompt_tokens_total"].value()


def test_llama_cpp_cache_prompt_false_reuses_nothing():
    """As llama-server: "cache_prompt": false measures full prefill."""

    async def scenario(session, base):
        await _complete(session, base, _text(40))
        return await _complete(session, base, _text(40), cache_prompt=False)

    assert 0 == _cached(run(FAST + "&profile=llama.cpp", scenario))


def test_vllm_leaves_cached_details_out_of_usage_but_still_caches():
    """vLLM reports prompt_tokens_details only when started to; the hit still shows in
    /sim/stats."""

    async def scenario(session, base):
        answers = [await _complete(session, base, _text(40)) for _ in range(2)]
        return answers, await stats(session, base)

    answers, body = run(FAST + "&profile=vllm&model=m", scenario)

    assert not any("prompt_tokens_details" in a["usage"] for a in answers)
    assert 32 == body["totals"]["cached_tokens"]


def test_deterministic_mode_keeps_its_fixed_ttft_with_a_cache_hit():
    """ttft_ms is a promise: a cached prefix changes the usage, not the timing."""

    async def scenario(session, base):
        answers = [await _complete(session, base, _text(40)) for _ in range(2)]
        return answers, await stats(session, base)

    answers, body = run("sim://?mode=deterministic&ttft_ms=7&itl_ms=0", scenario)

    assert [0, 32] == [_cached(a) for a in answers]
    assert [7.0, 7.0] == pytest.approx([r["ttft_ms"] for r in body["records"]])


def test_the_configured_session_header_is_recorded():
    """session_header names the header; a request without it records None."""

    async def scenario(session, base):
        await _complete_with(session, base, {"X-Conversation": "abc"})
        await _complete_with(session, base, {"X-Session-ID": "ignored"})
        return await stats(session, base)

    body = run(FAST + "&session_header=X-Conversation", scenario)

    assert ["abc", None] == [r["session_id"] for r in body["records"]]


async def _complete_with(session: aiohttp.ClientSession, base: str,
                         headers: dict[str, str]) -> None:
    body = {"model": "m", "prompt": "hi", "max_tokens": 1}
    async with session.post(base + "/v1/completions", json=body, headers=headers) as resp:
        assert 200 == resp.status


def test_reset_empties_the_cache():
    """POST /sim/reset: the next run starts cold."""

    async def scenario(session, base):
        await _complete(session, base, _text(40))
        async with session.post(base + "/sim/reset") as resp:
            assert 200 == resp.status
        return await _complete(session, base, _text(40))

    assert 0 == _cached(run(FAST, scenario))
