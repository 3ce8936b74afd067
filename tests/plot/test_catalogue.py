"""The figure catalogue: every plot draws what it says, skips when its data is absent.

Runs and multi-run tables are small hand-made frames (a local stand-in for
``aiperf.plot.frames.LoadedRun``), so these tests do not depend on the loader.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import matplotlib as mpl
import matplotlib.colors as mcolors
import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure

from aiperf.config.plot_config import MULTI_RUN_PLOTS, SINGLE_RUN_PLOTS
from aiperf.plot.figure import Skip, new_figure, title_of
from aiperf.plot.interval import t_interval
from aiperf.plot.pareto import pareto_front
from aiperf.plot.registry import PLOTS, TITLES
from aiperf.plot.theme import Style
from aiperf.student_t import t_critical

#: The drawing functions by what they are drawn from, as the registry declares them.
SINGLE = {p.name: p.draw_function() for p in PLOTS if p.reads == "run"}
TRIALS = {p.name: p.draw_function() for p in PLOTS if p.reads == "trials"}
MULTI = {p.name: p.draw_function() for p in PLOTS if p.reads == "table"}

STYLE = Style(dpi=40, width=8.0, height=5.0)


@attrs.define
class Run:
    """The attributes of a loaded run that the catalogue reads."""

    name: str
    requests: pd.DataFrame
    summary: Mapping[str, Any] = attrs.Factory(dict)
    timeslices: pd.DataFrame | None = None
    gpu: pd.DataFrame | None = None
    model: str | None = "demo-model"
    concurrency: int | None = 4
    request_rate: float | None = None
    streaming: bool | None = True
    slice_duration_s: float | None = None
    server: pd.DataFrame | None = None


def make_requests(n: int = 60, *, streaming: bool = True, failed: int = 3,
                  seed: int = 0) -> pd.DataFrame:
    """``n`` requests over about 20 s; the last ``failed`` of them failed."""
    rng = np.random.default_rng(seed)
    start = np.sort(rng.uniform(0, 18, n))
    start[0] = 0.0
    ttft = rng.uniform(20, 60, n) if streaming else np.full(n, np.nan)
    latency = rng.uniform(200, 800, n)
    osl = rng.integers(50, 150, n).astype(float)
    itl = (latency - ttft) / (osl - 1) if streaming else np.full(n, np.nan)
    ok = np.ones(n, dtype=bool)
    if failed:
        ok[-failed:] = False
    base = 1_700_000_000_000_000_000
    return pd.DataFrame({
        "request_number": np.arange(n),
        "start_ns": (base + start * 1e9).astype(np.int64),
        "end_ns": (base + (start + latency / 1000) * 1e9).astype(np.int64),
        "start_s": start,
        "end_s": start + latency / 1000,
        "ttft_ms": ttft,
        "ttst_ms": ttft + 5 if streaming else np.full(n, np.nan),
        "itl_ms": itl,
        "latency_ms": latency,
        "isl": np.full(n, 128.0),
        "osl": osl,
        "per_user_tps": 1000 / itl if streaming else np.full(n, np.nan),
        "ok": ok,
        "error_type": [None if good else "TimeoutError" for good in ok],
    })


def make_timeslices(slices: int = 4, width: float = 5.0) -> pd.DataFrame:
    rows = []
    for i in range(slices):
        for metric, base in (("Time to First Token", 40.0), ("Inter Token Latency", 4.0),
                             ("Request Throughput", 3.0)):
            for stat, k in (("avg", 1.0), ("p50", 0.9)):
                rows.append({"slice": i, "start_s": i * width, "end_s": (i + 1) * width,
                             "metric": metric, "unit": "ms", "stat": stat,
                             "value": base * k + i})
    return pd.DataFrame(rows)


def make_gpu(gpus: int = 1, seconds: int = 20) -> pd.DataFrame:
    frames = []
    for g in range(gpus):
        t = np.arange(seconds, dtype=float)
        frames.append(pd.DataFrame({"timestamp_s": t, "gpu_index": g,
                                    "gpu_utilization": 50 + 10 * np.sin(t + g),
                                    "gpu_power_usage": 300.0}))
    frame = pd.concat(frames, ignore_index=True)
    return frame if gpus > 1 else frame.drop(columns="gpu_index")


def make_run(**changes: Any) -> Run:
    fields = {"name": "run-a", "requests": make_requests(), "timeslices": make_timeslices(),
              "gpu": make_gpu()} | changes
    return Run(**fields)


def summary(seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {
        "time_to_first_token": {"unit": "ms", "avg": 41.0, "p50": 40 + rng.normal(),
                                "p99": 58 + rng.normal()},
        "inter_token_latency": {"unit": "ms", "avg": 4.1, "p50": 4 + rng.normal() / 10},
        "request_latency": {"unit": "ms", "avg": 500.0, "p50": 490 + rng.normal() * 5},
        "request_throughput": {"unit": "requests/sec", "avg": 7 + rng.normal() / 5},
    }


CONCURRENCIES = (1, 2, 4, 8, 16)


def make_table(trials: int = 1, *, models: tuple[str, ...] = ("demo-model",),
               **extra: Any) -> pd.DataFrame:
    """One row per (model, concurrency, trial) of a plausible concurrency sweep."""
    rows = []
    rng = np.random.default_rng(7)
    for m, model in enumerate(models):
        for c in CONCURRENCIES:
            for t in range(trials):
                noise = 1 + rng.normal() * 0.02
                rows.append({
                    "run_name": f"{model}_c{c}_t{t}", "model": model, "concurrency": c,
                    "request_rate": np.nan, "trial": t, "cell": f"{model}_c{c}",
                    "status": "complete",
                    "time_to_first_token_p50": (30 + 4 * c) * noise * (1 + m / 4),
                    "inter_token_latency_p50": (3 + 0.2 * c) * noise,
                    "inter_token_latency_avg": (3 + 0.2 * c) * noise,
                    "output_token_throughput_avg": 100 * c / (1 + c / 10) * noise,
                    "output_token_throughput_per_user_avg": 300 / (3 + 0.2 * c) * noise,
                    "request_throughput_avg": c / (1 + c / 10) * noise,
                    "request_latency_p50": (400 + 20 * c**1.5) * noise,
                    "request_latency_p90": (450 + 25 * c**1.5) * noise,
                    "request_latency_p99": (500 + 30 * c**1.5) * noise,
                })
    table = pd.DataFrame(rows)
    for key, value in extra.items():
        table[key] = value
    return table


def check_png(fig: Figure, tmp_path: Path, style: Style = STYLE) -> np.ndarray:
    """Save ``fig`` as PNG; assert its pixel size and that it is not blank."""
    path = tmp_path / "figure.png"
    fig.savefig(path)
    image = matplotlib.image.imread(path)
    height, width = image.shape[:2]

    assert abs(height - style.height * style.dpi) <= 1
    assert abs(width - style.width * style.dpi) <= 1
    assert float(image.std()) > 0
    return image


def legend_texts(ax: Any) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend is not None else []


def scatter_points(ax: Any) -> list[int]:
    return [len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection)]


# --------------------------------------------------------------------------- registries


def test_registries_cover_the_plot_names() -> None:
    """SINGLE + TRIALS hold every single-run plot, MULTI every multi-run plot, each titled."""
    assert set(SINGLE) | set(TRIALS) == set(SINGLE_RUN_PLOTS)
    assert set(TRIALS) == {"trial_spread"}
    assert set(MULTI) == set(MULTI_RUN_PLOTS)
    assert set(TITLES) == set(SINGLE_RUN_PLOTS) | set(MULTI_RUN_PLOTS)


def test_new_figure_is_sized_and_not_pyplot() -> None:
    """new_figure gives a Figure of the style's size, unknown to pyplot."""
    fig, ax = new_figure(Style(dpi=50, width=4, height=3))

    assert isinstance(fig, Figure)
    assert fig.axes == [ax]
    assert (200, 150) == tuple(round(v) for v in fig.get_size_inches() * fig.dpi)
    assert not hasattr(fig, "number")  # pyplot numbers the figures it manages


