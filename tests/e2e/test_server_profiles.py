"""``aiperf profile`` against every server profile of the simulator: no request may fail.

Each profile reproduces what a real server does on the wire (``aiperf/sim/profiles.py``):
llama.cpp closes the connection after every streamed response while its headers advertise
keep-alive, TGI sends no role chunk, SGLang closes a chat stream with a chunk of its own,
and so on. A client that copes with real servers gets every request through, at
concurrency 1 (one connection, reused) and 16 (a pool of them).

``model=m`` in the simulator URL matches ``--model m``: the vLLM profile, like vLLM,
answers 404 to a request for a model it does not serve.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

SERVERS = ["llama.cpp", "vllm", "sglang", "tgi", "generic"]
#: Fast and exact: 2 ms to the first token, 1 ms per token after it, whatever the load.
SIM = "mode=deterministic&ttft_ms=2&itl_ms=1&model=m"
REQUESTS = 48
ISL = 32
OSL = 16


def _errors(records: list[dict[str, Any]]) -> str:
    """The failed requests' errors, counted by type and message, for the failure report."""
    seen = Counter((r["error"].get("type"), str(r["error"].get("message"))[:160])
                   for r in records if "error" in r)
    return "\n".join(f"{n} x {kind}: {message}" for (kind, message), n in seen.most_common())


def _run(profile: Any, server: str, endpoint: str, concurrency: int) -> list[str]:
    return profile("--url", f"sim://?profile={server}&{SIM}", "--model", "m", "--streaming",
                   "--endpoint-type", endpoint, "--request-count", str(REQUESTS),
                   "--concurrency", str(concurrency), "--osl", str(OSL), "--isl", str(ISL),
                   "--ui", "none", "--artifact-dir", "run")


def _assert_every_request_succeeded(run: Any, check_artifacts: Any) -> None:
    assert run.exit_code == 0, run.output
    arts = check_artifacts(Path("run"))
    assert len(arts.records) == REQUESTS
    assert not any("error" in r for r in arts.records), _errors(arts.records)
    assert arts.scalar("error_request_count") is None  # omitted when there were none
    assert arts.manifest["record_counts"]["failed"] == 0
    # Every answer was read to its end: exactly OSL tokens each, whatever the stream shape.
    assert {arts.metric(r, "output_sequence_length") for r in arts.records} == {OSL}


@pytest.mark.parametrize("concurrency", [1, 16])
@pytest.mark.parametrize("server", SERVERS)
def test_no_request_fails_against_a_chat_server(server, concurrency, profile, check_artifacts):
    """48 streamed chat requests: none fails, each gets its 16 tokens."""
    run = _run(profile, server, "chat", concurrency)

    _assert_every_request_succeeded(run, check_artifacts)


@pytest.mark.parametrize("concurrency", [1, 16])
def test_no_request_fails_against_llama_cpp_completions(concurrency, profile, check_artifacts):
    """llama.cpp's completion streams (usage always on the closing chunk, connection closed
    after each): none fails."""
    run = _run(profile, "llama.cpp", "completions", concurrency)

    _assert_every_request_succeeded(run, check_artifacts)
