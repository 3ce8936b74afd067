"""What a run reads besides its requests, from the resolved telemetry modes: the rules
decide the mode, bench/telemetry_run.py only turns it into URLs."""

from __future__ import annotations

from typing import Any

from aiperf.bench.telemetry_run import DEFAULT_DCGM_URL, plan_telemetry
from aiperf.config import load

BASE = "http://127.0.0.1:8000"


def settings(**cli: Any) -> Any:
    return load([], {"benchmark.endpoint.url": BASE, **cli}, {}).config.benchmark


def test_a_real_endpoints_metrics_and_the_local_exporter_are_probed():
    plan = plan_telemetry(settings(), BASE)

    assert (plan.server_urls, plan.server_probes) == ((), (f"{BASE}/metrics",))
    assert (plan.gpu_urls, plan.gpu_probes, plan.nvml) == ((), (DEFAULT_DCGM_URL,), True)


def test_asking_for_server_metrics_reads_the_endpoints_without_probing():
    plan = plan_telemetry(settings(**{"benchmark.server_metrics.enabled": True}), BASE)

    assert (plan.server_urls, plan.server_probes) == ((f"{BASE}/metrics",), ())


def test_turned_off_nothing_is_read():
    plan = plan_telemetry(settings(**{"benchmark.server_metrics.enabled": False,
                                      "benchmark.gpu_telemetry.enabled": False}), BASE)

    assert plan.empty


def test_the_metrics_url_is_at_the_endpoints_root_whatever_its_path():
    plan = plan_telemetry(settings(), f"{BASE}/v1")

    assert plan.server_probes == (f"{BASE}/metrics",)


def test_listed_urls_are_read_as_given():
    listed = "http://127.0.0.1:9090/metrics"
    plan = plan_telemetry(settings(**{"benchmark.server_metrics.urls": [listed]}), BASE)

    assert plan.server_urls == (listed,)


def test_simulated_gpus_are_read_from_the_simulators_endpoint_not_probed():
    cfg = load([], {"benchmark.endpoint.url": "sim://?gpus=2"}, {}).config.benchmark
    plan = plan_telemetry(cfg, BASE, simulated_dcgm_url=f"{BASE}/dcgm/metrics")

    assert (plan.gpu_urls, plan.gpu_probes) == ((f"{BASE}/dcgm/metrics",), ())


def test_the_dcgm_collector_alone_polls_no_nvml():
    plan = plan_telemetry(settings(**{"benchmark.gpu_telemetry.collector": "dcgm"}), BASE)

    assert (plan.gpu_probes, plan.nvml) == ((DEFAULT_DCGM_URL,), False)


def test_every_endpoint_of_a_repeated_url_has_its_metrics_read():
    other = "http://127.0.0.1:8001"
    asked = plan_telemetry(settings(**{"benchmark.server_metrics.enabled": True}), BASE,
                           more_base_urls=(other,))
    probed = plan_telemetry(settings(), BASE, more_base_urls=(other,))

    assert asked.server_urls == (f"{BASE}/metrics", f"{other}/metrics")
    assert probed.server_probes == (f"{BASE}/metrics", f"{other}/metrics")
