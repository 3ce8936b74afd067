"""The figure catalogue: one function per plot name, drawn with seaborn on matplotlib.

Every plot is a function ``(data, Style) -> Figure``:

- :data:`SINGLE` maps each single-run plot name (``SINGLE_RUN_PLOTS`` less
  ``trial_spread``) to a function of one loaded run;
- :data:`TRIALS` maps ``trial_spread`` to a function of the trials of one configuration;
- :data:`MULTI` maps each multi-run plot name to a function of the multi-run table (one
  row per run, ``<tag>_<stat>`` columns).

A function raises :class:`Skip` when a data *source* it needs is absent (no TTFT in a
non-streaming run, no timeslice export, no GPU telemetry, fewer than two comparable
runs); ``str(skip)`` is the reason for the log. A run with no successful request is not
a missing source: it raises ``ValueError``, which the caller counts as a failure.

Figures are built with :class:`matplotlib.figure.Figure`, never ``pyplot``: no global
figure registry, no display, and the PNG comes from the Agg canvas. The theme is applied
per figure, inside ``matplotlib.rc_context`` held under a module lock, and the colours
that matter are also set explicitly on every axes, so nothing leaks into rcParams.

Deliberate differences from the reference (AIPerf 0.13, spec section 3): axes are
labelled with the statistic actually plotted (``time to first token p50 (ms)``), the
requested statistic is the one used, and repeated trials get Student-t intervals.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs
import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from cycler import cycler
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

if TYPE_CHECKING:
    # Only the type: any object with LoadedRun's attributes draws (tests use stand-ins).
    from aiperf.plot.frames import LoadedRun as LoadedRunLike

__all__ = [
    "KNEE_THRESHOLD",
    "MULTI",
    "SINGLE",
    "TITLES",
    "TRIALS",
    "TRIAL_METRICS",
    "Skip",
    "Style",
    "new_figure",
    "pareto_front",
    "title_of",
]


class Skip(Exception):
    """The plot cannot be drawn from this data; str(e) is the reason for the log."""


@attrs.frozen
class Style:
    """How a figure looks: theme, resolution, size in inches and an optional title."""

    theme: str = "light"  # "light" | "dark" (THEMES)
    dpi: int = 150
    width: float = 10.0  # inches
    height: float = 6.0
    title: str | None = None  # overrides the plot's default title (TITLES)


# --------------------------------------------------------------------------- theme

@attrs.frozen
class _Theme:
    background: str  # the figure
    panel: str  # inside the axes
    text: str
    grid: str
    palette: tuple[str, ...]


_NVIDIA_GREEN = "#76b900"


def _palette(name: str) -> tuple[str, ...]:
    """NVIDIA green first, then a seaborn palette without its own green (index 2)."""
    colours = sns.color_palette(name).as_hex()
    return (_NVIDIA_GREEN, *(c for i, c in enumerate(colours) if i != 2))


_THEMES: Mapping[str, _Theme] = MappingProxyType({
    "light": _Theme("#ffffff", "#ffffff", "#0a0a0a", "#cccccc", _palette("deep")),
    "dark": _Theme("#1a1a1a", "#252525", "#e0e0e0", "#333333", _palette("bright")),
})

#: rcParams changes are process-wide; plot functions hold this while theirs are active.
_RC_LOCK = threading.RLock()


def _theme(style: Style) -> _Theme:
    try:
        return _THEMES[style.theme]
    except KeyError:
        msg = f"unknown theme {style.theme!r}; expected one of {', '.join(_THEMES)}"
        raise ValueError(msg) from None


def _rc(theme: _Theme) -> dict[str, Any]:
    rc: dict[str, Any] = dict(sns.axes_style("whitegrid"))
    rc.update(sns.plotting_context("notebook", font_scale=0.9))
    rc.update({
        "figure.facecolor": theme.background,
        "figure.edgecolor": theme.background,
        "savefig.facecolor": theme.background,
        "savefig.edgecolor": theme.background,
        "axes.facecolor": theme.panel,
        "axes.edgecolor": theme.grid,
        "axes.labelcolor": theme.text,
        "axes.titlecolor": theme.text,
        "axes.grid": True,
        "axes.prop_cycle": cycler(color=list(theme.palette)),
        "text.color": theme.text,
        "xtick.color": theme.text,
        "ytick.color": theme.text,
        "xtick.labelcolor": theme.text,
        "ytick.labelcolor": theme.text,
        "grid.color": theme.grid,
        "legend.facecolor": theme.panel,
        "legend.edgecolor": theme.grid,
        "legend.labelcolor": theme.text,
        "legend.framealpha": 0.85,
        "patch.edgecolor": theme.panel,
        "lines.solid_capstyle": "butt",
    })
    return rc


@contextmanager
def _themed(style: Style) -> Iterator[_Theme]:
    theme = _theme(style)
    with _RC_LOCK, mpl.rc_context(_rc(theme)):
        yield theme


def new_figure(style: Style) -> tuple[Figure, Axes]:
    """A themed figure of ``style``'s size and resolution, with one axes, on the Agg canvas."""
    fig, axes = _figure(style, 1)
    return fig, axes[0]


def _figure(style: Style, ncols: int) -> tuple[Figure, list[Axes]]:
    with _themed(style) as theme:
        fig = Figure(figsize=(style.width, style.height), dpi=style.dpi,
                     facecolor=theme.background, edgecolor=theme.background,
                     layout="constrained")
        FigureCanvasAgg(fig)
        axes = list(np.atleast_1d(fig.subplots(1, ncols)))
        for ax in axes:
            _paint(ax, theme)
    return fig, axes


def _paint(ax: Axes, theme: _Theme) -> None:
    """Set the theme's colours on ``ax`` explicitly (they then survive any rcParams)."""
    ax.set_facecolor(theme.panel)
    for spine in ax.spines.values():
        spine.set_color(theme.grid)
    ax.tick_params(colors=theme.text, labelcolor=theme.text, grid_color=theme.grid)
    ax.xaxis.label.set_color(theme.text)
    ax.yaxis.label.set_color(theme.text)
    ax.title.set_color(theme.text)


def title_of(fig: Figure) -> str:
    """The title of a catalogue figure (the suptitle when set, else the first axes' title)."""
    suptitle = fig.get_suptitle()
    return suptitle if suptitle else fig.axes[0].get_title()


def _plot(fn: Callable[..., Figure]) -> Callable[..., Figure]:
    """Run a plot function with its style's theme active."""

    @functools.wraps(fn)
    def themed(data: Any, style: Style) -> Figure:
        with _themed(style):
            return fn(data, style)

    return themed


