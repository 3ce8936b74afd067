"""A recipe from another installed package runs like a built-in one.

The package is real: a module and a dist-info folder with an ``aiperf.recipes`` entry
point, put on the child process's path (installing it into the test environment for the
length of one test, without touching site-packages).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

PLUGIN = """\
class WideRamp:
    name = "wide-ramp"
    description = "Concurrency 1, 2 and 4, from a plugin."
    auto_plot_default = True
    sweeps = ("concurrency",)
    settings = {
        "benchmark.search.concurrency_min": 1,
        "benchmark.search.concurrency_max": 4,
        "benchmark.search.concurrency_steps": 3,
    }
"""


def install_plugin(folder: Path) -> Path:
    folder.mkdir()
    (folder / "wide_ramp_recipes.py").write_text(PLUGIN, encoding="utf-8")
    info = folder / "wide_ramp_recipes-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: wide-ramp-recipes\n"
                                   "Version: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(
        "[aiperf.recipes]\nwide-ramp = wide_ramp_recipes:WideRamp\n", encoding="utf-8")
    return folder


def aiperf(tmp_path: Path, plugin: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIPERF_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "aiperf", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)


def test_a_plugin_recipe_is_listed_with_its_package(tmp_path):
    plugin = install_plugin(tmp_path / "plugin")
    result = aiperf(tmp_path, plugin, "recipes", "list")
    assert result.returncode == 0, result.stderr
    assert "wide-ramp" in result.stdout and "wide-ramp-recipes" in result.stdout


def test_a_plugin_recipe_runs_its_grid_and_auto_plots_like_a_built_in(tmp_path):
    plugin = install_plugin(tmp_path / "plugin")
    home = Path(os.environ["HOME"]) / ".aiperf"  # the isolated HOME of tests/conftest.py
    home.mkdir(parents=True)
    (home / "plot_config.yaml").write_text(textwrap.dedent("""\
        dpi: 50
        width: 3
        height: 2
        multi_run:
          - throughput_vs_concurrency
        """), encoding="utf-8")
    result = aiperf(tmp_path, plugin, "profile", "--search-recipe", "wide-ramp", "--url",
                    "sim://?mode=deterministic&ttft_ms=2&itl_ms=1&osl=4", "--model", "m",
                    "--request-count", "6", "--ui", "none")
    assert result.returncode == 0, result.stdout + result.stderr
    base = tmp_path / "artifacts" / "m-wide-ramp"
    assert sorted(p.name for p in base.iterdir() if p.name.startswith("concurrency")) == [
        "concurrency1", "concurrency2", "concurrency4"]
    sweep = json.loads((base / "sweep_aggregate" / "profile_export_aiperf_sweep.json")
                       .read_text(encoding="utf-8"))
    assert [c["status"] for c in sweep["cells"]] == ["complete"] * 3
    assert (base / "plots" / "throughput_vs_concurrency.png").is_file()
