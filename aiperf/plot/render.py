"""Render the plots a plot config asks for, for the runs found under some paths.

Every requested plot ends in exactly one list: rendered (with its file and time),
skipped (its data is absent, with the reason) or failed (with the error). The lists go
to ``<output>/aiperf_plot.log``; PNGs are written atomically, one file per plot, and
nothing outside the output folder is touched.
"""

from __future__ import annotations

import io
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

from aiperf.plot.discover import Discovery
from aiperf.plot.settings import PlotSettings

LOG_NAME = "aiperf_plot.log"


class NoDataToPlot(Exception):
    """The runs hold nothing to draw (e.g. zero successful requests); never empty PNGs."""


class PlottingUnavailable(Exception):
    """The plotting libraries are not installed; the message names what to install."""


class PlotOutputError(Exception):
    """The output folder cannot be made or written; the message is one line naming it."""


@attrs.frozen
class Rendered:
    name: str
    path: Path
    seconds: float


@attrs.frozen
class Skipped:
    name: str
    reason: str


@attrs.frozen
class Failed:
    name: str
    error: str
    trace: str = attrs.field(default="", repr=False)


@attrs.frozen
class PlotReport:
    """What one plot run did."""

    output: Path
    log: Path
    rendered: tuple[Rendered, ...]
    skipped: tuple[Skipped, ...]
    failed: tuple[Failed, ...]

    def summary(self) -> str:
        """One line for the console."""
        return (f"plots: {len(self.rendered)} rendered, {len(self.skipped)} skipped, "
                f"{len(self.failed)} failed -> {self.output} (details: {self.log})")


def import_plotting(notice: Callable[[str], None] = lambda _: None
                    ) -> dict[str, Callable[[Any, Any], Any]]:
    """Every plot's drawing function by name (:func:`aiperf.plot.registry.draw_functions`),
    with matplotlib on its file-only Agg backend.

    ``notice`` gets one line first when the import is about to build matplotlib's font
    cache (seconds, once per machine). Raises :class:`PlottingUnavailable` naming the
    package when a backend is missing.
    """
    import logging

    from aiperf.plot.font_cache import note_font_cache

    # Its INFO chatter ("generated new fontManager") is not ours to show in a run's log.
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    note_font_cache(notice)
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import pandas  # noqa: F401 - the data frames need it
        import seaborn  # noqa: F401 - the figures draw with it

        from aiperf.plot.registry import draw_functions

        drawings = draw_functions()
    except ImportError as e:
        missing = getattr(e, "name", None) or str(e)
        raise PlottingUnavailable(
            f"plotting needs {missing}, which is not installed: pip install seaborn pandas "
            "matplotlib (they come with aiperf; a trimmed environment may lack them)") from e
    return drawings


def render(discovery: Discovery, settings: PlotSettings, output: Path,
           theme: str | None = None, progress: Callable[[str], None] = lambda _: None,
           notice: Callable[[str], None] = lambda _: None) -> PlotReport:
    """Draw every plot ``settings`` asks for; the report of what happened. ``notice``
    gets the one-time note that matplotlib's font cache is being built.

    Raises :class:`NoDataToPlot` when no run has a successful request (after writing the
    reason to the log), :class:`PlottingUnavailable` when the libraries are missing, and
    :class:`PlotOutputError` when ``output`` cannot be a folder of PNGs.
    """
    drawings = import_plotting(notice)
    from aiperf.plot.frames import NoData, load_run, runs_table
    from aiperf.plot.registry import PLOTS_BY_NAME

    make_output(output)
    log = _Log(output / LOG_NAME, settings)
    style_for = _styles(settings, theme)
    usable = []
    empty: list[str] = []
    for run in discovery.runs:
        try:
            loaded = load_run(run, discovery.name_of(run))
        except NoData as e:
            empty.append(str(e))
            log.line(f"no data: {e}")
            continue
        if bool(loaded.requests["ok"].any()):
            usable.append(loaded)
        else:
            empty.append(f"{loaded.name}: no successful requests")
    if not usable:
        why = "no data to plot: " + "; ".join(empty)
        log.line(why)
        log.write([], [], [])
        raise NoDataToPlot(why)

    jobs: list[_Job] = []
    table = None
    if discovery.mode == "multi":
        table = runs_table(usable)
        jobs += [_Job(n, "table", n, -1, output / f"{n}.png")
                 for n in settings.wanted(settings.values.multi_run)]
    else:
        wanted = settings.wanted(settings.values.single_run)
        reads = {n: PLOTS_BY_NAME[n].reads for n in wanted if n in PLOTS_BY_NAME}
        single = [n for n in wanted if reads.get(n) == "run"]
        for index, each in enumerate(usable):
            folder = output if len(usable) == 1 else output / _safe(each.name)
            for name in single:
                label = name if len(usable) == 1 else f"{each.name}/{name}"
                jobs.append(_Job(label, "run", name, index, folder / f"{name}.png"))
        jobs += [_Job(n, "trials", n, -1, output / f"{n}.png")
                 for n in wanted if reads.get(n) == "trials"]
    global _CONTEXT
    _CONTEXT = _Context(drawings, tuple(usable), table, style_for)
    try:
        outcomes = _run_jobs(jobs)
    finally:
        _CONTEXT = None
    rendered = [o for o in outcomes if isinstance(o, Rendered)]
    skipped = [o for o in outcomes if isinstance(o, Skipped)]
    failed = [o for o in outcomes if isinstance(o, Failed)]
    for job, outcome in zip(jobs, outcomes, strict=True):
        if isinstance(outcome, Failed) and outcome.trace:
            log.trace(job.label, outcome.trace)
        if isinstance(outcome, Rendered):
            progress(job.label)
    log.write(rendered, skipped, failed)
    return PlotReport(output, log.path, tuple(rendered), tuple(skipped), tuple(failed))


