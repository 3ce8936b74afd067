"""Server-sent events: an incremental parser, and what an OpenAI stream chunk says.

Pure code with no I/O, so the client can feed it whatever the socket hands over and
tests can split a stream at every byte. The parser follows the WHATWG event-stream
rules (``\\n``, ``\\r\\n`` and ``\\r`` line endings, ``:`` comments, ``event`` / ``data`` /
``id`` / ``retry`` fields, multi-line data joined with ``\\n``), with one deliberate
difference: :meth:`SSEParser.close` delivers a last event that lacks its closing blank
line, because a benchmark should count output a sloppy server did send.

:func:`interpret` turns one event of an OpenAI-compatible stream (chat or completions)
into a :class:`ChunkInfo`. It never raises: bad JSON becomes ``malformed=True``.
"""

from __future__ import annotations

import functools
import json
from typing import Any, NamedTuple

import orjson

from aiperf.bench.records import RequestError, Usage

#: Longest error message kept from a server; the rest is noise in a report.
MAX_MESSAGE_CHARS = 500

_BOM = b"\xef\xbb\xbf"


class SSEEvent(NamedTuple):
    """One dispatched event. ``event`` is the type (``message`` unless the server named
    one); ``id`` is the last event id seen on the stream, as the spec defines it.

    A named tuple rather than a frozen attrs class: one is made per streamed token, and a
    tuple is built in a third of the time."""

    data: str
    event: str = "message"
    id: str | None = None

    @property
    def done(self) -> bool:
        """The OpenAI end-of-stream sentinel, ``data: [DONE]``."""
        return _is_done(self.data)


#: What :meth:`SSEParser.feed_raw` gives per event: a default-type event's data, undecoded,
#: or a whole SSEEvent.
RawEvent = bytes | SSEEvent


def _is_done(data: str) -> bool:
    # Length first: this runs on every event and real chunks are long.
    return len(data) < 32 and data.strip() == "[DONE]"


