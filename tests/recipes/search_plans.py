"""Search plans for tests that judge probes without resolving a configuration."""

from __future__ import annotations

from collections.abc import Mapping

from aiperf.config.recipes import builtin_registry
from aiperf.recipes.sla import SearchPlan


def plan_for(recipe: str, slas: Mapping[str, float], low: int, high: int,
             max_error_rate: float = 0.01, style: str = "probe-bisect",
             steps: int = 8) -> SearchPlan:
    """The plan of the built-in ``recipe`` with these SLAs and bounds."""
    registry = builtin_registry()
    answer = registry.recipes[recipe].answer
    assert answer is not None
    return SearchPlan(recipe, answer, dict(slas), {}, low, high, steps,
                      registry.search_styles[style], max_error_rate)
