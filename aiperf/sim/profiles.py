"""Server profiles: what real OpenAI-compatible servers do that an HTTP client can observe.

A profile bundles defaults for the connection quirks (:class:`Quirks`, each of which is
also a simulator option that overrides the profile's value), the shape of streams and
bodies (:class:`~aiperf.sim.payloads.StreamShape`), the server's prompt-token rule
(:class:`~aiperf.sim.tokenizer.PromptTokens`), and the flavour of its extra endpoints
(``/health``, ``/tokenize``, ``/metrics``, see :mod:`aiperf.sim.extras`).

``generic`` is the simulator as it always was: OpenAI's stream shape, word tokens, no
extra endpoints, aiohttp's connection handling (idle connections kept 3630 s); like
OpenAI's API, its ``usage`` carries ``prompt_tokens_details.cached_tokens``.

What each profile reproduces, and where the fact comes from:

llama.cpp (``llama-server``; source: ``../shared/real-server/README.md``, which records
what the llama-server build there does, and that build's vendored source:
``tools/server/server-task.cpp``, ``server-context.cpp``, ``vendor/cpp-httplib``):

- every response advertises ``Keep-Alive: timeout=5, max=100`` (cpp-httplib's defaults)
  and the 100th response on a connection says ``Connection: close``; an idle
  connection is dropped after 5 s; an error answer (status >= 400) says
  ``Connection: close`` and closes (cpp-httplib closes after errors);
- **the connection is closed right after every streamed response**, while its headers
  still advertise keep-alive and never say ``Connection: close``; non-streamed responses
  keep the connection;
- chat streams open with a role-only chunk ``delta: {"role":"assistant","content":null}``
  and close with a chunk of their own ``delta: {}`` carrying ``finish_reason``; ``usage``
  (with ``prompt_tokens_details.cached_tokens``) only with
  ``stream_options.include_usage``, in a last chunk with ``choices: []``;
- completion streams always carry ``usage``, on a closing chunk ``text: ""`` that carries
  ``finish_reason`` (``include_usage`` changes nothing);
- chunks and bodies carry ``system_fingerprint``; the model name in every answer is the
  server's own, whatever the request asked for; ``/v1/models`` says ``owned_by:
  llamacpp``;
- ``POST /tokenize`` ``{"content": str, "add_special": bool = false, "with_pieces": bool =
  false}`` -> ``{"tokens": [int, ...]}`` (with pieces: ``[{"id": int, "piece": str}]``);
  ``GET /health`` -> ``{"status": "ok"}``; ``GET /metrics`` in Prometheus text with
  ``llamacpp:`` names (``prompt_tokens_total``, ``prompt_seconds_total``,
  ``tokens_predicted_total``, ``tokens_predicted_seconds_total``, ``prompt_tokens_seconds``,
  ``predicted_tokens_seconds``, ``requests_processing``, ``requests_deferred``). This
  build no longer exports ``llamacpp:kv_cache_usage_ratio``, so neither does the profile.

vLLM (``vllm serve``; sources: vLLM's ``vllm/envs.py``, ``entrypoints/openai/protocol.py``,
``serving_chat.py`` and ``v1/metrics/loggers.py``):

- uvicorn behind it: no ``Keep-Alive`` header, idle connections closed after 5 s
  (``VLLM_HTTP_TIMEOUT_KEEP_ALIVE``), connections otherwise kept;
- OpenAI's stream shape: role chunk ``{"role":"assistant","content":""}``,
  ``finish_reason`` on the last token's chunk, ``usage`` only with
  ``stream_options.include_usage`` in a final chunk with ``choices: []``;
- a request naming another model than the served one is answered 404 (vLLM checks);
- ``POST /tokenize`` ``{"model", "prompt": str, "add_special_tokens": bool = true}`` or
  ``{"model", "messages": [...], "add_special_tokens": bool = false}`` -> ``{"count": n,
  "max_model_len": m, "tokens": [...]}`` (messages are templated: their count is the chat
  request's ``prompt_tokens``); ``GET /health`` -> 200, empty body; ``GET /metrics`` with
  ``vllm:`` names labelled ``model_name`` and ``engine``.

SGLang (``sglang.launch_server``; sources: ``srt/environ.py`` (``SGLANG_TIMEOUT_KEEP_ALIVE``),
``srt/entrypoints/openai/serving_chat.py``, ``serving_completions.py``, ``protocol.py``,
``srt/metrics/collector.py``):

- uvicorn: no ``Keep-Alive`` header, idle connections closed after 5 s;
- chat: role chunk ``{"role":"assistant","content":"","reasoning_content":null}``, token
  deltas ``{"reasoning_content":null,"content":...}``, then a closing chunk of its own
  (``delta: {"reasoning_content":null}``) carrying ``finish_reason``; every choice has
  ``matched_stop``; completions put ``finish_reason`` on the last token's chunk; ``usage``
  only with ``include_usage``, in a final chunk with ``choices: []``;
- ``POST /tokenize`` and ``/v1/tokenize`` ``{"model", "prompt": str, "add_special_tokens":
  bool = true}`` -> ``{"tokens": [...], "count": n, "max_model_len": m}``; ``GET /health``
  -> 200, empty body; ``GET /metrics`` with ``sglang:`` names labelled ``model_name``.

TGI (text-generation-inference; sources: ``router/src/server.rs``, ``router/src/chat.rs``,
``router/src/lib.rs``):

- axum 0.7 (hyper 1) with no idle timeout: connections are kept however long they idle,
  no ``Keep-Alive`` header;
- chat: no role-only chunk, every token's delta is ``{"role":"assistant","content":...}``,
  ``finish_reason`` on the last token's chunk, ``usage`` only with ``include_usage`` in a
  final chunk with ``choices: []``; every chunk has ``id: ""`` and ``system_fingerprint``;
- completion chunks carry ``finish_reason: ""`` (an empty string, not null) until the
  last, which carries the real one and ``usage``, always;
- the answer's model is the request's, unless it asked for ``tgi`` or none (then the
  served one);
- ``POST /tokenize`` ``{"inputs": str}`` -> ``[{"id", "text", "start", "stop"}, ...]``
  (BOS included, as the model's tokenizer adds it); ``GET /health`` -> 200, empty body;
  ``GET /metrics`` with ``tgi_`` names (``tgi_request_count``, ``tgi_request_success``,
  ``tgi_queue_size``, ``tgi_batch_current_size``, histograms ``tgi_request_duration``,
  ``tgi_request_queue_duration``, ``tgi_request_mean_time_per_token_duration``,
  ``tgi_request_input_length``, ``tgi_request_generated_tokens``).

Prompt tokens (all but ``generic``; deterministic, see :mod:`aiperf.sim.tokenizer`): a word
of L characters costs ``ceil(L / 4)`` tokens; a chat request adds ``chat_preamble +
chat_per_message * messages`` (llama.cpp 10 + 5, vLLM 7 + 4, SGLang 6 + 3, TGI 5 + 6); a
completion or embedding text adds 1 (BOS). Output lengths are as in every profile:
exactly ``max_tokens``.

Prefix caching is the simulator's own block model for every profile
(:mod:`aiperf.sim.prefix_cache`); ``usage.prompt_tokens_details.cached_tokens`` appears
where the real server reports it by default: llama.cpp (and OpenAI, the generic profile).
vLLM and SGLang report it only when started with ``--enable-prompt-tokens-details`` /
``--enable-cache-report``, TGI never, so their profiles leave it out. llama-server really
reuses the common prefix of a slot's previous prompt, token by token; ``block_tokens=1``
comes closer to that.

Not reproduced: fields that are always null or absent in practice (``usage: null``,
llama.cpp's ``timings``), and each server's other endpoints.
"""

