"""What the simulated server did, as its imitated server's ``/metrics`` would say it.

:class:`ServerMetrics` counts every finished request (from its
:class:`~aiperf.sim.stats.RequestRecord`) and renders llama.cpp's, vLLM's, SGLang's or TGI's
metric names in the Prometheus text format (the generic simulator speaks vLLM's). The
gauges (running, waiting, cache usage) are read from the engine at scrape time
(:class:`Now`). Everything really counts what the simulator did:

- prompt tokens and prefill time count for requests that reached prefill; generated tokens
  are those actually sent (a request cut off midway counts what it got);
- time to first token runs from arrival to the first token's deadline (queueing included),
  the queue time from arrival to admission;
- inter-token latency: the simulator keeps each request's mean gap, so a request of ``n``
  tokens adds ``n - 1`` observations of its mean (sum and count are exact; the buckets
  are exact in deterministic mode);
- KV-cache usage: the simulator has no KV blocks, so usage is the tokens the running
  sequences hold (prompt plus tokens given so far) over the ``kv_cache_tokens`` option,
  capped at 1 (the simulator never preempts: ``vllm:num_preemptions_total`` stays 0);
- the prefix cache (:mod:`aiperf.sim.prefix_cache`): every prompt token that reached
  prefill is a query (``vllm:prefix_cache_queries_total``) and its cached leading tokens
  are hits (``vllm:prefix_cache_hits_total``, llama.cpp's ``prompt_tokens_cached_total``);
  llama.cpp's ``prompt_tokens_total`` and prompt throughput count only the tokens
  actually processed (the prompt less its cached tokens), vLLM's ``prompt_tokens_total``
  every prompt token;
- llama.cpp's ``n_decode_total``: an estimate, one call per prefill plus the batch's busy
  time divided by the model's gap between tokens at each batch size (prefill time
  included; :mod:`aiperf.sim.load`); ``n_busy_slots_per_decode`` weighs those steps by
  the sequences running.

Histogram bounds follow the servers' own (vLLM's for vLLM and SGLang; TGI's geometric
duration buckets and context-length token buckets).
"""

from __future__ import annotations

from collections import Counter

import attrs

from aiperf.sim.load import Reading
from aiperf.sim.prometheus import Exposition, Histogram
from aiperf.sim.stats import RequestRecord

_TTFT_S = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
           7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0)
_ITL_S = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
          10.0, 20.0, 40.0, 80.0)
_REQUEST_S = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0,
              120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0)
#: TGI: 35 geometric duration buckets from 0.15 ms, each 1.5 times the last.
_TGI_DURATION_S = tuple(0.0001 * 1.5 ** k for k in range(1, 36))


def _tgi_token_buckets(context_len: int) -> tuple[float, ...]:
    return tuple(context_len / 100 * k for k in range(1, 101))


@attrs.define
class Window:
    """Work done between two scrapes (llama.cpp's throughput gauges cover only that)."""

    prompt_tokens: int = 0
    prefill_s: float = 0.0
    generated_tokens: int = 0
    decode_s: float = 0.0


@attrs.frozen
class Now:
    """The engine's state at scrape time."""

    running: int
    waiting: int
    kv_tokens: int
    kv_capacity: int
    load: Reading

    @property
    def kv_usage(self) -> float:
        """Share of the KV-cache capacity in use, 0..1."""
        return min(1.0, self.kv_tokens / self.kv_capacity) if self.kv_capacity else 0.0


