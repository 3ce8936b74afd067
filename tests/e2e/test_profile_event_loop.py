"""``benchmark.event_loop`` end to end: the loop a run asked for and the one it went on are
in run.json, and uvloop asked for where it is not installed stops the run before it
starts, naming where it was asked for."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

MODEL = "e2e-model"
FAST_SIM_URL = "sim://?mode=deterministic&ttft_ms=0&itl_ms=0&osl=4"
UVLOOP_INSTALLED = importlib.util.find_spec("uvloop") is not None


def _event_loop_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["event_loop"]


def _run(profile, *flags: str):
    return profile("--url", FAST_SIM_URL, "--model", MODEL, "--request-count", "4",
                   "--ui", "none", *flags)


def test_run_json_records_the_loop_asked_for_and_the_loop_used(profile):
    run = _run(profile, "--event-loop", "asyncio")

    assert 0 == run.exit_code, run.output
    assert {"asked": "asyncio", "used": "asyncio", "version": None} == _event_loop_of(
        run.run_dir)


def test_auto_runs_on_uvloop_exactly_when_it_is_installed(profile):
    run = _run(profile)

    assert 0 == run.exit_code, run.output
    recorded = _event_loop_of(run.run_dir)
    assert "auto" == recorded["asked"]
    assert ("uvloop" if UVLOOP_INSTALLED else "asyncio") == recorded["used"]


def test_the_environment_variable_chooses_the_loop(profile, monkeypatch):
    monkeypatch.setenv("AIPERF_EVENT_LOOP", "asyncio")

    run = _run(profile)

    assert 0 == run.exit_code, run.output
    assert "asyncio" == _event_loop_of(run.run_dir)["asked"]


def test_every_cell_of_a_sweep_records_its_loop(profile):
    run = _run(profile, "--concurrency", "1,2", "--event-loop", "asyncio")

    assert 0 == run.exit_code, run.output
    cells = sorted(p for p in run.run_dir.iterdir() if (p / "run.json").is_file())
    assert 2 == len(cells)
    for cell in cells:
        assert "asyncio" == _event_loop_of(cell)["used"]


def test_uvloop_asked_for_in_a_file_where_it_is_missing_is_an_error_naming_the_line(
        profile, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as on a machine without it
    config = tmp_path / "bench.yaml"
    config.write_text("benchmark:\n  event_loop: uvloop\n", encoding="utf-8")

    run = _run(profile, "--config", str(config))

    assert 2 == run.exit_code, run.output
    assert "bench.yaml:2" in run.output
    assert "aiperf[fast]" in run.output
    assert "Traceback" not in run.output
    assert not (tmp_path / "artifacts").exists()


@pytest.mark.skipif(not UVLOOP_INSTALLED, reason="uvloop (the [fast] extra) is not installed")
def test_uvloop_asked_for_where_it_is_installed_runs_on_it(profile):
    import uvloop

    run = _run(profile, "--event-loop", "uvloop")

    assert 0 == run.exit_code, run.output
    assert {"asked": "uvloop", "used": "uvloop", "version": uvloop.__version__} == (
        _event_loop_of(run.run_dir))
