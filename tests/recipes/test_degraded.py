"""A run is degraded when it failed more of its requests than max_error_rate allows
(aiperf.recipes.degraded): the error rate, the verdict and the words that name it."""

from __future__ import annotations

from typing import Any

from aiperf.recipes.degraded import degraded_note, degraded_reason, error_rate, percent


def summary(measured: int, failed: int, cancelled: int = 0) -> dict[str, Any]:
    """A run summary with its request counts laid out as the summary file has them (the
    error count is left out of a clean run, as the exporter does)."""
    out: dict[str, Any] = {
        "completed_request_count": {"unit": "requests", "avg": measured},
        "request_count": {"unit": "requests", "avg": measured - failed},
        "request_error_rate": {"unit": "%", "avg": 100.0 * failed / measured},
        "error_summary": [],
    }
    if failed:
        out["error_request_count"] = {"unit": "requests", "avg": failed}
    if failed - cancelled:
        out["error_summary"].append({"error_details": {"code": 500, "type": "http-status",
                                                       "message": "boom"},
                                     "count": failed - cancelled})
    if cancelled:
        out["error_summary"].append({"error_details": {"code": None, "type": "cancelled",
                                                       "message": "cancelled while in flight"},
                                     "count": cancelled})
    return out


def test_the_error_rate_is_failed_requests_over_measured_requests():
    assert error_rate(summary(measured=100, failed=47)) == 0.47


def test_a_clean_run_has_an_error_rate_of_zero():
    assert error_rate(summary(measured=20, failed=0)) == 0.0


def test_requests_the_user_cancelled_are_not_errors():
    # 10 measured, 4 cancelled by Ctrl-C, 1 real failure: 1 of the 6 that ran out.
    assert error_rate(summary(measured=10, failed=5, cancelled=4)) == 1 / 6


def test_a_summary_without_request_counts_falls_back_to_the_reported_rate():
    assert error_rate({"request_error_rate": {"unit": "%", "avg": 25.0}}) == 0.25


def test_a_cell_that_ran_trials_has_its_trials_mean_error_rate():
    # The trials' means: errors were counted only in the one trial of five that had any.
    means = {"completed_request_count": {"unit": "requests", "avg": 100},
             "error_request_count": {"unit": "requests", "avg": 10},
             "request_error_rate": {"unit": "%", "avg": 2.0}}

    assert error_rate(means) == 0.02


def test_a_summary_that_cannot_tell_has_no_error_rate():
    assert error_rate({}) is None
    assert error_rate(None) is None


def test_a_run_above_the_limit_is_degraded_with_its_error_rate_as_the_reason():
    assert degraded_reason(summary(measured=100, failed=47), 0.01) == "error rate 47% > 1%"


def test_a_run_at_the_limit_is_not_degraded():
    assert degraded_reason(summary(measured=100, failed=1), 0.01) is None


def test_a_run_whose_error_rate_is_unknown_is_not_degraded():
    assert degraded_reason({}, 0.01) is None


def test_a_rate_just_above_the_limit_never_reads_as_equal_to_it():
    assert degraded_reason(summary(measured=100_000, failed=50_001), 0.5) == (
        "error rate 50.001% > 50%")


def test_a_zero_limit_degrades_any_failure():
    assert degraded_reason(summary(measured=200, failed=1), 0.0) == "error rate 0.5% > 0%"


def test_the_note_names_the_degraded_cells_and_the_limit():
    assert degraded_note(["concurrency64", "concurrency128"], 0.01) == (
        "degraded (error rate > 1%): concurrency64, concurrency128")


def test_percentages_are_short():
    assert [percent(0.47), percent(0.0125), percent(1.0)] == ["47%", "1.25%", "100%"]
