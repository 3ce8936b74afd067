"""How busy the simulated batch has been: occupancy integrated over time.

The engine tells :class:`Load` every time the number of running sequences changes; the
integrals advance only then (and when read), so keeping them costs nothing per token.
Readers take :class:`Reading` snapshots and subtract two of them for an interval:

- ``busy_s``: time with at least one sequence running (a GPU's "utilisation" is the busy
  share of an interval, which is what NVML reports too);
- ``slot_s``: running sequences integrated over time;
- ``steps``: decode steps as the latency model paces them, the integral of
  ``1 / itl(running)`` while anything runs (one step hands every running sequence a
  token); ``slot_steps`` weighs each step by the sequences in it.

Time is ``time.monotonic()``, the clock asyncio's default loop uses.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import attrs


@attrs.frozen
class Reading:
    """The integrals at one moment (see the module docstring)."""

    at: float
    busy_s: float = 0.0
    slot_s: float = 0.0
    steps: float = 0.0
    slot_steps: float = 0.0

    def since(self, earlier: Reading) -> Reading:
        """What happened between ``earlier`` and this reading."""
        return Reading(self.at - earlier.at, self.busy_s - earlier.busy_s,
                       self.slot_s - earlier.slot_s, self.steps - earlier.steps,
                       self.slot_steps - earlier.slot_steps)

    @property
    def busy_fraction(self) -> float:
        """Busy share of an interval (a :meth:`since` result), 0..1."""
        return min(1.0, self.busy_s / self.at) if self.at > 0 else 0.0


class Load:
    """Running sequences over time; ``itl_ms(running)`` paces the decode steps."""

    def __init__(self, itl_ms: Callable[[int], float]) -> None:
        self._itl_ms = itl_ms
        self._active = 0
        self._total = Reading(time.monotonic())

    def changed(self, active: int) -> None:
        """The batch now runs ``active`` sequences."""
        self._total = self.read()
        self._active = active

    def read(self) -> Reading:
        """The integrals up to now."""
        now = time.monotonic()
        t, n = self._total, self._active
        dt = max(0.0, now - t.at)
        if n == 0:
            return attrs.evolve(t, at=now)
        itl_s = self._itl_ms(n) / 1000.0
        steps = dt / itl_s if itl_s > 0 else 0.0  # an instant server takes no steps
        return Reading(now, t.busy_s + dt, t.slot_s + n * dt, t.steps + steps,
                       t.slot_steps + n * steps)
