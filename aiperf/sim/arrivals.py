"""When each request's bytes reached the simulator's process, rather than its handler.

aiohttp runs a request's handler only after its own work on the connection: accepting it,
making the protocol and the request objects, starting the handler's task. When many
requests come at once (a closed-loop wave, or a client that opens a connection per
request, as against llama-server), the last of them reaches its handler well after its
bytes were read (the median request of a 16-request wave, about 0.7 ms on a 2-core box).
A simulator that counted its configured TTFT from the handler would answer that much later
than configured, and its own records would leave the delay out: a client measuring
perfectly would look that much wrong.

So the listening socket's protocols are wrapped (:meth:`ArrivalStamps.protocol_factory`):
the first read of each request stamps the time, the handler reads the stamp
(:meth:`ArrivalStamps.of`) and counts the request's timeline (deterministic TTFT deadline,
``arrival_unix_ns``, latency) from it, and :meth:`ArrivalStamps.middleware` drops it when
the request has been handled. A real server's TTFT likewise starts when its process has
the request, and includes its own HTTP work. Requests served without the wrapper (an
aiohttp test server) are stamped when their handler starts.

One request at a time per connection is assumed (reads that come while a request is
handled, the rest of its body, stamp nothing); aiperf's client never pipelines.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from aiohttp import web


class Arrival(NamedTuple):
    """When a request's first bytes were read: the loop's clock and the wall clock."""

    loop_time: float
    unix_ns: int


_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ArrivalStamps:
    """The first-read stamp of the request now on each connection, by transport."""

    def __init__(self) -> None:
        self._by_transport: dict[Any, Arrival] = {}

    def protocol_factory(self, inner: Callable[[], asyncio.Protocol]
                         ) -> Callable[[], asyncio.Protocol]:
        """A factory for ``loop.create_server`` whose protocols stamp reads and hand
        everything to the protocol ``inner`` makes (aiohttp's request handler)."""
        return lambda: _Stamping(inner(), self._by_transport)

    @web.middleware
    async def middleware(self, request: web.Request, handler: _Handler
                         ) -> web.StreamResponse:
        """Stamp a request whose reads were not stamped (now), and drop its stamp once
        it has been handled, so the next request on the connection stamps its own."""
        transport = request.transport
        if transport not in self._by_transport:
            self._by_transport[transport] = _now()
        try:
            return await handler(request)
        finally:
            self._by_transport.pop(transport, None)

    def of(self, request: web.Request) -> Arrival:
        """When ``request`` reached the process (see the module docstring)."""
        stamped = self._by_transport.get(request.transport)
        return _now() if stamped is None else stamped


def _now() -> Arrival:
    return Arrival(asyncio.get_running_loop().time(), time.time_ns())


class _Stamping(asyncio.Protocol):
    """aiohttp's protocol for one connection, with each request's first read stamped."""

    __slots__ = ("_inner", "_stamps", "_transport", "_loop_time")

    def __init__(self, inner: asyncio.Protocol, stamps: dict[Any, Arrival]) -> None:
        self._inner = inner
        self._stamps = stamps
        self._transport: asyncio.BaseTransport | None = None
        self._loop_time = asyncio.get_running_loop().time

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._transport not in self._stamps:
            self._stamps[self._transport] = Arrival(self._loop_time(), time.time_ns())
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stamps.pop(self._transport, None)
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()
