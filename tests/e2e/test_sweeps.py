"""Sweeps from YAML (grid, zip, scenarios): cells, the sweep aggregate, failures, auto-plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aiperf.cli import app

SIM = "sim://?mode=deterministic&ttft_ms=2&itl_ms=1&osl=8"


def sweep_yaml(write_yaml, body: str, url: str = SIM) -> Path:
    """A config file: a small streaming run against ``url`` plus ``body`` (a ``sweep:``
    block indented under ``benchmark:``)."""
    head = ("benchmark:\n  endpoint:\n    url: \"" + url + "\"\n    model: m\n"
            "    streaming: true\n  load:\n    request_count: 8\n")
    return write_yaml(head + body.lstrip("\n"), "sweep.yaml", dedent=False)


GRID = """
  sweep:
    type: grid
    parameters:
      benchmark.load.concurrency:
        - 1
        - 2
"""


@pytest.fixture
def small_home_config(_isolated_environment: Path) -> Path:
    path = _isolated_environment / ".aiperf" / "plot_config.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("dpi: 50\nwidth: 3\nheight: 2\nmulti_run:\n  - ttft_vs_throughput\n",
                    encoding="utf-8")
    return path


#: A quick cell, then a slow one (~20 s) that the test interrupts, then (optionally) one
#: that never starts.
_STOPPED_SCENARIOS = """
  sweep:
    type: scenarios
    scenarios:
      - name: quick
        values:
          benchmark.load.request_count: 4
      - name: slow
        values:
          benchmark.load.request_count: 200
"""


def _interrupt_a_sweep(sim_server, aiperf_subprocess, write_yaml, base: Path,
                       extra_scenarios: str = "") -> tuple[int, str, str]:
    """Run the scenarios above into ``base``, press Ctrl-C once the slow cell is going,
    and return (exit code, stdout, stderr). Prompts in built-in words: the server's count
    of finished requests must be the sweep's own."""
    import signal
    import time

    server = sim_server(mode="deterministic", ttft_ms=5, itl_ms=20)
    config = sweep_yaml(write_yaml, _STOPPED_SCENARIOS + extra_scenarios, url=server.url)
    proc = aiperf_subprocess("profile", "-f", str(config), "--osl", "20", "--concurrency", "4",
                             "--ui", "none", "--artifact-dir", str(base),
                             "--prompt-sizing", "builtin")
    deadline = time.monotonic() + 30
    while server.stats(records=False)["totals"]["completed"] < 8:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the sweep did not get going within 30 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


def test_a_grid_sweep_runs_every_cell_into_its_own_directory(profile, tmp_path, write_yaml):
    config = sweep_yaml(write_yaml, GRID)
    run = profile("-f", str(config), "--ui", "none", "--artifact-dir", str(tmp_path / "s"))
    assert run.exit_code == 0, run.output
    for name, concurrency in (("concurrency1", 1), ("concurrency2", 2)):
        manifest = json.loads((tmp_path / "s" / name / "run.json").read_text(encoding="utf-8"))
        assert (manifest["kind"], manifest["cell"]) == ("cell", name)
        summary = json.loads((tmp_path / "s" / name / "profile_export_aiperf.json").read_text())
        assert summary["input_config"]["benchmark"]["load"]["concurrency"] == concurrency
    data = json.loads((tmp_path / "s" / "sweep_aggregate" /
                       "profile_export_aiperf_sweep.json").read_text(encoding="utf-8"))
    assert [c["cell"] for c in data["cells"]] == ["concurrency1", "concurrency2"]
    assert run.run_dir == tmp_path / "s"


