"""Server metrics and GPU telemetry read during a run, against the simulator's own
``/metrics`` and ``/dcgm/metrics`` over real HTTP: what is exported, that the counters
agree with what the simulator did, that the plots draw them, and that a broken metrics
endpoint costs the run nothing but one warning."""

from __future__ import annotations

import json

from aiohttp import web

QUICK = ("--model", "m", "--streaming", "--concurrency", "4", "--request-count", "40",
         "--osl", "8", "--isl", "32", "--warmup-request-count", "0", "--ui", "none")


def test_the_counters_exported_equal_what_the_simulator_did(sim_server, profile, tmp_path):
    server = sim_server(mode="deterministic", ttft_ms=5, itl_ms=2, osl=8)
    run = profile("--url", server.url, *QUICK, "--prompt-sizing", "builtin",
                  "--server-metrics-interval", "0.1", "--artifact-dir", str(tmp_path / "r"))
    assert run.exit_code == 0, run.output
    totals = server.stats(records=False)["totals"]
    exported = json.loads((tmp_path / "r" / "server_metrics_export.json")
                          .read_text(encoding="utf-8"))["metrics"]

    def total(name: str) -> float:
        return sum(s["stats"]["total"] for s in exported[name]["series"])

    assert totals["requests"] == 40
    assert total("vllm:generation_tokens") == totals["output_tokens"]
    assert total("vllm:prompt_tokens") == totals["prompt_tokens"]
    ttft = exported["vllm:time_to_first_token_seconds"]["series"][0]["stats"]
    assert ttft["count"] == 40


def test_a_real_endpoints_metrics_are_probed_and_its_ttft_set_beside_the_clients(
        sim_server, profile, tmp_path):
    server = sim_server(mode="deterministic", ttft_ms=20, itl_ms=2, osl=8)
    run = profile("--url", server.url, *QUICK, "--prompt-sizing", "builtin",
                  "--server-metrics-interval", "0.1", "--artifact-dir", str(tmp_path / "r"))
    assert run.exit_code == 0, run.output
    summary = run.read().summary()

    # At least the simulator's 20 ms (the histogram's float sum may round a hair below).
    assert summary["server_time_to_first_token"]["avg"] >= 20 - 1e-6
    assert "the client's and the network's share" in run.stdout
    files = {p.name for p in (tmp_path / "r").iterdir()}
    assert {"server_metrics_export.json", "server_metrics_export.csv",
            "server_metrics_export.jsonl"} <= files


def test_the_simulator_is_scraped_only_when_asked(profile, tmp_path):
    run = profile("--url", "sim://?mode=deterministic&ttft_ms=1&itl_ms=1", *QUICK,
                  "--artifact-dir", str(tmp_path / "quiet"))
    assert run.exit_code == 0, run.output
    assert not (tmp_path / "quiet" / "server_metrics_export.json").exists()

    run = profile("--url", "sim://?mode=deterministic&ttft_ms=1&itl_ms=1", *QUICK,
                  "--scrape-server-metrics", "--artifact-dir", str(tmp_path / "asked"))
    assert run.exit_code == 0, run.output
    assert (tmp_path / "asked" / "server_metrics_export.json").is_file()


def test_simulated_gpus_give_energy_per_token_and_the_telemetry_plots(profile, tmp_path,
                                                                      _isolated_environment):
    home_config = _isolated_environment / ".aiperf" / "plot_config.yaml"
    home_config.parent.mkdir(parents=True)
    home_config.write_text(
        "dpi: 50\nwidth: 4\nheight: 3\nsingle_run:\n"
        "  - gpu_utilization_and_throughput_over_time\n"
        "  - server_queue_and_throughput_over_time\n"
        "  - server_kv_cache_and_throughput_over_time\n"
        "  - server_vs_client_ttft_over_time\n", encoding="utf-8")
    run = profile("--url", "sim://?mode=realistic&gpus=2&jitter=0", *QUICK,
                  "--scrape-server-metrics", "--server-metrics-interval", "0.1",
                  "--gpu-telemetry-interval", "0.1", "--auto-plot",
                  "--artifact-dir", str(tmp_path / "g"))
    assert run.exit_code == 0, run.output
    summary = run.read().summary()
    lines = (tmp_path / "g" / "gpu_telemetry_export.jsonl").read_text().splitlines()

    assert {json.loads(line)["gpu_index"] for line in lines} == {0, 1}
    assert summary["gpu_count"]["avg"] == 2
    assert summary["energy_per_output_token"]["avg"] > 0
    assert summary["output_token_throughput_per_watt"]["avg"] > 0
    plots = {p.name for p in (tmp_path / "g" / "plots").glob("*.png")}
    assert plots == {"gpu_utilization_and_throughput_over_time.png",
                     "server_queue_and_throughput_over_time.png",
                     "server_kv_cache_and_throughput_over_time.png",
                     "server_vs_client_ttft_over_time.png"}


def test_a_broken_metrics_endpoint_is_one_warning_and_the_run_goes_on(
        http_server, free_port, profile, tmp_path, caplog):
    async def garbage(request: web.Request) -> web.StreamResponse:
        return web.Response(text="<html>not prometheus {{{</html>", content_type="text/html")

    bad = http_server(garbage)
    refused = f"http://127.0.0.1:{free_port()}/metrics"
    run = profile("--url", "sim://?mode=deterministic&ttft_ms=1&itl_ms=1", *QUICK,
                  "--server-metrics", f"{bad.url}/metrics,{refused}",
                  "--server-metrics-interval", "0.05", "--artifact-dir", str(tmp_path / "b"))

    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert run.exit_code == 0, run.output
    assert 1 == sum("not with Prometheus metrics" in w for w in warnings), warnings
    assert 1 == sum(refused in w for w in warnings), warnings
    assert run.read().manifest.status == "complete"
