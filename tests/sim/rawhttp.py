"""A bare HTTP/1.1 client over one asyncio connection, for tests of the wire itself.

aiohttp's client hides what a connection-lifecycle test must see: which headers came, and
whether the server closed the socket. :class:`RawConnection` sends requests one after the
other on a single TCP connection, reads each response completely (Content-Length or
chunked), and :meth:`RawConnection.closed_by_server` waits for the server's FIN.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import attrs
from multidict import CIMultiDict

#: Generous bound on any single wait: only reached when something is broken, never part
#: of what a test measures.
WAIT_S = 30.0


@attrs.frozen
class RawResponse:
    """One response exactly as it came off the wire (body de-chunked)."""

    status: int
    headers: CIMultiDict[str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def events(self) -> list[str]:
        """The ``data:`` payloads of an SSE body, in order."""
        return [line[len("data: "):] for line in self.body.decode().split("\n")
                if line.startswith("data: ")]

    def chunks(self) -> list[dict[str, Any]]:
        """Every SSE event but ``[DONE]``, decoded."""
        return [json.loads(e) for e in self.events() if e != "[DONE]"]


class RawConnection:
    """One TCP connection to ``host:port``; use as ``async with RawConnection(url) as c``."""

    def __init__(self, base_url: str) -> None:
        host, port = base_url.removeprefix("http://").rsplit(":", 1)
        self.host, self.port = host, int(port)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        #: Wall clock (``time.time_ns``) just before the last request's bytes (after its
        #: pause, if any) were written.
        self.rest_sent_ns = 0

    async def __aenter__(self) -> RawConnection:
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), WAIT_S)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._writer is not None
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (ConnectionError, OSError):
            pass

    async def request(self, method: str, path: str, body: Any = None, *,
                      headers: dict[str, str] | None = None,
                      pause_after_line_s: float = 0.0) -> RawResponse:
        """Send one request (a JSON body when given) and read its whole response.

        ``pause_after_line_s``: send the request line alone, wait that long, then the rest
        (:attr:`rest_sent_ns` is the wall clock just before the rest went).
        """
        assert self._reader is not None and self._writer is not None
        payload = b"" if body is None else json.dumps(body).encode()
        line = f"{method} {path} HTTP/1.1\r\n".encode()
        head = (f"Host: {self.host}:{self.port}\r\nContent-Length: {len(payload)}\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items()))
        if body is not None:
            head += "Content-Type: application/json\r\n"
        rest = head.encode() + b"\r\n" + payload
        if pause_after_line_s:
            self._writer.write(line)
            await self._writer.drain()
            await asyncio.sleep(pause_after_line_s)
            line = b""
        self.rest_sent_ns = time.time_ns()
        self._writer.write(line + rest)
        await self._writer.drain()
        return await asyncio.wait_for(self._read_response(), WAIT_S)

    async def post(self, path: str, body: Any, *,
                   headers: dict[str, str] | None = None) -> RawResponse:
        return await self.request("POST", path, body, headers=headers)

    async def get(self, path: str) -> RawResponse:
        return await self.request("GET", path)

    async def closed_by_server(self) -> bool:
        """Wait for the server to close the connection: True on EOF, False if it sends
        anything instead (a server must not send unrequested bytes)."""
        assert self._reader is not None
        try:
            data = await asyncio.wait_for(self._reader.read(1), WAIT_S)
        except ConnectionResetError:
            return True
        return data == b""

    async def _read_response(self) -> RawResponse:
        assert self._reader is not None
        status_line = await self._reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        headers: CIMultiDict[str] = CIMultiDict()
        while (line := await self._reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode().partition(":")
            headers.add(name.strip(), value.strip())
        if headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = await self._read_chunked()
        else:
            body = await self._reader.readexactly(int(headers.get("Content-Length", "0")))
        return RawResponse(status, headers, body)

    async def _read_chunked(self) -> bytes:
        assert self._reader is not None
        parts = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")  # the empty trailer
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)  # CRLF after the chunk
