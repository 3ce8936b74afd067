"""The curve recipes run as grids against the realistic simulator and find what it was
configured to do: the knee at its batch capacity, its prefill cost per token."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest


@pytest.fixture
def small_home_config(_isolated_environment: Path) -> Path:
    path = _isolated_environment / ".aiperf" / "plot_config.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("dpi: 50\nwidth: 3\nheight: 2\nmulti_run:\n  - concurrency_knee\n",
                    encoding="utf-8")
    return path


def test_concurrency_ramp_finds_the_knee_at_the_simulators_capacity(profile, tmp_path,
                                                                    small_home_config):
    # No slowdown per extra sequence, 8 sequences at once: latency is flat up to 8 and
    # queueing doubles it beyond. A request takes about 100 ms and the knee is judged at
    # +50%, so a busy machine's few ms of client lag cannot move it (the jump is +100%).
    url = ("sim://?mode=realistic&itl_ms_per_seq=0&max_batch=8&jitter=0&osl=4"
           "&base_itl_ms=25&base_ttft_ms=20&prefill_ms_per_token=0")
    run = profile("--search-recipe", "concurrency-ramp", "--concurrency-min", "1",
                  "--concurrency-max", "32", "--concurrency-steps", "6", "--url", url,
                  "--osl", "4", "--model", "m", "--streaming", "--request-count", "32",
                  "--degradation-threshold", "0.5",
                  "--ui", "none", "--artifact-dir", str(tmp_path / "ramp"))
    assert run.exit_code == 0, run.output
    result = json.loads((tmp_path / "ramp" / "sweep_aggregate" / "concurrency-ramp.json")
                        .read_text(encoding="utf-8"))
    assert result["found"] is True
    assert result["last_good_concurrency"] == 8
    assert result["knee_concurrency"] == 16
    assert "concurrency-ramp: knee at concurrency 16" in run.stdout
    # The recipe defaults auto-plot on: the knee plot is drawn once for the whole ramp.
    assert (tmp_path / "ramp" / "plots" / "concurrency_knee.png").is_file()


def test_prefill_ttft_curve_recovers_the_prefill_cost_per_token(profile, tmp_path):
    url = "sim://?mode=realistic&jitter=0&prefill_ms_per_token=0.05&base_ttft_ms=20"
    run = profile("--search-recipe", "prefill-ttft-curve", "--isl-min", "256", "--isl-max",
                  "4096", "--isl-steps", "5", "--url", url, "--osl", "2", "--model", "m",
                  "--request-count", "3", "--ui", "none", "--no-auto-plot",
                  "--artifact-dir", str(tmp_path / "pre"))
    assert run.exit_code == 0, run.output
    fit = json.loads((tmp_path / "pre" / "sweep_aggregate" / "prefill-ttft-curve.json")
                     .read_text(encoding="utf-8"))
    assert fit["fitted"] is True
    assert fit["ms_per_token"] == pytest.approx(0.05, rel=0.10)
    assert fit["r2"] > 0.99
    assert sorted(p.name for p in (tmp_path / "pre").iterdir() if p.name.startswith("isl")) == [
        "isl1024", "isl2048", "isl256", "isl4096", "isl512"]


def test_a_recipe_names_the_base_directory(profile, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = profile("--search-recipe", "prefill-ttft-curve", "--isl-min", "64", "--isl-max",
                  "128", "--isl-steps", "2", "--url", "sim://?mode=deterministic&ttft_ms=1",
                  "--osl", "2", "--model", "org/my-model", "--request-count", "2", "--ui", "none",
                  "--no-auto-plot")
    assert run.exit_code == 0, run.output
    assert run.run_dir == Path("artifacts/my-model-prefill-ttft-curve")


def test_pareto_sweep_reports_the_frontier(profile, tmp_path):
    run = profile("--search-recipe", "pareto-sweep", "--isl-osl-pairs", "64/4,256/8",
                  "--concurrency-max", "4", "--concurrency-steps", "2",
                  "--url", "sim://?mode=deterministic&ttft_ms=2&itl_ms=1", "--model", "m",
                  "--request-count", "8", "--ui", "none", "--no-auto-plot",
                  "--artifact-dir", str(tmp_path / "p"))
    assert run.exit_code == 0, run.output
    result = json.loads((tmp_path / "p" / "sweep_aggregate" / "pareto-sweep.json")
                        .read_text(encoding="utf-8"))
    assert result["cells"] == 4
    assert result["pareto_optimal"]
    assert "pareto-sweep: " in run.stdout and "frontier" in run.stdout


def test_decode_itl_curve_measures_the_itl_surface_and_draws_it(profile, tmp_path,
                                                                 _isolated_environment):
    home_config = _isolated_environment / ".aiperf" / "plot_config.yaml"
    home_config.parent.mkdir(parents=True)
    home_config.write_text("dpi: 50\nwidth: 3\nheight: 2\nmulti_run:\n  - decode_itl_surface\n",
                           encoding="utf-8")
    # ITL grows by 1 ms per sequence decoded at once: the surface rises with concurrency.
    url = "sim://?mode=realistic&jitter=0&base_itl_ms=2&itl_ms_per_seq=1"
    run = profile("--search-recipe", "decode-itl-curve", "--concurrency-min", "1",
                  "--concurrency-max", "4", "--concurrency-steps", "2", "--osl-min", "4",
                  "--osl-max", "8", "--osl-steps", "2", "--url", url, "--model", "m",
                  "--request-count", "8", "--ui", "none", "--artifact-dir", str(tmp_path / "d"))
    assert run.exit_code == 0, run.output
    surface = json.loads((tmp_path / "d" / "sweep_aggregate" / "decode-itl-curve.json")
                         .read_text(encoding="utf-8"))
    itl = {(c["concurrency"], c["osl"]): c["inter_token_latency_p50"] for c in surface["cells"]}
    assert set(itl) == {(1, 4), (1, 8), (4, 4), (4, 8)}
    assert itl[(4, 8)] > itl[(1, 8)]
    assert (tmp_path / "d" / "plots" / "decode_itl_surface.png").is_file()


def test_a_recipe_from_a_config_file_runs_the_same(profile, tmp_path, write_yaml):
    config = write_yaml("""
        benchmark:
          endpoint:
            url: "sim://?mode=realistic&jitter=0&prefill_ms_per_token=0.05&base_ttft_ms=20"
            model: m
          dataset:
            osl:
              mean: 2
          load:
            request_count: 3
          search:
            recipe: prefill-ttft-curve
            isl_min: 256
            isl_max: 2048
            isl_steps: 4
          artifacts:
            auto_plot: false
        """)
    run = profile("-f", str(config), "--ui", "none", "--artifact-dir", str(tmp_path / "y"))
    assert run.exit_code == 0, run.output
    fit = json.loads((tmp_path / "y" / "sweep_aggregate" / "prefill-ttft-curve.json")
                     .read_text(encoding="utf-8"))
    assert fit["ms_per_token"] == pytest.approx(0.05, rel=0.10)


def test_a_concurrency_ramp_against_a_failing_server_answers_from_no_degraded_cell(profile,
                                                                                  tmp_path):
    # The simulator fails about half of the requests at every concurrency: every cell
    # still has successful requests, so it ran, but none is within the 1% error limit.
    url = "sim://?mode=deterministic&ttft_ms=1&itl_ms=1&osl=2&error_rate=0.5"
    run = profile("--search-recipe", "concurrency-ramp", "--concurrency-min", "1",
                  "--concurrency-max", "4", "--concurrency-steps", "3", "--url", url,
                  "--osl", "2", "--model", "m", "--streaming", "--request-count", "16",
                  "--ui", "none", "--no-auto-plot", "--artifact-dir", str(tmp_path / "ramp"))
    assert run.exit_code == 0, run.output  # the cells ran: no failure to run
    folder = tmp_path / "ramp" / "sweep_aggregate"
    sweep = json.loads((folder / "profile_export_aiperf_sweep.json").read_text(encoding="utf-8"))
    cells = ["concurrency1", "concurrency2", "concurrency4"]
    assert sweep["sweep"]["degraded"] == cells
    for cell in sweep["cells"]:
        assert cell["status"] == "degraded"
        assert re.fullmatch(r"error rate \d+(\.\d+)?% > 1%", cell["reason"]), cell["reason"]
        assert cell["request_latency_p99"] is not None  # its numbers are kept
    answer = ("concurrency-ramp: no answer: every cell is degraded (error rate > 1%): "
              "concurrency1, concurrency2, concurrency4")
    assert answer in run.stdout
    result = json.loads((folder / "concurrency-ramp.json").read_text(encoding="utf-8"))
    assert (result["found"], result["degraded"], result["answer"]) == (False, cells, answer)
    assert "not trustworthy" in run.stdout



def test_the_prefill_plot_draws_the_fit_the_recipe_wrote(profile, tmp_path):
    """One computation: the runs table carries the recipe's answer file, and the plot's
    fit is that answer's, coefficient for coefficient."""
    from aiperf.plot.discover import discover
    from aiperf.plot.frames import ANSWERS, load_run, runs_table
    from aiperf.plot.registry import PLOTS_BY_NAME
    from aiperf.plot.theme import Style

    url = "sim://?mode=realistic&jitter=0&prefill_ms_per_token=0.05&base_ttft_ms=20"
    run = profile("--search-recipe", "prefill-ttft-curve", "--isl-min", "256", "--isl-max",
                  "2048", "--isl-steps", "3", "--url", url, "--osl", "2", "--model", "m",
                  "--request-count", "2", "--ui", "none", "--no-auto-plot",
                  "--artifact-dir", str(tmp_path / "pre"))
    assert run.exit_code == 0, run.output
    written = json.loads((tmp_path / "pre" / "sweep_aggregate" / "prefill-ttft-curve.json")
                         .read_text(encoding="utf-8"))
    found = discover([tmp_path / "pre"])
    table = runs_table([load_run(r, found.name_of(r)) for r in found.runs])

    assert table.attrs[ANSWERS]["ttft-fit"] == written
    figure = PLOTS_BY_NAME["prefill_ttft_fit"].draw_function()(table, Style(dpi=30))
    label = [t.get_text() for t in figure.axes[0].get_legend().get_texts()][1]
    slope, intercept = written["coefficients"]
    assert label == (f"linear fit: {slope:.3g}·isl + {intercept:.3g} "
                     f"(r² = {written['r2']:.3f})")
