"""``aiperf profile`` end to end as a user drives it: flags, files, Ctrl-C, secrets, mistakes.

In-process runs go through the real typer app (``profile`` fixture); the Ctrl-C and
secret tests run ``python -m aiperf profile`` as a child process so that a real SIGINT
and every real console and log line are involved. Servers are the simulator or a tiny
aiohttp app of the test's own, on 127.0.0.1.
"""

from __future__ import annotations

import gc
import json
import os
import queue
import signal
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from typer.testing import CliRunner

from aiperf.artifacts.manifest import read_run
from aiperf.cli import app

MODEL = "e2e-model"
FAST_SIM_URL = "sim://?mode=deterministic&ttft_ms=2&itl_ms=0"


# --------------------------------------------------------------------------- helpers


class Lines:
    """Collects a child's text stream line by line in a thread, so the test can wait for
    a line with a timeout instead of blocking on the pipe."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line)
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, text: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line with {text!r} within {timeout_s} s: "
                                     f"{''.join(self.lines)}")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"stream ended without {text!r}: {''.join(self.lines)}")
            if text in line:
                return line

    def text(self) -> str:
        self._thread.join(timeout=10)
        return "".join(self.lines)


def _openai_body(request_body: dict[str, Any], text: str) -> dict[str, Any]:
    words = len(text.split())
    return {"id": "cmpl-1", "object": "chat.completion", "created": 0,
            "model": request_body.get("model"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": words,
                      "total_tokens": 1 + words}}


async def _openai_echo(request: web.Request) -> web.StreamResponse:
    """A minimal chat server: answers 'ok fine thanks', streamed when asked."""
    body = json.loads(await request.read())
    answer = "ok fine thanks"
    if not body.get("stream"):
        return web.json_response(_openai_body(body, answer))
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    for word in answer.split():
        chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                 "choices": [{"index": 0, "delta": {"content": word + " "},
                              "finish_reason": None}]}
        await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
    await resp.write(b"data: [DONE]\n\n")
    await resp.write_eof()
    return resp


def _files_containing(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*")
            if p.is_file() and needle.encode() in p.read_bytes()]


def _check_partial(arts: Any) -> None:
    """What an interrupted run must leave: partial status everywhere, whole files."""
    assert arts.manifest["status"] == "partial"
    assert "Ctrl-C" in arts.manifest["partial_reason"]
    assert arts.ready == {"ready": True, "was_cancelled": True, "partial": True}
    assert arts.summary["was_cancelled"] is True
    assert arts.summary["is_complete"] is False
    assert arts.records, "an interrupted run still exports what it measured"
    for rec in arts.records:
        if rec["metadata"]["was_cancelled"]:
            assert rec["error"]["type"] == "cancelled"


# --------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_mid_run_exits_130_with_partial_artifacts(sim_server, aiperf_subprocess,
                                                         check_artifacts, tmp_path):
    """SIGINT while requests are in flight against a slow server: exit 130, every artifact
    written and valid, run.json says partial, finished requests are kept and in-flight
    ones are recorded as cancelled."""
    # Each request takes 5 + 19 * 20 = ~385 ms; 200 of them would take ~20 s. Prompts in
    # built-in words: the server's count of finished requests must be the run's own.
    server = sim_server(mode="deterministic", ttft_ms=5, itl_ms=20)
    proc = aiperf_subprocess(
        "profile", "--url", server.url, "--model", MODEL, "--streaming", "--osl", "20",
        "--isl", "8", "--concurrency", "4", "--request-count", "200", "--ui", "none",
        "--artifact-dir", "run", "--prompt-sizing", "builtin")

    # Clearly running: the server has finished a first round of requests.
    deadline = time.monotonic() + 20
    while server.stats(records=False)["totals"]["completed"] < 4:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run did not get going within 20 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)

    assert proc.returncode == 130, out + err
    assert "Traceback" not in err, err
    assert "run is partial" in out
    arts = check_artifacts(tmp_path / "run")
    _check_partial(arts)
    ok = [r for r in arts.records if "error" not in r]
    cancelled = [r for r in arts.records if r["metadata"]["was_cancelled"]]
    assert len(ok) >= 4 and cancelled, [r.get("error") for r in arts.records]
    assert len(arts.records) < 200
    assert arts.manifest["record_counts"]["profiling"] == len(arts.records)
    # Every exported request really reached the server; the finished ones finished there.
    seen = server.records_by_id()
    for rec in arts.records:
        rid = rec["metadata"]["x_request_id"]
        if "error" not in rec:
            assert seen[rid]["completed"] is True


def test_ctrl_c_with_the_in_process_simulator(aiperf_subprocess, check_artifacts, tmp_path):
    """The same with ``--url sim://``: the simulator inside the run shuts down too."""
    proc = aiperf_subprocess(
        "profile", "--url", "sim://?mode=deterministic&ttft_ms=5&itl_ms=25", "--model",
        MODEL, "--streaming", "--osl", "20", "--concurrency", "4", "--request-count", "500",
        "--ui", "none", "--artifact-dir", "run")
    out, errors = Lines(proc.stdout), Lines(proc.stderr)
    out.wait_for("profiling", timeout_s=20)  # printed just before the first request
    time.sleep(1.2)  # ~2 rounds of requests of ~0.5 s
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=20)
    err = errors.text()

    assert proc.returncode == 130, out.text() + err
    assert "Traceback" not in err, err
    assert "run is partial" in out.text()
    arts = check_artifacts(tmp_path / "run")
    _check_partial(arts)


