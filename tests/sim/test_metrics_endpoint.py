"""GET /metrics and GET /dcgm/metrics: the simulator's own state, in the real servers' names.

Every test talks HTTP to a simulator on 127.0.0.1 and checks the scrapes against ground
truth the simulator reports itself (``GET /sim/stats``) or that the scenario fixes (a
request held in a minute-long prefill is in flight for the whole test), never against
wall-clock margins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from rawhttp import WAIT_S, RawConnection
from simhelpers import run
from typer.testing import CliRunner

from aiperf.cli import app
from aiperf.sim.dcgm import GpuModel
from aiperf.sim.options import parse_sim_url

#: Deterministic: fixed 5 ms to the first token and 1 ms gaps, nothing ever queues.
FAST = "sim://?mode=deterministic&ttft_ms=5&itl_ms=1"
#: One batch slot, a minute of prefill: a request stays in flight until cancelled.
HELD = "sim://?mode=realistic&max_batch=1&base_ttft_ms=60000&jitter=0"
VLLM_NAMES = {
    "vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:gpu_cache_usage_perc",
    "vllm:kv_cache_usage_perc", "vllm:prefix_cache_queries_total",
    "vllm:prefix_cache_hits_total", "vllm:num_preemptions_total", "vllm:prompt_tokens_total",
    "vllm:generation_tokens_total", "vllm:request_success_total",
    "vllm:time_to_first_token_seconds_count", "vllm:time_per_output_token_seconds_count",
    "vllm:e2e_request_latency_seconds_count",
}
LLAMA_CPP_NAMES = {
    "llamacpp:prompt_tokens_total", "llamacpp:tokens_predicted_total",
    "llamacpp:prompt_tokens_seconds", "llamacpp:predicted_tokens_seconds",
    "llamacpp:requests_processing", "llamacpp:requests_deferred", "llamacpp:n_decode_total",
}
DCGM_LABELS = {"gpu", "UUID", "device", "modelName", "Hostname", "pci_bus_id"}


def _samples(text: str) -> dict[str, list[Sample]]:
    """Every sample of a scrape by its name, read by prometheus_client's own parser."""
    out: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append(sample)
    return out


def _value(samples: dict[str, list[Sample]], name: str) -> float:
    """The value of ``name``'s only sample."""
    [sample] = samples[name]
    return float(sample.value)


async def _scrape(base: str, path: str = "/metrics") -> dict[str, list[Sample]]:
    async with RawConnection(base) as conn:
        response = await conn.get(path)
    assert 200 == response.status
    return _samples(response.body.decode())


async def _stats(base: str) -> dict[str, Any]:
    async with RawConnection(base) as conn:
        return (await conn.get("/sim/stats")).json()


async def _chat(base: str, words: int, max_tokens: int, stream: bool = False) -> None:
    body = {"model": "m", "max_tokens": max_tokens, "stream": stream,
            "messages": [{"role": "user", "content": " ".join(["w"] * words)}]}
    async with RawConnection(base) as conn:
        assert 200 == (await conn.post("/v1/chat/completions", body)).status


async def _while_held(session: Any, base: str, requests: int,
                      then: Callable[[], Awaitable[Any]]) -> Any:
    """Send ``requests`` chat requests of 7 words that never finish; once /metrics says
    they are all in the server, return ``then()``; cancel them afterwards."""
    body = {"model": "m", "max_tokens": 2, "stream": True,
            "messages": [{"role": "user", "content": " ".join(["w"] * 7)}]}

    async def hold() -> None:
        async with session.post(base + "/v1/chat/completions", json=body) as resp:
            await resp.read()

    held = [asyncio.create_task(hold()) for _ in range(requests)]
    try:
        deadline = asyncio.get_running_loop().time() + WAIT_S
        while asyncio.get_running_loop().time() < deadline:
            s = await _scrape(base)
            inside = _value(s, "vllm:num_requests_running") + _value(s, "vllm:num_requests_waiting")
            if inside == requests:
                return await then()
            await asyncio.sleep(0.005)
        raise AssertionError(f"{requests} requests never all reached the server")
    finally:
        for task in held:
            task.cancel()
        await asyncio.gather(*held, return_exceptions=True)


