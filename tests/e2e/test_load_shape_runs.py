"""Load shapes against the simulator's own arrival stamps: a rate ramp's arrivals follow
the ramp, a concurrency ramp opens its slots over the ramp, gamma arrivals run under the
reference's flag names, and a cancellation share is exact and never an error."""

from __future__ import annotations

FAST = ("--model", "m", "--streaming", "--osl", "2", "--isl", "16", "--ui", "none",
        "--prompt-sizing", "builtin", "--no-server-metrics", "--no-gpu-telemetry")


def arrivals_s(server) -> list[float]:
    """The simulator's arrival stamps, in seconds after the first one."""
    stamps = sorted(r["arrival_unix_ns"] for r in server.stats()["records"])
    return [(t - stamps[0]) / 1e9 for t in stamps]


def test_a_rate_ramp_rises_to_the_target_rate(sim_server, profile, tmp_path):
    server = sim_server(mode="deterministic", ttft_ms=1, itl_ms=1, osl=2)
    # 40/s reached after 2 s: 10 arrivals in the first second, 30 in the second, then 40/s.
    run = profile("--url", server.url, *FAST, "--request-rate", "40", "--arrival", "constant",
                  "--request-rate-ramp-duration", "2", "--request-count", "100",
                  "--artifact-dir", str(tmp_path / "r"))
    assert run.exit_code == 0, run.output
    times = arrivals_s(server)
    per_second = [sum(1 for t in times if s <= t < s + 1) for s in range(3)]

    assert abs(per_second[0] - 10) <= 3, per_second
    assert abs(per_second[1] - 30) <= 3, per_second
    assert abs(per_second[2] - 40) <= 3, per_second


def test_a_concurrency_ramp_opens_its_slots_over_the_ramp(sim_server, profile, tmp_path):
    # Each request takes 1.5 s, longer than the 0.9 s ramp: the first four arrivals are
    # the four slots opening, 0.3 s apart.
    server = sim_server(mode="deterministic", ttft_ms=1500, itl_ms=1, osl=1)
    run = profile("--url", server.url, *FAST, "--concurrency", "4",
                  "--concurrency-ramp-duration", "0.9", "--request-count", "4",
                  "--artifact-dir", str(tmp_path / "c"))
    assert run.exit_code == 0, run.output
    times = arrivals_s(server)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]

    assert len(times) == 4
    assert all(gap >= 0.2 for gap in gaps), times
    assert times[-1] >= 0.8, times


def test_gamma_arrivals_take_the_reference_flag_names(sim_server, profile, tmp_path):
    server = sim_server(mode="deterministic", ttft_ms=1, itl_ms=1, osl=2)
    run = profile("--url", server.url, *FAST, "--request-rate", "100", "--arrival-pattern",
                  "gamma", "--vllm-burstiness", "0.5", "--request-count", "50",
                  "--artifact-dir", str(tmp_path / "g"))
    assert run.exit_code == 0, run.output
    config = run.read().summary()["input_config"]["benchmark"]["load"]

    assert (config["arrival"], config["burstiness"]) == ("gamma", 0.5)
    assert len(arrivals_s(server)) == 50


def test_a_cancellation_share_is_exact_and_never_an_error(sim_server, profile, tmp_path):
    server = sim_server(mode="deterministic", ttft_ms=300, itl_ms=1, osl=2)
    run = profile("--url", server.url, *FAST, "--concurrency", "25", "--request-count", "100",
                  "--request-cancellation-rate", "30", "--request-cancellation-delay", "0.05",
                  "--artifact-dir", str(tmp_path / "x"))
    assert run.exit_code == 0, run.output
    summary = run.read().summary()

    assert summary["cancelled_request_count"]["avg"] == 30
    assert "error_request_count" not in summary
    assert run.read().manifest.status == "complete"
