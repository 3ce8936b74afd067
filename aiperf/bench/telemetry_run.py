"""What a run reads besides its requests: the server's Prometheus metrics and its GPUs'
telemetry, collected on threads of their own (never on the event loop that times the
requests) from before the first request until after the last, then summed up over the
profiling window for the summary and written beside the records.

The settings decide what is read (``benchmark.server_metrics.mode``,
``benchmark.gpu_telemetry.mode``: see rules/telemetry.yaml and rules/gpu-telemetry.yaml);
this module only carries that out: a URL to *probe* is read when it answers a Prometheus
exposition before the run, one that is *required* is read regardless (the scraper warns
once when it does not answer).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs

from aiperf.config.model import Benchmark
from aiperf.telemetry.gpu import GpuSample

log = logging.getLogger("aiperf.profile")

#: Where a DCGM exporter answers by default (its documented port).
DEFAULT_DCGM_URL = "http://localhost:9400/metrics"
#: Seconds a probe of a URL may take before the run (a missing exporter refuses at once).
PROBE_TIMEOUT_S = 2.0


@attrs.frozen
class TelemetryPlan:
    """The URLs a run reads, decided from the settings and the endpoint's base URL."""

    #: Server-metrics endpoints read regardless (listed, or the endpoint's when required).
    server_urls: tuple[str, ...] = ()
    #: Read when they answer before the run.
    server_probes: tuple[str, ...] = ()
    server_interval_s: float = 1.0
    gpu_urls: tuple[str, ...] = ()
    gpu_probes: tuple[str, ...] = ()
    #: Poll local GPUs through NVML (when it can be used).
    nvml: bool = False
    #: Warn when no GPU source answers.
    gpu_required: bool = False
    gpu_interval_s: float = 1.0

    @property
    def empty(self) -> bool:
        return not (self.server_urls or self.server_probes or self.gpu_urls
                    or self.gpu_probes or self.nvml)


def metrics_url(base_url: str) -> str:
    """The endpoint's own Prometheus URL: ``/metrics`` at its root."""
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, "/metrics", "", ""))


def plan_telemetry(cfg: Benchmark, base_url: str, simulated_dcgm_url: str | None = None,
                   more_base_urls: Sequence[str] = ()) -> TelemetryPlan:
    """What to read for a run whose requests go to ``base_url`` (and ``more_base_urls``,
    the further endpoints of a repeated --url: each one's /metrics is read alike).

    ``simulated_dcgm_url`` is the in-process simulator's DCGM endpoint when it simulates
    GPUs (``sim://?gpus=N``), handed in by whoever serves it.
    """
    server, gpu = cfg.server_metrics, cfg.gpu_telemetry
    listed_server = tuple(server.urls or ())
    own = tuple(metrics_url(b) for b in (base_url, *more_base_urls))
    server_urls: tuple[str, ...] = ()
    server_probes: tuple[str, ...] = ()
    if server.mode == "required":
        server_urls = (*own, *listed_server)
    elif server.mode == "probe":
        server_urls, server_probes = listed_server, own
    elif server.mode == "listed":
        server_urls = listed_server
    listed_gpu = tuple(gpu.urls or ())
    dcgm = gpu.collector in ("auto", "dcgm")
    nvml = gpu.collector in ("auto", "nvml") and gpu.mode in ("probe", "required")
    gpu_urls: tuple[str, ...] = ()
    gpu_probes: tuple[str, ...] = ()
    if gpu.mode in ("listed", "probe", "required"):
        gpu_urls = listed_gpu
    if gpu.mode in ("probe", "required") and dcgm:
        if simulated_dcgm_url is not None:
            gpu_urls = (simulated_dcgm_url, *gpu_urls)
        else:
            gpu_probes = (DEFAULT_DCGM_URL,)
    return TelemetryPlan(server_urls, server_probes, server.interval, gpu_urls, gpu_probes,
                         nvml, gpu.mode == "required", gpu.interval)


@attrs.frozen
class Collected:
    """What the collectors gathered, for the summary and the exports."""

    server_urls: tuple[str, ...]
    server_scrapes: Mapping[str, Sequence[Any]]
    server_fetch_stats: Mapping[str, Any]
    gpu_samples: tuple[GpuSample, ...]


class RunTelemetry:
    """The collectors of one run: :meth:`start` before the first request, :meth:`stop`
    after the last (each returns promptly; neither raises: a source that fails is one
    warning through ``warn``)."""

    def __init__(self, plan: TelemetryPlan, warn: Callable[[str], None]) -> None:
        self._plan = plan
        self._warn = warn
        self._server: Any = None
        self._dcgm: Any = None
        self._nvml: Any = None

    def start(self) -> None:
        """Probe what is to be probed, then start reading what answered."""
        from aiperf.telemetry.scraper import Scraper, probe

        plan = self._plan
        server = [*plan.server_urls,
                  *(u for u in plan.server_probes if probe(u, PROBE_TIMEOUT_S))]
        if server:
            self._server = Scraper(server, plan.server_interval_s, self._warn)
            self._server.start()
        dcgm = [*plan.gpu_urls, *(u for u in plan.gpu_probes if probe(u, PROBE_TIMEOUT_S))]
        if dcgm:
            self._dcgm = Scraper(dcgm, plan.gpu_interval_s, self._warn)
            self._dcgm.start()
        if plan.nvml:
            self._start_nvml()
        if plan.gpu_required and not dcgm and self._nvml is None:
            self._warn("GPU telemetry was asked for, but no DCGM exporter answered "
                       f"({', '.join(plan.gpu_probes) or 'none listed'}) and NVML is not "
                       "available; the run has no GPU telemetry")

    def _start_nvml(self) -> None:
        from aiperf.telemetry.nvml import NvmlPoller, nvml_available

        usable, why = nvml_available()
        if not usable:
            if self._plan.gpu_required:
                self._warn(f"NVML: {why}")
            else:
                log.debug("NVML not used: %s", why)
            return
        poller = NvmlPoller(self._plan.gpu_interval_s, self._warn)
        if poller.start():
            self._nvml = poller

    def stop(self) -> Collected:
        """Stop every collector (each takes a last reading) and hand over what they read."""
        from aiperf.telemetry.gpu import samples_from_dcgm

        urls: tuple[str, ...] = ()
        scrapes: dict[str, Sequence[Any]] = {}
        stats: dict[str, Any] = {}
        if self._server is not None:
            self._server.stop()
            urls = self._server.urls
            scrapes = self._server.all_scrapes()
            stats = dict(self._server.all_fetch_stats())
        samples: list[GpuSample] = []
        if self._dcgm is not None:
            self._dcgm.stop()
            for url_scrapes in self._dcgm.all_scrapes().values():
                for scrape in url_scrapes:
                    samples += samples_from_dcgm(scrape)
        if self._nvml is not None:
            self._nvml.stop()
            samples += self._nvml.samples()
        return Collected(urls, scrapes, stats, tuple(samples))


