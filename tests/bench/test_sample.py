"""A metric's sample (aiperf.bench.sample): exact while it fits, then within 0.05% in
bounded memory."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiperf.bench.sample import RELATIVE_ACCURACY, Sample
from aiperf.bench.stats import PERCENTILES, summarize

#: Values like our metrics': milliseconds and token counts, zero included, and the odd
#: negative (a scheduling lag when the clock was read early).
VALUES = st.lists(
    st.one_of(st.floats(min_value=1e-6, max_value=1e7), st.just(0.0),
              st.floats(min_value=-1e3, max_value=-1e-6), st.integers(0, 100_000).map(float)),
    min_size=1, max_size=300,
)


def filled(values, exact_limit):
    sample = Sample(exact_limit)
    sample.extend(values)
    return sample


@given(VALUES)
def test_below_the_limit_the_summary_is_the_exact_one(values):
    sample = filled(values, exact_limit=len(values) + 1)

    assert sample.exact
    assert summarize(values) == sample.summary()


@settings(max_examples=200)
@given(VALUES)
def test_past_the_limit_percentiles_are_within_the_relative_accuracy(values):
    sample = filled(values, exact_limit=7)
    exact = summarize(values)

    got = sample.summary()

    assert not sample.exact or len(values) < 7
    for p in PERCENTILES:
        want = exact.percentile(p)
        # Interpolating between two values that are each within the accuracy stays within
        # it (relative to the larger neighbour, so near zero an absolute slack remains).
        slack = RELATIVE_ACCURACY * max(abs(want), abs(exact.min), abs(exact.max)) + 1e-12
        assert abs(got.percentile(p) - want) <= slack, p


@given(VALUES)
def test_past_the_limit_count_extremes_sum_and_std_stay_exact(values):
    sample = filled(values, exact_limit=5)
    exact = summarize(values)

    got = sample.summary()

    assert (exact.count, exact.min, exact.max) == (got.count, got.min, got.max)
    scale = max(abs(v) for v in values) * len(values) + 1e-300
    assert abs(exact.sum - got.sum) <= 1e-12 * scale
    assert abs(exact.avg - got.avg) <= 1e-12 * scale
    assert got.std == pytest.approx(exact.std, rel=1e-9, abs=1e-9 * scale)


@given(VALUES, VALUES)
def test_merging_two_samples_is_adding_every_value_to_one(first, second):
    merged = filled(first, exact_limit=11)
    merged.merge(filled(second, exact_limit=11))

    together = filled([*first, *second], exact_limit=11)

    assert len(together) == len(merged)
    a, b = together.summary(), merged.summary()
    assert (a.count, a.min, a.max) == (b.count, b.min, b.max)
    for p in PERCENTILES:
        assert a.percentile(p) == pytest.approx(b.percentile(p), rel=2 * RELATIVE_ACCURACY,
                                                abs=1e-9)


def test_a_long_skewed_sample_matches_numpy_within_the_accuracy():
    values = np.random.default_rng(7).lognormal(3, 1.2, 400_000)
    sample = Sample(exact_limit=4096)
    for start in range(0, len(values), 997):
        sample.extend(values[start:start + 997].tolist())

    got = sample.summary()

    assert not sample.exact
    for p in PERCENTILES:
        want = float(np.percentile(values, p))
        assert abs(got.percentile(p) - want) <= RELATIVE_ACCURACY * want, p
    assert math.isclose(got.std, float(values.std()), rel_tol=1e-9)


def test_memory_stays_bounded_however_many_values_arrive():
    rng = np.random.default_rng(3)
    batches = [rng.lognormal(2, 1, 1000).tolist() for _ in range(300)]
    tracemalloc.start()
    try:
        sample = Sample(exact_limit=4096)
        for batch in batches[:30]:
            sample.extend(batch)
        after_30k = tracemalloc.get_traced_memory()[0]
        for batch in batches[30:]:
            sample.extend(batch)
        after_300k = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()

    assert 300_000 == len(sample)
    # Ten times the values, and no more than the limit's buffer and the buckets of a
    # wider tail (a few thousand counters) on top: 2.4 MB held as plain floats.
    assert after_300k - after_30k < 600_000


def test_an_exact_limit_below_one_is_refused():
    with pytest.raises(ValueError, match="exact_limit"):
        Sample(0)


def test_an_empty_sample_has_no_summary():
    with pytest.raises(ValueError, match="non-empty"):
        Sample().summary()