# --------------------------------------------------------------------------- single run


@pytest.mark.parametrize(("name", "ylabel", "column"), [
    ("ttft_over_time", "time to first token (ms)", "ttft_ms"),
    ("itl_over_time", "inter-token latency (ms)", "itl_ms"),
])
def test_over_time(name: str, ylabel: str, column: str, tmp_path: Path) -> None:
    """One point per successful request, and a rolling p50 line."""
    run = make_run()
    fig = SINGLE[name](run, STYLE)
    ax = fig.axes[0]

    assert TITLES[name] == ax.get_title()
    assert "request number" == ax.get_xlabel()
    assert ylabel == ax.get_ylabel()
    assert [57] == scatter_points(ax)
    assert 1 == len(ax.lines)
    assert ["request", "rolling p50 (10 requests)"] == legend_texts(ax)
    ok = run.requests[run.requests["ok"]].sort_values("request_number")
    expected = ok[column].rolling(10, min_periods=1, center=True).median().to_numpy()
    np.testing.assert_allclose(expected, ax.lines[0].get_ydata())
    check_png(fig, tmp_path)


def test_ttft_timeline_bars(tmp_path: Path) -> None:
    """Two bars per successful request: TTFT, then generation."""
    run = make_run()
    fig = SINGLE["ttft_timeline"](run, STYLE)
    ax = fig.axes[0]

    assert TITLES["ttft_timeline"] == ax.get_title()
    assert "seconds since start" == ax.get_xlabel()
    assert "request number" == ax.get_ylabel()
    assert 2 * 57 == len(ax.patches)
    assert ["time to first token", "generation (first token to end)"] == legend_texts(ax)
    first = ax.patches[0]
    ok = run.requests[run.requests["ok"]].iloc[0]
    assert ok["ttft_ms"] / 1000 == pytest.approx(first.get_width())
    check_png(fig, tmp_path)


def test_ttft_timeline_many_requests_is_two_line_collections(tmp_path: Path) -> None:
    """Above 2000 requests each part is one LineCollection with a bar per request."""
    run = make_run(requests=make_requests(2500, failed=0))
    fig = SINGLE["ttft_timeline"](run, STYLE)
    ax = fig.axes[0]
    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    requests = run.requests

    assert [2 * 2500, 2 * 2500] == [len(c.get_paths()[0].vertices) - 2500 for c in lines]
    assert [2 * 2500, 2 * 2500] == [len(c.get_segments()[0]) for c in lines]  # breaks dropped
    assert 0 == len(ax.patches)
    first = lines[0].get_segments()[0][:2]
    assert [requests["start_s"][0], requests["start_s"][0] + requests["ttft_ms"][0] / 1000] == (
        pytest.approx(list(first[:, 0])))
    assert (requests["start_s"].min(), requests["end_s"].max()) == pytest.approx(
        ax.dataLim.intervalx)
    assert ["time to first token", "generation (first token to end)"] == legend_texts(ax)
    check_png(fig, tmp_path)


