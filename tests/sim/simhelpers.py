"""Helpers for the simulator tests: a real server on 127.0.0.1 and a plain SSE reader.

There is no pytest-asyncio here: each test is a coroutine run with :func:`run`, which
starts a fresh simulator, hands the coroutine an aiohttp session and the base URL, and
tears both down whatever happens.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import attrs
from multidict import CIMultiDict

from aiperf.sim.inprocess import parse_sim_url, serve

Scenario = Callable[[aiohttp.ClientSession, str], Awaitable[Any]]


def run(sim_url: str, scenario: Scenario, *, limit: int = 0) -> Any:
    """Run ``scenario(session, base_url)`` against a fresh simulator built from ``sim_url``."""

    async def main() -> Any:
        async with serve(parse_sim_url(sim_url)) as base_url:
            connector = aiohttp.TCPConnector(limit=limit)
            async with aiohttp.ClientSession(connector=connector) as session:
                return await scenario(session, base_url)

    return asyncio.run(main())


def words(n: int) -> str:
    """A prompt of exactly ``n`` whitespace-separated words."""
    return " ".join(f"w{i}" for i in range(n))


def chat_body(n_words: int = 5, *, max_tokens: int | None = None, stream: bool = False,
              include_usage: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "test-model", "stream": stream,
                            "messages": [{"role": "user", "content": words(n_words)}]}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    return body


@attrs.frozen
class Event:
    """One SSE ``data:`` event as the client saw it."""

    at: float  # seconds since the request was sent (perf_counter)
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


@attrs.frozen
class Streamed:
    status: int
    headers: CIMultiDict[str]
    events: tuple[Event, ...]
    headers_at: float

    def parsed(self) -> list[dict[str, Any]]:
        """Every event but ``[DONE]``, decoded."""
        return [e.json() for e in self.events if e.data != "[DONE]"]

    def content_events(self) -> list[Event]:
        """Events that carry answer or reasoning text (not the role or usage chunks)."""
        out = []
        for e in self.events:
            if e.data == "[DONE]":
                continue
            choices = e.json()["choices"]
            if not choices:
                continue
            c = choices[0]
            text = c.get("text") or c.get("delta", {}).get("content") \
                or c.get("delta", {}).get("reasoning_content")
            if text:
                out.append(e)
        return out


async def stream(session: aiohttp.ClientSession, url: str, body: dict[str, Any],
                 headers: dict[str, str] | None = None, **kwargs: Any) -> Streamed:
    """POST and read the SSE stream line by line, timestamping each event on arrival."""
    start = time.perf_counter()
    async with session.post(url, json=body, headers=headers, **kwargs) as resp:
        headers_at = time.perf_counter() - start
        events = []
        async for raw in resp.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("data: "):
                events.append(Event(time.perf_counter() - start, line[len("data: "):]))
        return Streamed(resp.status, CIMultiDict(resp.headers), tuple(events), headers_at)


async def stats(session: aiohttp.ClientSession, base_url: str) -> dict[str, Any]:
    async with session.get(base_url + "/sim/stats") as resp:
        assert resp.status == 200
        return await resp.json()


def timing_sensitive(test: Callable[..., Any]) -> Callable[..., Any]:
    """Rerun a wall-clock test up to three times; it passes on the first clean attempt.

    On a busy machine another process can take the CPU for tens of milliseconds in the middle
    of a measurement. That is a property of the moment, not of the simulator: a real bug fails
    every attempt, a bad moment rarely three in a row.
    """

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(3):
            try:
                return test(*args, **kwargs)
            except AssertionError:
                if attempt == 2:
                    raise
        return None

    return wrapper
