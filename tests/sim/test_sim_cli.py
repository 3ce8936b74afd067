"""``aiperf sim serve`` end to end: a real subprocess on a free port of 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from aiperf.cli import app


@contextlib.contextmanager
def _serving(*flags: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """Run ``aiperf sim serve --port 0 FLAGS``; yield (process, base URL); always clean up."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "aiperf", "sim", "serve", "--port", "0", *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    # A reader thread, so that waiting for the banner can time out instead of hanging.
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        banner = lines.get(timeout=20)
        match = re.search(r"http://127\.0\.0\.1:\d+", banner)
        assert match, banner
        yield proc, match.group(0)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def sim_server() -> Iterator[tuple[subprocess.Popen, str]]:
    """A deterministic instant server named cli-model."""
    with _serving("--mode", "deterministic", "--ttft-ms", "0", "--itl-ms", "0",
                  "--model", "cli-model") as served:
        yield served


def test_serve_answers_models_and_stops_cleanly_on_sigterm(sim_server):
    """The banner names the URL, /v1/models answers, SIGTERM ends the process with 0."""
    proc, url = sim_server

    with urllib.request.urlopen(url + "/v1/models", timeout=10) as resp:
        models = json.load(resp)
    proc.send_signal(signal.SIGTERM)

    assert ["cli-model"] == [m["id"] for m in models["data"]]
    assert 0 == proc.wait(timeout=10)


def test_serve_rejects_bad_options_before_binding():
    """A bad value is a one-line error and exit code 2."""
    result = CliRunner().invoke(app, ["sim", "serve", "--port", "0", "--osl", "0",
                                      "--error-rate", "2"])

    assert 2 == result.exit_code
    assert "osl: expected a whole number >= 1" in result.output
    assert "error_rate: expected a number >= 0 and <= 1" in result.output


def test_serve_help_lists_every_option_flag():
    """Each SimOptions field is a flag."""
    from aiperf.sim.options import option_infos

    result = CliRunner().invoke(app, ["sim", "serve", "--help"], env={"COLUMNS": "200"})

    assert 0 == result.exit_code
    for info in option_infos():
        assert "--" + info.name.replace("_", "-") in result.output


def test_serve_takes_a_profile_and_quirk_overrides():
    """--profile llama.cpp serves its /health; --idle-timeout-s shows in its Keep-Alive."""
    with _serving("--profile", "llama.cpp", "--idle-timeout-s", "2") as (_proc, url):
        with urllib.request.urlopen(url + "/health", timeout=10) as resp:
            health, keep_alive = json.load(resp), resp.headers["Keep-Alive"]

    assert {"status": "ok"} == health
    assert "timeout=2, max=100" == keep_alive


def test_serve_rejects_an_unknown_profile_listing_the_choices():
    result = CliRunner().invoke(app, ["sim", "serve", "--port", "0", "--profile", "ollama"])

    assert 2 == result.exit_code
    assert "profile: expected one of generic, llama.cpp, vllm, sglang, tgi" in result.output


def test_serve_quirk_switches_are_value_flags_and_checked():
    """A quirk switch takes a value (so "false" can turn a profile's quirk off); anything
    but true/false words is a one-line error."""
    result = CliRunner().invoke(app, ["sim", "serve", "--port", "0", "--profile", "llama.cpp",
                                      "--close-after-stream", "maybe"])

    assert 2 == result.exit_code
    assert "close_after_stream: expected true or false, got 'maybe'" in result.output
