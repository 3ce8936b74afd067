"""Metric formulas, statistics, goodput and client health (aiperf.bench.metrics / stats).

Hand-built records with known nanosecond timestamps pin each formula; the NVIDIA AIPerf
0.13 fixture, rebuilt as records, checks that we compute what the reference computed.
"""

from __future__ import annotations

import math

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from metrics_helpers import (
    FIXTURE_END_NS,
    FIXTURE_START_NS,
    MS,
    WALL0,
    fixture_lines,
    fixture_records,
    fixture_summary,
    make_record,
)

from aiperf.bench.metrics import (
    RECORD_METRICS,
    SCALAR_METRICS,
    BottleneckThresholds,
    RunFacts,
    client_bottleneck_warning,
    metric_info,
    record_metrics,
)
from aiperf.bench.records import RequestError, Usage
from aiperf.bench.run_tally import compute_run_metrics
from aiperf.bench.stats import PERCENTILES, summarize

FAILED = RequestError(type="http-status", message="Internal Server Error", code=500)


def facts(**kwargs) -> RunFacts:
    """Run facts with a one-second profiling window (so throughputs are per-window counts)."""
    kwargs.setdefault("streaming", True)
    kwargs.setdefault("start_wall_ns", WALL0)
    kwargs.setdefault("end_wall_ns", WALL0 + 10**9)
    return RunFacts(**kwargs)


def values(record, *, streaming=True) -> dict:
    return {v.tag: v.value for v in record_metrics(record, streaming=streaming).values}


# --------------------------------------------------------------------------- per request


class TestRecordMetrics:
    """Per-request formulas, against hand-computed values."""

    def test_streaming_request(self):
        """Chunks at 20, 25, 30, 35 ms after the send, ISL 100, OSL 4."""
        got = values(make_record(lag_ms=1.5))

        assert {
            "input_sequence_length": 100,
            "output_sequence_length": 4,
            "output_token_count": 4,
            "request_latency": 35.0,
            "time_to_first_token": 20.0,
            "time_to_second_token": 5.0,
            "time_to_first_output_token": 20.0,
            "inter_chunk_latency": (5.0, 5.0, 5.0),
            "decode_duration": 15.0,
            "inter_token_latency": 5.0,  # (35 - 20) / (4 - 1)
            "output_token_throughput_per_user": pytest.approx(200.0),  # 1 / 5 ms
            "e2e_output_token_throughput": pytest.approx(4 / 0.035),
            "prefill_throughput_per_user": pytest.approx(100 / 0.020),
            "client_input_sequence_length": 100,
            "scheduling_lag": 1.5,
        } == got

    def test_jsonl_order_follows_the_reference(self):
        """Metrics come in the reference's JSONL order, with our scheduling_lag last."""
        order = [v.tag for v in record_metrics(make_record(), streaming=True).values]
        catalogue = [m.tag for m in RECORD_METRICS]

        assert sorted(order, key=catalogue.index) == order
        assert "scheduling_lag" == order[-1]

    def test_non_streaming_request_has_no_streaming_metrics(self):
        """A body read in one piece: latency and token counts only (reference STREAMING_ONLY)."""
        record = make_record(chunk_offsets_ms=(42,), output_tokens=10)

        got = values(record, streaming=False)

        assert {
            "input_sequence_length", "output_sequence_length", "output_token_count",
            "request_latency", "e2e_output_token_throughput", "scheduling_lag",
            "client_input_sequence_length",
        } == set(got)
        assert 42.0 == got["request_latency"]
        assert pytest.approx(10 / 0.042) == got["e2e_output_token_throughput"]

    def test_no_content_chunk_uses_the_response_end(self):
        """An embeddings-like body carries no text chunk: latency runs to the end."""
        record = make_record(chunk_offsets_ms=(), output_tokens=None, end_after_ms=12)

        got = values(record)

        assert {"request_latency": 12.0, "input_sequence_length": 100,
                "client_input_sequence_length": 100, "scheduling_lag": 0.0} == got

    def test_reasoning_tokens(self):
        """TTFO waits for the first answer chunk; output_token_count excludes reasoning."""
        record = make_record(
            reasoning=(True, True, False, False), usage=Usage(100, 4, reasoning_tokens=2)
        )

        got = values(record)

        assert 20.0 == got["time_to_first_token"]
        assert 30.0 == got["time_to_first_output_token"]
        assert 4 == got["output_sequence_length"]
        assert 2 == got["output_token_count"]

    def test_only_reasoning_has_no_first_output_token(self):
        got = values(make_record(reasoning=(True, True, True, True)))

        assert "time_to_first_output_token" not in got

    def test_itl_uses_the_first_chunks_token_count(self):
        """Three tokens in the first chunk: the other 3 share the decode time."""
        record = make_record(output_tokens=6, chunk_tokens=(3, 1, 1, 1))

        assert 5.0 == values(record)["inter_token_latency"]  # (35 - 20) / (6 - 3)

    def test_itl_falls_back_to_one_when_the_count_is_inconsistent(self):
        record = make_record(output_tokens=4, chunk_tokens=(9, 1, 1, 1))

        assert 5.0 == values(record)["inter_token_latency"]  # (35 - 20) / (4 - 1)

    def test_single_token_has_no_itl(self):
        """ITL needs OSL >= 2; one chunk has no gaps and no second token."""
        got = values(make_record(chunk_offsets_ms=(20,), output_tokens=1))

        assert {"inter_token_latency", "output_token_throughput_per_user",
                "time_to_second_token", "inter_chunk_latency"}.isdisjoint(got)
        assert 0.0 == got["decode_duration"]

    def test_usage(self):
        got = values(make_record(usage=Usage(prompt_tokens=90, completion_tokens=4)))

        assert (90, 4, 94) == (
            got["usage_prompt_tokens"], got["usage_completion_tokens"], got["usage_total_tokens"]
        )

    def test_failed_request(self):
        """A failure only reports its prompt length and the client's scheduling lag."""
        got = values(make_record(error=FAILED, lag_ms=2.0))

        assert {"error_isl": 100, "scheduling_lag": 2.0} == got

    def test_cancelled_request_is_not_an_error(self):
        """A request the user stopped in flight gets no error_isl: it is no failure."""
        got = values(make_record(cancelled=True))

        assert {"scheduling_lag"} == set(got)


