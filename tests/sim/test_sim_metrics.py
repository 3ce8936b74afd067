"""GET /metrics: each server's names in valid Prometheus text, counting what the sim did."""

from __future__ import annotations

import asyncio

import pytest
from promtext import parse
from rawhttp import WAIT_S, RawConnection
from simhelpers import run

from aiperf.sim.profiles import PROFILES
from aiperf.sim.prometheus import Exposition, Histogram

#: Deterministic: every request's TTFT is 5 ms and its gaps 1 ms, whatever the load.
TIMED = "sim://?mode=deterministic&ttft_ms=5&itl_ms=1&model=served"
REQUESTS = [
    ("/v1/chat/completions", {"model": "served", "max_tokens": 4, "stream": True,
                              "messages": [{"role": "user", "content": "tell me a long story"}]}),
    ("/v1/chat/completions", {"model": "served", "max_tokens": 2,
                              "messages": [{"role": "user", "content": "hi"}]}),
    ("/v1/completions", {"model": "served", "max_tokens": 3, "prompt": "once upon a time",
                         "stream": True, "stream_options": {"include_usage": True}}),
]

PREFIX = {"llama.cpp": "llamacpp:", "vllm": "vllm:", "sglang": "sglang:", "tgi": "tgi_"}
NAMES = {
    "llama.cpp": ["llamacpp:prompt_tokens_total", "llamacpp:prompt_seconds_total",
                  "llamacpp:tokens_predicted_total", "llamacpp:tokens_predicted_seconds_total",
                  "llamacpp:prompt_tokens_seconds", "llamacpp:predicted_tokens_seconds",
                  "llamacpp:requests_processing", "llamacpp:requests_deferred"],
    "vllm": ["vllm:num_requests_running", "vllm:num_requests_waiting",
             "vllm:kv_cache_usage_perc", "vllm:prompt_tokens_total",
             "vllm:generation_tokens_total", "vllm:request_success_total",
             "vllm:time_to_first_token_seconds", "vllm:inter_token_latency_seconds",
             "vllm:e2e_request_latency_seconds", "vllm:request_queue_time_seconds"],
    "sglang": ["sglang:num_running_reqs", "sglang:num_queue_reqs", "sglang:token_usage",
               "sglang:prompt_tokens_total", "sglang:generation_tokens_total",
               "sglang:num_requests_total", "sglang:time_to_first_token_seconds",
               "sglang:inter_token_latency_seconds", "sglang:e2e_request_latency_seconds"],
    "tgi": ["tgi_request_count", "tgi_request_success", "tgi_queue_size",
            "tgi_batch_current_size", "tgi_request_duration", "tgi_request_queue_duration",
            "tgi_request_mean_time_per_token_duration", "tgi_request_input_length",
            "tgi_request_generated_tokens"],
}


def _run_requests_then_scrape(profile: str, scrapes: int = 1):
    """Send REQUESTS one after the other (a connection each: llama.cpp's closes after a
    stream), then scrape /metrics; return each request's usage (or None) and the scrapes."""

    async def scenario(_session, base):
        usages = []
        for path, body in REQUESTS:
            async with RawConnection(base) as conn:
                response = await conn.post(path, body)
            assert 200 == response.status
            chunks = response.chunks() if body.get("stream") else [response.json()]
            reported = [c["usage"] for c in chunks if c.get("usage")]
            usages.append(reported[-1] if reported else None)
        texts = []
        async with RawConnection(base) as conn:
            for _ in range(scrapes):
                metrics = await conn.get("/metrics")
                assert metrics.headers["Content-Type"].startswith("text/plain")
                texts.append(metrics.body.decode())
        return usages, texts

    return run(TIMED + f"&profile={profile}", scenario)


@pytest.mark.parametrize("profile", list(NAMES))
def test_metrics_are_valid_prometheus_text_with_the_server_names(profile):
    """Every expected family is declared, every line parses, histograms are consistent."""
    _, [text] = _run_requests_then_scrape(profile)

    families = parse(text)

    assert set(NAMES[profile]) <= set(families)
    assert all(name.startswith(PREFIX[profile]) for name in families)


def _expected_prompt_tokens(profile: str) -> list[int]:
    """The prompt tokens of REQUESTS as the profile's server counts them."""
    tokens = PROFILES[profile].tokens
    return [tokens.chat(1, tokens.count("tell me a long story")),
            tokens.chat(1, tokens.count("hi")),
            tokens.prompt(tokens.count("once upon a time"))]


def test_vllm_counters_count_what_the_simulator_did():
    """Token counters, request counts and histogram counts match the three requests."""
    usages, [text] = _run_requests_then_scrape("vllm")
    families = parse(text)
    labels = {"model_name": "served", "engine": "0"}
    prompts = _expected_prompt_tokens("vllm")

    # The first (streamed) chat asked for no usage; the other two reported theirs.
    assert prompts[1:] == [u["prompt_tokens"] for u in usages[1:]]
    assert sum(prompts) == families["vllm:prompt_tokens_total"].value(**labels)
    assert 4 + 2 + 3 == families["vllm:generation_tokens_total"].value(**labels)
    assert 3 == families["vllm:request_success_total"].value(finished_reason="length")
    assert 3 == families["vllm:time_to_first_token_seconds"].histogram_count()
    assert families["vllm:time_to_first_token_seconds"].histogram_sum() == pytest.approx(0.015)
    assert 3 + 1 + 2 == families["vllm:inter_token_latency_seconds"].histogram_count()
    assert families["vllm:inter_token_latency_seconds"].histogram_sum() == pytest.approx(0.006)
    assert 3 == families["vllm:e2e_request_latency_seconds"].histogram_count()
    assert (0, 0) == (families["vllm:num_requests_running"].value(),
                      families["vllm:num_requests_waiting"].value())


