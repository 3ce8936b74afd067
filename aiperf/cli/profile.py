"""``aiperf profile``: resolve the configuration once, run from the frozen result, then
auto-plot.

The chain lives here, above the runner: :func:`aiperf.bench.profile.run_profile` runs the
benchmark (against the in-process simulator of :mod:`aiperf.cli.in_process` for ``sim://``
URLs) and returns its outcome; this command then auto-plots the directory the outcome names
once, when ``benchmark.artifacts.auto_plot`` is on, and folds the plot's failure into the
exit code (1 with ``--plot-required``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aiperf.cli.errors import reports_config_errors
from aiperf.cli.logs import console_logging
from aiperf.cli.options import ConfigFiles, with_profile_flags

if TYPE_CHECKING:
    from aiperf.bench.output import Output
    from aiperf.bench.profile import ProfileOutcome
    from aiperf.config.provenance import Resolved


@reports_config_errors
@with_profile_flags
def profile(
    config: ConfigFiles = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="List the runs (a sweep's cells) and their resolved settings; "
        "send no request.")] = False,
    cli: dict[str, Any] | None = None,
) -> None:
    """Benchmark an OpenAI-compatible endpoint and write the artifacts.

    Takes the same files and flags as `aiperf config explain`; `--url sim://` runs the
    built-in simulator in-process, so no server is needed to try it.
    """
    import sys

    from aiperf.bench.output import open_output
    from aiperf.bench.profile import run_profile
    from aiperf.cli.in_process import SIM_SERVERS
    from aiperf.config.gather import gather
    from aiperf.config.sweep import expand

    # INFO shows the config's notes and the prompt-sizing line; warnings read like the
    # summary's own (`warning: ...`).
    console_logging(logging.INFO)
    files = [Path(p) for p in config or []]
    environ = dict(os.environ)
    # The sources are read once: every cell and probe resolves from these layers, so a
    # file edited during a long run changes nothing in it.
    gathered = gather(files, cli or {}, environ)
    resolved = gathered.resolve().check()
    # Every cell is resolved (and checked) before the first request is sent.
    cells = [(cell, gathered.resolve(cell).check()) for cell in expand(resolved)]
    if dry_run:
        from aiperf.bench.sweep_run import dry_run_listing

        typer.echo(dry_run_listing(resolved, cells))
        raise typer.Exit(0)
    output = open_output(resolved.config.benchmark.ui, sys.stdout.isatty())
    try:
        outcome = run_profile(resolved, output, cells,
                              lambda cell: gathered.resolve(cell).check(),
                              servers=SIM_SERVERS)
        code = _plot_then(outcome, resolved, output)
    except KeyboardInterrupt:
        # Only before the run starts or after it ends: during it, Ctrl-C stops it cleanly.
        output.line("interrupted")
        code = 130
    raise typer.Exit(code)


def _plot_then(outcome: ProfileOutcome, resolved: Resolved, output: Output) -> int:
    """Auto-plot the run's directory when it ended in a way that gets plots and
    ``auto_plot`` is on; then the exit code: 1 when plotting failed with
    ``--plot-required`` (after its error line), else the run's own (a breached threshold
    plots first, then exits 3)."""
    if outcome.plot_dir is None or not resolved.config.benchmark.artifacts.auto_plot:
        return outcome.code
    from aiperf.bench.outcome import EXIT_FAILED
    from aiperf.plot.auto_plot import AutoPlotFailed, auto_plot

    try:
        plotted = auto_plot(resolved, outcome.plot_dir, notice=output.line)
    except AutoPlotFailed as e:
        output.line(str(e), label="error:", style="red")
        return EXIT_FAILED
    if plotted.summary is not None:
        output.line(plotted.summary)
    return outcome.code
