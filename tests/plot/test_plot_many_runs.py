"""``aiperf plot`` over many runs: a broken run is skipped, a comparison has its own folder.

Two small real runs are made once per module with ``python -m aiperf profile`` against
the built-in simulator and copied into each test's layout; plots are drawn small and
few (the catalogue itself is tested in test_catalogue.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aiperf.cli import app

SIM = "sim://?mode=deterministic&ttft_ms=1&itl_ms=0&osl=4"
CONFIG = ("dpi: 50\nwidth: 2\nheight: 2\nsingle_run:\n  - ttft_over_time\n"
          "multi_run:\n  - ttft_vs_throughput\n")


def _profile(root: Path, name: str, concurrency: str) -> Path:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIPERF_")}
    env["HOME"] = str(root)
    args = [sys.executable, "-m", "aiperf", "profile", "--model", "m", "--request-count", "6",
            "--concurrency", concurrency, "--ui", "none", "--url", SIM, "--streaming",
            "--artifact-dir", str(root / name)]
    proc = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root / name


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("made")
    return {"c1": _profile(root, "c1", "1"), "c2": _profile(root, "c2", "2")}


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small plot config, and a HOME of the test's own (no ~/.aiperf is touched)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = tmp_path / "plot.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def plot(*args: str):
    return CliRunner().invoke(app, ["plot", *args], catch_exceptions=False)


def test_one_broken_run_is_reported_on_one_line_and_the_others_plot(made, tmp_path, config):
    runs = tmp_path / "runs"
    shutil.copytree(made["c1"], runs / "a")
    shutil.copytree(made["c2"], runs / "b")
    broken = shutil.copytree(made["c1"], runs / "broken")
    manifest = json.loads((broken / "run.json").read_text(encoding="utf-8"))
    del manifest["kind"]
    (broken / "run.json").write_text(json.dumps(manifest), encoding="utf-8")

    result = plot(str(runs), "--config", str(config))
    assert result.exit_code == 0, result.output
    skipped = [line for line in result.stderr.splitlines() if "broken" in line]
    assert len(skipped) == 1
    assert skipped[0].startswith(f"skipped {broken / 'run.json'}: ")
    assert (runs / "plots" / "ttft_vs_throughput.png").is_file()


def test_plot_a_b_writes_the_comparison_into_its_own_folder(made, tmp_path, config):
    a = shutil.copytree(made["c1"], tmp_path / "a")
    b = shutil.copytree(made["c2"], tmp_path / "b")
    assert plot(str(a), "--config", str(config)).exit_code == 0
    own_log = (a / "plots" / "aiperf_plot.log").read_text(encoding="utf-8")
    own_files = sorted(p.name for p in (a / "plots").iterdir())

    result = plot(str(a), str(b), "--config", str(config))
    assert result.exit_code == 0, result.output
    comparison = tmp_path / "compare-a-vs-b"
    assert (comparison / "ttft_vs_throughput.png").is_file()
    assert (comparison / "aiperf_plot.log").is_file()
    # A's own plots and log are exactly as A's own plot left them.
    assert (a / "plots" / "aiperf_plot.log").read_text(encoding="utf-8") == own_log
    assert sorted(p.name for p in (a / "plots").iterdir()) == own_files
    assert not (b / "plots").exists()


def test_plot_a_b_with_output_writes_there(made, tmp_path, config):
    a = shutil.copytree(made["c1"], tmp_path / "a")
    b = shutil.copytree(made["c2"], tmp_path / "b")
    result = plot(str(a), str(b), "--output", str(tmp_path / "out"), "--config", str(config))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "aiperf_plot.log").is_file()
    assert not (a / "plots").exists()
    assert not (tmp_path / "compare-a-vs-b").exists()
