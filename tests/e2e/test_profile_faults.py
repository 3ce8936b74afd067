"""``aiperf profile`` end to end against a misbehaving server: the run still completes.

Injected simulator faults (HTTP 500s, mid-stream disconnects, malformed chunks, stalls
past ``--request-timeout``) and servers that answer with something other than the OpenAI
API (404, HTML, plain text): in every case the run ends with exit 0, each failed request
is one record with an ``error`` and is counted in ``error_request_count``, the failures
are exactly the requests the server says it broke (matched by ``x-request-id``), and
every artifact is whole and valid.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

MODEL = "e2e-model"


def _args(url: str, *, streaming: bool, count: int, concurrency: int = 4,
          endpoint: str = "chat", extra: tuple[str, ...] = ()) -> list[str]:
    # These tests count what the server saw: prompts are sized in built-in words, so no
    # calibration request (or /tokenize call) joins the requests under test.
    return ["--url", url, "--model", MODEL, "--endpoint-type", endpoint,
            "--streaming" if streaming else "--no-streaming",
            "--request-count", str(count), "--concurrency", str(concurrency),
            "--isl", "8", "--osl", "8", "--ui", "none", "--artifact-dir", "run",
            "--prompt-sizing", "builtin", *extra]


def _wait_for_requests(server: Any, n: int, timeout_s: float = 5.0) -> dict[str, Any]:
    """/sim/stats once the server has finished ``n`` requests (a request the client gave
    up on is recorded when the server notices, a moment after the client moved on)."""
    deadline = time.monotonic() + timeout_s
    while True:
        stats = server.stats()
        if stats["totals"]["requests"] >= n or time.monotonic() > deadline:
            return stats
        time.sleep(0.02)


def _assert_errors_counted(arts: Any, failed_ids: set[str], error_type: str,
                           total: int) -> None:
    """The failed requests are exactly ``failed_ids``, with ``error_type``, and every
    count in the summary, the CSV and run.json agrees."""
    assert len(arts.records) == total
    errored = {r["metadata"]["x_request_id"]: r["error"] for r in arts.records if "error" in r}
    assert set(errored) == failed_ids
    assert {e["type"] for e in errored.values()} <= {error_type}
    # Failed requests carry no latency metrics, only their input length.
    for rec in arts.records:
        if "error" in rec:
            assert "request_latency" not in rec["metrics"]
            assert "time_to_first_token" not in rec["metrics"]
            assert rec["metrics"]["error_isl"]["value"] == 8
    n_failed = len(failed_ids)
    assert arts.scalar("request_count") == total - n_failed
    assert arts.scalar("completed_request_count") == total
    assert arts.scalar("error_request_count") == n_failed
    assert arts.scalar("request_error_rate") == pytest.approx(100.0 * n_failed / total)
    assert sum(e["count"] for e in arts.summary["error_summary"]) == n_failed
    assert {e["error_details"]["type"] for e in arts.summary["error_summary"]} == {error_type}
    csv_values = {row[0]: row[1] for row in arts.csv_rows if len(row) == 2}
    # The reference writes every run-level value with 2 decimals ("40.00"), counts too.
    assert float(csv_values["Error Request Count"]) == n_failed
    assert float(csv_values["Request Count"]) == total - n_failed
    assert arts.manifest["record_counts"]["failed"] == n_failed
    assert arts.manifest["record_counts"]["successful"] == total - n_failed
    # A run that sent every request finished; with none successful it is no_success.
    assert arts.manifest["status"] == ("no_success" if n_failed == total else "complete")


#: (sim option, value, client error type, server fault name, /sim/stats total)
FAULTS = [
    ("error_rate", 0.1, "http-status", "error", "errors_injected"),
    ("disconnect_rate", 0.3, "disconnected", "disconnect", "disconnects"),
    ("malformed_rate", 0.3, "malformed-response", "malformed", "malformed"),
]


@pytest.mark.parametrize("streaming", [True, False], ids=["stream", "nostream"])
@pytest.mark.parametrize("fault", FAULTS, ids=[f[0] for f in FAULTS])
def test_injected_faults_are_counted_as_errors(fault, streaming, sim_server, profile,
                                               check_artifacts):
    """10% HTTP 500s, 30% mid-stream disconnects, 30% malformed chunks or bodies."""
    option, rate, error_type, fault_name, total_key = fault
    count = 40
    # itl 1 ms: a disconnect or a malformed chunk really lands in the middle of a stream.
    server = sim_server(mode="deterministic", ttft_ms=2, itl_ms=1, seed=3, **{option: rate})

    run = profile(*_args(server.url, streaming=streaming, count=count))

    assert run.exit_code == 0, run.output
    arts = check_artifacts(Path("run"))
    stats = _wait_for_requests(server, count)
    faults = [r["request_id"] for r in stats["records"] if r["fault"] == fault_name]
    assert stats["totals"][total_key] == len(faults)
    # A connection the server dropped without a byte of an answer looks exactly like a
    # stale keep-alive connection: the client re-sends such a request once, on a fresh
    # connection. A request fails when its last attempt hit the fault.
    last = {r["request_id"]: r["fault"] for r in stats["records"]}
    broken = {rid for rid, fault in last.items() if fault == fault_name}
    resent = len(stats["records"]) - len(last)
    assert 0 < len(broken) < count, "pick another seed: the fault must hit some requests"
    _assert_errors_counted(arts, broken, error_type, count)
    connections = arts.summary["client_health"]["connections"]
    assert resent == connections["stale_connections_replaced"]

    errors = [r["error"] for r in arts.records if "error" in r]
    if fault_name == "error":
        assert all(e["code"] == 500 for e in errors), errors
        assert all("simulated server error" in e["message"] for e in errors), errors
    if fault_name == "malformed" and streaming:
        assert all("unreadable stream chunk" in e["message"] for e in errors), errors
    if fault_name == "malformed" and not streaming:
        assert all("not JSON" in e["message"] for e in errors), errors
    # The person at the console is told too.
    assert f"request(s) failed: {error_type}" in run.stdout


@pytest.mark.parametrize("stall_rate", [0.5, 1.0])
def test_stalled_server_times_out_requests_and_the_run_completes(stall_rate, sim_server,
                                                                 profile, check_artifacts):
    """A server that sleeps 3 s before answering, with ``--request-timeout 0.5``: the
    stalled requests fail as timeouts after 0.5 s instead of holding up the run."""
    count = 6
    server = sim_server(mode="deterministic", ttft_ms=2, itl_ms=0, stall_ms=3000,
                        stall_rate=stall_rate, seed=0)

    start = time.monotonic()
    run = profile(*_args(server.url, streaming=True, count=count, concurrency=3,
                         extra=("--request-timeout", "0.5")))
    elapsed = time.monotonic() - start

    # A finished run exits 0, even when every request timed out (status no_success).
    assert run.exit_code == 0, run.output
    # Two rounds of 3 at most 0.5 s each (+ slack); never the 3 s stall.
    assert elapsed < 2.5, elapsed
    arts = check_artifacts(Path("run"))
    stats = _wait_for_requests(server, count)
    stalled = {r["request_id"] for r in stats["records"] if r["stall_ms"] > 0}
    assert stalled, "pick another seed: some requests must stall"
    if stall_rate == 1.0:
        assert len(stalled) == count
    _assert_errors_counted(arts, stalled, "timeout", count)
    for rec in arts.records:
        if "error" in rec:
            assert "0.5 s" in rec["error"]["message"], rec["error"]
            start_ns = rec["metadata"]["request_start_ns"]
            took_ms = (rec["metadata"]["request_end_ns"] - start_ns) / 1e6
            assert 450 <= took_ms < 1500, took_ms


# --------------------------------------------------------------------------- not an OpenAI server


async def _not_found(request: web.Request) -> web.StreamResponse:
    return web.Response(status=404, text="<html><head><title>404</title></head><body>"
                        "<h1>Not Found</h1><p>no such route</p></body></html>",
                        content_type="text/html")


async def _html_page(request: web.Request) -> web.StreamResponse:
    return web.Response(text="<html><body><h1>Welcome to nginx!</h1></body></html>",
                        content_type="text/html")


async def _plain_text(request: web.Request) -> web.StreamResponse:
    return web.Response(text="hello, this is not json", content_type="text/plain")


#: (handler, error type, words the error message must contain)
NOT_OPENAI = [
    (_not_found, "http-status", ["HTTP 404", "Not Found", "no such route"]),
    (_html_page, "malformed-response", ["not JSON", "text/html", "Welcome to nginx!"]),
    (_plain_text, "malformed-response", ["not JSON", "text/plain", "hello, this is not json"]),
]


@pytest.mark.parametrize("streaming", [True, False], ids=["stream", "nostream"])
@pytest.mark.parametrize("case", NOT_OPENAI, ids=["404", "html", "text"])
def test_a_server_that_is_not_openai_fails_every_request_clearly(case, streaming, http_server,
                                                                 profile, check_artifacts):
    """404 / an HTML page / plain text: the run finishes (exit 0, as documented for a run
    whose requests all failed) with status no_success, every request is an error whose
    message quotes what the server said, and the console says how many failed and why."""
    handler, error_type, words = case
    server = http_server(handler)

    run = profile(*_args(server.url, streaming=streaming, count=4, concurrency=2))

    assert run.exit_code == 0, run.output
    arts = check_artifacts(Path("run"))
    assert arts.manifest["status"] == "no_success"
    assert len(server.api_seen) == 4
    assert {s.path for s in server.api_seen} == {"/v1/chat/completions"}
    _assert_errors_counted(arts, {s.headers["X-Request-ID"] for s in server.api_seen},
                           error_type, 4)
    for rec in arts.records:
        message = rec["error"]["message"]
        for word in words:
            assert word in message, message
        assert "<" not in message, message  # markup stripped
    assert f"4 request(s) failed: {error_type}" in run.stdout
    for word in words:
        assert word in run.stdout
