"""A lean HTTP/1.1 client for plain ``http://`` URLs, on asyncio Protocols.

Why not aiohttp for these: against a fast server the benchmark client is the limit, and
aiohttp's request machinery (tracing, multidicts, URL objects, a body-writer task, its
stream reader) cost about as much CPU per request as the rest of aiperf's client. This
module does only what a benchmark's POST needs:

- :class:`Pool`: keep-alive connections per host and port (newest reused first), an
  optional cap on requests in flight, a short DNS cache; or, with ``keep_alive=False``,
  a connection per request that says ``Connection: close``;
- :class:`Connection`: one TCP connection as an :class:`asyncio.Protocol`; it writes a
  request, parses the status line and headers, and un-frames a ``Content-Length``,
  chunked or read-to-close body as the bytes arrive, stamping each read
  (``perf_counter_ns``) so stream events carry the time their bytes came off the socket;
- :func:`request_head`: the request line and headers as bytes.

It honours ``Connection: close`` (and HTTP/1.0 without keep-alive), never reuses a
connection whose response was not read to its end, and never pipelines. Failures raise
:class:`ServerDisconnectedError` (closed before the response ended; ``before_response``
says whether not a byte of it came), :class:`ClientPayloadError` (body framing broken or
cut short), :class:`InvalidResponseError` (not HTTP), or the ``OSError`` of the socket.
TLS, proxies, redirects, compression and ``Expect: 100-continue`` are not handled here:
the caller keeps aiohttp for those (:func:`plain_http_target` says which URLs qualify).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import functools
import socket
import time
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import attrs

_perf_ns = time.perf_counter_ns
#: Seconds a resolved host name is kept (aiohttp's default DNS cache time).
DNS_TTL_S = 10.0
#: Buffered body bytes past which the socket stops being read until the reader catches up.
_HIGH_WATER = 1 << 21
_MAX_HEAD = 1 << 16

# Response parsing states.
_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILER, _TO_CLOSE, _DONE = range(8)


class HttpError(Exception):
    """A response that could not be had, other than a socket error (``OSError``)."""


class ServerDisconnectedError(HttpError):
    """The server closed the connection before the response ended."""

    def __init__(self, before_response: bool, message: str = "Server disconnected") -> None:
        super().__init__(message)
        #: Not one byte of a response had arrived (a dead keep-alive connection).
        self.before_response = before_response


class ClientPayloadError(HttpError):
    """The body's framing was broken, or the body ended short of what it announced."""


class InvalidResponseError(HttpError):
    """The server's bytes were not an HTTP/1.x response."""


@attrs.frozen
class Target:
    """Where a plain ``http://`` URL points: what to connect to and what to send."""

    host: str
    port: int
    #: The request target (path and query).
    path: str
    #: The ``Host`` header's value.
    authority: str
    #: ``Authorization`` value from the URL's user-info, if it has one.
    basic_auth: str | None = None


def plain_http_target(url: str) -> Target | None:
    """The :class:`Target` of ``url`` when this module can send to it (``http://`` with a
    host), else None (HTTPS, other schemes, or a URL that does not parse)."""
    try:
        parts = urlsplit(url)
        port = parts.port or 80
    except ValueError:
        return None
    host = parts.hostname
    if parts.scheme.lower() != "http" or not host or any(c in url for c in "\r\n \t"):
        return None
    authority = parts.netloc.rpartition("@")[2]
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    auth = None
    if parts.username is not None or parts.password is not None:
        pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
        auth = "Basic " + base64.b64encode(pair.encode("latin-1", "replace")).decode()
    return Target(host, port, path, authority, auth)


