"""``https://`` endpoints go over aiohttp, which a plain ``http://`` run never imports.

The server is a test app on 127.0.0.1 behind a certificate from a throwaway CA (trustme);
``aiperf profile`` runs as a child process that trusts that CA through ``SSL_CERT_FILE``,
the way a user points Python's ``ssl`` at a private CA.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web

trustme = pytest.importorskip("trustme")

ANSWER = "one two three four"

_MODULES_AT_EXIT = """\
import atexit, runpy, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write("\\n".join(sorted(sys.modules))))
sys.argv = ["aiperf", *sys.argv[2:]]
runpy.run_module("aiperf", run_name="__main__", alter_sys=True)
"""


async def _streamed_chat(request: web.Request) -> web.StreamResponse:
    """Streams ANSWER a word per chunk, 20 ms apart, then the usage and [DONE]."""
    if request.method != "POST":
        return web.Response(status=404)
    await request.read()
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    for word in ANSWER.split():
        chunk = {"object": "chat.completion.chunk", "model": "m",
                 "choices": [{"index": 0, "delta": {"content": word + " "},
                              "finish_reason": None}]}
        await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await asyncio.sleep(0.02)  # tokens apart, so each is read (and stamped) on its own
    usage = {"object": "chat.completion.chunk", "model": "m", "choices": [],
             "usage": {"prompt_tokens": 20, "completion_tokens": 4, "total_tokens": 24}}
    await resp.write(f"data: {json.dumps(usage)}\n\n".encode())
    await resp.write(b"data: [DONE]\n\n")
    await resp.write_eof()
    return resp


def _profile(url: str, run: Path, env: dict[str, str],
             modules: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _MODULES_AT_EXIT, str(modules), "profile", "--url", url,
         "--model", "m", "--endpoint-type", "chat", "--streaming", "--concurrency", "2",
         "--request-count", "8", "--isl", "16", "--osl", "4", "--ui", "none",
         "--artifact-dir", str(run)],
        cwd=run.parent, env=env, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


def test_an_https_endpoint_is_measured_over_tls(http_server, ca, tmp_path):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = http_server(_streamed_chat, ssl_context=context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    env = {**os.environ, "SSL_CERT_FILE": str(ca_file)}
    run = tmp_path / "run"

    done = _profile(server.url, run, env, tmp_path / "modules.txt")

    assert server.url.startswith("https://")
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((run / "profile_export_aiperf.json").read_text())
    assert summary["request_count"]["avg"] == 8
    assert summary.get("error_request_count", {}).get("avg", 0) == 0
    assert summary["output_sequence_length"]["avg"] == 4
    assert summary["inter_token_latency"]["avg"] > 0
    assert len([s for s in server.api_seen if s.method == "POST"]) >= 8


def test_an_untrusted_certificate_is_a_connection_error_not_a_crash(http_server, ca,
                                                                    tmp_path):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = http_server(_streamed_chat, ssl_context=context)
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    run = tmp_path / "run"

    done = _profile(server.url, run, env, tmp_path / "modules.txt")

    # Every request failed and was measured as such: a finished run (exit 0, no_success).
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["status"] == "no_success"
    assert "CERTIFICATE_VERIFY_FAILED" in manifest["partial_reason"]
    assert "connection: cannot connect" in done.stdout


def test_a_plain_http_run_never_imports_aiohttp(sim_server, tmp_path):
    server = sim_server(mode="deterministic", ttft_ms=1, itl_ms=1)
    modules = tmp_path / "modules.txt"

    done = _profile(server.url, tmp_path / "run", dict(os.environ), modules)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "aiohttp" not in modules.read_text().split()