class ServerMetrics:
    """Totals and histograms of one simulator run, for ``GET /metrics``.

    ``load_base`` is the engine's load when counting (re)started: decode steps count
    from there.
    """

    def __init__(self, context_len: int = 4096, load_base: Reading | None = None) -> None:
        self.load_base = load_base or Reading(0.0)
        self.prefills = 0
        self.max_tokens = 0
        self.arrived = 0
        self.requests = 0
        self.succeeded = 0
        self.prompt_tokens = 0
        self.cached_tokens = 0
        self.generated_tokens = 0
        self.prefill_s = 0.0
        self.decode_s = 0.0
        self.finish_reasons: Counter[str] = Counter()
        self.ttft = Histogram(_TTFT_S)
        self.itl = Histogram(_ITL_S)
        self.e2e = Histogram(_REQUEST_S)
        self.queue = Histogram(_REQUEST_S)
        self.tgi_duration = Histogram(_TGI_DURATION_S)
        self.tgi_queue = Histogram(_TGI_DURATION_S)
        self.tgi_time_per_token = Histogram(_TGI_DURATION_S)
        self.tgi_input_length = Histogram(_tgi_token_buckets(context_len))
        self.tgi_generated = Histogram(_tgi_token_buckets(context_len))
        self._window = Window()

    def started(self) -> None:
        """A generation request arrived (TGI counts requests as they come)."""
        self.arrived += 1

    def finished(self, record: RequestRecord, e2e_s: float, finish_reason: str | None) -> None:
        """Count one request that left the server, however it ended."""
        self.requests += 1
        if record.ttft_ms is not None:  # it reached prefill
            prefill_s = max(0.0, record.ttft_ms - record.queue_ms) / 1000.0
            decode_s = (record.itl_ms or 0.0) * max(0, record.output_tokens - 1) / 1000.0
            self.prompt_tokens += record.isl
            self.cached_tokens += record.cached_tokens
            self.prefills += 1
            self.prefill_s += prefill_s
            self.decode_s += decode_s
            self.ttft.observe(record.ttft_ms / 1000.0)
            self.queue.observe(record.queue_ms / 1000.0)
            self.tgi_queue.observe(record.queue_ms / 1000.0)
            self.tgi_input_length.observe(record.isl)
            self._window.prompt_tokens += record.isl - record.cached_tokens
            self._window.prefill_s += prefill_s
            self._window.decode_s += decode_s
        self.generated_tokens += record.output_tokens
        self.max_tokens = max(self.max_tokens, record.isl + record.output_tokens)
        self._window.generated_tokens += record.output_tokens
        if record.itl_ms is not None:
            self.itl.observe(record.itl_ms / 1000.0, record.output_tokens - 1)
        if record.completed and record.status == 200:
            self.succeeded += 1
            self.finish_reasons[finish_reason or "stop"] += 1
            self.e2e.observe(e2e_s)
            self.tgi_duration.observe(e2e_s)
            self.tgi_generated.observe(record.output_tokens)
            if record.output_tokens:
                self.tgi_time_per_token.observe(e2e_s / record.output_tokens)

    def take_window(self) -> Window:
        """The work done since the previous call (and start a new window)."""
        window, self._window = self._window, Window()
        return window


def render(flavour: str, metrics: ServerMetrics, *, model: str, now: Now) -> str:
    """``/metrics`` text of the ``flavour`` server (a profile name) with ``now``'s gauges."""
    running, waiting = now.running, now.waiting
    if flavour == "llama.cpp":
        return _llama_cpp(metrics, now)
    if flavour in ("vllm", "generic"):
        return _vllm(metrics, model, running, waiting, now.kv_usage)
    if flavour == "sglang":
        return _sglang(metrics, model, running, waiting, now.kv_usage)
    if flavour == "tgi":
        return _tgi(metrics, running, waiting)
    raise ValueError(f"no /metrics flavour {flavour!r}")


def _llama_cpp(m: ServerMetrics, now: Now) -> str:
    w = m.take_window()
    load = now.load.since(m.load_base)
    out = Exposition()
    p = "llamacpp:"
    out.counter(p + "prompt_tokens_total",
                "Number of prompt tokens processed, excluding cached tokens",
                m.prompt_tokens - m.cached_tokens)
    out.counter(p + "prompt_tokens_cached_total", "Number of prompt tokens reused from the cache",
                m.cached_tokens)
    out.counter(p + "prompt_seconds_total", "Total time spent processing prompts", m.prefill_s)
    out.counter(p + "tokens_predicted_total", "Number of generation tokens processed",
                m.generated_tokens)
    out.counter(p + "tokens_predicted_seconds_total", "Total time spent generating tokens",
                m.decode_s)
    out.counter(p + "n_decode_total", "Total number of llama_decode() calls, excluding "
                "speculative decoding and multimodal decoding", m.prefills + int(load.steps))
    out.counter(p + "n_tokens_max", "Largest observed sequence length (prompt + generation)",
                m.max_tokens)
    out.gauge(p + "prompt_tokens_seconds", "Average prompt throughput in tokens/s",
              w.prompt_tokens / w.prefill_s if w.prefill_s else 0.0)
    out.gauge(p + "predicted_tokens_seconds", "Average generation throughput in tokens/s",
              w.generated_tokens / w.decode_s if w.decode_s else 0.0)
    out.gauge(p + "requests_processing", "Number of requests processing", now.running)
    out.gauge(p + "requests_deferred", "Number of requests deferred", now.waiting)
    out.gauge(p + "n_busy_slots_per_decode", "Average number of busy slots per llama_decode() "
              "call", load.slot_steps / load.steps if load.steps >= 1 else 0.0)
    return out.text()


