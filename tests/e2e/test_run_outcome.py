"""What a run says happened: its status in run.json, the console's verdict line, its
thresholds (``--fail-on``, ``benchmark.thresholds``) and the exit code.

Exit codes: 0 finished, 1 no successful request (or aborted, or could not start), 2 bad
input, 3 a threshold failed, 130 Ctrl-C, 143 SIGTERM. Real HTTP against the simulator;
the signal tests run ``python -m aiperf`` as a child process so the real signal arrives.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

MODEL = "outcome-model"
FAST_SIM = "sim://?mode=deterministic&ttft_ms=1&itl_ms=0&osl=4"
#: Metrics no wall clock can move: a run of N requests counts N (or fails them all).
NEVER_MET = "request_count>1000"
ALWAYS_MET = "request_error_rate<=1"


def args(run_dir: str, *extra: str, url: str = FAST_SIM, count: int = 4,
         concurrency: str = "2") -> list[str]:
    return ["--url", url, "--model", MODEL, "--streaming", "--request-count", str(count),
            "--concurrency", concurrency, "--ui", "none", "--artifact-dir", run_dir,
            "--prompt-sizing", "builtin", *extra]


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def manifest(run_dir: str | Path) -> dict:
    return json.loads((Path(run_dir) / "run.json").read_text())


# --------------------------------------------------------------------------- statuses


def test_a_clean_run_is_complete_and_ends_with_its_verdict_line(profile, check_artifacts):
    run = profile(*args("run"))

    assert run.exit_code == 0, run.output
    assert "verdict: complete - 4 requests, 4 ok, 0 failed, 0 cancelled" == last_line(run.stdout)
    arts = check_artifacts(Path("run"))
    assert "complete" == arts.manifest["status"]
    assert 0 == arts.manifest["record_counts"]["cancelled"]


def test_a_run_whose_requests_all_get_http_500_is_no_success_and_exits_0(
        sim_server, profile, check_artifacts):
    """A finished run exits 0 even when every request failed: its errors are its data (CI
    fails such a run with --fail-on "request_error_rate<=1")."""
    server = sim_server(mode="deterministic", ttft_ms=1, itl_ms=0, error_rate=1.0)

    run = profile(*args("run", url=server.url))

    assert run.exit_code == 0, run.output
    assert "verdict: no_success - 4 requests, 0 ok, 4 failed, 0 cancelled" == last_line(
        run.stdout)
    arts = check_artifacts(Path("run"))
    assert "no_success" == arts.manifest["status"]
    assert "HTTP 500" in arts.manifest["partial_reason"]


def test_a_run_whose_requests_all_time_out_is_no_success(sim_server, profile, check_artifacts):
    server = sim_server(mode="deterministic", ttft_ms=1, itl_ms=0, stall_ms=5000)

    run = profile(*args("run", "--request-timeout", "0.2", url=server.url, count=2))

    assert run.exit_code == 0, run.output
    arts = check_artifacts(Path("run"))
    assert "no_success" == arts.manifest["status"]
    assert "timeout" in arts.manifest["partial_reason"]


def test_a_threshold_on_the_error_rate_fails_a_run_of_failures(sim_server, profile,
                                                               check_artifacts):
    server = sim_server(mode="deterministic", ttft_ms=1, itl_ms=0, error_rate=1.0)

    run = profile(*args("run", "--fail-on", "request_error_rate<=1", url=server.url))

    assert run.exit_code == 3, run.output
    assert "no_success" == check_artifacts(Path("run")).manifest["status"]


def test_a_run_with_some_failures_is_complete(sim_server, profile, check_artifacts):
    server = sim_server(mode="deterministic", ttft_ms=1, itl_ms=0, error_rate=0.5, seed=1)

    run = profile(*args("run", url=server.url, count=12))

    assert run.exit_code == 0, run.output
    arts = check_artifacts(Path("run"))
    counts = arts.manifest["record_counts"]
    assert "complete" == arts.manifest["status"]
    assert counts["successful"] > 0 and counts["failed"] > 0


def test_trials_without_a_successful_request_are_not_successful_trials(
        sim_server, profile, check_artifacts):
    server = sim_server(mode="deterministic", ttft_ms=1, itl_ms=0, error_rate=1.0)

    run = profile(*args("run", "--num-profile-runs", "2", url=server.url))

    assert run.exit_code == 1, run.output
    for trial in ("trial_0001", "trial_0002"):
        assert "no_success" == manifest(Path("run") / "profile_runs" / trial)["status"]
    assert not (Path("run") / "aggregate").exists()  # no successful trial to aggregate


# --------------------------------------------------------------------------- thresholds


def test_passing_thresholds_exit_0_and_are_recorded_with_their_values(profile,
                                                                      check_artifacts):
    run = profile(*args("run", "--fail-on", ALWAYS_MET, "--fail-on", "request_count>=4"))

    assert run.exit_code == 0, run.output
    assert "thresholds: all 2 passed" in run.stdout
    recorded = check_artifacts(Path("run")).manifest["thresholds"]
    assert [(ALWAYS_MET, 0.0, True), ("request_count>=4", 4.0, True)] == [
        (t["expression"], t["measured"], t["passed"]) for t in recorded]


def test_a_failing_threshold_exits_3_and_lists_its_measured_value(profile, check_artifacts):
    run = profile(*args("run", "--fail-on", ALWAYS_MET, "--fail-on", NEVER_MET))

    assert run.exit_code == 3, run.output
    assert f"threshold failed: {NEVER_MET}: measured 4" in run.stdout
    assert ALWAYS_MET + ":" not in run.stdout  # only the failing ones are listed
    recorded = check_artifacts(Path("run")).manifest["thresholds"]
    assert [True, False] == [t["passed"] for t in recorded]
    assert {"metric": "request_count", "stat": "avg", "op": ">", "limit": 1000.0} == {
        k: recorded[1][k] for k in ("metric", "stat", "op", "limit")}


def test_thresholds_from_yaml_are_evaluated(profile, tmp_path):
    config = tmp_path / "bench.yaml"
    config.write_text(f"benchmark:\n  thresholds:\n    - {NEVER_MET}\n")

    run = profile("-f", str(config), *args("run"))

    assert run.exit_code == 3, run.output
    assert [NEVER_MET] == [t["expression"] for t in manifest("run")["thresholds"]]


def test_a_failing_threshold_plots_first_then_exits_3(profile, _isolated_environment):
    home_config = _isolated_environment / ".aiperf" / "plot_config.yaml"
    home_config.parent.mkdir(parents=True)
    home_config.write_text("dpi: 50\nwidth: 3\nheight: 2\n")

    run = profile(*args("run", "--auto-plot", "--fail-on", NEVER_MET))

    assert run.exit_code == 3, run.output
    assert list((Path("run") / "plots").glob("*.png"))


def test_a_threshold_on_an_unknown_metric_in_yaml_fails_before_the_run_at_its_line(
        profile, tmp_path):
    config = tmp_path / "bench.yaml"
    config.write_text("benchmark:\n  thresholds:\n    - request_error_rate<=1\n"
                      "    - time_to_frist_token.p95<200\n")

    run = profile("-f", str(config), *args("run"))

    assert run.exit_code == 2, run.output
    assert f"{config}:4" in run.output
    assert "did you mean 'time_to_first_token'?" in run.output
    assert not Path("run").exists()


def test_a_threshold_with_an_unknown_statistic_is_a_usage_error(profile):
    run = profile(*args("run", "--fail-on", "time_to_first_token.p42<200"))

    assert run.exit_code == 2, run.output
    assert "unknown statistic 'p42'" in run.output
    assert not Path("run").exists()


def test_a_breached_threshold_in_a_sweep_cell_exits_3(profile):
    run = profile(*args("run", "--fail-on", NEVER_MET, concurrency="1,2"))

    assert run.exit_code == 3, run.output
    for cell in ("concurrency1", "concurrency2"):
        [threshold] = manifest(Path("run") / cell)["thresholds"]
        assert threshold["passed"] is False


def test_a_breached_threshold_in_a_trial_exits_3_after_the_aggregate(profile):
    run = profile(*args("run", "--num-profile-runs", "2", "--fail-on", NEVER_MET))

    assert run.exit_code == 3, run.output
    assert (Path("run") / "aggregate").is_dir()  # breached trials keep their data


# --------------------------------------------------------------------------- signals


def _start_slow_run(sim_server, aiperf_subprocess):
    """A run of ~20 s (200 requests of ~385 ms, 4 at a time), once the server has
    finished a first round of requests: it is clearly running."""
    server = sim_server(mode="deterministic", ttft_ms=5, itl_ms=20)
    proc = aiperf_subprocess(
        "profile", "--url", server.url, "--model", MODEL, "--streaming", "--osl", "20",
        "--isl", "8", "--concurrency", "4", "--request-count", "200", "--ui", "none",
        "--artifact-dir", "run", "--prompt-sizing", "builtin")
    deadline = time.monotonic() + 60
    while server.stats(records=False)["totals"]["completed"] < 4:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run did not get going"
        time.sleep(0.05)
    return proc


def test_requests_cancelled_by_ctrl_c_are_not_errors(sim_server, aiperf_subprocess,
                                                     check_artifacts):
    proc = _start_slow_run(sim_server, aiperf_subprocess)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)

    assert proc.returncode == 130, out + err
    arts = check_artifacts(Path("run"))
    cancelled = sum(1 for r in arts.records if r["metadata"]["was_cancelled"])
    assert cancelled > 0
    assert cancelled == arts.manifest["record_counts"]["cancelled"]
    assert cancelled == arts.scalar("cancelled_request_count")
    assert 0 == arts.manifest["record_counts"]["failed"]
    assert arts.scalar("error_request_count") is None
    assert 0 == arts.scalar("request_error_rate")
    assert [] == arts.summary["error_summary"]
    assert f"0 failed, {cancelled} cancelled" in last_line(out)


def test_sigterm_stops_the_run_with_exit_143_and_partial_results(sim_server,
                                                                 aiperf_subprocess,
                                                                 check_artifacts):
    proc = _start_slow_run(sim_server, aiperf_subprocess)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)

    assert proc.returncode == 143, out + err
    assert "Traceback" not in err, err
    arts = check_artifacts(Path("run"))
    assert "partial" == arts.manifest["status"]
    assert "SIGTERM" in arts.manifest["partial_reason"]
    assert last_line(out).startswith("verdict: partial - ")


def test_fail_on_is_listed_in_the_help(profile):
    assert "--fail-on" in profile("--help").stdout
