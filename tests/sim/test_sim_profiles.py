"""Each profile's payloads over real HTTP: stream shapes, usage placement, model names,
prompt token counts, /health and /v1/models (sources in aiperf/sim/profiles.py)."""

from __future__ import annotations

import pytest
from rawhttp import RawConnection
from simhelpers import run

FAST = "sim://?mode=deterministic&ttft_ms=0&itl_ms=0&model=served-model"
MESSAGES = [{"role": "system", "content": "be brief"},
            {"role": "user", "content": "summarize extraordinary things"}]
PROMPT = "hello wonderful world"  # 5 + 9 + 5 characters: 2 + 3 + 2 server tokens


def _chat(stream: bool = True, include_usage: bool = False, model: str = "served-model") -> dict:
    body: dict = {"model": model, "messages": MESSAGES, "max_tokens": 3, "stream": stream}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    return body


def _completion(stream: bool = True, include_usage: bool = False) -> dict:
    body: dict = {"model": "served-model", "prompt": PROMPT, "max_tokens": 3, "stream": stream}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    return body


def _post(profile: str, path: str, body: dict):
    async def scenario(_session, base):
        async with RawConnection(base) as conn:
            return await conn.post(path, body)

    return run(FAST + f"&profile={profile}", scenario)


def _deltas(chunks: list[dict]) -> list[dict]:
    return [c["choices"][0]["delta"] for c in chunks if c["choices"]]


def _finishes(chunks: list[dict]) -> list:
    return [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]


def test_llama_cpp_chat_stream_shape():
    """Role chunk with content null, one chunk per token, a closing chunk with an empty
    delta carrying finish_reason; no usage unless asked."""
    chunks = _post("llama.cpp", "/v1/chat/completions", _chat()).chunks()

    assert {"role": "assistant", "content": None} == _deltas(chunks)[0]
    assert 3 == len([d for d in _deltas(chunks) if d.get("content")])
    assert {} == _deltas(chunks)[-1]
    assert [None] * 4 + ["length"] == _finishes(chunks)
    assert not any("usage" in c for c in chunks)
    assert {"b1-aiperf-sim"} == {c["system_fingerprint"] for c in chunks}


def test_llama_cpp_chat_usage_only_with_include_usage():
    """include_usage adds a last chunk with choices [] and usage (with cached tokens)."""
    chunks = _post("llama.cpp", "/v1/chat/completions", _chat(include_usage=True)).chunks()

    assert [] == chunks[-1]["choices"]
    assert 3 == chunks[-1]["usage"]["completion_tokens"]
    assert {"cached_tokens": 0} == chunks[-1]["usage"]["prompt_tokens_details"]


def test_llama_cpp_completion_streams_always_carry_usage_on_the_finish_chunk():
    """Without include_usage, the closing chunk (text "") has finish_reason and usage."""
    chunks = _post("llama.cpp", "/v1/completions", _completion()).chunks()

    assert ["", "length"] == [chunks[-1]["choices"][0]["text"],
                              chunks[-1]["choices"][0]["finish_reason"]]
    assert 3 == chunks[-1]["usage"]["completion_tokens"]
    assert [None] * 3 == _finishes(chunks)[:-1]
    assert 1 == len([c for c in chunks if "usage" in c])


def test_llama_cpp_answers_with_its_own_model_name():
    """Whatever the request asked for, the answer names the served model."""
    streamed = _post("llama.cpp", "/v1/chat/completions", _chat(model="anything")).chunks()
    body = _post("llama.cpp", "/v1/chat/completions", _chat(stream=False, model="other")).json()

    assert {"served-model"} == {c["model"] for c in streamed}
    assert "served-model" == body["model"]


@pytest.mark.parametrize("profile", ["vllm", "generic"])
def test_openai_stream_shape(profile):
    """vLLM (and the generic simulator): role chunk with content "", finish_reason on the
    last token, usage in a choices-[] chunk only when asked."""
    plain = _post(profile, "/v1/chat/completions", _chat()).chunks()
    with_usage = _post(profile, "/v1/chat/completions", _chat(include_usage=True)).chunks()

    assert {"role": "assistant", "content": ""} == _deltas(plain)[0]
    assert [None] * 3 + ["length"] == _finishes(plain)
    assert not any("usage" in c for c in plain)
    assert [] == with_usage[-1]["choices"] and "usage" in with_usage[-1]


