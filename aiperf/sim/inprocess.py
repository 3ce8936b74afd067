"""Run the simulator inside the caller's event loop, on an ephemeral port of 127.0.0.1.

This is how ``--url sim://...`` benchmarks need no server: the profile runner turns the URL
into :class:`SimOptions` with :func:`parse_sim_url` and wraps its run in :func:`serve`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from aiperf.sim.connection import idle_timeout_s
from aiperf.sim.options import SimOptions, parse_sim_url
from aiperf.sim.server import create_app

__all__ = ["parse_sim_url", "serve"]


@contextlib.asynccontextmanager
async def serve(options: SimOptions, host: str = "127.0.0.1", port: int = 0
                ) -> AsyncIterator[str]:
    """Serve a fresh simulator while the block runs; yield its base URL (``http://host:port``).

    ``port=0`` binds a free port chosen by the OS. Requests still open when the block ends
    are cancelled during clean-up. Idle keep-alive connections are closed after the
    profile's (or the ``idle_timeout_s`` option's) idle timeout.
    """
    runner = web.AppRunner(create_app(options), access_log=None, handler_cancellation=True,
                           shutdown_timeout=0.5,
                           keepalive_timeout=idle_timeout_s(options.quirks))
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, reuse_address=True)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        yield f"http://{url_host}:{bound_port}"
    finally:
        await runner.cleanup()
