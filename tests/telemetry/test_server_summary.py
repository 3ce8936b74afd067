"""Parsing real-shaped expositions and summarising them over the profiling window."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from aiperf.telemetry.families import detect, known_servers, role_family
from aiperf.telemetry.prometheus import Family, Sample, Scrape, parse_exposition
from aiperf.telemetry.server_summary import (
    counter_increase,
    gauge_stats,
    histogram_quantile,
    server_latencies_ms,
    summarise,
    time_series,
    window_scrapes,
)

DATA = Path(__file__).with_name("data")

VLLM = """\
# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="m"} 3.0
# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{model_name="m"} 0.25
# HELP vllm:prompt_tokens_total Number of prefill tokens processed.
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{model_name="m"} 1200.0
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{le="0.1",model_name="m"} 2.0
vllm:time_to_first_token_seconds_bucket{le="0.5",model_name="m"} 8.0
vllm:time_to_first_token_seconds_bucket{le="+Inf",model_name="m"} 10.0
vllm:time_to_first_token_seconds_count{model_name="m"} 10.0
vllm:time_to_first_token_seconds_sum{model_name="m"} 2.5
"""


def _scrape(t_s: float, *families: Family) -> Scrape:
    return Scrape("http://h/metrics", int(t_s * 1e9), 1.0, {f.name: f for f in families})


def _counter(value: float) -> Family:
    return Family("c", "counter", "a counter", "", (Sample("c_total", {}, value),))


def _gauge(value: float) -> Family:
    return Family("g", "gauge", "a gauge", "", (Sample("g", {}, value),))


def _histogram(buckets: dict[str, float], total: float) -> Family:
    samples = [Sample("h_bucket", {"le": le}, n) for le, n in buckets.items()]
    samples += [Sample("h_count", {}, buckets["+Inf"]), Sample("h_sum", {}, total)]
    return Family("h", "histogram", "", "", tuple(samples))


def test_vllm_exposition_parses_with_roles_detected() -> None:
    families = parse_exposition(VLLM)

    server = detect(families)

    assert server is not None and server.server == "vllm"
    assert role_family(server, "prompt_tokens", families) == "vllm:prompt_tokens"
    assert role_family(server, "kv_cache_usage", families) == "vllm:gpu_cache_usage_perc"
    assert families["vllm:time_to_first_token_seconds"].type == "histogram"


def test_llamacpp_exposition_from_the_real_server_parses_with_roles_detected() -> None:
    families = parse_exposition((DATA / "llamacpp_metrics.txt").read_text())

    server = detect(families)

    assert server is not None and server.server == "llamacpp"
    assert role_family(server, "generation_tokens", families) == "llamacpp:tokens_predicted"
    assert role_family(server, "requests_running", families) == "llamacpp:requests_processing"


def test_every_server_file_loads_with_roles() -> None:
    servers = {s.server for s in known_servers()}

    assert {"vllm", "sglang", "tgi", "llamacpp", "trtllm"} == servers


def test_unknown_families_detect_no_server() -> None:
    assert detect({"x": _gauge(1.0)}) is None


def test_counter_increase_counts_from_zero_after_a_reset() -> None:
    assert 10 + 5 + 7 == counter_increase([100, 110, 5, 12])


def test_counter_total_and_rate_cover_the_bounding_scrapes() -> None:
    scrapes = [_scrape(t, _counter(v)) for t, v in [(0, 0), (1, 10), (2, 30), (3, 3), (4, 50)]]

    summary = summarise(scrapes, start_ns=int(1.5e9), end_ns=int(2.5e9))

    stats = summary["c"].series[0].stats
    assert 20 + 3 == stats["total"]
    assert 23 / 2 == pytest.approx(stats["rate"])


def test_window_is_bounded_by_the_scrapes_just_outside_it() -> None:
    scrapes = [_scrape(t, _gauge(t)) for t in range(6)]

    window = window_scrapes(scrapes, int(1.5e9), int(3.5e9))

    assert [1, 2, 3, 4] == [s.timestamp_ns // 10**9 for s in window]


def test_gauge_stats_are_population_std_and_interpolated_percentiles() -> None:
    stats = gauge_stats([0, 0, 0, 0, 0, 0, 1, 3, 4, 4])

    assert 1.2 == pytest.approx(stats["avg"])
    assert 2.5 == pytest.approx(stats["p75"])
    assert 0.0 == stats["p50"]
    assert math.sqrt(4.2 - 1.44) == pytest.approx(stats["std"])


def test_histogram_quantile_interpolates_within_the_bucket() -> None:
    buckets = [(0.1, 2.0), (0.5, 8.0), (1.0, 10.0), (math.inf, 10.0)]

    # p50: rank 5 lies in (0.1, 0.5] holding 6 observations, 3 of them below rank:
    # 0.1 + 0.4 * 3 / 6 = 0.3. p90: rank 9 in (0.5, 1.0]: 0.5 + 0.5 * 1 / 2 = 0.75.
    assert 0.3 == pytest.approx(histogram_quantile(0.5, buckets))
    assert 0.75 == pytest.approx(histogram_quantile(0.9, buckets))
    assert 0.1 * 0.5 == pytest.approx(histogram_quantile(0.1, buckets))


def test_histogram_quantile_in_the_inf_bucket_is_the_largest_finite_bound() -> None:
    assert 1.0 == histogram_quantile(0.99, [(0.5, 1.0), (1.0, 2.0), (math.inf, 10.0)])


def test_histogram_summary_uses_bucket_increases_over_the_window() -> None:
    before = _histogram({"0.1": 5, "0.5": 5, "+Inf": 5}, 0.25)
    after = _histogram({"0.1": 7, "0.5": 13, "+Inf": 15}, 3.25)
    scrapes = [_scrape(0, before), _scrape(10, after)]

    stats = summarise(scrapes, int(1e9), int(9e9))["h"].series[0].stats

    assert (10, 3.0) == (stats["count"], stats["sum"])
    assert 0.3 == pytest.approx(stats["avg"])
    assert 0.1 + 0.4 * 3 / 6 == pytest.approx(stats["p50"])


def test_server_latencies_are_in_milliseconds_from_the_role_histogram() -> None:
    zero = parse_exposition(VLLM.replace(" 10.0", " 0.0").replace(" 8.0", " 0.0")
                            .replace(" 2.0", " 0.0").replace(" 2.5", " 0.0"))
    full = parse_exposition(VLLM)
    scrapes = [Scrape("u", 0, 1.0, zero), Scrape("u", int(5e9), 1.0, full)]

    latencies = server_latencies_ms(scrapes, int(1e9), int(4e9))

    assert 250.0 == pytest.approx(latencies["ttft"]["avg"])
    assert 300.0 == pytest.approx(latencies["ttft"]["p50"])


def test_time_series_gives_gauge_values_and_counter_rates() -> None:
    scrapes = [_scrape(0, _counter(0), _gauge(1)), _scrape(2, _counter(10), _gauge(2))]

    points = time_series(scrapes)

    assert {"g": 1} == points[0].values
    assert {"g": 2, "c": 5.0} == points[1].values


def test_time_series_gives_a_histograms_mean_observation_since_the_last_scrape() -> None:
    scrapes = [_scrape(0, _histogram({"0.1": 1, "+Inf": 2}, 0.3)),
               _scrape(1, _histogram({"0.1": 2, "+Inf": 5}, 1.5)),
               _scrape(2, _histogram({"0.1": 2, "+Inf": 5}, 1.5))]

    points = time_series(scrapes)

    assert {} == points[0].values
    assert {"h": pytest.approx(0.4)} == points[1].values  # 1.2 s over 3 observations
    assert {} == points[2].values  # nothing observed: no mean


def test_server_files_read_from_the_parse_cache_equal_strictyamls_parse() -> None:
    from aiperf.telemetry.families import FAMILIES_DIR, load_server

    known_servers.cache_clear()
    known_servers()  # a miss: parsed and stored
    known_servers.cache_clear()

    cached = known_servers()

    parsed = tuple(load_server(p) for p in sorted(FAMILIES_DIR.glob("*.yaml")))
    assert cached == parsed