@pytest.mark.parametrize(("name", "xlabel", "column"), [
    ("ttft_distribution", "time to first token (ms)", "ttft_ms"),
    ("itl_distribution", "inter-token latency (ms)", "itl_ms"),
    ("request_latency_distribution", "request latency (ms)", "latency_ms"),
])
def test_distributions(name: str, xlabel: str, column: str, tmp_path: Path) -> None:
    """A histogram of successful requests and labelled p50/p90/p99 lines."""
    run = make_run()
    fig = SINGLE[name](run, STYLE)
    ax = fig.axes[0]
    values = run.requests.loc[run.requests["ok"], column].to_numpy()

    assert TITLES[name] == ax.get_title()
    assert xlabel == ax.get_xlabel()
    assert "requests" == ax.get_ylabel()
    assert len(np.histogram_bin_edges(values, "auto")) - 1 == len(ax.patches)
    assert len(values) == sum(p.get_height() for p in ax.patches)
    assert 3 == len(ax.lines)
    p90 = float(np.percentile(values, 90))
    assert p90 == pytest.approx(ax.lines[1].get_xdata()[0])
    assert ["p50", "p90", "p99"] == [t.split(" = ")[0] for t in legend_texts(ax)]
    assert all(t.endswith(" ms") for t in legend_texts(ax))
    check_png(fig, tmp_path)


def test_throughput_over_time_spreads_tokens(tmp_path: Path) -> None:
    """Output tokens are spread from first token to end and summed in 1 s bins."""
    requests = make_requests(3, failed=0)
    requests["start_s"] = [0.5, 0.0, 1.0]
    requests["ttft_ms"] = [500.0, np.nan, 0.0]
    requests["end_s"] = [3.0, 1.0, 2.5]
    requests["osl"] = [100.0, 10.0, 30.0]
    fig = SINGLE["throughput_over_time"](make_run(requests=requests), STYLE)
    ax = fig.axes[0]

    assert TITLES["throughput_over_time"] == ax.get_title()
    assert "seconds since start" == ax.get_xlabel()
    assert "output tokens/s" == ax.get_ylabel()
    assert 1 == len(ax.lines)
    # request 0: 50 tok/s in [1, 3); request 1: 10 tok/s in [0, 1); request 2: 20 tok/s in [1, 2.5)
    # The last step is drawn on to the end of the run (3 s).
    assert [0.0, 1.0, 2.0, 3.0] == list(ax.lines[0].get_xdata())
    np.testing.assert_allclose([10.0, 70.0, 60.0, 60.0], ax.lines[0].get_ydata())
    check_png(fig, tmp_path)


def test_throughput_over_time_keeps_every_token() -> None:
    """Summed over the bins, the curve holds every successful request's output tokens."""
    requests = make_requests(500, failed=0, seed=3)
    requests["end_s"] = requests["end_s"] * 19.0 / requests["end_s"].max()  # run ends at 19 s
    fig = SINGLE["throughput_over_time"](make_run(requests=requests), STYLE)

    assert requests["osl"].sum() == pytest.approx(fig.axes[0].lines[0].get_ydata()[:-1].sum())


def test_concurrency_over_time(tmp_path: Path) -> None:
    """A step line of requests in flight, and the configured concurrency."""
    run = make_run()
    fig = SINGLE["concurrency_over_time"](run, STYLE)
    ax = fig.axes[0]
    requests = run.requests
    probe = np.linspace(0, requests["end_s"].max(), 400)
    in_flight = [((requests["start_s"] <= t) & (requests["end_s"] > t)).sum() for t in probe]

    assert TITLES["concurrency_over_time"] == ax.get_title()
    assert "seconds since start" == ax.get_xlabel()
    assert "requests in flight" == ax.get_ylabel()
    assert 2 == len(ax.lines)
    assert max(in_flight) == ax.lines[0].get_ydata().max()
    assert 0 == ax.lines[0].get_ydata()[-1]
    assert ["requests in flight", "configured concurrency = 4"] == legend_texts(ax)
    check_png(fig, tmp_path)


@pytest.mark.parametrize(("name", "ylabel", "metric"), [
    ("timeslices_ttft", "time to first token avg (ms)", "Time to First Token"),
    ("timeslices_itl", "inter-token latency avg (ms)", "Inter Token Latency"),
])
def test_timeslices(name: str, ylabel: str, metric: str, tmp_path: Path) -> None:
    """One bar per slice with its avg; tick labels give the index and the seconds."""
    run = make_run()
    fig = SINGLE[name](run, STYLE)
    ax = fig.axes[0]
    slices = run.timeslices
    avg = slices[(slices["metric"] == metric) & (slices["stat"] == "avg")]["value"]

    assert TITLES[name] == ax.get_title()
    assert "time slice (index, seconds since start)" == ax.get_xlabel()
    assert ylabel == ax.get_ylabel()
    assert 4 == len(ax.patches)
    assert list(avg) == [p.get_height() for p in ax.patches]
    assert "0\n0-5 s" == ax.get_xticklabels()[0].get_text()
    assert "3\n15-20 s" == ax.get_xticklabels()[3].get_text()
    check_png(fig, tmp_path)


