"""Rendering a whole catalogue for single runs, trials and sweeps (aiperf.plot.render).

Small real runs are made once per module with ``python -m aiperf profile`` against the
built-in simulator; trial and sweep layouts are built by copying them. PNGs are checked as
images (size, not blank); the figures themselves are checked in test_catalogue.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aiperf.plot import render as render_module
from aiperf.plot.discover import discover
from aiperf.plot.render import NoDataToPlot, render
from aiperf.plot.settings import settings_from

SIM = "sim://?mode=deterministic&ttft_ms=2&itl_ms=1&osl=8"
SMALL = {"dpi": 50, "width": 3.0, "height": 2.0}


def _profile(root: Path, name: str, *extra: str) -> Path:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIPERF_")}
    args = [sys.executable, "-m", "aiperf", "profile", "--model", "m", "--request-count", "12",
            "--ui", "none", "--url", SIM, "--streaming", "--artifact-dir", str(root / name),
            *extra]
    proc = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root / name


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    return {"c2": _profile(root, "c2", "--concurrency", "2", "--slice-duration", "0.02"),
            "c4": _profile(root, "c4", "--concurrency", "4")}


def _settings(**values):
    return settings_from({**SMALL, **values})


def _as(run: Path, target: Path, **manifest) -> Path:
    shutil.copytree(run, target)
    data = json.loads((target / "run.json").read_text(encoding="utf-8"))
    data.update(manifest)
    (target / "run.json").write_text(json.dumps(data), encoding="utf-8")
    return target


def _image_ok(path: Path, settings) -> None:
    from matplotlib import image

    pixels = image.imread(path)
    assert abs(pixels.shape[0] - settings.values.height * settings.values.dpi) <= 1
    assert abs(pixels.shape[1] - settings.values.width * settings.values.dpi) <= 1
    assert pixels.std() > 0


def test_a_single_run_renders_every_drawable_plot_and_says_why_others_were_skipped(
        runs, tmp_path):
    settings = _settings()
    report = render(discover([runs["c2"]]), settings, tmp_path / "plots")
    rendered = {r.name for r in report.rendered}
    assert {"ttft_over_time", "ttft_timeline", "itl_over_time", "ttft_distribution",
            "throughput_over_time", "concurrency_over_time", "timeslices_ttft",
            "timeslices_itl"} <= rendered
    skipped = {s.name: s.reason for s in report.skipped}
    assert "GPU telemetry" in skipped["gpu_utilization_and_throughput_over_time"]
    assert "2 trials" in skipped["trial_spread"]
    assert report.failed == ()
    for item in report.rendered:
        _image_ok(item.path, settings)
    log = report.log.read_text(encoding="utf-8")
    assert f"rendered ({len(rendered)}):" in log
    assert f"skipped ({len(skipped)}):" in log and "failed (0):" in log


def test_every_requested_plot_ends_in_exactly_one_list(runs, tmp_path):
    settings = _settings()
    report = render(discover([runs["c2"]]), settings, tmp_path / "plots")
    names = [r.name for r in report.rendered] + [s.name for s in report.skipped] + [
        f.name for f in report.failed]
    assert sorted(names) == sorted(settings.values.single_run)


def test_one_broken_plot_fails_alone_with_its_traceback_in_the_log(runs, tmp_path,
                                                                   monkeypatch):
    render_module.import_plotting()
    from aiperf.plot import figures_run

    def broken(run, style):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(figures_run, "itl_over_time", broken)
    report = render(discover([runs["c2"]]), _settings(), tmp_path / "plots")
    assert [(f.name, f.error) for f in report.failed] == [
        ("itl_over_time", "ZeroDivisionError: boom")]
    assert "ttft_over_time" in {r.name for r in report.rendered}
    log = report.log.read_text(encoding="utf-8")
    assert "itl_over_time: ZeroDivisionError: boom" in log and "Traceback" in log


def test_exclude_and_titles_from_the_plot_config(runs, tmp_path):
    settings = _settings(single_run=["ttft_over_time", "itl_over_time"],
                         exclude=["itl_over_time"], titles={"ttft_over_time": "Mine"})
    report = render(discover([runs["c2"]]), settings, tmp_path / "plots")
    assert [r.name for r in report.rendered] == ["ttft_over_time"]


def test_trials_get_the_single_run_set_each_and_the_spread(runs, tmp_path):
    base = tmp_path / "exp"
    for n in (1, 2):
        _as(runs["c2"], base / "profile_runs" / f"trial_000{n}", kind="trial", trial=n)
    discovery = discover([base])
    assert discovery.mode == "trials"
    settings = _settings(single_run=["ttft_over_time", "trial_spread"])
    report = render(discovery, settings, base / "plots")
    rendered = {r.name: r.path for r in report.rendered}
    assert set(rendered) == {"profile_runs/trial_0001/ttft_over_time",
                             "profile_runs/trial_0002/ttft_over_time", "trial_spread"}
    assert rendered["trial_spread"] == base / "plots" / "trial_spread.png"
    assert rendered["profile_runs/trial_0001/ttft_over_time"].is_file()


def test_a_sweep_gets_the_comparison_plots(runs, tmp_path):
    base = tmp_path / "sweep"
    _as(runs["c2"], base / "concurrency2", kind="cell", cell="concurrency2")
    _as(runs["c4"], base / "concurrency4", kind="cell", cell="concurrency4")
    discovery = discover([base])
    assert discovery.mode == "multi"
    settings = _settings()
    report = render(discovery, settings, base / "plots")
    rendered = {r.name for r in report.rendered}
    assert {"ttft_vs_throughput", "itl_vs_throughput_per_user",
            "latency_percentiles_vs_concurrency", "throughput_vs_concurrency",
            "pareto_frontier"} <= rendered
    for item in report.rendered:
        _image_ok(item.path, settings)


def test_no_successful_request_is_an_error_not_empty_pngs(runs, tmp_path):
    run = _as(runs["c2"], tmp_path / "failed")
    lines = (run / "profile_export.jsonl").read_text(encoding="utf-8").splitlines()
    failed = []
    for line in lines:
        record = json.loads(line)
        record["error"] = {"code": 500, "type": "http-status", "message": "x"}
        failed.append(json.dumps(record))
    (run / "profile_export.jsonl").write_text("\n".join(failed) + "\n", encoding="utf-8")
    with pytest.raises(NoDataToPlot, match="no successful requests"):
        render(discover([run]), _settings(), tmp_path / "plots")
    assert list((tmp_path / "plots").glob("*.png")) == []
    assert "no data to plot" in (tmp_path / "plots" / "aiperf_plot.log").read_text()


def test_worker_processes_and_a_single_process_draw_the_same_files(runs, tmp_path,
                                                                   monkeypatch):
    settings = _settings()
    together = render(discover([runs["c2"]]), settings, tmp_path / "a")
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    alone = render(discover([runs["c2"]]), settings, tmp_path / "b")
    assert [r.name for r in together.rendered] == [r.name for r in alone.rendered]
    assert [s.reason for s in together.skipped] == [s.reason for s in alone.skipped]
