"""`--num-profile-runs N`: trials side by side, their aggregate, and auto-plot once at the end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SIM = "sim://?mode=deterministic&ttft_ms=2&itl_ms=1&osl=8"
SMALL = "dpi: 50\nwidth: 3\nheight: 2\n"


@pytest.fixture
def small_home_config(_isolated_environment: Path) -> Path:
    path = _isolated_environment / ".aiperf" / "plot_config.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(SMALL + "single_run:\n  - ttft_over_time\n  - trial_spread\n",
                    encoding="utf-8")
    return path


def trial_args(base: Path, *extra: str) -> list[str]:
    return ["--url", SIM, "--model", "m", "--streaming", "--request-count", "8",
            "--concurrency", "2", "--ui", "none", "--artifact-dir", str(base), *extra]


def test_each_trial_gets_its_own_run_directory(profile, tmp_path):
    run = profile(*trial_args(tmp_path / "exp", "--num-profile-runs", "3"))
    assert run.exit_code == 0, run.output
    trials = sorted((tmp_path / "exp" / "profile_runs").iterdir())
    assert [t.name for t in trials] == ["trial_0001", "trial_0002", "trial_0003"]
    for number, trial in enumerate(trials, 1):
        manifest = json.loads((trial / "run.json").read_text(encoding="utf-8"))
        assert (manifest["kind"], manifest["trial"], manifest["parent"]) == (
            "trial", number, "../..")
        assert manifest["record_counts"]["profiling"] == 8
    assert run.run_dir == tmp_path / "exp"


def test_the_aggregate_has_a_confidence_interval_per_metric(profile, tmp_path):
    run = profile(*trial_args(tmp_path / "exp", "--num-profile-runs", "2",
                              "--confidence-level", "0.9"))
    assert run.exit_code == 0, run.output
    aggregate = tmp_path / "exp" / "aggregate" / "profile_export_aiperf_aggregate.json"
    data = json.loads(aggregate.read_text(encoding="utf-8"))
    assert data["aggregation"]["confidence_level"] == 0.9
    assert data["aggregation"]["num_trials"] == 2
    assert (tmp_path / "exp" / "aggregate" / "profile_export_aiperf_aggregate.csv").is_file()


def test_warmup_runs_before_the_first_trial_only(profile, tmp_path):
    run = profile(*trial_args(tmp_path / "exp", "--num-profile-runs", "2",
                              "--warmup-request-count", "3"))
    assert run.exit_code == 0, run.output
    counts = [json.loads((tmp_path / "exp" / "profile_runs" / t / "run.json").read_text(
        encoding="utf-8"))["record_counts"]["warmup"] for t in ("trial_0001", "trial_0002")]
    assert counts == [3, 0]


def test_auto_plot_fires_once_for_the_whole_experiment(profile, tmp_path, small_home_config):
    run = profile(*trial_args(tmp_path / "exp", "--num-profile-runs", "2", "--auto-plot"))
    assert run.exit_code == 0, run.output
    plots = tmp_path / "exp" / "plots"
    assert (plots / "trial_spread.png").is_file()
    assert (plots / "profile_runs__trial_0001" / "ttft_over_time.png").is_file()
    assert (plots / "profile_runs__trial_0002" / "ttft_over_time.png").is_file()
    assert run.stdout.count("plots: ") == 1


def test_the_experiment_explains_itself(profile, tmp_path):
    from typer.testing import CliRunner

    from aiperf.cli import app

    assert profile(*trial_args(tmp_path / "exp", "--num-profile-runs", "2")).exit_code == 0
    result = CliRunner().invoke(app, ["config", "explain", str(tmp_path / "exp"),
                                      "benchmark.runs.count"])
    assert result.exit_code == 0, result.output
    assert "benchmark.runs.count = 2" in result.output


def test_zero_trials_is_an_error_before_any_request(profile, tmp_path):
    run = profile(*trial_args(tmp_path / "exp", "--num-profile-runs", "0"))
    assert run.exit_code == 2
    assert "--num-profile-runs" in run.stderr
    assert not (tmp_path / "exp").exists()
