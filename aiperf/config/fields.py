"""Every configuration field, declared once as data.

One row per field: its dotted key, kind, built-in default, the CLI flag and environment
variable that can set it, and a one-line description. The YAML schema, the CLI overlay,
the environment source, the JSON Schema for editors and ``config explain`` all read this
table; nothing else lists fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from aiperf.config.kinds import (
    BoolKind,
    EnumKind,
    EnvelopeKind,
    FloatKind,
    IntKind,
    ListKind,
    MapKind,
    RecordKind,
    ScalarKind,
    StrKind,
    ThresholdKind,
)

ENDPOINT_TYPES = ("chat", "completions", "embeddings")
#: How requests are spread over several endpoints (--url repeated).
URL_STRATEGIES = ("round_robin", "random")
ARRIVAL_PATTERNS = ("poisson", "constant", "gamma")
DATASET_TYPES = ("single_turn", "multi_turn", "mooncake_trace")
TELEMETRY_MODES = ("disabled", "listed", "probe", "required")
GPU_COLLECTORS = ("auto", "dcgm", "nvml")
#: Where the load comes from: this process, or worker actors on Ray (rules/scale.yaml).
SCALE_BACKENDS = ("in_process", "ray")
#: Kept equal to the names of `search_styles:` in rules/recipes.yaml (a test ties them).
SEARCH_STYLES = ("probe-bisect", "grid", "bayesian")
SWEEP_TYPES = ("grid", "zip", "scenarios")
UI_MODES = ("auto", "progress", "none")
PROMPT_SIZINGS = ("builtin", "file", "server", "calibration")
EVENT_LOOPS = ("auto", "asyncio", "uvloop")

#: Metric tags a service-level objective (``slos`` / ``--goodput``) may name.
SLO_METRICS = (
    "time_to_first_token",
    "time_to_second_token",
    "inter_token_latency",
    "inter_chunk_latency",
    "request_latency",
    "output_token_throughput_per_user",
)


@attrs.frozen
class Field:
    """One resolvable setting."""

    key: str
    kind: Any
    default: Any
    doc: str
    flag: str | None = None
    #: The flag that sets a boolean field to false (``--no-auto-plot``).
    negative_flag: str | None = None
    #: More spellings of ``flag`` (the reference tool's, so users need not relearn).
    aliases: tuple[str, ...] = ()
    env: str | None = None
    secret: bool = False
    #: A URL: the password of its user-info (``http://user:pw@host``) is a secret.
    url: bool = False
    #: A relative path given in a YAML file is taken relative to that file's folder.
    file_relative: bool = False
    #: Decided by a rule's derivation from other fields, never set directly: no flag, no
    #: variable, and YAML files cannot name it (``config explain`` still shows it).
    derived: bool = False
    #: The (list) field that takes this flag's further values when the flag is repeated:
    #: ``--url A --url B`` sets this field to A and that one to [B].
    repeats_into: str | None = None

    @property
    def yaml_path(self) -> tuple[str, ...]:
        return tuple(self.key.split("."))


_POS_INT = IntKind(min=1)
#: Points of one dimension of a recipe's grid: each is a run, and a grid of millions
#: would only ever be a typo (it used to hang while the grid was laid out).
_GRID_STEPS = IntKind(min=2, max=1000)
_NONNEG_INT = IntKind(min=0)
_POS_FLOAT = FloatKind(gt=0)
_NONNEG_FLOAT = FloatKind(ge=0)
_FRACTION = FloatKind(gt=0, le=1)


def _f(key: str, kind: Any, default: Any, doc: str, **kw: Any) -> Field:
    return Field(key=key, kind=kind, default=default, doc=doc, **kw)


_SETTINGS: tuple[Field, ...] = (
    # endpoint
    _f("benchmark.endpoint.url", StrKind(), "http://localhost:8000",
       "Server base URL; sim:// runs the built-in simulator in-process. Repeat the flag "
       "to spread the requests over several endpoints serving the same model.",
       flag="--url", env="AIPERF_URL", url=True, repeats_into="benchmark.endpoint.extra_urls"),
    _f("benchmark.endpoint.extra_urls", ListKind(StrKind()), None,
       "More endpoints serving the same model, beside url (a repeated --url): requests "
       "are spread over all of them by url_strategy, a session's turns stay on one, and "
       "each endpoint gets its own summary beside the total.", url=True),
    _f("benchmark.endpoint.url_strategy", EnumKind(URL_STRATEGIES), "round_robin",
       "How requests are spread over several endpoints: round_robin (in turn) or random "
       "(drawn from the run's seed).", flag="--url-strategy"),
    _f("benchmark.endpoint.type", EnumKind(ENDPOINT_TYPES), "chat",
       "OpenAI API shape: chat, completions or embeddings.",
       flag="--endpoint-type", env="AIPERF_ENDPOINT_TYPE"),
    _f("benchmark.endpoint.model", StrKind(), None,
       "Model name sent in every request.", flag="--model", env="AIPERF_MODEL"),
    _f("benchmark.endpoint.streaming", BoolKind(), False,
       "Stream responses (server-sent events).", flag="--streaming", negative_flag="--no-streaming",
       env="AIPERF_STREAMING"),
    _f("benchmark.endpoint.api_key", StrKind(), None,
       "Bearer token sent as the Authorization header.",
       flag="--api-key", env="OPENAI_API_KEY", secret=True),
    _f("benchmark.endpoint.timeout", _POS_FLOAT, 600.0,
       "Per-request timeout in seconds.", flag="--request-timeout", env="AIPERF_REQUEST_TIMEOUT"),
    _f("benchmark.endpoint.headers", MapKind(StrKind(allow_empty=True)), {},
       "Extra HTTP headers (values are treated as secrets).", flag="--header", secret=True),
    _f("benchmark.endpoint.extra_inputs", MapKind(ScalarKind()), {},
       "Extra fields merged into every request body.", flag="--extra-inputs"),
    # load
    _f("benchmark.load.concurrency", _POS_INT, 1,
       "In-flight requests (closed loop), or the cap in request-rate mode.",
       flag="--concurrency", env="AIPERF_CONCURRENCY"),
    _f("benchmark.load.request_rate", _POS_FLOAT, None,
       "Open-loop arrival rate in requests per second.",
       flag="--request-rate", env="AIPERF_REQUEST_RATE"),
    _f("benchmark.load.arrival", EnumKind(ARRIVAL_PATTERNS), "poisson",
       "Arrival process in request-rate mode: poisson, constant, or gamma (bursty; see "
       "--vllm-burstiness).", flag="--arrival", env="AIPERF_ARRIVAL",
       aliases=("--arrival-pattern",)),
    _f("benchmark.load.burstiness", _POS_FLOAT, 1.0,
       "Shape of the gamma arrivals, as vLLM's --burstiness: 1 is Poisson, below 1 burstier, "
       "above 1 more even (the mean rate is kept).", flag="--vllm-burstiness"),
    _f("benchmark.load.rate_ramp_duration", _POS_FLOAT, None,
       "Seconds over which the request rate rises linearly from zero to --request-rate.",
       flag="--request-rate-ramp-duration"),
    _f("benchmark.load.concurrency_ramp_duration", _POS_FLOAT, None,
       "Seconds over which the requests in flight rise evenly from 1 to --concurrency.",
       flag="--concurrency-ramp-duration"),
    _f("benchmark.load.cancellation_rate", FloatKind(ge=0, le=100), 0.0,
       "Percent of requests the client cancels after --request-cancellation-delay seconds "
       "(reported as cancelled, apart from errors).", flag="--request-cancellation-rate"),
    _f("benchmark.load.cancellation_delay", _NONNEG_FLOAT, 0.0,
       "Seconds after sending that a request chosen for cancellation is cancelled.",
       flag="--request-cancellation-delay"),
    _f("benchmark.load.request_count", _POS_INT, 10,
       "Requests to send (after warm-up).", flag="--request-count", env="AIPERF_REQUEST_COUNT"),
    _f("benchmark.load.duration", _POS_FLOAT, None,
       "Stop after this many seconds.", flag="--benchmark-duration",
       env="AIPERF_BENCHMARK_DURATION"),
    _f("benchmark.load.fixed_schedule", BoolKind(), None,
       "Send each request of a timestamped trace at its timestamp; unset, the rules "
       "decide (on for a Mooncake trace).",
       flag="--fixed-schedule", negative_flag="--no-fixed-schedule"),
    _f("benchmark.load.schedule_start_offset", _NONNEG_FLOAT, None,
       "Replay the trace from this timestamp (ms) on.", flag="--fixed-schedule-start-offset"),
    _f("benchmark.load.schedule_end_offset", _NONNEG_FLOAT, None,
       "Replay the trace up to this timestamp (ms).", flag="--fixed-schedule-end-offset"),
    _f("benchmark.load.schedule_speedup", _POS_FLOAT, 1.0,
       "Replay the trace this many times faster (2: twice the rate).",
       flag="--fixed-schedule-speedup"),
    _f("benchmark.load.warmup_request_count", _NONNEG_INT, 0,
       "Requests sent first and left out of the results.",
       flag="--warmup-request-count", env="AIPERF_WARMUP_REQUEST_COUNT"),
    # multi-turn sessions
    _f("benchmark.sessions.count", _POS_INT, None,
       "Multi-turn sessions to run: each sends its whole history every turn; concurrency "
       "counts sessions in flight.", flag="--num-sessions", aliases=("--conversation-num",)),
    _f("benchmark.sessions.turns_mean", _POS_INT, 1,
       "Mean turns per session.", flag="--session-turns-mean"),
    _f("benchmark.sessions.turns_stddev", _NONNEG_FLOAT, 0.0,
       "Standard deviation of the turns per session.", flag="--session-turns-stddev"),
    _f("benchmark.sessions.turn_delay_mean", _NONNEG_FLOAT, 0.0,
       "Mean think time between a session's turns, in ms.",
       flag="--session-turn-delay-mean"),
    _f("benchmark.sessions.turn_delay_stddev", _NONNEG_FLOAT, 0.0,
       "Standard deviation of the think time, in ms.", flag="--session-turn-delay-stddev"),
    _f("benchmark.sessions.header", StrKind(), None,
       "HTTP header carrying each session's id (for session affinity).",
       flag="--session-header"),
    # dataset
    _f("benchmark.dataset.isl.mean", _POS_INT, 550,
       "Mean input sequence length in tokens.", flag="--isl", env="AIPERF_ISL"),
    _f("benchmark.dataset.isl.stddev", _NONNEG_FLOAT, 0.0,
       "Standard deviation of the input length.", flag="--isl-stddev", env="AIPERF_ISL_STDDEV"),
    _f("benchmark.dataset.osl.mean", _POS_INT, None,
       "Mean output sequence length (sent as max_tokens); unset lets the server decide.",
       flag="--osl", env="AIPERF_OSL"),
    _f("benchmark.dataset.osl.stddev", _NONNEG_FLOAT, 0.0,
       "Standard deviation of the output length.", flag="--osl-stddev", env="AIPERF_OSL_STDDEV"),
    _f("benchmark.dataset.system_prompt_length", _POS_INT, None,
       "Tokens of one system prompt shared by every request (a cacheable prefix).",
       flag="--shared-system-prompt-length"),
    _f("benchmark.dataset.prefix_prompts", _POS_INT, None,
       "A pool of this many prefix prompts; each request starts with one of them.",
       flag="--num-prefix-prompts"),
    _f("benchmark.dataset.prefix_length", _POS_INT, None,
       "Tokens of each pooled prefix prompt (before the request's own ISL tokens).",
       flag="--prefix-prompt-length"),
    _f("benchmark.dataset.prompt_salt", BoolKind(), None,
       "Start each synthetic prompt (after any shared prefix) with a per-run salt, so no "
       "run hits the server's prefix cache by accident; unset, rules/prompt-salt.yaml "
       "decides.", flag="--prompt-salt", negative_flag="--no-prompt-salt"),
    _f("benchmark.dataset.type", EnumKind(DATASET_TYPES), "single_turn",
       "What --input-file holds: single_turn (a prompt per line), multi_turn (a "
       "conversation per line: session_id, turns of text and delay) or mooncake_trace "
       "(timestamp, input_length, output_length, hash_ids per line).",
       flag="--custom-dataset-type"),
    _f("benchmark.dataset.input_file", StrKind(), None,
       "JSONL file of prompts instead of synthetic ones (relative to the YAML file).",
       flag="--input-file", env="AIPERF_INPUT_FILE", file_relative=True),
    _f("benchmark.dataset.seed", _NONNEG_INT, 0,
       "Seed for synthetic prompts and arrivals.", flag="--random-seed", env="AIPERF_RANDOM_SEED"),
    _f("benchmark.tokenizer", StrKind(), "builtin",
       "'builtin' (offline, ships with aiperf) or a path to a tokenizer.json.",
       flag="--tokenizer", env="AIPERF_TOKENIZER"),
    _f("benchmark.prompt_sizing", EnumKind(PROMPT_SIZINGS), "server",
       "Whose tokens --isl counts: builtin (words), file (--tokenizer), server (its "
       "/tokenize, else calibration requests) or calibration (requests with max_tokens 1).",
       flag="--prompt-sizing", env="AIPERF_PROMPT_SIZING"),
    # where the load comes from (rules/scale.yaml decides the backend)
    _f("benchmark.scale.workers", _POS_INT, 1,
       "Client processes that send the load together (one merged result); above 1 they "
       "run as worker actors on Ray (the ray extra).", flag="--workers",
       env="AIPERF_WORKERS"),
    _f("benchmark.scale.ray_address", StrKind(), None,
       "The Ray cluster the workers run on: auto (the one this machine is part of) or "
       "ray://host:10001; unset, a local Ray is started for the run when --workers is "
       "above 1.", flag="--ray-address", env="AIPERF_RAY_ADDRESS"),
    _f("benchmark.scale.max_clock_error_ms", _POS_FLOAT, 5.0,
       "The largest error bound (half the best ping round trip, ms) of a worker's clock "
       "offset with which a distributed run may start.", flag="--max-clock-error"),
    _f("benchmark.scale.backend", EnumKind(SCALE_BACKENDS), None,
       "Where the load comes from: in_process (this process) or ray (worker actors).",
       derived=True),
    # what the server and its GPUs did (rules/telemetry.yaml decides each mode)
    _f("benchmark.server_metrics.enabled", BoolKind(), None,
       "Scrape the endpoint's Prometheus /metrics, or (--no-server-metrics) nothing at "
       "all; unset, the rules decide (see config explain).",
       flag="--scrape-server-metrics", negative_flag="--no-server-metrics",
       env="AIPERF_SERVER_METRICS"),
    _f("benchmark.server_metrics.urls", ListKind(StrKind()), None,
       "More Prometheus endpoints to scrape during the run (comma-separated URLs).",
       flag="--server-metrics", url=True),
    _f("benchmark.server_metrics.interval", _POS_FLOAT, 1.0,
       "Seconds between two scrapes of each server-metrics endpoint.",
       flag="--server-metrics-interval"),
    _f("benchmark.server_metrics.mode", EnumKind(TELEMETRY_MODES), None,
       "What is scraped: disabled, listed (only the --server-metrics URLs), probe (also the "
       "endpoint's /metrics when it answers before the run) or required (also the "
       "endpoint's /metrics, warning once when it does not answer).", derived=True),
    _f("benchmark.gpu_telemetry.enabled", BoolKind(), None,
       "Collect GPU telemetry, or (--no-gpu-telemetry) none; unset, the rules decide "
       "(see config explain).",
       flag="--scrape-gpu-telemetry", negative_flag="--no-gpu-telemetry",
       env="AIPERF_GPU_TELEMETRY"),
    _f("benchmark.gpu_telemetry.urls", ListKind(StrKind()), None,
       "DCGM exporter endpoints to scrape (comma-separated URLs).",
       flag="--gpu-telemetry", url=True),
    _f("benchmark.gpu_telemetry.collector", EnumKind(GPU_COLLECTORS), "auto",
       "dcgm (exporter endpoints), nvml (poll local GPUs; needs nvidia-ml-py, the nvml "
       "extra) or auto (both where available).", flag="--gpu-telemetry-collector"),
    _f("benchmark.gpu_telemetry.interval", _POS_FLOAT, 1.0,
       "Seconds between two GPU telemetry samples.", flag="--gpu-telemetry-interval"),
    _f("benchmark.gpu_telemetry.mode", EnumKind(TELEMETRY_MODES), None,
       "What is collected: disabled, listed (only the --gpu-telemetry URLs), probe (also the "
       "default DCGM exporter and NVML when they answer) or required (also those, warning "
       "once when none answers).", derived=True),
    _f("benchmark.slos", MapKind(_POS_FLOAT, keys=SLO_METRICS), {},
       "Goodput objectives: metric tag -> threshold in the metric's unit.", flag="--goodput"),
    _f("benchmark.thresholds", ListKind(ThresholdKind()), None,
       "Pass/fail thresholds checked after every run, METRIC[.STAT] OP LIMIT (e.g. "
       "time_to_first_token.p95<200, request_error_rate<=1); any breach exits 3.",
       flag="--fail-on"),
    # search recipes
    _f("benchmark.search.recipe", StrKind(), None,
       "Search recipe to run (see `aiperf recipes list`).",
       flag="--search-recipe", env="AIPERF_SEARCH_RECIPE"),
    _f("benchmark.search.concurrency_min", _POS_INT, None, "Lowest concurrency a recipe tries.",
       flag="--concurrency-min"),
    _f("benchmark.search.concurrency_max", _POS_INT, None, "Highest concurrency a recipe tries.",
       flag="--concurrency-max"),
    _f("benchmark.search.concurrency_steps", _GRID_STEPS, None,
       "Number of concurrency grid points.", flag="--concurrency-steps"),
    _f("benchmark.search.isl_min", _POS_INT, None, "Smallest ISL a recipe tries.",
       flag="--isl-min"),
    _f("benchmark.search.isl_max", _POS_INT, None, "Largest ISL a recipe tries.",
       flag="--isl-max"),
    _f("benchmark.search.isl_steps", _GRID_STEPS, None, "Number of ISL grid points.",
       flag="--isl-steps"),
    _f("benchmark.search.osl_min", _POS_INT, None, "Smallest OSL a recipe tries.",
       flag="--osl-min"),
    _f("benchmark.search.osl_max", _POS_INT, None, "Largest OSL a recipe tries.",
       flag="--osl-max"),
    _f("benchmark.search.osl_steps", _GRID_STEPS, None, "Number of OSL grid points.",
       flag="--osl-steps"),
    _f("benchmark.search.degradation_threshold", _POS_FLOAT, None,
       "Relative latency growth that marks the knee (0.2 = 20%).",
       flag="--degradation-threshold"),
    _f("benchmark.search.ttft_sla_ms", _POS_FLOAT, None, "TTFT p95 limit in ms.",
       flag="--ttft-sla-ms"),
    _f("benchmark.search.itl_sla_ms", _POS_FLOAT, None, "ITL p95 limit in ms.",
       flag="--itl-sla-ms"),
    _f("benchmark.search.tpot_sla_ms", _POS_FLOAT, None, "Alias of itl_sla_ms.",
       flag="--tpot-sla-ms"),
    _f("benchmark.search.e2e_sla_ms", _POS_FLOAT, None, "Request latency p99 limit in ms.",
       flag="--e2e-sla-ms"),
    _f("benchmark.search.error_rate_sla", _FRACTION, None, "Largest tolerated error fraction.",
       flag="--error-rate-sla"),
    _f("benchmark.search.slo_attainment_fraction", _FRACTION, None,
       "Fraction of requests that must meet every SLO.", flag="--slo-attainment-fraction"),
    _f("benchmark.search.isl_osl_pairs", ListKind(StrKind(), min_len=1), None,
       "Workload shapes as ISL/OSL pairs, e.g. 128/128.", flag="--isl-osl-pairs"),
    _f("benchmark.search.search_style", EnumKind(SEARCH_STYLES), None,
       "How SLA recipes search concurrency: probe-bisect, grid, or bayesian (optuna, "
       "the [bayesian] extra).", flag="--search-style"),
    _f("benchmark.search.max_error_rate", FloatKind(ge=0, le=1), 0.01,
       "Largest error fraction a sweep cell or search probe may have and still be trusted; "
       "above it the cell is degraded and no recipe answers from it (0.01 = 1%).",
       flag="--max-error-rate", env="AIPERF_MAX_ERROR_RATE"),
    # repeated trials
    _f("benchmark.runs.count", _POS_INT, 1, "Trials to run (for confidence intervals).",
       flag="--num-profile-runs", env="AIPERF_NUM_PROFILE_RUNS"),
    _f("benchmark.runs.cooldown", _NONNEG_FLOAT, 0.0, "Pause between trials in seconds.",
       flag="--profile-run-cooldown-seconds"),
    _f("benchmark.runs.confidence_level", FloatKind(gt=0, lt=1), 0.95,
       "Confidence level of the trial aggregate.", flag="--confidence-level"),
)

#: What a run writes and shows.
_OUTPUTS: tuple[Field, ...] = (
    # artifacts
    _f("benchmark.artifacts.dir", StrKind(), "artifacts",
       "Artifact directory (relative to the working directory).",
       flag="--artifact-dir", env="AIPERF_ARTIFACT_DIR"),
    _f("benchmark.artifacts.run_dir", StrKind(), None,
       "The directory the run (or a sweep's or recipe's base) writes: artifacts.dir when "
       "given, else a name below it derived from the model and the load, sweep or recipe.",
       derived=True),
    _f("benchmark.artifacts.overwrite", BoolKind(), False,
       "Delete an earlier run's files from the artifact directory instead of moving them "
       "aside to <dir>.<its start time>; files aiperf did not write stay either way.",
       flag="--overwrite", negative_flag="--no-overwrite", env="AIPERF_OVERWRITE"),
    _f("benchmark.artifacts.auto_plot", BoolKind(), False,
       "Render plots into <artifact_dir>/plots after a successful run.",
       flag="--auto-plot", negative_flag="--no-auto-plot", env="AIPERF_AUTO_PLOT"),
    _f("benchmark.artifacts.plot_required", BoolKind(), False,
       "Make a failed auto-plot fail the run (only matters when auto-plot is on).",
       flag="--plot-required", negative_flag="--no-plot-required", env="AIPERF_PLOT_REQUIRED"),
    _f("benchmark.artifacts.export_prefix", StrKind(), None,
       "Prefix of the exported file names.", flag="--profile-export-prefix"),
    _f("benchmark.artifacts.export_file", StrKind(), None,
       "Name of the per-request JSONL export.", flag="--profile-export-file"),
    _f("benchmark.artifacts.plot_config", StrKind(), None,
       "Plot config file for auto-plot and `aiperf plot` (<artifact_dir>/... is inside the "
       "run's directory); by default the plot: envelope, then ~/.aiperf/plot_config.yaml, "
       "then the shipped default.",
       flag="--plot-config", file_relative=True),
    _f("benchmark.artifacts.slice_duration", _POS_FLOAT, None,
       "Write timeslice exports with windows of this many seconds.", flag="--slice-duration"),
    _f("benchmark.ui", EnumKind(UI_MODES), "auto",
       "Console progress: auto (a bar on a terminal), progress, or none.",
       flag="--ui", env="AIPERF_UI"),
    _f("benchmark.event_loop", EnumKind(EVENT_LOOPS), "auto",
       "The client's event loop: uvloop (installed by the fast extra; less client CPU per "
       "request), asyncio, or auto (uvloop when it is installed, else asyncio); run.json records "
       "the one used.", flag="--event-loop", env="AIPERF_EVENT_LOOP"),
    # the plot envelope
    _f("plot", EnvelopeKind(), None,
       "Plot config for this run: an inline mapping or a path relative to the YAML file."),
)

_SETTINGS = _SETTINGS + _OUTPUTS

#: Fields a sweep may vary across cells: the numeric load and dataset settings.
SWEEPABLE = tuple(
    f.key for f in _SETTINGS
    if f.key.startswith(("benchmark.load.", "benchmark.dataset."))
    and isinstance(f.kind, IntKind | FloatKind)
)
#: Fields a named scenario may set (everything a run is made of, not the sweep itself).
SCENARIO_SETTABLE = tuple(
    f.key for f in _SETTINGS
    if f.key.startswith(("benchmark.endpoint.", "benchmark.load.", "benchmark.dataset."))
    and not isinstance(f.kind, MapKind)
)

FIELDS: tuple[Field, ...] = (
    *_SETTINGS[: -len(_OUTPUTS)],
    _f("benchmark.sweep.type", EnumKind(SWEEP_TYPES), "grid",
       "grid (Cartesian product), zip (lock step) or scenarios."),
    # Each list is typed by its field's kind, so a swept count stays a whole number (and
    # within the field's bounds) in every cell, in explain and in the dry run.
    _f("benchmark.sweep.parameters",
       MapKind(ListKind(FloatKind(), min_len=1), keys=SWEEPABLE,
               per_key=tuple((f.key, ListKind(f.kind, min_len=1)) for f in _SETTINGS
                             if f.key in SWEEPABLE)), {},
       "Field key -> list of values to sweep."),
    _f("benchmark.sweep.scenarios",
       ListKind(RecordKind((("name", StrKind()),
                            ("values", MapKind(ScalarKind(), keys=SCENARIO_SETTABLE))),
                           required=("name", "values")), min_len=1),
       None, "Named cells, each a mapping of field key -> value."),
    *_OUTPUTS,
)

FIELDS_BY_KEY: Mapping[str, Field] = MappingProxyType({f.key: f for f in FIELDS})


def field(key: str) -> Field:
    """The declaration of ``key``; KeyError names the unknown key."""
    return FIELDS_BY_KEY[key]


def children(prefix: tuple[str, ...]) -> set[str]:
    """The names allowed directly below ``prefix`` in a YAML document."""
    n = len(prefix)
    return {f.yaml_path[n] for f in FIELDS
            if f.yaml_path[:n] == prefix and len(f.yaml_path) > n and not f.derived}


def field_at(path: tuple[str, ...]) -> Field | None:
    """The field a YAML document may set at exactly ``path``, if any (never a derived one)."""
    f = FIELDS_BY_KEY.get(".".join(path))
    return None if f is None or f.derived else f
