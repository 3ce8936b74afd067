"""The connection quirks of :class:`~aiperf.sim.profiles.Quirks` on aiohttp's web server.

aiohttp decides whether to keep a connection from ``response.keep_alive`` once the handler
has finished the response, and closes the transport only after the response's last byte
was handed to it (asyncio flushes a transport's buffer before it closes), so the client
always gets the complete response before the FIN:

- the headers (``Keep-Alive``, ``Connection: close``) are set in an
  ``on_response_prepare`` hook, which sees every response of the application, errors
  included, just before its headers go out;
- ``response.force_close()`` after the headers were sent closes the connection at the end
  of the response without a ``Connection: close`` header: llama.cpp's
  close-after-every-stream;
- the idle timeout is aiohttp's own ``keepalive_timeout`` (:func:`idle_timeout_s`): a
  silent close, which a client discovers only when it reuses the connection.
"""

from __future__ import annotations

import asyncio

from aiohttp import hdrs, web

from aiperf.sim.profiles import Quirks

#: "Never" for aiohttp, which has no such value (0 would close at once): about 30 years.
_NEVER_S = 1e9


def idle_timeout_s(quirks: Quirks) -> float:
    """aiohttp's ``keepalive_timeout`` for these quirks."""
    return quirks.idle_timeout_s or _NEVER_S


class ConnectionPolicy:
    """Applies the keep-alive quirks to every response of one application."""

    def __init__(self, quirks: Quirks) -> None:
        self.quirks = quirks
        self._responses = _PerConnection()
        advertised = f"{quirks.idle_timeout_s:g}" if quirks.idle_timeout_s else "0"
        self._keep_alive = f"timeout={advertised}, max={quirks.keepalive_max}"

    async def on_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        """The ``on_response_prepare`` hook: decide this response's connection headers."""
        q = self.quirks
        n = self._responses.count(request.transport)
        if (q.connection_close or (q.keepalive_max and n >= q.keepalive_max)
                or (q.close_on_error and response.status >= 400)):
            response.force_close()
            # Set explicitly: aiohttp may already have rendered its own Connection header
            # decision by the time this hook runs.
            response.headers[hdrs.CONNECTION] = "close"
        elif q.keepalive_max:
            response.headers[hdrs.KEEP_ALIVE] = self._keep_alive

    def stream_started(self, response: web.StreamResponse) -> None:
        """Call once a streamed response's headers were sent: with ``close_after_stream``
        the connection closes when the stream ends, whatever the headers said."""
        if self.quirks.close_after_stream:
            response.force_close()


class _PerConnection:
    """Responses started per open connection, keyed by transport.

    Closed connections are forgotten in sweeps whenever the table doubles, so a long run
    with many short-lived connections keeps it small.
    """

    def __init__(self) -> None:
        self._counts: dict[asyncio.BaseTransport, int] = {}
        self._sweep_at = 64

    def count(self, transport: asyncio.BaseTransport | None) -> int:
        """Count one more response on ``transport``; return how many it has had."""
        if transport is None:  # the client is already gone: nothing to keep alive
            return 1
        n = self._counts.get(transport, 0) + 1
        self._counts[transport] = n
        if len(self._counts) >= self._sweep_at:
            self._counts = {t: c for t, c in self._counts.items() if not t.is_closing()}
            self._sweep_at = max(64, 2 * len(self._counts))
        return n
