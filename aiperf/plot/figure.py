"""What every figure is built from: a themed canvas, its title, axis labels and legend,
and measured values written as text.

A figure function is ``(data, Style) -> Figure``, wrapped in :func:`themed_plot`; it
raises :class:`Skip` when a data *source* it needs is absent (``str(skip)`` is the
reason for the log). Figures are built with :class:`matplotlib.figure.Figure`, never
``pyplot``: no global figure registry, no display, and the PNG comes from the Agg canvas.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from aiperf.metric_catalogue import METRICS
from aiperf.plot.registry import TITLES
from aiperf.plot.theme import Style, paint, theme_of, themed

__all__ = [
    "Skip",
    "finish",
    "fmt_load",
    "fmt_value",
    "metric_label",
    "new_figure",
    "new_panels",
    "themed_plot",
    "title_of",
]


class Skip(Exception):
    """The plot cannot be drawn from this data; str(e) is the reason for the log."""


def new_figure(style: Style) -> tuple[Figure, Axes]:
    """A themed figure of ``style``'s size and resolution, with one axes, on the Agg canvas."""
    fig, axes = new_panels(style, 1)
    return fig, axes[0]


def new_panels(style: Style, ncols: int) -> tuple[Figure, list[Axes]]:
    """A themed figure like :func:`new_figure`, with ``ncols`` axes side by side."""
    with themed(style) as theme:
        fig = Figure(figsize=(style.width, style.height), dpi=style.dpi,
                     facecolor=theme.background, edgecolor=theme.background,
                     layout="constrained")
        FigureCanvasAgg(fig)
        axes = list(np.atleast_1d(fig.subplots(1, ncols)))
        for ax in axes:
            paint(ax, theme)
    return fig, axes


def title_of(fig: Figure) -> str:
    """The title of a plot's figure (the suptitle when set, else the first axes' title)."""
    suptitle = fig.get_suptitle()
    return suptitle if suptitle else fig.axes[0].get_title()


def themed_plot(fn: Callable[..., Figure]) -> Callable[..., Figure]:
    """Run a plot function with its style's theme active."""

    @functools.wraps(fn)
    def drawn(data: Any, style: Style) -> Figure:
        with themed(style):
            return fn(data, style)

    return drawn


def finish(fig: Figure, ax: Axes, style: Style, name: str, xlabel: str, ylabel: str,
           *, legend: bool = True, twin: Axes | None = None,
           handles: Sequence[Artist] | None = None) -> Figure:
    """Title, axis labels and one legend (of ``handles``, else the labelled artists of both
    axes)."""
    theme = theme_of(style)
    ax.set_title(style.title if style.title is not None else TITLES[name])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    paint(ax, theme)
    if twin is not None:
        twin.tick_params(colors=theme.text, labelcolor=theme.text)
        twin.yaxis.label.set_color(theme.text)
        twin.grid(False)
    axes = [ax] if twin is None else [ax, twin]
    for each in axes:
        old = each.get_legend()
        if old is not None:
            old.remove()
    if legend:
        found: list[Artist] = list(handles or [])
        labels = [str(h.get_label()) for h in found]
        for each in axes if handles is None else []:
            h, lab = each.get_legend_handles_labels()
            found += h
            labels += lab
        if found:
            (twin or ax).legend(found, labels, loc=_legend_place(axes), fontsize="small")
    return fig


def _legend_place(axes: Sequence[Axes]) -> Literal["best", "upper right"]:
    """``best`` unless there are many points: it tests every one (2 s for 100,000)."""
    points = 0
    for ax in axes:
        points += sum(np.size(line.get_xdata()) for line in ax.lines)
        points += sum(np.size(c.get_offsets()) // 2 for c in ax.collections)
    return "best" if points <= 5000 else "upper right"


def fmt_value(value: float) -> str:
    """A short, deterministic rendering of a measured value."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def fmt_load(value: float) -> str:
    """A load (concurrency, request rate) as written on an axis: ``4``, ``2.5``."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


#: Units as the summary JSON writes them, shortened for axis labels.
_UNIT_WORDS = {"requests/sec": "requests/s", "tokens/sec": "tokens/s",
               "tokens/sec/user": "tokens/s/user"}

#: Axis wording and unit of each metric tag in the multi-run table: the catalogue's
#: metrics with a plot label, and a tag of the reference's that we do not report.
_TAGS: Mapping[str, tuple[str, str | None]] = MappingProxyType({
    **{m.tag: (m.plot_label, _UNIT_WORDS.get(m.unit, m.unit))
       for m in METRICS if m.plot_label is not None},
    "output_token_throughput_per_gpu": ("output token throughput per GPU", "tokens/s/GPU"),
})


def metric_label(tag: str, stat: str, unit: str | None = None) -> str:
    """``time to first token p50 (ms)``: the metric, the statistic plotted, the unit."""
    words, default_unit = _TAGS.get(tag, (tag.replace("_", " "), None))
    unit = _UNIT_WORDS.get(unit, unit) if unit else default_unit
    return f"{words} {stat} ({unit})" if unit else f"{words} {stat}"
