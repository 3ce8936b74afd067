"""The simulator's HTTP face: an aiohttp application speaking the OpenAI API.

Routes: ``POST /v1/chat/completions``, ``POST /v1/completions``, ``POST /v1/embeddings``,
``GET /v1/models``, ``GET /metrics`` (:mod:`aiperf.sim.metrics`; vLLM's names unless the
profile is another server's), ``GET /dcgm/metrics`` with the ``gpus`` option
(:mod:`aiperf.sim.dcgm`), and the simulator's own ``GET /sim/stats`` (``?records=0`` leaves
the per-request records out) and ``POST /sim/reset`` (which also restarts ``/metrics``, not
the GPUs' energy counters). An ``x-request-id`` header is echoed back (one is made up when
the client sends none), and the value of the ``session_header`` option's header (default
``X-Session-ID``) is recorded as the request's ``session_id``, so a test can see that all
turns of a conversation carried one id (a single server needs no routing by it).

Chat and completion prompts go through the prefix cache (:mod:`aiperf.sim.prefix_cache`)
when admitted; the cached tokens shorten realistic prefill and are reported in ``usage``
(where the profile's server reports them), ``/metrics`` and ``/sim/stats``. Under the
llama.cpp profile a request with ``"cache_prompt": false`` reuses nothing, as llama-server.

The ``profile`` option picks the server imitated (:mod:`aiperf.sim.profiles`): its
connection quirks (:mod:`aiperf.sim.connection`), stream shape, prompt-token counting,
model-name reply and extra endpoints (:mod:`aiperf.sim.extras`). The generic profile
accepts any model name and echoes it.

Run the application with ``handler_cancellation=True`` (as :mod:`aiperf.sim.inprocess`
does) so that a client that gives up frees its batch slot, as a real server would.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import time
from typing import Any

import attrs
from aiohttp import web

from aiperf.sim import extras, inputs, metrics, model, payloads, prometheus
from aiperf.sim.arrivals import ArrivalStamps
from aiperf.sim.connection import ConnectionPolicy
from aiperf.sim.dcgm import Dcgm
from aiperf.sim.engine import Engine, Sequence
from aiperf.sim.faults import NONE, STATUS, Faults
from aiperf.sim.options import SimOptions
from aiperf.sim.stats import RequestRecord, Stats


class _Simulator:
    """Everything the handlers share."""

    def __init__(self, options: SimOptions) -> None:
        self.options = options
        self.profile = options.server
        self.quirks = options.quirks
        self.connections = ConnectionPolicy(self.quirks)
        self.engine = Engine(options)
        self.stats = Stats()
        self.metrics = metrics.ServerMetrics(self.profile.context_len, self.engine.load.read())
        self.dcgm = (Dcgm(options.gpus, self.engine.load, socket.gethostname())
                     if options.gpus else None)
        self.created = int(time.time())
        #: When each request reached the process (stamped only when served by
        #: :func:`aiperf.sim.inprocess.serve_on_this_loop`; else at the handler).
        self.arrivals = ArrivalStamps()
        self._ids = itertools.count(1)

    def next_id(self) -> str:
        return f"sim-{next(self._ids)}"

    def metrics_text(self) -> str:
        """``GET /metrics`` in the profile's flavour, gauges read from the batch now."""
        engine = self.engine
        now = metrics.Now(running=engine.batch.active, waiting=engine.batch.waiting,
                          kv_tokens=engine.kv_tokens(), kv_capacity=self.options.kv_cache_tokens,
                          load=engine.load.read())
        return metrics.render(self.profile.name, self.metrics, model=self.options.model,
                              now=now)

    def reset(self) -> None:
        """Forget what was done so far (``POST /sim/reset``)."""
        self.stats.reset()
        self.engine.reset()
        self.metrics = metrics.ServerMetrics(self.profile.context_len, self.engine.load.read())


SIMULATOR = web.AppKey("aiperf_simulator", _Simulator)