def test_repeated_ctrl_c_still_writes_the_partial_results(sim_server, aiperf_subprocess,
                                                          check_artifacts, tmp_path):
    """An impatient user presses Ctrl-C several times: the run still stops cleanly with
    exit 130 and the partial results the first Ctrl-C promised."""
    server = sim_server(mode="deterministic", ttft_ms=5, itl_ms=20)
    proc = aiperf_subprocess(
        "profile", "--url", server.url, "--model", MODEL, "--streaming", "--osl", "20",
        "--isl", "8", "--concurrency", "4", "--request-count", "200", "--ui", "none",
        "--artifact-dir", "run")
    deadline = time.monotonic() + 20
    while server.stats(records=False)["totals"]["completed"] < 4:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    # Five quick presses, as an impatient person would, while the results are written.
    for _ in range(5):
        try:
            os.kill(proc.pid, signal.SIGINT)
        except ProcessLookupError:
            break
        time.sleep(0.02)
    out, err = proc.communicate(timeout=20)

    assert proc.returncode == 130, out + err
    _check_partial(check_artifacts(tmp_path / "run"))


# --------------------------------------------------------------------------- secrets


SECRET = "sk-secret-XYZ"


@pytest.mark.parametrize("how", ["flag", "env"])
def test_api_key_is_sent_but_never_written_or_printed(how, http_server, aiperf_subprocess,
                                                      tmp_path, monkeypatch):
    """The bearer token reaches the server on every request, and appears in no artifact,
    no console line and no log line (``--api-key`` or OPENAI_API_KEY)."""
    server = http_server(_openai_echo)
    args = ["profile", "--url", server.url, "--model", MODEL, "--request-count", "3",
            "--streaming", "--ui", "none", "--artifact-dir", "run", "--prompt-sizing", "builtin"]
    if how == "flag":
        args += ["--api-key", SECRET]
    else:
        monkeypatch.setenv("OPENAI_API_KEY", SECRET)  # the child inherits it
    proc = aiperf_subprocess(*args)
    out, err = proc.communicate(timeout=60)

    assert proc.returncode == 0, out + err
    assert len(server.api_seen) == 3
    assert {s.headers.get("Authorization") for s in server.api_seen} == {f"Bearer {SECRET}"}
    assert SECRET not in out
    assert SECRET not in err
    run_dir = tmp_path / "run"
    assert (run_dir / "run.json").is_file()
    assert _files_containing(run_dir, SECRET) == []
    # Nor anywhere else the run could have written (home folder, caches).
    assert _files_containing(tmp_path, SECRET) == []
    # The key is still shown as set, redacted, where the config is explained.
    summary = json.loads((run_dir / "profile_export_aiperf.json").read_text())
    assert summary["input_config"]["benchmark"]["endpoint"]["api_key"] == "***"
    explained = CliRunner().invoke(app, ["config", "explain", str(run_dir),
                                         "benchmark.endpoint.api_key"])
    assert explained.exit_code == 0, explained.output
    assert SECRET not in explained.output and "***" in explained.output