def test_the_base_directory_is_named_after_the_sweep(profile, tmp_path, write_yaml,
                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = sweep_yaml(write_yaml, GRID)
    run = profile("-f", str(config), "--ui", "none")
    assert run.exit_code == 0, run.output
    assert run.run_dir == Path("artifacts/m-sweep-concurrency")


def test_explain_says_why_a_cell_had_its_settings(profile, tmp_path, write_yaml):
    config = sweep_yaml(write_yaml, GRID)
    assert profile("-f", str(config), "--ui", "none", "--artifact-dir",
                   str(tmp_path / "s")).exit_code == 0
    result = CliRunner().invoke(app, ["config", "explain", str(tmp_path / "s" / "concurrency2"),
                                      "benchmark.load.concurrency"])
    assert result.exit_code == 0, result.output
    assert "benchmark.load.concurrency = 2" in result.output
    assert "rule concurrency-cell" in result.output
    assert "sweep cell concurrency2" in result.output


def test_dry_run_lists_the_cells_and_sends_nothing(profile, tmp_path, write_yaml):
    config = sweep_yaml(write_yaml, GRID, url="http://127.0.0.1:9")  # nothing there
    result = CliRunner().invoke(app, ["profile", "-f", str(config), "--dry-run",
                                      "--artifact-dir", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert "2 cells into" in result.output
    assert "concurrency1/" in result.output and "concurrency2/" in result.output
    assert not (tmp_path / "s").exists()


def test_a_zip_sweep_with_unequal_lists_is_an_error_before_any_request(profile, tmp_path,
                                                                       write_yaml):
    config = sweep_yaml(write_yaml, """
  sweep:
    type: zip
    parameters:
      benchmark.load.concurrency:
        - 1
        - 2
      benchmark.dataset.isl.mean:
        - 64
""")
    run = profile("-f", str(config), "--ui", "none", "--artifact-dir", str(tmp_path / "s"))
    assert run.exit_code == 2
    assert "zip sweep needs lists of one length" in run.stderr
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(("body", "message"), [
    ("  sweep:\n    parameters:\n      benchmark.load.concurrency: []\n", "sweep"),
    ("  sweep:\n    parameters:\n      benchmark.load.nonsense:\n        - 1\n", "nonsense"),
])
def test_bad_sweeps_are_errors_before_any_request(profile, tmp_path, write_yaml, body, message):
    config = sweep_yaml(write_yaml, body)
    run = profile("-f", str(config), "--ui", "none", "--artifact-dir", str(tmp_path / "s"))
    assert run.exit_code == 2
    assert message in run.stderr
    assert not (tmp_path / "s").exists()


SCENARIOS = """
  sweep:
    type: scenarios
    scenarios:
      - name: healthy
        values:
          benchmark.load.concurrency: 2
      - name: broken
        values:
          benchmark.endpoint.url: "sim://?mode=deterministic&ttft_ms=2&itl_ms=1&osl=8&error_rate=1"
"""


def test_a_failing_cell_is_marked_and_the_others_complete(profile, tmp_path, write_yaml,
                                                          small_home_config):
    config = sweep_yaml(write_yaml, SCENARIOS)
    run = profile("-f", str(config), "--ui", "none", "--artifact-dir", str(tmp_path / "s"),
                  "--auto-plot")
    assert run.exit_code == 0, run.output
    data = json.loads((tmp_path / "s" / "sweep_aggregate" /
                       "profile_export_aiperf_sweep.json").read_text(encoding="utf-8"))
    status = {c["cell"]: c["status"] for c in data["cells"]}
    assert status == {"healthy": "complete", "broken": "failed"}
    assert (tmp_path / "s" / "plots" / "aiperf_plot.log").is_file()  # auto-plot still fired


FLAKY = """
  sweep:
    type: scenarios
    scenarios:
      - name: healthy
        values:
          benchmark.load.concurrency: 2
      - name: flaky
        values:
          benchmark.endpoint.url: "sim://?mode=deterministic&ttft_ms=2&itl_ms=1&osl=8&error_rate=0.5"
"""


def test_a_cell_that_fails_more_requests_than_max_error_rate_is_degraded(profile, tmp_path,
                                                                         write_yaml):
    config = sweep_yaml(write_yaml, FLAKY)
    run = profile("-f", str(config), "--ui", "none", "--artifact-dir", str(tmp_path / "s"))
    assert run.exit_code == 0, run.output
    data = json.loads((tmp_path / "s" / "sweep_aggregate" /
                       "profile_export_aiperf_sweep.json").read_text(encoding="utf-8"))
    status = {c["cell"]: c["status"] for c in data["cells"]}
    assert status == {"healthy": "complete", "flaky": "degraded"}
    assert data["pareto_optimal_cells"] == ["healthy"]
    assert "sweep: 1 of 2 cells succeeded; not: flaky (error rate " in run.stdout


def test_a_cell_within_a_raised_max_error_rate_is_complete(profile, tmp_path, write_yaml):
    config = sweep_yaml(write_yaml, FLAKY)
    run = profile("-f", str(config), "--ui", "none", "--artifact-dir", str(tmp_path / "s"),
                  "--max-error-rate", "0.9")
    assert run.exit_code == 0, run.output
    data = json.loads((tmp_path / "s" / "sweep_aggregate" /
                       "profile_export_aiperf_sweep.json").read_text(encoding="utf-8"))
    assert {c["cell"]: c["status"] for c in data["cells"]} == {
        "healthy": "complete", "flaky": "complete"}


def test_a_sweep_whose_every_cell_fails_exits_non_zero_without_plots(profile, tmp_path,
                                                                     write_yaml,
                                                                     small_home_config):
    config = sweep_yaml(write_yaml, GRID, url=SIM + "&error_rate=1")
    run = profile("-f", str(config), "--ui", "none", "--artifact-dir", str(tmp_path / "s"),
                  "--auto-plot")
    assert run.exit_code == 1
    assert "no cell of the sweep succeeded" in run.stdout
    assert not (tmp_path / "s" / "plots").exists()


def test_ctrl_c_during_a_sweep_keeps_the_finished_cells_and_marks_the_sweep_partial(
        sim_server, aiperf_subprocess, tmp_path, write_yaml):
    code, out, err = _interrupt_a_sweep(sim_server, aiperf_subprocess, write_yaml,
                                        tmp_path / "s")
    assert code == 130, out + err
    assert "Traceback" not in err, err
    quick = json.loads((tmp_path / "s" / "quick" / "run.json").read_text(encoding="utf-8"))
    slow = json.loads((tmp_path / "s" / "slow" / "run.json").read_text(encoding="utf-8"))
    assert (quick["status"], slow["status"]) == ("complete", "partial")
    data = json.loads((tmp_path / "s" / "sweep_aggregate" /
                       "profile_export_aiperf_sweep.json").read_text(encoding="utf-8"))
    assert data["sweep"]["partial"] == ["slow"]


def test_a_comma_list_on_a_sweepable_flag_sweeps_it(profile, tmp_path):
    run = profile("--url", SIM, "--model", "m", "--streaming", "--request-count", "6",
                  "--concurrency", "1,3", "--ui", "none", "--artifact-dir", str(tmp_path / "s"))
    assert run.exit_code == 0, run.output
    assert sorted(p.name for p in (tmp_path / "s").iterdir() if p.name.startswith("conc")) == [
        "concurrency1", "concurrency3"]
    result = CliRunner().invoke(app, ["config", "explain", str(tmp_path / "s" / "concurrency3"),
                                      "benchmark.load.concurrency"])
    assert "benchmark.load.concurrency = 3" in result.output


def test_a_bad_word_in_a_comma_list_is_an_error_before_any_request(profile, tmp_path):
    run = profile("--url", SIM, "--model", "m", "--concurrency", "1,x", "--ui", "none",
                  "--artifact-dir", str(tmp_path / "s"))
    assert run.exit_code == 2
    assert "--concurrency" in run.stderr and "'x'" in run.stderr
    assert not (tmp_path / "s").exists()


def test_dry_run_explain_and_the_run_agree_on_a_comma_list_sweep(profile, tmp_path):
    """--concurrency 2,8: explain, --dry-run and the cells that run all say 2 and 8, as
    whole numbers, and the sweep's recorded explain.json says so too."""
    base = tmp_path / "s"
    args = ("--url", SIM, "--model", "m", "--streaming", "--request-count", "4",
            "--concurrency", "2,8", "--ui", "none", "--artifact-dir", str(base))
    explained = CliRunner().invoke(app, ["config", "explain", *args[:-4],
                                         "benchmark.load.concurrency"])
    dry = profile(*args, "--dry-run")
    ran = profile(*args)

    assert explained.output.startswith(
        "benchmark.load.concurrency = swept: 2, 8 (grid sweep from --concurrency)")
    assert "    benchmark.load.concurrency         2  [concurrency-cell]" in dry.output
    assert "    benchmark.load.concurrency         8  [concurrency-cell]" in dry.output
    assert ran.exit_code == 0, ran.output
    for n in (2, 8):
        cell = json.loads((base / f"concurrency{n}" / "explain.json").read_text(encoding="utf-8"))
        value = next(f["value"] for f in cell["fields"] if f["key"] == "benchmark.load.concurrency")
        assert (value, type(value)) == (n, int)
    recorded = json.loads((base / "explain.json").read_text(encoding="utf-8"))
    swept = next(f["swept"] for f in recorded["fields"]
                 if f["key"] == "benchmark.load.concurrency")
    assert swept["values"] == [2, 8]


def test_ctrl_c_during_a_sweep_lists_the_cells_it_never_ran_as_not_run(
        sim_server, aiperf_subprocess, tmp_path, write_yaml):
    """A stopped sweep's aggregate (JSON and CSV) lists every planned cell: the finished one
    complete, the interrupted one partial, the one never started not_run; the console's
    summary line names it too."""
    import csv
    import io

    code, out, err = _interrupt_a_sweep(sim_server, aiperf_subprocess, write_yaml,
                                        tmp_path / "s", """      - name: never
        values:
          benchmark.load.request_count: 4
""")
    assert code == 130, out + err
    folder = tmp_path / "s" / "sweep_aggregate"
    data = json.loads((folder / "profile_export_aiperf_sweep.json").read_text(encoding="utf-8"))
    rows = list(csv.DictReader(io.StringIO(
        (folder / "profile_export_aiperf_sweep.csv").read_text(encoding="utf-8"))))

    assert [(c["cell"], c["status"]) for c in data["cells"]] == [
        ("quick", "complete"), ("slow", "partial"), ("never", "not_run")]
    assert (data["sweep"]["not_run"], data["sweep"]["cells"], data["num_profile_runs"]) == (
        ["never"], 3, 2)
    assert [r["status"] for r in rows] == ["complete", "partial", "not_run"]
    assert "sweep: 1 of 3 cells succeeded; not: slow (stopped by the user); not run: never" \
        in out + err
    assert not (tmp_path / "s" / "never").exists()
