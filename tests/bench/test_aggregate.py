"""The multi-trial aggregate (aiperf.bench.aggregate): Student-t quantiles
(aiperf.student_t), confidence statistics across trials, and the aggregate JSON/CSV files."""

from __future__ import annotations

import csv
import io
import json
import math
import statistics

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from metrics_helpers import FIXTURE_DIR

from aiperf.bench.aggregate import (
    AGGREGATE_CSV,
    AGGREGATE_JSON,
    CSV_COLUMNS,
    METHOD,
    Confidence,
    aggregate_summaries,
    render_aggregate_csv,
    render_aggregate_json,
    write_aggregate,
)
from aiperf.student_t import t_critical

# --------------------------------------------------------------------------- t quantiles

#: Two-sided critical values t(level, dof) for level 0.90, 0.95, 0.99 (the 0.95, 0.975 and
#: 0.995 quantiles), to 9 decimals. They agree with the usual 3-decimal textbook tables
#: (12.706, 4.303, 3.182, 2.776, ... 2.042, 2.000, 1.980) and were computed with
#: :func:`reference_t` below, which shares no code with the module under test.
T_TABLE = {
    1: (6.313751515, 12.706204736, 63.656741163),
    2: (2.919985580, 4.302652730, 9.924843201),
    3: (2.353363435, 3.182446305, 5.840909310),
    4: (2.131846786, 2.776445105, 4.604094871),
    5: (2.015048373, 2.570581836, 4.032142984),
    6: (1.943180281, 2.446911851, 3.707428021),
    7: (1.894578605, 2.364624252, 3.499483297),
    8: (1.859548038, 2.306004135, 3.355387331),
    9: (1.833112933, 2.262157163, 3.249835542),
    10: (1.812461123, 2.228138852, 3.169272673),
    11: (1.795884819, 2.200985160, 3.105806516),
    12: (1.782287556, 2.178812830, 3.054539589),
    13: (1.770933396, 2.160368656, 3.012275839),
    14: (1.761310136, 2.144786688, 2.976842734),
    15: (1.753050356, 2.131449546, 2.946712883),
    16: (1.745883676, 2.119905299, 2.920781622),
    17: (1.739606726, 2.109815578, 2.898230520),
    18: (1.734063607, 2.100922040, 2.878440473),
    19: (1.729132812, 2.093024054, 2.860934606),
    20: (1.724718243, 2.085963447, 2.845339710),
    21: (1.720742903, 2.079613845, 2.831359558),
    22: (1.717144374, 2.073873068, 2.818756061),
    23: (1.713871528, 2.068657610, 2.807335684),
    24: (1.710882080, 2.063898562, 2.796939505),
    25: (1.708140761, 2.059538553, 2.787435814),
    26: (1.705617920, 2.055529439, 2.778714533),
    27: (1.703288446, 2.051830516, 2.770682957),
    28: (1.701130934, 2.048407142, 2.763262455),
    29: (1.699127027, 2.045229642, 2.756385904),
    30: (1.697260887, 2.042272456, 2.749995654),
    60: (1.670648865, 2.000297822, 2.660283029),
    120: (1.657650899, 1.979930405, 2.617421145),
}
LEVELS = (0.90, 0.95, 0.99)


