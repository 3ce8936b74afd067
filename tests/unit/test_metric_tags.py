"""The configuration's list of metric tags (for thresholds) is the bench registry's."""

from __future__ import annotations

from aiperf.bench.metrics import DISTRIBUTION_METRICS, RECORD_METRICS, SCALAR_METRICS
from aiperf.bench.stats import PERCENTILES
from aiperf.config import metric_tags


def test_metric_tags_equal_the_bench_registry():
    expected = {
        **{m.tag: metric_tags.DISTRIBUTION for m in (*RECORD_METRICS, *DISTRIBUTION_METRICS)},
        **{m.tag: metric_tags.SCALAR for m in SCALAR_METRICS},
    }
    assert expected == dict(metric_tags.METRIC_KINDS)


def test_threshold_percentiles_are_the_reported_ones():
    assert PERCENTILES == metric_tags.PERCENTILES


def test_counters_absent_when_zero_are_scalars():
    assert all(metric_tags.METRIC_KINDS[t] == metric_tags.SCALAR
               for t in metric_tags.ZERO_WHEN_ABSENT)
