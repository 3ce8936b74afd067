"""No secret leaks: the API key, secret header values and a URL's password never reach an
artifact or the console, even from a server that echoes them back in its answers.

A test server repeats every credential it received (the Authorization header, with the
bearer token or the Basic credentials of the URL's user-info, and the X-Token header) in
each kind of answer a run can store or print: a JSON error, an HTML error page, an error
event in a stream, a stream that works, and the /tokenize calls of prompt sizing. Every
file of the artifact directory and everything printed is then searched for each secret.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from aiohttp import web

API_KEY = "sk-live-0123456789secret"
HEADER_SECRET = "hdr-token-9876secret"
URL_PASSWORD = "pw-url-4242secret"
BASIC = base64.b64encode(f"alice:{URL_PASSWORD}".encode()).decode()
SECRETS = (API_KEY, HEADER_SECRET, URL_PASSWORD, BASIC)


def _echo(request: web.Request) -> str:
    return (f"you sent Authorization={request.headers.get('Authorization')} "
            f"X-Token={request.headers.get('X-Token')} from {request.url}")


def _server(mode: str):
    async def handler(request: web.Request) -> web.StreamResponse:
        echo = _echo(request)
        if request.path == "/tokenize":
            return web.json_response({"error": echo}, status=404)
        if mode == "json-401":
            return web.json_response({"error": {"message": echo, "type": "auth"}}, status=401)
        if mode == "html-500":
            return web.Response(text=f"<html><body><h1>500</h1><p>{echo}</p></body></html>",
                                status=500, content_type="text/html")
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        if mode == "stream-error":
            event = {"error": {"message": echo, "code": 403}}
        else:
            event = {"choices": [{"index": 0, "delta": {"content": echo}}]}
        await resp.write(f"data: {json.dumps(event)}\n\n".encode())
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    return handler


def _files_with(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


@pytest.mark.parametrize("credentials", ["api-key", "url"])
@pytest.mark.parametrize("mode", ["json-401", "html-500", "stream-error", "stream-ok"])
def test_no_secret_reaches_an_artifact_or_the_console(mode, credentials, http_server, profile,
                                                      tmp_path):
    server = http_server(_server(mode))
    if credentials == "url":
        url, extra = server.url.replace("http://", f"http://alice:{URL_PASSWORD}@"), []
        expected = f"Basic {BASIC}"
    else:
        url, extra, expected = server.url, ["--api-key", API_KEY], f"Bearer {API_KEY}"

    run = profile("--url", url, "--model", "m", "--streaming", *extra,
                  "--header", f"X-Token:{HEADER_SECRET}", "--request-count", "3",
                  "--isl", "8", "--osl", "4", "--ui", "none", "--artifact-dir", "run")

    assert run.exit_code == 0, run.output
    sent = [s.headers for s in server.api_seen]
    assert all(h.get("X-Token") == HEADER_SECRET for h in sent)  # the secrets did go out
    assert all(h.get("Authorization") == expected for h in sent)
    for secret in SECRETS:
        assert secret not in run.output, (secret, run.output)
        assert [] == _files_with(tmp_path / "run", secret), secret
    if mode != "stream-ok":
        errors = [json.loads(line).get("error") for line in
                  (tmp_path / "run" / "profile_export.jsonl").read_text().splitlines()]
        assert all(e is not None and "***" in e["message"] for e in errors), errors


def test_the_url_password_is_redacted_in_explain(profile, tmp_path):
    """config explain and the run's own configuration show the user but not the password."""
    from typer.testing import CliRunner

    from aiperf.cli import app

    url = f"http://alice:{URL_PASSWORD}@127.0.0.1:9/v1"
    result = CliRunner().invoke(app, ["config", "explain", "--url", url,
                                      "benchmark.endpoint.url"])
    shown = CliRunner().invoke(app, ["config", "show", "--url", url])

    assert result.exit_code == 0, result.output
    assert URL_PASSWORD not in result.output + shown.output
    assert "alice:***@127.0.0.1:9" in result.output


def test_passwords_in_url_lists_are_redacted_in_explain_and_show():
    """A list of URLs (a repeated --url, --server-metrics, --gpu-telemetry) hides each
    one's password as the single URL does."""
    from typer.testing import CliRunner

    from aiperf.cli import app

    url = f"http://alice:{URL_PASSWORD}@127.0.0.1:9"
    args = ["--url", "http://127.0.0.1:8", "--url", url, "--server-metrics",
            f"{url}/metrics", "--gpu-telemetry", f"{url}/dcgm"]
    explained = CliRunner().invoke(app, ["config", "explain", *args])
    shown = CliRunner().invoke(app, ["config", "show", *args])

    assert explained.exit_code == 0 and shown.exit_code == 0, explained.output + shown.output
    assert URL_PASSWORD not in explained.output + shown.output
    assert "alice:***@127.0.0.1:9/metrics" in shown.output


def test_credentials_in_the_url_and_an_authorization_header_are_refused(profile, http_server):
    """HTTP has one Authorization header: both ways of setting it is a clear error before
    any request, never a run of failed requests."""
    server = http_server(_server("stream-ok"))
    url = server.url.replace("http://", f"http://alice:{URL_PASSWORD}@")

    run = profile("--url", url, "--model", "m", "--api-key", API_KEY, "--request-count", "2",
                  "--ui", "none")

    assert run.exit_code == 2
    assert "keep one of them" in run.output
    assert URL_PASSWORD not in run.output and API_KEY not in run.output
    assert [] == server.seen