def request_head(target: Target, headers: dict[str, str], *, user_agent: str,
                 close: bool) -> bytes:
    """The request line and every header except ``Content-Length`` (and the final blank
    line), for a POST: the user's headers win over ours, compared without case."""
    lower = {name.lower() for name in headers}
    lines = [f"POST {target.path} HTTP/1.1"]
    if "host" not in lower:
        lines.append(f"Host: {target.authority}")
    if "user-agent" not in lower:
        lines.append(f"User-Agent: {user_agent}")
    if "accept" not in lower:
        lines.append("Accept: */*")
    if "content-type" not in lower:  # what aiohttp sends for a bytes body
        lines.append("Content-Type: application/octet-stream")
    if target.basic_auth is not None and "authorization" not in lower:
        lines.append(f"Authorization: {target.basic_auth}")
    if close:
        lines.append("Connection: close")
    for name, value in headers.items():
        if name.lower() in ("content-length", "connection", "transfer-encoding"):
            continue  # framing is ours to say
        if any(c in name or c in value for c in "\r\n"):
            raise ValueError(f"header {name!r}: a line break in a header would split it")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: send a request, then read its response as it arrives.

    Also what :class:`~aiperf.bench.connections.ConnectionWatch` needs of a connection:
    ``closed`` (a future done when it closes), :meth:`is_connected`, :meth:`close` and
    :meth:`force_close`.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = loop.create_future()
        #: The server closed the connection (we did not).
        self.peer_closed = False
        #: Do not reuse: the server said so, or the response's end is uncertain.
        self.must_close = False
        self._closing = False
        self._lost: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._reset()

    def _reset(self) -> None:
        self._state = _HEAD
        self._buf = b""
        self._remaining = 0
        self._pieces: list[tuple[int, bytes]] = []
        self._buffered = 0
        self._error: BaseException | None = None
        self.got_bytes = False
        self.status = 0
        #: When the read that completed the status line and headers came in.
        self.head_ns = 0
        self.reason = ""
        self.headers: dict[str, str] = {}

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport; uvloop's are not subclasses of asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        now = _perf_ns()
        if not self.got_bytes:
            self.got_bytes = True
        if self._state == _HEAD:
            self._buf += data
            if not self._parse_head():
                return
            self.head_ns = now
            data, self._buf = self._buf, b""
            if not data and self._state != _DONE:
                self._wake()
                return
        try:
            self._body(data, now)
        except ClientPayloadError as e:
            self._fail(e)
            return
        self._wake()

    def eof_received(self) -> bool | None:
        if self._state == _TO_CLOSE:
            self._state = _DONE
        return None  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._closing:
            self.peer_closed = True
        self._closing = True
        if self._state == _TO_CLOSE:
            self._state = _DONE
        if self._state != _DONE and self._error is None:
            if exc is not None:
                self._error = exc
            elif self._state == _HEAD:
                self._error = ServerDisconnectedError(not self.got_bytes)
            else:
                self._error = ClientPayloadError(
                    "Response payload is not completed: the server closed the connection")
        self._lost = exc
        if not self.closed.done():
            self.closed.set_result(None)
        self._wake()

    # -- what ConnectionWatch and the pool call

    def is_connected(self) -> bool:
        transport = self.transport
        return transport is not None and not transport.is_closing() and not self._closing

    def force_close(self) -> None:
        """Close the connection once its response has been read (not reused)."""
        self.must_close = True

    def close(self) -> None:
        """Close now, dropping whatever was not read."""
        self._closing = True
        self.must_close = True
        if self.transport is not None:
            self.transport.abort()

    @property
    def reusable(self) -> bool:
        """Whether the last response ended cleanly and the connection may carry another."""
        return (self._state == _DONE and not self.must_close and not self._buf
                and self._error is None and self.is_connected())

    # -- one request

    def send(self, head: bytes, body: bytes) -> None:
        """Write a request (``head`` from :func:`request_head`) with its body."""
        self._reset()
        if self._closing or self.transport is None:
            # Dead before we wrote: to the caller it looks like a close before any answer.
            self._error = ServerDisconnectedError(True)
            return
        self.transport.write(b"%sContent-Length: %d\r\n\r\n%s" % (head, len(body), body))

    async def response(self) -> None:
        """Wait for the status line and headers (``status``, ``reason``, ``headers``)."""
        while self._state == _HEAD:
            if self._error is not None:
                raise self._error
            await self._wait()

    async def read(self) -> list[tuple[int, bytes]]:
        """The body bytes that arrived since the last call, as (perf_ns when read, bytes)
        pieces; waits for at least one; an empty list at the end of the body."""
        while True:
            pieces = self._pieces
            if pieces:
                self._pieces = []
                self._buffered = 0
                if self._paused and self.transport is not None:
                    self._paused = False
                    self.transport.resume_reading()
                return pieces
            if self._state == _DONE:
                return pieces
            if self._error is not None:
                raise self._error
            await self._wait()

    async def read_all(self) -> bytes:
        """The rest of the body."""
        parts: list[bytes] = []
        while pieces := await self.read():
            parts.extend(data for _, data in pieces)
        return b"".join(parts)

    # -- internals

    async def _wait(self) -> None:
        waiter = self._waiter = self._loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: BaseException) -> None:
        self._error = error
        self.close()
        self._wake()

    def _parse_head(self) -> bool:
        """Parse the status line and headers once they are all in; True when done."""
        buf = self._buf
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > _MAX_HEAD:
                    self._fail(InvalidResponseError("response headers too long"))
                elif buf and not buf.startswith(b"HTTP/"[:len(buf)]):
                    self._fail(InvalidResponseError(f"not an HTTP response: {buf[:40]!r}"))
                return False
            head, buf = buf[:end].decode("latin-1"), buf[end + 4:]
            lines = head.split("\r\n")
            version, _, rest = lines[0].partition(" ")
            code, _, reason = rest.partition(" ")
            if not version.startswith("HTTP/1.") or not (len(code) == 3 and code.isdigit()):
                self._fail(InvalidResponseError(f"bad status line: {lines[0][:80]!r}"))
                return False
            status = int(code)
            if 100 <= status < 200 and status != 101:
                continue  # an interim response (103 Early Hints...): the real one follows
            break
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                self._fail(InvalidResponseError(f"bad header line: {line[:80]!r}"))
                return False
            name = name.lower()
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.status, self.reason, self.headers = status, reason.strip(), headers
        self._buf = buf
        connection = headers.get("connection", "").lower()
        if "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection):
            self.must_close = True
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._state = _CHUNK_SIZE
        elif status in (204, 304):
            self._state = _DONE
        elif "content-length" in headers:
            try:
                self._remaining = int(headers["content-length"])
            except ValueError:
                self._fail(InvalidResponseError("bad Content-Length"))
                return False
            self._state = _LENGTH if self._remaining > 0 else _DONE
        else:
            self._state = _TO_CLOSE
            self.must_close = True
        return True

    def _body(self, data: bytes, now: int) -> None:
        """Un-frame ``data`` into stamped body pieces."""
        state = self._state
        if state == _LENGTH:
            if len(data) >= self._remaining:
                if len(data) > self._remaining:  # bytes past the response: not ours
                    self.must_close = True
                    data = data[:self._remaining]
                self._remaining = 0
                self._state = _DONE
            else:
                self._remaining -= len(data)
            if data:
                self._piece(now, data)
        elif state == _TO_CLOSE:
            if data:
                self._piece(now, data)
        elif state == _DONE:
            if data:
                self.must_close = True  # bytes nobody asked for
        else:
            self._chunked(data, now)

    def _piece(self, now: int, data: bytes) -> None:
        self._pieces.append((now, data))
        self._buffered += len(data)
        if self._buffered > _HIGH_WATER and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()

    def _chunked(self, data: bytes, now: int) -> None:
        buf = self._buf + data if self._buf else data
        pos, size, out = 0, len(buf), []
        state = self._state
        while pos < size:
            if state == _CHUNK_DATA:
                take = min(self._remaining, size - pos)
                out.append(buf[pos:pos + take])
                pos += take
                self._remaining -= take
                if not self._remaining:
                    state = _CHUNK_END
            elif state == _CHUNK_SIZE or state == _TRAILER:
                eol = buf.find(b"\n", pos)
                if eol < 0:
                    if size - pos > 4096:
                        raise ClientPayloadError("chunk size line too long")
                    break
                line = buf[pos:eol].rstrip(b"\r")
                pos = eol + 1
                if state == _TRAILER:
                    if not line:
                        state = _DONE
                        if pos < size:
                            self.must_close = True
                        pos = size
                    continue
                try:
                    length = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise ClientPayloadError(f"bad chunk size line: {line[:40]!r}") from None
                if length < 0:
                    raise ClientPayloadError(f"bad chunk size line: {line[:40]!r}")
                if length:
                    self._remaining = length
                    state = _CHUNK_DATA
                else:
                    state = _TRAILER
            else:  # _CHUNK_END: the CRLF after a chunk's data
                if buf[pos:pos + 2] == b"\r\n":
                    pos += 2
                elif buf[pos:pos + 1] == b"\n":
                    pos += 1
                elif size - pos < 2 and buf[pos:pos + 1] == b"\r":
                    break
                else:
                    raise ClientPayloadError("chunk data not followed by CRLF")
                state = _CHUNK_SIZE
        self._state = state
        self._buf = buf[pos:] if pos < size else b""
        if out:
            self._piece(now, out[0] if len(out) == 1 else b"".join(out))