def test_header_values_are_sent_but_never_written(http_server, profile, check_artifacts,
                                                  tmp_path):
    """``--header`` values are secrets too (its help says so): sent, never written."""
    server = http_server(_openai_echo)
    token = "hdr-secret-ABC"

    run = profile("--url", server.url, "--model", MODEL, "--request-count", "2",
                  "--header", f"X-Api-Token:{token}", "--ui", "none", "--artifact-dir", "run")

    assert run.exit_code == 0, run.output
    check_artifacts(tmp_path / "run")
    assert {s.headers.get("X-Api-Token") for s in server.api_seen} == {token}
    assert token not in run.output
    assert _files_containing(tmp_path, token) == []


# --------------------------------------------------------------------------- bad input


def test_unreachable_url_fails_fast_and_names_the_url(profile, free_port, tmp_path):
    """Nothing listens on the port: a one-line error naming the URL, exit 1, in well under
    10 s, before any run time is spent and before any artifact directory is made."""
    url = f"http://127.0.0.1:{free_port()}"

    start = time.monotonic()
    run = profile("--url", url, "--model", MODEL, "--benchmark-duration", "600",
                  "--ui", "none")
    elapsed = time.monotonic() - start

    assert run.exit_code != 0
    assert elapsed < 10, elapsed
    assert url in run.output
    assert "cannot reach" in run.output
    assert "Traceback" not in run.output
    assert not (tmp_path / "artifacts").exists()


def test_request_count_zero_is_a_usage_error_naming_the_flag(profile, tmp_path):
    run = profile("--url", FAST_SIM_URL, "--model", MODEL, "--request-count", "0")

    assert run.exit_code == 2, run.output
    assert "--request-count" in run.stderr
    assert ">= 1" in run.stderr
    assert not (tmp_path / "artifacts").exists()


def test_unknown_endpoint_type_is_a_usage_error_listing_the_choices(profile, tmp_path):
    run = profile("--url", FAST_SIM_URL, "--model", MODEL, "--endpoint-type", "rerank")

    assert run.exit_code == 2, run.output
    assert "--endpoint-type" in run.stderr
    assert "rerank" in run.stderr
    for choice in ("chat", "completions", "embeddings"):
        assert choice in run.stderr
    assert not (tmp_path / "artifacts").exists()


def test_missing_model_is_a_clear_error(profile, tmp_path):
    run = profile("--url", FAST_SIM_URL, "--request-count", "2")

    assert run.exit_code != 0
    assert "no model given" in run.output
    assert "--model" in run.output
    assert "Traceback" not in run.output
    assert not (tmp_path / "artifacts").exists()


@pytest.mark.parametrize(("url", "words"), [
    ("sim://?ttft=5", ["sim://?ttft=5", "unknown option 'ttft'", "ttft_ms"]),
    ("sim://?mode=fast", ["mode", "deterministic, realistic", "'fast'"]),
    ("localhost:8000", ["localhost:8000", "http://host:port"]),
])
def test_a_bad_url_is_a_clear_error(url, words, profile, tmp_path):
    """A URL aiperf cannot use is refused before the run, saying what is wrong with it."""
    run = profile("--url", url, "--model", MODEL, "--request-count", "2", "--ui", "none")

    assert run.exit_code != 0
    for word in words:
        assert word in run.output, run.output
    assert "Traceback" not in run.output
    assert not (tmp_path / "artifacts").exists()


@pytest.mark.parametrize(("content", "words"), [
    (None, ["prompts.jsonl", "cannot read input file"]),
    ('{"text": "fine"}\n{not json}\n', ["prompts.jsonl:2", "not valid JSON"]),
    ('{"text": ""}\n', ["prompts.jsonl:1", "non-empty 'text'"]),
])
def test_a_bad_input_file_is_a_clear_error(content, words, sim_server, profile, tmp_path):
    """A missing or broken ``--input-file`` is refused before a single request is sent,
    naming the file (and line)."""
    if content is not None:
        (tmp_path / "prompts.jsonl").write_text(content, encoding="utf-8")
    server = sim_server(mode="deterministic", ttft_ms=1, itl_ms=0)

    run = profile("--url", server.url, "--model", MODEL, "--input-file", "prompts.jsonl",
                  "--request-count", "2", "--ui", "none")

    assert run.exit_code != 0
    for word in words:
        assert word in run.output, run.output
    assert server.stats(records=False)["totals"]["requests"] == 0
    assert not (tmp_path / "artifacts").exists()


