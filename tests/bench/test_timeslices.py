"""Timeslices (aiperf.bench.timeslices): windows, membership and per-window metrics.

The hand-built run below has a 3.5 s profiling phase cut into 1 s windows:

    window 0 [0, 1) s     A (sent 0.1 s, done 0.136 s) and B (sent 0.9 s, done 1.151 s)
    window 1 [1, 2) s     D, a failure (sent 1.2 s)
    window 2 [2, 3) s     nothing
    window 3 [3, 3.5) s   C (sent 3.1 s), a trailing window half as long as the others

Times in the comments are offsets from the phase start (WALL0).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from metrics_helpers import (
    FIXTURE_END_NS,
    FIXTURE_START_NS,
    MS,
    WALL0,
    fixture_records,
    make_record,
)

from aiperf.bench.metrics import RunFacts, record_metrics
from aiperf.bench.records import RequestError
from aiperf.bench.run_tally import compute_run_metrics
from aiperf.bench.timeslices import MAX_TIMESLICES, compute_timeslices

S = 1_000 * MS  # ns per second
FAILED = RequestError(type="http-status", message="Internal Server Error", code=500)


def metrics_of(*records):
    return tuple(record_metrics(r, streaming=True) for r in records)


A = make_record(0, start=100 * MS)  # chunks at 20, 25, 30, 35 ms; 4 output tokens
B = make_record(1, start=900 * MS, chunk_offsets_ms=(50, 150, 250), output_tokens=3)
C = make_record(2, start=3_100 * MS, chunk_offsets_ms=(10, 20), output_tokens=2)
D = make_record(3, start=1_200 * MS, error=FAILED)
RUN = metrics_of(A, B, C, D)
END = WALL0 + 3_500 * MS


def slices(records=RUN, duration_s=1.0, start=WALL0, end=END, **kw):
    return compute_timeslices(records, duration_s, start, end, **kw)


def scalar(piece, tag):
    found = piece.scalar(tag)
    return None if found is None else found.value


class TestWindows:
    def test_windows_tile_the_phase_and_the_last_one_is_cut(self):
        got = slices()

        assert [(0, 1), (1, 2), (2, 3), (3, 3.5)] == [
            ((p.start_ns - WALL0) / S, (p.end_ns - WALL0) / S) for p in got
        ]
        assert [0, 1, 2, 3] == [p.index for p in got]
        assert [True, True, True, False] == [p.is_complete for p in got]
        assert 0.5 == got[3].duration_s

    def test_a_phase_that_is_a_whole_number_of_windows_has_no_partial_window(self):
        got = slices(end=WALL0 + 4 * S)

        assert 4 == len(got)
        assert all(p.is_complete for p in got)
        assert WALL0 + 4 * S == got[-1].end_ns

    def test_a_slice_longer_than_the_phase_gives_one_partial_window(self):
        (only,) = slices(duration_s=60)

        assert (WALL0, END, False) == (only.start_ns, only.end_ns, only.is_complete)
        assert 3 == only.request_count  # every success, divided by the phase's 3.5 s
        assert math.isclose(3 / 3.5, scalar(only, "request_throughput"))

    def test_an_empty_phase_has_no_windows(self):
        assert [] == slices(end=WALL0)
        assert [] == slices(records=(), end=WALL0 - S)

    def test_fractional_durations_are_whole_nanoseconds(self):
        got = slices(duration_s=0.1, end=WALL0 + 300 * MS)

        assert [0, 100 * MS, 200 * MS] == [p.start_ns - WALL0 for p in got]
        assert all(p.is_complete for p in got)

    @pytest.mark.parametrize("bad", [0, -1.0, 1e-12, float("nan"), float("inf"), None, "1", True])
    def test_a_slice_duration_that_is_not_positive_is_refused(self, bad):
        with pytest.raises(ValueError, match="positive number of seconds"):
            slices(duration_s=bad)

    def test_too_many_windows_are_refused(self):
        span_s = MAX_TIMESLICES + 1
        with pytest.raises(ValueError, match="more than the 100000 allowed"):
            slices(records=(), end=WALL0 + span_s * S)
        assert MAX_TIMESLICES == len(slices(records=(), end=WALL0 + MAX_TIMESLICES * S))

    def test_unknown_assignment_is_refused(self):
        with pytest.raises(ValueError, match="assign_by"):
            slices(assign_by="middle")


class TestMembership:
    def test_a_request_belongs_to_the_window_it_started_in(self):
        got = slices()

        # B started in window 0 and ended in window 1: it counts in window 0.
        assert [2, 0, 0, 1] == [p.request_count for p in got]
        assert [0, 1, 0, 0] == [p.error_request_count for p in got]

    def test_by_end_a_request_belongs_to_the_window_it_ended_in(self):
        got = slices(assign_by="end")

        assert [1, 1, 0, 1] == [p.request_count for p in got]
        assert 250.0 == got[1].distribution("request_latency").dist.max  # B

    def test_requests_outside_the_phase_go_to_the_first_or_last_window(self):
        early = make_record(0, start=-5 * MS)
        late = make_record(1, start=3_499 * MS, chunk_offsets_ms=(10,), end_after_ms=1)
        got = slices(metrics_of(early, late), assign_by="end")

        assert [1, 0, 0, 1] == [p.request_count for p in got]

    def test_a_response_ending_exactly_at_the_phase_end_is_in_the_last_window(self):
        last = make_record(0, start=3_400 * MS, chunk_offsets_ms=(10, 50), end_after_ms=100)
        assert END == last.end_wall_ns

        got = slices(metrics_of(last), assign_by="end")

        assert 1 == got[-1].request_count

    def test_warmup_requests_are_left_out(self):
        warm = make_record(9, start=100 * MS, phase="warmup")

        assert 2 == slices(metrics_of(A, B, warm))[0].request_count


class TestMetrics:
    def test_distributions_of_a_window(self):
        first = slices()[0]

        ttft = first.distribution("time_to_first_token").dist  # A 20 ms, B 50 ms
        assert (2, 70.0, 35.0, 20.0, 50.0, 35.0, 15.0) == (
            ttft.count, ttft.sum, ttft.avg, ttft.min, ttft.max, ttft.p50, ttft.std,
        )
        assert math.isclose(20.3, ttft.p1)
        latency = first.distribution("request_latency").dist  # A 35 ms, B 250 ms
        assert (35.0, 250.0) == (latency.min, latency.max)
        osl = first.distribution("output_sequence_length").dist
        assert (2, 7.0) == (osl.count, osl.sum)
        # every gap of every request: A 5, 5, 5 ms and B 100, 100 ms
        icl = first.distribution("inter_chunk_latency").dist
        assert (5, 215.0) == (icl.count, icl.sum)
        itl = first.distribution("inter_token_latency").dist  # A (35-20)/3, B (250-50)/2
        assert (5.0, 100.0) == (itl.min, itl.max)
        assert "ms" == first.distribution("time_to_first_token").unit

    def test_window_throughputs(self):
        got = slices()

        assert [2.0, 0.0, 0.0, 2.0] == [scalar(p, "request_throughput") for p in got]
        # 4 + 3 tokens in 1 s; C's 2 tokens in the last window's 0.5 s
        assert [7.0, 0.0, 0.0, 4.0] == [scalar(p, "output_token_throughput") for p in got]
        assert "requests/sec" == got[0].scalar("request_throughput").unit
        assert "tokens/sec" == got[0].scalar("output_token_throughput").unit

    def test_failures_are_counted_but_not_in_the_distributions(self):
        failed = slices()[1]

        assert (0, 1) == (failed.request_count, failed.error_request_count)
        for tag in ("time_to_first_token", "request_latency", "inter_token_latency",
                    "output_sequence_length", "input_sequence_length"):
            assert failed.distribution(tag) is None
        # what a failure does have, exactly as in the run summary
        assert 100.0 == failed.distribution("error_isl").dist.avg

    def test_an_empty_window_is_kept_with_zero_counts(self):
        empty = slices()[2]

        assert () == empty.distributions
        assert {"request_throughput": 0.0, "request_count": 0,
                "output_token_throughput": 0.0, "error_request_count": 0} == {
            s.tag: s.value for s in empty.scalars
        }

    def test_no_token_throughput_without_output_lengths(self):
        no_osl = metrics_of(make_record(0, start=100 * MS, output_tokens=None))

        got = slices(no_osl)

        assert all(p.scalar("output_token_throughput") is None for p in got)
        assert 1 == got[0].request_count

    def test_one_window_over_the_whole_run_agrees_with_the_summary(self):
        facts = RunFacts(start_wall_ns=FIXTURE_START_NS, end_wall_ns=FIXTURE_END_NS,
                         streaming=True)
        run = compute_run_metrics(fixture_records(), facts, slice_duration_s=1_000.0)

        (only,) = run.timeslices

        assert run.distributions == only.distributions
        for tag in ("request_throughput", "request_count", "output_token_throughput"):
            assert math.isclose(run.scalar(tag).value, only.scalar(tag).value), tag


@st.composite
def runs(draw):
    """Records sent anywhere in (and a little around) a phase, some failed."""
    span_ms = draw(st.integers(1, 5_000))
    records = []
    for i in range(draw(st.integers(0, 30))):
        start_ms = draw(st.integers(-50, span_ms + 50))
        failed = draw(st.booleans())
        records.append(make_record(i, start=start_ms * MS, error=FAILED if failed else None))
    duration_ms = draw(st.integers(1, 2_000))
    return metrics_of(*records), span_ms, duration_ms


@settings(max_examples=60, deadline=None)
@given(runs(), st.sampled_from(["start", "end"]))
def test_windows_tile_the_phase_and_every_request_is_counted_once(run, assign_by):
    records, span_ms, duration_ms = run

    got = compute_timeslices(records, duration_ms / 1_000, WALL0, WALL0 + span_ms * MS,
                             assign_by=assign_by)

    assert math.ceil(span_ms / duration_ms) == len(got)
    assert WALL0 == got[0].start_ns
    assert WALL0 + span_ms * MS == got[-1].end_ns
    assert all(a.end_ns == b.start_ns for a, b in zip(got, got[1:], strict=False))
    assert all(p.is_complete for p in got[:-1])
    assert got[-1].is_complete == (span_ms % duration_ms == 0)
    ok = sum(1 for r in records if r.record.ok)
    assert ok == sum(p.request_count for p in got)
    assert len(records) - ok == sum(p.error_request_count for p in got)
    assert ok == sum(
        p.distribution("request_latency").dist.count
        for p in got if p.distribution("request_latency")
    )
