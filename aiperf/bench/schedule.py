"""When requests are due: closed-loop concurrency, or open-loop arrivals at a rate.

In concurrency mode a request is due the moment a slot frees up; with a concurrency ramp
the slots open one by one, evenly over the ramp. In request-rate mode arrival times are
drawn up front from a seeded generator (Poisson: exponential gaps; constant: equal gaps;
gamma: gamma gaps of shape ``burstiness``, as vLLM's ``--burstiness``), so two runs with
the same seed send on the same schedule. A request that cannot start at its due time (the
concurrency cap is full, or the client is busy) keeps its due time: the difference is the
scheduling lag, reported per request.

A rate ramp is a time change of the same process: arrivals are drawn at rate 1 in
"expected-arrival" units and placed where the ramped rate (rising linearly from zero to
the target over the ramp, then steady) has accumulated that many expected arrivals. So a
ramp keeps the arrival process's shape (Poisson stays Poisson, gamma keeps its
burstiness) and only its rate follows the ramp.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator
from typing import Any, Literal

import attrs

Mode = Literal["concurrency", "request_rate", "fixed_schedule", "sessions"]


@attrs.frozen
class SessionPlan:
    """Multi-turn sessions: how many, their turns (mean, stddev) and the think time
    between turns (seconds, mean and stddev), and the header carrying the session id."""

    count: int
    turns_mean: int = 1
    turns_stddev: float = 0.0
    delay_mean_s: float = 0.0
    delay_stddev_s: float = 0.0
    header: str | None = None


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
    burstiness: float = 1.0
    rate_ramp_s: float | None = None
    concurrency_ramp_s: float | None = None
    #: The share of requests (0..1) the client cancels ``cancel_delay_s`` after sending.
    cancel_share: float = 0.0
    cancel_delay_s: float = 0.0
    #: A trace's due times (seconds after the start), when it is replayed on them.
    schedule: tuple[float, ...] | None = None
    sessions: SessionPlan | None = None

    @property
    def expected_count(self) -> int | None:
        """The requests the measured phase sends, when known before it starts."""
        if self.schedule is not None:
            return (len(self.schedule) if self.request_count is None
                    else min(self.request_count, len(self.schedule)))
        return self.request_count

    def due_offsets(self) -> Iterator[float]:
        """When each request of the measured phase is due, in seconds from its start, in
        order: a trace's timestamps, or the rate's seeded arrivals (without end). Only for
        the open-loop modes (a trace or a request rate)."""
        if self.schedule is not None:
            return iter(self.schedule)
        assert self.request_rate is not None, "a closed loop has no due times"
        return arrival_offsets(self.request_rate, self.arrival, self.seed, self.burstiness,
                               self.rate_ramp_s)

    def requested_rate(self, seconds: float) -> float | None:
        """The rate of the arrivals this plan asked for in the first ``seconds`` of the
        measured phase, for the achieved-rate check; None in closed loop.

        Taken from the due times themselves (a trace's, or the rate's seeded draws, ramp
        included) and counted as the achieved rate is, n sends over the n - 1 intervals
        between the first and the last: a Poisson draw of 40 requests at 4/s asks for
        3.3/s, and a client that sent each on time must not read as 82% of its target.
        """
        if seconds <= 0 or (self.schedule is None and self.request_rate is None):
            return None
        # A duration's deadline stops the sends as it stops the runner's loop.
        due = list(itertools.takewhile(
            lambda t: t <= seconds and (self.duration_s is None or t < self.duration_s),
            itertools.islice(self.due_offsets(), self.expected_count)))
        if len(due) < 2 or due[-1] <= due[0]:
            return None
        return (len(due) - 1) / (due[-1] - due[0])

    @property
    def in_flight_cap(self) -> int | None:
        """The most requests in flight at once: the concurrency, or the rate mode's cap
        (None: uncapped)."""
        return self.concurrency


def plan_load(concurrency: int | None, request_rate: float | None, arrival: str,
              request_count: int | None, duration_s: float | None, warmup_count: int,
              seed: int, **shape: Any) -> LoadPlan:
    """A LoadPlan: fixed-schedule mode for a trace's due times (``schedule``), else
    request-rate mode when a rate is set, else concurrency mode; ``shape`` holds the
    optional :class:`LoadPlan` fields (burstiness, ramps, cancellation, schedule)."""
    mode: Mode = ("fixed_schedule" if shape.get("schedule") is not None
                  else "sessions" if shape.get("sessions") is not None
                  else "request_rate" if request_rate is not None else "concurrency")
    return LoadPlan(mode, concurrency, request_rate, arrival, request_count, duration_s,
                    warmup_count, seed, **shape)


def arrival_offsets(rate: float, arrival: str, seed: int, burstiness: float = 1.0,
                    ramp_s: float | None = None) -> Iterator[float]:
    """Seconds from the start of the run at which each request is due, forever."""
    rng = random.Random(seed)
    expected = 0.0  # arrivals the steady rate would have made by now
    while True:
        yield _ramped_time(expected, rate, ramp_s)
        if arrival == "poisson":
            expected += rng.expovariate(1.0)
        elif arrival == "gamma":
            # Shape k and scale 1/k: mean gap 1 (the rate is kept), coefficient of
            # variation 1/sqrt(k), as vLLM draws --burstiness arrivals.
            expected += rng.gammavariate(burstiness, 1.0 / burstiness)
        else:
            expected += 1.0


def _ramped_time(expected: float, rate: float, ramp_s: float | None) -> float:
    """When the ramped rate has accumulated ``expected`` / ``rate`` seconds' worth of
    steady arrivals: the rate rises linearly from 0 to ``rate`` over ``ramp_s`` (its
    integral is rate * t^2 / (2 ramp)), then stays."""
    if not ramp_s:
        return expected / rate
    during_ramp = rate * ramp_s / 2  # arrivals the ramp itself holds
    if expected < during_ramp:
        return math.sqrt(2 * ramp_s * expected / rate)
    return ramp_s + (expected - during_ramp) / rate


def slot_opening_s(slot: int, concurrency: int, ramp_s: float | None) -> float:
    """When closed-loop slot ``slot`` (0-based) opens: at once without a ramp; else the
    slots open evenly, the first at 0 and the last at ``ramp_s``."""
    if not ramp_s or concurrency <= 1:
        return 0.0
    return ramp_s * slot / (concurrency - 1)
