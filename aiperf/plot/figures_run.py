"""The figures of one run: per-request latencies, their distributions, throughput,
concurrency, time slices and GPU utilisation, each drawn from one loaded run.

A run with no successful request is not a missing source: it raises ``ValueError``,
which the caller counts as a failure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from aiperf.plot.figure import Skip, finish, fmt_load, fmt_value, new_figure, themed_plot
from aiperf.plot.theme import Style, theme_of

if TYPE_CHECKING:
    # Only the type: any object with LoadedRun's attributes draws (tests use stand-ins).
    from aiperf.plot.frames import LoadedRun as LoadedRunLike


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


def ok_requests(run: LoadedRunLike) -> pd.DataFrame:
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


def numeric_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """``column`` of ``frame`` as floats (NaN where missing or not a number)."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def _per_request(run: LoadedRunLike, metric: _Metric) -> tuple[np.ndarray, np.ndarray]:
    """(request_number, value) of successful requests that have the metric, in order."""
    ok = ok_requests(run)
    values = numeric_column(ok, metric.column)
    has = ~np.isnan(values)
    if not has.any():
        raise Skip(metric.skip)
    numbers = numeric_column(ok, "request_number")[has]
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
    osl = numeric_column(ok, "osl")
    start = numeric_column(ok, "start_s")
    end = numeric_column(ok, "end_s")
    ttft = numeric_column(ok, "ttft_ms")
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
    sns.lineplot(x=numbers, y=p50.to_numpy(), ax=ax, estimator=None, color=theme_of(style).text,
                 linewidth=1.5, label=f"rolling p50 ({window} requests)")
    return finish(fig, ax, style, name, "request number", f"{metric.label} (ms)")


@themed_plot
def ttft_over_time(run: LoadedRunLike, style: Style) -> Figure:
    """TTFT of each successful request against its number, with a rolling median."""
    return _over_time(run, style, "ttft_over_time", _TTFT)


@themed_plot
def itl_over_time(run: LoadedRunLike, style: Style) -> Figure:
    """Mean inter-token latency of each successful request, with a rolling median."""
    return _over_time(run, style, "itl_over_time", _ITL)


@themed_plot
def ttft_timeline(run: LoadedRunLike, style: Style) -> Figure:
    """One bar per request: start to first token, then first token to end."""
    ok = ok_requests(run)
    ttft = numeric_column(ok, "ttft_ms")
    if np.isnan(ttft).all():
        raise Skip(_TTFT.skip)
    has = ~np.isnan(ttft)
    y = numeric_column(ok, "request_number")[has]
    start = numeric_column(ok, "start_s")[has]
    end = numeric_column(ok, "end_s")[has]
    first = np.minimum(start + ttft[has] / 1000.0, end)
    fig, ax = new_figure(style)
    palette = theme_of(style).palette
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
    return finish(fig, ax, style, "ttft_timeline", "seconds since start", "request number",
                  handles=proxies)


def _distribution(run: LoadedRunLike, style: Style, name: str, metric: _Metric) -> Figure:
    _, values = _per_request(run, metric)
    edges = np.histogram_bin_edges(values, bins="auto")
    if len(edges) > 101:
        edges = np.histogram_bin_edges(values, bins=100)
    fig, ax = new_figure(style)
    palette = theme_of(style).palette
    sns.histplot(x=values, bins=edges, ax=ax, color=palette[0], alpha=0.75)
    for (p, style_), colour in zip(((50, "--"), (90, "-."), (99, ":")), palette[1:],
                                   strict=False):
        at = float(np.percentile(values, p))
        ax.axvline(at, color=colour, linestyle=style_, linewidth=1.8,
                   label=f"p{p} = {fmt_value(at)} ms")
    return finish(fig, ax, style, name, f"{metric.label} (ms)", "requests")


@themed_plot
def ttft_distribution(run: LoadedRunLike, style: Style) -> Figure:
    """Histogram of TTFT with its p50, p90 and p99."""
    return _distribution(run, style, "ttft_distribution", _TTFT)


@themed_plot
def itl_distribution(run: LoadedRunLike, style: Style) -> Figure:
    """Histogram of per-request inter-token latency with its p50, p90 and p99."""
    return _distribution(run, style, "itl_distribution", _ITL)