from __future__ import annotations

from typing import Literal

import attrs

from aiperf.sim.payloads import OPENAI_STREAM, StreamShape
from aiperf.sim.tokenizer import WORDS, PromptTokens

#: aiohttp's own idle timeout for keep-alive connections: what the simulator always had.
AIOHTTP_IDLE_TIMEOUT_S = 3630.0

ModelReply = Literal["echo", "served", "unless-tgi"]


@attrs.frozen
class Quirks:
    """How a server handles its connections. Every field is also a simulator option.

    - ``keepalive_max``: responses per connection; the last says ``Connection: close`` and
      the connection closes. When > 0 every other response advertises ``Keep-Alive:
      timeout=<idle_timeout_s>, max=<keepalive_max>``. 0: no limit, no header.
    - ``idle_timeout_s``: an idle keep-alive connection is closed silently after this
      long (0: never).
    - ``connection_close``: every response says ``Connection: close`` and closes.
    - ``close_after_stream``: the connection closes right after every streamed response,
      whatever its headers advertised (llama.cpp).
    - ``close_on_error``: an answer with status >= 400 says ``Connection: close`` and closes.
    - ``ignore_stream``: ``stream: true`` is answered with one JSON body.
    - ``strict_model``: a request naming a model other than the served one gets a 404.
    """

    keepalive_max: int = 0
    idle_timeout_s: float = AIOHTTP_IDLE_TIMEOUT_S
    connection_close: bool = False
    close_after_stream: bool = False
    close_on_error: bool = False
    ignore_stream: bool = False
    strict_model: bool = False