class SSEParser:
    """Incremental event-stream parser: feed it bytes as they arrive, get whole events.

    Bytes are split into lines before decoding, so a read that ends inside a multi-byte
    UTF-8 character is harmless (line breaks never occur inside one). A ``\\r`` at the
    end of a read is taken as a line end at once and a ``\\n`` opening the next read is
    then skipped, so ``\\r\\n`` split across reads is one line end, not two.
    """

    __slots__ = ("_buf", "_skip_lf", "_data", "_event", "_id", "_first", "retry", "done")

    def __init__(self) -> None:
        self._buf = b""
        self._skip_lf = False
        self._data: list[bytes] | None = None  # None: no data field yet in this event
        self._event: str | None = None
        self._id: str | None = None
        self._first = True  # the stream's first line may start with a byte-order mark
        #: Reconnection time (ms) from the last valid ``retry:`` field, if any.
        self.retry: int | None = None
        #: True once a ``data: [DONE]`` event was dispatched.
        self.done = False

    def feed(self, data: bytes) -> list[SSEEvent]:
        """Consume one read's bytes; return the events it completed (often none or one)."""
        return [_as_event(e) for e in self.feed_raw(data)]

    def close(self) -> list[SSEEvent]:
        """End of stream: treat an unterminated last line and event as complete."""
        return [_as_event(e) for e in self.close_raw()]

    def feed_raw(self, data: bytes) -> list[RawEvent]:
        """:meth:`feed` for the client's hot path: an event of the default type with no
        id comes back as its data's undecoded bytes (what :func:`interpret_data` reads),
        any other as an :class:`SSEEvent`.

        A read of whole ``data:`` events only (what OpenAI-compatible servers send) is
        split in one pass without walking its lines."""
        if not (self._buf or self._skip_lf or self._data is not None or self._event is not None
                or self._id is not None) and data[:6] == b"data: " and data[-2:] == b"\n\n" \
                and b"\r" not in data:
            payloads = data[6:-2].split(b"\n\ndata: ")
            # Every line was a "data: " line followed by a blank one exactly when the
            # read has no other line breaks than those.
            if data.count(b"\n") == 2 * len(payloads):
                self._first = False
                if b"[DONE]" in data and not self.done:
                    self.done = any(len(p) < 32 and p.strip() == b"[DONE]" for p in payloads)
                return payloads  # type: ignore[return-value]  # list[bytes] is a list[RawEvent]
        if self._skip_lf:
            if not data:
                return []
            self._skip_lf = False
            if data[0] == 0x0A:
                data = data[1:]
        if self._buf:
            data = self._buf + data
        if b"\r" in data:
            if data[-1] == 0x0D:
                self._skip_lf = True
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = data.split(b"\n")
        self._buf = lines.pop()
        return self._lines(lines) if lines else []

    def close_raw(self) -> list[RawEvent]:
        """:meth:`close`, with events as :meth:`feed_raw` gives them."""
        lines = [self._buf, b""] if self._buf else [b""]
        self._buf = b""
        self._skip_lf = False
        return self._lines(lines)

    def _lines(self, lines: list[bytes]) -> list[RawEvent]:
        events: list[RawEvent] = []
        if self._first:
            self._first = False
            if lines[0].startswith(_BOM):
                lines[0] = lines[0][3:]
        for line in lines:
            if not line:
                if self._data is not None:
                    events.append(self._dispatch(self._data))
                else:
                    self._event = None
            elif line.startswith(b"data:"):  # the hot path: OpenAI sends nothing else
                value = line[6:] if line[5:6] == b" " else line[5:]
                if self._data is None:
                    self._data = [value]
                else:
                    self._data.append(value)
            elif line[0] != 0x3A:  # lines starting with ':' are comments (keep-alives)
                self._field(line)
        return events

    def _field(self, line: bytes) -> None:
        name, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if name == b"data":  # "data" with no colon: an empty data line
            if self._data is None:
                self._data = [value]
            else:
                self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id":
            if b"\0" not in value:
                self._id = value.decode("utf-8", "replace")
        elif name == b"retry":
            if value.isdigit():
                self.retry = int(value)
        # any other field name is ignored, as the spec says

    def _dispatch(self, parts: list[bytes]) -> RawEvent:
        """The event made of the data lines ``parts`` (``self._data``); clears its fields."""
        raw = parts[0] if len(parts) == 1 else b"\n".join(parts)
        if len(raw) < 32 and raw.strip() == b"[DONE]":  # _is_done, inlined: per token
            self.done = True
        self._data = None
        if self._event is None and self._id is None:
            return raw
        event = SSEEvent(raw.decode("utf-8", "replace"), self._event or "message", self._id)
        self._event = None
        return event


def _as_event(raw: RawEvent) -> SSEEvent:
    """An event as :meth:`SSEParser.feed_raw` gives it, as an SSEEvent."""
    if isinstance(raw, bytes):
        return SSEEvent(raw.decode("utf-8", "replace"))
    return raw


class ChunkInfo(NamedTuple):
    """What one stream event (or one non-streaming body) carried.

    ``usage_only`` marks the trailing usage chunk (``choices == []``) that
    ``stream_options.include_usage`` asks for. ``error`` is a ``server-error`` for an error
    object in the stream; ``malformed`` means the data was not a JSON object of the
    expected shape. A named tuple: one is made per streamed token.
    """

    content: str = ""
    reasoning: str = ""
    usage: Usage | None = None
    usage_only: bool = False
    error: RequestError | None = None
    malformed: bool = False
    done: bool = False


#: ``ChunkInfo`` from all seven fields, without the keyword handling of its constructor
#: (a third of the cost, once per streamed token).
_info = functools.partial(tuple.__new__, ChunkInfo)
_DONE = ChunkInfo(done=True)
_EMPTY = ChunkInfo()
_MALFORMED = ChunkInfo(malformed=True)


def interpret(event: SSEEvent) -> ChunkInfo:
    """What an OpenAI stream event says: content, reasoning, usage, an error, or done.

    Events that carry nothing we measure (a role-only first delta, ``finish_reason``,
    blank keep-alive data) give an empty ChunkInfo. Never raises.
    """
    if event.event == "error":
        return ChunkInfo(error=_error_from_text(event.data))
    return interpret_data(event.data)


