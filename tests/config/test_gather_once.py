"""Configuration sources are read once per invocation: sweep cells and SLA-search probes
resolve from the gathered layers (aiperf.config.gather), never from the files again."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from typer.testing import CliRunner

import aiperf.config.gather as gather_module
import aiperf.config.sources as sources
from aiperf.cli import app
from aiperf.config.gather import gather, load
from aiperf.config.layer import Layer
from aiperf.config.plot_config import PlotEnvelopeSpec
from aiperf.config.sweep import Cell

CONFIG = """
    benchmark:
      endpoint:
        model: from-file
      load:
        concurrency: 2
    """
CLI = {"benchmark.endpoint.streaming": True}
CELL = Cell("concurrency8", {"benchmark.load.concurrency": 8})


def test_a_cell_resolved_from_the_gathered_layers_is_the_cell_load_resolves(write_yaml):
    config = write_yaml(CONFIG)
    from_gathered = gather([config], CLI, {}).resolve(CELL)
    loaded = load([config], CLI, {}, cell=CELL)
    assert from_gathered.values() == loaded.values()
    assert from_gathered.provenance == loaded.provenance
    assert from_gathered.notes == loaded.notes
    assert from_gathered.provenance["benchmark.load.concurrency"].origin.scope == "cell"


def test_cells_resolve_from_the_gathered_layers_not_the_files(write_yaml):
    config = write_yaml(CONFIG)
    gathered = gather([config], CLI, {})
    config.write_text("benchmark:\n  endpoint:\n    model: edited-later\n", encoding="utf-8")
    resolved = gathered.resolve(CELL)
    config.unlink()
    deleted = gathered.resolve(CELL)
    for cell_resolved in (resolved, deleted):
        assert cell_resolved.value("benchmark.endpoint.model") == "from-file"
        assert cell_resolved.value("benchmark.load.concurrency") == 8


def test_the_plot_config_in_use_is_read_once_for_every_cell(home, monkeypatch):
    (home / ".aiperf").mkdir()
    (home / ".aiperf" / "plot_config.yaml").write_text("dpi: 50\n", encoding="utf-8")
    gathered = gather([], {}, {"HOME": str(home)})
    reads: list[Path] = []
    real = sources.read_plot_config_spec

    def counting(path: Path, environ: Mapping[str, str]) -> PlotEnvelopeSpec:
        reads.append(path)
        return real(path, environ)

    monkeypatch.setattr(sources, "read_plot_config_spec", counting)
    cells = [Cell(f"concurrency{c}", {"benchmark.load.concurrency": c}) for c in (1, 2, 4)]
    selections = {gathered.resolve(cell).value("plot.single_run") for cell in cells}
    assert len(selections) == 1
    assert reads == [home / ".aiperf" / "plot_config.yaml"]


#: A fast simulator (about 4 ms a request) that meets a 1 s TTFT SLA at any concurrency,
#: so the search probes 1, 2 and 4 before it reaches the top of its range.
SIM = ("sim://?mode=realistic&jitter=0&osl=2&base_ttft_ms=1&prefill_ms_per_token=0"
       "&base_itl_ms=1&itl_ms_per_seq=0")


def test_an_sla_search_reads_each_config_file_once(write_yaml, tmp_path, monkeypatch):
    config = write_yaml("benchmark:\n  endpoint:\n    model: m\n", dedent=False)
    reads: list[tuple[Path, ...]] = []
    real = gather_module.read_config_files

    def counting(paths: Sequence[Path], environ: Mapping[str, str]) -> list[Layer]:
        reads.append(tuple(paths))
        return real(paths, environ)

    monkeypatch.setattr(gather_module, "read_config_files", counting)
    monkeypatch.chdir(tmp_path)
    run = CliRunner().invoke(app, [
        "profile", "-f", str(config), "--search-recipe", "max-concurrency-under-sla",
        "--ttft-sla-ms", "1000", "--concurrency-max", "4", "--url", SIM, "--osl", "2",
        "--isl", "16", "--streaming", "--request-count", "4", "--ui", "none",
        "--no-auto-plot", "--artifact-dir", str(tmp_path / "s")], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    history = json.loads((tmp_path / "s" / "search_history.json").read_text(encoding="utf-8"))
    assert len(history) >= 3
    assert reads == [(config,)]
