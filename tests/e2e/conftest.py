"""Shared set-up of the end-to-end ``aiperf profile`` tests.

Every test here talks real HTTP over 127.0.0.1; nothing is mocked. The fixtures:

- ``sim_server(**options)``: the built-in simulator
  (:func:`aiperf.sim.inprocess.serve_on_this_loop`) running in a background thread with
  its own event loop, so ``aiperf profile`` can run
  in the test's thread (its own loop) against ``--url <server.url>`` and the test can
  then read ``GET /sim/stats`` to see what the server actually did.
- ``http_server(handler)``: a tiny aiohttp app of the test's own (echo, 404, HTML...),
  also in a background thread; it remembers every request it was sent.
- ``profile(*args)``: ``aiperf profile ARGS`` through the real typer app in-process
  (CliRunner), returning the result and the run directory it reported.
- ``check_artifacts(run_dir)``: every artifact is there and parses (JSONL line by line,
  summary JSON, CSV, run.json against ``schemas/run.schema.json``); returns them.
- ``free_port()``: a port on 127.0.0.1 that nothing listens on.
- ``aiperf_subprocess(*args)``: ``python -m aiperf ARGS`` as a child process that is
  always killed and reaped when the test ends.

The working directory of every test is its ``tmp_path``, so a default ``artifacts/``
directory never lands in the repository. The root ``tests/conftest.py`` already isolates
HOME and the AIPERF_* environment.
"""

from __future__ import annotations

import asyncio
import csv
import gc
import io
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import jsonschema
import pytest
from aiohttp import web
from typer.testing import CliRunner

from aiperf._resources import schemas_dir
from aiperf.artifacts.manifest import RunDir, read_run
from aiperf.cli import app
from aiperf.sim.inprocess import serve_on_this_loop
from aiperf.sim.options import SimOptions

_ARTIFACTS_LINE = re.compile(r"^Artifacts: (.+)$", re.MULTILINE)


@pytest.fixture(autouse=True)
def _run_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every e2e test runs with its tmp_path as the working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --------------------------------------------------------------------------- servers


