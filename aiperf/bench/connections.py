"""Keep-alive connections over a run: when to stop reusing them, and what happened to them.

Real servers close connections in ways their headers do not always announce. llama.cpp's
``llama-server`` closes the connection after every streamed response while its headers
still say ``Keep-Alive: timeout=5, max=100``; a client that puts that connection back in
its pool and sends the next request on it loses the request ("Can not write request body",
"Server disconnected"). :class:`ConnectionWatch` is the per-run bookkeeping that lets the
client cope:

- it counts the responses on each connection and closes a connection once the server's
  ``Keep-Alive: max`` is reached (``Connection: close`` is honoured by the HTTP client
  itself);
- it notices a connection the server closed while it sat idle in the pool for much less
  than the advertised keep-alive timeout: such a server closes connections after its
  responses, so the run stops reusing connections (one per request) and says so once;
- it counts the stale connections the client replaced (a request re-sent on a fresh
  connection because the reused one had been closed before a byte of a response came).

A connection here is whatever the client's HTTP layer calls one: an
:class:`aiperf.bench.http1.Connection`, or aiohttp's protocol object for the URLs aiohttp
still serves; both offer ``closed``, ``is_connected()``, ``close()`` and
``force_close()``. Only this module and :mod:`aiperf.bench.client` touch them; the rest
of the run sees :class:`ConnectionHealth`.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import attrs

_perf_ns = time.perf_counter_ns
#: A connection closed by the server this soon after it went idle was closed because its
#: response ended, not because it idled too long (capped by half the advertised timeout).
CLOSED_AFTER_RESPONSE_S = 1.0


@attrs.frozen
class KeepAlive:
    """A ``Keep-Alive`` response header: ``timeout`` seconds and ``max`` requests."""

    timeout_s: float | None = None
    max_requests: int | None = None


_NOTHING_SAID = KeepAlive()


def parse_keep_alive(value: str | None) -> KeepAlive:
    """``Keep-Alive: timeout=5, max=100`` -> KeepAlive(5.0, 100); unknown or malformed
    parameters are ignored (a header we cannot read must not fail a request)."""
    if not value:
        return _NOTHING_SAID
    timeout: float | None = None
    max_requests: int | None = None
    for part in value.split(","):
        name, _, raw = part.strip().partition("=")
        name = name.strip().lower()
        raw = raw.strip().strip('"')
        try:
            if name == "timeout":
                timeout = float(raw)
            elif name == "max":
                max_requests = int(raw)
        except ValueError:
            continue
    return KeepAlive(timeout, max_requests)


@attrs.frozen
class ConnectionHealth:
    """What happened to the run's connections (part of the client's health)."""

    #: Requests re-sent once on a fresh connection because the reused one was dead.
    stale_connections_replaced: int = 0
    #: Connections the client closed because the server's ``Keep-Alive: max`` was reached.
    closed_at_keep_alive_max: int = 0
    #: Whether the run stopped reusing connections, and why.
    reuse_stopped: bool = False
    reuse_stopped_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


class ConnectionWatch:
    """Per-run bookkeeping of keep-alive connections (see the module docstring).

    ``notify`` receives each notice once (a line for the console). The client calls
    :meth:`on_response` when a response's headers are in, :meth:`on_idle` once the
    response has been read, :meth:`replaced` when it re-sends a request on a fresh
    connection, and :meth:`closing` before the run closes its sessions.
    """

    def __init__(self, notify: Callable[[str], None] | None = None) -> None:
        self.reuse = True
        self._notify = notify
        self._stale = 0
        self._max_closes = 0
        self._stopped_reason: str | None = None
        self._closing = False
        self._responses = 0
        # Per connection: responses seen, the keep-alive it
        # advertised, and since when it has been idle in the pool (None: in use).
        self._uses: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
        self._advertised: weakref.WeakKeyDictionary[Any, KeepAlive] = (
            weakref.WeakKeyDictionary())
        self._idle_since: weakref.WeakKeyDictionary[Any, int | None] = (
            weakref.WeakKeyDictionary())
        self._watched: weakref.WeakSet[Any] = weakref.WeakSet()

    def on_response(self, protocol: Any, headers: Mapping[str, str], *,
                    released: bool = False) -> None:
        """Headers are in: count the response on its connection and close the connection
        when the server's ``Keep-Alive: max`` is reached (``released``: the connection is
        already back in the pool, so it is closed there rather than on its release).

        ``max`` is read as the connection's total (some servers send the number left, which
        only makes this close earlier than it must, never later)."""
        self._responses += 1
        if protocol is None:
            return
        self._idle_since[protocol] = None
        uses = self._uses.get(protocol, 0) + 1
        self._uses[protocol] = uses
        # Lower case: the lean client's headers are a plain dict with lower-case names,
        # aiohttp's compare without case.
        advertised = parse_keep_alive(headers.get("keep-alive"))
        self._advertised[protocol] = advertised
        limit = advertised.max_requests
        if limit is not None and uses >= limit:
            if released:
                protocol.close()
            else:
                protocol.force_close()
            self._max_closes += 1

    def on_idle(self, protocol: Any, *, closed_by_peer: bool = False) -> None:
        """The response has been read; if its connection went back to the pool, watch for
        the server closing it. ``closed_by_peer``: the server had already closed it, with
        no word of it in the headers, before it could go back (the lean client sees this
        when the close arrives with the response's last bytes); judged as a close right
        after the response."""
        if protocol is None or self._closing:
            return
        if closed_by_peer:
            self._idle_since[protocol] = _perf_ns()
            self._closed_by_peer(protocol, None)
            return
        if not protocol.is_connected():
            return
        self._idle_since[protocol] = _perf_ns()
        if protocol in self._watched:
            return
        self._watched.add(protocol)
        closed = protocol.closed
        if closed is not None and not closed.done():
            ref = weakref.ref(protocol)
            closed.add_done_callback(lambda f: self._closed_by_peer(ref(), f))

    def _closed_by_peer(self, protocol: Any, closed: Any) -> None:
        if closed is not None and not closed.cancelled():
            closed.exception()  # retrieved, so asyncio does not log it as lost
        if protocol is None or self._closing or not self.reuse:
            return
        since = self._idle_since.get(protocol)
        if since is None:
            return  # closed while in use, or closed by us
        idle_s = (_perf_ns() - since) / 1e9
        advertised = self._advertised.get(protocol, KeepAlive())
        limit = CLOSED_AFTER_RESPONSE_S
        if advertised.timeout_s is not None:
            limit = min(limit, advertised.timeout_s / 2)
        if idle_s < limit:
            said = (f"keep-alive (timeout={advertised.timeout_s:g})"
                    if advertised.timeout_s is not None else "nothing about it")
            self.stop_reuse(
                f"the server closed a connection {idle_s * 1e3:.0f} ms after its response "
                f"while its headers said {said}; one connection per request from request "
                f"{self._responses} on")

    def stop_reuse(self, reason: str) -> None:
        """Send every later request on a connection of its own, and say why once."""
        if not self.reuse:
            return
        self.reuse = False
        self._stopped_reason = reason
        if self._notify is not None:
            self._notify(reason)

    def replaced(self) -> None:
        """A request is being re-sent on a fresh connection."""
        self._stale += 1

    def closing(self) -> None:
        """The run is closing its connections: closes from now on are ours."""
        self._closing = True

    def health(self) -> ConnectionHealth:
        """The run's connection figures so far."""
        return ConnectionHealth(
            stale_connections_replaced=self._stale,
            closed_at_keep_alive_max=self._max_closes,
            reuse_stopped=not self.reuse,
            reuse_stopped_reason=self._stopped_reason,
        )
