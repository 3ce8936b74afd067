"""A scriptable OpenAI-compatible HTTP server for client tests, on 127.0.0.1.

Each request says how it wants to be answered in a ``stub`` object in its body (the
client sends it through ``extra_inputs``), so one server serves every test. The server
runs its own event loop in a thread: tests drive the client with ``asyncio.run`` and
the two talk over a real socket. Every request is remembered by its ``x-request-id``
so tests can check the body and headers that went over the wire.

``stub`` keys (all optional):

- ``status`` with ``error_body`` ``"json"`` (default) or ``"html"``: fail with that status.
- ``body``: ``"html"`` (a 200 HTML page) or ``"error"`` (a 200 JSON error object).
- ``stall``: seconds to sleep before sending headers.
- ``pieces``: content texts (default ``["tok0 ", "tok1 ", "tok2 ", "tok3 "]``), or ``n``.
- ``reasoning``: reasoning texts sent before the content; ``reasoning_field``
  ``"reasoning_content"`` (default) or ``"reasoning"``.
- ``usage``: completion_tokens to report (streaming: in a usage-only last chunk, only
  when the request asked for it); ``per_chunk_usage``: cumulative usage on every chunk.
- ``ttft`` / ``itl``: seconds before the first content event / between events.
- ``eol``: line ending, ``"\\n"`` (default), ``"\\r\\n"`` or ``"\\r"``.
- ``split``: write the stream ``split`` bytes at a time, pausing between writes.
- ``keepalive``: a ``: keep-alive`` comment before every event.
- ``error_after`` / ``close_after`` / ``malformed_after`` / ``stall_after``: after that
  many content events send an error object / drop the connection / send broken JSON /
  stall for ``stall_seconds`` (default 5).
- ``done``: send ``data: [DONE]`` (default true).
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import attrs
from aiohttp import web


@attrs.frozen
class Seen:
    """A request as the server received it."""

    path: str
    headers: dict[str, str]
    body: Any


class StubServer:
    """Start with :meth:`start`, stop with :meth:`stop`; ``url`` is ``http://127.0.0.1:<port>``."""

    def __init__(self) -> None:
        self.seen: dict[str, Seen] = {}
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    def start(self) -> StubServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._setup(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _setup(self) -> None:
        app = web.Application()
        for path in ("/v1/chat/completions", "/v1/completions", "/v1/embeddings"):
            app.router.add_post(path, self._handle)
        # A short shutdown timeout: stalled handlers must not hold up the test session.
        self._runner = web.AppRunner(app, shutdown_timeout=0.1, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        # Handlers still stalling (timeout tests) would be destroyed pending: end them.
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        rid = request.headers.get("x-request-id", "")
        self.seen[rid] = Seen(request.path, dict(request.headers), body)
        stub: dict[str, Any] = body.get("stub", {}) if isinstance(body, dict) else {}
        if stub.get("stall"):
            await asyncio.sleep(stub["stall"])
        if "status" in stub:
            return _error_response(stub["status"], stub.get("error_body", "json"))
        if stub.get("body") == "html":
            return web.Response(text="<html><body><h1>Welcome</h1></body></html>",
                                content_type="text/html")
        if stub.get("body") == "error":
            return web.json_response({"error": {"message": "model overloaded", "code": 503}})
        if request.path == "/v1/embeddings":
            return web.json_response({"object": "list", "data": [{"embedding": [0.1, 0.2]}],
                                      "usage": {"prompt_tokens": 3, "total_tokens": 3}})
        if body.get("stream"):
            try:
                return await _stream(request, body, stub)
            except ConnectionResetError:  # the client went away (cancel and timeout tests)
                return web.Response()
        return web.json_response(_whole(request.path, body, stub))


def _pieces(stub: dict[str, Any]) -> list[str]:
    if "pieces" in stub:
        return list(stub["pieces"])
    return [f"tok{i} " for i in range(stub.get("n", 4))]


def _error_response(status: int, kind: str) -> web.Response:
    if kind == "html":
        page = (f"<html><head><title>{status}</title></head>"
                f"<body><h1>{status} Bad Gateway</h1></body></html>")
        return web.Response(status=status, text=page, content_type="text/html")
    return web.json_response({"error": {"message": "the stub was told to fail", "code": status}},
                             status=status)


def _whole(path: str, body: dict[str, Any], stub: dict[str, Any]) -> dict[str, Any]:
    """A non-streaming chat or completions response."""
    content = "".join(_pieces(stub))
    reasoning = "".join(stub.get("reasoning", []))
    if path == "/v1/completions":
        choice: dict[str, Any] = {"index": 0, "text": content, "finish_reason": "stop"}
    else:
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if reasoning:
            message[stub.get("reasoning_field", "reasoning_content")] = reasoning
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
    out: dict[str, Any] = {"id": "cmpl-1", "object": "chat.completion", "choices": [choice]}
    if "usage" in stub:
        out["usage"] = {"prompt_tokens": 5, "completion_tokens": stub["usage"],
                        "total_tokens": 5 + stub["usage"]}
    return out


def _event(obj: Any, eol: str) -> bytes:
    data = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)
    return f"data: {data}{eol}{eol}".encode()


def _delta(path: str, text: str, field: str, usage: dict[str, int] | None) -> dict[str, Any]:
    if path == "/v1/completions":
        choice: dict[str, Any] = {"index": 0, "text": text, "finish_reason": None}
    else:
        choice = {"index": 0, "delta": {field: text}, "finish_reason": None}
    out: dict[str, Any] = {"id": "c", "object": "chat.completion.chunk", "choices": [choice]}
    if usage is not None:
        out["usage"] = usage
    return out


async def _stream(
    request: web.Request, body: dict[str, Any], stub: dict[str, Any]
) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                       "Cache-Control": "no-cache"})
    await resp.prepare(request)
    eol = stub.get("eol", "\n")
    split = stub.get("split")
    path = request.path
    per_chunk = stub.get("per_chunk_usage", False)
    emitted = 0  # output tokens so far, one per piece

    async def send(event: bytes) -> None:
        if stub.get("keepalive"):
            event = f": keep-alive{eol}{eol}".encode() + event
        if not split:
            await resp.write(event)
            return
        for i in range(0, len(event), split):
            await resp.write(event[i : i + split])
            await asyncio.sleep(0.001)  # let each piece reach the client as its own read

    def usage() -> dict[str, int] | None:
        return {"prompt_tokens": 5, "completion_tokens": emitted,
                "total_tokens": 5 + emitted} if per_chunk else None

    if path != "/v1/completions":  # real servers open a chat stream with a role-only delta
        first: dict[str, Any] = {"id": "c", "object": "chat.completion.chunk", "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
        if per_chunk:
            first["usage"] = usage()
        await send(_event(first, eol))
    await asyncio.sleep(stub.get("ttft", 0))
    reasoning_field = stub.get("reasoning_field", "reasoning_content")
    texts = [(t, reasoning_field) for t in stub.get("reasoning", [])]
    texts += [(t, "content") for t in _pieces(stub)]
    for i, (text, field) in enumerate(texts):
        if i and stub.get("itl"):
            await asyncio.sleep(stub["itl"])
        if i == stub.get("error_after"):
            await send(_event({"error": {"message": "out of memory", "code": 500}}, eol))
            return resp
        if i == stub.get("malformed_after"):
            await send(f'data: {{"choices": [{{"delta": {eol}{eol}'.encode())
            continue
        if i == stub.get("close_after"):
            request.transport.close()
            return resp
        if i == stub.get("stall_after"):
            await asyncio.sleep(stub.get("stall_seconds", 5))
        emitted += 1
        await send(_event(_delta(path, text, field, usage()), eol))
    stream_options = body.get("stream_options") or {}
    if "usage" in stub and stream_options.get("include_usage"):
        await send(_event({"id": "c", "choices": [], "usage": {
            "prompt_tokens": 5, "completion_tokens": stub["usage"],
            "total_tokens": 5 + stub["usage"]}}, eol))
    if stub.get("done", True):
        await send(f"data: [DONE]{eol}{eol}".encode())
    await resp.write_eof()
    return resp