def two_sided_probability(t: float, dof: int) -> float:
    """``P(|T| <= t)`` for integer ``dof``: the finite trigonometric series of Abramowitz
    & Stegun 26.7.3 (odd dof) and 26.7.4 (even dof), with ``theta = atan(t / sqrt(dof))``."""
    theta = math.atan(t / math.sqrt(dof))
    c2 = math.cos(theta) ** 2
    if dof % 2:
        series = 0.0
        if dof > 1:
            series = term = 1.0
            for k in range(1, (dof - 3) // 2 + 1):
                term *= c2 * (2 * k) / (2 * k + 1)
                series += term
            series *= math.sin(theta) * math.cos(theta)
        return 2.0 / math.pi * (theta + series)
    series = term = 1.0
    for k in range(1, (dof - 2) // 2 + 1):
        term *= c2 * (2 * k - 1) / (2 * k)
        series += term
    return math.sin(theta) * series


def reference_t(level: float, dof: int) -> float:
    """The critical value by bisection on :func:`two_sided_probability`."""
    low, high = 0.0, 1.0
    while two_sided_probability(high, dof) < level:
        high *= 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if two_sided_probability(mid, dof) < level:
            low = mid
        else:
            high = mid
    return (low + high) / 2.0


class TestTCritical:
    def test_the_documented_example(self):
        assert t_critical(0.95, 4) == pytest.approx(2.7764, abs=1e-4)

    @pytest.mark.parametrize("dof", sorted(T_TABLE))
    def test_table_values(self, dof):
        for level, expected in zip(LEVELS, T_TABLE[dof], strict=True):
            assert abs(t_critical(level, dof) - expected) < 1e-6, (level, dof)

    @pytest.mark.parametrize("dof", [1, 2, 3, 4, 7, 31, 99, 500, 2001, 5000])
    @pytest.mark.parametrize("level", [0.5, 0.8, 0.9, 0.95, 0.975, 0.99, 0.999])
    def test_agrees_with_an_independent_series(self, level, dof):
        """Far tighter than the table: the incomplete-beta inversion and the trigonometric
        series agree to about 1e-13."""
        assert t_critical(level, dof) == pytest.approx(reference_t(level, dof), rel=1e-11)

    def test_closed_forms_for_one_and_two_dof(self):
        # dof 1 is the Cauchy distribution, dof 2 has t = (2p-1) / sqrt(2p(1-p)).
        assert t_critical(0.95, 1) == pytest.approx(math.tan(math.pi * 0.475), rel=1e-14)
        p = 0.975
        assert t_critical(0.95, 2) == pytest.approx(
            (2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-14
        )

    @pytest.mark.parametrize("level", [0.0, 1.0, -0.5, 1.5, math.nan])
    def test_level_outside_the_open_unit_interval_is_refused(self, level):
        with pytest.raises(ValueError, match="confidence level"):
            t_critical(level, 3)

    @pytest.mark.parametrize("dof", [0, -1])
    def test_fewer_than_one_dof_is_refused(self, dof):
        with pytest.raises(ValueError, match="degrees of freedom"):
            t_critical(0.95, dof)

    @given(
        level=st.floats(0.5, 0.999),
        dof=st.integers(1, 200_000),
        more=st.integers(1, 1000),
    )
    def test_decreases_with_dof(self, level, dof, more):
        assert t_critical(level, dof + more) < t_critical(level, dof)

    @given(
        level=st.floats(0.5, 0.999),
        higher=st.floats(0.5, 0.999),
        dof=st.integers(1, 10**9),
    )
    def test_increases_with_level(self, level, higher, dof):
        assume(higher > level + 1e-6)
        assert t_critical(higher, dof) > t_critical(level, dof)

    @given(level=st.floats(0.5, 0.999), dof=st.integers(1_000, 10**12))
    def test_tends_to_the_normal_quantile(self, level, dof):
        """t lies above z and within the first term of its expansion in 1/dof,
        (z**3 + z) / (4 dof), which shrinks to nothing."""
        z = statistics.NormalDist().inv_cdf((1 + level) / 2)
        first_term = (z**3 + z) / (4 * dof)
        t = t_critical(level, dof)
        assert z - 1e-12 <= t <= z + 1.01 * first_term + 1e-12


# --------------------------------------------------------------------------- aggregation


def summary(**metrics) -> dict:
    """A summary like ours: non-metric keys around metric blocks."""
    return {
        "schema_version": "1.4",
        "aiperf_version": "0.1.0",
        "benchmark_id": "abc",
        **metrics,
        "input_config": {"endpoint": {"model_names": ["m"]}, "unit": {"x": 1}},
        "run_info": {"benchmark_id": "abc", "trial": 1},
        "was_cancelled": False,
        "is_complete": True,
        "error_summary": [],
        "start_time": "2026-01-01T00:00:00",
        "statistics": {"std": "population (ddof=0)"},
        "client_health": {"client_bound": False, "scheduling_lag_p99_ms": 1.5},
    }


def three_trials() -> list[dict]:
    return [
        summary(request_latency={"unit": "ms", "avg": 10.0, "p99": 20.0, "count": 100},
                request_throughput={"unit": "requests/sec", "avg": 5.0}),
        summary(request_latency={"unit": "ms", "avg": 12.0, "p99": 20.0, "count": 100},
                request_throughput={"unit": "requests/sec", "avg": 5.0}),
        summary(request_latency={"unit": "ms", "avg": 14.0, "p99": 26.0, "count": 100},
                request_throughput={"unit": "requests/sec", "avg": 5.0}),
    ]


T95_2 = T_TABLE[2][1]  # 4.302652730: 3 trials, 2 degrees of freedom


class TestAggregateSummaries:
    def test_three_trials_by_hand(self):
        """request_latency avg over the trials 10, 12, 14:
        mean = 36 / 3 = 12; deviations -2, 0, 2; squares sum to 8; variance 8 / (3-1) = 4;
        std = 2; se = 2 / sqrt(3) = 1.1547005; t(0.95, 2) = 4.3026527;
        margin = 4.3026527 * 1.1547005 = 4.9682750; interval [7.0317250, 16.9682750];
        cv = 2 / 12 = 0.1666667.

        p99 over 20, 20, 26: mean 66 / 3 = 22; deviations -2, -2, 4; squares 4 + 4 + 16 = 24;
        variance 12; std = sqrt(12) = 3.4641016; se = sqrt(12 / 3) = 2 exactly;
        margin = 2 * 4.3026527 = 8.6053055; interval [13.3946945, 30.6053055];
        cv = 3.4641016 / 22 = 0.1574592.
        """
        result = aggregate_summaries(three_trials(), 0.95)

        avg = result["request_latency"]["avg"]
        assert avg.n == 3
        assert (avg.mean, avg.std, avg.min, avg.max) == (12.0, 2.0, 10.0, 14.0)
        assert avg.se == pytest.approx(1.1547005, abs=1e-7)
        assert avg.t_critical == pytest.approx(4.3026527, abs=1e-7)
        assert avg.ci_low == pytest.approx(7.0317250, abs=1e-6)
        assert avg.ci_high == pytest.approx(16.9682750, abs=1e-6)
        assert avg.cv == pytest.approx(1 / 6)

        p99 = result["request_latency"]["p99"]
        assert (p99.mean, p99.min, p99.max) == (22.0, 20.0, 26.0)
        assert p99.std == pytest.approx(math.sqrt(12))
        assert p99.se == pytest.approx(2.0)
        assert p99.ci_low == pytest.approx(22 - 2 * T95_2)
        assert p99.ci_high == pytest.approx(22 + 2 * T95_2)
        assert p99.cv == pytest.approx(math.sqrt(12) / 22)

    def test_equal_values_have_no_spread(self):
        """request_throughput is 5.0 in every trial; count 100 too (ints become floats)."""
        result = aggregate_summaries(three_trials())

        assert result["request_throughput"]["avg"] == Confidence(
            mean=5.0, std=0.0, min=5.0, max=5.0, cv=0.0, se=0.0, ci_low=5.0, ci_high=5.0,
            t_critical=pytest.approx(T95_2), n=3,
        )
        count = result["request_latency"]["count"]
        assert (count.mean, count.std, count.ci_low, count.ci_high) == (100.0, 0.0, 100.0, 100.0)
        assert isinstance(count.mean, float)

    def test_tags_and_stats_in_order_of_appearance(self):
        result = aggregate_summaries(three_trials())

        assert list(result) == ["request_latency", "request_throughput"]
        assert list(result["request_latency"]) == ["avg", "p99", "count"]

    def test_only_numeric_stats_of_metric_blocks(self):
        """A metric is a mapping with a string unit: input_config, run_info, statistics and
        client_health are not metrics; booleans, strings, None and non-finite values are
        not statistics."""
        trial = summary(
            ttft={"unit": "ms", "avg": 1.0, "flag": True, "note": "x", "p50": None,
                  "p90": math.nan, "p99": math.inf},
            odd={"unit": 3, "avg": 1.0},
        )

        assert {"ttft": ["avg"]} == {
            tag: list(stats) for tag, stats in aggregate_summaries([trial, trial]).items()
        }

    def test_single_trial(self):
        """n == 1: no interval, std/se/cv 0, t_critical 0.0 (not NaN)."""
        result = aggregate_summaries(three_trials()[:1])

        assert result["request_latency"]["avg"] == Confidence(
            mean=10.0, std=0.0, min=10.0, max=10.0, cv=0.0, se=0.0, ci_low=10.0,
            ci_high=10.0, t_critical=0.0, n=1,
        )

    def test_metric_missing_in_one_trial(self):
        """ttft only in trials 1 and 3 (4 and 8): mean 6, std sqrt(8) = 2.8284271,
        se = 2.8284271 / sqrt(2) = 2, t(0.95, 1) = 12.7062047, interval 6 ± 25.4124095."""
        trials = three_trials()
        trials[0]["ttft"] = {"unit": "ms", "avg": 4.0}
        trials[2]["ttft"] = {"unit": "ms", "avg": 8.0}

        result = aggregate_summaries(trials)

        ttft = result["ttft"]["avg"]
        assert ttft.n == 2
        assert ttft.mean == 6.0
        assert ttft.std == pytest.approx(math.sqrt(8))
        assert ttft.se == pytest.approx(2.0)
        assert ttft.t_critical == pytest.approx(12.7062047, abs=1e-7)
        assert ttft.ci_low == pytest.approx(6 - 25.4124095, abs=1e-6)
        assert ttft.ci_high == pytest.approx(6 + 25.4124095, abs=1e-6)
        assert result["request_latency"]["avg"].n == 3

    def test_stat_missing_in_one_trial(self):
        trials = three_trials()
        del trials[1]["request_latency"]["p99"]

        p99 = aggregate_summaries(trials)["request_latency"]["p99"]

        assert (p99.n, p99.mean, p99.std) == (2, 23.0, pytest.approx(math.sqrt(18)))

    def test_metric_in_one_trial_only_has_no_interval(self):
        trials = three_trials()
        trials[1]["ttft"] = {"unit": "ms", "avg": 4.0}

        ttft = aggregate_summaries(trials)["ttft"]["avg"]

        assert (ttft.n, ttft.mean, ttft.ci_low, ttft.ci_high, ttft.t_critical) == (
            1, 4.0, 4.0, 4.0, 0.0)

    def test_zero_mean_has_no_cv(self):
        trials = [summary(err={"unit": "%", "avg": v}) for v in (-1.0, 0.0, 1.0)]

        err = aggregate_summaries(trials)["err"]["avg"]

        assert err.mean == 0.0
        assert err.cv is None
        assert err.std == 1.0
        assert err.ci_low == pytest.approx(-T95_2 / math.sqrt(3))

    def test_negative_mean_has_negative_cv(self):
        trials = [summary(d={"unit": "ms", "avg": v}) for v in (-1.0, -3.0)]

        assert aggregate_summaries(trials)["d"]["avg"].cv == pytest.approx(-math.sqrt(2) / 2)

    @pytest.mark.parametrize(("level", "t"), [(0.90, T_TABLE[2][0]), (0.99, T_TABLE[2][2])])
    def test_other_levels(self, level, t):
        """Same avg values 10, 12, 14 (se = 2 / sqrt(3)); only t changes."""
        avg = aggregate_summaries(three_trials(), level)["request_latency"]["avg"]

        assert avg.t_critical == pytest.approx(t, abs=1e-9)
        assert avg.ci_low == pytest.approx(12 - t * 2 / math.sqrt(3))
        assert avg.ci_high == pytest.approx(12 + t * 2 / math.sqrt(3))

    def test_interval_widens_with_the_level(self):
        widths = [
            (lambda c: c.ci_high - c.ci_low)(
                aggregate_summaries(three_trials(), level)["request_latency"]["avg"])
            for level in LEVELS
        ]
        assert widths == sorted(widths)
        assert len(set(widths)) == 3

    def test_no_summaries_no_metrics(self):
        assert aggregate_summaries([]) == {}

    def test_bad_level(self):
        with pytest.raises(ValueError, match="confidence level"):
            aggregate_summaries(three_trials(), 95)

    @given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=12))
    def test_invariants(self, values):
        trials = [summary(m={"unit": "ms", "avg": v}) for v in values]

        c = aggregate_summaries(trials)["m"]["avg"]

        assert c.n == len(values)
        assert c.min <= c.mean <= c.max
        assert c.ci_low <= c.mean <= c.ci_high
        assert c.std == pytest.approx(statistics.stdev(values), rel=1e-9, abs=1e-9)
        assert c.se == pytest.approx(c.std / math.sqrt(c.n))


# --------------------------------------------------------------------------- files

TRIALS = ["run_0001", "run_0002", "run_0003"]


def leftovers(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


class TestAggregateJson:
    def test_shape(self):
        doc = json.loads(render_aggregate_json(TRIALS, three_trials(), 0.95, ["run_0004"]))

        assert list(doc) == ["schema_version", "aiperf_version", "metadata", "aggregation",
                             "metrics"]
        assert doc["schema_version"] == "1.0"
        assert doc["metadata"] == {
            "aggregation_type": "confidence",
            "num_profile_runs": 4,
            "num_successful_runs": 3,
            "failed_runs": [{"label": "run_0004", "error": None}],
            "confidence_level": 0.95,
            "run_labels": TRIALS,
            "single_run": False,
        }
        aggregation = doc["aggregation"]
        assert aggregation["confidence_level"] == 0.95
        assert aggregation["num_trials"] == 3
        assert aggregation["trials"] == TRIALS
        assert aggregation["failed_trials"] == ["run_0004"]
        assert aggregation["method"] == METHOD
        assert "t_critical is written as 0.0" in aggregation["single_value"]

        assert list(doc["metrics"]) == [
            "request_latency_avg", "request_latency_p99", "request_latency_count",
            "request_throughput_avg",
        ]
        entry = doc["metrics"]["request_latency_avg"]
        assert list(entry) == ["mean", "std", "min", "max", "cv", "se", "ci_low", "ci_high",
                               "t_critical", "unit", "n"]
        assert entry["unit"] == "ms"
        assert entry["n"] == 3
        assert entry["mean"] == 12.0
        assert entry["ci_low"] == pytest.approx(12 - T95_2 * 2 / math.sqrt(3))

    def test_round_trips_to_the_confidences(self):
        """Every <tag>_<stat> entry splits back at its last underscore (no stat name has
        one) into exactly what aggregate_summaries computed."""
        trials = three_trials()
        doc = json.loads(render_aggregate_json(TRIALS, trials, 0.99))

        expected = aggregate_summaries(trials, 0.99)
        rebuilt: dict = {}
        for key, entry in doc["metrics"].items():
            tag, stat = key.rsplit("_", 1)
            fields = {k: v for k, v in entry.items() if k != "unit"}
            rebuilt.setdefault(tag, {})[stat] = Confidence(**fields)
        assert rebuilt == expected

    def test_single_trial_writes_no_nan(self):
        text = render_aggregate_json(TRIALS[:1], three_trials()[:1], 0.95)

        doc = json.loads(text)  # allow_nan=False when writing: NaN would have raised
        assert "NaN" not in text and "Infinity" not in text
        assert doc["metadata"]["single_run"] is True
        entry = doc["metrics"]["request_latency_avg"]
        assert (entry["t_critical"], entry["ci_low"], entry["ci_high"], entry["n"]) == (
            0.0, 10.0, 10.0, 1)

    def test_zero_mean_cv_is_null(self):
        trials = [summary(err={"unit": "%", "avg": v}) for v in (-1.0, 1.0)]

        doc = json.loads(render_aggregate_json(["a", "b"], trials, 0.95))

        assert doc["metrics"]["err_avg"]["cv"] is None

    def test_failed_trials_with_errors_and_extra_metadata(self):
        doc = json.loads(render_aggregate_json(
            TRIALS, three_trials(), 0.95, {"run_0004": "connection refused", "run_0005": None},
            metadata={"model": "m", "cooldown_seconds": 2.0},
        ))

        meta = doc["metadata"]
        assert meta["failed_runs"] == [
            {"label": "run_0004", "error": "connection refused"},
            {"label": "run_0005", "error": None},
        ]
        assert meta["num_profile_runs"] == 5
        assert (meta["model"], meta["cooldown_seconds"]) == ("m", 2.0)
        assert doc["aggregation"]["failed_trials"] == ["run_0004", "run_0005"]

    def test_extra_metadata_cannot_override_computed_keys(self):
        with pytest.raises(ValueError, match="num_successful_runs"):
            render_aggregate_json(TRIALS, three_trials(), 0.95,
                                  metadata={"num_successful_runs": 9})

    def test_ambiguous_flat_key_is_refused(self):
        trial = summary(a_b={"unit": "ms", "c": 1.0}, a={"unit": "ms", "b_c": 2.0})

        with pytest.raises(ValueError, match="'a_b_c'"):
            render_aggregate_json(["x"], [trial], 0.95)

    def test_the_reference_summary(self):
        """The reference's own summary aggregates: its metric blocks and nothing else
        (telemetry_data has no unit)."""
        reference = json.loads((FIXTURE_DIR / "profile_export_aiperf.json").read_text())
        slower = json.loads(json.dumps(reference))
        slower["request_latency"]["avg"] *= 1.5

        doc = json.loads(render_aggregate_json(["a", "b"], [reference, slower], 0.95))

        tags = {key.rsplit("_", 1)[0] for key in doc["metrics"]}
        expected = {k for k, v in reference.items() if isinstance(v, dict) and "unit" in v}
        assert tags == expected
        assert "telemetry_data" not in tags
        latency = doc["metrics"]["request_latency_avg"]
        assert latency["mean"] == pytest.approx(reference["request_latency"]["avg"] * 1.25)
        assert doc["metrics"]["request_latency_p99"]["std"] == 0.0


class TestAggregateCsv:
    def test_layout(self):
        text = render_aggregate_csv(TRIALS, three_trials(), 0.95, ["run_0004"])

        assert text.endswith("\r\n")
        assert "\n" not in text.replace("\r\n", "")
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == list(CSV_COLUMNS)
        assert rows[0] == ["metric", "mean", "std", "min", "max", "cv", "se", "ci_low",
                           "ci_high", "t_critical", "unit", "n"]
        # Sorted by tag; a tag's stats in summary order.
        assert [r[0] for r in rows[1:5]] == [
            "request_latency_avg", "request_latency_p99", "request_latency_count",
            "request_throughput_avg",
        ]
        # 2 decimals; 4 for cv, se and t_critical; n bare.
        assert rows[1] == ["request_latency_avg", "12.00", "2.00", "10.00", "14.00", "0.1667",
                           "1.1547", "7.03", "16.97", "4.3027", "ms", "3"]
        assert rows[5] == []
        assert rows[6:] == [
            ["Aggregation Type", "confidence"],
            ["Total Runs", "4"],
            ["Successful Runs", "3"],
            ["Failed Runs", "run_0004"],
            ["Confidence Level", "0.95"],
            ["Run Labels", "run_0001;run_0002;run_0003"],
            ["Single Run", "False"],
        ]

    def test_sorted_by_tag(self):
        trials = [summary(zeta={"unit": "ms", "avg": 1.0}, alpha={"unit": "ms", "avg": 2.0})]

        rows = list(csv.reader(io.StringIO(render_aggregate_csv(["a"], trials, 0.95))))

        assert [r[0] for r in rows[1:3]] == ["alpha_avg", "zeta_avg"]

    def test_zero_mean_cv_is_empty(self):
        trials = [summary(err={"unit": "%", "avg": v}) for v in (-1.0, 1.0)]

        rows = list(csv.reader(io.StringIO(render_aggregate_csv(["a", "b"], trials, 0.95))))

        assert rows[1][CSV_COLUMNS.index("cv")] == ""
        assert rows[1][CSV_COLUMNS.index("t_critical")] == "12.7062"

    def test_extra_metadata_rows(self):
        text = render_aggregate_csv(TRIALS, three_trials(), 0.9,
                                    metadata={"variation_values": [1, 2], "sweep_mode": "grid"})

        rows = list(csv.reader(io.StringIO(text)))
        assert rows[-2:] == [["Variation Values", "1;2"], ["Sweep Mode", "grid"]]


class TestWriteAggregate:
    def test_writes_both_files(self, tmp_path):
        folder = tmp_path / "aggregate"

        paths = write_aggregate(folder, TRIALS, three_trials(), 0.95, ["run_0004"])

        assert paths == {"json": folder / AGGREGATE_JSON, "csv": folder / AGGREGATE_CSV}
        assert AGGREGATE_JSON == "profile_export_aiperf_aggregate.json"
        assert AGGREGATE_CSV == "profile_export_aiperf_aggregate.csv"
        assert sorted(p.name for p in folder.iterdir()) == sorted([AGGREGATE_CSV,
                                                                   AGGREGATE_JSON])
        assert leftovers(folder) == []
        doc = json.loads(paths["json"].read_text(encoding="utf-8"))
        assert doc["aggregation"]["trials"] == TRIALS
        assert paths["json"].read_text(encoding="utf-8") == render_aggregate_json(
            TRIALS, three_trials(), 0.95, ["run_0004"])
        assert paths["csv"].read_bytes().decode("utf-8") == render_aggregate_csv(
            TRIALS, three_trials(), 0.95, ["run_0004"])
        assert b"\r\n" in paths["csv"].read_bytes()

    def test_replaces_an_older_aggregate(self, tmp_path):
        write_aggregate(tmp_path, TRIALS, three_trials(), 0.95)

        write_aggregate(tmp_path, TRIALS[:2], three_trials()[:2], 0.99)

        doc = json.loads((tmp_path / AGGREGATE_JSON).read_text())
        assert doc["aggregation"]["num_trials"] == 2
        assert doc["aggregation"]["confidence_level"] == 0.99
        assert leftovers(tmp_path) == []

    @pytest.mark.parametrize(
        ("names", "summaries", "level", "message"),
        [
            (TRIALS[:2], three_trials(), 0.95, "2 trial names for 3 summaries"),
            ([], [], 0.95, "no successful trial"),
            (TRIALS, three_trials(), 1.0, "confidence level"),
        ],
    )
    def test_refused_before_anything_is_written(self, tmp_path, names, summaries, level,
                                                message):
        with pytest.raises(ValueError, match=message):
            write_aggregate(tmp_path / "agg", names, summaries, level)

        assert not (tmp_path / "agg").exists()