@pytest.mark.parametrize("gpus", [1, 2])
def test_gpu_utilization_and_throughput(gpus: int, tmp_path: Path) -> None:
    """Throughput on the left axis, one utilisation line per GPU on the right."""
    run = make_run(gpu=make_gpu(gpus))
    fig = SINGLE["gpu_utilization_and_throughput_over_time"](run, STYLE)
    ax, twin = fig.axes

    assert TITLES["gpu_utilization_and_throughput_over_time"] == ax.get_title()
    assert "seconds since start" == ax.get_xlabel()
    assert "output tokens/s" == ax.get_ylabel()
    assert "GPU utilisation (%)" == twin.get_ylabel()
    assert 1 == len(ax.lines)
    assert gpus == len(twin.lines)
    expected = ["GPU utilisation"] if gpus == 1 else ["GPU 0 utilisation", "GPU 1 utilisation"]
    assert ["output tokens/s", *expected] == legend_texts(twin)
    check_png(fig, tmp_path)


def test_gpu_absolute_timestamps_move_to_the_run_clock() -> None:
    """Epoch-second telemetry timestamps are put on the requests' seconds-since-start."""
    run = make_run()
    gpu = make_gpu()
    gpu["timestamp_s"] += run.requests["start_ns"].min() / 1e9
    fig = SINGLE["gpu_utilization_and_throughput_over_time"](make_run(gpu=gpu), STYLE)

    assert 0.0 == pytest.approx(fig.axes[1].lines[0].get_xdata()[0], abs=1e-3)


# --------------------------------------------------------------------------- skips and failures

STREAMING_ONLY = ("ttft_over_time", "ttft_timeline", "itl_over_time", "ttft_distribution",
                  "itl_distribution")


@pytest.mark.parametrize("name", STREAMING_ONLY)
def test_non_streaming_run_skips(name: str) -> None:
    """Without TTFT/ITL values the streaming plots skip and say why."""
    run = make_run(requests=make_requests(streaming=False), streaming=False)

    with pytest.raises(Skip, match="which only streaming runs record"):
        SINGLE[name](run, STYLE)


@pytest.mark.parametrize("name", ["request_latency_distribution", "throughput_over_time",
                                  "concurrency_over_time"])
def test_non_streaming_run_still_draws(name: str) -> None:
    """Plots that need no TTFT draw for a non-streaming run."""
    run = make_run(requests=make_requests(streaming=False), streaming=False)

    assert isinstance(SINGLE[name](run, STYLE), Figure)


@pytest.mark.parametrize("name", ["timeslices_ttft", "timeslices_itl"])
def test_no_timeslice_export_skips(name: str) -> None:
    """Without a timeslice export the slice plots name the flag that makes one."""
    with pytest.raises(Skip, match="--slice-duration"):
        SINGLE[name](make_run(timeslices=None), STYLE)


def test_timeslices_without_the_metric_skip() -> None:
    """A timeslice export without TTFT (a non-streaming run) skips timeslices_ttft."""
    slices = make_timeslices()
    slices = slices[slices["metric"] != "Time to First Token"]

    with pytest.raises(Skip, match="only streaming runs record"):
        SINGLE["timeslices_ttft"](make_run(timeslices=slices), STYLE)


def test_no_gpu_telemetry_skips() -> None:
    """Without GPU telemetry the dual-axis plot skips."""
    with pytest.raises(Skip, match="needs GPU telemetry, which this run did not record"):
        SINGLE["gpu_utilization_and_throughput_over_time"](make_run(gpu=None), STYLE)


def test_gpu_telemetry_without_utilisation_skips() -> None:
    """Telemetry that has no gpu_utilization column skips too."""
    gpu = make_gpu().drop(columns="gpu_utilization")

    with pytest.raises(Skip, match="GPU utilisation"):
        SINGLE["gpu_utilization_and_throughput_over_time"](make_run(gpu=gpu), STYLE)


@pytest.mark.parametrize("name", sorted(set(SINGLE) - {"timeslices_ttft", "timeslices_itl"}))
def test_no_successful_request_is_an_error(name: str) -> None:
    """A run whose requests all failed is a failure (ValueError), not a skip."""
    run = make_run(requests=make_requests(10, failed=10), name="broken-run")

    with pytest.raises(ValueError, match="no successful requests to plot in broken-run"):
        SINGLE[name](run, STYLE)


# --------------------------------------------------------------------------- trials


def test_trial_spread(tmp_path: Path) -> None:
    """One panel per summary metric: a point per trial, and the mean with a t-interval."""
    runs = [make_run(name=f"trial_{i}", summary=summary(i)) for i in range(3)]
    fig = TRIALS["trial_spread"](runs, STYLE)
    labels = [ax.get_ylabel() for ax in fig.axes]

    assert TITLES["trial_spread"] == title_of(fig)
    assert ["time to first token p50 (ms)", "time to first token p99 (ms)",
            "inter-token latency p50 (ms)", "request latency p50 (ms)",
            "request throughput avg (requests/s)"] == labels
    assert all("trial" == ax.get_xlabel() for ax in fig.axes)
    assert all([3] == scatter_points(ax) for ax in fig.axes)
    values = [r.summary["request_latency"]["p50"] for r in runs]
    ticks = [t.get_text() for t in fig.axes[3].get_xticklabels()]
    assert ["1", "2", "3", "mean"] == ticks
    mean_line = [line for line in fig.axes[3].lines if len(line.get_xdata()) == 1][0]
    assert np.mean(values) == pytest.approx(mean_line.get_ydata()[0])
    check_png(fig, tmp_path)


