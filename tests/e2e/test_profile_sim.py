"""``aiperf profile`` end to end against the simulator: what aiperf exports agrees with
what the simulator says it did.

The simulator runs in a background thread (``sim_server``) and ``aiperf profile --url
http://127.0.0.1:<port>`` runs in the test's thread, so after the run ``GET /sim/stats``
tells, per ``x-request-id``, the input and output lengths the server saw and produced and
the TTFT / mean ITL it scheduled. Both modes, every endpoint type, streaming or not.
A few runs also go through ``--url sim://...`` (the simulator inside the profile run).
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import pytest

MODEL = "e2e-model"
REQUESTS = 6
CONCURRENCY = 2
ISL = 12
OSL = 8

#: Small, fast settings per mode. Deterministic: TTFT 20 ms, ITL 4 ms whatever the load.
SIM_OPTIONS: dict[str, dict[str, Any]] = {
    "deterministic": {"mode": "deterministic", "ttft_ms": 20, "itl_ms": 4},
    "realistic": {"mode": "realistic", "base_ttft_ms": 10, "prefill_ms_per_token": 0.1,
                  "base_itl_ms": 3, "itl_ms_per_seq": 0.5, "jitter": 0.05, "seed": 7},
}

#: (endpoint type, streaming)
SHAPES = [
    ("chat", True),
    ("chat", False),
    ("completions", True),
    ("completions", False),
    ("embeddings", False),
]

#: How far the client's TTFT may trail the server's scheduled TTFT for the same request
#: (connection, wake-up lag, socket, parsing), and how far it may lead it (the two
#: measure from slightly different instants on different monotonic clocks).
TTFT_LATE_MS = 30.0
TTFT_MEAN_LATE_MS = 12.0
EARLY_MS = 1.0
#: Client ITL (latency - TTFT spread over the remaining tokens) vs the server's mean gap.
ITL_ABS_MS = 3.0
ITL_MEAN_ABS_MS = 1.0


def _shape_id(shape: tuple[str, bool]) -> str:
    endpoint, streaming = shape
    return f"{endpoint}-{'stream' if streaming else 'nostream'}"


def _profile_args(url: str, endpoint: str, streaming: bool, *extra: str) -> list[str]:
    # These tests count what the server saw: prompts are sized in built-in words, so no
    # calibration request (or /tokenize call) joins the requests under test.
    return ["--url", url, "--model", MODEL, "--endpoint-type", endpoint,
            "--streaming" if streaming else "--no-streaming",
            "--request-count", str(REQUESTS), "--concurrency", str(CONCURRENCY),
            "--isl", str(ISL), "--osl", str(OSL), "--ui", "none",
            "--artifact-dir", "run", "--prompt-sizing", "builtin", *extra]


@pytest.mark.parametrize("mode", list(SIM_OPTIONS))
@pytest.mark.parametrize("shape", SHAPES, ids=_shape_id)
def test_exports_agree_with_what_the_simulator_did(mode, shape, sim_server, profile,
                                                   check_artifacts):
    """Record count, ISL/OSL, usage and (streaming) TTFT/ITL match /sim/stats per request."""
    endpoint, streaming = shape
    server = sim_server(**SIM_OPTIONS[mode])

    run = profile(*_profile_args(server.url, endpoint, streaming))

    assert run.exit_code == 0, run.output
    assert run.run_dir == Path("run")
    arts = check_artifacts(Path("run"))
    stats = server.stats()
    totals = stats["totals"]
    sim = {r["request_id"]: r for r in stats["records"]}

    # Count: one exported record per request the server saw, matched by x-request-id.
    assert len(arts.records) == REQUESTS
    assert totals["requests"] == REQUESTS
    assert totals["completed"] == REQUESTS
    assert totals["streaming"] == (REQUESTS if streaming else 0)
    assert {r["metadata"]["x_request_id"] for r in arts.records} == set(sim)
    assert stats["concurrency"]["max_in_flight"] <= CONCURRENCY

    ttft_late, itl_diff = [], []
    for rec in arts.records:
        s = sim[rec["metadata"]["x_request_id"]]
        assert "error" not in rec, rec["error"]
        assert rec["metadata"]["benchmark_phase"] == "profiling"
        assert (s["endpoint"], s["streaming"], s["status"], s["completed"], s["fault"]) == (
            endpoint, streaming, 200, True, None)

        # Tokens: the prompt length aiperf counted is what the server counted, and the
        # output length is what the server produced (and reported in usage).
        assert arts.metric(rec, "input_sequence_length") == s["isl"] == ISL
        assert arts.metric(rec, "usage_prompt_tokens") == s["isl"]
        if endpoint == "embeddings":
            assert s["output_tokens"] == 0
            assert arts.metric(rec, "output_sequence_length") is None
        else:
            assert arts.metric(rec, "output_sequence_length") == s["output_tokens"] == OSL
            assert arts.metric(rec, "usage_completion_tokens") == s["output_tokens"]
            assert arts.metric(rec, "usage_total_tokens") == s["isl"] + s["output_tokens"]

        # Timings.
        latency = arts.metric(rec, "request_latency")
        assert latency is not None and latency >= s["ttft_ms"] - EARLY_MS
        if mode == "deterministic":
            assert s["ttft_ms"] == pytest.approx(20.0, abs=1e-6)
            if endpoint != "embeddings":
                assert s["itl_ms"] == pytest.approx(4.0, abs=1e-6)
        if streaming:
            ttft = arts.metric(rec, "time_to_first_token")
            itl = arts.metric(rec, "inter_token_latency")
            assert ttft is not None and itl is not None
            late = ttft - s["ttft_ms"]
            assert -EARLY_MS <= late <= TTFT_LATE_MS, (ttft, s)
            assert abs(itl - s["itl_ms"]) <= ITL_ABS_MS, (itl, s)
            ttft_late.append(late)
            itl_diff.append(itl - s["itl_ms"])
            # The whole answer took what the server scheduled for it, plus delivery.
            scheduled = s["ttft_ms"] + (OSL - 1) * s["itl_ms"]
            assert -EARLY_MS <= latency - scheduled <= TTFT_LATE_MS, (latency, s)
        else:
            # A body arrives in one piece: no TTFT / ITL (as in the reference tool).
            assert arts.metric(rec, "time_to_first_token") is None
            assert arts.metric(rec, "inter_token_latency") is None
            if endpoint != "embeddings":
                assert latency >= s["ttft_ms"] + (OSL - 1) * s["itl_ms"] - EARLY_MS

    if streaming:
        assert statistics.mean(ttft_late) <= TTFT_MEAN_LATE_MS, ttft_late
        assert abs(statistics.mean(itl_diff)) <= ITL_MEAN_ABS_MS, itl_diff
        # The summary's TTFT / ITL are the records' averages.
        ttfts = [arts.metric(r, "time_to_first_token") for r in arts.records]
        assert arts.summary["time_to_first_token"]["avg"] == pytest.approx(statistics.mean(ttfts))
        if mode == "deterministic":
            assert 20.0 - EARLY_MS <= arts.summary["time_to_first_token"]["avg"] <= 20.0 + 12.0
            assert arts.summary["inter_token_latency"]["avg"] == pytest.approx(4.0, abs=1.0)
    else:
        assert "time_to_first_token" not in arts.summary

    # Run-level values agree with the server's totals.
    assert arts.scalar("request_count") == REQUESTS
    assert arts.scalar("error_request_count") is None  # the reference omits it when 0
    assert arts.scalar("total_isl") == totals["prompt_tokens"] == REQUESTS * ISL
    if endpoint != "embeddings":
        assert arts.scalar("total_osl") == totals["output_tokens"] == REQUESTS * OSL
    assert arts.manifest["status"] == "complete"
    assert arts.manifest["record_counts"] == {"profiling": REQUESTS, "successful": REQUESTS,
                                              "failed": 0, "cancelled": 0, "warmup": 0}


@pytest.mark.parametrize("mode", list(SIM_OPTIONS))
@pytest.mark.parametrize("shape", [("chat", True), ("embeddings", False)], ids=_shape_id)
def test_in_process_sim_url(mode, shape, profile, check_artifacts):
    """``--url sim://?...`` needs no server: the same counts, lengths and (deterministic)
    timings come out of a run against the simulator started inside the profile run."""
    endpoint, streaming = shape
    query = "&".join(f"{k}={v}" for k, v in SIM_OPTIONS[mode].items())

    run = profile(*_profile_args(f"sim://?{query}", endpoint, streaming))

    assert run.exit_code == 0, run.output
    arts = check_artifacts(Path("run"))
    assert len(arts.records) == REQUESTS
    assert arts.scalar("request_count") == REQUESTS
    assert all("error" not in r for r in arts.records)
    assert {arts.metric(r, "input_sequence_length") for r in arts.records} == {ISL}
    assert {arts.metric(r, "usage_prompt_tokens") for r in arts.records} == {ISL}
    if endpoint != "embeddings":
        assert {arts.metric(r, "output_sequence_length") for r in arts.records} == {OSL}
    if streaming:
        ttfts = [arts.metric(r, "time_to_first_token") for r in arts.records]
        itls = [arts.metric(r, "inter_token_latency") for r in arts.records]
        if mode == "deterministic":
            assert all(20.0 - EARLY_MS <= t <= 20.0 + TTFT_LATE_MS for t in ttfts), ttfts
            assert statistics.mean(itls) == pytest.approx(4.0, abs=ITL_MEAN_ABS_MS)
        else:
            # realistic: base 10 ms + 0.1 ms per input token, jittered by 5%
            assert all(t >= 0.9 * (10 + 0.1 * ISL) - EARLY_MS for t in ttfts), ttfts
            assert all(i > 0 for i in itls), itls


def test_warmup_requests_reach_the_server_but_not_the_results(sim_server, profile,
                                                              check_artifacts):
    """``--warmup-request-count 5 --request-count 20``: the server sees 25 requests, the
    export holds exactly the 20 measured ones and run.json counts 5 warm-up requests."""
    server = sim_server(mode="deterministic", ttft_ms=1, itl_ms=0)

    run = profile("--url", server.url, "--model", MODEL, "--endpoint-type", "chat",
                  "--streaming", "--osl", "4", "--isl", "4", "--concurrency", "2",
                  "--warmup-request-count", "5", "--request-count", "20",
                  "--prompt-sizing", "builtin",
                  "--ui", "none", "--artifact-dir", "run")

    assert run.exit_code == 0, run.output
    arts = check_artifacts(Path("run"))
    seen = server.records_by_id()
    assert len(seen) == 25
    exported = {r["metadata"]["x_request_id"] for r in arts.records}
    assert len(arts.records) == 20 and len(exported) == 20
    assert exported <= set(seen)
    assert len(set(seen) - exported) == 5  # the warm-up requests
    assert {r["metadata"]["benchmark_phase"] for r in arts.records} == {"profiling"}
    assert arts.scalar("request_count") == 20
    assert arts.manifest["record_counts"]["warmup"] == 5
    assert arts.manifest["record_counts"]["profiling"] == 20
    # The measured window starts after the warm-up: every exported request was sent
    # after the last warm-up request had finished.
    warmup_ids = set(seen) - exported
    last_warmup_arrival = max(seen[i]["arrival_unix_ns"] for i in warmup_ids)
    first_measured = min(r["metadata"]["request_start_ns"] for r in arts.records)
    assert first_measured >= last_warmup_arrival


def test_reasoning_tokens_count_in_osl_but_not_in_the_answer(sim_server, profile,
                                                            check_artifacts):
    """A model that thinks first (3 reasoning tokens, then the 8-token answer): OSL is
    what the server produced in all (11), output_token_count the answer alone, and the
    first answer token comes 3 ITLs after the first (reasoning) token."""
    server = sim_server(mode="deterministic", ttft_ms=10, itl_ms=5, reasoning_tokens=3)

    run = profile(*_profile_args(server.url, "chat", True))

    assert run.exit_code == 0, run.output
    arts = check_artifacts(Path("run"))
    sim = server.records_by_id()
    assert len(arts.records) == len(sim) == REQUESTS
    for rec in arts.records:
        s = sim[rec["metadata"]["x_request_id"]]
        assert s["reasoning_tokens"] == 3 and s["output_tokens"] == OSL + 3
        assert arts.metric(rec, "output_sequence_length") == s["output_tokens"]
        assert arts.metric(rec, "usage_completion_tokens") == s["output_tokens"]
        assert arts.metric(rec, "output_token_count") == OSL
        ttft = arts.metric(rec, "time_to_first_token")
        ttfo = arts.metric(rec, "time_to_first_output_token")
        assert -EARLY_MS <= ttft - s["ttft_ms"] <= TTFT_LATE_MS
        # The first answer token is due 3 ITLs after the first reasoning token.
        due = s["ttft_ms"] + 3 * s["itl_ms"]
        assert -EARLY_MS <= ttfo - due <= TTFT_LATE_MS, (ttfo, s)
        assert ttfo > ttft
    assert arts.scalar("total_output_tokens") == REQUESTS * OSL
    assert arts.scalar("total_osl") == REQUESTS * (OSL + 3)


def test_output_tokens_are_counted_when_the_server_reports_no_usage(sim_server, profile,
                                                                    check_artifacts):
    """A stream without a usage chunk: aiperf counts the output itself, and gets what the
    server sent (the simulator's words are one token each)."""
    server = sim_server(mode="deterministic", ttft_ms=5, itl_ms=1)

    # stream_options false: the request does not ask for the trailing usage chunk.
    run = profile(*_profile_args(server.url, "completions", True,
                                 "--extra-inputs", "stream_options:false"))

    assert run.exit_code == 0, run.output
    arts = check_artifacts(Path("run"))
    sim = server.records_by_id()
    for rec in arts.records:
        s = sim[rec["metadata"]["x_request_id"]]
        assert arts.metric(rec, "usage_completion_tokens") is None  # really no usage
        assert arts.metric(rec, "output_sequence_length") == s["output_tokens"] == OSL
        assert arts.metric(rec, "input_sequence_length") == s["isl"]


def test_realistic_queueing_shows_in_ttft(sim_server, profile, check_artifacts):
    """Realistic mode with one batch slot and 3 concurrent clients: requests queue at the
    server, and each request's TTFT as aiperf measured it still matches the TTFT the
    server scheduled for it (queueing included)."""
    server = sim_server(mode="realistic", base_ttft_ms=10, base_itl_ms=2, max_batch=1,
                        jitter=0.0)

    run = profile("--url", server.url, "--model", MODEL, "--endpoint-type", "chat",
                  "--streaming", "--request-count", "6", "--concurrency", "3",
                  "--isl", str(ISL), "--osl", str(OSL), "--ui", "none",
                  "--artifact-dir", "run")

    assert run.exit_code == 0, run.output
    arts = check_artifacts(Path("run"))
    stats = server.stats()
    assert stats["concurrency"]["max_batch_active"] == 1
    assert stats["concurrency"]["max_queued"] >= 1
    sim = {r["request_id"]: r for r in stats["records"]}
    queued = [s for s in sim.values() if s["queue_ms"] > 5]
    assert queued, "some requests must have waited for the batch slot"
    for rec in arts.records:
        s = sim[rec["metadata"]["x_request_id"]]
        late = arts.metric(rec, "time_to_first_token") - s["ttft_ms"]
        assert -EARLY_MS <= late <= TTFT_LATE_MS, (late, s)
    # Waiting requests make the client's TTFT spread: the slowest is well above the base.
    assert arts.summary["time_to_first_token"]["max"] > 10 + 0.1 * ISL + 10
