"""Which fault, if any, a request gets: one seeded draw per request."""

from __future__ import annotations

import random
from typing import Literal

import attrs

from aiperf.sim.options import SimOptions

FaultKind = Literal["error", "disconnect", "malformed", "rate_limited", "unavailable"]

#: The HTTP status of the faults that answer at once instead of generating.
STATUS = {"error": 500, "rate_limited": 429, "unavailable": 503}


@attrs.frozen
class Faults:
    """The faults injected into one request.

    ``kind``: ``error`` (HTTP 500 at once), ``disconnect`` (connection closed midway),
    ``malformed`` (one unparseable chunk or body), ``rate_limited`` (429 with Retry-After),
    ``unavailable`` (503 with Retry-After), or None. ``stall_ms`` is slept before the first
    byte, on top of whatever ``kind`` does.
    """

    kind: FaultKind | None = None
    stall_ms: float = 0.0


NONE = Faults()


def draw(options: SimOptions, rng: random.Random) -> Faults:
    """Decide the faults of the next request.

    One uniform draw is split into [error | disconnect | malformed | rate_limited |
    unavailable | none] so that each rate is exactly the share of requests that gets that
    fault (they never overlap).
    """
    kind: FaultKind | None = None
    shares: tuple[tuple[FaultKind, float], ...] = (
        ("error", options.error_rate), ("disconnect", options.disconnect_rate),
        ("malformed", options.malformed_rate), ("rate_limited", options.rate_limit_rate),
        ("unavailable", options.unavailable_rate))
    if any(rate for _, rate in shares):
        u = rng.random()
        edge = 0.0
        for name, rate in shares:
            edge += rate
            if u < edge:
                kind = name
                break
    stall = options.stall_ms if options.stall_ms and rng.random() < options.stall_rate else 0.0
    return NONE if kind is None and not stall else Faults(kind, stall)
