"""Tell a server that went away from one that answers badly.

The rule: **the server is gone** when, for :data:`GONE_AFTER_S` seconds, every request
that ended failed without any response from it: it could not connect (``connection``)
or the connection dropped before a status line came back (``disconnected`` with no HTTP
status). The window runs from the end of the first such failure to the end of the
latest one, and any other outcome in between (a success, an HTTP error such as 500 or
429, a timeout, a drop after the status line) proves the server is there and resets it.
Cancelled requests say nothing about the server and are ignored.

A refused connection fails in microseconds, so a closed loop would spend its whole
request budget in the first milliseconds of an outage, long before an outage could be
told from a blip. While failures of this kind are all the run sees, :meth:`OutageWatch.
turn` therefore lets one request through per :data:`PROBE_INTERVAL_S`: a blip costs the
run at most that pause, and a real outage is recognised after about
``GONE_AFTER_S / PROBE_INTERVAL_S`` probes instead of burning the remaining requests.
"""

from __future__ import annotations

import asyncio
import time

from aiperf.bench.records import RequestRecord

__all__ = ["GONE_AFTER_S", "PROBE_INTERVAL_S", "OutageWatch", "unanswered"]

#: How long every request must fail to reach the server before the run is aborted.
GONE_AFTER_S = 2.0
#: While no request reaches the server, the gap between two sends (probes).
PROBE_INTERVAL_S = 0.1

_perf_ns = time.perf_counter_ns
#: Error types that can mean nothing is listening any more.
_CONNECTION_LEVEL = frozenset({"connection", "disconnected"})


def unanswered(record: RequestRecord) -> bool:
    """Whether ``record`` failed without any answer from the server (no status line)."""
    error = record.error
    return (error is not None and not record.cancelled and record.status is None
            and error.type in _CONNECTION_LEVEL)


class OutageWatch:
    """Watches finished requests for a server that went away (see the module docstring).

    ``gone`` is set once the rule holds; ``reason`` then names the last error.
    """

    def __init__(self, gone_after_s: float = GONE_AFTER_S,
                 probe_interval_s: float = PROBE_INTERVAL_S) -> None:
        self.gone = asyncio.Event()
        self.reason: str | None = None
        self._gone_after_ns = int(gone_after_s * 1e9)
        self._probe_interval_ns = int(probe_interval_s * 1e9)
        #: End of the first unanswered request of the current streak (None: no streak).
        self._since_ns: int | None = None
        self._next_probe_ns = 0

    @property
    def unreachable(self) -> bool:
        """Whether the latest requests all failed without an answer (a streak is on)."""
        return self._since_ns is not None

    def observe(self, record: RequestRecord) -> None:
        """Take one finished request into account."""
        if record.cancelled or self.gone.is_set():
            return
        if not unanswered(record):
            self._since_ns = None
            return
        if self._since_ns is None:
            self._since_ns = record.end_perf_ns
            return
        if record.end_perf_ns - self._since_ns >= self._gone_after_ns:
            assert record.error is not None
            seconds = self._gone_after_ns / 1e9
            self.reason = (f"the server stopped answering: every request for {seconds:g} s "
                           f"failed without a response (last error: {record.error.message})")
            self.gone.set()

    async def turn(self) -> None:
        """Wait until the next request may be sent: at once while the server answers, one
        probe per interval while it does not."""
        while self._since_ns is not None and not self.gone.is_set():
            now = _perf_ns()
            if now >= self._next_probe_ns:
                self._next_probe_ns = now + self._probe_interval_ns
                return
            await asyncio.sleep((self._next_probe_ns - now) / 1e9)
