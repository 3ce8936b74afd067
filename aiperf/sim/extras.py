"""A profile's own endpoints beside the OpenAI API: ``/health``, ``/tokenize``, ``/metrics``.

Shapes per server (see :mod:`aiperf.sim.profiles` for the sources):

- ``GET /health``: llama.cpp answers ``{"status": "ok"}``; vLLM, SGLang and TGI answer 200
  with an empty body.
- ``POST /tokenize`` (SGLang also ``/v1/tokenize``): :mod:`aiperf.sim.tokenize_api`.
- ``GET /metrics``: :mod:`aiperf.sim.metrics`, in the Prometheus text format.

The generic simulator has only ``/metrics`` (with vLLM's names), so that a benchmark of
the plain simulator can scrape server metrics too.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from aiohttp import web

from aiperf.sim import payloads, prometheus, tokenize_api
from aiperf.sim.inputs import BadRequest
from aiperf.sim.profiles import Profile


def add_routes(app: web.Application, profile: Profile, metrics_text: Callable[[], str]) -> None:
    """Serve ``profile``'s extra endpoints on ``app``; ``metrics_text()`` renders /metrics."""

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=metrics_text().encode(),
                            headers={"Content-Type": prometheus.CONTENT_TYPE})

    app.router.add_get("/metrics", metrics)
    if not profile.extras:
        return

    async def health(_request: web.Request) -> web.Response:
        if profile.name == "llama.cpp":
            return web.json_response({"status": "ok"})
        return web.Response(status=200)

    async def tokenize(request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
            answer = tokenize_api.tokenize(profile.name, body, profile.tokens,
                                           profile.context_len)
        except ValueError as e:  # bad JSON or a BadRequest
            error = payloads.error(str(e), type="invalid_request_error", code=400,
                                   param=e.param if isinstance(e, BadRequest) else None)
            return web.json_response(error, status=400)
        return web.json_response(answer)

    app.router.add_get("/health", health)
    app.router.add_post("/tokenize", tokenize)
    if profile.name == "sglang":
        app.router.add_post("/v1/tokenize", tokenize)