class TestAgainstTheReference:
    """The fixture's 40 requests, rebuilt, give the fixture's numbers."""

    @pytest.fixture(scope="class")
    @classmethod
    def metrics(cls):
        window = facts(start_wall_ns=FIXTURE_START_NS, end_wall_ns=FIXTURE_END_NS)
        return compute_run_metrics(fixture_records(), window)

    @pytest.fixture(scope="class")
    @classmethod
    def per_request(cls):
        return [record_metrics(r, streaming=True) for r in fixture_records()]

    @pytest.mark.parametrize(
        "tag",
        [
            "request_latency", "time_to_first_token", "time_to_second_token",
            "time_to_first_output_token", "inter_token_latency", "decode_duration",
            "output_token_throughput_per_user", "e2e_output_token_throughput",
            "output_sequence_length",
            "inter_chunk_latency", "usage_prompt_tokens", "usage_completion_tokens",
        ],
    )
    def test_per_request_values(self, per_request, tag):
        expected = [line["metrics"][tag]["value"] for line in fixture_lines()]

        got = [item.get(tag) for item in per_request]

        assert expected == [pytest.approx(v, rel=1e-12, abs=1e-9) for v in got]

    @pytest.mark.parametrize(
        "tag",
        [
            "request_latency", "time_to_first_token", "time_to_second_token",
            "time_to_first_output_token", "inter_token_latency", "decode_duration",
            "output_token_throughput_per_user", "e2e_output_token_throughput",
            "output_sequence_length",
        ],
    )
    def test_distributions(self, metrics, tag):
        """Every stat, percentiles included: the same method as the reference."""
        expected = fixture_summary()[tag]

        got = metrics.distribution(tag)

        assert expected["unit"] == got.unit
        for stat, value in expected.items():
            if stat != "unit":
                assert value == pytest.approx(getattr(got.dist, stat), rel=1e-9), stat

    def test_inter_chunk_latency_exact_where_the_reference_is(self, metrics):
        """The reference's ICL percentiles come from a T-Digest; count, sum, avg, min and
        max are exact there as here."""
        expected = fixture_summary()["inter_chunk_latency"]

        got = metrics.distribution("inter_chunk_latency").dist

        for stat in ("count", "sum", "avg", "min", "max"):
            assert expected[stat] == pytest.approx(getattr(got, stat), rel=1e-9), stat
        assert expected["p50"] == pytest.approx(got.p50, rel=0.05)

    @pytest.mark.parametrize(
        "tag",
        [
            "request_throughput", "request_count", "output_token_throughput",
            "total_output_tokens", "benchmark_duration", "total_osl",
            "request_error_rate", "completed_request_count",
            "total_usage_prompt_tokens", "total_usage_completion_tokens",
        ],
    )
    def test_scalars(self, metrics, tag):
        """Run-level values. Throughputs are per second of the phase window, not of
        benchmark_duration; the duration differs by < 1 µs because the reference adds a
        float latency to a wall-clock nanosecond count."""
        expected = fixture_summary()[tag]

        got = metrics.scalar(tag)

        assert expected["unit"] == got.unit
        assert expected["avg"] == pytest.approx(got.value, rel=1e-6)

    def test_isl_is_what_the_server_counted(self, per_request):
        """A deliberate difference from the reference: ISL is the server's
        usage.prompt_tokens (its tokenizer and chat template), and the reference's ISL (the
        client's count) is our client_input_sequence_length."""
        lines = fixture_lines()

        server = [item.get("input_sequence_length") for item in per_request]
        client = [item.get("client_input_sequence_length") for item in per_request]

        assert [line["metrics"]["usage_prompt_tokens"]["value"] for line in lines] == server
        assert [line["metrics"]["input_sequence_length"]["value"] for line in lines] == client
        assert server != client  # the fixture's server counted its own way

    def test_prefill_throughput_uses_the_server_isl(self, per_request):
        """prefill_throughput_per_user is ISL / TTFT, with the server's ISL."""
        for line, item in zip(fixture_lines(), per_request, strict=True):
            m = line["metrics"]
            scale = m["usage_prompt_tokens"]["value"] / m["input_sequence_length"]["value"]
            expected = m["prefill_throughput_per_user"]["value"] * scale

            assert expected == pytest.approx(item.get("prefill_throughput_per_user"), rel=1e-9)

    @pytest.mark.parametrize("tag", ["total_isl", "input_token_throughput"])
    def test_input_totals_use_the_server_isl(self, metrics, tag):
        """Totals and rates of input tokens scale with the server's count."""
        summary = fixture_summary()
        scale = summary["total_usage_prompt_tokens"]["avg"] / summary["total_isl"]["avg"]

        assert summary[tag]["avg"] * scale == pytest.approx(metrics.scalar(tag).value, rel=1e-6)

    def test_clean_run_has_no_error_count(self, metrics):
        """The reference omits error_request_count when nothing failed."""
        assert "error_request_count" not in fixture_summary()
        assert metrics.scalar("error_request_count") is None