@attrs.frozen
class Profile:
    """One imitated server (see the module docstring for what each one does)."""

    name: str
    quirks: Quirks
    stream: StreamShape
    tokens: PromptTokens
    #: Whose model name an answer carries: the request's (or the served one when it named
    #: none), always the served one, or TGI's rule (the request's unless "tgi" or none).
    model_reply: ModelReply
    owned_by: str
    #: Serve /health, /tokenize and /metrics in this server's flavour (the generic
    #: simulator has none of them).
    extras: bool = True
    #: max_model_len reported by /tokenize.
    context_len: int = 4096

    def reply_model(self, requested: str | None, served: str) -> str:
        """The model name an answer carries."""
        if self.model_reply == "served" or not requested:
            return served
        if self.model_reply == "unless-tgi" and requested == "tgi":
            return served
        return requested


def _template(preamble: int, per_message: int) -> PromptTokens:
    return PromptTokens(chars_per_token=4, chat_preamble=preamble, chat_per_message=per_message,
                        bos=1)


GENERIC = Profile("generic", Quirks(), attrs.evolve(OPENAI_STREAM, cached_details=True), WORDS,
                  "echo", "aiperf", extras=False)

LLAMA_CPP = Profile(
    "llama.cpp",
    Quirks(keepalive_max=100, idle_timeout_s=5.0, close_after_stream=True, close_on_error=True),
    StreamShape(role_delta='{"role":"assistant","content":null}', finish_delta="{}",
                completion_finish_chunk=True, completion_usage_always=True,
                top_fields=(("system_fingerprint", "b1-aiperf-sim"),), cached_details=True),
    _template(10, 5), "served", "llamacpp",
)

VLLM = Profile("vllm", Quirks(idle_timeout_s=5.0, strict_model=True), OPENAI_STREAM,
               _template(7, 4), "echo", "vllm")

SGLANG = Profile(
    "sglang",
    Quirks(idle_timeout_s=5.0),
    StreamShape(role_delta='{"role":"assistant","content":"","reasoning_content":null}',
                content_delta='{"reasoning_content":null,"content":"%s"}',
                finish_delta='{"reasoning_content":null}', choice_extra=',"matched_stop":null'),
    _template(6, 3), "echo", "sglang",
)

TGI = Profile(
    "tgi",
    Quirks(idle_timeout_s=0.0),
    StreamShape(role_delta=None, content_delta='{"role":"assistant","content":"%s"}',
                completion_usage_always=True, completion_pending_finish='""',
                top_fields=(("system_fingerprint", "3.3.6-native"),), id_override=""),
    _template(5, 6), "unless-tgi", "huggingface",
)

PROFILES: dict[str, Profile] = {p.name: p for p in (GENERIC, LLAMA_CPP, VLLM, SGLANG, TGI)}