class _ThreadLoop:
    """An event loop in a daemon thread that serves until :meth:`stop`."""

    def __init__(self) -> None:
        self.url = ""
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def start(self) -> _ThreadLoop:
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError("test server did not start within 10 s")
        if self._error is not None:
            raise RuntimeError("test server failed to start") from self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            # The loop may already be gone if serving failed.
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:
                pass
        self._thread.join(timeout=10)
        assert not self._thread.is_alive(), "test server thread did not stop"

    def _main(self) -> None:
        try:
            asyncio.run(self._serve_forever())
        except BaseException as e:  # reported to start() or lost with the thread
            self._error = e
            self._ready.set()

    async def _serve_forever(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with self._serving() as url:
            self.url = url
            self._ready.set()
            await self._stop.wait()

    def _serving(self) -> Any:  # an async context manager yielding the base URL
        raise NotImplementedError


class SimServer(_ThreadLoop):
    """The simulator, served by :func:`aiperf.sim.inprocess.serve` in a background thread."""

    def __init__(self, options: SimOptions) -> None:
        super().__init__()
        self.options = options

    def _serving(self) -> Any:
        return serve_on_this_loop(self.options)

    def stats(self, *, records: bool = True) -> dict[str, Any]:
        """``GET /sim/stats`` (with the per-request records unless ``records`` is False)."""
        query = "" if records else "?records=0"
        with urllib.request.urlopen(f"{self.url}/sim/stats{query}", timeout=10) as resp:
            return json.load(resp)

    def records_by_id(self) -> dict[str, dict[str, Any]]:
        """The simulator's per-request records, by request id (the client's x-request-id)."""
        return {r["request_id"]: r for r in self.stats()["records"]}


@attrs.frozen
class Seen:
    """One request as a test server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class AppServer(_ThreadLoop):
    """A test's own aiohttp handler on every path and method; remembers every request."""

    def __init__(self, handler: Handler, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__()
        self.handler = handler
        self.seen: list[Seen] = []
        self._ssl = ssl_context

    @property
    def api_seen(self) -> list[Seen]:
        """The requests sent to the API: every one but the run's probe and scrapes of
        ``GET /metrics`` (a real endpoint's Prometheus metrics are read when they answer)."""
        return [s for s in self.seen if not (s.method == "GET" and s.path == "/metrics")]

    def _serving(self) -> Any:
        import contextlib

        @contextlib.asynccontextmanager
        async def run() -> Any:
            async def record_then_answer(request: web.Request) -> web.StreamResponse:
                body = await request.read()
                self.seen.append(Seen(request.method, request.path, dict(request.headers), body))
                return await self.handler(request)

            application = web.Application()
            application.router.add_route("*", "/{tail:.*}", record_then_answer)
            runner = web.AppRunner(application, access_log=None, shutdown_timeout=0.2)
            await runner.setup()
            try:
                site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self._ssl)
                await site.start()
                scheme = "http" if self._ssl is None else "https"
                yield f"{scheme}://127.0.0.1:{runner.addresses[0][1]}"
            finally:
                await runner.cleanup()

        return run()


@pytest.fixture
def sim_server() -> Iterator[Callable[..., SimServer]]:
    """A factory: ``sim_server(mode="deterministic", ...)`` starts a simulator; all are
    stopped when the test ends."""
    started: list[SimServer] = []

    def start(**options: Any) -> SimServer:
        server = SimServer(SimOptions.from_mapping(options)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def http_server() -> Iterator[Callable[..., AppServer]]:
    """A factory: ``http_server(handler, ssl_context=None)`` serves ``handler`` on every
    path (over TLS with a context); stopped at the end of the test."""
    started: list[AppServer] = []

    def start(handler: Handler, ssl_context: ssl.SSLContext | None = None) -> AppServer:
        server = AppServer(handler, ssl_context).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def free_port() -> Callable[[], int]:
    """A function returning a port of 127.0.0.1 that was free a moment ago (nothing
    listens on it)."""

    def pick() -> int:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    return pick


# --------------------------------------------------------------------------- running aiperf


@attrs.frozen
class ProfileRun:
    """What one in-process ``aiperf profile`` printed and where it wrote its artifacts."""

    exit_code: int
    stdout: str
    stderr: str
    output: str  # stdout and stderr interleaved
    run_dir: Path | None

    def read(self) -> RunDir:
        assert self.run_dir is not None, f"no 'Artifacts:' line in the output:\n{self.output}"
        return read_run(self.run_dir)


def artifact_dir_from_output(output: str) -> Path | None:
    """The run directory named by the console's final ``Artifacts: DIR`` line."""
    found = _ARTIFACTS_LINE.findall(output)  # trials name theirs first; the last is the run's
    return Path(found[-1].strip()) if found else None


@pytest.fixture
def profile() -> Callable[..., ProfileRun]:
    """``profile(*args)``: run ``aiperf profile ARGS`` in-process through the typer app."""

    def run(*args: str) -> ProfileRun:
        # The test process's heap (pytest, hypothesis, every module) is far larger than a
        # real CLI's; a full collection of it takes tens of ms and, landing inside a run,
        # shows up as a TTFT outlier. Freeze what exists so only the run's own objects
        # are ever scanned.
        gc.collect()
        gc.freeze()
        try:
            result = CliRunner().invoke(app, ["profile", *args], catch_exceptions=False)
        finally:
            gc.unfreeze()
        return ProfileRun(result.exit_code, result.stdout, result.stderr, result.output,
                          artifact_dir_from_output(result.stdout))

    return run


@pytest.fixture
def aiperf_subprocess() -> Iterator[Callable[..., subprocess.Popen]]:
    """``aiperf_subprocess(*args, ignore_sigint=False)``: start ``python -m aiperf ARGS``
    (stdout/stderr piped, unbuffered, in the test's working directory; with SIGINT
    ignored as a shell's background job has it, if asked). Every child still running when the
    test ends is killed and reaped, whatever the test did."""
    children: list[subprocess.Popen] = []

    def start(*args: str, ignore_sigint: bool = False) -> subprocess.Popen:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "140"}
        # ignore_sigint: started the way a shell starts a background job.
        ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None
        proc = subprocess.Popen([sys.executable, "-m", "aiperf", *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env, start_new_session=True, preexec_fn=ignore)
        children.append(proc)
        return proc

    yield start
    for proc in children:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - should never happen
            proc.kill()
            proc.communicate()


# --------------------------------------------------------------------------- artifacts


@attrs.frozen
class Artifacts:
    """A run directory's artifacts, parsed."""

    run: RunDir
    manifest: dict[str, Any]
    records: list[dict[str, Any]]
    summary: dict[str, Any]
    csv_rows: list[list[str]]
    ready: dict[str, Any]

    def scalar(self, tag: str) -> float | None:
        """The ``avg`` of a summary metric, or None when the summary has no such metric."""
        block = self.summary.get(tag)
        return None if block is None else block["avg"]

    def metric(self, record: dict[str, Any], tag: str) -> Any:
        """The value of ``tag`` on one JSONL record (None when it has none)."""
        entry = record["metrics"].get(tag)
        return None if entry is None else entry["value"]


def _run_schema() -> dict[str, Any]:
    return json.loads((schemas_dir() / "run.schema.json").read_text(encoding="utf-8"))


def load_and_check_artifacts(run_dir: Path) -> Artifacts:
    """Every artifact of ``run_dir`` is present, whole and valid; returns them parsed."""
    assert run_dir.is_dir(), f"no run directory {run_dir}"
    manifest = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    jsonschema.validate(manifest, _run_schema())
    for name in manifest["files"]:
        assert (run_dir / name).is_file(), f"run.json lists {name}, which is missing"
    # Every file of the directory is listed (run.json itself aside) and no temp file is left.
    on_disk = {p.name for p in run_dir.iterdir() if p.is_file()}
    assert on_disk - {"run.json"} == set(manifest["files"]), on_disk

    run = read_run(run_dir)
    assert run.from_manifest
    lines = run.records_path.read_text(encoding="utf-8").splitlines()
    records = []
    for number, line in enumerate(lines, 1):
        assert line.strip(), f"blank line {number} in {run.records_path.name}"
        record = json.loads(line)  # every line is valid JSON on its own
        assert isinstance(record, dict), line
        assert {"metadata", "metrics"} <= record.keys(), line
        records.append(record)
    assert records == list(run.iter_records())
    ids = [r["metadata"]["x_request_id"] for r in records]
    assert len(set(ids)) == len(ids), "x_request_id must be unique per record"
    for record in records:
        meta = record["metadata"]
        # Timestamps in the order things happen (1 ms of slack: some are derived from the
        # monotonic clock, anchored at the send).
        stamps = [meta["credit_issued_ns"], meta["request_start_ns"],
                  meta.get("request_ack_ns", meta["request_start_ns"]), meta["request_end_ns"]]
        assert all(b - a >= -1_000_000 for a, b in zip(stamps, stamps[1:], strict=False)), meta

    summary = run.summary()
    assert isinstance(summary, dict) and summary["schema_version"]
    csv_text = run.summary_csv_path.read_text(encoding="utf-8")
    csv_rows = list(csv.reader(io.StringIO(csv_text, newline="")))
    assert csv_rows and csv_rows[0][0] == "Metric", csv_rows[:2]
    ready = json.loads((run_dir / ".aiperf_results_ready.json").read_text(encoding="utf-8"))
    assert ready["ready"] is True

    counts = manifest["record_counts"]
    assert counts["profiling"] == len(records)
    # Requests the user cancelled are neither successful nor failed.
    assert counts["successful"] + counts["failed"] + counts.get("cancelled", 0) == len(records)
    assert counts["failed"] == sum(1 for r in records
                                  if "error" in r and not r["metadata"]["was_cancelled"])
    return Artifacts(run, manifest, records, summary, csv_rows, ready)


@pytest.fixture
def check_artifacts() -> Callable[[Path], Artifacts]:
    """``check_artifacts(run_dir)``: see :func:`load_and_check_artifacts`."""
    return load_and_check_artifacts