def _finish(fig: Figure, ax: Axes, style: Style, name: str, xlabel: str, ylabel: str,
            *, legend: bool = True, twin: Axes | None = None,
            handles: Sequence[Artist] | None = None) -> Figure:
    """Title, axis labels and one legend (of ``handles``, else the labelled artists of both
    axes)."""
    theme = _theme(style)
    ax.set_title(style.title if style.title is not None else TITLES[name])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    _paint(ax, theme)
    if twin is not None:
        twin.tick_params(colors=theme.text, labelcolor=theme.text)
        twin.yaxis.label.set_color(theme.text)
        twin.grid(False)
    axes = [ax] if twin is None else [ax, twin]
    for each in axes:
        if each.get_legend() is not None:
            each.get_legend().remove()
    if legend:
        found: list[Artist] = list(handles or [])
        labels = [h.get_label() for h in found]
        for each in axes if handles is None else []:
            h, lab = each.get_legend_handles_labels()
            found += h
            labels += lab
        if found:
            (twin or ax).legend(found, labels, loc=_legend_place(axes), fontsize="small")
    return fig


def _legend_place(axes: Sequence[Axes]) -> str:
    """``best`` unless there are many points: it tests every one (2 s for 100,000)."""
    points = 0
    for ax in axes:
        points += sum(len(line.get_xdata()) for line in ax.lines)
        points += sum(len(c.get_offsets()) for c in ax.collections)
    return "best" if points <= 5000 else "upper right"


# --------------------------------------------------------------------------- titles

#: Default title of every plot (``Style.title`` overrides it).
TITLES: Mapping[str, str] = MappingProxyType({
    "ttft_over_time": "Time to first token per request",
    "ttft_timeline": "Request timeline: time to first token, then generation",
    "itl_over_time": "Inter-token latency per request",
    "ttft_distribution": "Distribution of time to first token",
    "itl_distribution": "Distribution of inter-token latency",
    "request_latency_distribution": "Distribution of request latency",
    "throughput_over_time": "Output token throughput over time",
    "concurrency_over_time": "Requests in flight over time",
    "timeslices_ttft": "Time to first token per time slice (avg)",
    "timeslices_itl": "Inter-token latency per time slice (avg)",
    "gpu_utilization_and_throughput_over_time":
        "GPU utilisation and output token throughput over time",
    "trial_spread": "Spread across trials (mean and 95% t-interval)",
    "ttft_vs_throughput": "Time to first token vs output token throughput",
    "itl_vs_throughput_per_user": "Inter-token latency vs output token throughput per user",
    "latency_percentiles_vs_concurrency": "Request latency percentiles vs concurrency",
    "throughput_vs_concurrency": "Throughput vs concurrency",
    "concurrency_knee": "Concurrency knee: request latency p99 vs concurrency",
    "prefill_ttft_fit": "Prefill: time to first token vs input sequence length",
    "decode_itl_surface": "Decode: inter-token latency by concurrency and output length",
    "sla_boundary": "SLA boundary: throughput and SLA verdict vs concurrency",
    "pareto_frontier": "Pareto frontier: output token throughput vs request latency",
})


# --------------------------------------------------------------------------- statistics

#: Student-t 0.975 quantiles for 1..30 degrees of freedom (two-sided 95%).
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
         2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
         2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def _t975(df: int) -> float:
    """The 0.975 quantile of Student's t (a table to 30, a Cornish-Fisher series beyond)."""
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959963984540054
    return (z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3))


def _t_interval(values: Any) -> tuple[float, float]:
    """The 95% Student-t interval of the mean (zero width for a single value)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    mean = float(v.mean())
    if len(v) < 2:
        return mean, mean
    half = _t975(len(v) - 1) * float(v.std(ddof=1)) / math.sqrt(len(v))
    return mean - half, mean + half


def _fmt(value: float) -> str:
    """A short, deterministic rendering of a measured value."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _fmt_load(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# --------------------------------------------------------------------------- single-run data

@attrs.frozen
class _Metric:
    column: str  # in ``requests``
    label: str  # axis wording
    header: str  # the timeslice export's display header
    skip: str


_TTFT = _Metric("ttft_ms", "time to first token", "Time to First Token",
                "needs time to first token, which only streaming runs record")
_ITL = _Metric("itl_ms", "inter-token latency", "Inter Token Latency",
               "needs inter-token latency, which only streaming runs record")
_LATENCY = _Metric("latency_ms", "request latency", "Request Latency",
                   "needs request latency, which this run did not record")

_NO_TIMESLICES = "needs a timeslice export: run aiperf profile with --slice-duration"
_NO_GPU = "needs GPU telemetry, which this run did not record"
_NO_OSL = "needs output token counts, which this run did not record"
_NO_RECORDS = "needs per-request records (profile_export.jsonl), which this run did not export"

#: Above this many requests the timeline is one LineCollection per part, not bars.
#: Each collection is then a single NaN-broken polyline with one bar per request.
_TIMELINE_BARS_MAX = 2000


def _ok_requests(run: LoadedRunLike) -> pd.DataFrame:
    """The run's successful requests; ValueError when there are none."""
    requests = run.requests
    if requests is None:
        raise Skip(_NO_RECORDS)
    if "ok" in requests.columns:
        requests = requests[requests["ok"].fillna(False).astype(bool)]
    if requests.empty:
        msg = f"no successful requests to plot in {run.name}"
        raise ValueError(msg)
    return requests


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def _per_request(run: LoadedRunLike, metric: _Metric) -> tuple[np.ndarray, np.ndarray]:
    """(request_number, value) of successful requests that have the metric, in order."""
    ok = _ok_requests(run)
    values = _numeric(ok, metric.column)
    has = ~np.isnan(values)
    if not has.any():
        raise Skip(metric.skip)
    numbers = _numeric(ok, "request_number")[has]
    values = values[has]
    order = np.argsort(numbers, kind="stable")
    return numbers[order], values[order]


