"""Tests for the lean HTTP/1.1 client: URL targets, request heads, response framing (fed
byte by byte, no socket), and a pool over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64

import pytest

from aiperf.bench.http1 import (
    ClientPayloadError,
    Connection,
    InvalidResponseError,
    Pool,
    ServerDisconnectedError,
    Target,
    plain_http_target,
    request_head,
)


class FakeTransport(asyncio.Transport):
    """Collects what is written; closing it reports the loss to the protocol."""

    def __init__(self, protocol: Connection) -> None:
        super().__init__()
        self.protocol = protocol
        self.written = b""
        self._closing = False
        self.paused = False

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.written += data

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            self.protocol.connection_lost(None)

    def abort(self) -> None:
        self.close()

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False


def _feed(response: bytes, step: int) -> tuple[Connection, list[bytes], BaseException | None]:
    """Send a request, feed ``response`` ``step`` bytes at a time, then read it all."""

    async def go() -> tuple[Connection, list[bytes], BaseException | None]:
        conn = Connection(asyncio.get_running_loop())
        conn.connection_made(FakeTransport(conn))
        conn.send(b"POST / HTTP/1.1\r\n", b"{}")
        body: list[bytes] = []
        error = None

        async def reader() -> None:
            await conn.response()
            while pieces := await conn.read():
                body.extend(data for _, data in pieces)

        task = asyncio.create_task(reader())
        for i in range(0, len(response), step):
            conn.data_received(response[i:i + step])
            await asyncio.sleep(0)
        try:
            await asyncio.wait_for(task, 1.0)
        except (ClientPayloadError, InvalidResponseError, ServerDisconnectedError) as e:
            error = e
        return conn, body, error

    return asyncio.run(go())


CHUNKED = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
           b"Transfer-Encoding: chunked\r\nKeep-Alive: timeout=5, max=3\r\n\r\n"
           b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n")


class TestFraming:
    @pytest.mark.parametrize("step", [1, 2, 3, 7, 1000])
    def test_chunked_body_split_anywhere(self, step):
        conn, body, error = _feed(CHUNKED, step)

        assert (None, b"hello, world") == (error, b"".join(body))
        assert (200, "OK", "timeout=5, max=3") == (conn.status, conn.reason,
                                                   conn.headers["keep-alive"])
        assert conn.reusable

    @pytest.mark.parametrize("step", [1, 4, 1000])
    def test_content_length_body(self, step):
        conn, body, error = _feed(b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabc",
                                  step)

        assert (None, b"abc", 404, "Not Found") == (error, b"".join(body), conn.status,
                                                    conn.reason)
        assert conn.reusable

    def test_interim_response_is_skipped(self):
        conn, body, _ = _feed(b"HTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n"
                              b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 5)

        assert (200, b"ok") == (conn.status, b"".join(body))

    def test_connection_close_is_not_reused(self):
        conn, _, _ = _feed(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                           1000)

        assert (200, False) == (conn.status, conn.reusable)

    def test_http10_without_keep_alive_is_not_reused(self):
        conn, _, _ = _feed(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 1000)

        assert not conn.reusable

    def test_repeated_headers_are_joined(self):
        conn, _, _ = _feed(b"HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 0\r\n\r\n",
                           1000)

        assert "1, 2" == conn.headers["x-a"]

    def test_bad_chunk_size_is_a_payload_error(self):
        _, _, error = _feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 1000)

        assert isinstance(error, ClientPayloadError)

    def test_not_http_is_invalid(self):
        _, _, error = _feed(b"SSH-2.0-OpenSSH\r\n\r\n", 1000)

        assert isinstance(error, InvalidResponseError)


class TestEndOfConnection:
    def test_close_before_a_byte_is_a_disconnect_before_response(self):
        async def go() -> BaseException:
            conn = Connection(asyncio.get_running_loop())
            conn.connection_made(FakeTransport(conn))
            conn.send(b"POST / HTTP/1.1\r\n", b"")
            conn.connection_lost(None)
            with pytest.raises(ServerDisconnectedError) as caught:
                await conn.response()
            return caught.value

        error = asyncio.run(go())

        assert error.before_response and "Server disconnected" == str(error)

    def test_close_inside_the_body_is_a_payload_error(self):
        async def go() -> None:
            conn = Connection(asyncio.get_running_loop())
            conn.connection_made(FakeTransport(conn))
            conn.send(b"POST / HTTP/1.1\r\n", b"")
            conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
            await conn.response()
            assert [b"abc"] == [data for _, data in await conn.read()]
            conn.connection_lost(None)
            with pytest.raises(ClientPayloadError):
                await conn.read()
            assert conn.peer_closed

        asyncio.run(go())

    def test_body_without_length_ends_at_close(self):
        async def go() -> bytes:
            conn = Connection(asyncio.get_running_loop())
            conn.connection_made(FakeTransport(conn))
            conn.send(b"POST / HTTP/1.1\r\n", b"")
            conn.data_received(b"HTTP/1.1 200 OK\r\n\r\npart one, ")
            await conn.response()
            conn.data_received(b"part two")
            conn.eof_received()
            conn.connection_lost(None)
            return await conn.read_all()

        assert b"part one, part two" == asyncio.run(go())


class TestRequests:
    def test_targets(self):
        target = plain_http_target("http://u%40x:p%3Aw@example.org:8080/v1/chat?a=1")

        assert target is not None
        assert ("example.org", 8080, "/v1/chat?a=1", "example.org:8080") == (
            target.host, target.port, target.path, target.authority)
        assert f"Basic {base64.b64encode(b'u@x:p:w').decode()}" == target.basic_auth
        assert plain_http_target("http://[::1]/x").authority == "[::1]"
        assert plain_http_target("http://h").port == 80

    @pytest.mark.parametrize("url", ["https://h/x", "not a url", "http://h:99999/", "ftp://h/"])
    def test_other_urls_are_not_taken(self, url):
        assert plain_http_target(url) is None

    def test_head_lets_the_user_headers_win(self):
        target = Target("h", 80, "/v1/x", "h:80", basic_auth="Basic abc")
        head = request_head(target, {"user-agent": "mine", "Content-Type": "application/json",
                                     "Content-Length": "5"}, user_agent="aiperf/1", close=True)
        lines = head.decode().split("\r\n")

        assert "POST /v1/x HTTP/1.1" == lines[0]
        assert {"Host: h:80", "user-agent: mine", "Content-Type: application/json",
                "Authorization: Basic abc", "Connection: close"} <= set(lines)
        assert not any(line.lower().startswith("content-length") for line in lines)
        assert head.endswith(b"\r\n") and not head.endswith(b"\r\n\r\n")

    def test_a_line_break_in_a_header_is_refused(self):
        with pytest.raises(ValueError, match="line break"):
            request_head(Target("h", 80, "/", "h"), {"X-A": "1\r\nX-B: 2"}, user_agent="a",
                         close=False)


async def _serve(answers: list[bytes]) -> tuple[asyncio.Server, list[int]]:
    """A server that answers each request on a connection with the next of ``answers``
    and counts its connections."""
    connections = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections[0] += 1
        try:
            for answer in answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, connections


class TestPool:
    def test_keep_alive_reuses_and_close_does_not(self):
        ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

        async def go(keep_alive: bool) -> tuple[list[bytes], int]:
            server, connections = await _serve([ok] * 3)
            port = server.sockets[0].getsockname()[1]
            target = Target("127.0.0.1", port, "/", f"127.0.0.1:{port}")
            pool = Pool(keep_alive=keep_alive)
            bodies = []
            for _ in range(3):
                conn = pool.idle(target) or await pool.connect(target)
                conn.send(request_head(target, {}, user_agent="t", close=not keep_alive), b"{}")
                await conn.response()
                bodies.append(await conn.read_all())
                pool.release(conn, target)
            pool.close()
            server.close()
            await server.wait_closed()
            return bodies, connections[0]

        assert ([b"ok"] * 3, 1) == asyncio.run(go(True))
        assert ([b"ok"] * 3, 3) == asyncio.run(go(False))

    def test_limit_makes_requests_wait_for_a_slot(self):
        async def go() -> list[int]:
            pool = Pool(limit=2)
            order = []

            async def one(i: int) -> None:
                await pool.slot()
                order.append(i)
                await asyncio.sleep(0.01)
                pool.free()

            await asyncio.gather(*(one(i) for i in range(5)))
            return order

        assert [0, 1, 2, 3, 4] == asyncio.run(go())

    def test_refused_connection_raises_oserror(self):
        async def go() -> None:
            server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            server.close()
            await server.wait_closed()
            with pytest.raises(OSError):
                await Pool().connect(Target("127.0.0.1", port, "/", "x"))

        asyncio.run(go())