def _vllm(m: ServerMetrics, model: str, running: int, waiting: int, usage: float) -> str:
    out = Exposition({"engine": "0", "model_name": model})
    out.gauge("vllm:num_requests_running", "Number of requests in model execution batches.",
              running)
    out.gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", waiting)
    out.gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", usage)
    # The name before vLLM 0.10, still read by dashboards and scrapers.
    out.gauge("vllm:gpu_cache_usage_perc", "GPU KV-cache usage. 1 means 100 percent usage.",
              usage)
    out.counter("vllm:num_preemptions_total", "Cumulative number of preemption from the engine.",
                0)
    out.counter("vllm:prefix_cache_queries_total",
                "Prefix cache queries, in terms of number of queried tokens.", m.prompt_tokens)
    out.counter("vllm:prefix_cache_hits_total",
                "Prefix cache hits, in terms of number of cached tokens.", m.cached_tokens)
    out.counter("vllm:prompt_tokens_total", "Number of prefill tokens processed.",
                m.prompt_tokens)
    out.counter("vllm:generation_tokens_total", "Number of generation tokens processed.",
                m.generated_tokens)
    out.labelled_counter("vllm:request_success_total", "Count of successfully processed requests.",
                         "finished_reason", _vllm_reasons(m.finish_reasons))
    out.histogram("vllm:time_to_first_token_seconds",
                  "Histogram of time to first token in seconds.", m.ttft)
    out.histogram("vllm:inter_token_latency_seconds",
                  "Histogram of inter-token latency in seconds.", m.itl)
    out.histogram("vllm:time_per_output_token_seconds",
                  "Histogram of time per output token in seconds.", m.itl)
    out.histogram("vllm:e2e_request_latency_seconds",
                  "Histogram of e2e request latency in seconds.", m.e2e)
    out.histogram("vllm:request_queue_time_seconds",
                  "Histogram of time spent in WAITING phase for request.", m.queue)
    return out.text()


def _vllm_reasons(counts: Counter[str]) -> dict[str, int]:
    """Every reason vLLM declares at start (0 until seen), and any other seen."""
    return dict(sorted({"abort": 0, "length": 0, "stop": 0, **counts}.items()))


def _sglang(m: ServerMetrics, model: str, running: int, waiting: int, usage: float) -> str:
    out = Exposition({"model_name": model})
    out.gauge("sglang:num_running_reqs", "The number of running requests.", running)
    out.gauge("sglang:num_queue_reqs", "The number of requests in the waiting queue.", waiting)
    out.gauge("sglang:token_usage", "The token usage.", usage)
    out.counter("sglang:prompt_tokens_total", "Number of prefill tokens processed.",
                m.prompt_tokens)
    out.counter("sglang:generation_tokens_total", "Number of generation tokens processed.",
                m.generated_tokens)
    out.counter("sglang:num_requests_total", "Number of requests processed.", m.requests)
    out.histogram("sglang:time_to_first_token_seconds",
                  "Histogram of time to first token in seconds.", m.ttft)
    out.histogram("sglang:inter_token_latency_seconds",
                  "Histogram of inter-token latency in seconds.", m.itl)
    out.histogram("sglang:e2e_request_latency_seconds",
                  "Histogram of End-to-end request latency in seconds", m.e2e)
    return out.text()


def _tgi(m: ServerMetrics, running: int, waiting: int) -> str:
    out = Exposition()
    out.counter("tgi_request_count", "Total number of requests", m.arrived)
    out.counter("tgi_request_success", "Number of successful requests", m.succeeded)
    out.gauge("tgi_queue_size", "Current queue size", waiting)
    out.gauge("tgi_batch_current_size", "Current batch size", running)
    out.histogram("tgi_request_duration", "Request duration", m.tgi_duration)
    out.histogram("tgi_request_queue_duration", "Request queue duration", m.tgi_queue)
    out.histogram("tgi_request_mean_time_per_token_duration", "Mean time per token per request",
                  m.tgi_time_per_token)
    out.histogram("tgi_request_input_length", "Input tokens per request", m.tgi_input_length)
    out.histogram("tgi_request_generated_tokens", "Generated tokens per request", m.tgi_generated)
    return out.text()
