"""When requests are due: closed-loop concurrency, or open-loop arrivals at a rate.

In concurrency mode a request is due the moment a slot frees up. In request-rate mode
arrival times are drawn up front (Poisson: exponential gaps; constant: equal gaps) from
a seeded generator, so two runs with the same seed send on the same schedule. A request
that cannot start at its due time (the concurrency cap is full, or the client is busy)
keeps its due time: the difference is the scheduling lag, reported per request.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Literal

import attrs

Mode = Literal["concurrency", "request_rate"]


@attrs.frozen
class LoadPlan:
    """The load shape of one run, read from the resolved config."""

    mode: Mode
    concurrency: int | None
    request_rate: float | None
    arrival: str
    request_count: int | None
    duration_s: float | None
    warmup_count: int
    seed: int

    @property
    def in_flight_cap(self) -> int | None:
        """The most requests in flight at once: the concurrency, or the rate mode's cap
        (None: uncapped)."""
        return self.concurrency


def plan_load(concurrency: int | None, request_rate: float | None, arrival: str,
              request_count: int | None, duration_s: float | None, warmup_count: int,
              seed: int) -> LoadPlan:
    """A LoadPlan: request-rate mode when a rate is set, else concurrency mode."""
    mode: Mode = "request_rate" if request_rate is not None else "concurrency"
    return LoadPlan(mode, concurrency, request_rate, arrival, request_count, duration_s,
                    warmup_count, seed)


def arrival_offsets(rate: float, arrival: str, seed: int) -> Iterator[float]:
    """Seconds from the start of the run at which each request is due, forever."""
    rng = random.Random(seed)
    t = 0.0
    while True:
        yield t
        t += rng.expovariate(rate) if arrival == "poisson" else 1.0 / rate