def interpret_data(data: bytes | str) -> ChunkInfo:
    """:func:`interpret` for the data of an event of the default type, as text or as the
    undecoded bytes :meth:`SSEParser.feed_raw` gives (bytes not valid UTF-8 are read as
    the text they decode to with replacement characters, like any other event's)."""
    if len(data) < 32:
        stripped = data.strip()
        if stripped == b"[DONE]" or stripped == "[DONE]":
            return _DONE
        if not stripped:
            return _EMPTY
    try:
        obj = orjson.loads(data)  # a few times faster than json.loads, once per token
    except ValueError:
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
            if data.isspace():
                return _EMPTY
        elif data.isspace():
            return _EMPTY
        # What orjson refuses that json reads (NaN, integers past 64 bits, text that was
        # not UTF-8) is read the standard way, so a chunk is malformed exactly when
        # json.loads says so.
        try:
            obj = json.loads(data)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
            return _MALFORMED
    return interpret_object(obj)


def interpret_object(obj: Any) -> ChunkInfo:
    """Interpret a decoded chunk or a whole non-streaming response body.

    Reads ``choices[0].delta`` (chat stream), ``choices[0].message`` (chat body) or
    ``choices[0].text`` (completions); reasoning from ``reasoning_content`` or
    ``reasoning``; ``usage`` with ``completion_tokens_details.reasoning_tokens``.
    """
    if not isinstance(obj, dict):
        return _MALFORMED
    try:
        if obj.get("error") is not None or obj.get("object") == "error":
            return ChunkInfo(error=error_from_object(obj))
        raw_usage = obj.get("usage")
        usage = _usage(raw_usage) if raw_usage else None
        choices = obj.get("choices")
        if not choices:
            return ChunkInfo(usage=usage, usage_only=usage is not None)
        choice = choices[0]
        delta = choice.get("delta") or choice.get("message")
        if delta is None:
            content, reasoning = choice.get("text"), None
        else:
            content = delta.get("content")
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        # Type checks inline: this runs once per streamed token.
        if content.__class__ is not str:
            content = _text(content)
        if reasoning is None:
            reasoning = ""
        elif reasoning.__class__ is not str:
            reasoning = _text(reasoning)
    except (AttributeError, TypeError, KeyError, IndexError):
        return _MALFORMED
    if not content and not reasoning and usage is None:
        return _EMPTY
    return _info((content, reasoning, usage, False, None, False, False))


def _text(value: Any) -> str:
    """Message content as text: a string, nothing, or a list of content parts."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(p["text"] for p in value if isinstance(p, dict) and "text" in p)
    raise TypeError("content is neither text nor a list of parts")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _usage(raw: Any) -> Usage | None:
    if not raw or not isinstance(raw, dict):
        return None
    details = raw.get("completion_tokens_details")
    reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
    if reasoning is None:
        reasoning = raw.get("reasoning_tokens")  # some servers put it at the top level
    prompt_details = raw.get("prompt_tokens_details")
    cached = prompt_details.get("cached_tokens") if isinstance(prompt_details, dict) else None
    return Usage(
        prompt_tokens=_int(raw.get("prompt_tokens")),
        completion_tokens=_int(raw.get("completion_tokens")),
        reasoning_tokens=_int(reasoning),
        cached_tokens=_int(cached),
    )


def error_from_object(obj: dict[str, Any]) -> RequestError:
    """An OpenAI ``{"error": {...}}`` or vLLM ``{"object": "error", ...}`` object."""
    err = obj.get("error")
    if err is None:
        err = obj  # vLLM and FastAPI put the fields at the top level
    if not isinstance(err, dict):
        return RequestError("server-error", truncate(str(err)))
    message = err.get("message") or err.get("detail") or json.dumps(err)
    code = _int(err.get("code")) or _int(err.get("status"))
    return RequestError("server-error", truncate(str(message)), code)


def _error_from_text(data: str) -> RequestError:
    try:
        obj = json.loads(data)
    except ValueError:
        return RequestError("server-error", truncate(data) or "error event")
    if isinstance(obj, dict):
        return error_from_object(obj)
    return RequestError("server-error", truncate(data))


def truncate(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, whitespace runs collapsed."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
