"""A server that goes away mid-run: the run stops sending, is marked aborted with the last
error, keeps what it measured and exits 1. A live server's HTTP errors never abort."""

from __future__ import annotations

import time

MODEL = "e2e-model"


def _wait_for_completed(server, proc, count: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while server.stats(records=False)["totals"]["completed"] < count:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"the run did not get going within {timeout_s} s"
        time.sleep(0.05)


def test_a_server_that_goes_away_aborts_the_run(sim_server, aiperf_subprocess,
                                                check_artifacts, tmp_path):
    # ~55 ms a request at concurrency 2: 100,000 requests would take most of an hour, so
    # only the abort can end this run within the test's timeout.
    server = sim_server(mode="deterministic", ttft_ms=5, itl_ms=5)
    proc = aiperf_subprocess(
        "profile", "--url", server.url, "--model", MODEL, "--streaming", "--osl", "10",
        "--isl", "8", "--concurrency", "2", "--request-count", "100000", "--ui", "none",
        "--artifact-dir", "run", "--prompt-sizing", "builtin", "--no-auto-plot")
    _wait_for_completed(server, proc, 20)
    server.stop()
    out, err = proc.communicate(timeout=120)

    assert proc.returncode == 1, out + err
    assert "Traceback" not in err, err
    arts = check_artifacts(tmp_path / "run")
    assert arts.manifest["status"] == "aborted"
    reason = arts.manifest["partial_reason"]
    assert "stopped answering" in reason and "last error" in reason, reason
    ok = [r for r in arts.records if "error" not in r]
    assert len(ok) >= 20
    # It stopped sending: a few seconds of probes, not the rest of the 100,000 requests.
    assert len(arts.records) < 1000


def test_http_errors_from_a_live_server_do_not_abort(sim_server, profile, check_artifacts):
    server = sim_server(mode="deterministic", ttft_ms=1, itl_ms=1, error_rate=1.0)

    run = profile("--url", server.url, "--model", MODEL, "--osl", "4", "--isl", "8",
                  "--concurrency", "2", "--request-count", "40", "--ui", "none",
                  "--artifact-dir", "run", "--no-auto-plot")

    arts = check_artifacts(run.run_dir)
    assert arts.manifest["status"] != "aborted", arts.manifest["partial_reason"]
    assert 40 == len(arts.records)
    assert all(r["error"]["code"] == 500 for r in arts.records)