def test_sglang_counts_requests_and_tokens():
    """Request, prompt and generation totals match the three requests."""
    _, [text] = _run_requests_then_scrape("sglang")
    families = parse(text)

    assert 3 == families["sglang:num_requests_total"].value()
    assert sum(_expected_prompt_tokens("sglang")) == families["sglang:prompt_tokens_total"].value()
    assert 9 == families["sglang:generation_tokens_total"].value()


def test_tgi_counts_requests_and_token_histograms():
    """Request counters and the sums of TGI's token histograms match the three requests."""
    _, [text] = _run_requests_then_scrape("tgi")
    families = parse(text)

    assert (3, 3) == (families["tgi_request_count"].value(),
                      families["tgi_request_success"].value())
    assert (3, sum(_expected_prompt_tokens("tgi"))) == (
        families["tgi_request_input_length"].histogram_count(),
        families["tgi_request_input_length"].histogram_sum())
    assert 9 == families["tgi_request_generated_tokens"].histogram_sum()


def test_failed_requests_count_as_requests_but_not_successes():
    """A 429 is a request TGI saw but not a success, and generated nothing."""

    async def scenario(_session, base):
        async with RawConnection(base) as conn:
            response = await conn.post(*REQUESTS[1])
            return response.status, parse((await conn.get("/metrics")).body.decode())

    status, families = run(TIMED + "&profile=tgi&rate_limit_rate=1", scenario)

    assert 429 == status
    assert (1, 0) == (families["tgi_request_count"].value(),
                      families["tgi_request_success"].value())
    assert 0 == families["tgi_request_generated_tokens"].histogram_count()


def test_llama_cpp_counts_tokens_and_its_throughput_gauges_cover_the_last_interval():
    """Counters grow with the work; prompt and generation throughput are > 0 on the first
    scrape and 0 on the next (nothing happened in between), as llama.cpp's buckets reset."""
    _, texts = _run_requests_then_scrape("llama.cpp", scrapes=2)
    first, second = parse(texts[0]), parse(texts[1])

    assert sum(_expected_prompt_tokens("llama.cpp")) == \
        first["llamacpp:prompt_tokens_total"].value()
    assert 9 == first["llamacpp:tokens_predicted_total"].value()
    assert first["llamacpp:prompt_seconds_total"].value() == pytest.approx(0.015)
    assert first["llamacpp:prompt_tokens_seconds"].value() > 0
    assert first["llamacpp:predicted_tokens_seconds"].value() > 0
    assert (0, 0) == (second["llamacpp:prompt_tokens_seconds"].value(),
                      second["llamacpp:predicted_tokens_seconds"].value())
    assert first["llamacpp:prompt_tokens_total"].value() == \
        second["llamacpp:prompt_tokens_total"].value()


@pytest.mark.parametrize("profile,running,waiting", [
    ("vllm", "vllm:num_requests_running", "vllm:num_requests_waiting"),
    ("llama.cpp", "llamacpp:requests_processing", "llamacpp:requests_deferred"),
    ("sglang", "sglang:num_running_reqs", "sglang:num_queue_reqs"),
    ("tgi", "tgi_batch_current_size", "tgi_queue_size"),
])
def test_running_and_waiting_gauges_follow_the_batch(profile, running, waiting):
    """One batch slot and three requests that take a minute to their first token: the
    gauges say one running and two waiting while they are in the server."""
    url = (f"sim://?mode=realistic&max_batch=1&base_ttft_ms=60000&jitter=0&model=served"
           f"&profile={profile}")
    body = {"model": "served", "max_tokens": 2, "stream": True,
            "messages": [{"role": "user", "content": "hi"}]}

    async def hold(session, base):
        async with session.post(base + "/v1/chat/completions", json=body) as resp:
            await resp.read()

    async def scenario(session, base):
        held = [asyncio.create_task(hold(session, base)) for _ in range(3)]
        try:
            async with RawConnection(base) as conn:
                # Poll until all three are inside: no assumption on how long that takes,
                # only a bound that a working server never comes near.
                deadline = asyncio.get_running_loop().time() + WAIT_S
                while True:
                    families = parse((await conn.get("/metrics")).body.decode())
                    done = (families[running].value(), families[waiting].value()) == (1, 2)
                    if done or asyncio.get_running_loop().time() > deadline:
                        return families
                    await asyncio.sleep(0.005)
        finally:
            for task in held:
                task.cancel()
            await asyncio.gather(*held, return_exceptions=True)

    families = run(url, scenario, limit=0)

    assert (1, 2) == (families[running].value(), families[waiting].value())


class TestExposition:
    """The Prometheus text writer itself."""

    def test_histogram_buckets_are_inclusive_upper_bounds(self):
        hist = Histogram([1, 2])
        hist.observe(1)
        hist.observe(1.5, times=2)
        hist.observe(5)

        assert [("1", 1), ("2", 3), ("+Inf", 4)] == hist.cumulative()
        assert (4, 9.0) == (hist.count, hist.sum)

    def test_label_values_are_escaped(self):
        """Quotes, backslashes and newlines in a model name keep the line parseable."""
        out = Exposition({"model_name": 'a"b\\c\nd'})
        out.gauge("x:y", "help text", 0.5)

        text = out.text()

        assert 'x:y{model_name="a\\"b\\\\c\\nd"} 0.5' in text.splitlines()
        assert 0.5 == parse(text)["x:y"].value()
