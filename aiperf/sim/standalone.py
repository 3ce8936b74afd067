"""Run the simulator in the foreground until Ctrl-C or SIGTERM (``aiperf sim serve``)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from aiperf.sim.options import SimOptions


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop  # optional: a faster event loop when it is installed
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(options: SimOptions, host: str, port: int, on_start: Callable[[str], None]) -> None:
    """Serve on ``host:port`` (0: any free port), call ``on_start(url)``, block until stopped."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_serve_until_signalled(options, host, port, on_start))


async def _serve_until_signalled(options: SimOptions, host: str, port: int,
                                 on_start: Callable[[str], None]) -> None:
    from aiperf.sim.inprocess import serve_on_this_loop

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with serve_on_this_loop(options, host, port) as url:
        on_start(url)
        await stop.wait()
