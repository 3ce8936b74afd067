"""The knee plot judges the knee by the run's resolved degradation threshold."""

from __future__ import annotations

import pandas as pd

from aiperf.config.recipes import builtin_registry
from aiperf.plot.figures_sweep import knee_threshold


def test_the_runs_recorded_threshold_is_used():
    """A ramp run with --degradation-threshold 0.5 is drawn with +50%, not a constant."""
    table = pd.DataFrame({"concurrency": [1, 2, 4], "degradation_threshold": [0.5] * 3})

    assert 0.5 == knee_threshold(table)


def test_runs_without_one_get_the_rules_default():
    """AIPerf 0.13's runs record none: the value rules/recipes.yaml resolves by default."""
    ramp = builtin_registry().recipes["concurrency-ramp"]
    expected = ramp.settings["benchmark.search.degradation_threshold"]

    assert expected == knee_threshold(pd.DataFrame({"concurrency": [1, 2, 4]}))
    assert expected == knee_threshold(pd.DataFrame({"degradation_threshold": [None, None]}))
