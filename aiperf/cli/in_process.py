"""The built-in simulator behind ``--url sim://...``, handed to the runner from above.

The runner (:mod:`aiperf.bench`) must not know the simulator it is measured against, so it
never imports :mod:`aiperf.sim`: the profile command hands it :data:`SIM_SERVERS`, which
claims ``sim://`` URLs, checks their options while the run is prepared, and serves a fresh
simulator (:func:`aiperf.sim.inprocess.serve`, on its own thread and event loop) around
each run, cell, trial or probe, built from that run's own URL, so a sweep whose cells vary
the simulator's options gets one per cell. The runner only ever sends to the plain
``http://127.0.0.1:PORT`` base URL it yields; the configured ``sim://`` URL stays the one
the console, the artifacts and ``explain`` show.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

__all__ = ["SIM_SERVERS", "SimServers"]

#: The scheme of the URLs the simulator serves in-process.
SCHEME = "sim://"
#: Where the simulator serves its simulated GPUs' DCGM metrics.
DCGM_PATH = "/dcgm/metrics"


class SimServers:
    """:class:`aiperf.bench.profile.InProcessServers` for ``sim://`` URLs.

    The simulator's modules are imported only when a ``sim://`` URL is used (the server
    brings aiohttp's web stack with it).
    """

    def claims(self, url: str) -> bool:
        """Whether ``url`` is a ``sim://`` URL."""
        return url.startswith(SCHEME)

    def check(self, url: str) -> None:
        """A ValueError (:class:`aiperf.sim.options.SimOptionsError`) listing every bad
        simulator option in ``url``."""
        from aiperf.sim.options import parse_sim_url

        parse_sim_url(url)

    @contextlib.asynccontextmanager
    async def open(self, url: str) -> AsyncIterator[str]:
        """Serve a fresh simulator built from ``url`` while the block runs; yield its base
        URL."""
        from aiperf.sim.inprocess import parse_sim_url, serve

        async with serve(parse_sim_url(url)) as base_url:
            yield base_url

    def dcgm_url(self, url: str, base_url: str) -> str | None:
        """The simulated GPUs' DCGM endpoint (``sim://?gpus=N``) at ``base_url``."""
        from aiperf.sim.options import parse_sim_url

        if not parse_sim_url(url).gpus:
            return None
        return base_url.rstrip("/") + DCGM_PATH


#: The one the profile command hands the runner.
SIM_SERVERS = SimServers()
