"""Exact explain and error output, compared with files in tests/golden/.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 python -m pytest
tests/cli/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aiperf.cli import app

GOLDEN = Path(__file__).parent.parent / "golden"

CONFIG = """\
benchmark:
  endpoint:
    model: llama
  load:
    concurrency: 8
# the plot envelope sits on line 7
plot:
  theme: dark
"""

BROKEN = """\
benchmark:
  endpoint:
    type: chatt
  load:
    concurency: 4
    request_count: 0
  artifacts:
    auto_plot: maybe
"""

CASES = {
    "explain_auto_plot_envelope": (CONFIG, ["config", "explain", "-f", "x.yaml",
                                            "benchmark.artifacts.auto_plot"]),
    "explain_plot_required_dormant": (CONFIG, ["config", "explain", "-f", "x.yaml",
                                               "--no-auto-plot", "--plot-required",
                                               "benchmark.artifacts.plot_required"]),
    "explain_only_changed_recipe": (CONFIG, ["config", "explain", "-f", "x.yaml",
                                             "--search-recipe", "concurrency-ramp",
                                             "--only-changed"]),
    "errors_validate": (BROKEN, ["config", "validate", "-f", "x.yaml"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_output_matches_golden(name, tmp_path, monkeypatch):
    """The command prints exactly the golden text (no colour, fixed width)."""
    text, args = CASES[name]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "100")
    (tmp_path / "x.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(result.output, encoding="utf-8")

    assert golden.read_text(encoding="utf-8") == result.output
