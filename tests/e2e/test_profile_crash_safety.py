"""Crash-safe artifacts: records reach the disk while the run goes on, so a killed process
leaves them (and a run.json that says it died); a full disk is one line and exit 1."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aiperf.cli import app

MODEL = "e2e-model"
SMALL_PLOTS = "dpi: 50\nwidth: 3\nheight: 2\n"


def _complete_lines(path: Path) -> list[dict]:
    """The JSONL's whole lines (a kill may cut the last one)."""
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n")[:-1]]


def test_records_finished_a_second_before_a_kill_are_on_disk_and_plot(
        sim_server, aiperf_subprocess, tmp_path, _isolated_environment):
    home_config = _isolated_environment / ".aiperf" / "plot_config.yaml"
    home_config.parent.mkdir(parents=True, exist_ok=True)
    home_config.write_text(SMALL_PLOTS, encoding="utf-8")
    # ~55 ms a request: 100,000 of them outlast the test by far.
    server = sim_server(mode="deterministic", ttft_ms=5, itl_ms=5)
    proc = aiperf_subprocess(
        "profile", "--url", server.url, "--model", MODEL, "--streaming", "--osl", "10",
        "--isl", "8", "--concurrency", "2", "--request-count", "100000", "--ui", "none",
        "--artifact-dir", "run", "--prompt-sizing", "builtin", "--no-auto-plot")
    deadline = time.monotonic() + 30
    while (finished := server.stats(records=False)["totals"]["completed"]) < 20:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run did not get going within 30 s"
        time.sleep(0.05)
    time.sleep(1.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    run_dir = tmp_path / "run"
    manifest = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "partial"
    assert manifest["partial_reason"] == "the process ended before the run finished"
    records = _complete_lines(run_dir / manifest["export_names"]["records"])
    assert len(records) >= finished
    assert all(r["metadata"]["benchmark_phase"] == "profiling" for r in records)

    plotted = CliRunner().invoke(app, ["plot", str(run_dir)], catch_exceptions=False)
    assert plotted.exit_code == 0, plotted.output
    assert list((run_dir / "plots").glob("*.png")), plotted.output


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 256 KiB tmpfs mounted in ``tmp_path`` (root only), unmounted whatever happens."""
    mount = shutil.which("mount")
    if os.geteuid() != 0 or mount is None:
        pytest.skip("mounting a tiny file system needs root")
    where = tmp_path / "tiny"
    where.mkdir()
    made = subprocess.run([mount, "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(where)],
                          capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_disk_is_one_line_naming_the_file_and_exit_1(profile, tiny_disk):
    # 2,000 records of ~1 KB each cannot fit in 256 KiB.
    run = profile("--url", "sim://?mode=deterministic&ttft_ms=0&itl_ms=0", "--model", MODEL,
                  "--streaming", "--osl", "4", "--isl", "8", "--concurrency", "8",
                  "--request-count", "2000", "--ui", "none",
                  "--artifact-dir", str(tiny_disk / "run"), "--no-auto-plot")

    assert run.exit_code == 1, run.output
    assert "Traceback" not in run.output
    errors = [line for line in run.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, run.output
    assert "No space left on device" in errors[0] and str(tiny_disk / "run") in errors[0]
    assert not [p.name for p in (tiny_disk / "run").iterdir() if p.name.endswith(".tmp")]
