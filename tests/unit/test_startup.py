"""What the CLI imports at start-up: no plotting, data-frame or HTTP library.

Each command runs in a fresh interpreter (``sys.executable``, the way ``python -m aiperf``
runs it) through a tiny wrapper that, at exit, writes the names of every imported module
to a file. There are deliberately no timing assertions: timings belong to
``benchmarks/startup.py``, and would only make the suite flaky on a busy machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Only ``aiperf profile`` (running and plotting a benchmark) may need these.
HEAVY = ("pandas", "seaborn", "matplotlib", "aiohttp", "numpy")

_WRAPPER = """\
import atexit, runpy, sys
out = sys.argv[1]
def _dump():
    with open(out, "w", encoding="utf-8") as fh:
        fh.write("\\n".join(sorted(sys.modules)))
atexit.register(_dump)
sys.argv = ["aiperf", *sys.argv[2:]]
runpy.run_module("aiperf", run_name="__main__", alter_sys=True)
"""

SMALL_YAML = """\
benchmark:
  endpoint:
    url: sim://
    model: demo-model
  load:
    concurrency: 4
plot:
  theme: light
"""


def imported_by(tmp_path: Path, *args: str) -> tuple[set[str], subprocess.CompletedProcess]:
    """The top-level names of every module ``aiperf ARGS`` imported, and the process."""
    out = tmp_path / "modules.txt"
    proc = subprocess.run(
        [sys.executable, "-c", _WRAPPER, str(out), *args],
        cwd=tmp_path, env=dict(os.environ), capture_output=True, text=True, timeout=120,
    )
    assert out.exists(), f"no module list written; stderr:\n{proc.stderr}"
    names = out.read_text(encoding="utf-8").split()
    return {name.split(".")[0] for name in names} | set(names), proc


@pytest.fixture
def small_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL_YAML, encoding="utf-8")
    return path


def test_help_imports_no_heavy_module(tmp_path):
    modules, proc = imported_by(tmp_path, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "config" in proc.stdout  # the help really was printed
    assert sorted(modules & set(HEAVY)) == []


def test_config_explain_imports_no_heavy_module(tmp_path, small_yaml):
    modules, proc = imported_by(tmp_path, "config", "explain", "-f", str(small_yaml))
    assert proc.returncode == 0, proc.stderr
    assert "benchmark.load.concurrency" in proc.stdout  # it really resolved and explained
    assert "aiperf.config.resolve" in modules
    assert sorted(modules & set(HEAVY)) == []


def test_help_does_not_load_the_configuration_engine(tmp_path):
    # `aiperf --help` only needs the field table for its flags. Importing the engine,
    # strictyaml (with dateutil) and cattrs as well roughly doubled its start-up time;
    # aiperf.config imports its public names lazily so that this stays so.
    modules, proc = imported_by(tmp_path, "--help")
    assert proc.returncode == 0, proc.stderr
    assert sorted(modules & {"strictyaml", "cattrs", "aiperf.config.resolve"}) == []


def test_resolving_flags_with_a_warm_cache_needs_no_yaml_parser(tmp_path):
    # A profile run given only flags reads the shipped rules from the parse cache, so it
    # need not pay for importing strictyaml (about 60 ms of every start).
    args = ("config", "explain", "--url", "sim://", "--model", "m", "--concurrency", "8")
    imported_by(tmp_path, *args)  # fills the cache
    modules, proc = imported_by(tmp_path, *args)
    assert proc.returncode == 0, proc.stderr
    assert "aiperf.config.resolve" in modules
    assert "strictyaml" not in modules


def test_profile_without_auto_plot_imports_no_plot_stack(tmp_path):
    modules, proc = imported_by(tmp_path, "profile", "--url", "sim://?mode=deterministic"
                                "&ttft_ms=1&itl_ms=1", "--model", "m", "--request-count", "4",
                                "--concurrency", "2", "--ui", "none", "--artifact-dir",
                                str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "run" / "profile_export_aiperf.json").is_file()
    assert "aiperf.bench.stats" in modules
    # Without auto-plot the plot stack is never imported: numpy, pandas, matplotlib, seaborn.
    assert sorted(modules & {"numpy", "pandas", "matplotlib", "seaborn"}) == []


def test_a_command_imports_only_its_own_cli_module(tmp_path):
    modules, proc = imported_by(tmp_path, "config", "explain", "benchmark.load.concurrency")
    assert proc.returncode == 0, proc.stderr
    assert "aiperf.cli.config" in modules
    assert sorted(modules & {"aiperf.cli.sim", "aiperf.cli.recipes", "aiperf.sim"}) == []


def test_a_mistyped_command_still_gets_a_suggestion(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "aiperf", "profle"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Did you mean 'profile'?" in proc.stderr


def test_a_single_command_keeps_its_name_in_the_usage_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "aiperf", "profile", "--help"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Usage: python -m aiperf profile [OPTIONS]" in proc.stdout