def test_trial_spread_t_interval() -> None:
    """The error bar is mean ± t(0.975, n-1) · s / √n."""
    runs = [make_run(name=f"t{i}", summary={"request_latency": {"unit": "ms", "p50": v}})
            for i, v in enumerate([10.0, 12.0, 14.0])]
    fig = TRIALS["trial_spread"](runs, STYLE)
    bars = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)]
    (low, high) = bars[0].get_segments()[0][:, 1]

    assert 1 == len(fig.axes)
    t = t_critical(0.95, 2)  # 4.3027 (the textbook table's 4.303)
    assert (12 - t * 2 / np.sqrt(3), 12 + t * 2 / np.sqrt(3)) == pytest.approx((low, high))


def test_trial_spread_needs_two_trials() -> None:
    """A single trial has no spread."""
    with pytest.raises(Skip, match="at least 2 trials"):
        TRIALS["trial_spread"]([make_run(summary=summary(0))], STYLE)


def test_trial_spread_needs_metrics() -> None:
    """Trials whose summaries hold none of the metrics skip."""
    with pytest.raises(Skip, match="in their summaries"):
        TRIALS["trial_spread"]([make_run(), make_run()], STYLE)


def test_t_interval_is_the_shared_student_t_interval() -> None:
    """mean ± t(0.95, n - 1) · s / √n with aiperf's one t quantile, NaNs left out; the
    quantile agrees with the 3-decimal textbook table the plots once carried."""
    half = t_critical(0.95, 2) * 1.0 / math.sqrt(3)

    assert (2.0 - half, 2.0 + half) == pytest.approx(t_interval([1.0, 2.0, 3.0, np.nan]))
    assert (5.0, 5.0) == t_interval([5.0])
    assert 2.042 == pytest.approx(t_critical(0.95, 30), abs=5e-4)
    assert 1.984 == pytest.approx(t_critical(0.95, 100), abs=5e-4)


# --------------------------------------------------------------------------- multi run


@pytest.mark.parametrize(("name", "xlabel", "ylabel"), [
    ("ttft_vs_throughput", "output token throughput avg (tokens/s)",
     "time to first token p50 (ms)"),
    ("itl_vs_throughput_per_user", "output token throughput per user avg (tokens/s/user)",
     "inter-token latency p50 (ms)"),
])
def test_xy_paths(name: str, xlabel: str, ylabel: str, tmp_path: Path) -> None:
    """One point per concurrency, joined in concurrency order and labelled with it."""
    table = make_table()
    fig = MULTI[name](table, STYLE)
    ax = fig.axes[0]
    ycol = {"ttft_vs_throughput": "time_to_first_token_p50",
            "itl_vs_throughput_per_user": "inter_token_latency_p50"}[name]

    assert TITLES[name] == ax.get_title()
    assert xlabel == ax.get_xlabel()
    assert ylabel == ax.get_ylabel()
    assert 1 == len(ax.lines)
    assert list(table[ycol]) == list(ax.lines[0].get_ydata())
    assert ["c=1", "c=2", "c=4", "c=8", "c=16"] == [t.get_text() for t in ax.texts]
    assert ["demo-model"] == legend_texts(ax)
    check_png(fig, tmp_path)


def test_xy_path_with_trials_and_models(tmp_path: Path) -> None:
    """Trials are drawn as faint points with the mean path; one path per model."""
    table = make_table(trials=3, models=("model-a", "model-b"))
    fig = MULTI["ttft_vs_throughput"](table, STYLE)
    ax = fig.axes[0]
    means = table[table["model"] == "model-a"].groupby("concurrency")[
        "time_to_first_token_p50"].mean()

    assert 2 * len(CONCURRENCIES) == len(ax.texts)
    assert [15, 15] == scatter_points(ax)
    np.testing.assert_allclose(means.to_numpy(), ax.lines[0].get_ydata())
    assert ["model-a trials", "model-a (mean, 95% t-interval)", "model-b trials",
            "model-b (mean, 95% t-interval)"] == legend_texts(ax)
    check_png(fig, tmp_path)


def test_latency_percentiles_vs_concurrency(tmp_path: Path) -> None:
    """One line per percentile against concurrency."""
    fig = MULTI["latency_percentiles_vs_concurrency"](make_table(), STYLE)
    ax = fig.axes[0]

    assert TITLES["latency_percentiles_vs_concurrency"] == ax.get_title()
    assert "concurrency" == ax.get_xlabel()
    assert "request latency p50 / p90 / p99 (ms)" == ax.get_ylabel()
    assert 3 == len(ax.lines)
    assert ["p50", "p90", "p99"] == legend_texts(ax)
    assert [5, 5, 5] == [len(line.get_xdata()) for line in ax.lines]
    assert "log" == ax.get_xscale()
    check_png(fig, tmp_path)