def test_an_unusable_artifact_dir_fails_before_the_run(sim_server, profile, tmp_path):
    """``--artifact-dir`` naming an existing file: a clear error before any request."""
    (tmp_path / "taken").write_text("not a directory", encoding="utf-8")
    server = sim_server(mode="deterministic", ttft_ms=1, itl_ms=0)

    run = profile("--url", server.url, "--model", MODEL, "--request-count", "3",
                  "--ui", "none", "--artifact-dir", "taken")

    assert run.exit_code != 0
    assert "taken" in run.output
    assert "Traceback" not in run.output
    assert server.stats(records=False)["totals"]["requests"] == 0


# --------------------------------------------------------------------------- load shape


def test_benchmark_duration_bounds_the_run_by_time(profile, check_artifacts, tmp_path):
    """``--benchmark-duration 2`` and no request count: requests are issued for 2 s, then
    the run ends once the last ones are back."""
    start = time.monotonic()
    run = profile("--url", "sim://?mode=deterministic&ttft_ms=5&itl_ms=2", "--model", MODEL,
                  "--streaming", "--osl", "8", "--concurrency", "2",
                  "--benchmark-duration", "2", "--ui", "none", "--artifact-dir", "run")
    elapsed = time.monotonic() - start

    assert run.exit_code == 0, run.output
    assert 2.0 <= elapsed < 4.0, elapsed
    arts = check_artifacts(tmp_path / "run")
    assert arts.manifest["status"] == "complete"
    # ~20 ms per request, 2 at a time, for 2 s: ~200 requests (allow a slow machine).
    assert 40 <= len(arts.records) <= 260, len(arts.records)
    assert all("error" not in r for r in arts.records)
    starts = [r["metadata"]["request_start_ns"] for r in arts.records]
    ends = [r["metadata"]["request_end_ns"] for r in arts.records]
    # Nothing is sent after the 2 s mark; the last answers land shortly after it.
    assert (max(starts) - min(starts)) / 1e9 <= 2.0
    assert 1.8 <= (max(ends) - min(starts)) / 1e9 <= 2.5
    assert 1.8 <= arts.scalar("benchmark_duration") <= 2.5


def test_request_rate_sends_the_right_number_and_reports_the_achieved_rate(
        sim_server, profile, check_artifacts, tmp_path):
    """``--request-rate 20 --arrival constant --benchmark-duration 2``: ~40 requests reach
    the server, and the achieved rate reported is ~20/s."""
    server = sim_server(mode="deterministic", ttft_ms=2, itl_ms=1)

    run = profile("--url", server.url, "--model", MODEL, "--streaming", "--osl", "4",
                  "--request-rate", "20", "--arrival", "constant", "--prompt-sizing", "builtin",
                  "--benchmark-duration", "2", "--ui", "none", "--artifact-dir", "run")

    assert run.exit_code == 0, run.output
    arts = check_artifacts(tmp_path / "run")
    sent = server.stats(records=False)["totals"]["requests"]
    assert sent == len(arts.records)
    assert 36 <= sent <= 44, sent
    health = arts.summary["client_health"]
    assert health["requested_request_rate"] == 20
    assert health["achieved_request_rate"] == pytest.approx(20, rel=0.1)
    assert arts.scalar("achieved_request_rate") == pytest.approx(20, rel=0.1)
    # Constant arrivals: sends are evenly spaced, 50 ms apart.
    starts = sorted(r["metadata"]["request_start_ns"] for r in arts.records)
    gaps_ms = [(b - a) / 1e6 for a, b in zip(starts, starts[1:], strict=False)]
    assert sum(gaps_ms) / len(gaps_ms) == pytest.approx(50, abs=5)


# --------------------------------------------------------------------------- artifacts


def test_export_prefix_renames_the_files_and_run_json_finds_them(profile, check_artifacts,
                                                                 tmp_path):
    run = profile("--url", FAST_SIM_URL, "--model", MODEL, "--request-count", "3",
                  "--profile-export-prefix", "foo", "--ui", "none", "--artifact-dir", "run")

    assert run.exit_code == 0, run.output
    run_dir = tmp_path / "run"
    arts = check_artifacts(run_dir)
    names = arts.manifest["export_names"]
    assert (names["records"], names["summary_json"], names["summary_csv"]) == (
        "foo.jsonl", "foo.json", "foo.csv")
    assert names["prefix"] == "foo"
    assert {arts.manifest["files"][n] for n in ("foo.jsonl", "foo.json", "foo.csv")} == {
        "records", "summary_json", "summary_csv"}
    assert not list(run_dir.glob("profile_export*"))
    found = read_run(run_dir)
    assert found.records_path == run_dir / "foo.jsonl"
    assert found.summary_json_path == run_dir / "foo.json"
    assert found.summary_csv_path == run_dir / "foo.csv"
    assert len(list(found.iter_records())) == 3
    assert found.summary()["request_count"]["avg"] == 3


