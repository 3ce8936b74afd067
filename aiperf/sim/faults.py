"""Which fault, if any, a request gets: one seeded draw per request."""

from __future__ import annotations

import random
from typing import Literal

import attrs

from aiperf.sim.options import SimOptions

FaultKind = Literal["error", "disconnect", "malformed"]


@attrs.frozen
class Faults:
    """The faults injected into one request.

    ``kind``: ``error`` (HTTP 500 at once), ``disconnect`` (connection closed midway),
    ``malformed`` (one unparseable chunk or body), or None. ``stall_ms`` is slept before the
    first byte, on top of whatever ``kind`` does.
    """

    kind: FaultKind | None = None
    stall_ms: float = 0.0


NONE = Faults()


def draw(options: SimOptions, rng: random.Random) -> Faults:
    """Decide the faults of the next request.

    One uniform draw is split into [error | disconnect | malformed | none] so that each
    rate is exactly the share of requests that gets that fault (they never overlap).
    """
    kind: FaultKind | None = None
    if options.error_rate or options.disconnect_rate or options.malformed_rate:
        u = rng.random()
        if u < options.error_rate:
            kind = "error"
        elif u < options.error_rate + options.disconnect_rate:
            kind = "disconnect"
        elif u < options.error_rate + options.disconnect_rate + options.malformed_rate:
            kind = "malformed"
    stall = options.stall_ms if options.stall_ms and rng.random() < options.stall_rate else 0.0
    return NONE if kind is None and not stall else Faults(kind, stall)
