"""Auto-plot: render a finished run's plots into ``<artifact_dir>/plots`` in-process.

Called by ``aiperf profile`` after a run that finished (exit 0), when the resolved
``benchmark.artifacts.auto_plot`` is on. PNG, light theme unless the plot config says
otherwise, the plot config the engine chose (``benchmark.artifacts.plot_config``). A
``plot:`` envelope is first written to ``<artifact_dir>/.aiperf-plot-config.yaml`` so
that ``aiperf plot <artifact_dir>`` later draws the same plots without the original YAML.
When the plot config says ``html: true``, the self-contained HTML report
(:mod:`aiperf.report.page`) is written beside the PNGs too.

Failures never touch the run's artifacts. Without ``plot_required`` they become one
WARNING line and the run still exits 0; with it, any failed plot, zero rendered plots,
or no data at all make the run fail with the cause.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from aiperf.config.plot_config import PLOT_FIELDS_BY_KEY, RECEIPT_NAME
from aiperf.config.provenance import Resolved

log = logging.getLogger("aiperf.plot.auto_plot")


class AutoPlotFailed(Exception):
    """Auto-plot failed and ``plot_required`` is set: the run must not count as a success."""


@attrs.frozen
class AutoPlotOutcome:
    """What auto-plot did: its one-line summary, or the failure it reported."""

    summary: str | None
    failure: str | None


def materialize_envelope(resolved: Resolved, artifact_dir: Path) -> Path | None:
    """Write the run's ``plot:`` envelope (with every key filled in) into the artifact
    directory; its path, or None when the run has no envelope."""
    from aiperf.artifacts.atomic import write_text_atomic
    from aiperf.config.schema import yaml_quote

    spec = resolved.config.plot
    if spec is None:
        return None
    s = spec.settings
    source = spec.source or "an inline plot: section"
    lines = [f"# The plot: envelope of this run (from {source}), with every key filled in.",
             "# `aiperf plot` reads it for this directory unless --config is given."]
    for key in PLOT_FIELDS_BY_KEY:
        value = getattr(s, key)
        if isinstance(value, tuple | list | Mapping) and not value:
            # Block YAML has no empty list or mapping (flow style is refused): an absent
            # key reads back as the same empty default.
            lines.append(f"# {key}: (none)")
        elif isinstance(value, tuple | list):
            lines.append(f"{key}:")
            lines += [f"  - {yaml_quote(v)}" for v in value]
        elif isinstance(value, Mapping):
            lines.append(f"{key}:")
            lines += [f"  {yaml_quote(k)}: {yaml_quote(v)}" for k, v in value.items()]
        else:
            lines.append(f"{key}: {yaml_quote(str(value)) if isinstance(value, str) else value}")
    path = artifact_dir / RECEIPT_NAME
    write_text_atomic(path, "\n".join(lines) + "\n")
    return path


def auto_plot(resolved: Resolved, artifact_dir: Path, environ: Mapping[str, str] | None = None,
              notice: Callable[[str], None] = lambda _: None,
              render: Callable[..., Any] | None = None) -> AutoPlotOutcome:
    """Plot the finished run in ``artifact_dir``.

    Returns the outcome; raises :class:`AutoPlotFailed` when plotting failed and
    ``benchmark.artifacts.plot_required`` is set. ``render`` replaces the renderer (tests
    inject a failing one).
    """
    from aiperf.config.errors import ConfigErrors
    from aiperf.plot.discover import discover
    from aiperf.plot.settings import load_settings

    environ = dict(os.environ) if environ is None else environ
    required = resolved.config.benchmark.artifacts.plot_required
    output = artifact_dir / "plots"
    try:
        materialize_envelope(resolved, artifact_dir)
        settings = load_settings(resolved, artifact_dir, environ, notice)
        if render is None:
            from aiperf.plot.render import render as render_plots

            # The first plot on a machine builds matplotlib's font cache: say so.
            render = functools.partial(render_plots, notice=notice)
        found = discover([artifact_dir])
        for note in found.notes:
            notice(note)
        report = render(found, settings, output)
        problem = None
        if report.failed:
            names = ", ".join(f.name for f in report.failed)
            problem = f"{len(report.failed)} plot(s) failed ({names})"
        elif not report.rendered:
            problem = "no plot was rendered"
        if problem is None and settings.values.html:
            from aiperf.report.page import write_report

            written = write_report(found, output, notice=notice)
            return AutoPlotOutcome(f"{report.summary()}; {written.summary()}", None)
        if problem is None:
            return AutoPlotOutcome(report.summary(), None)
    except ConfigErrors as e:
        problem = "; ".join(err.render() if hasattr(err, "render") else str(err)
                            for err in e.errors)
        report = None
    except Exception as e:  # noqa: BLE001 - any plotting error is reported, never a crash
        problem = f"{type(e).__name__}: {e}" if not _user_facing(e) else str(e)
        report = None
    if required:
        raise AutoPlotFailed(f"auto-plot failed (--plot-required): {problem}; see "
                             f"{output / 'aiperf_plot.log'}; the run's artifacts are intact "
                             f"at {artifact_dir}")
    log.warning("auto-plot failed (run artifacts intact at %s): %s; see %s for details. "
                "Re-run `aiperf plot %s` manually if needed.", artifact_dir, problem,
                output / "aiperf_plot.log", artifact_dir)
    return AutoPlotOutcome(report.summary() if report is not None else None, problem)


def _user_facing(e: Exception) -> bool:
    from aiperf.plot.discover import PlotInputError
    from aiperf.plot.render import NoDataToPlot, PlotOutputError, PlottingUnavailable
    from aiperf.report.page import NoReportData

    return isinstance(e, NoDataToPlot | PlottingUnavailable | PlotInputError | PlotOutputError
                      | NoReportData)