def test_latency_percentiles_with_trials_draw_bands() -> None:
    """With trials each percentile is a mean line with a 95% band."""
    table = make_table(trials=3)
    fig = MULTI["latency_percentiles_vs_concurrency"](table, STYLE)
    ax = fig.axes[0]
    means = table.groupby("concurrency")["request_latency_p99"].mean()

    assert 3 == len(ax.lines)
    assert 3 == len(ax.collections)
    np.testing.assert_allclose(means.to_numpy(), ax.lines[2].get_ydata())
    assert "p99 (mean, 95% t-interval)" == legend_texts(ax)[2]


def test_throughput_vs_concurrency(tmp_path: Path) -> None:
    """Output token throughput on the left axis, request throughput on the right."""
    fig = MULTI["throughput_vs_concurrency"](make_table(), STYLE)
    ax, twin = fig.axes

    assert TITLES["throughput_vs_concurrency"] == ax.get_title()
    assert "concurrency" == ax.get_xlabel()
    assert "output token throughput avg (tokens/s)" == ax.get_ylabel()
    assert "request throughput avg (requests/s)" == twin.get_ylabel()
    assert (1, 1) == (len(ax.lines), len(twin.lines))
    assert ["output token throughput avg (tokens/s)",
            "request throughput avg (requests/s)"] == legend_texts(twin)
    check_png(fig, tmp_path)


def test_throughput_vs_concurrency_with_one_metric() -> None:
    """A table without token throughput (embeddings) still plots request throughput."""
    table = make_table().drop(columns="output_token_throughput_avg")
    fig = MULTI["throughput_vs_concurrency"](table, STYLE)

    assert 1 == len(fig.axes)
    assert "request throughput avg (requests/s)" == fig.axes[0].get_ylabel()


def test_pareto_frontier(tmp_path: Path) -> None:
    """Non-dominated cells are highlighted and joined in latency order."""
    table = make_table(trials=2)
    # A cell that is slower and lower than c=4: dominated.
    extra = table.iloc[[0]].assign(cell="bad", run_name="bad", concurrency=32,
                                   output_token_throughput_avg=50.0, request_latency_p50=5000.0)
    fig = MULTI["pareto_frontier"](pd.concat([table, extra], ignore_index=True), STYLE)
    ax = fig.axes[0]

    assert TITLES["pareto_frontier"] == ax.get_title()
    assert "request latency p50 (ms)" == ax.get_xlabel()
    assert "output token throughput avg (tokens/s)" == ax.get_ylabel()
    assert [1, 5] == scatter_points(ax)
    assert 1 == len(ax.lines)
    xs = ax.lines[0].get_xdata()
    assert list(xs) == sorted(xs)
    assert ["c=1", "c=2", "c=4", "c=8", "c=16"] == [t.get_text() for t in ax.texts]
    assert ["dominated", "Pareto-optimal"] == legend_texts(ax)
    check_png(fig, tmp_path)


def test_pareto_front_mask() -> None:
    """A point is on the front when nothing is both faster and higher."""
    latency = np.array([1.0, 2.0, 3.0, 2.5, 1.0])
    throughput = np.array([10.0, 20.0, 15.0, 30.0, 5.0])

    assert [True, True, False, True, False] == list(pareto_front(latency, throughput))


def test_concurrency_knee(tmp_path: Path) -> None:
    """p99 against concurrency with the baseline, the +20% threshold and the knee."""
    fig = MULTI["concurrency_knee"](make_table(), STYLE)
    ax = fig.axes[0]
    texts = legend_texts(ax)

    assert TITLES["concurrency_knee"] == ax.get_title()
    assert "concurrency" == ax.get_xlabel()
    assert "request latency p99 (ms)" == ax.get_ylabel()
    assert 4 == len(ax.lines)
    assert texts[0] == "p99"
    assert texts[1].startswith("baseline (concurrency 1) = ")
    assert texts[2].startswith("baseline + 20% = ")
    assert "knee: above the threshold from concurrency 4" == texts[3]
    check_png(fig, tmp_path)


def test_the_knee_plot_draws_its_curve_without_degraded_cells(tmp_path: Path) -> None:
    """The runner's verdict, read from the table: degraded cells are marked, not joined."""
    table = make_table(degraded=[False, False, False, True, True])
    fig = MULTI["concurrency_knee"](table, STYLE)
    ax = fig.axes[0]

    assert [1, 2, 4] == list(ax.lines[0].get_xdata())
    assert "knee: above the threshold from concurrency 4" == legend_texts(ax)[3]
    assert "degraded (left out)" == legend_texts(ax)[-1]
    check_png(fig, tmp_path)


def test_a_degraded_cell_before_the_latency_knee_is_the_knee_on_the_plot() -> None:
    """As the runner decides: past a point where the server fails, no knee is claimed."""
    table = make_table(degraded=[False, True, False, False, False])
    fig = MULTI["concurrency_knee"](table, STYLE)

    assert "knee: degraded from concurrency 2" == legend_texts(fig.axes[0])[3]


def test_the_knee_plot_skips_when_every_cell_is_degraded() -> None:
    with pytest.raises(Skip, match="every run is degraded"):
        MULTI["concurrency_knee"](make_table(degraded=True), STYLE)


