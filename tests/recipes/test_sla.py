"""The SLA searches (aiperf.recipes.sla) and degraded probes: a probe whose error rate is
above max_error_rate fails the SLA whatever its latencies, and the answer names it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiperf.recipes.sla import conclude, grid_search, history_json, judged_probe, search
from tests.recipes.search_plans import plan_for, run_summary

SLA = {"ttft_sla_ms": 50.0}
RECIPE = "max-concurrency-under-sla"


def failing_from(concurrency: int) -> Callable[[int], dict[str, Any]]:
    """A server that stays fast but fails half its requests from ``concurrency`` on."""
    return lambda c: run_summary(10.0, failed=50 if c >= concurrency else 0)


def test_a_degraded_probe_fails_the_sla_whatever_its_latency():
    probe = judged_probe(16, run_summary(10.0, failed=47), SLA, 0.01)

    assert probe.passed is False
    assert probe.degraded == "error rate 47% > 1%"


def test_a_probe_within_the_error_limit_is_judged_on_its_sla():
    probe = judged_probe(16, run_summary(10.0, failed=1), SLA, 0.01)

    assert (probe.passed, probe.degraded) == (True, None)


def test_the_search_bisects_below_the_first_degraded_probe():
    history = search(failing_from(12), 1, 64, SLA, max_error_rate=0.01)

    result, _ = conclude(plan_for(RECIPE, SLA, 1, 64, 0.01), history)

    assert result["concurrency"] == 11


def test_the_grid_search_fails_every_degraded_point():
    history = grid_search(failing_from(4), [1, 2, 4, 8], SLA, max_error_rate=0.01)

    assert [p.passed for p in history] == [True, True, False, False]


def test_the_search_answer_names_the_degraded_probes():
    history = grid_search(failing_from(4), [1, 2, 4, 8], SLA, max_error_rate=0.01)

    result, sentence = conclude(plan_for(RECIPE, SLA, 1, 8, 0.01), history)

    assert sentence == (f"{RECIPE}: max concurrency under TTFT p95 <= 50 ms: concurrency 2 "
                        "(output 1,000 tok/s); degraded (error rate > 1%): concurrency4, "
                        "concurrency8")
    assert result["degraded"] == ["concurrency4", "concurrency8"]
    assert result["answer"].endswith("degraded (error rate > 1%): concurrency4, concurrency8")


def test_when_every_probe_is_degraded_the_answer_says_so():
    history = grid_search(failing_from(1), [1, 2], SLA, max_error_rate=0.01)

    result, sentence = conclude(plan_for(RECIPE, SLA, 1, 2, 0.01), history)

    assert sentence == (f"{RECIPE}: no answer: every probe is degraded (error rate > 1%): "
                        "concurrency1, concurrency2")
    assert (result["found"], result["reason"]) == (False, "every probe is degraded")
    assert "concurrency" not in result


def test_the_history_says_why_a_probe_was_degraded():
    history = grid_search(failing_from(2), [1, 2], SLA, max_error_rate=0.01)

    assert [step["degraded"] for step in history_json(history)] == [
        None, "error rate 50% > 1%"]
