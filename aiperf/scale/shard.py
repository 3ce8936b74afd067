"""One run's load plan split into the shards of its workers, whose union is the plan.

- Concurrency is split exactly (the shares differ by at most one and sum to the
  requested concurrency); a request count is split in proportion to the shares, so the
  workers together send exactly that many; a duration holds for every worker alike.
- A request rate is not split into independent processes (the union of gamma processes
  is no gamma process): the global arrival times are drawn once from the run's seed and
  dealt out in turn, so the union of the shards is exactly the requested arrival process.
  Each shard replays its times as a fixed schedule from the common start.
- A trace's due times are dealt out the same way, and so are prompts (see
  :func:`aiperf.bench.profile.drive_load`): due time j and prompt j go to worker j mod k.
- Sessions stay whole on one worker: the session count is split like a request count,
  the concurrency (sessions in flight) like a concurrency.
- The warm-up is split like a request count.

A plan that gives some worker nothing to do (concurrency 2 over 4 workers) has fewer
shards than workers: :func:`shard_plan` returns only the shards with work.
"""

from __future__ import annotations

import itertools

import attrs

from aiperf.bench.schedule import LoadPlan

__all__ = ["ShardError", "shard_plan", "split_evenly", "split_like"]

#: Seeds of the workers' own draws (session turn counts, cancellations) are spread apart.
_SEED_STRIDE = 1_000_003


class ShardError(ValueError):
    """The plan cannot be split (an open-ended rate run); the message says why."""


def split_evenly(total: int, parts: int) -> list[int]:
    """``total`` in ``parts`` shares that differ by at most one and sum to ``total``."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def split_like(total: int, weights: list[int]) -> list[int]:
    """``total`` in shares proportional to ``weights`` (largest remainders), summing to
    ``total`` exactly."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    shares = [int(x) for x in exact]
    left = total - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda i: (shares[i] - exact[i], i))
    for i in by_remainder[:left]:
        shares[i] += 1
    return shares


def shard_plan(plan: LoadPlan, workers: int) -> list[LoadPlan]:
    """The shards of ``plan`` for ``workers`` workers (only those with work to do)."""
    if workers < 1:
        raise ShardError(f"workers must be at least 1, not {workers}")
    if plan.mode in ("request_rate", "fixed_schedule"):
        return _dealt(plan, workers)
    if plan.mode == "sessions":
        assert plan.sessions is not None
        active = min(workers, plan.concurrency or 1, plan.sessions.count)
        concurrency = split_evenly(plan.concurrency or 1, active)
        sessions = split_like(plan.sessions.count, concurrency)
        counts = _counts(plan.request_count, concurrency)
        return [_shard(plan, i, active, concurrency=c, request_count=n,
                       sessions=attrs.evolve(plan.sessions, count=s))
                for i, (c, s, n) in enumerate(zip(concurrency, sessions, counts, strict=True))]
    active = min(workers, plan.concurrency or 1)
    if plan.request_count is not None:
        active = min(active, plan.request_count)
    concurrency = split_evenly(plan.concurrency or 1, active)
    counts = _counts(plan.request_count, concurrency)
    return [_shard(plan, i, active, concurrency=c, request_count=n)
            for i, (c, n) in enumerate(zip(concurrency, counts, strict=True))]


def _dealt(plan: LoadPlan, workers: int) -> list[LoadPlan]:
    """Rate and trace plans: the global due times dealt out in turn."""
    if plan.schedule is not None:
        times: list[float] = list(plan.schedule)
        if plan.request_count is not None:
            times = times[:plan.request_count]
    else:
        offsets = plan.due_offsets()
        if plan.request_count is not None:
            times = list(itertools.islice(offsets, plan.request_count))
        elif plan.duration_s is not None:
            end = plan.duration_s
            times = list(itertools.takewhile(lambda t: t < end, offsets))
        else:
            raise ShardError("a request rate with neither a request count nor a duration "
                             "has no end to split among workers")
    active = max(1, min(workers, len(times)))
    if plan.concurrency is not None:
        active = min(active, plan.concurrency)
    caps = split_evenly(plan.concurrency, active) if plan.concurrency else [None] * active
    return [_shard(plan, i, active, mode="fixed_schedule", schedule=tuple(times[i::active]),
                   request_count=None, concurrency=caps[i])
            for i in range(active)]


def _counts(total: int | None, weights: list[int]) -> list[int | None]:
    return [None] * len(weights) if total is None else list(split_like(total, weights))


def _shard(plan: LoadPlan, index: int, shards: int, **changes: object) -> LoadPlan:
    """Worker ``index``'s plan of ``shards``: ``changes``, its warm-up share and a seed
    of its own."""
    return attrs.evolve(plan, warmup_count=split_evenly(plan.warmup_count, shards)[index],
                        seed=plan.seed + index * _SEED_STRIDE,
                        **changes)  # type: ignore[arg-type]