def create_app(options: SimOptions) -> web.Application:
    """A fresh simulator application (its own batch, queue, RNG and stats)."""
    app = web.Application()
    sim = app[SIMULATOR] = _Simulator(options)
    app.middlewares.append(sim.arrivals.middleware)
    app.on_response_prepare.append(sim.connections.on_prepare)
    app.router.add_post("/v1/chat/completions", _chat)
    app.router.add_post("/v1/completions", _completions)
    app.router.add_post("/v1/embeddings", _embeddings)
    app.router.add_get("/v1/models", _models)
    app.router.add_get("/sim/stats", _stats)
    app.router.add_post("/sim/reset", _reset)
    extras.add_routes(app, sim.profile, sim.metrics_text)
    if sim.dcgm is not None:
        app.router.add_get("/dcgm/metrics", _dcgm)
    return app


async def _chat(request: web.Request) -> web.StreamResponse:
    return await _serve(request, "chat")


async def _completions(request: web.Request) -> web.StreamResponse:
    return await _serve(request, "completions")


async def _embeddings(request: web.Request) -> web.StreamResponse:
    return await _serve(request, "embeddings")


async def _models(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    return web.json_response(payloads.models(sim.options.model, sim.created,
                                             sim.profile.owned_by))


async def _stats(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    body = sim.stats.snapshot(options=sim.options.as_dict(),
                              max_active=sim.engine.batch.max_active,
                              max_queued=sim.engine.batch.max_waiting,
                              include_records=request.query.get("records", "1") != "0")
    return web.json_response(body)


async def _dcgm(request: web.Request) -> web.Response:
    dcgm = request.app[SIMULATOR].dcgm
    assert dcgm is not None  # the route exists only with GPUs
    return web.Response(body=dcgm.text().encode(),
                        headers={"Content-Type": prometheus.CONTENT_TYPE})


async def _reset(request: web.Request) -> web.Response:
    request.app[SIMULATOR].reset()
    return web.json_response({"reset": True})


@attrs.define
class _Outcome:
    """What one request did so far; turned into its :class:`RequestRecord` at the end."""

    status: int = 200
    isl: int = 0
    session_id: str | None = None
    streaming: bool = False
    output_tokens: int = 0
    reasoning_tokens: int = 0
    faults: Faults = NONE
    sequence: Sequence | None = None
    completed: bool = False
    finish_reason: str | None = None
    #: loop.time() when the first token's bytes were handed to the transport.
    first_write_at: float | None = None


async def _serve(request: web.Request, endpoint: inputs.Endpoint) -> web.StreamResponse:
    """Answer one generation or embeddings request and record what was done."""
    sim = request.app[SIMULATOR]
    loop = asyncio.get_running_loop()
    arrival, arrival_ns = sim.arrivals.of(request)
    request_id = request.headers.get("x-request-id") or sim.next_id()
    headers = {"x-request-id": request_id}
    outcome = _Outcome(session_id=request.headers.get(sim.options.session_header))
    sim.stats.started()
    sim.metrics.started()
    try:
        return await _answer(request, sim, endpoint, arrival, headers, outcome)
    except ConnectionResetError:
        # The client went away and aiohttp did not cancel us (handler_cancellation off).
        return web.Response(status=499)
    finally:
        record = _record(request_id, endpoint, arrival, arrival_ns, outcome)
        sim.stats.finished(record)
        sim.metrics.finished(record, loop.time() - arrival, outcome.finish_reason)


def _record(request_id: str, endpoint: str, arrival: float, arrival_ns: int,
            outcome: _Outcome) -> RequestRecord:
    seq = outcome.sequence
    ttft = itl = sent = None
    queue_ms = lag_ms = 0.0
    cached = 0
    if seq is not None:
        cached = seq.cached
        queue_ms = seq.queued_s * 1000.0
        lag_ms = seq.max_lag_s * 1000.0
        if seq.first_at is not None:
            ttft = (seq.first_at - arrival) * 1000.0
        if outcome.first_write_at is not None:
            sent = (outcome.first_write_at - arrival) * 1000.0
        mean_itl = seq.mean_itl_s
        itl = None if mean_itl is None else mean_itl * 1000.0
    return RequestRecord(
        request_id=request_id, endpoint=endpoint, streaming=outcome.streaming,
        arrival_unix_ns=arrival_ns, isl=outcome.isl, output_tokens=outcome.output_tokens,
        reasoning_tokens=outcome.reasoning_tokens, ttft_ms=ttft, ttft_sent_ms=sent, itl_ms=itl,
        queue_ms=queue_ms,
        max_lag_ms=lag_ms, fault=outcome.faults.kind, stall_ms=outcome.faults.stall_ms,
        status=outcome.status, completed=outcome.completed, cached_tokens=cached,
        session_id=outcome.session_id,
    )


async def _answer(request: web.Request, sim: _Simulator, endpoint: inputs.Endpoint,
                  arrival: float, headers: dict[str, str], outcome: _Outcome
                  ) -> web.StreamResponse:
    try:
        req = inputs.parse(endpoint, json.loads(await request.read()), sim.profile.tokens)
    except ValueError as e:  # bad JSON or a BadRequest
        outcome.status = 400
        body = payloads.error(str(e), type="invalid_request_error", code=400,
                              param=getattr(e, "param", None))
        return web.json_response(body, status=400, headers=headers)
    if sim.quirks.strict_model and req.model not in (None, sim.options.model):
        outcome.status = 404
        body = payloads.error(f"The model `{req.model}` does not exist.", type="NotFoundError",
                              code=404, param="model")
        return web.json_response(body, status=404, headers=headers)
    streaming = req.stream and not sim.quirks.ignore_stream
    outcome.isl = req.isl
    outcome.streaming = streaming
    outcome.faults = faults = sim.engine.draw_faults()
    ready_at = arrival
    if faults.stall_ms:
        ready_at += faults.stall_ms / 1000.0
        await asyncio.sleep(ready_at - asyncio.get_running_loop().time())
    if faults.kind in STATUS:
        return _fault_answer(sim, faults, headers, outcome)

    # As with vLLM and OpenAI, a stream's headers leave at once: queueing and prefill delay
    # only its first event, so time to first byte and time to first token differ.
    stream = await _open_stream(request, headers, sim.connections) if streaming else None
    reuse = req.cache_prompt or sim.profile.name != "llama.cpp"
    async with sim.engine.admit(req.isl, ready_at, req.prompts, reuse=reuse) as seq:
        outcome.sequence = seq
        if endpoint == "embeddings":
            await seq.prefill()
            body = payloads.embeddings(sim.profile.reply_model(req.model, sim.options.model),
                                       req.input_tokens, sim.options.embedding_dim)
            response = _finish_body(request, body, faults, headers)
        else:
            answer = _new_answer(sim, endpoint, req, request_id=headers["x-request-id"],
                                 cached_tokens=seq.cached)
            outcome.reasoning_tokens = answer.reasoning
            outcome.finish_reason = answer.finish_reason
            if stream is not None:
                response = await _stream(request, stream, answer, seq, req, faults, outcome)
            else:
                async with contextlib.aclosing(seq.tokens(answer.total)) as due:
                    async for _ in due:
                        pass
                outcome.output_tokens = answer.total
                response = _finish_body(request, answer.body(), faults, headers)
    outcome.completed = faults.kind != "disconnect"
    return response


def _new_answer(sim: _Simulator, endpoint: inputs.Endpoint, req: inputs.Request,
                request_id: str, cached_tokens: int) -> payloads.Answer:
    options = sim.options
    prefix = "chatcmpl-" if endpoint == "chat" else "cmpl-"
    return payloads.Answer(
        endpoint, prefix + request_id, sim.profile.reply_model(req.model, options.model),
        int(time.time()),
        reasoning=options.reasoning_tokens if endpoint == "chat" else 0,
        content=model.output_length(options, req.max_tokens),
        chars_per_token=options.chars_per_token,
        # "length": the answer ran into the client's max_tokens; "stop": it ended by itself.
        finish_reason="stop" if req.max_tokens is None else "length",
        prompt_tokens=req.isl,
        cached_tokens=cached_tokens,
        shape=sim.profile.stream,
    )


def _fault_answer(sim: _Simulator, faults: Faults, headers: dict[str, str],
                  outcome: _Outcome) -> web.Response:
    """The immediate answer of an injected error: 500, or 429 / 503 with Retry-After."""
    assert faults.kind is not None
    status = outcome.status = STATUS[faults.kind]
    if faults.kind == "error":
        body = payloads.error("simulated server error (error_rate)", type="server_error",
                              code=status)
        return web.json_response(body, status=status, headers=headers)
    retry = sim.options.retry_after_s
    if faults.kind == "rate_limited":
        body = payloads.error(f"simulated rate limit (rate_limit_rate); retry after {retry} s",
                              type="rate_limit_error", code=status)
    else:
        body = payloads.error(f"simulated overload (unavailable_rate); retry after {retry} s",
                              type="service_unavailable", code=status)
    return web.json_response(body, status=status, headers={**headers, "Retry-After": str(retry)})


def _finish_body(request: web.Request, body: dict[str, Any], faults: Faults,
                 headers: dict[str, str]) -> web.StreamResponse:
    """A complete JSON response, or its injected fault instead."""
    if faults.kind == "disconnect":
        _drop_connection(request)
        return web.Response(status=499)  # never sent: the connection is gone
    text = json.dumps(body, separators=(",", ":"))
    if faults.kind == "malformed":
        text = text[: len(text) // 2]
    return web.Response(text=text, content_type="application/json", headers=headers)


async def _open_stream(request: web.Request, headers: dict[str, str],
                       connections: ConnectionPolicy) -> web.StreamResponse:
    """Send the headers of a server-sent-events response."""
    resp = web.StreamResponse(headers={**headers, "Cache-Control": "no-cache"})
    resp.content_type = "text/event-stream"
    await resp.prepare(request)
    connections.stream_started(resp)
    return resp


async def _stream(request: web.Request, resp: web.StreamResponse, answer: payloads.Answer,
                  seq: Sequence, req: inputs.Request, faults: Faults, outcome: _Outcome
                  ) -> web.StreamResponse:
    """Send the answer as server-sent events, one event per token, as tokens fall due."""
    # An injected fault strikes halfway: a disconnect after half the tokens, a malformed
    # event just before the middle token.
    halfway = answer.total // 2
    count = halfway if faults.kind == "disconnect" else answer.total
    sent = 0
    async with contextlib.aclosing(seq.tokens(count)) as due:
        async for n in due:
            parts = []
            if sent == 0:
                parts.append(answer.opening())
            if faults.kind == "malformed" and sent <= halfway < sent + n:
                parts += [answer.chunks(sent, halfway - sent), answer.malformed_chunk(),
                          answer.chunks(halfway, sent + n - halfway)]
            else:
                parts.append(answer.chunks(sent, n))
            sent += n
            outcome.output_tokens = sent
            if sent == answer.total:
                parts.append(answer.closing(req.include_usage))
            if outcome.first_write_at is None:
                outcome.first_write_at = asyncio.get_running_loop().time()
            await resp.write(b"".join(parts))
    if faults.kind == "disconnect":
        _drop_connection(request)
        return resp
    await resp.write_eof()
    return resp


def _drop_connection(request: web.Request) -> None:
    """Close the client's connection now, mid-response (after flushing what was written)."""
    if request.transport is not None:
        request.transport.close()