# --------------------------------------------------------------------------- statistics


def linear_percentile(sample: list[float], p: float) -> float:
    """The definition, written out: rank (n - 1) p / 100 of the sorted sample."""
    ordered = sorted(sample)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class TestSummarize:
    """Percentiles by linear interpolation, population std, avg = sum / count."""

    def test_hand_computed(self):
        got = summarize([4.0, 1.0, 3.0, 2.0])

        assert (4, 10.0, 2.5, 1.0, 4.0) == (got.count, got.sum, got.avg, got.min, got.max)
        assert 2.5 == got.p50
        assert pytest.approx(1.03) == got.p1  # rank 0.03
        assert pytest.approx(3.97) == got.p99  # rank 2.97
        assert pytest.approx(math.sqrt(1.25)) == got.std  # population, not sample (1.29)

    def test_single_value(self):
        got = summarize([7.0])

        assert 0.0 == got.std
        assert all(7.0 == got.percentile(p) for p in PERCENTILES)

    def test_empty_sample_is_an_error(self):
        with pytest.raises(ValueError, match="non-empty"):
            summarize([])

    def test_unknown_percentile(self):
        with pytest.raises(ValueError, match="not reported"):
            summarize([1.0]).percentile(42)

    @given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=200))
    def test_matches_numpy_and_the_definition(self, sample):
        got = summarize(sample)

        for p in PERCENTILES:
            by_numpy = np.percentile(sample, p)
            by_definition = linear_percentile(sample, p)
            assert pytest.approx(by_numpy, rel=1e-9, abs=1e-6) == got.percentile(p)
            assert pytest.approx(by_definition, rel=1e-9, abs=1e-6) == got.percentile(p)
        assert pytest.approx(np.std(sample, ddof=0), rel=1e-9, abs=1e-6) == got.std
        assert pytest.approx(math.fsum(sample) / len(sample), rel=1e-9, abs=1e-6) == got.avg