def test_the_pareto_frontier_never_takes_a_degraded_cell(tmp_path: Path) -> None:
    """A cell that failed its requests fast would dominate every other: it is only marked."""
    table = make_table()
    fast = table.iloc[[0]].assign(cell="broken", run_name="broken", concurrency=32,
                                  output_token_throughput_avg=1e6, request_latency_p50=1.0)
    table = pd.concat([table.assign(degraded=False), fast.assign(degraded=True)],
                      ignore_index=True)
    fig = MULTI["pareto_frontier"](table, STYLE)
    ax = fig.axes[0]

    assert ["c=1", "c=2", "c=4", "c=8", "c=16"] == [t.get_text() for t in ax.texts]
    assert "degraded (left out)" == legend_texts(ax)[-1]
    check_png(fig, tmp_path)


def test_the_prefill_fit_leaves_degraded_cells_out() -> None:
    table = pd.DataFrame({"isl": [256, 512, 1024, 2048],
                          "time_to_first_token_p50": [12.0, 22.0, 42.0, 1.0],
                          "degraded": [False, False, False, True]})
    fig = MULTI["prefill_ttft_fit"](table, STYLE)
    texts = legend_texts(fig.axes[0])

    assert texts[1].startswith("linear fit: 0.0391·isl + 2 (r² = 1.000)")
    assert "degraded (left out)" == texts[-1]


def test_the_itl_surface_leaves_a_degraded_cell_blank() -> None:
    rows = [{"concurrency": c, "osl": o, "inter_token_latency_p50": 3 + c / 10 + o / 1000,
             "degraded": c == 64 and o == 256}
            for c in (1, 8, 64) for o in (64, 256)]
    fig = MULTI["decode_itl_surface"](pd.DataFrame(rows), STYLE)

    assert 5 == fig.axes[0].collections[0].get_array().count()  # unmasked cells


def test_prefill_ttft_fit(tmp_path: Path) -> None:
    """TTFT p50 against ISL with a linear fit when it fits."""
    table = pd.DataFrame({"run_name": [f"isl{i}" for i in range(4)],
                          "isl": [256, 512, 1024, 2048],
                          "concurrency": 1,
                          "time_to_first_token_p50": [12.0, 22.0, 42.0, 82.0]})
    fig = MULTI["prefill_ttft_fit"](table, STYLE)
    ax = fig.axes[0]

    assert TITLES["prefill_ttft_fit"] == ax.get_title()
    assert "input sequence length (tokens)" == ax.get_xlabel()
    assert "time to first token p50 (ms)" == ax.get_ylabel()
    assert [4] == scatter_points(ax)
    assert 1 == len(ax.lines)
    assert legend_texts(ax)[1].startswith("linear fit: 0.0391·isl + 2 (r² = 1.000)")
    check_png(fig, tmp_path)


def test_prefill_ttft_fit_goes_quadratic() -> None:
    """A curved TTFT(ISL) that a line fits badly gets a quadratic fit."""
    isl = np.array([1, 2, 3, 4, 5, 6]) * 100.0
    table = pd.DataFrame({"isl": isl, "time_to_first_token_p50": (isl - 350.0) ** 2})
    fig = MULTI["prefill_ttft_fit"](table, STYLE)

    assert legend_texts(fig.axes[0])[1].startswith("quadratic fit:")


def test_decode_itl_surface(tmp_path: Path) -> None:
    """A heat map with a cell per (osl, concurrency) and a labelled colour bar."""
    rows = [{"concurrency": c, "osl": o, "inter_token_latency_p50": 3 + c / 10 + o / 1000}
            for c in (1, 8, 64) for o in (64, 256)]
    fig = MULTI["decode_itl_surface"](pd.DataFrame(rows), STYLE)
    ax = fig.axes[0]

    assert TITLES["decode_itl_surface"] == ax.get_title()
    assert "concurrency" == ax.get_xlabel()
    assert "output sequence length (tokens)" == ax.get_ylabel()
    assert 6 == ax.collections[0].get_array().size
    assert ["1", "8", "64"] == [t.get_text() for t in ax.get_xticklabels()]
    assert ["256", "64"] == [t.get_text() for t in ax.get_yticklabels()]
    assert "inter-token latency p50 (ms)" == fig.axes[1].get_ylabel()
    check_png(fig, tmp_path)


def test_sla_boundary(tmp_path: Path) -> None:
    """Cells coloured by SLA verdict and the highest passing concurrency marked."""
    table = make_table(sla_pass=[True, True, True, False, False])
    fig = MULTI["sla_boundary"](table, STYLE)
    ax = fig.axes[0]

    assert TITLES["sla_boundary"] == ax.get_title()
    assert "concurrency" == ax.get_xlabel()
    assert "output token throughput avg (tokens/s)" == ax.get_ylabel()
    assert [3, 2] == scatter_points(ax)
    assert "max concurrency under the SLA = 4" == legend_texts(ax)[-1]
    check_png(fig, tmp_path)


@pytest.mark.parametrize("name", sorted(MULTI))
def test_multi_with_one_run_skips(name: str) -> None:
    """One row is not a comparison: every multi-run plot skips and names its columns."""
    table = make_table(sla_pass=True).iloc[:1].assign(isl=128, osl=128)

    with pytest.raises(Skip, match=r"needs .*(at least 2 runs with|search recipe \()"):
        MULTI[name](table, STYLE)


