"""The yardstick for aiperf's client: the least a Python streaming benchmark client can do.

    python benchmarks/lean_client.py --url http://127.0.0.1:8000 -c 64 -r 5000 -w 64

Standard library only: asyncio streams, one keep-alive HTTP/1.1 connection and one
coroutine per concurrency slot, closed loop (a slot sends its next request as soon as its
last one ended). Each request is an OpenAI chat-completions call with ``stream: true``;
the chunked SSE answer is read to ``data: [DONE]`` and every event's JSON decoded (so the
first token is the first event with content, as a real client must find it). Per request
it records the send time, the first-token time and the end time, nothing else.

It prints one JSON line: the measured requests, failures, the window (first send of the
measured phase to its last end) and requests/s over it; ``--records FILE`` also writes
the per-request times (ns, ``time.perf_counter_ns``) as JSON lines. Never part of the
product: ``client_capacity.py`` runs it beside ``aiperf profile`` as a ratio's denominator.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from urllib.parse import urlsplit

_now = time.perf_counter_ns


class _Slot:
    """One concurrency slot's connection; reopened when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.close()
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _request(slot: _Slot, head: bytes, body: bytes,
                   retry: bool = True) -> tuple[int, int | None, int]:
    """Send one request on ``slot``; (send ns, first-token ns or None, end ns).

    Raises on anything but a 200 with a chunked or length-framed body. A kept connection
    the server closed after its last answer (llama.cpp does, its headers saying nothing)
    is found dead when the status line is empty: the request goes again on a new one."""
    reused = slot.writer is not None and not (slot.reader and slot.reader.at_eof())
    if not reused:
        await slot.open()
    reader, writer = slot.reader, slot.writer
    assert reader is not None and writer is not None
    sent = _now()
    writer.write(head + body)
    try:
        status = await reader.readline()
    except OSError:
        status = b""
    if not status and reused and retry:
        await slot.open()
        return await _request(slot, head, body, retry=False)
    if not status.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"unexpected status line {status!r}")
    chunked, length, close = False, None, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"content-length":
            length = int(value)
        elif name == b"connection":
            close = b"close" in value.lower()
    first: int | None = None
    pending = b""
    while True:
        if chunked:
            size = int((await reader.readline()).split(b";", 1)[0], 16)
            data = await reader.readexactly(size + 2)
            data = data[:-2]
            if size == 0:
                break
        else:
            if length is None:
                data = await reader.read(65536)
                if not data:
                    break
            else:
                data = await reader.readexactly(length)
                length = 0
        now = _now()
        events = (pending + data).split(b"\n\n")
        pending = events.pop()
        for event in events:
            for line in event.split(b"\n"):
                if not line.startswith(b"data:"):
                    continue
                payload = line[5:].strip()
                if payload == b"[DONE]":
                    continue
                obj = json.loads(payload)
                choices = obj.get("choices")
                if first is None and choices and (choices[0].get("delta") or {}).get("content"):
                    first = now
        if length == 0:
            break
    end = _now()
    if close:
        slot.close()
    return sent, first, end


async def _run(url: str, model: str, concurrency: int, requests: int, warmup: int,
               osl: int, words: int) -> tuple[list[tuple[int, int | None, int]], int]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = (parts.path.rstrip("/") or "") + "/v1/chat/completions"
    total = warmup + requests
    indices = itertools.count()
    records: list[tuple[int, int | None, int]] = []
    failed = 0
    # A prompt as long as aiperf's (550 words by default), so both send as many bytes and
    # the server parses as much for each; the request's number makes each one differ.
    text = " ".join(["word"] * words)

    async def worker() -> None:
        nonlocal failed
        slot = _Slot(host, port)
        try:
            while (i := next(indices)) < total:
                body = json.dumps({
                    "model": model, "stream": True, "max_tokens": osl,
                    "messages": [{"role": "user", "content": f"{i} {text}"}],
                }).encode()
                head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                        f"\r\n").encode()
                try:
                    rec = await _request(slot, head, body)
                except (OSError, RuntimeError, ValueError, asyncio.IncompleteReadError):
                    # The server closed an idle connection, or answered badly: count it
                    # and go on with a new connection (this is a yardstick, not a judge).
                    slot.close()
                    if i >= warmup:
                        failed += 1
                    continue
                if i >= warmup:
                    records.append(rec)
        finally:
            slot.close()

    await asyncio.gather(*(worker() for _ in range(min(concurrency, total))))
    return records, failed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True, help="server base URL, http://host:port")
    ap.add_argument("--model", default="m")
    ap.add_argument("-c", "--concurrency", type=int, default=64)
    ap.add_argument("-r", "--requests", type=int, default=5000, help="measured requests")
    ap.add_argument("-w", "--warmup", type=int, default=0, help="warm-up requests first")
    ap.add_argument("--osl", type=int, default=16, help="max_tokens per request")
    ap.add_argument("--prompt-words", type=int, default=550,
                    help="words per prompt (aiperf's default ISL is 550)")
    ap.add_argument("--records", help="write per-request times here (JSON lines)")
    opts = ap.parse_args()
    records, failed = asyncio.run(_run(opts.url, opts.model, opts.concurrency,
                                       opts.requests, opts.warmup, opts.osl,
                                       opts.prompt_words))
    if not records:
        sys.exit("no request succeeded")
    start = min(r[0] for r in records)
    end = max(r[2] for r in records)
    window_s = (end - start) / 1e9
    if opts.records:
        with open(opts.records, "w", encoding="utf-8") as fh:
            for sent, first, done in records:
                fh.write(json.dumps({"send_ns": sent, "first_token_ns": first,
                                     "end_ns": done}) + "\n")
    print(json.dumps({"requests": len(records), "failed": failed, "window_s": window_s,
                      "requests_per_s": len(records) / window_s}))


if __name__ == "__main__":
    main()
