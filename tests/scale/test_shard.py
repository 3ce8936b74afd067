"""A plan split among workers: the shards together are the plan (concurrency, counts,
sessions and warm-up exactly; a rate's arrival times exactly, dealt out in turn)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiperf.bench.schedule import SessionPlan, arrival_offsets, plan_load
from aiperf.scale.shard import ShardError, shard_plan, split_evenly, split_like


@given(st.integers(0, 10_000), st.integers(1, 64))
def test_even_shares_sum_to_the_total_and_differ_by_at_most_one(total, parts):
    shares = split_evenly(total, parts)

    assert sum(shares) == total and len(shares) == parts
    assert max(shares) - min(shares) <= 1


@given(st.integers(0, 10_000), st.lists(st.integers(1, 50), min_size=1, max_size=16))
def test_weighted_shares_sum_to_the_total(total, weights):
    shares = split_like(total, weights)

    assert sum(shares) == total
    assert all(abs(s - total * w / sum(weights)) < 1 for s, w in zip(shares, weights, strict=True))


@given(st.integers(1, 256), st.integers(1, 10_000), st.integers(1, 16), st.integers(0, 50))
def test_concurrency_count_and_warm_up_are_split_exactly(concurrency, count, workers, warmup):
    plan = plan_load(concurrency, None, "poisson", count, None, warmup, 7)
    shards = shard_plan(plan, workers)

    assert len(shards) == min(workers, concurrency, count)
    assert sum(s.concurrency for s in shards) == concurrency
    assert sum(s.request_count for s in shards) == count
    assert sum(s.warmup_count for s in shards) == warmup
    assert len({s.seed for s in shards}) == len(shards)


@given(st.sampled_from(["poisson", "gamma", "constant"]), st.integers(1, 2000),
       st.integers(1, 8))
def test_a_rates_arrivals_are_dealt_out_so_their_union_is_the_plans(arrival, count, workers):
    plan = plan_load(None, 50.0, arrival, count, None, 0, 11, burstiness=0.5)
    shards = shard_plan(plan, workers)
    expected = list(itertools.islice(arrival_offsets(50.0, arrival, 11, 0.5), count))

    merged = sorted(t for s in shards for t in s.schedule)
    assert merged == expected
    assert all(s.mode == "fixed_schedule" for s in shards)


def test_a_rate_with_a_duration_deals_out_the_arrivals_before_its_end():
    plan = plan_load(None, 100.0, "constant", None, 2.0, 0, 1)
    shards = shard_plan(plan, 3)

    assert sorted(t for s in shards for t in s.schedule) == [i / 100 for i in range(200)]
    assert all(s.duration_s == 2.0 for s in shards)


def test_sessions_stay_whole_and_are_split_with_the_concurrency():
    plan = plan_load(5, None, "poisson", None, None, 0, 3, sessions=SessionPlan(count=17))
    shards = shard_plan(plan, 2)

    assert [s.concurrency for s in shards] == [3, 2]
    assert sum(s.sessions.count for s in shards) == 17


def test_a_rate_without_an_end_cannot_be_split():
    with pytest.raises(ShardError, match="no end"):
        shard_plan(plan_load(None, 10.0, "poisson", None, None, 0, 1), 2)
