"""Resources are bounded by the work left, not by the settings: a concurrency far above the
request count costs neither a worker per slot nor the memory of one."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

MODEL = "e2e-model"
#: Extra peak memory a 1,000,000 concurrency may cost over a concurrency of 1 for the same
#: 10 requests (a worker per slot took over 1 GB).
MAX_EXTRA_RSS_MB = 30


def _profile_peak_rss_mb(url: str, concurrency: int, workdir: Path) -> float:
    """Run ``aiperf profile`` (10 requests) as a child; its peak RSS in MB."""
    workdir.mkdir()
    log = workdir / "output.txt"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aiperf", "profile", "--url", url, "--model", MODEL,
             "--osl", "4", "--isl", "8", "--concurrency", str(concurrency),
             "--request-count", "10", "--warmup-request-count", "0", "--ui", "none",
             "--artifact-dir", "run", "--prompt-sizing", "builtin", "--no-auto-plot"],
            stdout=sink, stderr=subprocess.STDOUT, cwd=workdir)
    # A run that hangs is killed rather than hanging the test suite (a generous limit:
    # the assertions are on counts and memory, not on time).
    killer = threading.Timer(300, proc.kill)
    killer.start()
    try:
        # wait4: this child's own resource usage, whatever else the test process ran.
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        killer.cancel()
    proc.poll()  # the child is already reaped; let Popen know
    assert os.waitstatus_to_exitcode(status) == 0, log.read_text(errors="replace")
    return usage.ru_maxrss / 1024  # KiB on Linux


def test_in_flight_workers_never_exceed_the_requests_left(sim_server, tmp_path):
    server = sim_server(mode="deterministic", ttft_ms=1, itl_ms=1)
    baseline_mb = _profile_peak_rss_mb(server.url, 1, tmp_path / "one")
    sent_before = server.stats(records=False)["totals"]["requests"]

    peak_mb = _profile_peak_rss_mb(server.url, 1_000_000, tmp_path / "million")

    assert server.stats(records=False)["totals"]["requests"] - sent_before == 10
    assert peak_mb < baseline_mb + MAX_EXTRA_RSS_MB, (peak_mb, baseline_mb)
