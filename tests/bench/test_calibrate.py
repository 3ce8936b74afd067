"""Prompt sizing in the server's tokens: /tokenize, calibration requests, fallbacks.

A fake server (a plain function standing in for the HTTP POST) counts tokens its own way:
a word costs one token plus one per four letters beyond four, a chat prompt carries a
template of 12 tokens. Calibration must make ``--isl N`` deliver N of *its* tokens.
"""

from __future__ import annotations

import asyncio
import random
import statistics
from typing import Any

import pytest

from aiperf.bench.calibrate import calibrate, server_root, sizer_from_tokenizer
from aiperf.bench.dataset import BUILTIN_SIZER, VOCABULARY, SyntheticPrompts, draw_words

TEMPLATE = 12


def server_count(text: str) -> int:
    return sum(1 + max(0, len(w) - 4) // 4 for w in text.split())


class FakeServer:
    """Answers /tokenize (llama.cpp's or vLLM's dialect, or none) and chat completions."""

    def __init__(self, dialect: str | None = "llama.cpp", usage: bool = True,
                 status: int = 200) -> None:
        self.dialect, self.usage, self.status = dialect, usage, status
        self.calls: list[str] = []

    async def post(self, url: str, body: dict[str, Any]) -> tuple[int, Any]:
        self.calls.append(url)
        assert url in ("http://127.0.0.1:9/tokenize", "http://127.0.0.1:9/v1/chat/completions")
        if url.endswith("/tokenize"):
            if self.dialect == "llama.cpp" and "content" in body:
                return 200, {"tokens": list(range(server_count(body["content"])))}
            if self.dialect == "vllm" and "prompt" in body:
                n = server_count(body["prompt"])
                return 200, {"count": n, "tokens": list(range(n)), "max_model_len": 4096}
            if self.dialect == "tgi" and "inputs" in body:  # a BOS token on every answer
                return 200, [{"id": i} for i in range(1 + server_count(body["inputs"]))]
            return 404, {"error": "not found"}
        if self.status != 200:
            return self.status, {"error": {"message": "no"}}
        prompt = body["messages"][0]["content"]
        answer: dict[str, Any] = {"choices": [{"message": {"content": "x"}}]}
        if self.usage:
            answer["usage"] = {"prompt_tokens": server_count(prompt) + TEMPLATE,
                               "completion_tokens": 1}
        return 200, answer


def run_calibration(server: FakeServer, method: str = "server"):
    return asyncio.run(calibrate(method, server.post, "http://127.0.0.1:9/v1", "chat", "m",
                                 {}, seed=3))


def delivered(sizer, isl: int, n: int = 300) -> list[int]:
    """What the fake server would count for ``n`` prompts sized for ``isl`` tokens."""
    prompts = SyntheticPrompts(isl, 0.0, 8, 0.0, seed=11, sizer=sizer)
    out = []
    for prompt, _ in zip(prompts, range(n), strict=False):
        out.append(server_count(prompt.text) + TEMPLATE)
    return out


class TestTokenizeEndpoint:
    @pytest.mark.parametrize("dialect", ["llama.cpp", "vllm", "tgi"])
    def test_prompts_are_exact_in_server_tokens(self, dialect):
        calibration = run_calibration(FakeServer(dialect))

        assert "server-tokenize" == calibration.method
        assert {128} == set(delivered(calibration.sizer, 128))

    def test_planned_length_is_the_server_count(self):
        calibration = run_calibration(FakeServer())
        prompts = SyntheticPrompts(64, 16.0, 8, 0.0, seed=5, sizer=calibration.sizer)

        for prompt, _ in zip(prompts, range(50), strict=False):
            assert server_count(prompt.text) + TEMPLATE == prompt.input_tokens

    def test_template_overhead_comes_from_one_request(self):
        server = FakeServer()
        calibration = run_calibration(server)

        assert TEMPLATE == calibration.sizer.overhead
        assert 1 == sum(1 for url in server.calls if url.endswith("/chat/completions"))
        assert 1 == len(calibration.to_json()["calibration_requests"])

    def test_no_usage_leaves_the_overhead_unknown_and_says_so(self):
        calibration = run_calibration(FakeServer(usage=False))

        assert 0 == calibration.sizer.overhead
        assert "no usage" in calibration.note


class TestCalibrationRequests:
    def test_used_when_there_is_no_tokenize_endpoint(self):
        calibration = run_calibration(FakeServer(dialect=None))

        assert "calibration-requests" == calibration.method
        assert "no /tokenize" in calibration.note
        assert 3 == len(calibration.requests)

    def test_asked_for_explicitly_skips_tokenize(self):
        server = FakeServer()
        calibration = run_calibration(server, "calibration")

        assert "calibration-requests" == calibration.method
        assert not any(url.endswith("/tokenize") for url in server.calls)

    def test_rate_and_overhead_are_the_servers(self):
        """Prompts holding the whole vocabulary measure exactly the average cost of a
        uniformly drawn word, and the intercept is the template."""
        calibration = run_calibration(FakeServer(dialect=None))
        mean_cost = statistics.fmean(server_count(w) for w in VOCABULARY)

        assert mean_cost == pytest.approx(calibration.sizer.tokens_per_word, rel=1e-9)
        assert TEMPLATE == pytest.approx(calibration.sizer.overhead, abs=1e-6)

    @pytest.mark.parametrize("isl", [64, 128, 550, 2000])
    def test_delivered_isl_within_two_percent_on_average(self, isl):
        calibration = run_calibration(FakeServer(dialect=None))

        got = statistics.fmean(delivered(calibration.sizer, isl))

        assert isl == pytest.approx(got, rel=0.02)


class TestFallback:
    def test_a_failing_server_falls_back_to_builtin_words(self):
        calibration = run_calibration(FakeServer(dialect=None, status=500))

        assert "builtin" == calibration.method
        assert BUILTIN_SIZER == calibration.sizer
        assert "calibration failed" in calibration.note
        assert "HTTP 500" in calibration.note

    def test_an_unreachable_server_falls_back_too(self):
        async def refuse(url: str, body: dict[str, Any]) -> tuple[int, Any]:
            raise ConnectionRefusedError(111, "Connection refused")

        calibration = asyncio.run(calibrate("calibration", refuse, "http://127.0.0.1:9", "chat",
                                            "m", {}, seed=0))

        assert "builtin" == calibration.method
        assert "Connection refused" in calibration.note


def test_builtin_sizer_keeps_words_as_tokens():
    """Sizing in built-in words draws one word per token, straight from the seed."""
    rng_words = random.Random(1)
    prompt = next(iter(SyntheticPrompts(40, 0.0, 8, 0.0, seed=1)))

    assert 40 == prompt.input_tokens == len(prompt.text.split())
    assert draw_words(rng_words, 40) == prompt.text.split()


def test_tokenizer_file_sizes_word_by_word():
    sizer = sizer_from_tokenizer(server_count)
    prompt = next(iter(SyntheticPrompts(100, 0.0, 8, 0.0, seed=2, sizer=sizer)))

    assert 100 == server_count(prompt.text) == prompt.input_tokens


@pytest.mark.parametrize(("base", "root"), [
    ("http://h:8000", "http://h:8000"),
    ("http://h:8000/", "http://h:8000"),
    ("http://h:8000/v1", "http://h:8000"),
    ("http://h:8000/v1/chat/completions", "http://h:8000"),
])
def test_server_root(base, root):
    assert root == server_root(base)
