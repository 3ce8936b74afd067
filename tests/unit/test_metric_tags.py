"""What the configuration knows of the metrics for thresholds agrees with the bench (the
tags and kinds themselves are checked in ``test_metric_catalogue.py``)."""

from __future__ import annotations

from aiperf.bench.stats import PERCENTILES
from aiperf.config import metric_tags


def test_threshold_percentiles_are_the_reported_ones():
    assert PERCENTILES == metric_tags.PERCENTILES


def test_counters_absent_when_zero_are_scalars():
    assert all(metric_tags.METRIC_KINDS[t] == metric_tags.SCALAR
               for t in metric_tags.ZERO_WHEN_ABSENT)