def make_output(output: Path) -> Path:
    """Create the output folder (and its parents); a :class:`PlotOutputError` when it
    cannot hold the plots, checked before any figure is drawn so the user learns it in
    one line rather than as one failed plot per PNG."""
    import os

    if output.exists() and not output.is_dir():
        raise PlotOutputError(f"cannot write plots to {output}: it is a file, not a folder")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # e.g. a parent is a file (ENOTDIR) or read-only (EROFS, EACCES)
        raise PlotOutputError(f"cannot write plots to {output}: {e.strerror or e}") from None
    if not os.access(output, os.W_OK):
        raise PlotOutputError(f"cannot write plots to {output}: the folder is not writable")
    return output


@attrs.frozen
class _Job:
    """One PNG to draw: which plot, from which data, to which file."""

    label: str
    reads: str  # "run" (one run), "trials" (every run) or "table" (the runs table)
    name: str
    run: int
    file: Path


@attrs.frozen
class _Context:
    drawings: Mapping[str, Callable[[Any, Any], Any]]
    runs: tuple[Any, ...]
    table: Any
    style_for: Callable[[str], Any]


#: What the jobs draw from; set around a render so forked workers inherit it as is
#: (data frames are never pickled).
_CONTEXT: _Context | None = None


def _run_jobs(jobs: Sequence[_Job]) -> list[Rendered | Skipped | Failed]:
    """Every job's outcome, in order; on several cores the jobs are shared among forked
    worker processes (figures are CPU-bound Python, so threads would not help)."""
    import multiprocessing
    import os

    workers = min(len(jobs), os.cpu_count() or 1, 4)
    if workers < 2 or len(jobs) < 3 or "fork" not in multiprocessing.get_all_start_methods():
        return [_draw_job(job) for job in jobs]
    from concurrent.futures import ProcessPoolExecutor

    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_draw_job, jobs))
    except (OSError, RuntimeError):  # no processes to be had (limits, sandbox): one by one
        return [_draw_job(job) for job in jobs]


def _draw_job(job: _Job) -> Rendered | Skipped | Failed:
    from aiperf.plot.figure import Skip

    context = _CONTEXT
    assert context is not None, "a job runs inside render()"
    style = context.style_for(job.label)
    start = time.perf_counter()
    try:
        draw = context.drawings[job.name]
        if job.reads == "run":
            figure = draw(context.runs[job.run], style)
        elif job.reads == "trials":
            figure = draw(list(context.runs), style)
        else:
            figure = draw(context.table, style)
    except Skip as e:
        return Skipped(job.label, str(e))
    except Exception as e:  # noqa: BLE001 - one broken plot must not stop the others
        return Failed(job.label, f"{type(e).__name__}: {e}", traceback.format_exc())
    try:
        _save(figure, job.file, style.dpi)
    except Exception as e:  # noqa: BLE001 - e.g. a full disk: report it, go on
        return Failed(job.label, f"{type(e).__name__}: {e}", traceback.format_exc())
    return Rendered(job.label, job.file, time.perf_counter() - start)


def _styles(settings: PlotSettings, theme: str | None) -> Callable[[str], Any]:
    from aiperf.plot.theme import Style

    v = settings.values

    def style(name: str) -> Any:
        base = name.rsplit("/", 1)[-1]
        return Style(theme=theme or v.theme, dpi=v.dpi, width=v.width,
                               height=v.height, title=v.titles.get(base))
    return style


def _save(figure: Any, path: Path, dpi: int) -> None:
    from aiperf.artifacts.atomic import write_bytes_atomic

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor=figure.get_facecolor())
    write_bytes_atomic(path, buffer.getvalue())


def _safe(name: str) -> str:
    return name.replace("/", "__").replace("\\", "__") or "run"


class _Log:
    """``aiperf_plot.log``: the plot config used and why, then the three lists."""

    def __init__(self, path: Path, settings: PlotSettings) -> None:
        self.path = path
        stamp = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
        source = settings.source if settings.source is not None else "built-in values"
        self.lines = [f"aiperf plot, {stamp}",
                      f"plot config: {source}",
                      f"  because {settings.reason}"]
        self.traces: list[str] = []

    def line(self, text: str) -> None:
        self.lines.append(text)

    def trace(self, name: str, text: str) -> None:
        self.traces.append(f"--- {name}\n{text}")

    def write(self, rendered: Sequence[Rendered], skipped: Sequence[Skipped],
              failed: Sequence[Failed]) -> None:
        from aiperf.artifacts.atomic import write_text_atomic

        out = list(self.lines)
        out.append(f"rendered ({len(rendered)}):")
        out += [f"  {r.name}: {r.path} ({r.seconds:.2f} s)" for r in rendered]
        out.append(f"skipped ({len(skipped)}):")
        out += [f"  {s.name}: {s.reason}" for s in skipped]
        out.append(f"failed ({len(failed)}):")
        out += [f"  {f.name}: {f.error}" for f in failed]
        if self.traces:
            out.append("tracebacks:")
            out += self.traces
        write_text_atomic(self.path, "\n".join(out) + "\n")