async def _once_empty(base: str) -> dict[str, list[Sample]]:
    """The first scrape after the cancelled requests have left the server (the server
    learns of a client's cancellation on its own time)."""
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while asyncio.get_running_loop().time() < deadline:
        s = await _scrape(base)
        if _value(s, "vllm:num_requests_running") + _value(s, "vllm:num_requests_waiting") == 0:
            return s
        await asyncio.sleep(0.005)
    raise AssertionError("cancelled requests never left the server")


def test_the_default_server_speaks_vllm_in_the_text_format_prometheus_client_reads():
    """The generic simulator's /metrics is text 0.0.4 with vLLM's names, each labelled
    with the served model."""

    async def scenario(_session, base):
        await _chat(base, 3, 2)
        async with RawConnection(base) as conn:
            response = await conn.get("/metrics")
        return response.headers["Content-Type"], response.body.decode()

    content_type, text = run(FAST + "&model=served", scenario)
    samples = _samples(text)

    assert content_type.startswith("text/plain; version=0.0.4")
    assert VLLM_NAMES <= set(samples)
    assert all(s.labels.get("model_name") == "served" for ss in samples.values() for s in ss)


def test_token_and_request_counters_equal_the_simulators_own_totals():
    """After N requests the counters' growth equals what /sim/stats says was done."""

    async def scenario(_session, base):
        before = await _scrape(base)
        for words, max_tokens in [(3, 4), (10, 1), (25, 7), (1, 3)]:
            await _chat(base, words, max_tokens, stream=max_tokens % 2 == 1)
        return before, await _scrape(base), (await _stats(base))["totals"]

    before, after, totals = run(FAST, scenario)

    def grew(name: str) -> float:
        return _value(after, name) - _value(before, name)

    assert totals["prompt_tokens"] == grew("vllm:prompt_tokens_total") == 39
    assert totals["output_tokens"] == grew("vllm:generation_tokens_total") == 15
    assert totals["completed"] == sum(s.value for s in after["vllm:request_success_total"]) == 4
    assert totals["prompt_tokens"] == grew("vllm:prefix_cache_queries_total")
    assert 0 == _value(after, "vllm:prefix_cache_hits_total")
    assert 0 == _value(after, "vllm:num_preemptions_total")


def test_histograms_observe_each_finished_request_as_the_simulator_timed_it():
    """Counts equal the finished requests (one gap per token after the first) and the
    TTFT sum is the sum of the simulator's own records."""

    async def scenario(_session, base):
        for max_tokens in (4, 1, 6):
            await _chat(base, 5, max_tokens)
        return await _scrape(base), (await _stats(base))["records"]

    s, records = run(FAST, scenario)

    assert 3 == _value(s, "vllm:time_to_first_token_seconds_count")
    assert 3 == _value(s, "vllm:e2e_request_latency_seconds_count")
    assert 3 + 0 + 5 == _value(s, "vllm:time_per_output_token_seconds_count")
    ttft_sum = sum(r["ttft_ms"] for r in records) / 1000.0
    assert abs(ttft_sum - _value(s, "vllm:time_to_first_token_seconds_sum")) < 1e-9
    buckets = {b.labels["le"]: b.value for b in s["vllm:time_to_first_token_seconds_bucket"]}
    assert 3 == buckets["+Inf"] == buckets["0.01"]  # 5 ms each: inclusive upper bounds


def test_running_and_waiting_gauges_count_the_requests_in_flight():
    """One batch slot and two held requests: one running, one waiting."""

    async def scenario(session, base):
        return await _while_held(session, base, 2, lambda: _scrape(base))

    s = run(HELD, scenario)

    assert (1, 1) == (_value(s, "vllm:num_requests_running"),
                      _value(s, "vllm:num_requests_waiting"))


def test_kv_cache_usage_is_the_running_tokens_over_the_capacity():
    """The running request holds its 7 prompt tokens (none generated yet) of 100; the
    waiting one holds nothing; both names say the same."""

    async def scenario(session, base):
        during = await _while_held(session, base, 2, lambda: _scrape(base))
        return during, await _once_empty(base)

    during, after = run(HELD + "&kv_cache_tokens=100", scenario)

    assert 0.07 == _value(during, "vllm:kv_cache_usage_perc")
    assert 0.07 == _value(during, "vllm:gpu_cache_usage_perc")
    assert 0 == _value(after, "vllm:kv_cache_usage_perc")


