"""What the client measured for one request: the raw facts every metric is computed from.

Times come in two clocks: ``*_perf_ns`` from ``time.perf_counter_ns()`` (monotonic, for
durations) and ``*_wall_ns`` on the wall clock (for timestamps in artifacts), derived
from the same readings by :mod:`aiperf.bench.clock`. A record never holds a derived
metric; :mod:`aiperf.bench.metrics` computes those.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import attrs

Phase = Literal["warmup", "profiling"]


@attrs.frozen
class RequestError:
    """Why a request failed. ``type`` is a stable slug: ``http-status``, ``timeout``,
    ``disconnected``, ``malformed-response``, ``server-error`` (an error object in the
    stream or body), ``connection``, ``cancelled``, and ``internal`` (a bug of ours, kept
    as data so one bad request never stops a benchmark)."""

    type: str
    message: str
    code: int | None = None


class Chunk(NamedTuple):
    """One streamed response event that carried output.

    ``tokens`` is the server's count for this chunk when it reports one (usage per
    chunk), else None. ``reasoning`` marks reasoning (thinking) content. A named tuple,
    not an attrs class: a response has one per token, made on the client's hot path and
    shipped by the tens per record in a distributed run, where a tuple is several times
    cheaper to build and to pickle.
    """

    perf_ns: int
    text: str
    reasoning: bool = False
    tokens: int | None = None


@attrs.frozen
class Usage:
    """Server-reported token counts (OpenAI ``usage``)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None
    #: Prompt tokens the server took from its prefix cache
    #: (``usage.prompt_tokens_details.cached_tokens``), when it says.
    cached_tokens: int | None = None


@attrs.frozen
class RequestRecord:
    """Everything measured about one request.

    ``intended_perf_ns`` is when the schedule wanted the request sent; ``start_perf_ns``
    is when it was actually sent (their difference is the client's scheduling lag).
    For a non-streaming request ``chunks`` holds one chunk at the time the body was read.
    ``input_tokens`` is the prompt length by the client's tokenizer; ``output_tokens``
    the output length (server usage when reported, else the client's tokenizer).
    """

    index: int
    phase: Phase
    x_request_id: str
    intended_perf_ns: int
    start_perf_ns: int
    start_wall_ns: int
    end_perf_ns: int
    end_wall_ns: int
    ack_perf_ns: int | None = None
    chunks: tuple[Chunk, ...] = ()
    input_tokens: int | None = None
    output_tokens: int | None = None
    usage: Usage | None = None
    status: int | None = None
    error: RequestError | None = None
    cancelled: bool = False
    #: Re-sent once on a fresh connection because the reused one was dead before any
    #: response; timed from the send that worked.
    replaced_connection: bool = False
    #: Streaming was asked for, but the server answered with one plain JSON body.
    unstreamed: bool = False
    #: Time spent opening a new connection for this request (TCP, and TLS where used),
    #: within its wait between ``intended`` and ``start``; None when it went out on a
    #: pooled connection. Kept out of the scheduling lag: it is the network's, not the
    #: client's.
    connect_ns: int | None = None
    #: The multi-turn session this request was a turn of, and which turn (from 0).
    session: str | None = None
    turn: int | None = None
    #: The endpoint it went to (its configured URL, password left out), when the run
    #: spread its requests over several (else None).
    endpoint: str | None = None

    @property
    def ok(self) -> bool:
        """A request that completed without error."""
        return self.error is None and not self.cancelled

    @property
    def content_chunks(self) -> tuple[Chunk, ...]:
        """Chunks that carried output content or reasoning (not usage-only)."""
        return tuple(c for c in self.chunks if c.text or c.tokens)
