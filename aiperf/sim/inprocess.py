"""Run the simulator in this process, on its own event loop in a daemon thread, on an
ephemeral port of 127.0.0.1.

This is how ``--url sim://...`` benchmarks need no server: the profile command
(:mod:`aiperf.cli.in_process`, above the runner, which never imports the simulator) turns
the URL into :class:`SimOptions` with :func:`parse_sim_url` and wraps each run in
:func:`serve`, handing the runner the plain base URL.

Why a thread of its own: the client's event loop must be the client's alone. A simulator
on the same loop answers between the client's callbacks, so every token it writes delays
the client's reads and timers, and that delay shows up as the client's own scheduling lag,
event-loop lag and TTFT error. On its own loop the simulator still shares the process (and
the GIL), but the client's loop never waits for the simulator's callbacks to finish.

:func:`serve_on_this_loop` serves on the caller's running loop, for a caller whose loop
does nothing else (``aiperf sim serve``, a test's own server thread).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from aiperf.sim.connection import idle_timeout_s
from aiperf.sim.options import SimOptions, parse_sim_url
from aiperf.sim.server import SIMULATOR, create_app

__all__ = ["THREAD_NAME", "parse_sim_url", "serve", "serve_on_this_loop"]

log = logging.getLogger("aiperf.sim")

#: The name of the simulator's thread (``threading.enumerate()`` shows it while it serves).
THREAD_NAME = "aiperf-sim"
#: How long :func:`serve` waits for the thread to bind, and then to stop. Clean-up cancels
#: open requests after aiohttp's 0.5 s shutdown timeout, so a healthy thread needs well
#: under a second; the bound only keeps a wedged one from hanging the caller for ever.
_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0


@contextlib.asynccontextmanager
async def serve(options: SimOptions, host: str = "127.0.0.1", port: int = 0
                ) -> AsyncIterator[str]:
    """Serve a fresh simulator on its own event loop and thread while the block runs; yield
    its base URL (``http://host:port``).

    ``port=0`` binds a free port chosen by the OS; a failure to bind is raised here. When
    the block ends (normally, by an exception or by cancellation) the requests still open
    are cancelled and the thread is joined before the exception, if any, goes on.
    """
    server = _ServerThread(options, host, port)
    server.start()
    try:
        # Shielded, so that cancelling the caller does not cancel the thread's own future
        # (the thread resolves it either way, and _stop below waits for that).
        url = await asyncio.shield(asyncio.wrap_future(server.ready))
    except BaseException:
        await _stop(server)
        raise
    try:
        yield url
    except BaseException:
        await _stop(server)
        raise
    await _stop(server)
    server.raise_failure()


@contextlib.asynccontextmanager
async def serve_on_this_loop(options: SimOptions, host: str = "127.0.0.1", port: int = 0
                             ) -> AsyncIterator[str]:
    """Serve a fresh simulator on the caller's running event loop while the block runs;
    yield its base URL. Requests still open when the block ends are cancelled during
    clean-up. Idle keep-alive connections are closed after the profile's (or the
    ``idle_timeout_s`` option's) idle timeout.
    """
    app = create_app(options)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True,
                           shutdown_timeout=0.5,
                           keepalive_timeout=idle_timeout_s(options.quirks))
    await runner.setup()
    listening: asyncio.Server | None = None
    try:
        assert runner.server is not None  # made by setup()
        # Not aiohttp's TCPSite: the protocols are wrapped so that each request is
        # stamped when its bytes are read (aiperf.sim.arrivals).
        listening = await asyncio.get_running_loop().create_server(
            app[SIMULATOR].arrivals.protocol_factory(runner.server), host, port,
            reuse_address=True)
        bound_host, bound_port = listening.sockets[0].getsockname()[:2]
        url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        yield f"http://{url_host}:{bound_port}"
    finally:
        if listening is not None:
            listening.close()
        await runner.cleanup()


async def _stop(server: _ServerThread) -> None:
    """Stop and join ``server`` without blocking the caller's loop; if the caller is
    cancelled meanwhile, finish the (bounded) join synchronously: the thread must not
    outlive the ``serve`` block."""
    try:
        await asyncio.to_thread(server.stop_and_join)
    except asyncio.CancelledError:
        server.stop_and_join()
        raise


class _ServerThread(threading.Thread):
    """A daemon thread running :func:`serve_on_this_loop` on a fresh event loop of its own.

    ``ready`` resolves to the URL once the server listens, or to the exception that kept it
    from starting. A daemon, so that a thread that failed to stop cannot keep the process
    alive.
    """

    def __init__(self, options: SimOptions, host: str, port: int) -> None:
        super().__init__(name=THREAD_NAME, daemon=True)
        self.options, self.host, self.port = options, host, port
        self.ready: concurrent.futures.Future[str] = concurrent.futures.Future()
        self._request_stop: Callable[[], object] | None = None
        self._failure: BaseException | None = None

    def run(self) -> None:
        try:
            with asyncio.Runner() as runner:
                runner.run(self._serve())
        except BaseException as e:  # noqa: BLE001 - handed to the caller, not swallowed
            if not self.ready.done():
                self.ready.set_exception(e)
            else:
                self._failure = e
        if not self.ready.done():  # cannot happen, but a caller must never wait for ever
            self.ready.set_exception(RuntimeError("the simulator stopped before it started"))

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        async with serve_on_this_loop(self.options, self.host, self.port) as url:
            # Published before ``ready``, so whoever sees the URL can also stop the server.
            self._request_stop = lambda: loop.call_soon_threadsafe(stop.set)
            self.ready.set_result(url)
            await stop.wait()

    def stop_and_join(self) -> None:
        """Ask the server to stop (blocking): wait for it to have started or failed, stop
        it, join the thread. Safe to call more than once, from any thread."""
        with contextlib.suppress(Exception):  # a start failure is the caller's to raise
            self.ready.result(timeout=_START_TIMEOUT_S)
        if self._request_stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed: it ended
                self._request_stop()
        self.join(timeout=_STOP_TIMEOUT_S)
        if self.is_alive():
            log.warning("the in-process simulator did not stop within %g s; its daemon "
                        "thread is left behind", _STOP_TIMEOUT_S)

    def raise_failure(self) -> None:
        """Raise what went wrong in the thread after it had started (e.g. in clean-up)."""
        if self._failure is not None:
            raise self._failure
