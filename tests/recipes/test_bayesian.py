"""``--search-style bayesian`` (aiperf.recipes.bayesian): an optuna TPE study finds the
largest concurrency meeting the SLAs to one log-grid step, with no more probes than
probe-bisect, each concurrency at most once, deterministically for a seed.

Every server here is a fake ``run``: TTFT p95 of 10 ms up to its capacity K, 1000 ms
above it (the SLA is 50 ms), so the tests are fast and their verdicts exact.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest

from aiperf.recipes.sla import SearchStyleUnavailable, run_search, search
from tests.recipes.search_plans import plan_for, run_summary

pytest.importorskip("optuna")

from aiperf.recipes.bayesian import OptunaMissingError, bayesian_search  # noqa: E402

SLA = {"ttft_sla_ms": 50.0}
LOW, HIGH, STEPS = 1, 1000, 8
#: One step of the 8-point log grid over [1, 1000]: the search's resolution.
RESOLUTION = (HIGH / LOW) ** (1 / (STEPS - 1))
CAPACITIES = (3, 17, 40, 150, 600)


def server(capacity: int, calls: list[int] | None = None
           ) -> Callable[[int], dict[str, Any]]:
    """A server meeting the SLA up to ``capacity``; each run's concurrency goes to
    ``calls``."""
    def run(c: int) -> dict[str, Any]:
        if calls is not None:
            calls.append(c)
        return run_summary(10.0 if c <= capacity else 1000.0)
    return run


def bayes(run: Callable[[int], dict[str, Any]], seed: int = 0, low: int = LOW,
          high: int = HIGH) -> list[Any]:
    return bayesian_search(run, low, high, SLA, max_error_rate=0.01,
                           resolution=RESOLUTION, seed=seed)


def highest_pass(history: list[Any]) -> int | None:
    return max((p.concurrency for p in history if p.passed), default=None)


@pytest.mark.parametrize("capacity", CAPACITIES)
def test_it_finds_the_limit_to_within_one_grid_step(capacity):
    found = highest_pass(bayes(server(capacity)))

    assert found is not None
    assert capacity / RESOLUTION <= found <= capacity


@pytest.mark.parametrize("capacity", CAPACITIES)
def test_it_runs_no_more_probes_than_probe_bisect(capacity):
    bisect = search(server(capacity), LOW, HIGH, SLA, max_error_rate=0.01)

    assert len(bayes(server(capacity))) <= len(bisect)


def test_the_same_seed_gives_the_same_probes():
    first = [p.concurrency for p in bayes(server(150), seed=7)]
    second = [p.concurrency for p in bayes(server(150), seed=7)]

    assert first == second


def test_a_degraded_probe_fails_whatever_its_latency():
    # Fast at every concurrency, but half the requests fail from 40 on.
    history = bayes(lambda c: run_summary(10.0, failed=50 if c >= 40 else 0))

    degraded = [p for p in history if p.degraded is not None]
    assert degraded and all(not p.passed for p in degraded)
    assert all(p.concurrency >= 40 for p in degraded)
    assert highest_pass(history) is not None and highest_pass(history) < 40


@pytest.mark.parametrize("capacity", CAPACITIES)
def test_every_probe_is_in_range_and_none_runs_twice(capacity):
    calls: list[int] = []
    history = bayes(server(capacity, calls), low=2, high=700)

    assert all(2 <= c <= 700 for c in calls)
    assert len(calls) == len(set(calls))
    assert [p.concurrency for p in history] == calls


def test_when_the_lowest_concurrency_fails_it_stops_there():
    history = bayes(server(0))

    assert [(p.concurrency, p.passed) for p in history][-1] == (LOW, False)
    assert highest_pass(history) is None
    assert len(history) <= 4


def test_when_the_highest_concurrency_passes_it_stops_there():
    history = bayes(server(HIGH))

    assert [(p.concurrency, p.passed) for p in history][-1] == (HIGH, True)
    assert all(p.passed for p in history)


def test_without_optuna_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)

    with pytest.raises(OptunaMissingError, match=r"pip install -e '\.\[bayesian\]'"):
        bayes(server(40))


def test_without_optuna_the_style_is_refused_before_any_probe(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    probed: list[int] = []

    with pytest.raises(SearchStyleUnavailable,
                       match=r"bayesian needs optuna.*pip install -e '\.\[bayesian\]'"):
        run_search(plan_for("max-concurrency-under-sla", SLA, LOW, HIGH, style="bayesian"),
                   lambda c: probed.append(c))
    assert probed == []


def test_it_stops_after_the_budget_of_probes():
    history = bayesian_search(server(600), LOW, HIGH, SLA, max_error_rate=0.01,
                              resolution=1.001, seed=0, budget=3)

    assert len(history) == 3