class Pool:
    """Connections to the hosts a run sends to.

    ``keep_alive``: idle connections are kept per (host, port) for ``idle_timeout_s``
    and the newest is reused first; without it every request gets a connection of its
    own, says ``Connection: close`` and closes it after the response. ``limit`` caps the
    requests in flight over the pool (0: none): one more waits for a slot, as a
    connection pool limited to ``limit`` connections would make it wait.
    """

    def __init__(self, *, keep_alive: bool = True, limit: int = 0,
                 idle_timeout_s: float = 30.0) -> None:
        self.keep_alive = keep_alive
        self._limit = limit
        self._in_use = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._idle_ns = int(idle_timeout_s * 1e9)
        self._idle: dict[tuple[str, int], list[tuple[Connection, int]]] = {}
        self._dns: dict[tuple[str, int], tuple[float, list[tuple[Any, ...]]]] = {}
        self._open: set[Connection] = set()

    async def slot(self) -> None:
        """Wait for a request slot (free at once without a limit); :meth:`free` gives it
        back."""
        if self._limit and self._in_use >= self._limit:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._hand_on()  # the slot we were given goes to the next one
                raise
            return  # the slot was handed over by free()
        self._in_use += 1

    def free(self) -> None:
        """Give back a slot taken by :meth:`slot`."""
        self._in_use -= 1
        self._hand_on()

    def _hand_on(self) -> None:
        while self._waiters and (not self._limit or self._in_use < self._limit):
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._in_use += 1
                waiter.set_result(None)

    def idle(self, target: Target) -> Connection | None:
        """A kept connection to ``target`` that is still open, if there is one."""
        kept = self._idle.get((target.host, target.port))
        now = _perf_ns()
        while kept:
            conn, since = kept.pop()
            if conn.is_connected() and now - since < self._idle_ns:
                return conn
            self._forget(conn)
        return None

    async def connect(self, target: Target) -> Connection:
        """A new connection to ``target`` (the socket's ``OSError`` when none can be had)."""
        loop = asyncio.get_running_loop()
        error: OSError | None = None
        for family, address in await self._resolve(target, loop):
            try:
                _, conn = await loop.create_connection(
                    lambda: Connection(loop), address[0], address[1], family=family)
            except OSError as e:
                error = error or e
                continue
            self._open.add(conn)
            conn.closed.add_done_callback(functools.partial(self._closed, conn))
            return conn
        raise error or OSError(f"no address for {target.host}")

    async def _resolve(self, target: Target,
                       loop: asyncio.AbstractEventLoop) -> list[tuple[Any, ...]]:
        key = (target.host, target.port)
        cached = self._dns.get(key)
        if cached is not None and time.monotonic() - cached[0] < DNS_TTL_S:
            return cached[1]
        infos = await loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM,
                                       proto=socket.IPPROTO_TCP)
        found = [(family, address[:2]) for family, _, _, _, address in infos]
        self._dns[key] = (time.monotonic(), found)
        return found

    def _closed(self, conn: Connection, _closed: asyncio.Future[None]) -> None:
        self._open.discard(conn)

    def release(self, conn: Connection, target: Target) -> bool:
        """The response was read: keep the connection for the next request when it can
        carry one, else close it. Returns whether it was kept."""
        if self.keep_alive and conn.reusable:
            self._idle.setdefault((target.host, target.port), []).append((conn, _perf_ns()))
            return True
        self._forget(conn)
        return False

    def _forget(self, conn: Connection) -> None:
        if conn.transport is not None and not conn.transport.is_closing():
            conn._closing = True
            conn.must_close = True
            conn.transport.close()

    def close(self) -> None:
        """Close every connection."""
        self._idle.clear()
        for conn in list(self._open):
            conn.close()
        self._open.clear()
