"""Requests over aiohttp: the URLs the lean HTTP/1.1 client does not take (``https://``,
a URL it cannot parse).

Imported only when a run first sends to such a URL: importing aiohttp costs about 0.3 s
of CPU (a third of a short run's whole fixed cost), and a plain ``http://`` run never
needs it. The outcomes, error kinds, timings and connection bookkeeping are the lean
path's (:meth:`aiperf.bench.client.Client._attempt_lean`); aiohttp's trace hooks supply
the stamps the lean path takes itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import aiohttp

from aiperf.bench.client import (
    USER_AGENT,
    DeadConnection,
    InFlight,
    Pieces,
    describe,
    http_error,
    read_body,
    read_stream,
)
from aiperf.bench.clock import perf_ns, wall_of
from aiperf.bench.records import RequestError

if TYPE_CHECKING:
    from aiperf.bench.client import Client, Session

__all__ = ["attempt", "new_session", "post"]

_perf_ns = perf_ns


async def _stamp_sent(session: object, ctx: object, params: object) -> None:
    # A request's start is when its bytes reach the socket: on Python < 3.12 aiohttp
    # writes the body from a task of its own, which under load runs well after the
    # request was handed over, and that wait is the client's, not the server's.
    flight = ctx.trace_request_ctx  # type: ignore[attr-defined]
    if isinstance(flight, InFlight) and flight.sent_perf_ns is None:
        flight.sent_perf_ns = _perf_ns()
        flight.sent_wall_ns = wall_of(flight.sent_perf_ns)


async def _stamp_reused(session: object, ctx: object, params: object) -> None:
    flight = ctx.trace_request_ctx  # type: ignore[attr-defined]
    if isinstance(flight, InFlight):
        flight.reused = True


async def _stamp_connecting(session: object, ctx: object, params: object) -> None:
    flight = ctx.trace_request_ctx  # type: ignore[attr-defined]
    if isinstance(flight, InFlight):
        flight.connect_start_ns = _perf_ns()


async def _stamp_connected(session: object, ctx: object, params: object) -> None:
    # Opening a connection is the network's time, not the client's: the record keeps it
    # apart from the scheduling lag.
    flight = ctx.trace_request_ctx  # type: ignore[attr-defined]
    if isinstance(flight, InFlight) and flight.connect_start_ns is not None:
        flight.connect_ns = _perf_ns() - flight.connect_start_ns


def _tracing() -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()
    trace.on_request_chunk_sent.append(_stamp_sent)
    trace.on_connection_reuseconn.append(_stamp_reused)
    trace.on_connection_create_start.append(_stamp_connecting)
    trace.on_connection_create_end.append(_stamp_connected)
    trace.freeze()
    return trace


def new_session(*, keep_alive: bool, limit: int,
                keepalive_timeout: float) -> aiohttp.ClientSession:
    """An aiohttp session with the lean pool's connection policy: at most ``limit``
    pooled keep-alive connections (0: no limit), or a connection per request."""
    if keep_alive:
        connector = aiohttp.TCPConnector(limit=limit, limit_per_host=0,
                                         keepalive_timeout=keepalive_timeout)
    else:
        connector = aiohttp.TCPConnector(limit=0, force_close=True)
    return aiohttp.ClientSession(
        connector=connector,
        trace_configs=[_tracing()],
        timeout=aiohttp.ClientTimeout(total=None),
        skip_auto_headers=("Accept-Encoding",),
        headers={"User-Agent": USER_AGENT},
    )


async def attempt(client: Client, session: Session, flight: InFlight, body: bytes,
                  headers: dict[str, str], retry: bool) -> RequestError | None:
    """One send of ``flight``'s request over aiohttp; raises
    :class:`~aiperf.bench.client.DeadConnection` when a reused connection was dead before
    any response came (and this is not already the retry)."""
    spec = flight.spec
    protocol = None
    # A fresh session's connections are never reused: nothing to watch on them.
    watched = session is not client.fresh
    try:
        async with session.fallback.post(
            spec.url, data=body, headers=headers,
            timeout=aiohttp.ClientTimeout(total=client.timeout_s), trace_request_ctx=flight,
        ) as resp:
            flight.ack_perf_ns = _perf_ns()
            flight.status = resp.status
            if watched:
                protocol, released = _protocol_of(resp)
                client.watch.on_response(protocol, resp.headers, released=released)
            error: RequestError | None
            if resp.status >= 400:
                error = await http_error(resp.status, resp.reason, resp.read,
                                         (aiohttp.ClientError, TimeoutError))
            elif resp.content_type == "text/event-stream":  # whatever the request asked
                error = await read_stream(_reads(resp), flight)
            else:
                flight.unstreamed = spec.streaming
                raw = await resp.read()
                error = read_body(raw, _perf_ns(), resp.headers.get("Content-Type"), flight)
        if watched:
            client.watch.on_idle(protocol)
        return error
    # ServerTimeoutError is also a connection error: timeouts must be caught first.
    except TimeoutError:
        limit = "" if client.timeout_s is None else f" within {client.timeout_s:g} s"
        return RequestError("timeout", f"no complete response{limit}")
    except aiohttp.ClientConnectorError as e:
        return RequestError("connection", f"cannot connect: {e.os_error or e}")
    except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError) as e:
        if not retry and _dead_before_answer(flight, e):
            raise DeadConnection(describe(e)) from None
        return RequestError("disconnected", describe(e))
    except aiohttp.ClientResponseError as e:  # the server's bytes were not valid HTTP
        return RequestError("malformed-response", describe(e))
    except (aiohttp.ClientError, OSError) as e:
        if not retry and _dead_before_answer(flight, e):
            raise DeadConnection(describe(e)) from None
        kind = "connection" if flight.ack_perf_ns is None else "disconnected"
        return RequestError(kind, describe(e))
    except Exception as e:  # a bug of ours must not stop the benchmark; report it
        return RequestError("internal", describe(e))


async def post(session: Session, url: str, data: bytes, headers: Mapping[str, str],
               timeout_s: float) -> tuple[int, bytes]:
    """One POST outside any measurement (prompt calibration): (status, body); aiohttp's
    errors (``aiohttp.ClientError``, its connection errors also ``OSError``) propagate."""
    async with session.fallback.post(url, data=data, headers=dict(headers),
                                     timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
        return resp.status, await resp.read()


def _protocol_of(resp: aiohttp.ClientResponse) -> tuple[Any, bool]:
    """The connection's protocol object, and whether aiohttp already put the connection
    back in the pool (it does as soon as the whole body is in, which for a short response
    is before the headers reach us; the protocol is then only on a private attribute)."""
    connection = resp.connection
    if connection is not None:
        return connection.protocol, False
    return getattr(resp, "_protocol", None), True


def _dead_before_answer(flight: InFlight, error: BaseException) -> bool:
    """Whether a failed send met a dead pooled connection: it went out on a reused
    connection and no status line came back (a ``ServerDisconnectedError`` that carries a
    parsed response message had one)."""
    if not flight.reused or flight.status is not None or flight.ack_perf_ns is not None:
        return False
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return not hasattr(error.message, "code")
    return not isinstance(error, aiohttp.ClientPayloadError)


def _reads(resp: aiohttp.ClientResponse) -> Callable[[], Awaitable[Pieces]]:
    """aiohttp's body reads in the lean client's shape: stamped pieces, [] at the end."""
    read = resp.content.readany

    async def reads() -> Pieces:
        data = await read()
        return [(_perf_ns(), data)] if data else []

    return reads
