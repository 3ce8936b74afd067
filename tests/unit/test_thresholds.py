"""Threshold expressions (``--fail-on``, ``benchmark.thresholds``): the syntax, and the
errors a bad one gives when the configuration is loaded (with file:line and a
did-you-mean), never at the end of a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiperf.config import ConfigErrors, load
from aiperf.config.thresholds import Threshold, ThresholdError, parse_threshold


def _errors(tmp_path: Path, yaml: str = "", cli: dict | None = None) -> list:
    files = []
    if yaml:
        path = tmp_path / "bench.yaml"
        path.write_text(yaml)
        files.append(path)
    with pytest.raises(ConfigErrors) as info:
        load(files, cli or {}, {}).check()
    return list(info.value.errors)


@pytest.mark.parametrize(("text", "expected"), [
    ("time_to_first_token.p95<200", ("time_to_first_token", "p95", "<", 200.0)),
    ("request_error_rate<=1", ("request_error_rate", "avg", "<=", 1.0)),
    ("request_error_rate.avg <= 1", ("request_error_rate", "avg", "<=", 1.0)),
    (" request_throughput >= 2.5 ", ("request_throughput", "avg", ">=", 2.5)),
    ("inter_token_latency.std>0", ("inter_token_latency", "std", ">", 0.0)),
    ("error_request_count==0", ("error_request_count", "avg", "==", 0.0)),
])
def test_a_threshold_is_metric_stat_op_limit(text, expected):
    got = parse_threshold(text)
    assert expected == (got.metric, got.stat, got.op, got.limit)
    assert text.strip() == got.text


def test_a_threshold_holds_when_the_comparison_is_true():
    assert Threshold("request_error_rate", "avg", "<=", 1.0, "x").holds(1.0)
    assert not Threshold("request_error_rate", "avg", "<", 1.0, "x").holds(1.0)


@pytest.mark.parametrize(("text", "words"), [
    ("time_to_frist_token.p95<200", ["unknown metric", "did you mean 'time_to_first_token'"]),
    ("time_to_first_token.p96<200", ["unknown statistic 'p96'", "did you mean"]),
    ("time_to_first_token<200", ["is a distribution", "time_to_first_token.p95"]),
    ("request_error_rate.p95<1", ["one value per run", "give no statistic"]),
    ("request_error_rate 1", ["is not a threshold", "METRIC[.STAT] OP LIMIT"]),
    ("request_error_rate<=one", ["is not a number"]),
    ("request_error_rate<=nan", ["finite number"]),
])
def test_a_bad_threshold_says_what_is_wrong(text, words):
    with pytest.raises(ThresholdError) as info:
        parse_threshold(text)
    for word in words:
        assert word in str(info.value)


def test_an_unknown_metric_in_yaml_is_a_config_error_at_its_line(tmp_path):
    [error] = _errors(tmp_path, "benchmark:\n  thresholds:\n    - request_error_rate<=1\n"
                                "    - time_to_frist_token.p95<200\n")
    assert (error.code, error.line, error.key) == ("bad-threshold", 4, "benchmark.thresholds")
    assert str(tmp_path / "bench.yaml") == error.file
    assert "did you mean 'time_to_first_token'?" in error.message


def test_an_unknown_statistic_in_yaml_is_a_config_error_at_its_line(tmp_path):
    [error] = _errors(tmp_path, "benchmark:\n  thresholds:\n    - time_to_first_token.p42<9\n")
    assert (error.code, error.line) == ("bad-threshold", 3)
    assert "unknown statistic 'p42'" in error.message


def test_a_bad_fail_on_flag_is_a_config_error_naming_the_flag(tmp_path):
    [error] = _errors(tmp_path, cli={"benchmark.thresholds": ["request_eror_rate<=1"]})
    assert "--fail-on" in error.file
    assert "did you mean 'request_error_rate'?" in error.message


def test_fail_on_is_repeatable_and_replaces_the_files_list(tmp_path):
    path = tmp_path / "bench.yaml"
    path.write_text("benchmark:\n  thresholds:\n    - request_error_rate<=1\n")
    cli = {"benchmark.thresholds": ["request_count>1", "request_latency.p99<1000"]}
    resolved = load([path], cli, {}).check()
    assert ("request_count>1", "request_latency.p99<1000") == tuple(
        resolved.config.benchmark.thresholds)


def test_no_thresholds_by_default():
    assert load([], {}, {}).check().config.benchmark.thresholds is None
