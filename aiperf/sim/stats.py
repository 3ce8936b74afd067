"""What the simulator actually did, for ``GET /sim/stats``: per-request records and totals.

Records are kept for the latest :data:`MAX_RECORDS` requests only, so a long soak cannot
grow the server's memory without bound; totals always count every request.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import attrs

from aiperf.sim.faults import FaultKind

MAX_RECORDS = 100_000


@attrs.frozen
class RequestRecord:
    """One finished request, with the timings the server scheduled for it.

    Arrival is when the simulator's process first read the request's bytes
    (:mod:`aiperf.sim.arrivals`), ``arrival_unix_ns`` on the wall clock.
    ``ttft_ms`` runs from arrival to the first token's deadline (stall and queueing
    included); ``ttft_sent_ms`` from arrival to when the first token's bytes were actually
    written (later than the deadline by the timer's lateness; None when nothing streamed);
    ``itl_ms`` is the mean gap between token deadlines (None below two tokens);
    ``max_lag_ms`` is how late the server woke up for a deadline at worst, which shows when
    the simulator itself was overloaded. ``cached_tokens`` are the leading prompt tokens
    found in the prefix cache; ``session_id`` the value of the ``session_header`` the
    request carried (None without one). ``completed`` is True when the whole response was
    delivered (a malformed one included), False after an injected error, 429, 503 or
    disconnect, a bad request, or a client that went away.
    """

    request_id: str
    endpoint: str
    streaming: bool
    arrival_unix_ns: int
    isl: int
    output_tokens: int
    reasoning_tokens: int
    ttft_ms: float | None
    ttft_sent_ms: float | None
    itl_ms: float | None
    queue_ms: float
    max_lag_ms: float
    fault: FaultKind | None
    stall_ms: float
    status: int
    completed: bool
    cached_tokens: int = 0
    session_id: str | None = None


@attrs.define
class _Totals:
    requests: int = 0
    streaming: int = 0
    completed: int = 0
    errors_injected: int = 0
    disconnects: int = 0
    malformed: int = 0
    rate_limited: int = 0
    unavailable: int = 0
    stalls: int = 0
    client_gone: int = 0
    bad_requests: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    max_lag_ms: float = 0.0


class Stats:
    """Counts requests as they come and go and keeps the latest records."""

    def __init__(self, max_records: int = MAX_RECORDS) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=max_records)
        self._totals = _Totals()
        self.in_flight = 0
        self.max_in_flight = 0

    def started(self) -> None:
        """A request arrived."""
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def finished(self, record: RequestRecord) -> None:
        """A request left (however it ended)."""
        self.in_flight -= 1
        self._records.append(record)
        t = self._totals
        t.requests += 1
        t.streaming += record.streaming
        t.completed += record.completed
        t.errors_injected += record.fault == "error"
        t.disconnects += record.fault == "disconnect"
        t.malformed += record.fault == "malformed"
        t.rate_limited += record.fault == "rate_limited"
        t.unavailable += record.fault == "unavailable"
        t.stalls += record.stall_ms > 0
        t.client_gone += not record.completed and record.fault is None and record.status < 400
        t.bad_requests += record.status == 400
        t.prompt_tokens += record.isl
        t.cached_tokens += record.cached_tokens
        t.output_tokens += record.output_tokens
        t.max_lag_ms = max(t.max_lag_ms, record.max_lag_ms)

    def reset(self) -> None:
        """Forget every record and total; maxima restart from what is in flight now."""
        self._records.clear()
        self._totals = _Totals()
        self.max_in_flight = self.in_flight

    def snapshot(self, *, options: dict[str, Any], max_active: int, max_queued: int,
                 include_records: bool = True) -> dict[str, Any]:
        """The ``/sim/stats`` JSON body."""
        body: dict[str, Any] = {
            "options": options,
            "totals": attrs.asdict(self._totals),
            "concurrency": {
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "max_batch_active": max_active,
                "max_queued": max_queued,
            },
            "records_kept": len(self._records),
        }
        if include_records:
            body["records"] = [attrs.asdict(r) for r in self._records]
        return body
