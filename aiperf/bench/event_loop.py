"""The client's event loop, as the resolved ``benchmark.event_loop`` asks.

uvloop (the ``[fast]`` extra) costs the client less CPU per request than asyncio's own
loop; ``auto`` takes it when it is installed. Which loop a run really ran on is read off
the running loop (:func:`describe_running_loop`) and kept in ``run.json``, so two runs on
different machines can be told apart by it. A distributed run's workers send from Ray's
own loop, whatever was asked, and its run.json says which that was.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

#: The loops a run can get (what ``describe_running_loop`` calls them).
ASYNCIO, UVLOOP = "asyncio", "uvloop"


class EventLoopUnavailable(Exception):
    """uvloop was asked for and is not installed."""


def choose(asked: str) -> str:
    """The loop a run that asks for ``asked`` (auto, asyncio or uvloop) gets; raises
    :class:`EventLoopUnavailable` when uvloop is asked for and cannot be imported."""
    if asked == ASYNCIO:
        return ASYNCIO
    try:
        import uvloop  # noqa: F401 - the [fast] extra; only its presence is checked here
    except ImportError:
        if asked == UVLOOP:
            raise EventLoopUnavailable(
                "uvloop is not installed: pip install 'aiperf[fast]' (Linux and macOS), "
                "or use --event-loop asyncio or auto") from None
        return ASYNCIO
    return UVLOOP


def new_event_loop(name: str) -> asyncio.AbstractEventLoop:
    """A new loop of the kind :func:`choose` named."""
    if name == UVLOOP:
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def describe_running_loop(asked: str | None) -> dict[str, Any]:
    """What ``run.json`` says of the loop this coroutine runs on: what was asked, the
    loop used (by its class's package) and uvloop's version when it is that."""
    package = type(asyncio.get_running_loop()).__module__.partition(".")[0]
    used = UVLOOP if package == UVLOOP else ASYNCIO if package == ASYNCIO else package
    version = getattr(sys.modules.get(package), "__version__", None) if used == UVLOOP else None
    return {"asked": asked, "used": used, "version": version}
