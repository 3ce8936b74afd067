"""A real OpenAI-compatible server for the ``real_server`` tests: llama.cpp's own
``llama-server`` with a tiny random model, as ``../shared/real-server/setup.sh`` builds it.

The tests are skipped, with the reason, when the binary or the model is missing (build
them with ``bash ../shared/real-server/setup.sh``; ``PREFIX`` and ``MODEL_DIR`` move
them, as for that script). The server is started once per module on a free port of
127.0.0.1, with the arguments ``start.sh`` uses, and always stopped at the end. The e2e
fixtures (``profile``, ``check_artifacts``) run and check the runs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

PREFIX = Path(os.environ.get("PREFIX", "/tmp/real-server"))
MODEL_DIR = Path(os.environ.get("MODEL_DIR", "/tmp/real-server-model"))
BINARY = PREFIX / "bin" / "llama-server"
MODEL = MODEL_DIR / "tiny-random-llama.gguf"
MODEL_NAME = "tiny-random-llama"
#: Slots decoding at once; more requests queue inside the server.
SLOTS = 8


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