@themed_plot
def request_latency_distribution(run: LoadedRunLike, style: Style) -> Figure:
    """Histogram of request latency with its p50, p90 and p99."""
    return _distribution(run, style, "request_latency_distribution", _LATENCY)


def throughput_line(ax: Axes, ok: pd.DataFrame, colour: str) -> None:
    """The step line of :func:`_dispersed_throughput`, its last bin drawn to the run's end."""
    t, tps = _dispersed_throughput(ok)
    ends = numeric_column(ok, "end_s")
    run_end = float(np.nanmax(ends)) if np.isfinite(ends).any() else t[-1] + 1.0
    t, tps = np.append(t, min(max(run_end, t[-1]), t[-1] + 1.0)), np.append(tps, tps[-1])
    sns.lineplot(x=t, y=tps, ax=ax, estimator=None, drawstyle="steps-post", color=colour,
                 linewidth=1.5, label="output tokens/s")
    ax.fill_between(t, tps, step="post", color=colour, alpha=0.2, linewidth=0)


@themed_plot
def throughput_over_time(run: LoadedRunLike, style: Style) -> Figure:
    """Output tokens/s in 1 s bins, each request's tokens spread over its generation."""
    ok = ok_requests(run)
    fig, ax = new_figure(style)
    throughput_line(ax, ok, theme_of(style).palette[0])
    ax.set_ylim(bottom=0)
    return finish(fig, ax, style, "throughput_over_time", "seconds since start",
                  "output tokens/s")


