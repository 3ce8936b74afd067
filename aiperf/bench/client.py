"""Send one request over a shared aiohttp session and measure it into a RequestRecord.

The only module that imports aiohttp. Timing: ``perf_counter_ns`` just before the
request is handed to aiohttp (start), when the response headers are in (ack), and
after every read off the socket (each event parsed from that read carries the read's
time); ``time_ns`` for the wall-clock start and end.

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
import time
from collections.abc import Callable

import aiohttp
import attrs

from aiperf import __version__
from aiperf.bench.payloads import REQUEST_ID_HEADER, RequestSpec, encode_body
from aiperf.bench.records import Chunk, RequestError, RequestRecord, Usage
from aiperf.bench.sse import SSEParser, error_from_object, interpret, interpret_object, truncate

CountTokens = Callable[[str], int]

_perf_ns = time.perf_counter_ns
_wall_ns = time.time_ns
#: Markup to drop from an HTML error page: invisible sections whole, then any tag.
_HTML_NOISE = re.compile(r"<(head|script|style)\b.*?</\1\s*>|<[^>]*>", re.DOTALL | re.IGNORECASE)
_CANCELLED = RequestError("cancelled", "cancelled while in flight")


def _first(*values: int | None) -> int:
    """The first stamp that was taken."""
    return next(v for v in values if v is not None)


async def _stamp_sent(session: object, ctx: object, params: object) -> None:
    # A request's start is when its bytes reach the socket: on Python < 3.12 aiohttp
    # writes the body from a task of its own, which under load runs well after the
    # request was handed over, and that wait is the client's, not the server's.
    flight = ctx.trace_request_ctx  # type: ignore[attr-defined]
    if isinstance(flight, InFlight) and flight.sent_perf_ns is None:
        flight.sent_perf_ns = _perf_ns()
        flight.sent_wall_ns = _wall_ns()


def _tracing() -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()
    trace.on_request_chunk_sent.append(_stamp_sent)
    trace.freeze()
    return trace


def new_session(concurrency: int, *, keepalive_timeout: float = 30.0) -> aiohttp.ClientSession:
    """A session for a benchmark: one pooled keep-alive connection per in-flight slot
    (``concurrency`` 0: no limit).

    A request waiting for a free connection counts that wait in its latency, so the
    runner should never have more requests in flight than ``concurrency``.

    Call it inside the running event loop and close it when the run ends. No
    ``Accept-Encoding`` is sent, so servers answer uncompressed and chunks reach the
    parser as the server wrote them; no session-wide timeout (each request has its own).
    """
    connector = aiohttp.TCPConnector(
        limit=concurrency, limit_per_host=0, keepalive_timeout=keepalive_timeout
    )
    return aiohttp.ClientSession(
        connector=connector,
        trace_configs=[_tracing()],
        timeout=aiohttp.ClientTimeout(total=None),
        skip_auto_headers=("Accept-Encoding",),
        headers={"User-Agent": f"aiperf/{__version__}"},
    )


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
        self.end_wall_ns = _wall_ns()
        self.error = _CANCELLED if cancelled else error
        self.cancelled = cancelled

    def record(self) -> RequestRecord:
        """The RequestRecord; a request that never finished is recorded as cancelled now."""
        if self.end_perf_ns is None:
            self._finish(cancelled=True)
        spec = self.spec
        chunks = tuple(self.chunks)
        return RequestRecord(
            index=spec.index,
            phase=spec.phase,
            x_request_id=spec.x_request_id,
            intended_perf_ns=spec.intended_perf_ns,
            start_perf_ns=_first(self.sent_perf_ns, self.start_perf_ns, self.end_perf_ns),
            start_wall_ns=_first(self.sent_wall_ns, self.start_wall_ns, self.end_wall_ns),
            end_perf_ns=self.end_perf_ns,
            end_wall_ns=self.end_wall_ns,
            ack_perf_ns=self.ack_perf_ns,
            chunks=chunks,
            input_tokens=spec.input_tokens,
            output_tokens=self._output_tokens(chunks),
            usage=self.usage,
            status=self.status,
            error=self.error,
            cancelled=self.cancelled,
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


@attrs.frozen
class Client:
    """Sends requests over ``session`` (shared, owned by the caller).

    ``timeout_s`` bounds each whole request, from connecting to the last byte (None: no
    limit). ``count_tokens`` counts output tokens when the server reports no usage.
    """

    session: aiohttp.ClientSession = attrs.field(repr=False)
    timeout_s: float | None
    count_tokens: CountTokens = attrs.field(repr=False)
    _timeout: aiohttp.ClientTimeout = attrs.field(init=False, repr=False)

    @_timeout.default
    def _make_timeout(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=self.timeout_s)

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
        headers = {**spec.headers, REQUEST_ID_HEADER: spec.x_request_id}
        error: RequestError | None
        flight.start_wall_ns = _wall_ns()
        flight.start_perf_ns = _perf_ns()
        try:
            async with self.session.post(
                spec.url, data=body, headers=headers, timeout=self._timeout,
                trace_request_ctx=flight,
            ) as resp:
                flight.ack_perf_ns = _perf_ns()
                flight.status = resp.status
                if resp.status >= 400:
                    error = await _http_error(resp)
                elif resp.content_type == "text/event-stream":  # whatever the request asked
                    error = await _read_stream(resp, flight)
                else:
                    error = await _read_body(resp, flight)
        except asyncio.CancelledError:
            flight._finish(cancelled=True)
            raise
        # ServerTimeoutError is also a connection error: timeouts must be caught first.
        except TimeoutError:
            limit = "" if self.timeout_s is None else f" within {self.timeout_s:g} s"
            error = RequestError("timeout", f"no complete response{limit}")
        except aiohttp.ClientConnectorError as e:
            error = RequestError("connection", f"cannot connect: {e.os_error or e}")
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError) as e:
            error = RequestError("disconnected", _describe(e))
        except aiohttp.ClientResponseError as e:  # the server's bytes were not valid HTTP
            error = RequestError("malformed-response", _describe(e))
        except (aiohttp.ClientError, OSError) as e:
            kind = "connection" if flight.ack_perf_ns is None else "disconnected"
            error = RequestError(kind, _describe(e))
        except Exception as e:  # a bug of ours must not stop the benchmark; report it
            error = RequestError("internal", _describe(e))
        flight._finish(error)
        return flight.record()


async def _read_stream(resp: aiohttp.ClientResponse, flight: InFlight) -> RequestError | None:
    """Read an SSE body to its end, appending a Chunk per content or reasoning delta."""
    parser = SSEParser()
    chunks = flight.chunks
    read = resp.content.readany
    seen = 0  # cumulative completion_tokens reported so far
    per_chunk: bool | None = None  # does the server report usage on every chunk?
    done = False
    while True:
        data = await read()
        now = _perf_ns()
        events = parser.feed(data) if data else parser.close()
        for event in events:
            if done:
                break  # nothing after [DONE] counts; keep reading only to reuse the connection
            info = interpret(event)
            if info.done:
                done = True
                continue
            if info.error is not None:
                return info.error
            if info.malformed:
                return RequestError(
                    "malformed-response", f"unreadable stream chunk: {truncate(event.data, 200)}"
                )
            has_text = bool(info.content or info.reasoning)
            usage = info.usage
            if per_chunk is None and has_text:
                # Usage on the first delta means continuous usage stats (cumulative
                # counts); usage only at the end says nothing about single chunks.
                per_chunk = usage is not None and usage.completion_tokens is not None
            tokens = None
            if usage is not None:
                flight.usage = usage  # the last usage reported is the final count
                if usage.completion_tokens is not None:
                    if per_chunk and has_text:
                        tokens = usage.completion_tokens - seen
                    seen = usage.completion_tokens
            if info.reasoning:
                # a delta with both parts is rare; its token count goes on the content chunk
                chunks.append(Chunk(now, info.reasoning, True, None if info.content else tokens))
            if info.content:
                chunks.append(Chunk(now, info.content, False, tokens))
        if not data:
            return None


async def _read_body(resp: aiohttp.ClientResponse, flight: InFlight) -> RequestError | None:
    """Read a whole JSON body: one chunk at body-read time (two if it has reasoning)."""
    raw = await resp.read()
    now = _perf_ns()
    try:
        obj = json.loads(raw)
    except ValueError:
        snippet = _HTML_NOISE.sub(" ", raw[:2000].decode("utf-8", "replace"))
        kind = resp.headers.get("Content-Type", "no content type")
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


async def _http_error(resp: aiohttp.ClientResponse) -> RequestError:
    """``http-status`` with the server's own words: the JSON error message, or the body
    text (HTML tags stripped), truncated."""
    try:
        raw = await resp.read()
    except (aiohttp.ClientError, TimeoutError):
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
    message = f"HTTP {resp.status} {resp.reason or ''}".rstrip()
    return RequestError("http-status", f"{message}: {detail}" if detail else message, resp.status)


def _describe(e: BaseException) -> str:
    """Exception class and text; never ``repr``, which for aiohttp can include headers."""
    text = str(e)
    return f"{type(e).__name__}: {truncate(text)}" if text else type(e).__name__
