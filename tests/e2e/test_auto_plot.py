"""Auto-plot after `aiperf profile`, and `aiperf plot` on the runs it leaves (spec/auto-plot.md).

Real runs against the in-process simulator; real PNG files. The isolated HOME gets a small
plot config (low resolution) so the suite stays fast, except where the shipped default
itself is what is tested.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aiperf.cli import app

SIM = "sim://?mode=deterministic&ttft_ms=2&itl_ms=1&osl=8"
FAILING_SIM = SIM + "&error_rate=1"
FIXTURE = Path(__file__).parents[1] / "fixtures" / "aiperf-0.13" / "single-chat-c4"
SMALL = "dpi: 50\nwidth: 3\nheight: 2\n"


@pytest.fixture
def small_home_config(_isolated_environment: Path) -> Path:
    path = _isolated_environment / ".aiperf" / "plot_config.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(SMALL, encoding="utf-8")
    return path


def run_args(run_dir: Path, *extra: str, url: str = SIM) -> list[str]:
    return ["--url", url, "--model", "m", "--streaming", "--request-count", "12",
            "--concurrency", "3", "--ui", "none", "--artifact-dir", str(run_dir), *extra]


def pngs(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("*.png")}


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "plots" not in p.parts}


def plot(*args: str):
    return CliRunner().invoke(app, ["plot", *args], catch_exceptions=False)


# --------------------------------------------------------------------------- when it fires

def test_auto_plot_flag_renders_pngs_and_the_log_into_plots(profile, tmp_path, small_home_config):
    run = profile(*run_args(tmp_path / "run", "--auto-plot"))
    assert run.exit_code == 0, run.output
    plots = tmp_path / "run" / "plots"
    assert {"ttft_over_time.png", "ttft_timeline.png", "itl_over_time.png"} <= pngs(plots)
    log = (plots / "aiperf_plot.log").read_text(encoding="utf-8")
    assert "rendered (" in log and "skipped (" in log and "failed (0):" in log
    assert "plots: " in run.stdout and " rendered, " in run.stdout


def test_plain_profile_does_not_auto_plot(profile, tmp_path, small_home_config):
    run = profile(*run_args(tmp_path / "run"))
    assert run.exit_code == 0, run.output
    assert not (tmp_path / "run" / "plots").exists()


def test_a_yaml_plot_envelope_turns_auto_plot_on_and_is_written_into_the_run(
        profile, tmp_path, write_yaml, small_home_config):
    config = write_yaml("""
        plot:
          dpi: 50
          width: 3
          height: 2
          single_run:
            - ttft_over_time
        """, "run.yaml")
    run = profile("-f", str(config), *run_args(tmp_path / "run"))
    assert run.exit_code == 0, run.output
    assert pngs(tmp_path / "run" / "plots") == {"ttft_over_time.png"}
    receipt = tmp_path / "run" / ".aiperf-plot-config.yaml"
    assert '- "ttft_over_time"' in receipt.read_text(encoding="utf-8")
    log = (tmp_path / "run" / "plots" / "aiperf_plot.log").read_text(encoding="utf-8")
    assert "plot-config-envelope" in log


def test_a_plot_envelope_given_as_a_path_is_read_relative_to_the_yaml(
        profile, tmp_path, write_yaml, small_home_config):
    write_yaml(SMALL + "single_run:\n  - itl_over_time\n", "plots/mine.yaml")
    config = write_yaml("plot: plots/mine.yaml\n", "run.yaml")
    run = profile("-f", str(config), *run_args(tmp_path / "run"))
    assert run.exit_code == 0, run.output
    assert pngs(tmp_path / "run" / "plots") == {"itl_over_time.png"}


def test_no_auto_plot_beats_an_envelope(profile, tmp_path, write_yaml, small_home_config):
    config = write_yaml("plot:\n  theme: dark\n", "run.yaml")
    run = profile("-f", str(config), *run_args(tmp_path / "run", "--no-auto-plot"))
    assert run.exit_code == 0, run.output
    assert not (tmp_path / "run" / "plots").exists()


def test_a_later_aiperf_plot_reuses_the_runs_own_plot_config(
        profile, tmp_path, write_yaml, small_home_config):
    body = (SMALL + "single_run:\n  - ttft_distribution\n").splitlines()
    config = write_yaml("plot:\n" + "".join(f"  {line}\n" for line in body), "run.yaml")
    assert profile("-f", str(config), *run_args(tmp_path / "run")).exit_code == 0
    shutil.rmtree(tmp_path / "run" / "plots")
    config.unlink()  # the original YAML is gone; the run still knows its plots
    result = plot(str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    assert pngs(tmp_path / "run" / "plots") == {"ttft_distribution.png"}


# --------------------------------------------------------------------------- failures

def test_a_failed_renderer_warns_in_the_specs_shape_and_exits_0(
        profile, tmp_path, small_home_config, monkeypatch, caplog):
    import aiperf.plot.render as render_module

    def broken(*args, **kwargs):
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(render_module, "render", broken)
    before = None
    with caplog.at_level(logging.WARNING, logger="aiperf.plot.auto_plot"):
        run = profile(*run_args(tmp_path / "run", "--auto-plot"))
    assert run.exit_code == 0, run.output
    run_dir = tmp_path / "run"
    [message] = [r.getMessage() for r in caplog.records if r.name == "aiperf.plot.auto_plot"]
    assert message == (
        f"auto-plot failed (run artifacts intact at {run_dir}): RuntimeError: renderer "
        f"exploded; see {run_dir / 'plots' / 'aiperf_plot.log'} for details. Re-run "
        f"`aiperf plot {run_dir}` manually if needed.")
    assert caplog.records[-1].levelname == "WARNING"
    assert before is None and (run_dir / "profile_export_aiperf.json").is_file()


def test_plot_required_turns_a_failed_renderer_into_a_failed_run(
        profile, tmp_path, small_home_config, monkeypatch):
    import aiperf.plot.render as render_module

    monkeypatch.setattr(render_module, "render",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("renderer exploded")))
    run = profile(*run_args(tmp_path / "run", "--auto-plot", "--plot-required"))
    assert run.exit_code == 1
    assert "auto-plot failed (--plot-required): RuntimeError: renderer exploded" in run.stdout
    assert (tmp_path / "run" / "profile_export.jsonl").is_file()  # artifacts intact


def test_a_run_whose_requests_all_failed_exits_0_and_reports_no_data(
        profile, tmp_path, small_home_config, caplog):
    with caplog.at_level(logging.WARNING, logger="aiperf.plot.auto_plot"):
        run = profile(*run_args(tmp_path / "run", "--auto-plot", url=FAILING_SIM))
    assert run.exit_code == 0, run.output
    [message] = [r.getMessage() for r in caplog.records if r.name == "aiperf.plot.auto_plot"]
    assert "auto-plot failed (run artifacts intact at" in message
    assert "no data to plot" in message and "no successful requests" in message
    assert pngs(tmp_path / "run" / "plots") == set()  # never empty PNGs


def test_plot_required_fails_a_run_with_no_data(profile, tmp_path, small_home_config):
    run = profile(*run_args(tmp_path / "run", "--auto-plot", "--plot-required",
                            url=FAILING_SIM))
    assert run.exit_code == 1
    assert "no data to plot" in run.stdout


def test_plot_required_without_auto_plot_is_dormant_and_says_so(profile, tmp_path, caplog,
                                                                 small_home_config):
    with caplog.at_level(logging.INFO):
        run = profile(*run_args(tmp_path / "run", "--plot-required"))
    assert run.exit_code == 0, run.output
    notes = [r.getMessage() for r in caplog.records if "plot_required" in r.getMessage()]
    assert len(notes) == 1
    assert not (tmp_path / "run" / "plots").exists()


def test_a_missing_plotting_backend_names_the_package(monkeypatch):
    import builtins

    import aiperf.plot.render as render_module

    real_import = builtins.__import__

    def no_seaborn(name, *args, **kwargs):
        if name == "seaborn":
            raise ImportError("No module named 'seaborn'", name="seaborn")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_seaborn)
    with pytest.raises(render_module.PlottingUnavailable, match="seaborn"):
        render_module.import_plotting()


# --------------------------------------------------------------------------- aiperf plot

def test_plotting_never_changes_the_artifacts(profile, tmp_path, small_home_config):
    assert profile(*run_args(tmp_path / "run")).exit_code == 0
    before = digest(tmp_path / "run")
    result = plot(str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    assert digest(tmp_path / "run") == before


def test_a_mistyped_path_is_an_error_before_anything_is_created(tmp_path):
    missing = tmp_path / "no-such-run"
    result = plot(str(missing))
    assert result.exit_code == 2
    assert f"{missing}: no such directory" in result.output
    assert not missing.exists()


def test_a_missing_config_file_is_an_error_before_anything_is_created(profile, tmp_path,
                                                                      small_home_config):
    assert profile(*run_args(tmp_path / "run")).exit_code == 0
    result = plot(str(tmp_path / "run"), "--config", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "nope.yaml: no such file" in result.output
    assert not (tmp_path / "run" / "plots").exists()


def test_an_aiperf_013_directory_plots(tmp_path, small_home_config):
    run_dir = tmp_path / "ref"
    shutil.copytree(FIXTURE, run_dir)
    before = digest(run_dir)
    result = plot(str(run_dir))
    assert result.exit_code == 0, result.output
    assert {"ttft_over_time.png", "ttft_timeline.png"} <= pngs(run_dir / "plots")
    assert digest(run_dir) == before


def test_output_and_theme_options(profile, tmp_path, small_home_config):
    assert profile(*run_args(tmp_path / "run")).exit_code == 0
    result = plot(str(tmp_path / "run"), "--output", str(tmp_path / "out"), "--theme", "dark")
    assert result.exit_code == 0, result.output
    assert "ttft_over_time.png" in pngs(tmp_path / "out")
    assert not (tmp_path / "run" / "plots").exists()


# --------------------------------------------------------------------------- the chain

def _decided_by(folder: Path) -> str:
    log = (folder / "aiperf_plot.log").read_text(encoding="utf-8")
    return log.split("[rule ", 1)[1].split("]", 1)[0]


def test_chain_config_flag_beats_the_runs_own(profile, tmp_path, write_yaml, small_home_config):
    config = write_yaml("plot:\n  dpi: 50\n  width: 3\n  height: 2\n", "run.yaml")
    assert profile("-f", str(config), *run_args(tmp_path / "run")).exit_code == 0
    mine = write_yaml(SMALL + "single_run:\n  - itl_distribution\n", "mine.yaml")
    result = plot(str(tmp_path / "run"), "--config", str(mine), "--output", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert pngs(tmp_path / "o") == {"itl_distribution.png"}
    assert _decided_by(tmp_path / "o") == "plot-config-flag"


def test_chain_the_runs_own_beats_the_home_config(profile, tmp_path, write_yaml,
                                                  small_home_config):
    small_home_config.write_text(SMALL + "single_run:\n  - itl_over_time\n", encoding="utf-8")
    config = write_yaml("plot:\n  dpi: 50\n  width: 3\n  height: 2\n"
                        "  single_run:\n    - ttft_over_time\n", "run.yaml")
    assert profile("-f", str(config), *run_args(tmp_path / "run")).exit_code == 0
    result = plot(str(tmp_path / "run"), "--output", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert pngs(tmp_path / "o") == {"ttft_over_time.png"}
    assert _decided_by(tmp_path / "o") == "plot-config-envelope"


def test_chain_a_stale_home_config_is_used_as_it_is(profile, tmp_path, small_home_config):
    # Written by an older release: fewer keys, an old plot list. It is never refreshed;
    # the keys it lacks take today's defaults.
    small_home_config.write_text(SMALL + "single_run:\n  - ttft_over_time\n", encoding="utf-8")
    assert profile(*run_args(tmp_path / "run")).exit_code == 0
    result = plot(str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    assert pngs(tmp_path / "run" / "plots") == {"ttft_over_time.png"}
    assert _decided_by(tmp_path / "run" / "plots") == "plot-config-home"
    assert small_home_config.read_text(encoding="utf-8").startswith(SMALL)


def test_chain_a_home_config_with_a_mistake_is_an_error_naming_file_and_line(
        profile, tmp_path, small_home_config):
    assert profile(*run_args(tmp_path / "run")).exit_code == 0
    small_home_config.write_text(SMALL + "single_run:\n  - ttft_over_tme\n", encoding="utf-8")
    result = plot(str(tmp_path / "run"))
    assert result.exit_code == 2
    assert f"{small_home_config}:5" in result.output
    assert "ttft_over_time" in result.output  # did you mean


def test_chain_the_shipped_default_is_copied_home_once_with_a_notice(profile, tmp_path,
                                                                     _isolated_environment):
    assert profile(*run_args(tmp_path / "run")).exit_code == 0
    home_config = _isolated_environment / ".aiperf" / "plot_config.yaml"
    result = plot(str(tmp_path / "run"), "--output", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert f"created {home_config}" in result.output
    assert _decided_by(tmp_path / "o") == "plot-config-shipped"
    again = plot(str(tmp_path / "run"), "--output", str(tmp_path / "o2"))
    assert "created" not in again.output
    assert _decided_by(tmp_path / "o2") == "plot-config-home"


def test_explain_says_which_plot_config_a_run_used(profile, tmp_path, write_yaml,
                                                   small_home_config):
    config = write_yaml("plot:\n  theme: dark\n", "run.yaml")
    assert profile("-f", str(config), *run_args(tmp_path / "run", "--no-auto-plot")
                   ).exit_code == 0
    result = CliRunner().invoke(app, ["config", "explain", str(tmp_path / "run"),
                                      "benchmark.artifacts.plot_config"])
    assert result.exit_code == 0, result.output
    assert "rule plot-config-envelope" in result.output
    assert "<artifact_dir>/.aiperf-plot-config.yaml" in result.output
