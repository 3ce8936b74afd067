"""``aiperf plot PATHS``: render the plots of runs already on disk."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from aiperf.cli.errors import fail, reports_config_errors

if TYPE_CHECKING:
    from aiperf.plot.discover import Discovery
    from aiperf.plot.settings import PlotSettings

EXIT_PLOT_FAILED = 1


class Theme(StrEnum):
    light = "light"
    dark = "dark"


@reports_config_errors
def plot(
    paths: Annotated[Optional[list[Path]], typer.Argument(  # noqa: UP045 - typer needs it
        help="Run directories, or folders holding runs (searched recursively).",
        show_default="./artifacts")] = None,
    output: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        "--output", "-o", help="Where the PNGs go.",
        show_default="<path>/plots; for several paths <parent>/compare-<A>-vs-<B>")] = None,
    theme: Annotated[Optional[Theme], typer.Option(  # noqa: UP045
        "--theme", help="Colour theme; overrides the plot config's.",
        show_default=False)] = None,
    config: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        "--config", help="Plot config file; beats the run's own and ~/.aiperf/plot_config.yaml.",
        show_default=False)] = None,
    html: Annotated[bool, typer.Option(
        "--html", help="Also write report.html: one self-contained interactive page "
        "(summaries, charts, SLO panel, configuration) that needs no network. The plot "
        "config's html: true asks for it too.")] = False,
    dashboard: Annotated[bool, typer.Option(
        "--dashboard", help="Write the report, then serve it and the PNGs over local HTTP "
        "until Ctrl-C.")] = False,
    host: Annotated[str, typer.Option(
        "--host", help="Where --dashboard listens (loopback unless you say otherwise).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(
        "--port", help="The --dashboard port (0: any free port).", min=0, max=65535)] = 8050,
) -> None:
    """Render PNG plots (seaborn) for single runs, trials, sweeps and recipes, and with
    --html or --dashboard an interactive HTML report.

    Plot config: --config, else the run's own (its plot: envelope), else
    ~/.aiperf/plot_config.yaml, else the shipped default; aiperf_plot.log says which and why.
    """
    from aiperf.cli.logs import console_logging
    from aiperf.config import load
    from aiperf.config.plot_config import PLOT_CONFIG_KEY, RECEIPT_NAME
    from aiperf.plot.destination import default_output
    from aiperf.plot.discover import PlotInputError, discover
    from aiperf.plot.settings import load_settings

    console_logging()  # the plotter's warnings (a corrupt line skipped) as `warning: ...`
    paths = list(paths or [Path("artifacts")])
    # Every mistake is reported before anything is created.
    if config is not None and not config.is_file():
        raise fail(f"--config {config}: no such file")
    try:
        discovery = discover(paths)
    except PlotInputError as e:
        raise fail(str(e), "give a run directory (it holds run.json or profile_export.jsonl)"
                   ) from None
    for note in discovery.notes:
        typer.echo(note, err=True)  # one line per skipped run; the others still plot
    receipt = next((p / RECEIPT_NAME for p in paths if (p / RECEIPT_NAME).is_file()), None)
    cli = {PLOT_CONFIG_KEY: str(config)} if config is not None else {}
    environ = dict(os.environ)
    resolved = load([], cli, environ, plot_receipt=receipt)
    run_dir = receipt.parent if receipt is not None else paths[0]
    settings = load_settings(resolved, run_dir, environ, notice=typer.echo)
    typer.echo(f"plot config: {settings.source} ({settings.reason})")
    folder = output or default_output(paths)
    pngs_ok = _render(discovery, settings, folder, theme.value if theme is not None else None)
    if html or dashboard or settings.values.html:
        _write_report(discovery, folder)
    if not pngs_ok:
        raise typer.Exit(EXIT_PLOT_FAILED)
    if dashboard:
        _serve(folder, host, port)


def _write_report(discovery: Discovery, folder: Path) -> None:
    from aiperf.artifacts.atomic import ArtifactWriteError
    from aiperf.report.page import NoReportData, write_report

    try:
        report = write_report(discovery, folder,
                              notice=lambda text: typer.echo(text, err=True))
    except (NoReportData, ArtifactWriteError, OSError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(EXIT_PLOT_FAILED) from None
    typer.echo(report.summary())


def _serve(folder: Path, host: str, port: int) -> None:
    from aiperf.report.serve import Dashboard

    try:
        server = Dashboard(folder, host, port)
    except OSError as e:
        typer.echo(f"error: cannot serve the dashboard on {host}:{port}: "
                   f"{e.strerror or e}", err=True)
        raise typer.Exit(EXIT_PLOT_FAILED) from None
    # The handlers come first: a Ctrl-C sent as soon as the URL is out must stop it.
    with _stopped_by_signals():
        try:
            typer.echo(f"dashboard: {server.url} (the PNGs under {server.url}files/); "
                       "Ctrl-C stops it")
            server.serve_forever()
        except KeyboardInterrupt:
            typer.echo("dashboard stopped")


@contextlib.contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """Ctrl-C and SIGTERM stop the dashboard cleanly (exit 0), whatever the process
    inherited: a shell starts a background job with SIGINT ignored, and a service
    manager stops with SIGTERM."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    saved = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _render(discovery: Discovery, settings: PlotSettings, output: Path,
            theme: str | None) -> bool:
    """Draw the PNGs; whether every one was drawn (a failure is reported here)."""
    from aiperf.artifacts.atomic import ArtifactWriteError
    from aiperf.plot.render import NoDataToPlot, PlotOutputError, PlottingUnavailable, render

    try:
        # The note on a first run's font cache goes to stderr with the other notes.
        report = render(discovery, settings, output, theme,
                        notice=lambda text: typer.echo(text, err=True))
    except PlotOutputError as e:
        # The folder itself is unusable (a file, under a file, read-only): the user's
        # choice of path, so exit 2 like other bad input, with the way out.
        raise fail(str(e), "choose a writable folder with --output DIR") from None
    except (NoDataToPlot, PlottingUnavailable) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(EXIT_PLOT_FAILED) from None
    except ArtifactWriteError as e:  # aiperf_plot.log itself: a full disk, a lost permission
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(EXIT_PLOT_FAILED) from None
    typer.echo(report.summary())
    for failed in report.failed:
        typer.echo(f"failed: {failed.name}: {failed.error}", err=True)
    return not (report.failed or not report.rendered)
