"""Search plans and probe summaries for tests that judge probes without running them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


def run_summary(ttft_p95: float, measured: int = 100, failed: int = 0) -> dict[str, Any]:
    """A probe's summary: its TTFT p95, throughput and request counts."""
    out: dict[str, Any] = {
        "time_to_first_token": {"unit": "ms", "p95": ttft_p95},
        "output_token_throughput": {"unit": "tokens/sec", "avg": 10.0 * measured},
        "completed_request_count": {"unit": "requests", "avg": measured},
        "error_summary": [],
    }
    if failed:
        out["error_request_count"] = {"unit": "requests", "avg": failed}
    return out
