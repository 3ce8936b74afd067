"""``arrival-without-request-rate`` (rules/constraints.yaml) through ``aiperf profile``:
an arrival pattern shapes only a request-rate run, so one chosen with no rate anywhere is
an error, while a request-rate sweep (flag list or scenarios) sets the rate per cell."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aiperf.cli import app

BASE = ["profile", "--url", "sim://", "--model", "m", "--request-count", "2", "--dry-run"]


@pytest.fixture
def profile(tmp_path, monkeypatch):
    """``aiperf profile --dry-run`` in a scratch directory: resolves and checks every
    cell, sends nothing."""
    monkeypatch.chdir(tmp_path)
    return lambda *args: CliRunner().invoke(app, [*BASE, *args])


def scenarios_file(tmp_path: Path, *values: str) -> Path:
    """A config whose sweep has one scenario per ``values`` line (a field: value)."""
    cells = "".join(f"      - name: s{i}\n        values:\n          {v}\n"
                    for i, v in enumerate(values))
    path = tmp_path / "sweep.yaml"
    path.write_text(textwrap.dedent("""\
        benchmark:
          load:
            arrival: constant
          sweep:
            scenarios:
        """) + cells, encoding="utf-8")
    return path


def test_arrival_without_request_rate_is_an_error(profile):
    """--arrival alone would be silently ignored by a closed-loop run: exit 2, said why."""
    result = profile("--arrival", "constant")

    assert result.exit_code == 2, result.output
    assert "arrivals only shape a request-rate run" in result.output
    assert "--arrival" in result.output


def test_arrival_with_a_request_rate_sweep_is_fine(profile):
    """``--request-rate 1,2`` leaves the base rate unset but sets it in every cell."""
    result = profile("--arrival", "constant", "--request-rate", "1,2")

    assert result.exit_code == 0, result.output
    assert "request_rate1/" in result.output and "request_rate2/" in result.output


def test_arrival_with_a_scenario_that_sets_a_rate_is_fine(profile, tmp_path):
    """A scenario sweep where some cell runs at a rate gives the arrival pattern a use."""
    path = scenarios_file(tmp_path, "benchmark.load.request_rate: 2",
                          "benchmark.load.concurrency: 4")

    result = profile("-f", str(path))

    assert result.exit_code == 0, result.output


def test_arrival_with_scenarios_that_never_set_a_rate_is_an_error(profile, tmp_path):
    """No scenario runs at a rate: the pattern is meaningless in every cell."""
    path = scenarios_file(tmp_path, "benchmark.load.concurrency: 2",
                          "benchmark.load.concurrency: 4")

    result = profile("-f", str(path))

    assert result.exit_code == 2, result.output
    assert "arrivals only shape a request-rate run" in result.output
