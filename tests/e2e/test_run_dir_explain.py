"""``config explain benchmark.artifacts.run_dir`` names the directory the run then writes.

The run directory is a resolved field (``rules/run-dir.yaml``): explain prints it with the
rule that decided it and why, and the runner only reads it. Each case resolves the
arguments with ``config explain --format json``, runs ``profile`` with the same arguments,
and compares explain's value with the run's ``Artifacts:`` line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aiperf.cli import app

RUN_DIR = "benchmark.artifacts.run_dir"
SIM = "sim://?mode=deterministic&ttft_ms=1&itl_ms=1&osl=2"
COMMON = ("--url", SIM, "--model", "org/tiny-model", "--request-count", "2", "--osl", "2",
          "--ui", "none", "--no-auto-plot")


def explained(*args: str) -> dict:
    """explain's JSON record of the run directory for ``args``."""
    result = CliRunner().invoke(app, ["config", "explain", *args, RUN_DIR, "--format", "json"])
    assert result.exit_code == 0, result.output
    [field] = [f for f in json.loads(result.stdout)["fields"] if f["key"] == RUN_DIR]
    return field


CASES = [
    pytest.param("artifacts/tiny-model-concurrency3", "run-dir-derived",
                 ("--concurrency", "3"), id="plain"),
    pytest.param("mine/here", "run-dir-artifact-dir",
                 ("--artifact-dir", "mine/here"), id="artifact-dir"),
    pytest.param("artifacts/tiny-model-sweep-concurrency", "run-dir-sweep",
                 ("--concurrency", "1,2"), id="sweep"),
    pytest.param("artifacts/tiny-model-concurrency-ramp", "run-dir-recipe",
                 ("--search-recipe", "concurrency-ramp", "--concurrency-min", "1",
                  "--concurrency-max", "2", "--concurrency-steps", "2"), id="recipe"),
]


@pytest.mark.parametrize(("expected", "rule", "args"), CASES)
def test_explain_names_the_directory_the_run_writes(profile, tmp_path, expected, rule, args):
    """explain's value and rule, then the run writes exactly there."""
    field = explained(*COMMON, *args)

    assert (expected, rule) == (field["value"], field["rule"]["id"])
    run = profile(*COMMON, *args)
    assert run.exit_code == 0, run.output
    assert Path(field["value"]) == run.run_dir
    assert (tmp_path / field["value"] / "run.json").is_file()


def test_explain_text_says_what_named_the_directory():
    """The text view gives the value, the deciding rule and the names it came from."""
    result = CliRunner().invoke(app, ["config", "explain", "--model", "meta-llama/llama-8b",
                                      "--concurrency", "4", RUN_DIR])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"{RUN_DIR} = artifacts/llama-8b-concurrency4" == lines[0]
    assert lines[1].startswith("  decided by   rule run-dir-derived (rules/run-dir.yaml:")
    assert ("  because      the model llama-8b and concurrency 4 name it (no --artifact-dir)"
            == lines[2])
    assert "  derived from (resolved values)" == lines[3]


def test_a_file_cannot_set_the_run_directory(tmp_path):
    """run_dir is derived: a config file naming it is an error that points at artifacts.dir."""
    config = tmp_path / "c.yaml"
    config.write_text("benchmark:\n  artifacts:\n    run_dir: x\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["config", "explain", "-f", str(config), RUN_DIR])

    assert result.exit_code != 0
    assert "unknown key 'run_dir'" in result.output
    assert "did you mean 'dir'?" in result.output