@pytest.mark.parametrize(("name", "recipe"), [
    ("concurrency_knee", "concurrency-ramp"),
    ("prefill_ttft_fit", "prefill-ttft-curve"),
    ("decode_itl_surface", "decode-itl-curve"),
    ("sla_boundary", "max-concurrency-under-sla"),
])
def test_recipe_plots_skip_without_recipe_columns(name: str, recipe: str) -> None:
    """Recipe plots name the recipe whose results they need."""
    table = make_table().drop(columns="request_latency_p99")

    with pytest.raises(Skip, match=f"needs the results of a {recipe} search recipe"):
        MULTI[name](table, STYLE)


def test_missing_column_skip_names_it() -> None:
    """A table without TTFT (non-streaming sweep) skips ttft_vs_throughput, naming columns."""
    table = make_table().drop(columns="time_to_first_token_p50")

    with pytest.raises(Skip, match="output_token_throughput_avg, time_to_first_token_p50"):
        MULTI["ttft_vs_throughput"](table, STYLE)


# --------------------------------------------------------------------------- styles


def test_dark_theme(tmp_path: Path) -> None:
    """The dark theme has a dark background and light text, and leaves rcParams alone."""
    before = dict(mpl.rcParams)
    style = attrs.evolve(STYLE, theme="dark")
    fig = SINGLE["ttft_over_time"](make_run(), style)
    ax = fig.axes[0]

    assert "#1a1a1a" == mcolors.to_hex(fig.get_facecolor())
    assert "#e0e0e0" == mcolors.to_hex(ax.title.get_color())
    assert "#e0e0e0" == mcolors.to_hex(ax.xaxis.label.get_color())
    image = check_png(fig, tmp_path, style)
    assert image[0, 0, :3].max() < 0.15
    assert before == dict(mpl.rcParams)


def test_light_theme_background(tmp_path: Path) -> None:
    """The light theme is white with dark text."""
    fig = MULTI["pareto_frontier"](make_table(), STYLE)
    image = check_png(fig, tmp_path)

    assert "#ffffff" == mcolors.to_hex(fig.get_facecolor())
    assert image[0, 0, :3].min() > 0.95


def test_title_override_and_size(tmp_path: Path) -> None:
    """Style.title replaces the default title; width, height and dpi set the pixels."""
    style = Style(dpi=30, width=6, height=4, title="My run")
    fig = SINGLE["throughput_over_time"](make_run(), style)

    assert "My run" == title_of(fig)
    check_png(fig, tmp_path, style)


def test_unknown_theme_is_an_error() -> None:
    """A theme name outside THEMES is refused."""
    with pytest.raises(ValueError, match="unknown theme 'blue'"):
        new_figure(Style(theme="blue"))


def test_gpus_on_two_hosts_are_told_apart() -> None:
    """Two machines' GPU 0 are two lines, named with their host."""
    gpu = make_gpu(2)
    gpu["gpu_index"] = 0
    gpu["gpu_uuid"] = np.where(np.arange(len(gpu)) < 20, "GPU-aaa", "GPU-bbb")
    gpu["hostname"] = np.where(np.arange(len(gpu)) < 20, "node1", "node2")
    fig = SINGLE["gpu_utilization_and_throughput_over_time"](make_run(gpu=gpu), STYLE)

    assert ["output tokens/s", "GPU 0 on node1 utilisation",
            "GPU 0 on node2 utilisation"] == legend_texts(fig.axes[1])


def test_gpu_telemetry_without_timestamps_skips() -> None:
    """Telemetry whose samples have no usable timestamp cannot be put on the time axis."""
    gpu = make_gpu()
    gpu["timestamp_s"] = np.nan

    with pytest.raises(Skip, match="GPU utilisation"):
        SINGLE["gpu_utilization_and_throughput_over_time"](make_run(gpu=gpu), STYLE)


def test_rate_sweep_labels_points_with_the_rate() -> None:
    """A request-rate sweep joins its points in rate order and labels them r=<rate>."""
    table = make_table().assign(concurrency=np.nan, request_rate=[0.5, 1, 2, 4, 8])
    fig = MULTI["ttft_vs_throughput"](table, STYLE)

    assert ["r=0.5", "r=1", "r=2", "r=4", "r=8"] == [t.get_text() for t in fig.axes[0].texts]
    with pytest.raises(Skip, match="concurrency"):
        MULTI["latency_percentiles_vs_concurrency"](table, STYLE)


def test_themes_in_parallel_threads() -> None:
    """Plots drawn at once on several threads each keep their own theme."""
    from concurrent.futures import ThreadPoolExecutor

    run = make_run()
    themes = ["light", "dark"] * 4
    with ThreadPoolExecutor(max_workers=4) as pool:
        figures = list(pool.map(
            lambda theme: SINGLE["ttft_over_time"](run, attrs.evolve(STYLE, theme=theme)),
            themes))

    backgrounds = ["#ffffff" if t == "light" else "#1a1a1a" for t in themes]
    panels = ["#ffffff" if t == "light" else "#252525" for t in themes]
    assert backgrounds == [mcolors.to_hex(f.get_facecolor()) for f in figures]
    assert panels == [mcolors.to_hex(f.axes[0].get_legend().get_frame().get_facecolor())
                      for f in figures]