def _rolling_window(n: int) -> int:
    """Requests per rolling-median window: 1% of the run, at least 10, at most all of it."""
    return max(1, min(n, max(10, n // 100)))


def _dispersed_throughput(ok: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Output tokens/s in 1 s bins: each request's tokens spread evenly over its generation.

    Generation runs from ``start + TTFT`` (``start`` when there is no TTFT) to ``end``. The
    tokens a request puts in bin ``[k, k+1)`` are ``rate * overlap``; summed over requests
    that is ``F(k+1) - F(k)`` with ``F(t) = sum rate * (max(0, t-s) - max(0, t-e))``, which
    is evaluated on the integer grid with two bincounts and cumulative sums (exact, O(n)).
    The last bin is divided by the part of it the run covered. Returns (bin start, tokens/s).
    """
    osl = _numeric(ok, "osl")
    start = _numeric(ok, "start_s")
    end = _numeric(ok, "end_s")
    ttft = _numeric(ok, "ttft_ms")
    if np.isnan(osl).all():
        raise Skip(_NO_OSL)
    gen = start + np.where(np.isnan(ttft), 0.0, ttft / 1000.0)
    gen = np.minimum(gen, end)
    keep = ~(np.isnan(osl) | np.isnan(start) | np.isnan(end)) & (osl > 0)
    run_end = float(np.nanmax(end)) if np.isfinite(end).any() else 0.0
    nbins = max(1, math.ceil(run_end))
    grid = np.arange(nbins + 1, dtype=float)
    total = np.zeros(nbins + 1)
    s, e, tokens = gen[keep], end[keep], osl[keep]
    instant = e <= s  # no generation window: all tokens land at ``e``
    rate = np.where(instant, 0.0, tokens / np.where(instant, 1.0, e - s))
    for points, weights in ((s, rate), (e, -rate)):
        # Points with p < k contribute w * (k - p) to F(k); p falls first in k = floor(p) + 1.
        idx = np.clip(np.floor(points).astype(np.int64) + 1, 0, nbins + 1)
        w = np.bincount(idx, weights=weights, minlength=nbins + 2)[: nbins + 1]
        wp = np.bincount(idx, weights=weights * points, minlength=nbins + 2)[: nbins + 1]
        total += grid * np.cumsum(w) - np.cumsum(wp)
    per_bin = np.diff(total)
    if instant.any():
        idx = np.clip(np.floor(e[instant]).astype(np.int64), 0, nbins - 1)
        per_bin += np.bincount(idx, weights=tokens[instant], minlength=nbins)
    width = np.ones(nbins)
    width[-1] = max(run_end - (nbins - 1), 1e-9) if run_end > 0 else 1.0
    return grid[:-1], np.maximum(per_bin / width, 0.0)


# --------------------------------------------------------------------------- single-run plots

def _over_time(run: LoadedRunLike, style: Style, name: str, metric: _Metric) -> Figure:
    numbers, values = _per_request(run, metric)
    fig, ax = new_figure(style)
    n = len(values)
    sns.scatterplot(x=numbers, y=values, ax=ax, s=14 if n <= 2000 else 4, alpha=0.6,
                    linewidth=0, label="request")
    window = _rolling_window(n)
    p50 = pd.Series(values).rolling(window, min_periods=1, center=True).median()
    sns.lineplot(x=numbers, y=p50.to_numpy(), ax=ax, estimator=None, color=_theme(style).text,
                 linewidth=1.5, label=f"rolling p50 ({window} requests)")
    return _finish(fig, ax, style, name, "request number", f"{metric.label} (ms)")


@_plot
def ttft_over_time(run: LoadedRunLike, style: Style) -> Figure:
    """TTFT of each successful request against its number, with a rolling median."""
    return _over_time(run, style, "ttft_over_time", _TTFT)


@_plot
def itl_over_time(run: LoadedRunLike, style: Style) -> Figure:
    """Mean inter-token latency of each successful request, with a rolling median."""
    return _over_time(run, style, "itl_over_time", _ITL)


@_plot
def ttft_timeline(run: LoadedRunLike, style: Style) -> Figure:
    """One bar per request: start to first token, then first token to end."""
    ok = _ok_requests(run)
    ttft = _numeric(ok, "ttft_ms")
    if np.isnan(ttft).all():
        raise Skip(_TTFT.skip)
    has = ~np.isnan(ttft)
    y = _numeric(ok, "request_number")[has]
    start = _numeric(ok, "start_s")[has]
    end = _numeric(ok, "end_s")[has]
    first = np.minimum(start + ttft[has] / 1000.0, end)
    fig, ax = new_figure(style)
    palette = _theme(style).palette
    labels = ("time to first token", "generation (first token to end)")
    proxies = None
    if len(y) <= _TIMELINE_BARS_MAX:
        ax.barh(y, first - start, left=start, height=0.8, color=palette[0], linewidth=0,
                label=labels[0])
        ax.barh(y, end - first, left=first, height=0.8, color=palette[1], linewidth=0,
                label=labels[1])
    else:
        span = float(np.nanmax(y) - np.nanmin(y) + 1)
        width = float(np.clip(0.8 * style.height * 72 * 0.8 / span, 0.05, 4.0))
        for a, b, colour, label in ((start, first, palette[0], labels[0]),
                                    (first, end, palette[1], labels[1])):
            # One polyline per part, its requests' bars separated by NaN breaks (which the
            # renderer skips): a Path object per request would cost ~1 s per 100,000.
            gap = np.full_like(y, np.nan)
            line = np.column_stack([np.column_stack([a, b, gap]).ravel(),
                                    np.column_stack([y, y, gap]).ravel()])
            ax.add_collection(LineCollection([line], colors=colour, linewidths=width,
                                             capstyle="butt", label=label), autolim=False)
        # The limits from the data directly: the collection's own extent walks every path.
        ax.update_datalim([(float(np.nanmin(start)), float(np.nanmin(y)) - 0.5),
                           (float(np.nanmax(end)), float(np.nanmax(y)) + 0.5)])
        ax.autoscale_view()
        proxies = [Patch(color=palette[0], label=labels[0]),
                   Patch(color=palette[1], label=labels[1])]
    return _finish(fig, ax, style, "ttft_timeline", "seconds since start", "request number",
                   handles=proxies)


def _distribution(run: LoadedRunLike, style: Style, name: str, metric: _Metric) -> Figure:
    _, values = _per_request(run, metric)
    edges = np.histogram_bin_edges(values, bins="auto")
    if len(edges) > 101:
        edges = np.histogram_bin_edges(values, bins=100)
    fig, ax = new_figure(style)
    palette = _theme(style).palette
    sns.histplot(x=values, bins=edges, ax=ax, color=palette[0], alpha=0.75)
    for (p, style_), colour in zip(((50, "--"), (90, "-."), (99, ":")), palette[1:],
                                   strict=False):
        at = float(np.percentile(values, p))
        ax.axvline(at, color=colour, linestyle=style_, linewidth=1.8,
                   label=f"p{p} = {_fmt(at)} ms")
    return _finish(fig, ax, style, name, f"{metric.label} (ms)", "requests")


@_plot
def ttft_distribution(run: LoadedRunLike, style: Style) -> Figure:
    """Histogram of TTFT with its p50, p90 and p99."""
    return _distribution(run, style, "ttft_distribution", _TTFT)


@_plot
def itl_distribution(run: LoadedRunLike, style: Style) -> Figure:
    """Histogram of per-request inter-token latency with its p50, p90 and p99."""
    return _distribution(run, style, "itl_distribution", _ITL)


@_plot
def request_latency_distribution(run: LoadedRunLike, style: Style) -> Figure:
    """Histogram of request latency with its p50, p90 and p99."""
    return _distribution(run, style, "request_latency_distribution", _LATENCY)


def _throughput_line(ax: Axes, ok: pd.DataFrame, colour: str) -> None:
    """The step line of :func:`_dispersed_throughput`, its last bin drawn to the run's end."""
    t, tps = _dispersed_throughput(ok)
    ends = _numeric(ok, "end_s")
    run_end = float(np.nanmax(ends)) if np.isfinite(ends).any() else t[-1] + 1.0
    t, tps = np.append(t, min(max(run_end, t[-1]), t[-1] + 1.0)), np.append(tps, tps[-1])
    sns.lineplot(x=t, y=tps, ax=ax, estimator=None, drawstyle="steps-post", color=colour,
                 linewidth=1.5, label="output tokens/s")
    ax.fill_between(t, tps, step="post", color=colour, alpha=0.2, linewidth=0)


@_plot
def throughput_over_time(run: LoadedRunLike, style: Style) -> Figure:
    """Output tokens/s in 1 s bins, each request's tokens spread over its generation."""
    ok = _ok_requests(run)
    fig, ax = new_figure(style)
    _throughput_line(ax, ok, _theme(style).palette[0])
    ax.set_ylim(bottom=0)
    return _finish(fig, ax, style, "throughput_over_time", "seconds since start",
                   "output tokens/s")


@_plot
def concurrency_over_time(run: LoadedRunLike, style: Style) -> Figure:
    """Requests in flight (sent and not yet finished, whatever their outcome) over time."""
    _ok_requests(run)
    requests = run.requests
    start = _numeric(requests, "start_s")
    end = _numeric(requests, "end_s")
    keep = ~(np.isnan(start) | np.isnan(end))
    times = np.concatenate([start[keep], end[keep]])
    steps = np.concatenate([np.ones(keep.sum()), -np.ones(keep.sum())])
    order = np.lexsort((steps, times))  # at equal times, ends before starts
    times, level = times[order], np.cumsum(steps[order])
    fig, ax = new_figure(style)
    theme = _theme(style)
    sns.lineplot(x=np.concatenate([[0.0], times]), y=np.concatenate([[0.0], level]), ax=ax,
                 estimator=None, sort=False, drawstyle="steps-post", color=theme.palette[0],
                 linewidth=1.5, label="requests in flight")
    if run.concurrency:
        ax.axhline(run.concurrency, color=theme.text, linestyle="--", linewidth=1,
                   label=f"configured concurrency = {run.concurrency}")
    ax.set_ylim(bottom=0)
    return _finish(fig, ax, style, "concurrency_over_time", "seconds since start",
                   "requests in flight")


def _timeslices(run: LoadedRunLike, style: Style, name: str, metric: _Metric) -> Figure:
    slices = run.timeslices
    if slices is None:
        raise Skip(_NO_TIMESLICES)
    rows = slices[(slices["metric"] == metric.header) & (slices["stat"] == "avg")]
    rows = rows.assign(value=pd.to_numeric(rows["value"], errors="coerce")).dropna(
        subset=["value"]).sort_values("slice", kind="stable")
    if rows.empty:
        raise Skip(f"{metric.skip} (no {metric.header!r} avg in the timeslice export)")
    units = rows["unit"].dropna()
    unit = str(units.iloc[0]) if len(units) else "ms"
    ticks = [f"{int(s)}\n{_fmt_load(a)}-{_fmt_load(b)} s"
             for s, a, b in zip(rows["slice"], rows["start_s"], rows["end_s"], strict=True)]
    fig, ax = new_figure(style)
    sns.barplot(x=ticks, y=rows["value"].to_numpy(), order=ticks, ax=ax, errorbar=None,
                color=_theme(style).palette[0])
    every = max(1, math.ceil(len(ticks) / 20))
    for i, label in enumerate(ax.get_xticklabels()):
        label.set_visible(i % every == 0)
    return _finish(fig, ax, style, name, "time slice (index, seconds since start)",
                   f"{metric.label} avg ({unit})", legend=False)


@_plot
def timeslices_ttft(run: LoadedRunLike, style: Style) -> Figure:
    """Average TTFT of each time slice of the timeslice export."""
    return _timeslices(run, style, "timeslices_ttft", _TTFT)


@_plot
def timeslices_itl(run: LoadedRunLike, style: Style) -> Figure:
    """Average inter-token latency of each time slice of the timeslice export."""
    return _timeslices(run, style, "timeslices_itl", _ITL)


#: Columns that identify a GPU, most specific first (telemetry records carry uuid and index).
_GPU_ID_COLUMNS = ("gpu_uuid", "gpu_index", "gpu_id", "gpu")
#: Where a GPU lives, to tell apart two machines' GPU 0.
_GPU_HOST_COLUMNS = ("hostname", "dcgm_url", "endpoint_url", "endpoint")
_NO_UTILISATION = "needs GPU utilisation in the GPU telemetry, which this run did not record"


def _gpu_series(run: LoadedRunLike, gpu: pd.DataFrame,
                ) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, seconds since start, percent) per GPU and utilisation column, time-ordered.

    Columns whose name contains ``gpu_utilization`` are utilisation; ``gpu_uuid`` (else
    ``gpu_index``, ``gpu_id``, ``gpu``) splits the rows per GPU, labelled ``GPU <index>``,
    with the host added when two GPUs share an index. Epoch-second timestamps (above 1e8)
    are moved onto the requests' clock (seconds since the first request started).
    """
    columns = [c for c in gpu.columns if "gpu_utilization" in str(c)]
    if not columns or "timestamp_s" not in gpu.columns:
        raise Skip(_NO_UTILISATION)
    t = _numeric(gpu, "timestamp_s")
    if not np.isfinite(t).any():
        raise Skip(_NO_UTILISATION)
    requests = run.requests
    if np.nanmedian(t) > 1e8 and requests is not None and "start_ns" in requests.columns:
        t = t - float(pd.to_numeric(requests["start_ns"]).min()) / 1e9
    groups = _gpu_groups(gpu)
    series = []
    for column in columns:
        util = _numeric(gpu, column)
        for name, rows in groups:
            if name is None:
                label = "GPU utilisation" if len(columns) == 1 else str(column)
            else:
                label = f"{name} utilisation"
                if len(columns) > 1:
                    label = f"{label} ({column})"
            x, y = t[rows], util[rows]
            has = ~(np.isnan(x) | np.isnan(y))
            if has.any():
                order = np.argsort(x[has], kind="stable")
                series.append((label, x[has][order], y[has][order]))
    if not series:
        raise Skip(_NO_UTILISATION)
    return series


def _gpu_groups(gpu: pd.DataFrame) -> list[tuple[str | None, np.ndarray]]:
    """(``GPU <index>`` or None for a single unnamed GPU, row mask) per GPU, in index order."""
    key = next((c for c in _GPU_ID_COLUMNS if c in gpu.columns), None)
    if key is None or gpu[key].nunique() < 1:
        return [(None, np.ones(len(gpu), dtype=bool))]
    shown = "gpu_index" if "gpu_index" in gpu.columns else key
    host = next((c for c in _GPU_HOST_COLUMNS if c in gpu.columns), None)
    found = []
    for value in pd.unique(gpu[key].dropna()):
        rows = (gpu[key] == value).to_numpy()
        index = gpu[shown][rows].iloc[0]
        found.append((index, gpu[host][rows].iloc[0] if host else value, rows))
    names = [f"GPU {index}" for index, _, _ in found]
    if len(set(names)) < len(names):
        names = [f"GPU {index} on {where}" for index, where, _ in found]
    order = sorted(range(len(found)), key=lambda i: (str(found[i][1]), str(found[i][0])))
    return [(names[i], found[i][2]) for i in order]


@_plot
def gpu_utilization_and_throughput_over_time(run: LoadedRunLike, style: Style) -> Figure:
    """Output tokens/s (left axis) and each GPU's utilisation (right axis) over time."""
    gpu = run.gpu
    if gpu is None or gpu.empty:
        raise Skip(_NO_GPU)
    series = _gpu_series(run, gpu)
    ok = _ok_requests(run)
    theme = _theme(style)
    fig, ax = new_figure(style)
    _throughput_line(ax, ok, theme.palette[0])
    ax.set_ylim(bottom=0)
    twin = ax.twinx()
    top = 100.0
    for (label, x, y), colour in zip(series, theme.palette[1:] * 8, strict=False):
        sns.lineplot(x=x, y=y, ax=twin, estimator=None, sort=False, color=colour,
                     linewidth=1.2, label=label)
        top = max(top, float(y.max()) * 1.05)
    twin.set_ylim(0, top)
    twin.set_ylabel("GPU utilisation (%)")
    return _finish(fig, ax, style, "gpu_utilization_and_throughput_over_time",
                   "seconds since start", "output tokens/s", twin=twin)


# --------------------------------------------------------------------------- trials

#: (tag, stat) drawn by ``trial_spread``, one panel each.
TRIAL_METRICS: tuple[tuple[str, str], ...] = (
    ("time_to_first_token", "p50"),
    ("time_to_first_token", "p99"),
    ("inter_token_latency", "p50"),
    ("request_latency", "p50"),
    ("request_throughput", "avg"),
)


def _summary_value(run: LoadedRunLike, tag: str, stat: str) -> tuple[float, str | None]:
    block = (run.summary or {}).get(tag)
    if not isinstance(block, Mapping) or block.get(stat) is None:
        return math.nan, None
    try:
        return float(block[stat]), block.get("unit")
    except (TypeError, ValueError):
        return math.nan, None


@_plot
def trial_spread(runs: Sequence[LoadedRunLike], style: Style) -> Figure:
    """Each trial's value of key summary metrics, with their mean and 95% t-interval."""
    runs = list(runs)
    if len(runs) < 2:
        raise Skip(f"needs at least 2 trials of one configuration; got {len(runs)}")
    panels = []
    for tag, stat in TRIAL_METRICS:
        found = [_summary_value(run, tag, stat) for run in runs]
        values = np.array([v for v, _ in found])
        if (~np.isnan(values)).sum() >= 2:
            unit = next((u for _, u in found if u), None)
            panels.append((tag, stat, unit, values))
    if not panels:
        wanted = ", ".join(f"{tag} {stat}" for tag, stat in TRIAL_METRICS)
        raise Skip(f"needs at least 2 trials with any of {wanted} in their summaries")
    theme = _theme(style)
    fig, axes = _figure(style, len(panels))
    fig.suptitle(style.title if style.title is not None else TITLES["trial_spread"],
                 color=theme.text)
    positions = np.arange(1, len(runs) + 1)
    for ax, (tag, stat, unit, values) in zip(axes, panels, strict=True):
        has = ~np.isnan(values)
        sns.scatterplot(x=positions[has], y=values[has], ax=ax, s=40,
                        color=theme.palette[0], label="trial")
        lo, hi = _t_interval(values[has])
        mean = float(values[has].mean())
        at = len(runs) + 1.5
        ax.errorbar([at], [mean], yerr=[[mean - lo], [hi - mean]], fmt="D",
                    color=theme.palette[1], capsize=5, label="mean, 95% t-interval")
        ax.set_xlim(0.4, at + 0.6)
        ax.xaxis.set_major_locator(FixedLocator([*positions, at]))
        ax.xaxis.set_major_formatter(FuncFormatter(
            lambda x, _pos, at=at: "mean" if x == at else str(round(x))))
        ax.xaxis.set_minor_locator(NullLocator())
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        ax.set_xlabel("trial")
        ax.set_ylabel(_label(tag, stat, unit))
        _paint(ax, theme)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize="small")
    return fig


# --------------------------------------------------------------------------- multi-run

#: Axis wording and unit of each metric tag in the multi-run table.
_TAGS: Mapping[str, tuple[str, str | None]] = MappingProxyType({
    "time_to_first_token": ("time to first token", "ms"),
    "time_to_second_token": ("time to second token", "ms"),
    "inter_token_latency": ("inter-token latency", "ms"),
    "request_latency": ("request latency", "ms"),
    "request_throughput": ("request throughput", "requests/s"),
    "output_token_throughput": ("output token throughput", "tokens/s"),
    "output_token_throughput_per_user": ("output token throughput per user", "tokens/s/user"),
    "output_token_throughput_per_gpu": ("output token throughput per GPU", "tokens/s/GPU"),
})

#: Units as the summary JSON writes them, shortened for axis labels.
_UNIT_WORDS = {"requests/sec": "requests/s", "tokens/sec": "tokens/s",
               "tokens/sec/user": "tokens/s/user"}


def _label(tag: str, stat: str, unit: str | None = None) -> str:
    """``time to first token p50 (ms)``: the metric, the statistic plotted, the unit."""
    words, default_unit = _TAGS.get(tag, (tag.replace("_", " "), None))
    unit = _UNIT_WORDS.get(unit, unit) if unit else default_unit
    return f"{words} {stat} ({unit})" if unit else f"{words} {stat}"


def _rows(table: pd.DataFrame, columns: Sequence[str], *, reason: str | None = None,
          minimum: int = 2) -> pd.DataFrame:
    """The rows that have every column, numeric; Skip when fewer than ``minimum``."""
    if all(c in table.columns for c in columns):
        out = table.copy()
        for c in columns:
            out[c] = pd.to_numeric(out[c], errors="coerce")
        out = out.dropna(subset=list(columns))
        if len(out) >= minimum:
            return out
    raise Skip(reason or f"needs at least {minimum} runs with {', '.join(columns)}")


def _degraded_mask(table: pd.DataFrame) -> pd.Series:
    """The rows of cells the sweep aggregate marked degraded (error rate over the limit).
    The runner decided it; a plot never re-judges error rates, it reads the verdict."""
    if "degraded" not in table.columns:
        return pd.Series(False, index=table.index)
    return table["degraded"].eq(True)


def _trusted_rows(table: pd.DataFrame, columns: Sequence[str], *, reason: str,
                  minimum: int = 2) -> pd.DataFrame:
    """:func:`_rows` without the degraded cells, which no fit may take as points; Skip
    saying so when they are what leaves too few."""
    rows = _rows(table, columns, reason=reason, minimum=minimum)
    trusted = rows[~_degraded_mask(rows)]
    if len(trusted) < minimum:
        raise Skip(f"fewer than {minimum} runs that are not degraded (error rate over the "
                   "limit)")
    return trusted


def _mark_degraded(ax: Axes, rows: pd.DataFrame, x: str, y: str) -> None:
    """The degraded cells as red crosses: shown, but part of no curve or frontier."""
    bad = rows[_degraded_mask(rows)]
    if len(bad):
        sns.scatterplot(x=bad[x].to_numpy(), y=bad[y].to_numpy(), ax=ax, marker="X", s=60,
                        color="#d62728", label="degraded (left out)", zorder=3)


def _load_column(table: pd.DataFrame) -> str | None:
    """What orders the points of a sweep: concurrency, else request rate, else nothing."""
    for column in ("concurrency", "request_rate"):
        if column in table.columns and pd.to_numeric(table[column], errors="coerce").notna().any():
            return column
    return None


def _groups(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """One group per model (a single group named after the model, or ``runs``)."""
    if "model" not in table.columns or table["model"].isna().all():
        return [("runs", table)]
    models = table["model"].fillna("unknown model").astype(str)
    return [(str(m), table[models == m]) for m in pd.unique(models)]


def _has_trials(table: pd.DataFrame, keys: Sequence[str]) -> bool:
    return bool(table.duplicated(subset=list(keys)).any())


def _load_axis(ax: Axes, values: Sequence[float]) -> None:
    """Log2 x axis when the loads span 16x or more; ticks at the loads when few enough."""
    values = sorted({float(v) for v in values if v == v})
    if values and values[0] > 0 and values[-1] / values[0] >= 16:
        ax.set_xscale("log", base=2)
    if len(values) <= 12:
        ax.xaxis.set_major_locator(FixedLocator(values))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: _fmt_load(x)))
        ax.xaxis.set_minor_locator(NullLocator())


def _xy_path(table: pd.DataFrame, style: Style, name: str, x: tuple[str, str],
             y: tuple[str, str]) -> Figure:
    """Points of (x, y) per load, joined in load order, one path per model; trials give CIs."""
    xcol, ycol = f"{x[0]}_{x[1]}", f"{y[0]}_{y[1]}"
    load = _load_column(table)
    rows = _rows(table, [xcol, ycol])
    theme = _theme(style)
    fig, ax = new_figure(style)
    colours = iter(theme.palette * 8)
    for model, part in _groups(rows):
        colour = next(colours)
        if load is None:
            means = part.sort_values(xcol)[[xcol, ycol]].assign(_load=np.nan)
            trials = False
        else:
            part = part.assign(_load=pd.to_numeric(part[load], errors="coerce"))
            trials = _has_trials(part, ["_load"])
            means = part.groupby("_load", sort=True, dropna=False)[[xcol, ycol]].mean()
            means = means.reset_index()
        if trials:
            sns.scatterplot(x=part[xcol].to_numpy(), y=part[ycol].to_numpy(), ax=ax, s=18,
                            alpha=0.35, color=colour, linewidth=0, label=f"{model} trials")
            for _, cell in part.groupby("_load", sort=True):
                if len(cell) < 2:
                    continue
                (xl, xh), (yl, yh) = _t_interval(cell[xcol]), _t_interval(cell[ycol])
                xm, ym = cell[xcol].mean(), cell[ycol].mean()
                ax.errorbar([xm], [ym], xerr=[[xm - xl], [xh - xm]], yerr=[[ym - yl], [yh - ym]],
                            fmt="none", ecolor=colour, capsize=0, linewidth=1)
        sns.lineplot(x=means[xcol].to_numpy(), y=means[ycol].to_numpy(), ax=ax, estimator=None,
                     sort=False, marker="o", color=colour, linewidth=1.5,
                     label=f"{model} (mean, 95% t-interval)" if trials else model)
        if load is not None:
            prefix = "c=" if load == "concurrency" else "r="
            for _, point in means.iterrows():
                if point["_load"] == point["_load"]:
                    ax.annotate(f"{prefix}{_fmt_load(point['_load'])}",
                                (point[xcol], point[ycol]), textcoords="offset points",
                                xytext=(5, 5), fontsize="x-small", color=theme.text)
    return _finish(fig, ax, style, name, _label(*x), _label(*y))


@_plot
def ttft_vs_throughput(table: pd.DataFrame, style: Style) -> Figure:
    """TTFT p50 against output token throughput, one point per load, in load order."""
    return _xy_path(table, style, "ttft_vs_throughput", ("output_token_throughput", "avg"),
                    ("time_to_first_token", "p50"))


@_plot
def itl_vs_throughput_per_user(table: pd.DataFrame, style: Style) -> Figure:
    """ITL p50 against output token throughput per user, one point per load."""
    return _xy_path(table, style, "itl_vs_throughput_per_user",
                    ("output_token_throughput_per_user", "avg"), ("inter_token_latency", "p50"))


def _vs_concurrency(ax: Axes, rows: pd.DataFrame, column: str, label: str, colour: str,
                    *, marker: str = "o", linestyle: str = "-") -> None:
    trials = _has_trials(rows, ["concurrency"])
    sns.lineplot(x=rows["concurrency"].to_numpy(), y=rows[column].to_numpy(), ax=ax,
                 errorbar=_t_interval if trials else None, marker=marker, color=colour,
                 linestyle=linestyle, linewidth=1.5,
                 label=f"{label} (mean, 95% t-interval)" if trials else label)


@_plot
def latency_percentiles_vs_concurrency(table: pd.DataFrame, style: Style) -> Figure:
    """Request latency p50, p90 and p99 against concurrency, one line per percentile."""
    stats = [s for s in ("p50", "p90", "p99") if f"request_latency_{s}" in table.columns]
    found = []
    for stat in stats:
        try:
            found.append((stat, _rows(table, ["concurrency", f"request_latency_{stat}"])))
        except Skip:
            continue
    if not found:
        raise Skip("needs at least 2 runs with concurrency and request_latency_p50, "
                   "request_latency_p90 or request_latency_p99")
    theme = _theme(style)
    fig, ax = new_figure(style)
    loads: list[float] = []
    for (stat, rows), colour, dash in zip(found, theme.palette, ("-", "--", ":"), strict=False):
        _vs_concurrency(ax, rows, f"request_latency_{stat}", stat, colour, linestyle=dash)
        loads += list(rows["concurrency"])
    _load_axis(ax, loads)
    ylabel = _label("request_latency", " / ".join(stat for stat, _ in found))
    return _finish(fig, ax, style, "latency_percentiles_vs_concurrency", "concurrency", ylabel)


@_plot
def throughput_vs_concurrency(table: pd.DataFrame, style: Style) -> Figure:
    """Output token throughput (left) and request throughput (right) against concurrency."""
    wanted = (("output_token_throughput", "avg"), ("request_throughput", "avg"))
    found = []
    for tag, stat in wanted:
        try:
            found.append((tag, stat, _rows(table, ["concurrency", f"{tag}_{stat}"])))
        except Skip:
            continue
    if not found:
        raise Skip("needs at least 2 runs with concurrency and output_token_throughput_avg "
                   "or request_throughput_avg")
    theme = _theme(style)
    fig, ax = new_figure(style)
    tag, stat, rows = found[0]
    _vs_concurrency(ax, rows, f"{tag}_{stat}", _label(tag, stat), theme.palette[0])
    loads = list(rows["concurrency"])
    twin = None
    if len(found) > 1:
        twin = ax.twinx()
        tag2, stat2, rows2 = found[1]
        _vs_concurrency(twin, rows2, f"{tag2}_{stat2}", _label(tag2, stat2), theme.palette[1],
                        marker="s", linestyle="--")
        twin.set_ylabel(_label(tag2, stat2))
        twin.set_ylim(bottom=0)
        loads += list(rows2["concurrency"])
    ax.set_ylim(bottom=0)
    _load_axis(ax, loads)
    return _finish(fig, ax, style, "throughput_vs_concurrency", "concurrency", _label(tag, stat),
                   twin=twin)


def _cells(rows: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Mean of ``columns`` per sweep cell (``cell``, else ``run_name``), with its load."""
    key = "cell" if "cell" in rows.columns and rows["cell"].notna().all() else "run_name"
    if key not in rows.columns:
        rows = rows.assign(run_name=[str(i) for i in range(len(rows))])
    load = _load_column(rows)
    extra = {"_load": (load, "first")} if load else {}
    if "model" in rows.columns and rows["model"].nunique() > 1:
        extra["_model"] = ("model", "first")
    agg = {c: (c, "mean") for c in columns} | extra
    out = rows.groupby(key, sort=False).agg(**agg).reset_index()
    return out.rename(columns={key: "_cell"})


def pareto_front(latency: np.ndarray, throughput: np.ndarray) -> np.ndarray:
    """Mask of the non-dominated points for (latency low, throughput high), O(n log n)."""
    order = np.lexsort((-throughput, latency))
    front = np.zeros(len(latency), dtype=bool)
    best = -np.inf
    for i in order:
        if throughput[i] > best:
            front[i] = True
            best = throughput[i]
    return front


@_plot
def pareto_frontier(table: pd.DataFrame, style: Style) -> Figure:
    """Every cell's (request latency p50, output throughput); the non-dominated ones joined.
    Degraded cells are marked but never on the frontier."""
    xcol, ycol = "request_latency_p50", "output_token_throughput_avg"
    rows = _rows(table, [xcol, ycol])
    trusted = rows[~_degraded_mask(rows)]
    if trusted.empty:
        raise Skip("every run is degraded (error rate over the limit): no frontier")
    cells = _cells(trusted, [xcol, ycol])
    front = pareto_front(cells[xcol].to_numpy(), cells[ycol].to_numpy())
    theme = _theme(style)
    fig, ax = new_figure(style)
    if (~front).any():
        sns.scatterplot(x=cells.loc[~front, xcol].to_numpy(), y=cells.loc[~front, ycol].to_numpy(),
                        ax=ax, s=30, color=theme.grid if style.theme == "light" else "#777777",
                        edgecolor=theme.text, linewidth=0.3, label="dominated")
    best = cells[front].sort_values(xcol)
    sns.scatterplot(x=best[xcol].to_numpy(), y=best[ycol].to_numpy(), ax=ax, s=60,
                    color=theme.palette[0], label="Pareto-optimal", zorder=3)
    sns.lineplot(x=best[xcol].to_numpy(), y=best[ycol].to_numpy(), ax=ax, estimator=None,
                 sort=False, color=theme.palette[0], linewidth=1.5)
    for _, point in best.iterrows():
        text = (f"c={_fmt_load(point['_load'])}" if "_load" in best.columns
                and point["_load"] == point["_load"] else str(point["_cell"]))
        if "_model" in best.columns:
            text = f"{point['_model']} {text}"
        ax.annotate(text, (point[xcol], point[ycol]), textcoords="offset points", xytext=(5, 5),
                    fontsize="x-small", color=theme.text)
    _mark_degraded(ax, rows, xcol, ycol)
    return _finish(fig, ax, style, "pareto_frontier", _label("request_latency", "p50"),
                   _label("output_token_throughput", "avg"))


#: ``concurrency_knee`` marks the first concurrency whose p99 is this much above the baseline.
KNEE_THRESHOLD = 0.20


def _recipe_skip(recipe: str, what: str) -> str:
    return f"needs the results of a {recipe} search recipe ({what})"


@_plot
def concurrency_knee(table: pd.DataFrame, style: Style) -> Figure:
    """Request latency p99 against concurrency, the baseline, the threshold and the knee.

    As the runner decides it: the curve is that of the cells that are not degraded, and
    the knee is the first concurrency above the baseline that is too slow or degraded.
    """
    column = "request_latency_p99"
    reason = _recipe_skip("concurrency-ramp",
                          f"{column} at 3 or more concurrencies")
    rows = _rows(table, ["concurrency", column], reason=reason, minimum=3)
    if rows["concurrency"].nunique() < 3:
        raise Skip(reason)
    trusted = rows[~_degraded_mask(rows)]
    if trusted.empty:
        raise Skip("every run is degraded (error rate over the limit): no knee")
    means = trusted.groupby("concurrency", sort=True)[column].mean()
    baseline = float(means.iloc[0])
    limit = baseline * (1 + KNEE_THRESHOLD)
    over = means[means > limit]
    failing = rows.loc[_degraded_mask(rows) & (rows["concurrency"] > means.index[0]),
                       "concurrency"]
    theme = _theme(style)
    fig, ax = new_figure(style)
    _vs_concurrency(ax, trusted, column, "p99", theme.palette[0])
    ax.axhline(baseline, color=theme.text, linestyle=":", linewidth=1,
               label=f"baseline (concurrency {_fmt_load(means.index[0])}) = {_fmt(baseline)} ms")
    ax.axhline(limit, color=theme.palette[2], linestyle="--", linewidth=1,
               label=f"baseline + {KNEE_THRESHOLD:.0%} = {_fmt(limit)} ms")
    if len(failing) and (not len(over) or failing.min() < over.index[0]):
        knee = float(failing.min())
        ax.axvline(knee, color=theme.palette[1], linestyle="-.", linewidth=1.5,
                   label=f"knee: degraded from concurrency {_fmt_load(knee)}")
    elif len(over):
        knee = float(over.index[0])
        ax.axvline(knee, color=theme.palette[1], linestyle="-.", linewidth=1.5,
                   label=f"knee: above the threshold from concurrency {_fmt_load(knee)}")
    else:
        ax.plot([], [], linestyle="none",
                label=f"no knee up to concurrency {_fmt_load(means.index[-1])}")
    _mark_degraded(ax, rows, "concurrency", column)
    _load_axis(ax, list(rows["concurrency"]))
    return _finish(fig, ax, style, "concurrency_knee", "concurrency", _label("request_latency",
                                                                            "p99"))


@_plot
def prefill_ttft_fit(table: pd.DataFrame, style: Style) -> Figure:
    """TTFT p50 against input length, with a linear fit (quadratic when r² < 0.85) over
    the cells that are not degraded; the degraded ones are marked, not fitted."""
    column = "time_to_first_token_p50"
    reason = _recipe_skip("prefill-ttft-curve", f"isl and {column} at 2 or more input lengths")
    rows = _trusted_rows(table, ["isl", column], reason=reason)
    if rows["isl"].nunique() < 2:
        raise Skip(reason)
    x, y = rows["isl"].to_numpy(), rows[column].to_numpy()
    degree, coeffs, r2 = 1, np.polyfit(x, y, 1), 0.0
    r2 = _r2(x, y, coeffs)
    if r2 < 0.85 and rows["isl"].nunique() >= 3:
        degree, coeffs = 2, np.polyfit(x, y, 2)
        r2 = _r2(x, y, coeffs)
    theme = _theme(style)
    fig, ax = new_figure(style)
    sns.scatterplot(x=x, y=y, ax=ax, s=40, color=theme.palette[0], label="measured")
    grid = np.linspace(x.min(), x.max(), 200)
    terms = " + ".join(f"{c:.3g}·isl^{degree - i}" if degree - i > 1 else
                       (f"{c:.3g}·isl" if degree - i == 1 else f"{c:.3g}")
                       for i, c in enumerate(coeffs))
    sns.lineplot(x=grid, y=np.polyval(coeffs, grid), ax=ax, estimator=None, sort=False,
                 color=theme.palette[1], linewidth=1.5,
                 label=f"{'linear' if degree == 1 else 'quadratic'} fit: {terms} (r² = {r2:.3f})")
    _mark_degraded(ax, _rows(table, ["isl", column], reason=reason), "isl", column)
    return _finish(fig, ax, style, "prefill_ttft_fit", "input sequence length (tokens)",
                   _label("time_to_first_token", "p50"))


def _r2(x: np.ndarray, y: np.ndarray, coeffs: np.ndarray) -> float:
    residual = float(((y - np.polyval(coeffs, x)) ** 2).sum())
    spread = float(((y - y.mean()) ** 2).sum())
    return 1.0 - residual / spread if spread > 0 else 1.0


@_plot
def decode_itl_surface(table: pd.DataFrame, style: Style) -> Figure:
    """Heat map of ITL p50 by concurrency (columns) and output length (rows); a degraded
    cell is left blank."""
    column = "inter_token_latency_p50"
    reason = _recipe_skip("decode-itl-curve",
                          f"concurrency, osl and {column} at 2 or more of each")
    rows = _trusted_rows(table, ["concurrency", "osl", column], reason=reason)
    if rows["concurrency"].nunique() < 2 or rows["osl"].nunique() < 2:
        raise Skip(reason)
    grid = rows.pivot_table(index="osl", columns="concurrency", values=column, aggfunc="mean")
    grid = grid.sort_index(ascending=False)
    grid.index = [_fmt_load(v) for v in grid.index]
    grid.columns = [_fmt_load(v) for v in grid.columns]
    theme = _theme(style)
    fig, ax = new_figure(style)
    sns.heatmap(grid, ax=ax, annot=True, fmt=".3g", cmap="viridis", linewidths=0.5,
                linecolor=theme.panel, cbar_kws={"label": _label("inter_token_latency", "p50")})
    colourbar = ax.collections[0].colorbar
    colourbar.ax.yaxis.label.set_color(theme.text)
    colourbar.ax.tick_params(colors=theme.text, labelcolor=theme.text)
    ax.grid(False)
    return _finish(fig, ax, style, "decode_itl_surface", "concurrency",
                   "output sequence length (tokens)", legend=False)


@_plot
def sla_boundary(table: pd.DataFrame, style: Style) -> Figure:
    """Throughput against concurrency, cells coloured by SLA verdict, the boundary marked."""
    reason = _recipe_skip("max-concurrency-under-sla",
                          "concurrency and sla_pass, with output_token_throughput_avg or "
                          "request_throughput_avg")
    if "sla_pass" not in table.columns:
        raise Skip(reason)
    ycol = next((c for c in ("output_token_throughput_avg", "request_throughput_avg")
                 if c in table.columns), None)
    if ycol is None:
        raise Skip(reason)
    rows = _rows(table.assign(sla_pass=table["sla_pass"].map(
        lambda v: np.nan if v is None or v != v else float(bool(v)))),
        ["concurrency", "sla_pass", ycol], reason=reason)
    verdict = rows.groupby("concurrency")["sla_pass"].min().astype(bool)  # every trial passes
    passed = rows["concurrency"].map(verdict).to_numpy()
    theme = _theme(style)
    fig, ax = new_figure(style)
    _vs_concurrency(ax, rows, ycol, _label(*ycol.rsplit("_", 1)), theme.text, marker="")
    for mask, colour, label in ((passed, theme.palette[0], "meets the SLA"),
                                (~passed, "#d62728", "breaks the SLA")):
        if mask.any():
            sns.scatterplot(x=rows["concurrency"].to_numpy()[mask], y=rows[ycol].to_numpy()[mask],
                            ax=ax, s=50, color=colour, label=label, zorder=3)
    if verdict.any():
        best = float(verdict[verdict].index.max())
        ax.axvline(best, color=theme.palette[0], linestyle="--", linewidth=1.5,
                   label=f"max concurrency under the SLA = {_fmt_load(best)}")
    _load_axis(ax, list(rows["concurrency"]))
    return _finish(fig, ax, style, "sla_boundary", "concurrency", _label(*ycol.rsplit("_", 1)))


# --------------------------------------------------------------------------- registries

SINGLE: Mapping[str, Callable[[LoadedRunLike, Style], Figure]] = MappingProxyType({
    "ttft_over_time": ttft_over_time,
    "ttft_timeline": ttft_timeline,
    "itl_over_time": itl_over_time,
    "ttft_distribution": ttft_distribution,
    "itl_distribution": itl_distribution,
    "request_latency_distribution": request_latency_distribution,
    "throughput_over_time": throughput_over_time,
    "concurrency_over_time": concurrency_over_time,
    "timeslices_ttft": timeslices_ttft,
    "timeslices_itl": timeslices_itl,
    "gpu_utilization_and_throughput_over_time": gpu_utilization_and_throughput_over_time,
})

TRIALS: Mapping[str, Callable[[Sequence[LoadedRunLike], Style], Figure]] = MappingProxyType({
    "trial_spread": trial_spread,
})

MULTI: Mapping[str, Callable[[pd.DataFrame, Style], Figure]] = MappingProxyType({
    "ttft_vs_throughput": ttft_vs_throughput,
    "itl_vs_throughput_per_user": itl_vs_throughput_per_user,
    "latency_percentiles_vs_concurrency": latency_percentiles_vs_concurrency,
    "throughput_vs_concurrency": throughput_vs_concurrency,
    "concurrency_knee": concurrency_knee,
    "prefill_ttft_fit": prefill_ttft_fit,
    "decode_itl_surface": decode_itl_surface,
    "sla_boundary": sla_boundary,
    "pareto_frontier": pareto_frontier,
})
