"""The server-metrics figures: the server's queue, KV cache and own TTFT beside what the
client measured, found by the roles of the server's metric families (data); skipped with
the reason when the run has no such series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aiperf.plot.figure import Skip
from tests.plot.test_catalogue import (
    MULTI,
    SINGLE,
    STYLE,
    check_png,
    legend_texts,
    make_run,
    make_table,
)

LABELS = '{engine="0",model_name="m"}'


def vllm_series(n: int = 20) -> pd.DataFrame:
    """What read_server_series gives for a vLLM server scraped every second."""
    t = np.arange(n, dtype=float)
    return pd.DataFrame({
        "timestamp_s": t,
        "endpoint_url": "http://127.0.0.1:8000/metrics",
        f"vllm:num_requests_running{LABELS}": np.minimum(t, 8.0),
        f"vllm:num_requests_waiting{LABELS}": np.maximum(t - 8, 0.0),
        f"vllm:kv_cache_usage_perc{LABELS}": np.minimum(t / 10, 1.0),
        f"vllm:time_to_first_token_seconds{LABELS}": 0.040 + t / 1000,
    })


@pytest.mark.parametrize("name", ["server_queue_and_throughput_over_time",
                                  "server_kv_cache_and_throughput_over_time",
                                  "server_vs_client_ttft_over_time"])
def test_each_server_figure_renders_from_the_series_its_roles_name(name: str,
                                                                   tmp_path: Path) -> None:
    fig = SINGLE[name](make_run(server=vllm_series()), STYLE)

    check_png(fig, tmp_path)


def test_the_queue_figure_draws_running_and_waiting_beside_the_clients_throughput() -> None:
    fig = SINGLE["server_queue_and_throughput_over_time"](make_run(server=vllm_series()), STYLE)

    assert ["output tokens/s", "server: running", "server: waiting"] == \
        legend_texts(fig.axes[-1])


def test_the_kv_cache_figure_is_in_percent() -> None:
    fig = SINGLE["server_kv_cache_and_throughput_over_time"](
        make_run(server=vllm_series()), STYLE)
    twin = fig.axes[1]

    assert 100.0 == pytest.approx(max(twin.lines[0].get_ydata()))
    assert "KV-cache use (%)" == twin.get_ylabel()


def test_the_servers_ttft_is_in_milliseconds() -> None:
    fig = SINGLE["server_vs_client_ttft_over_time"](make_run(server=vllm_series()), STYLE)
    server_line = fig.axes[0].lines[-1]

    assert 40.0 == pytest.approx(min(server_line.get_ydata()))


def test_without_server_metrics_every_server_figure_says_how_to_get_them() -> None:
    for name in ("server_queue_and_throughput_over_time",
                 "server_kv_cache_and_throughput_over_time", "server_vs_client_ttft_over_time"):
        with pytest.raises(Skip, match="--scrape-server-metrics"):
            SINGLE[name](make_run(), STYLE)


def test_an_unknown_servers_metrics_are_no_known_roles() -> None:
    series = pd.DataFrame({"timestamp_s": [0.0, 1.0], "myserver_queue": [1.0, 2.0]})

    with pytest.raises(Skip, match="known server"):
        SINGLE["server_queue_and_throughput_over_time"](make_run(server=series), STYLE)


def test_a_server_without_a_kv_gauge_skips_the_kv_figure_naming_it() -> None:
    series = vllm_series().drop(columns=[f"vllm:kv_cache_usage_perc{LABELS}"])

    with pytest.raises(Skip, match="needs KV-cache use, which vLLM"):
        SINGLE["server_kv_cache_and_throughput_over_time"](make_run(server=series), STYLE)


def test_throughput_per_watt_is_drawn_against_latency(tmp_path: Path) -> None:
    table = make_table()
    table["output_token_throughput_per_watt_avg"] = table["output_token_throughput_avg"] / 700
    fig = MULTI["throughput_per_watt_vs_latency"](table, STYLE)

    assert "output token throughput per watt avg (tokens/sec/W)" == fig.axes[0].get_ylabel()
    check_png(fig, tmp_path)


def test_throughput_per_gpu_needs_gpu_telemetry() -> None:
    with pytest.raises(Skip, match="output_token_throughput_per_gpu_avg"):
        MULTI["throughput_per_gpu_vs_latency"](make_table(), STYLE)
