"""Send one request and measure it into a RequestRecord.

Plain ``http://`` URLs go over :mod:`aiperf.bench.http1`, a lean HTTP/1.1 client on
asyncio Protocols (aiohttp's request machinery cost as much CPU per request as the rest
of the client); anything else (``https://``, a URL it cannot parse) goes over aiohttp
(:mod:`aiperf.bench.aiohttp_fallback`, imported on first use: a plain ``http://`` run
never pays for aiohttp's import). :class:`Session` holds both. Timing:
``perf_counter_ns`` just before the request's bytes are written (start; on aiohttp
when its body reached the socket), when the response headers are in (ack), and at every
read off the socket (each event parsed from that read carries the read's time); the
wall-clock start and end are derived from those readings
(:mod:`aiperf.bench.clock`), so every stamp keeps the order things happened in.

Connections: a request whose reused keep-alive connection turns out to be dead before a
byte of a response arrived (the body could not be written, or the server closed without
answering) is sent again, once, on a fresh connection, and timed from that send; it is
counted in the client's health, never as an error. Anything after a status line is a real
error and is never re-sent. :class:`~aiperf.bench.connections.ConnectionWatch` decides when
to stop reusing connections altogether.

Failures never raise out of :meth:`Client.run`; they become a ``RequestError`` on the
record (slugs in :mod:`aiperf.bench.records`, plus ``internal`` for a bug of ours).
A malformed chunk fails the request, as in the reference tool: once one event is
unreadable the output and its token count are unknown, so the request's timings would
describe an output nobody saw. Cancellation is the exception: ``CancelledError``
propagates (the runner cancels in-flight requests on Ctrl-C), and the runner reads
the partial record from the :class:`InFlight` it handed in.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from aiperf import __version__
from aiperf.bench.clock import perf_ns, wall_of
from aiperf.bench.connections import ConnectionWatch
from aiperf.bench.deadlines import NO_LIMIT, Deadlines
from aiperf.bench.http1 import (
    ClientPayloadError,
    Connection,
    HttpError,
    InvalidResponseError,
    Pool,
    ServerDisconnectedError,
    Target,
    plain_http_target,
    request_head,
)
from aiperf.bench.payloads import REQUEST_ID_HEADER, RequestSpec, encode_body
from aiperf.bench.records import Chunk, RequestError, RequestRecord, Usage
from aiperf.bench.sse import (
    SSEParser,
    error_from_object,
    interpret,
    interpret_data,
    interpret_object,
    truncate,
)
from aiperf.config.redaction import scrub

if TYPE_CHECKING:
    import aiohttp

CountTokens = Callable[[str], int]

_perf_ns = perf_ns
#: Markup to drop from an HTML error page: invisible sections whole, then any tag.
_HTML_NOISE = re.compile(r"<(head|script|style)\b.*?</\1\s*>|<[^>]*>", re.DOTALL | re.IGNORECASE)
_CANCELLED = RequestError("cancelled", "cancelled while in flight")
USER_AGENT = f"aiperf/{__version__}"
#: Request heads kept per session (one per URL and header set; conversations add a header).
_MAX_HEADS = 512
Pieces = list[tuple[int, bytes]]


def _first(*values: int | None) -> int:
    """The first stamp that was taken."""
    return next(v for v in values if v is not None)


class Session:
    """The connections of a run: a :class:`~aiperf.bench.http1.Pool` for plain
    ``http://`` URLs, and an aiohttp session for every other URL, made on first use.

    Also an async context manager that closes both. Request heads are cached per URL and
    header set: building one is a good part of a request's cost.
    """

    def __init__(self, *, keep_alive: bool, limit: int, keepalive_timeout: float) -> None:
        self.pool = Pool(keep_alive=keep_alive, limit=limit, idle_timeout_s=keepalive_timeout)
        self._keep_alive = keep_alive
        self._limit = limit
        self._keepalive_timeout = keepalive_timeout
        self._aiohttp: aiohttp.ClientSession | None = None
        self._targets: dict[str, Target | None] = {}
        self._heads: dict[tuple[str, tuple[tuple[str, str], ...]], bytes] = {}

    def target(self, url: str) -> Target | None:
        """Where ``url`` points when the lean client can send to it, else None."""
        try:
            return self._targets[url]
        except KeyError:
            target = self._targets[url] = plain_http_target(url)
            return target

    def head(self, url: str, target: Target, headers: Mapping[str, str]) -> bytes:
        """The request line and headers for ``url`` (no ``x-request-id`` or length)."""
        key = (url, tuple(headers.items()))
        head = self._heads.get(key)
        if head is None:
            if len(self._heads) >= _MAX_HEADS:
                self._heads.clear()
            own = {k: v for k, v in headers.items() if k.lower() != REQUEST_ID_HEADER}
            head = self._heads[key] = request_head(target, own, user_agent=USER_AGENT,
                                                   close=not self._keep_alive)
        return head

    @property
    def fallback(self) -> aiohttp.ClientSession:
        """The aiohttp session for URLs the lean client does not take."""
        if self._aiohttp is None:
            from aiperf.bench import aiohttp_fallback

            self._aiohttp = aiohttp_fallback.new_session(
                keep_alive=self._keep_alive, limit=self._limit,
                keepalive_timeout=self._keepalive_timeout)
        return self._aiohttp

    def ready_for(self, urls: Iterable[str]) -> None:
        """Make the aiohttp session now when one of ``urls`` needs it: importing aiohttp
        takes a while, and must not delay the first request."""
        if any(self.target(url) is None for url in urls):
            _ = self.fallback

    async def close(self) -> None:
        """Close every connection."""
        self.pool.close()
        if self._aiohttp is not None:
            await self._aiohttp.close()

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def new_session(concurrency: int, *, keepalive_timeout: float = 30.0) -> Session:
    """A session for a benchmark: one pooled keep-alive connection per in-flight slot
    (``concurrency`` 0: no limit).

    A request waiting for a free connection counts that wait in its latency, so the
    runner should never have more requests in flight than ``concurrency``.

    Call it inside the running event loop and close it when the run ends. No
    ``Accept-Encoding`` is sent, so servers answer uncompressed and chunks reach the
    parser as the server wrote them; no session-wide timeout (each request has its own).
    """
    return Session(keep_alive=True, limit=concurrency, keepalive_timeout=keepalive_timeout)


def new_fresh_session() -> Session:
    """A session that opens a connection per request and closes it after the response
    (``Connection: close``): for re-sending a request whose reused connection was dead,
    for every request once a run has stopped reusing connections, and for prompt
    calibration."""
    return Session(keep_alive=False, limit=0, keepalive_timeout=30.0)


class InFlight:
    """What has been measured so far for one request; the client fills it in as it goes.

    The runner makes one with :meth:`Client.prepare`, awaits :meth:`Client.run` on it,
    and, if that task was cancelled, still calls :meth:`record` to get the partial
    record (``cancelled=True``, the chunks that had arrived). A plain mutable class
    with slots because the hot path writes to it on every chunk.
    """

    __slots__ = (
        "spec", "start_perf_ns", "start_wall_ns", "sent_perf_ns", "sent_wall_ns",
        "ack_perf_ns", "status", "chunks",
        "usage", "error", "end_perf_ns", "end_wall_ns", "cancelled", "_count_tokens",
        "reused", "replaced_connection", "unstreamed", "connect_start_ns", "connect_ns",
    )

    def __init__(self, spec: RequestSpec, count_tokens: CountTokens) -> None:
        self.spec = spec
        self.start_perf_ns: int | None = None
        self.start_wall_ns: int | None = None
        # When the body actually reached the socket (aiohttp writes it from a task of its
        # own, which can run well after the request was handed over under load).
        self.sent_perf_ns: int | None = None
        self.sent_wall_ns: int | None = None
        self.ack_perf_ns: int | None = None
        self.status: int | None = None
        self.chunks: list[Chunk] = []
        self.usage: Usage | None = None
        self.error: RequestError | None = None
        self.end_perf_ns: int | None = None
        self.end_wall_ns: int | None = None
        self.cancelled = False
        self._count_tokens = count_tokens
        #: The current attempt went out on a pooled connection (set by aiohttp's trace).
        self.reused = False
        #: The request was re-sent on a fresh connection after a dead reused one.
        self.replaced_connection = False
        #: Streaming was asked for but the server answered with one plain body.
        self.unstreamed = False
        #: When this attempt began opening a new connection, and how long that took.
        self.connect_start_ns: int | None = None
        self.connect_ns: int | None = None

    def _new_attempt(self) -> None:
        """Forget the dead attempt: the request is timed from the send that works."""
        self.reused = False
        self.replaced_connection = True
        self.sent_perf_ns = self.sent_wall_ns = None
        self.connect_start_ns = self.connect_ns = None
        self.start_perf_ns = _perf_ns()
        self.start_wall_ns = wall_of(self.start_perf_ns)

    @property
    def sent(self) -> bool:
        """Whether the request was handed to the network (a task cancelled before its
        first step never was; the runner may prefer to drop such requests)."""
        return self.start_perf_ns is not None

    def _finish(self, error: RequestError | None = None, *, cancelled: bool = False) -> None:
        """Stamp the end of the request (first call wins)."""
        if self.end_perf_ns is not None:
            return
        self.end_perf_ns = _perf_ns()
        self.end_wall_ns = wall_of(self.end_perf_ns)
        self.error = _CANCELLED if cancelled else error
        self.cancelled = cancelled

    def record(self) -> RequestRecord:
        """The RequestRecord; a request that never finished is recorded as cancelled now."""
        if self.end_perf_ns is None:
            self._finish(cancelled=True)
        end_perf_ns, end_wall_ns = self.end_perf_ns, self.end_wall_ns
        assert end_perf_ns is not None and end_wall_ns is not None  # set by _finish
        spec = self.spec
        chunks = tuple(self.chunks)
        return RequestRecord(
            index=spec.index,
            phase=spec.phase,
            x_request_id=spec.x_request_id,
            intended_perf_ns=spec.intended_perf_ns,
            start_perf_ns=_first(self.sent_perf_ns, self.start_perf_ns, end_perf_ns),
            start_wall_ns=_first(self.sent_wall_ns, self.start_wall_ns, end_wall_ns),
            end_perf_ns=end_perf_ns,
            end_wall_ns=end_wall_ns,
            ack_perf_ns=self.ack_perf_ns,
            chunks=chunks,
            input_tokens=spec.input_tokens,
            output_tokens=self._output_tokens(chunks),
            usage=self.usage,
            status=self.status,
            error=self.error,
            cancelled=self.cancelled,
            replaced_connection=self.replaced_connection,
            unstreamed=self.unstreamed,
            connect_ns=self.connect_ns,
            session=spec.session,
            turn=spec.turn,
            endpoint=spec.endpoint,
        )

    def _output_tokens(self, chunks: tuple[Chunk, ...]) -> int | None:
        """Server ``completion_tokens`` when reported (it already includes reasoning
        tokens, so it is the reference's OSL); else content plus reasoning, each counted
        by the client's tokenizer; None when there was no output at all."""
        if self.usage is not None and self.usage.completion_tokens is not None:
            return self.usage.completion_tokens
        content = "".join([c.text for c in chunks if not c.reasoning])
        reasoning = "".join([c.text for c in chunks if c.reasoning])
        if not content and not reasoning:
            return None
        count = self._count_tokens
        return (count(content) if content else 0) + (count(reasoning) if reasoning else 0)


class DeadConnection(Exception):
    """The reused connection was closed before a byte of a response arrived."""


@attrs.frozen
class Client:
    """Sends requests over ``session`` (shared, pooled, owned by the caller).

    ``timeout_s`` bounds each whole request, from connecting to the last byte (None: no
    limit). ``count_tokens`` counts output tokens when the server reports no usage.
    ``fresh`` is a session with a connection per request (:func:`new_fresh_session`) for
    re-sent requests and for runs that stopped reusing connections; without it both use
    ``session``. ``watch`` keeps the run's connection bookkeeping, ``notify`` gets each
    notice about the server once (a console line).
    """

    session: Session = attrs.field(repr=False)
    timeout_s: float | None
    count_tokens: CountTokens = attrs.field(repr=False)
    fresh: Session | None = attrs.field(default=None, repr=False)
    notify: Callable[[str], None] | None = attrs.field(default=None, repr=False)
    #: Configured secret values: a server that echoes one in its error text has it
    #: replaced before the error is stored or printed.
    secrets: tuple[str, ...] = attrs.field(default=(), repr=False)
    watch: ConnectionWatch = attrs.field(repr=False)
    _said: set[str] = attrs.field(init=False, repr=False, factory=set)
    _deadlines: Deadlines | None = attrs.field(init=False, repr=False)

    @_deadlines.default
    def _make_deadlines(self) -> Deadlines | None:
        return None if self.timeout_s is None else Deadlines(self.timeout_s)

    @watch.default
    def _make_watch(self) -> ConnectionWatch:
        return ConnectionWatch(self.notify)

    def prepare(self, spec: RequestSpec) -> InFlight:
        """The mutable measurement :meth:`run` fills in; keep it to read a partial record."""
        return InFlight(spec, self.count_tokens)

    async def send(self, spec: RequestSpec) -> RequestRecord:
        """Send ``spec`` and return its record (use prepare + run to survive cancellation)."""
        return await self.run(self.prepare(spec))

    async def run(self, flight: InFlight) -> RequestRecord:
        """Send the request of ``flight``, measure it, and return its record.

        Never raises for a failed request. Re-raises ``CancelledError`` after stamping
        the end time, so ``flight.record()`` gives the partial, cancelled record.
        """
        spec = flight.spec
        body = spec.body if isinstance(spec.body, bytes) else encode_body(spec.body)
        flight.start_perf_ns = _perf_ns()
        flight.start_wall_ns = wall_of(flight.start_perf_ns)
        pooled = self.watch.reuse or self.fresh is None
        try:
            try:
                error = await self._attempt(self.session if pooled else self.fresh, flight,
                                            body)
            except DeadConnection:
                self.watch.replaced()
                flight._new_attempt()
                error = await self._attempt(self.fresh or self.session, flight, body,
                                            retry=True)
        except asyncio.CancelledError:
            flight._finish(cancelled=True)
            raise
        if error is not None and self.secrets:
            error = attrs.evolve(error, message=scrub(error.message, self.secrets))
        if flight.unstreamed and error is None:
            self._say_once("the server ignored stream: true and answered with one JSON "
                           "body; ITL and time to second token are not measured (N/A)")
        flight._finish(error)
        return flight.record()

    async def _attempt(self, session: Session | None, flight: InFlight, body: bytes,
                       retry: bool = False) -> RequestError | None:
        """One send of the request; raises :class:`DeadConnection` when a reused
        connection was dead before any response came (and this is not already the retry)."""
        assert session is not None
        target = session.target(flight.spec.url)
        if target is not None:
            return await self._attempt_lean(session, target, flight, body, retry)
        from aiperf.bench import aiohttp_fallback

        headers = {**flight.spec.headers, REQUEST_ID_HEADER: flight.spec.x_request_id}
        return await aiohttp_fallback.attempt(self, session, flight, body, headers, retry)

    async def _attempt_lean(self, session: Session, target: Target, flight: InFlight,
                            body: bytes, retry: bool) -> RequestError | None:
        """:meth:`_attempt` over :mod:`aiperf.bench.http1`: the same outcomes, errors and
        connection bookkeeping as over aiohttp."""
        spec = flight.spec
        pool = session.pool
        # A fresh session's connections are never reused: nothing to watch on them.
        watched = session is not self.fresh
        conn: Connection | None = None
        slot = False
        try:
            deadlines = self._deadlines
            async with NO_LIMIT if deadlines is None else deadlines.limit():
                await pool.slot()
                slot = True
                conn = pool.idle(target)
                if conn is not None:
                    flight.reused = True
                else:
                    flight.connect_start_ns = started = _perf_ns()
                    try:
                        conn = await pool.connect(target)
                    except OSError as e:
                        return RequestError("connection", f"cannot connect: {e}")
                    flight.connect_ns = _perf_ns() - started
                head = session.head(spec.url, target, spec.headers)
                flight.sent_perf_ns = sent = _perf_ns()
                flight.sent_wall_ns = wall_of(sent)
                conn.send(b"%sx-request-id: %s\r\n" % (head, spec.x_request_id.encode()),
                          body)
                await conn.response()
                # Stamped when the headers' bytes came in, like the body's reads: the
                # first chunk may have come with them, and must not precede the ack.
                flight.ack_perf_ns = conn.head_ns
                status = flight.status = conn.status
                headers = conn.headers
                if watched:
                    self.watch.on_response(conn, headers)
                error: RequestError | None
                content_type = headers.get("content-type")
                if status >= 400:
                    error = await http_error(status, conn.reason, conn.read_all,
                                             (HttpError, OSError))
                elif content_type is not None and _media_type(content_type) == (
                        "text/event-stream"):  # whatever the request asked
                    error = await read_stream(conn.read, flight)
                else:
                    flight.unstreamed = spec.streaming
                    raw = await conn.read_all()
                    error = read_body(raw, _perf_ns(), content_type, flight)
            # The server closing a connection it had said it would keep, before the
            # response was even put back: the same sign as closing it while it idled.
            done, conn = conn, None
            closed_early = done.peer_closed and not done.must_close
            kept = pool.release(done, target)
            if watched and (kept or closed_early):
                self.watch.on_idle(done, closed_by_peer=not kept)
            return error
        except TimeoutError:
            if flight.status is not None and flight.status >= 400:
                # The error page stalled: the status is what the server had to say.
                return RequestError("http-status", f"HTTP {flight.status}", flight.status)
            limit = "" if self.timeout_s is None else f" within {self.timeout_s:g} s"
            return RequestError("timeout", f"no complete response{limit}")
        except (ServerDisconnectedError, ClientPayloadError, OSError) as e:
            dead = (flight.reused and flight.ack_perf_ns is None and conn is not None
                    and not conn.got_bytes)
            if not retry and dead:
                raise DeadConnection(describe(e)) from None
            kind = ("disconnected" if isinstance(e, HttpError) or flight.ack_perf_ns is not None
                    else "connection")
            return RequestError(kind, describe(e))
        except InvalidResponseError as e:  # the server's bytes were not valid HTTP
            return RequestError("malformed-response", describe(e))
        except Exception as e:  # a bug of ours must not stop the benchmark; report it
            return RequestError("internal", describe(e))
        finally:
            if conn is not None:
                conn.close()  # failed or cancelled: its state is unknown
            if slot:
                pool.free()


    def _say_once(self, notice: str) -> None:
        if notice not in self._said:
            self._said.add(notice)
            if self.notify is not None:
                self.notify(notice)


def _media_type(content_type: str) -> str:
    """``text/event-stream; charset=utf-8`` -> ``text/event-stream``."""
    return content_type.partition(";")[0].strip().lower()


async def read_stream(read: Callable[[], Awaitable[Pieces]],
                      flight: InFlight) -> RequestError | None:
    """Read an SSE body to its end, appending a Chunk per content or reasoning delta;
    ``read`` gives the body's pieces as they arrive, each stamped with its read's time."""
    parser = SSEParser()
    feed = parser.feed_raw
    chunks = flight.chunks
    append = chunks.append
    seen = 0  # cumulative completion_tokens reported so far
    per_chunk: bool | None = None  # does the server report usage on every chunk?
    done = False
    while True:
        pieces = await read()
        batches = [(now, feed(data)) for now, data in pieces] if pieces \
            else [(_perf_ns(), parser.close_raw())]
        for now, events in batches:
            for event in events:
                if done:
                    break  # nothing after [DONE] counts; keep reading to reuse the connection
                info = interpret_data(event) if event.__class__ is bytes \
                    else interpret(event)  # type: ignore[arg-type]  # an SSEEvent
                content, reasoning, usage, _, error, malformed, done = info
                if usage is None and error is None and not malformed:
                    # The common chunk, a delta without usage: the general case below
                    # does the same, in more steps (this runs once per streamed token).
                    if content or reasoning:
                        if per_chunk is None:
                            per_chunk = False
                        if reasoning:
                            append(Chunk(now, reasoning, True, None))
                        if content:
                            append(Chunk(now, content, False, None))
                    continue
                if error is not None:
                    return error
                if malformed:
                    text = event if event.__class__ is bytes else event.data  # type: ignore[union-attr]
                    return RequestError("malformed-response",
                                        f"unreadable stream chunk: {truncate(_text_of(text), 200)}")
                assert usage is not None  # a chunk without usage took the branch above
                has_text = bool(content or reasoning)
                if per_chunk is None and has_text:
                    # Usage on the first delta means continuous usage stats (cumulative
                    # counts); usage only at the end says nothing about single chunks.
                    per_chunk = usage.completion_tokens is not None
                tokens = None
                flight.usage = usage  # the last usage reported is the final count
                if usage.completion_tokens is not None:
                    if per_chunk and has_text:
                        tokens = usage.completion_tokens - seen
                    seen = usage.completion_tokens
                if reasoning:
                    # a delta with both parts is rare; its token count goes on the content
                    append(Chunk(now, reasoning, True, None if content else tokens))
                if content:
                    append(Chunk(now, content, False, tokens))
        if not pieces:
            return None


def _text_of(data: bytes | str) -> str:
    """Event data as text, for a message."""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


def read_body(raw: bytes, now: int, content_type: str | None,
              flight: InFlight) -> RequestError | None:
    """A whole JSON body ``raw``, read at ``now``: one chunk (two if it has reasoning)."""
    try:
        obj = json.loads(raw)
    except ValueError:
        snippet = _HTML_NOISE.sub(" ", raw[:2000].decode("utf-8", "replace"))
        kind = content_type or "no content type"
        return RequestError(
            "malformed-response", f"response body is not JSON ({kind}): {truncate(snippet, 200)}"
        )
    info = interpret_object(obj)
    if info.error is not None:
        return info.error
    if info.malformed:
        text = truncate(raw.decode("utf-8", "replace"), 200)
        return RequestError("malformed-response", f"unexpected response shape: {text}")
    flight.usage = info.usage
    if info.reasoning:
        flight.chunks.append(Chunk(now, info.reasoning, True))
    flight.chunks.append(Chunk(now, info.content))
    return None


async def http_error(status: int, reason: str | None, read: Callable[[], Awaitable[bytes]],
                     read_errors: tuple[type[BaseException], ...]) -> RequestError:
    """``http-status`` with the server's own words: the JSON error message, or the body
    text (HTML tags stripped), truncated; an error page that cannot be read (one of
    ``read_errors``) leaves the status alone."""
    try:
        raw = await read()
    except read_errors:
        raw = b""
    text = raw.decode("utf-8", "replace")
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        detail = error_from_object(obj).message
    else:
        detail = truncate(_HTML_NOISE.sub(" ", text) if "<" in text else text)
    message = f"HTTP {status} {reason or ''}".rstrip()
    return RequestError("http-status", f"{message}: {detail}" if detail else message, status)


def describe(e: BaseException) -> str:
    """Exception class and text; never ``repr``, which for aiohttp can include headers."""
    text = str(e)
    return f"{type(e).__name__}: {truncate(text)}" if text else type(e).__name__


async def post_json(session: Session, url: str, body: Mapping[str, Any],
                    headers: Mapping[str, str], timeout_s: float) -> tuple[int, Any]:
    """POST ``body`` as JSON outside the measured run (prompt calibration): the status and
    the decoded JSON answer (None when the answer is not JSON). Connection failures raise
    ``OSError``, an :class:`~aiperf.bench.http1.HttpError` or (over aiohttp)
    ``aiohttp.ClientError``; a timeout raises ``TimeoutError``."""
    data = encode_body(body)
    target = session.target(url)
    if target is None:
        from aiperf.bench import aiohttp_fallback

        status, raw = await aiohttp_fallback.post(session, url, data, headers, timeout_s)
    else:
        async with asyncio.timeout(timeout_s):
            status, raw = await _post_lean(session, target, url, data, headers)
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


async def _post_lean(session: Session, target: Target, url: str, data: bytes,
                     headers: Mapping[str, str]) -> tuple[int, bytes]:
    """One POST over the lean client, outside any measurement: (status, body)."""
    pool = session.pool
    await pool.slot()
    conn = pool.idle(target)
    try:
        if conn is None:
            conn = await pool.connect(target)
        conn.send(session.head(url, target, headers), data)
        await conn.response()
        raw = await conn.read_all()
        status = conn.status
        pool.release(conn, target)
        conn = None
        return status, raw
    finally:
        if conn is not None:
            conn.close()
        pool.free()