@pytest.mark.parametrize(("flags", "expected"), [
    (["--concurrency", "3"], "my-model-concurrency3"),
    (["--request-rate", "50"], "my-model-request_rate50.0"),
])
def test_default_artifact_directory_name(flags, expected, profile, check_artifacts, tmp_path):
    """No ``--artifact-dir``: ``artifacts/<model basename>-concurrency<N>`` (or
    ``-request_rate<R>``) below the working directory."""
    run = profile("--url", FAST_SIM_URL, "--model", "org/my-model", "--request-count", "3",
                  *flags, "--ui", "none")

    assert run.exit_code == 0, run.output
    assert run.run_dir == Path("artifacts") / expected
    assert [p.name for p in (tmp_path / "artifacts").iterdir()] == [expected]
    arts = check_artifacts(tmp_path / "artifacts" / expected)
    assert len(arts.records) == 3


def test_artifact_dir_is_honoured(profile, check_artifacts, tmp_path):
    run = profile("--url", FAST_SIM_URL, "--model", MODEL, "--request-count", "2",
                  "--ui", "none", "--artifact-dir", "out/nested/here")

    assert run.exit_code == 0, run.output
    assert run.run_dir == Path("out/nested/here")
    check_artifacts(tmp_path / "out" / "nested" / "here")
    assert not (tmp_path / "artifacts").exists()


def test_an_in_process_run_closes_its_event_loop(profile, tmp_path):
    """Running ``aiperf profile`` in a process (tests, notebooks, several trials) must not
    leave an event loop (and its file descriptors) behind."""
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        run = profile("--url", FAST_SIM_URL, "--model", MODEL, "--request-count", "2",
                      "--ui", "none", "--artifact-dir", "run")
        gc.collect()

    assert run.exit_code == 0, run.output
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []


def test_config_explain_works_on_the_run_directory(profile, tmp_path):
    """``aiperf config explain RUN_DIR KEY`` explains the value the run used and why."""
    run = profile("--url", FAST_SIM_URL, "--model", MODEL, "--request-count", "2",
                  "--concurrency", "3", "--ui", "none", "--artifact-dir", "run")
    assert run.exit_code == 0, run.output

    result = CliRunner().invoke(app, ["config", "explain", "run",
                                      "benchmark.load.concurrency"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("benchmark.load.concurrency = 3")
    assert "--concurrency" in result.output


def test_input_file_prompts_are_the_ones_sent(http_server, profile, check_artifacts, tmp_path):
    """``--input-file prompts.jsonl``: the prompts go out in file order (starting over at
    the end), with the file's max_tokens where it has one and ``--osl`` elsewhere; ISL is
    each prompt's length by the client and the server's usage.prompt_tokens as ISL."""
    prompts = [
        {"text": "alpha beta gamma"},
        {"text": "one two three four five", "max_tokens": 7},
        {"prompt": "solo"},
    ]
    (tmp_path / "prompts.jsonl").write_text(
        "".join(json.dumps(p) + "\n" for p in prompts), encoding="utf-8")
    server = http_server(_openai_echo)

    run = profile("--url", server.url, "--model", MODEL, "--input-file", "prompts.jsonl",
                  "--osl", "11", "--request-count", "5", "--concurrency", "1",
                  "--ui", "none", "--artifact-dir", "run")

    assert run.exit_code == 0, run.output
    arts = check_artifacts(tmp_path / "run")
    bodies = {s.headers["X-Request-ID"]: s.json() for s in server.api_seen}
    expected_texts = ["alpha beta gamma", "one two three four five", "solo"] * 2
    expected_texts = expected_texts[:5]
    expected_max = [11, 7, 11, 11, 7]
    records = sorted(arts.records, key=lambda r: r["metadata"]["session_num"])
    assert len(records) == 5
    for rec, text, max_tokens in zip(records, expected_texts, expected_max, strict=True):
        body = bodies[rec["metadata"]["x_request_id"]]
        assert body["messages"] == [{"role": "user", "content": text}]
        assert body["max_tokens"] == max_tokens
        assert arts.metric(rec, "client_input_sequence_length") == len(text.split())
        assert arts.metric(rec, "input_sequence_length") == (
            arts.metric(rec, "usage_prompt_tokens"))