# --------------------------------------------------------------------------- per run


def small_run():
    """Three successes sent at 0, 100 and 200 ms (35 ms each) and a failure at 50 ms."""
    return [
        make_record(0, start=0),
        make_record(1, start=100 * MS, chunk_offsets_ms=(30, 40, 50, 60)),
        make_record(2, start=200 * MS),
        make_record(3, start=50 * MS, error=FAILED, end_after_ms=5),
    ]


class TestRunMetrics:
    """Counts, rates and the populations the distributions cover."""

    def test_scalars(self):
        got = compute_run_metrics(small_run(), facts())

        # Throughputs per second of the 1 s window.
        assert {
            "request_count": 3.0,
            "completed_request_count": 4.0,
            "error_request_count": 1.0,
            "request_error_rate": 25.0,
            "benchmark_duration": pytest.approx(0.235),  # last success ends at 200 + 35 ms
            "request_throughput": 3.0,
            "total_isl": 300.0,
            "total_osl": 12.0,
            "total_output_tokens": 12.0,
            "total_error_isl": 100.0,
            "output_token_throughput": 12.0,
            "input_token_throughput": 300.0,
            "total_token_throughput": 312.0,
        } == {s.tag: s.value for s in got.scalars}

    def test_achieved_request_rate_only_for_rate_driven_runs(self):
        """A closed-loop run (no requested rate) reports no achieved rate; a rate-driven
        run reports the sends per second it managed."""
        closed = compute_run_metrics(small_run(), facts())
        driven = compute_run_metrics(small_run(), facts(requested_request_rate=15.0))

        assert closed.scalar("achieved_request_rate") is None
        assert closed.health.achieved_request_rate is None
        # 3 intervals over 200 ms
        assert driven.scalar("achieved_request_rate").value == pytest.approx(15.0)

    def test_the_requested_rate_is_reported_beside_the_achieved_one(self):
        """What the achieved rate is measured against is in the summary too (the rate of
        the arrivals the plan drew), for rate-driven runs only."""
        closed = compute_run_metrics(small_run(), facts())
        driven = compute_run_metrics(small_run(), facts(requested_request_rate=12.5))

        assert closed.scalar("requested_request_rate") is None
        assert driven.scalar("requested_request_rate").value == 12.5

    def test_latency_covers_successful_requests_only(self):
        got = compute_run_metrics(small_run(), facts())

        assert 3 == got.distribution("request_latency").dist.count
        assert 4 == got.distribution("scheduling_lag").dist.count
        assert 1 == got.distribution("error_isl").dist.count
        assert (3, 1) == (got.ok_count, got.error_count)

    def test_warmup_is_excluded(self):
        records = [*small_run(), make_record(9, phase="warmup", error=FAILED)]

        got = compute_run_metrics(records, facts())

        assert 1 == got.warmup_count
        assert 4 == got.profiling_count
        assert 1.0 == got.scalar("error_request_count").value

    def test_error_summary_groups_identical_errors(self):
        timeout = RequestError(type="timeout", message="no response in 60 s")
        records = [
            make_record(0, error=FAILED),
            make_record(1, error=timeout),
            make_record(2, error=FAILED),
        ]

        got = compute_run_metrics(records, facts()).errors

        assert [(FAILED, 2), (timeout, 1)] == [(e.error, e.count) for e in got]

    def test_cancelled_requests_are_counted_apart_from_errors(self):
        """Ctrl-C is not a server error: cancelled requests stay out of the error count,
        the error rate and the error summary, and have a count of their own."""
        records = [make_record(0), make_record(1, error=FAILED),
                   make_record(2, cancelled=True), make_record(3, cancelled=True)]

        got = compute_run_metrics(records, facts())

        assert (1, 1, 2) == (got.ok_count, got.error_count, got.cancelled_count)
        assert 1.0 == got.scalar("error_request_count").value
        assert 2.0 == got.scalar("cancelled_request_count").value
        assert 2.0 == got.scalar("completed_request_count").value
        assert 50.0 == got.scalar("request_error_rate").value
        assert [FAILED] == [e.error for e in got.errors]

    def test_a_run_without_cancelled_requests_has_no_cancelled_count(self):
        """Like the error counter, the cancelled counter is absent when it is zero."""
        got = compute_run_metrics([make_record(0)], facts())

        assert got.scalar("cancelled_request_count") is None

    def test_throughputs_fall_back_to_the_benchmark_duration(self):
        """Without a usable phase window, throughputs use benchmark_duration."""
        got = compute_run_metrics(small_run(), facts(end_wall_ns=WALL0))

        assert pytest.approx(3 / 0.235) == got.scalar("request_throughput").value

    def test_all_failed(self):
        """Duration spans the failures; throughput is zero; no latency distribution."""
        records = [make_record(0, start=0, error=FAILED, end_after_ms=10),
                   make_record(1, start=40 * MS, error=FAILED, end_after_ms=10)]

        got = compute_run_metrics(records, facts())

        assert 0.05 == pytest.approx(got.scalar("benchmark_duration").value)
        assert 0.0 == got.scalar("request_throughput").value
        assert 100.0 == got.scalar("request_error_rate").value
        assert got.distribution("request_latency") is None

    def test_no_records(self):
        got = compute_run_metrics([], facts())

        assert {"request_count": 0.0, "completed_request_count": 0.0, "request_error_rate": 0.0,
                "request_throughput": 0.0} == {s.tag: s.value for s in got.scalars}
        assert () == got.distributions

    def test_event_loop_lag_samples(self):
        got = compute_run_metrics([], facts(loop_lag_ms=[1.0, 2.0, 3.0]))

        dist = got.distribution("event_loop_lag")
        assert ("ms", 3, 2.0) == (dist.unit, dist.dist.count, dist.dist.avg)

    def test_statistics_method_is_recorded(self):
        got = compute_run_metrics([], facts()).statistics

        assert "linear interpolation" in got["percentiles"]
        assert "ddof=0" in got["std"]
        assert "successful requests" == got["latency_population"]

    def test_every_tag_has_unit_and_header(self):
        for info in (*RECORD_METRICS, *SCALAR_METRICS):
            assert info == metric_info(info.tag)
            assert info.header and info.unit


