"""What real servers do, as the simulator's profiles and quirks reproduce it, end to end:
prompts sized in each server's own tokens, streams a server would not stream, Keep-Alive
limits, idle timeouts, and rate limiting that is the server's failure, not the client's.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

MODEL = "m"
FAST = "mode=deterministic&ttft_ms=1&itl_ms=0"


def _run(profile, url: str, *extra: str, count: int = 24, concurrency: int = 4):
    return profile("--url", url, "--model", MODEL, "--endpoint-type", "chat", "--streaming",
                   "--request-count", str(count), "--concurrency", str(concurrency),
                   "--osl", "4", "--ui", "none", "--artifact-dir", "run", *extra)


@pytest.mark.parametrize("server", ["llama.cpp", "vllm", "sglang", "tgi"])
def test_prompts_are_sized_in_each_servers_tokens(server, profile, check_artifacts):
    """--isl 64 delivers 64 of the server's tokens (its tokenizer and chat template), and
    run.json says how the prompts were sized."""
    run = _run(profile, f"sim://?profile={server}&model={MODEL}&{FAST}", "--isl", "64")

    assert run.exit_code == 0, run.output
    arts = check_artifacts(Path("run"))
    delivered = [arts.metric(r, "input_sequence_length") for r in arts.records]
    assert 64 == pytest.approx(statistics.fmean(delivered), rel=0.02), delivered
    assert "server-tokenize" == arts.manifest["prompt_sizing"]["method"]
    assert "calibration failed" not in run.output


def test_the_simulators_own_profile_needs_no_sizing(profile, check_artifacts):
    """sim:// without a profile counts words like the built-in tokenizer: nothing is asked."""
    run = _run(profile, f"sim://?{FAST}", "--isl", "32")

    assert run.exit_code == 0, run.output
    arts = check_artifacts(Path("run"))
    assert {32} == {arts.metric(r, "input_sequence_length") for r in arts.records}
    assert "builtin" == arts.manifest["prompt_sizing"]["method"]
    assert [] == arts.manifest["prompt_sizing"]["calibration_requests"]


def test_prompts_sized_in_builtin_words_name_the_servers_count(profile, check_artifacts):
    """Sized in built-in words against llama.cpp's tokenizer and chat template, --isl 64
    arrives as more of the server's tokens: input_sequence_length is the server's count,
    and a warning names the gap in the summary and on the console."""
    run = _run(profile, f"sim://?profile=llama.cpp&model={MODEL}&{FAST}", "--isl", "64",
               "--prompt-sizing", "builtin")

    assert run.exit_code == 0, run.output
    arts = check_artifacts(Path("run"))
    delivered = statistics.fmean(arts.metric(r, "input_sequence_length") for r in arts.records)
    assert delivered > 64 * 1.05
    (warning,) = [w for w in arts.summary["warnings"] if "prompt tokens per request" in w]
    assert f"{delivered:.1f} prompt tokens per request on average against 64.0" in warning
    assert "prompt tokens per request on average" in run.output


def test_explain_says_why_prompts_are_sized_against_the_server(profile, check_artifacts):
    run = _run(profile, f"sim://?profile=llama.cpp&{FAST}", "--isl", "16", count=4)

    assert run.exit_code == 0, run.output
    explain = json.loads(Path("run", "explain.json").read_text(encoding="utf-8"))
    text = json.dumps(explain)
    assert "simulator-profile-has-its-own-tokenizer" in text


def test_an_ignored_stream_is_marked_and_its_itl_not_measured(profile, check_artifacts):
    run = _run(profile, f"sim://?ignore_stream=true&{FAST}", "--isl", "8")

    assert run.exit_code == 0, run.output
    arts = check_artifacts(Path("run"))
    assert [] == [r for r in arts.records if "error" in r]
    for tag in ("inter_token_latency", "time_to_second_token", "time_to_first_token"):
        assert tag not in arts.summary
        assert not any(tag in r["metrics"] for r in arts.records)
    assert 1 == run.output.count("their TTFT, ITL and time to second token are not measured")
    assert any("ignored stream: true" in w for w in arts.summary["warnings"])


def test_keep_alive_max_costs_no_request(profile, check_artifacts):
    """Two responses a connection, the second with Connection: close: nothing is lost and
    nothing needs re-sending (the client never sends on a connection the server closed)."""
    run = _run(profile, f"sim://?keepalive_max=2&{FAST}", "--isl", "8", count=30)

    assert run.exit_code == 0, run.output
    arts = check_artifacts(Path("run"))
    assert [] == [r["error"] for r in arts.records if "error" in r]
    assert 0 == arts.summary["client_health"]["connections"]["stale_connections_replaced"]


def test_an_idle_timeout_costs_no_request(profile, check_artifacts):
    """The server drops connections idle for 50 ms; requests 5 per second find them dead
    and go again on fresh ones."""
    run = profile("--url", f"sim://?idle_timeout_s=0.05&{FAST}", "--model", MODEL,
                  "--streaming", "--request-rate", "5", "--arrival", "constant",
                  "--concurrency", "1", "--request-count", "6", "--isl", "8", "--osl", "2",
                  "--ui", "none", "--artifact-dir", "run")

    assert run.exit_code == 0, run.output
    arts = check_artifacts(Path("run"))
    assert [] == [r["error"] for r in arts.records if "error" in r]


def test_rate_limiting_is_the_servers_failure(sim_server, profile, check_artifacts):
    """429s with Retry-After are real errors: each one counted, none re-sent."""
    server = sim_server(mode="deterministic", ttft_ms=1, itl_ms=0, rate_limit_rate=0.25,
                        seed=5)

    run = _run(profile, server.url, "--isl", "8", "--prompt-sizing", "builtin", count=40)

    assert run.exit_code == 0, run.output
    arts = check_artifacts(Path("run"))
    limited = server.stats(records=False)["totals"]["rate_limited"]
    errors = [r["error"] for r in arts.records if "error" in r]
    assert 0 < limited == len(errors)
    assert {429} == {e["code"] for e in errors}
    assert 40 == server.stats(records=False)["totals"]["requests"]