def test_sglang_chat_stream_shape():
    """Role chunk, reasoning_content null in every delta, matched_stop in every choice, and
    a closing chunk of its own carrying finish_reason."""
    chunks = _post("sglang", "/v1/chat/completions", _chat(include_usage=True)).chunks()
    deltas = _deltas(chunks)

    assert {"role": "assistant", "content": "", "reasoning_content": None} == deltas[0]
    assert all(d["reasoning_content"] is None for d in deltas)
    assert {"reasoning_content": None} == deltas[-1]
    assert [None] * 4 + ["length"] == _finishes(chunks)
    assert all("matched_stop" in c["choices"][0] for c in chunks if c["choices"])
    assert [] == chunks[-1]["choices"] and 3 == chunks[-1]["usage"]["completion_tokens"]


def test_tgi_chat_stream_has_no_role_chunk_and_a_role_in_every_delta():
    """No role-only chunk: three token chunks, each delta {"role", "content"}; id ""."""
    chunks = _post("tgi", "/v1/chat/completions", _chat()).chunks()

    assert 3 == len(chunks)
    assert all(set(d) == {"role", "content"} and d["content"] for d in _deltas(chunks))
    assert [None, None, "length"] == _finishes(chunks)
    assert {""} == {c["id"] for c in chunks}


def test_tgi_completion_chunks_finish_with_empty_strings_then_usage():
    """finish_reason is "" until the last chunk, which has the real one and usage."""
    chunks = _post("tgi", "/v1/completions", _completion()).chunks()

    assert ["", "", "length"] == _finishes(chunks)
    assert "usage" in chunks[-1] and not any("usage" in c for c in chunks[:-1])


def test_tgi_answers_with_the_requested_model_unless_tgi():
    """TGI echoes the request's model, except "tgi", which means the served one."""
    echoed = _post("tgi", "/v1/chat/completions", _chat(stream=False, model="mine")).json()
    served = _post("tgi", "/v1/chat/completions", _chat(stream=False, model="tgi")).json()

    assert ("mine", "served-model") == (echoed["model"], served["model"])


@pytest.mark.parametrize("profile,chat_tokens", [
    # contents: "be brief" 1 + 2, "summarize extraordinary things" 3 + 4 + 2: 12 tokens
    ("llama.cpp", 12 + 10 + 5 * 2),
    ("vllm", 12 + 7 + 4 * 2),
    ("sglang", 12 + 6 + 3 * 2),
    ("tgi", 12 + 5 + 6 * 2),
])
def test_prompt_tokens_follow_the_server_tokenizer_and_template(profile, chat_tokens):
    """Chat usage: the contents' server tokens plus the profile's template; completions:
    the prompt's tokens plus BOS."""
    chat = _post(profile, "/v1/chat/completions", _chat(stream=False)).json()
    completion = _post(profile, "/v1/completions", _completion(stream=False)).json()

    assert chat_tokens == chat["usage"]["prompt_tokens"]
    assert 2 + 3 + 2 + 1 == completion["usage"]["prompt_tokens"]


def test_generic_prompt_tokens_stay_one_per_word():
    """The generic simulator counts words, with no template and no BOS (as it always did)."""
    chat = _post("generic", "/v1/chat/completions", _chat(stream=False)).json()
    completion = _post("generic", "/v1/completions", _completion(stream=False)).json()

    assert (5, 3) == (chat["usage"]["prompt_tokens"], completion["usage"]["prompt_tokens"])


@pytest.mark.parametrize("profile,body", [
    ("llama.cpp", {"status": "ok"}), ("vllm", None), ("sglang", None), ("tgi", None)])
def test_health(profile, body):
    """llama.cpp says {"status": "ok"}; the others answer 200 with an empty body."""

    async def scenario(_session, base):
        async with RawConnection(base) as conn:
            return await conn.get("/health")

    response = run(FAST + f"&profile={profile}", scenario)

    assert 200 == response.status
    assert body == (response.json() if response.body else None)


def test_generic_has_no_extra_endpoints_but_metrics():
    """/health and /tokenize are the profiles' own: the generic server has neither, only
    /metrics (with vLLM's names, see tests/sim/test_metrics_endpoint.py)."""

    async def scenario(_session, base):
        async with RawConnection(base) as conn:
            return [(await conn.get("/health")).status, (await conn.get("/metrics")).status,
                    (await conn.post("/tokenize", {"content": "x"})).status]

    assert [404, 200, 404] == run(FAST, scenario)


@pytest.mark.parametrize("profile,owner", [
    ("generic", "aiperf"), ("llama.cpp", "llamacpp"), ("vllm", "vllm"), ("sglang", "sglang"),
    ("tgi", "huggingface")])
def test_models_lists_the_served_model_owned_by_the_server(profile, owner):
    """/v1/models names the configured model with the server's owned_by."""

    async def scenario(_session, base):
        async with RawConnection(base) as conn:
            return (await conn.get("/v1/models")).json()

    models = run(FAST + f"&profile={profile}", scenario)

    assert [("served-model", owner)] == [(m["id"], m["owned_by"]) for m in models["data"]]