class TestGoodput:
    """Requests meeting every SLO; throughput-like objectives are floors, others ceilings."""

    def run(self, slos):
        # Latencies 35, 60, 35 ms; 1/ITL = 200, 100, 200 tokens/s/user; one failure.
        return compute_run_metrics(small_run(), facts(slos=slos))

    def test_latency_ceiling_is_inclusive(self):
        got = self.run({"request_latency": 35.0})

        assert 2.0 == got.scalar("good_request_count").value
        assert 2.0 == got.scalar("goodput").value  # per second of the 1 s window
        assert 0.5 == got.scalar("good_request_fraction").value  # 2 of 3 ok + 1 failed

    def test_throughput_floor(self):
        """A larger-is-better SLO: at least 150 tokens/s/user."""
        got = self.run({"output_token_throughput_per_user": 150.0})

        assert 2.0 == got.scalar("good_request_count").value

    def test_all_objectives_must_hold(self):
        got = self.run({"request_latency": 100.0, "output_token_throughput_per_user": 150.0})

        assert 2.0 == got.scalar("good_request_count").value

    def test_every_gap_must_meet_an_inter_chunk_objective(self):
        records = [make_record(0, chunk_offsets_ms=(20, 25, 30, 35)),
                   make_record(1, chunk_offsets_ms=(20, 25, 40, 45))]

        got = compute_run_metrics(records, facts(slos={"inter_chunk_latency": 6.0}))

        assert 1.0 == got.scalar("good_request_count").value

    def test_missing_metric_is_not_good(self):
        """Non-streaming requests have no TTFT, so none meets a TTFT objective."""
        got = compute_run_metrics(
            small_run(), facts(streaming=False, slos={"time_to_first_token": 1e9})
        )

        assert 0.0 == got.scalar("good_request_count").value

    def test_no_slos_no_goodput(self):
        got = self.run({})

        assert all(got.scalar(t) is None for t in ("goodput", "good_request_count",
                                                   "good_request_fraction"))

    def test_unknown_tag(self):
        with pytest.raises(ValueError, match="unknown SLO metric tag"):
            self.run({"request_latncy": 1.0})


