"""Request bodies, URLs and headers for the OpenAI endpoints, and the RequestSpec that
carries them to the client.

Pure functions: the runner builds every body and the shared headers before the clock
starts, so the hot path in :mod:`aiperf.bench.client` only encodes and sends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from aiperf.bench.records import Phase

#: The path each endpoint type is served at, relative to the server root.
ENDPOINT_PATHS: Mapping[str, str] = {
    "chat": "/v1/chat/completions",
    "completions": "/v1/completions",
    "embeddings": "/v1/embeddings",
}

#: Set by the client per request; a user header of this name would be sent twice.
REQUEST_ID_HEADER = "x-request-id"


@attrs.frozen
class RequestSpec:
    """One request, ready to send.

    ``body`` is a dict (JSON-encoded at send time) or bytes already encoded with
    :func:`encode_body` (to move that work off the hot path). ``headers`` are the shared
    headers from :func:`base_headers`; the client adds ``x-request-id`` itself, so one
    headers dict can serve every request. ``input_tokens`` is the prompt length by the
    client's tokenizer, copied into the record.
    """

    index: int
    phase: Phase
    x_request_id: str
    intended_perf_ns: int
    url: str
    body: Mapping[str, Any] | bytes = attrs.field(repr=False)
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)  # may hold secrets
    input_tokens: int | None = None
    #: The body asks for a stream (a plain JSON answer is then marked on the record).
    streaming: bool = False
    #: The multi-turn session this request is a turn of, and which turn (from 0).
    session: str | None = None
    turn: int | None = None
    #: The endpoint it goes to as records show it, when a run has several (else None).
    endpoint: str | None = None


def endpoint_url(base_url: str, endpoint_type: str) -> str:
    """The full URL for ``endpoint_type`` under ``base_url``.

    ``http://h:8000``, ``http://h:8000/`` and ``http://h:8000/v1`` all give
    ``http://h:8000/v1/chat/completions``; a URL that already ends with the endpoint's
    path is used as it is.
    """
    path = ENDPOINT_PATHS[endpoint_type]
    base = base_url.rstrip("/")
    if base.endswith(path):
        return base
    if base.endswith("/v1"):
        base = base[: -len("/v1")]
    return base + path


def request_body(
    endpoint_type: str,
    *,
    model: str | None,
    prompt: str,
    osl: int | None = None,
    streaming: bool = False,
    extra_inputs: Mapping[str, Any] | None = None,
    system: str | None = None,
    history: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """The JSON body for one request; ``extra_inputs`` is merged last (shallowly) and wins.

    Chat sends the prompt as one user message (after a system message when ``system`` is
    given, and after ``history``, a session's earlier turns, when there is one) and the
    OSL as both ``max_tokens`` and ``max_completion_tokens`` (older and newer servers read
    different ones); completions put ``system`` before the prompt. Streaming asks for a
    trailing usage chunk so output tokens can come from the server.
    Embeddings neither stream nor take an OSL.
    """
    body: dict[str, Any] = {} if model is None else {"model": model}
    if endpoint_type == "chat":
        body["messages"] = [*history, {"role": "user", "content": prompt}]
        if system is not None:
            body["messages"].insert(0, {"role": "system", "content": system})
        if osl is not None:
            body["max_tokens"] = osl
            body["max_completion_tokens"] = osl
    elif endpoint_type == "completions":
        body["prompt"] = prompt if system is None else f"{system}\n\n{prompt}"
        if osl is not None:
            body["max_tokens"] = osl
    elif endpoint_type == "embeddings":
        body["input"] = prompt if system is None else f"{system}\n\n{prompt}"
        streaming = False
    else:
        choices = ", ".join(ENDPOINT_PATHS)
        msg = f"unknown endpoint type {endpoint_type!r}; expected one of {choices}"
        raise ValueError(msg)
    if streaming:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    if extra_inputs:
        body.update(extra_inputs)
    return body


def base_headers(
    *, api_key: str | None = None, headers: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Headers shared by every request: JSON content type, the bearer token when an API
    key is given, then the user's ``--header`` values (which win, compared without case).

    A user ``x-request-id`` is dropped: the client sets a unique one per request.
    """
    out: dict[str, str] = {"Content-Type": "application/json"}
    if api_key:
        out["Authorization"] = f"Bearer {api_key}"
    for name, value in (headers or {}).items():
        lower = name.lower()
        if lower == REQUEST_ID_HEADER:
            continue
        for existing in [k for k in out if k.lower() == lower]:
            del out[existing]
        out[name] = value
    return out


def encode_body(body: Mapping[str, Any]) -> bytes:
    """The compact UTF-8 JSON encoding the client sends."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
