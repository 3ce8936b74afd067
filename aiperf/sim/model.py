"""The latency model: pure formulas from options, input length and load to delays.

Realistic mode (what :class:`aiperf.sim.engine.Engine` schedules):

- a sequence waits in a FIFO queue until one of ``max_batch`` slots is free;
- its first token comes ``base_ttft_ms + prefill_ms_per_token * (ISL - cached)`` after
  admission, ``cached`` being its leading tokens found in the prefix cache;
- each next token comes ``base_itl_ms + itl_ms_per_seq * active`` after the previous one,
  where ``active`` is the number of sequences holding a slot at that moment;
- every delay is scaled by ``1 + jitter * N(0, 1)`` (never below zero).

So TTFT grows with prompt length and with queueing, ITL grows with concurrency, and output
throughput saturates at ``max_batch / itl(max_batch)`` tokens per second.

Deterministic mode ignores load: the first token comes ``ttft_ms`` after the request
arrived and each next one ``itl_ms`` later, exactly.
"""

from __future__ import annotations

import random

from aiperf.sim.options import SimOptions


def output_length(options: SimOptions, requested: int | None) -> int:
    """Answer tokens for a request: its ``max_tokens`` when given, else ``options.osl``."""
    return options.osl if requested is None else requested


def prefill_ms(options: SimOptions, isl: int, cached: int = 0) -> float:
    """Time from admission (or arrival, in deterministic mode) to the first token; the
    ``cached`` prompt tokens cost nothing (realistic mode only)."""
    if options.deterministic:
        return options.ttft_ms
    return options.base_ttft_ms + options.prefill_ms_per_token * max(0, isl - cached)


def itl_ms(options: SimOptions, active: int) -> float:
    """Time between two tokens of one sequence while ``active`` sequences decode."""
    if options.deterministic:
        return options.itl_ms
    return options.base_itl_ms + options.itl_ms_per_seq * active


def jittered(options: SimOptions, ms: float, rng: random.Random) -> float:
    """``ms`` with realistic-mode noise applied; unchanged in deterministic mode."""
    if options.deterministic or options.jitter == 0 or ms == 0:
        return ms
    return max(0.0, ms * (1.0 + options.jitter * rng.gauss(0.0, 1.0)))

