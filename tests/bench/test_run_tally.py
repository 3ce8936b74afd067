"""A run's tally (aiperf.bench.run_tally): requests added one at a time, nothing kept per
request, the same metrics as computing them all at once."""

from __future__ import annotations

import gc
import tracemalloc

import pytest
from metrics_helpers import MS, WALL0, make_record

from aiperf.bench.metrics import RunFacts
from aiperf.bench.records import RequestError, Usage
from aiperf.bench.run_tally import MAX_DISTINCT_ERRORS, OTHER_MESSAGES, RunTally

#: Thirty-two chunks 5 ms apart: a streamed answer of 32 tokens.
OFFSETS = tuple(20.0 + 5 * i for i in range(32))


def record(index, **kwargs):
    start = (1_000 + index) * MS
    return make_record(index, start=start, chunk_offsets_ms=OFFSETS, output_tokens=32,
                       **kwargs)


def feed(tally: RunTally, count: int, first: int = 0) -> None:
    for index in range(first, first + count):
        tally.add(tally.measure(record(index)))


def facts(**kwargs) -> RunFacts:
    return RunFacts(start_wall_ns=WALL0, end_wall_ns=WALL0 + 100_000 * MS, streaming=True,
                    **kwargs)


def test_memory_does_not_grow_with_the_number_of_requests():
    """Memory flat in the number of requests: ten times the requests (and 31 gaps each)
    leave no more memory held than the samples' exact buffers, far under a record each."""
    tracemalloc.start()
    try:
        tally = RunTally(streaming=True, slos={"time_to_first_token": 50.0},
                         slice_duration_s=10.0, exact_limit=1024)
        tally.start(WALL0)
        feed(tally, 1_000)
        gc.collect()
        after_1k = tracemalloc.get_traced_memory()[0]
        feed(tally, 9_000, first=1_000)
        gc.collect()
        after_10k = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()

    assert 10_000 == tally.profiling_count
    # 9,000 more requests: holding their records would take several KB each (tens of
    # MB); the tally's growth is bounded by its buffers (about 20 metrics x 1024 x 8 B).
    assert after_10k - after_1k < 500_000
    metrics = tally.finish(facts())
    assert 10_000 == metrics.scalar("request_count").value
    assert 10_000 == metrics.scalar("good_request_count").value


def test_a_folded_metric_is_named_in_the_statistics_and_flagged_inexact():
    tally = RunTally(streaming=True, exact_limit=100)
    tally.start(WALL0)
    feed(tally, 50)  # 50 latencies: exact; 50 x 63 gaps: folded

    metrics = tally.finish(facts())

    assert metrics.distribution("request_latency").exact
    assert not metrics.distribution("inter_chunk_latency").exact
    note = metrics.statistics["approximate_percentiles"]
    assert note.startswith("inter_chunk_latency: more than 100 values")
    assert "0.05%" in note


def test_a_run_that_fits_says_nothing_about_approximation():
    tally = RunTally(streaming=True)
    tally.start(WALL0)
    feed(tally, 10)

    metrics = tally.finish(facts())

    assert "approximate_percentiles" not in metrics.statistics
    assert all(d.exact for d in metrics.distributions)


def test_distinct_error_messages_past_the_cap_are_counted_together():
    tally = RunTally(streaming=True)
    tally.start(WALL0)
    extra = 5
    for index in range(MAX_DISTINCT_ERRORS + extra):
        error = RequestError("http-status", f"request {index} failed", 500)
        tally.add(tally.measure(record(index, error=error)))

    errors = tally.finish(facts()).errors

    assert MAX_DISTINCT_ERRORS + 1 == len(errors)
    other = next(e for e in errors if e.error.message == OTHER_MESSAGES)
    assert (extra, 500, "http-status") == (other.count, other.error.code, other.error.type)
    assert MAX_DISTINCT_ERRORS + extra == sum(e.count for e in errors)


def test_warmup_requests_are_counted_and_nothing_more():
    tally = RunTally(streaming=True)
    tally.start(WALL0)
    tally.add_warmup()
    feed(tally, 3)

    metrics = tally.finish(facts())

    assert (1, 3) == (metrics.warmup_count, metrics.profiling_count)


def test_timeslices_need_the_phase_start_before_the_first_request():
    tally = RunTally(streaming=True, slice_duration_s=1.0)

    with pytest.raises(RuntimeError, match="start"):
        tally.add(tally.measure(record(0)))


def test_an_unknown_slo_tag_is_refused_before_the_run():
    with pytest.raises(ValueError, match="unknown SLO metric"):
        RunTally(streaming=True, slos={"time_to_frist_token": 1.0})


def _warnings_after(prompt_tokens: list[int], requested: int = 100) -> tuple[str, ...]:
    tally = RunTally(streaming=True)
    for index, prompt in enumerate(prompt_tokens):
        tally.add(tally.measure(record(index, input_tokens=requested,
                                       usage=Usage(prompt_tokens=prompt,
                                                   completion_tokens=32))))
    return tally.finish(facts()).warnings


def test_a_gap_of_more_than_5_percent_between_requested_and_delivered_isl_is_named():
    """The server counted 120 and 125 prompt tokens for prompts of 100: 122.5 on average,
    +22%, and the warning says how to size prompts in the server's tokens."""
    (warning,) = _warnings_after([120, 125])

    assert "122.5 prompt tokens per request on average against 100.0 requested" in warning
    assert "(+22%)" in warning
    assert "--prompt-sizing server" in warning


def test_a_gap_within_5_percent_on_average_is_not_a_warning():
    """90 and 109 average 99.5: within 5% of 100 although each request is not."""
    assert () == _warnings_after([90, 109])
    assert () == _warnings_after([105, 105])


def test_prompts_shorter_than_asked_are_named_too():
    (warning,) = _warnings_after([80, 80])

    assert "(-20%)" in warning