@attrs.frozen
class TelemetryResults:
    """A run's telemetry as the summary and the artifacts take it: scalar metrics by
    tag (see the ``telemetry`` rows of :mod:`aiperf.metric_catalogue`), the export files
    (name -> (text, manifest role)) and a sentence for the console."""

    scalars: Mapping[str, float]
    files: Mapping[str, tuple[str, str]]
    notes: tuple[str, ...] = ()


def telemetry_results(collected: Collected, start_ns: int, end_ns: int,
                      output_tokens: int | None, output_token_throughput: float | None,
                      client_ttft_ms: float | None, benchmark_id: str,
                      input_config: Mapping[str, Any]) -> TelemetryResults:
    """Sum up what was collected over the profiling window ``[start_ns, end_ns]``."""
    scalars: dict[str, float] = {}
    files: dict[str, tuple[str, str]] = {}
    notes: list[str] = []
    if collected.server_urls:
        _server_results(collected, start_ns, end_ns, client_ttft_ms, benchmark_id,
                        input_config, scalars, files, notes)
    if collected.gpu_samples:
        _gpu_results(collected.gpu_samples, start_ns, end_ns, output_tokens,
                     output_token_throughput, scalars, files)
    return TelemetryResults(scalars, files, tuple(notes))


def _server_results(collected: Collected, start_ns: int, end_ns: int,
                    client_ttft_ms: float | None, benchmark_id: str,
                    input_config: Mapping[str, Any], scalars: dict[str, float],
                    files: dict[str, tuple[str, str]], notes: list[str]) -> None:
    from aiperf.telemetry.server_export import (
        CSV_NAME,
        JSON_NAME,
        JSONL_NAME,
        ServerMetricsRun,
        export_texts,
    )
    from aiperf.telemetry.server_summary import server_latencies_ms

    run = ServerMetricsRun(collected.server_urls, collected.server_scrapes,
                           collected.server_fetch_stats, start_ns, end_ns)
    roles = {JSON_NAME: "server_metrics_json", CSV_NAME: "server_metrics_csv",
             JSONL_NAME: "server_metrics_series"}
    for name, text in export_texts(run, benchmark_id, input_config).items():
        files[name] = (text, roles[name])
    # The endpoint's own metrics come first (plan_telemetry lists them so).
    for url in collected.server_urls:
        latencies = server_latencies_ms(collected.server_scrapes.get(url, ()), start_ns,
                                        end_ns)
        if not latencies:
            continue
        for key, tag in (("ttft", "server_time_to_first_token"),
                         ("itl", "server_inter_token_latency"),
                         ("e2e", "server_request_latency")):
            avg = latencies.get(key, {}).get("avg")
            if avg is not None:
                scalars[tag] = avg
        server_ttft = latencies.get("ttft", {}).get("avg")
        if server_ttft is not None and client_ttft_ms is not None:
            notes.append(f"TTFT avg: the server's {server_ttft:.2f} ms of the client's "
                         f"{client_ttft_ms:.2f} ms; {client_ttft_ms - server_ttft:.2f} ms is "
                         "the client's and the network's share")
        break


def _gpu_results(samples: Sequence[GpuSample], start_ns: int, end_ns: int,
                 output_tokens: int | None, output_token_throughput: float | None,
                 scalars: dict[str, float], files: dict[str, tuple[str, str]]) -> None:
    from aiperf.telemetry.gpu import gpu_summary
    from aiperf.telemetry.gpu_export import GPU_TELEMETRY_FILE, gpu_export_lines

    summary = gpu_summary(samples, start_ns, end_ns, output_tokens)
    files[GPU_TELEMETRY_FILE] = ("".join(gpu_export_lines(samples)), "gpu_telemetry")
    if not summary.gpus:
        return
    found = {
        "gpu_count": float(len(summary.gpus)),
        "gpu_utilization": summary.utilization_avg_pct,
        "gpu_power": summary.power_avg_w,
        "gpu_energy": summary.energy_j,
        "energy_per_output_token": summary.energy_per_output_token_j,
        "output_token_throughput_per_watt": summary.output_tokens_per_s_per_w,
        "output_token_throughput_per_gpu": (output_token_throughput / len(summary.gpus)
                                            if output_token_throughput is not None else None),
    }
    scalars.update({tag: value for tag, value in found.items() if value is not None})