@themed_plot
def concurrency_over_time(run: LoadedRunLike, style: Style) -> Figure:
    """Requests in flight (sent and not yet finished, whatever their outcome) over time."""
    ok_requests(run)
    requests = run.requests
    start = numeric_column(requests, "start_s")
    end = numeric_column(requests, "end_s")
    keep = ~(np.isnan(start) | np.isnan(end))
    times = np.concatenate([start[keep], end[keep]])
    steps = np.concatenate([np.ones(keep.sum()), -np.ones(keep.sum())])
    order = np.lexsort((steps, times))  # at equal times, ends before starts
    times, level = times[order], np.cumsum(steps[order])
    fig, ax = new_figure(style)
    theme = theme_of(style)
    sns.lineplot(x=np.concatenate([[0.0], times]), y=np.concatenate([[0.0], level]), ax=ax,
                 estimator=None, sort=False, drawstyle="steps-post", color=theme.palette[0],
                 linewidth=1.5, label="requests in flight")
    if run.concurrency:
        ax.axhline(run.concurrency, color=theme.text, linestyle="--", linewidth=1,
                   label=f"configured concurrency = {run.concurrency}")
    ax.set_ylim(bottom=0)
    return finish(fig, ax, style, "concurrency_over_time", "seconds since start",
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
    ticks = [f"{int(s)}\n{fmt_load(a)}-{fmt_load(b)} s"
             for s, a, b in zip(rows["slice"], rows["start_s"], rows["end_s"], strict=True)]
    fig, ax = new_figure(style)
    sns.barplot(x=ticks, y=rows["value"].to_numpy(), order=ticks, ax=ax, errorbar=None,
                color=theme_of(style).palette[0])
    every = max(1, math.ceil(len(ticks) / 20))
    for i, label in enumerate(ax.get_xticklabels()):
        label.set_visible(i % every == 0)
    return finish(fig, ax, style, name, "time slice (index, seconds since start)",
                  f"{metric.label} avg ({unit})", legend=False)


@themed_plot
def timeslices_ttft(run: LoadedRunLike, style: Style) -> Figure:
    """Average TTFT of each time slice of the timeslice export."""
    return _timeslices(run, style, "timeslices_ttft", _TTFT)


@themed_plot
def timeslices_itl(run: LoadedRunLike, style: Style) -> Figure:
    """Average inter-token latency of each time slice of the timeslice export."""
    return _timeslices(run, style, "timeslices_itl", _ITL)


#: Columns that identify a GPU, most specific first (telemetry records carry uuid and index).
_GPU_ID_COLUMNS = ("gpu_uuid", "gpu_index", "gpu_id", "gpu")
#: Where a GPU lives, to tell apart two machines' GPU 0.
_GPU_HOST_COLUMNS = ("hostname", "dcgm_url", "endpoint_url", "endpoint")
_NO_UTILISATION = "needs GPU utilisation in the GPU telemetry, which this run did not record"


def _gpu_series(run: LoadedRunLike, gpu: pd.DataFrame, quantity: str = "gpu_utilization",
                what: str = "utilisation", missing: str = _NO_UTILISATION,
                ) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, seconds since start, value) per GPU and ``quantity`` column, time-ordered.

    Columns whose name contains ``quantity`` are read (``what`` names them in the labels,
    ``missing`` is the skip reason without them); ``gpu_uuid`` (else
    ``gpu_index``, ``gpu_id``, ``gpu``) splits the rows per GPU, labelled ``GPU <index>``,
    with the host added when two GPUs share an index. Epoch-second timestamps (above 1e8)
    are moved onto the requests' clock (seconds since the first request started).
    """
    columns = [c for c in gpu.columns if quantity in str(c)]
    if not columns or "timestamp_s" not in gpu.columns:
        raise Skip(missing)
    t = numeric_column(gpu, "timestamp_s")
    if not np.isfinite(t).any():
        raise Skip(missing)
    requests = run.requests
    if np.nanmedian(t) > 1e8 and requests is not None and "start_ns" in requests.columns:
        t = t - float(pd.to_numeric(requests["start_ns"]).min()) / 1e9
    groups = _gpu_groups(gpu)
    series = []
    for column in columns:
        util = numeric_column(gpu, column)
        for name, rows in groups:
            if name is None:
                label = f"GPU {what}" if len(columns) == 1 else str(column)
            else:
                label = f"{name} {what}"
                if len(columns) > 1:
                    label = f"{label} ({column})"
            x, y = t[rows], util[rows]
            has = ~(np.isnan(x) | np.isnan(y))
            if has.any():
                order = np.argsort(x[has], kind="stable")
                series.append((label, x[has][order], y[has][order]))
    if not series:
        raise Skip(missing)
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


def beside_throughput(run: LoadedRunLike, style: Style, name: str,
                      lines: Sequence[tuple[str, np.ndarray, np.ndarray]], ylabel: str, *,
                      top: float | None = None, drawstyle: str = "default") -> Figure:
    """The client's output tokens/s (left axis) and ``lines`` of (label, seconds, value)
    on the right axis, from 0 up to ``top`` (or the data's)."""
    ok = ok_requests(run)
    theme = theme_of(style)
    fig, ax = new_figure(style)
    throughput_line(ax, ok, theme.palette[0])
    ax.set_ylim(bottom=0)
    twin = ax.twinx()
    for (label, x, y), colour in zip(lines, theme.palette[1:] * 8, strict=False):
        sns.lineplot(x=x, y=y, ax=twin, estimator=None, sort=False, color=colour,
                     linewidth=1.2, label=label, drawstyle=drawstyle)
    twin.set_ylim(bottom=0, top=top)
    twin.set_ylabel(ylabel)
    return finish(fig, ax, style, name, "seconds since start", "output tokens/s", twin=twin)


@themed_plot
def gpu_utilization_and_throughput_over_time(run: LoadedRunLike, style: Style) -> Figure:
    """Output tokens/s (left axis) and each GPU's utilisation (right axis) over time."""
    gpu = run.gpu
    if gpu is None or gpu.empty:
        raise Skip(_NO_GPU)
    series = _gpu_series(run, gpu)
    top = max([100.0, *(float(y.max()) * 1.05 for _, _, y in series)])
    return beside_throughput(run, style, "gpu_utilization_and_throughput_over_time", series,
                             "GPU utilisation (%)", top=top)


_NO_POWER = "needs GPU power in the GPU telemetry, which this run did not record"


@themed_plot
def gpu_power_and_throughput_over_time(run: LoadedRunLike, style: Style) -> Figure:
    """Output tokens/s (left axis) and each GPU's power draw in watts (right axis) over
    time: what each token costs, as it is made."""
    gpu = run.gpu
    if gpu is None or gpu.empty:
        raise Skip(_NO_GPU)
    series = _gpu_series(run, gpu, "gpu_power_usage", "power", _NO_POWER)
    return beside_throughput(run, style, "gpu_power_and_throughput_over_time", series,
                             "GPU power (W)")
