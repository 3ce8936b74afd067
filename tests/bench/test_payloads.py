"""Tests for request bodies, endpoint URLs and headers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiperf.bench.payloads import (
    ENDPOINT_PATHS,
    RequestSpec,
    base_headers,
    encode_body,
    endpoint_url,
    request_body,
)


class TestEndpointUrl:
    """Tests for `endpoint_url`."""

    @pytest.mark.parametrize("base", [
        "http://h:8000", "http://h:8000/", "http://h:8000/v1", "http://h:8000/v1/",
        "http://h:8000/v1/chat/completions",
    ])
    def test_v1_is_never_doubled(self, base):
        """With or without /v1 (or the full path), the URL is the chat endpoint once."""
        assert "http://h:8000/v1/chat/completions" == endpoint_url(base, "chat")

    @pytest.mark.parametrize("kind", sorted(ENDPOINT_PATHS))
    def test_each_endpoint(self, kind):
        """Every endpoint type has its own path."""
        assert "http://h" + ENDPOINT_PATHS[kind] == endpoint_url("http://h/v1", kind)

    def test_path_prefix_is_kept(self):
        """A proxy prefix before /v1 stays."""
        url = endpoint_url("https://gw/openai", "completions")

        assert "https://gw/openai/v1/completions" == url


@given(st.sampled_from(["http://a", "http://a:1/x", "sim://m"]),
       st.sampled_from(["", "/", "/v1", "/v1/"]), st.sampled_from(sorted(ENDPOINT_PATHS)))
def test_endpoint_url_shape(base, suffix, kind):
    """The URL always ends with exactly one copy of the endpoint path."""
    url = endpoint_url(base + suffix, kind)

    assert url.endswith(ENDPOINT_PATHS[kind])
    assert "/v1/v1" not in url
    assert url.startswith(base)


class TestRequestBody:
    """Tests for `request_body`."""

    def test_chat_streaming(self):
        """Chat: one user message, OSL in both max-token fields, stream with usage."""
        body = request_body("chat", model="m", prompt="hi", osl=16, streaming=True)

        assert {
            "model": "m",
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 16,
            "max_completion_tokens": 16,
            "stream": True,
            "stream_options": {"include_usage": True},
        } == body

    def test_chat_without_osl_or_streaming(self):
        """No OSL sends no max-token fields; not streaming sends no stream fields."""
        assert {"model": "m", "messages": [{"role": "user", "content": "hi"}]} == request_body(
            "chat", model="m", prompt="hi"
        )

    def test_completions(self):
        """Completions: prompt and max_tokens."""
        assert {"model": "m", "prompt": "hi", "max_tokens": 4, "stream": True,
                "stream_options": {"include_usage": True}} == request_body(
            "completions", model="m", prompt="hi", osl=4, streaming=True)

    def test_embeddings_ignore_osl_and_streaming(self):
        """Embeddings: input only; they neither stream nor take an OSL."""
        assert {"model": "m", "input": "hi"} == request_body(
            "embeddings", model="m", prompt="hi", osl=4, streaming=True)

    def test_extra_inputs_merge_last(self):
        """extra_inputs add fields and override generated ones."""
        body = request_body("chat", model="m", prompt="hi", osl=16, streaming=True,
                            extra_inputs={"max_tokens": 8, "ignore_eos": True,
                                          "stream_options": {"include_usage": False}})

        assert (8, 16, True, {"include_usage": False}) == (
            body["max_tokens"], body["max_completion_tokens"], body["ignore_eos"],
            body["stream_options"])

    def test_no_model(self):
        """Without a model name the field is left out (the server picks its default)."""
        assert "model" not in request_body("chat", model=None, prompt="hi")

    def test_unknown_endpoint(self):
        """An unknown endpoint type is a programming error with the choices listed."""
        with pytest.raises(ValueError, match="chat, completions, embeddings"):
            request_body("rerank", model="m", prompt="hi")


class TestHeaders:
    """Tests for `base_headers`."""

    def test_api_key(self):
        """An API key becomes a bearer token beside the JSON content type."""
        assert {"Content-Type": "application/json", "Authorization": "Bearer sk-1"} == (
            base_headers(api_key="sk-1"))

    def test_no_api_key(self):
        """Without a key no Authorization header is sent."""
        assert {"Content-Type": "application/json"} == base_headers()

    def test_user_headers_win_without_case(self):
        """A --header replaces a generated header of the same name in any case."""
        headers = base_headers(api_key="sk-1", headers={"authorization": "Token t",
                                                         "X-Team": "a"})

        assert {"Content-Type": "application/json", "authorization": "Token t",
                "X-Team": "a"} == headers

    def test_user_request_id_is_dropped(self):
        """x-request-id is per request; a user value would be sent twice."""
        assert "X-Request-ID" not in base_headers(headers={"X-Request-ID": "fixed"})


def test_encode_body_is_compact_utf8():
    """The encoded body is compact JSON in UTF-8 that decodes to the same dict."""
    body = {"prompt": "héllo", "n": 1}

    assert b'{"prompt":"h\xc3\xa9llo","n":1}' == encode_body(body)
    assert body == json.loads(encode_body(body))


def test_spec_repr_hides_headers():
    """A RequestSpec's repr never shows its headers (they hold the API key)."""
    spec = RequestSpec(0, "profiling", "id", 0, "http://h/v1/chat/completions", {"a": 1},
                       base_headers(api_key="sk-secret"))

    assert "sk-secret" not in repr(spec)


def test_pure_modules_do_not_import_aiohttp():
    """payloads and sse (what the runner needs to prepare requests) leave aiohttp unloaded."""
    code = ("import sys, aiperf.bench, aiperf.bench.payloads, aiperf.bench.sse; "
            "print('aiohttp' in sys.modules)")

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert "False" == out.stdout.strip()
