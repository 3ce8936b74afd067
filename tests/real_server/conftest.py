"""A real OpenAI-compatible server for the ``real_server`` tests: llama.cpp's own
``llama-server`` with a tiny random model, as ``../shared/real-server/setup.sh`` builds it.

The tests are skipped, with the reason, when the binary or the model is missing (build
them with ``bash ../shared/real-server/setup.sh``; ``PREFIX`` and ``MODEL_DIR`` move
them, as for that script). The server is started once per module on a free port of
127.0.0.1, with the arguments ``start.sh`` uses, and always stopped at the end.
"""

from __future__ import annotations

import gc
import json
import os
import re
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from typer.testing import CliRunner

from aiperf.cli import app

PREFIX = Path(os.environ.get("PREFIX", "/tmp/real-server"))
MODEL_DIR = Path(os.environ.get("MODEL_DIR", "/tmp/real-server-model"))
BINARY = PREFIX / "bin" / "llama-server"
MODEL = MODEL_DIR / "tiny-random-llama.gguf"
MODEL_NAME = "tiny-random-llama"
#: Slots decoding at once; more requests queue inside the server.
SLOTS = 8
_ARTIFACTS_LINE = re.compile(r"^Artifacts: (.+)$", re.MULTILINE)


def missing() -> str | None:
    """Why the real server cannot run here, or None."""
    if not BINARY.is_file():
        return f"llama-server not built ({BINARY} missing): run ../shared/real-server/setup.sh"
    if not MODEL.is_file():
        return f"model not created ({MODEL} missing): run ../shared/real-server/setup.sh"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"llama-server exited ({process.returncode}):\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/v1/models", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"llama-server did not answer within 180 s:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a running llama-server (stopped when the module's tests end)."""
    reason = missing()
    if reason is not None:
        pytest.skip(reason)
    port = _free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    threads = max(1, (os.cpu_count() or 2) - 1)
    command = [str(BINARY), "-m", str(MODEL), "--host", "127.0.0.1", "--port", str(port),
               "--alias", MODEL_NAME, "-np", str(SLOTS), "-c", str(SLOTS * 4096),
               "-t", str(threads), "-n", "1024", "--no-webui", "--metrics"]
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@attrs.frozen
class Run:
    """One ``aiperf profile`` run: its exit code, console text and parsed artifacts."""

    exit_code: int
    output: str
    run_dir: Path | None

    def records(self) -> list[dict[str, Any]]:
        assert self.run_dir is not None, self.output
        path = self.run_dir / "profile_export.jsonl"
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    def manifest(self) -> dict[str, Any]:
        assert self.run_dir is not None, self.output
        return json.loads((self.run_dir / "run.json").read_text(encoding="utf-8"))


@pytest.fixture
def profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """``profile(*args)``: ``aiperf profile ARGS`` in-process, in the test's tmp_path."""
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Run:
        gc.collect()
        gc.freeze()
        try:
            result = CliRunner().invoke(app, ["profile", *args], catch_exceptions=False)
        finally:
            gc.unfreeze()
        found = _ARTIFACTS_LINE.findall(result.stdout)
        return Run(result.exit_code, result.output, Path(found[-1].strip()) if found else None)

    return run