class TestClientHealth:
    """Whether the client, not the server, limited the run: judged by what its delays
    cost against the requests' own timings, not by a fixed number of milliseconds."""

    def test_healthy(self):
        got = compute_run_metrics(small_run(), facts(loop_lag_ms=[0.1, 0.2],
                                                     client_cpu_fraction=0.3))

        assert got.health.warning is None
        assert not got.health.client_bound
        assert 0.2 == pytest.approx(got.health.event_loop_lag_p99_ms, abs=0.01)

    def test_late_requests_warn_with_what_the_lag_cost(self):
        # 35 ms requests (the default chunks end at 35 ms) sent 3.5 ms late: 10%.
        records = [make_record(i, start=i * 100 * MS, lag_ms=3.5) for i in range(3)]

        got = compute_run_metrics(records, facts())

        assert got.health.client_bound
        assert 0.1 == pytest.approx(got.health.lag_share)
        assert ("requests started 3.5 ms late on average: about 10% of their latency"
                in got.health.warning)

    def test_the_same_lag_on_long_requests_is_fine(self):
        # 4 ms late on 800 ms requests: half a percent.
        records = [make_record(i, start=i * 1_000 * MS, lag_ms=4,
                               chunk_offsets_ms=(100, 400, 800)) for i in range(3)]

        got = compute_run_metrics(records, facts())

        assert got.health.warning is None
        assert 0.005 == pytest.approx(got.health.lag_share)

    def test_a_rate_short_of_its_target_warns_with_the_share(self):
        records = [make_record(i, start=i * 125 * MS) for i in range(5)]  # 8 requests/s

        got = compute_run_metrics(records, facts(requested_request_rate=10.0))

        assert 0.8 == pytest.approx(got.health.rate_share)
        assert "the achieved rate was 80% of the target (8.0 of 10 requests/s)" in (
            got.health.warning)

    def test_loop_lag_is_judged_against_the_time_to_first_token(self):
        # A 20 ms TTFT and the loop waking 2 ms late on average: 10%.
        records = [make_record(i, start=i * 100 * MS) for i in range(3)]

        got = compute_run_metrics(records, facts(loop_lag_ms=[1.0, 3.0]))

        assert 0.1 == pytest.approx(got.health.loop_lag_share)
        assert "the event loop woke 2.0 ms late on average" in got.health.warning
        assert "about 10% of the time to first token" in got.health.warning

    def test_lags_under_the_timer_resolution_never_warn(self):
        assert client_bottleneck_warning(scheduling_lag_avg_ms=0.9, lag_share=0.5,
                                         event_loop_lag_avg_ms=0.9, loop_lag_share=0.5) is None

    def test_at_the_threshold_is_fine(self):
        limits = BottleneckThresholds()

        assert client_bottleneck_warning(
            scheduling_lag_avg_ms=5.0, lag_share=limits.lag_share,
            event_loop_lag_avg_ms=5.0, loop_lag_share=limits.loop_lag_share,
            achieved_request_rate=limits.rate_share * 10, requested_request_rate=10.0,
        ) is None

    def test_a_busy_cpu_alone_is_no_warning_but_is_named_as_the_cause(self):
        assert client_bottleneck_warning(client_cpu_fraction=0.99) is None

        got = client_bottleneck_warning(scheduling_lag_avg_ms=5.0, lag_share=0.2,
                                        client_cpu_fraction=0.97)

        assert "the client used 97% of a CPU core" in got

    def test_custom_thresholds(self):
        got = compute_run_metrics(
            small_run(), facts(loop_lag_ms=[1.5]),
            thresholds=BottleneckThresholds(loop_lag_share=0.01),
        )

        assert "event loop" in got.health.warning

    def test_connection_setup_is_kept_out_of_the_scheduling_lag(self):
        record = attrs.evolve(make_record(0, lag_ms=12), connect_ns=10 * MS)

        got = record_metrics(record, streaming=True)

        assert 2.0 == pytest.approx(got.get("scheduling_lag"))
        assert 10.0 == pytest.approx(got.get("connection_setup"))

    def test_a_pooled_request_has_no_connection_setup(self):
        got = record_metrics(make_record(0, lag_ms=3), streaming=True)

        assert got.get("connection_setup") is None
        assert 3.0 == pytest.approx(got.get("scheduling_lag"))
