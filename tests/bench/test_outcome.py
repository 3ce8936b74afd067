"""A finished run's verdict: its status, its thresholds judged against its metrics, the
exit code both leave, and the console's last line."""

from __future__ import annotations

import signal

import pytest
from metrics_helpers import WALL0, make_record

from aiperf.bench.console import verdict
from aiperf.bench.metrics import RunFacts
from aiperf.bench.outcome import exit_code, run_status, stop_code
from aiperf.bench.records import RequestError
from aiperf.bench.run_tally import compute_run_metrics
from aiperf.bench.thresholds import breached, evaluate

FAILED = RequestError(type="http-status", message="Internal Server Error", code=500)


def metrics_of(*records):
    facts = RunFacts(start_wall_ns=WALL0, end_wall_ns=WALL0 + 2_000_000_000, streaming=True)
    return compute_run_metrics(records, facts)


def test_a_run_with_a_successful_request_keeps_the_runners_status():
    got = run_status("complete", None, metrics_of(make_record(0), make_record(1, error=FAILED)))
    assert ("complete", None) == got


def test_a_run_with_no_successful_request_is_no_success_naming_the_commonest_error():
    status, reason = run_status("complete", None,
                                metrics_of(make_record(0, error=FAILED),
                                           make_record(1, error=FAILED)))
    assert "no_success" == status
    assert "all 2 failed" in reason and "http-status 500" in reason


def test_a_stopped_or_aborted_run_keeps_its_status_even_without_success():
    cancelled = metrics_of(make_record(0, cancelled=True))
    assert "partial" == run_status("partial", "Ctrl-C", cancelled)[0]
    assert "aborted" == run_status("aborted", "gone", cancelled)[0]


@pytest.mark.parametrize(("status", "breach", "signals", "code"), [
    ("complete", False, (), 0),
    ("complete", True, (), 3),
    ("no_success", False, (), 0),
    ("no_success", True, (), 3),
    ("aborted", False, (), 1),
    ("partial", True, (signal.SIGINT,), 130),
    ("partial", False, (signal.SIGTERM,), 143),
    ("partial", False, (signal.SIGTERM, signal.SIGINT), 143),
])
def test_exit_code_a_stop_beats_a_failure_beats_a_threshold(status, breach, signals, code):
    assert code == exit_code(status, breach, signals)


def test_the_first_signal_decides_the_stop_code():
    assert 130 == stop_code((signal.SIGINT, signal.SIGTERM))


def test_thresholds_are_judged_against_the_measured_statistic():
    metrics = metrics_of(make_record(0), make_record(1, error=FAILED))
    got = evaluate(["request_error_rate<=1", "request_latency.max<1000"], metrics)
    assert [(50.0, False), (35.0, True)] == [(r.measured, r.passed) for r in got]
    assert ["request_error_rate<=1"] == [r.threshold.text for r in breached(got)]


def test_a_threshold_on_an_unmeasured_metric_fails():
    got = evaluate(["time_to_first_token.p95<200"], metrics_of(make_record(0, error=FAILED)))
    assert [(None, False)] == [(r.measured, r.passed) for r in got]


def test_a_counter_absent_from_a_clean_run_counts_as_zero():
    [got] = evaluate(["error_request_count==0"], metrics_of(make_record(0)))
    assert (0.0, True) == (got.measured, got.passed)


def test_the_verdict_line_counts_ok_failed_and_cancelled_requests():
    metrics = metrics_of(make_record(0), make_record(1, error=FAILED),
                         make_record(2, cancelled=True))
    assert "partial - 3 requests, 1 ok, 1 failed, 1 cancelled" == verdict("partial", metrics)