def test_the_llama_cpp_profile_exposes_llamacpp_names_and_no_vllm_ones():
    """llama-server's names, counting the same work; one decode call per prefill at least."""

    async def scenario(_session, base):
        await _chat(base, 3, 4)
        return await _scrape(base), (await _stats(base))["totals"]

    s, totals = run(FAST + "&profile=llama.cpp", scenario)

    assert LLAMA_CPP_NAMES <= set(s)
    assert not [name for name in s if name.startswith("vllm:")]
    assert totals["prompt_tokens"] == _value(s, "llamacpp:prompt_tokens_total")
    assert totals["output_tokens"] == _value(s, "llamacpp:tokens_predicted_total")
    assert _value(s, "llamacpp:n_decode_total") >= 1


def test_the_dcgm_endpoint_has_one_series_per_gpu_with_dcgm_labels():
    """gpus=3: every family has GPUs 0, 1, 2, each with the exporter's labels and its own
    UUID."""

    async def scenario(_session, base):
        return await _scrape(base, "/dcgm/metrics")

    s = run(FAST + "&gpus=3", scenario)

    for name in ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_POWER_USAGE",
                 "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "DCGM_FI_DEV_FB_USED",
                 "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_SM_CLOCK", "DCGM_FI_DEV_GPU_TEMP"):
        assert ["0", "1", "2"] == [x.labels["gpu"] for x in s[name]], name
        assert all(DCGM_LABELS == set(x.labels) for x in s[name]), name
    assert 3 == len({x.labels["UUID"] for x in s["DCGM_FI_DEV_GPU_UTIL"]})


def test_gpu_utilisation_and_power_follow_the_batch():
    """Idle between two scrapes: 0 % at idle power. Busy for the whole interval between
    two scrapes (a request is held in prefill throughout): 100 % at full power."""
    gpu = GpuModel()

    async def scenario(session, base):
        await _scrape(base, "/dcgm/metrics")
        idle = await _scrape(base, "/dcgm/metrics")

        async def busy_interval():
            await _scrape(base, "/dcgm/metrics")  # the interval starts with the batch busy
            await asyncio.sleep(0.01)
            return await _scrape(base, "/dcgm/metrics")

        return idle, await _while_held(session, base, 1, busy_interval)

    idle, busy = run(HELD + "&gpus=1", scenario)

    assert 0 == _value(idle, "DCGM_FI_DEV_GPU_UTIL")
    assert gpu.idle_w == _value(idle, "DCGM_FI_DEV_POWER_USAGE")
    assert 100 == _value(busy, "DCGM_FI_DEV_GPU_UTIL")
    # Busy time over elapsed time may round a hair below 1.
    assert pytest.approx(gpu.max_w) == _value(busy, "DCGM_FI_DEV_POWER_USAGE")
    assert gpu.max_clock_mhz == _value(busy, "DCGM_FI_DEV_SM_CLOCK")


def test_gpu_energy_never_decreases():
    """Across idle and busy scrapes the energy counter only grows."""

    async def scenario(session, base):
        readings = [await _scrape(base, "/dcgm/metrics")]
        await _chat(base, 3, 2)
        readings.append(await _scrape(base, "/dcgm/metrics"))
        await asyncio.sleep(0.01)
        readings.append(await _scrape(base, "/dcgm/metrics"))
        readings.append(await _scrape(base, "/dcgm/metrics"))
        return readings

    readings = run(FAST + "&gpus=2", scenario)
    energy = [[x.value for x in r["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"]] for r in readings]

    assert all(b >= a for earlier, later in zip(energy, energy[1:], strict=False)
               for a, b in zip(earlier, later, strict=True))
    assert all(b > a for a, b in zip(energy[0], energy[-1], strict=True))


def test_there_is_no_dcgm_endpoint_without_gpus():
    """gpus defaults to 0: no GPUs, no exporter."""

    async def scenario(_session, base):
        async with RawConnection(base) as conn:
            return (await conn.get("/dcgm/metrics")).status

    assert 404 == run(FAST, scenario)


def test_gpus_is_a_url_option_and_a_sim_serve_flag():
    """``sim://?gpus=N`` and ``aiperf sim serve --gpus N`` set the same option."""
    result = CliRunner().invoke(app, ["sim", "serve", "--help"], env={"COLUMNS": "200"})

    assert 4 == parse_sim_url("sim://?gpus=4").gpus
    assert 0 == result.exit_code
    assert "--gpus" in result.output
