"""Whether a run failed too many requests to be trusted: its error rate, and the
``degraded`` verdict every sweep cell, trial set and search probe gets from it.

A run whose requests partly fail still has numbers, but they describe a server that is
breaking: the latencies of the requests that survived, the throughput of what got
through. A recipe must not answer from such a run. So a cell (or probe) whose error rate
is above ``benchmark.search.max_error_rate`` is *degraded*: the sweep aggregate keeps it
with its numbers and the measured rate as its reason, and no recipe takes it as a good
point. This module only judges; the consumers (sweep aggregate, curves, searches) decide
what a degraded cell means to them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["degraded_note", "degraded_reason", "error_rate", "percent"]

#: The error type of a request the user cancelled (Ctrl-C): not the server's failure.
_CANCELLED = "cancelled"


def error_rate(summary: Mapping[str, Any] | None) -> float | None:
    """Failed requests / measured requests of a run summary, as a fraction (0.47).

    A run's own summary (it has an ``error_summary``) is counted: requests the user
    cancelled count in neither, since stopping a run is not the server failing. Any
    other summary (the trials' means of a cell that ran trials, where the counts of
    errors are averaged over only the trials that had any) gives its
    ``request_error_rate`` percentage, which every trial reports. None when the summary
    cannot tell.
    """
    if summary is None:
        return None
    if isinstance(summary.get("error_summary"), list):
        counted = _counted_rate(summary)
        if counted is not None:
            return counted
    reported = _average(summary, "request_error_rate")
    return None if reported is None else reported / 100.0


def _counted_rate(summary: Mapping[str, Any]) -> float | None:
    """The error rate from a run's request counts, its cancelled requests left out of
    both; None without a count of measured requests."""
    measured = _average(summary, "completed_request_count")
    if measured is None:
        return None
    cancelled = _cancelled(summary)
    failed = (_average(summary, "error_request_count") or 0.0) - cancelled
    measured -= cancelled
    if measured <= 0:
        return None
    return max(failed, 0.0) / measured


def degraded_reason(summary: Mapping[str, Any] | None, max_error_rate: float) -> str | None:
    """``"error rate 47% > 1%"`` when the run's error rate is above ``max_error_rate``;
    None when it is within the limit or unknown (a run that cannot be judged keeps the
    status it had)."""
    rate = error_rate(summary)
    if rate is None or rate <= max_error_rate:
        return None
    measured, limit = _distinct_percents(rate, max_error_rate)
    return f"error rate {measured} > {limit}"


def degraded_note(names: Sequence[str], max_error_rate: float) -> str:
    """The clause an answer sentence ends with: ``"degraded (error rate > 1%): a, b"``."""
    return f"degraded (error rate > {percent(max_error_rate)}): {', '.join(names)}"


def percent(fraction: float, digits: int = 3) -> str:
    """A fraction as a short percentage: 0.47 -> ``47%``, 0.0125 -> ``1.25%``."""
    return f"{fraction * 100:.{digits}g}%"


def _distinct_percents(rate: float, limit: float) -> tuple[str, str]:
    """Both as percentages, with as many digits as it takes for a rate above the limit
    not to read as equal to it (``50.01% > 50%``, never ``50% > 50%``)."""
    for digits in range(3, 10):
        shown = percent(rate, digits), percent(limit, digits)
        if shown[0] != shown[1]:
            return shown
    return shown


def _average(summary: Mapping[str, Any], tag: str) -> float | None:
    block = summary.get(tag)
    value = block.get("avg") if isinstance(block, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _cancelled(summary: Mapping[str, Any]) -> float:
    """How many measured requests the user cancelled, from the summary's
    ``error_summary`` (one entry per distinct error, with its count)."""
    entries = summary.get("error_summary")
    if not isinstance(entries, Sequence):
        return 0.0
    total = 0.0
    for entry in entries:
        details = entry.get("error_details") if isinstance(entry, Mapping) else None
        count = entry.get("count") if isinstance(entry, Mapping) else None
        if isinstance(details, Mapping) and details.get("type") == _CANCELLED \
                and isinstance(count, int | float):
            total += count
    return total
