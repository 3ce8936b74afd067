"""The resolved configuration: a frozen attrs tree that consumers read and never re-decide.

The shape mirrors the YAML document (``config.benchmark.load.concurrency``); it is
built from the resolved field values by the one converter in
:mod:`aiperf.config.structure`.
"""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class Endpoint:
    url: str
    extra_urls: list[str] | None = attrs.field(repr=False)  # may hold passwords
    url_strategy: str
    type: str
    model: str | None
    streaming: bool
    api_key: str | None = attrs.field(repr=False)
    timeout: float
    headers: dict[str, str] = attrs.field(repr=False)
    extra_inputs: dict[str, Any]


@attrs.frozen
class Load:
    concurrency: int | None
    request_rate: float | None
    arrival: str
    burstiness: float
    rate_ramp_duration: float | None
    concurrency_ramp_duration: float | None
    cancellation_rate: float
    cancellation_delay: float
    fixed_schedule: bool
    schedule_start_offset: float | None
    schedule_end_offset: float | None
    schedule_speedup: float
    request_count: int | None
    duration: float | None
    warmup_request_count: int


@attrs.frozen
class Distribution:
    mean: int | None
    stddev: float


@attrs.frozen
class Dataset:
    isl: Distribution
    osl: Distribution
    system_prompt_length: int | None
    prefix_prompts: int | None
    prefix_length: int | None
    prompt_salt: bool
    type: str
    input_file: str | None
    seed: int


@attrs.frozen
class Search:
    recipe: str | None
    concurrency_min: int | None
    concurrency_max: int | None
    concurrency_steps: int | None
    isl_min: int | None
    isl_max: int | None
    isl_steps: int | None
    osl_min: int | None
    osl_max: int | None
    osl_steps: int | None
    degradation_threshold: float | None
    ttft_sla_ms: float | None
    itl_sla_ms: float | None
    tpot_sla_ms: float | None
    e2e_sla_ms: float | None
    error_rate_sla: float | None
    slo_attainment_fraction: float | None
    isl_osl_pairs: tuple[str, ...] | None
    search_style: str | None
    max_error_rate: float


@attrs.frozen
class Runs:
    count: int
    cooldown: float
    confidence_level: float


@attrs.frozen
class Scenario:
    name: str
    values: dict[str, Any]


@attrs.frozen
class Sweep:
    type: str
    parameters: dict[str, tuple[float, ...]]
    scenarios: tuple[Scenario, ...] | None


@attrs.frozen
class Artifacts:
    dir: str
    run_dir: str
    overwrite: bool
    auto_plot: bool
    plot_required: bool
    export_prefix: str | None
    export_file: str | None
    plot_config: str | None
    slice_duration: float | None


@attrs.frozen
class Sessions:
    count: int | None
    turns_mean: int
    turns_stddev: float
    turn_delay_mean: float
    turn_delay_stddev: float
    header: str | None


@attrs.frozen
class Scale:
    workers: int
    ray_address: str | None
    max_clock_error_ms: float
    backend: str


@attrs.frozen
class ServerMetrics:
    enabled: bool | None
    urls: tuple[str, ...] | None = attrs.field(repr=False)
    interval: float
    mode: str


@attrs.frozen
class GpuTelemetry:
    enabled: bool | None
    urls: tuple[str, ...] | None = attrs.field(repr=False)
    collector: str
    interval: float
    mode: str


@attrs.frozen
class Benchmark:
    endpoint: Endpoint
    load: Load
    dataset: Dataset
    tokenizer: str
    prompt_sizing: str
    sessions: Sessions
    scale: Scale
    server_metrics: ServerMetrics
    gpu_telemetry: GpuTelemetry
    slos: dict[str, float]
    thresholds: tuple[str, ...] | None
    search: Search
    runs: Runs
    sweep: Sweep
    artifacts: Artifacts
    ui: str
    event_loop: str


@attrs.frozen
class PlotSettings:
    """Plot settings with every default filled in; the renderer reads only this."""

    theme: str
    dpi: int
    width: float
    height: float
    single_run: tuple[str, ...]
    multi_run: tuple[str, ...]
    exclude: tuple[str, ...]
    titles: dict[str, str]
    html: bool = False


@attrs.frozen
class PlotEnvelope:
    """The run's ``plot:`` envelope: its file (None when inline), the keys it set, and
    the full settings."""

    source: str | None
    given: tuple[str, ...]
    settings: PlotSettings


@attrs.frozen
class Config:
    benchmark: Benchmark
    plot: PlotEnvelope | None
