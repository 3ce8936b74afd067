"""An HTTP/1.1 server written by hand on 127.0.0.1, for connection-lifecycle tests.

aiohttp's own server manages connections itself; these tests need to decide, request by
request, whether a connection is answered, closed after the answer, or closed without a
byte. :class:`RawServer` runs in the test's event loop (``async with``); ``decide`` gets
(connection number, request number on that connection, both from 1) and returns an
:class:`Action`. It counts connections and requests, so a test can tell a re-send from a
first send.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Literal

import attrs

Action = Literal[
    "answer",            # answer, keep the connection open
    "answer-then-close",  # answer (advertising keep-alive), then close the TCP connection
    "answer-close",      # answer with Connection: close, then close
    "drop",              # close without sending a byte
    "headers-then-drop",  # send the status line and headers, then close
    "json",              # answer a plain JSON body, whatever was asked
]


@attrs.define
class RawServer:
    decide: Callable[[int, int], Action]
    keep_alive: str | None = "timeout=5, max=100"
    #: Seconds to wait before dropping a connection (a dead attempt that takes time).
    drop_delay_s: float = 0.0
    connections: int = 0
    requests: int = 0
    url: str = ""
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = attrs.field(factory=set)

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        number, on_connection = self.connections, 0
        try:
            while True:
                streaming = await _read_request(reader)
                if streaming is None:
                    return
                self.requests += 1
                on_connection += 1
                action = self.decide(number, on_connection)
                if action == "drop":
                    await asyncio.sleep(self.drop_delay_s)
                    return
                if action == "headers-then-drop":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                 b"Transfer-Encoding: chunked\r\n\r\n")
                    await writer.drain()
                    return
                close = action == "answer-close"
                writer.write(self._response(streaming and action != "json", close))
                await writer.drain()
                if action in ("answer-then-close", "answer-close"):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return
        finally:
            writer.close()
            self._tasks.discard(task)

    def _response(self, streaming: bool, close: bool) -> bytes:
        headers = [b"HTTP/1.1 200 OK"]
        if close:
            headers.append(b"Connection: close")
        elif self.keep_alive is not None:
            headers.append(b"Keep-Alive: " + self.keep_alive.encode())
        if streaming:
            events = [
                {"choices": [{"index": 0, "delta": {"role": "assistant", "content": None}}]},
                {"choices": [{"index": 0, "delta": {"content": "one"}}]},
                {"choices": [{"index": 0, "delta": {"content": " two"},
                              "finish_reason": "length"}]},
                {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 2}},
            ]
            body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
            body += b"data: [DONE]\n\n"
            chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
            headers += [b"Content-Type: text/event-stream", b"Transfer-Encoding: chunked"]
            return b"\r\n".join(headers) + b"\r\n\r\n" + chunked
        payload = json.dumps({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "one two"},
                         "finish_reason": "length"}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 2},
        }).encode()
        headers += [b"Content-Type: application/json", b"Content-Length: %d" % len(payload)]
        return b"\r\n".join(headers) + b"\r\n\r\n" + payload


async def _read_request(reader: asyncio.StreamReader) -> bool | None:
    """Read one request; whether it asked for a stream, or None at the end of input."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = 0
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    body = await reader.readexactly(length)
    return b'"stream":true' in body
