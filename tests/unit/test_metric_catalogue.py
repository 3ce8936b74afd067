"""The metric catalogue is the one place a metric is declared: every other list of
metrics is a projection of it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from aiperf import metric_catalogue
from aiperf.bench import export, sweep_aggregate
from aiperf.bench.metrics import (
    DISTRIBUTION_METRICS,
    RECORD_METRICS,
    RECORD_TAGS,
    SCALAR_METRICS,
    metric_info,
)
from aiperf.config import metric_tags
from aiperf.metric_catalogue import (
    CONSOLE_TABLES,
    METRICS,
    METRICS_BY_TAG,
    RECORD,
    SAMPLED,
    SCALAR,
    console_rows,
    declared_summary_tags,
    sweep_columns,
)
from aiperf.plot.figure import metric_label


def test_tags_are_unique():
    """No tag is declared twice."""
    tags = [m.tag for m in METRICS]

    assert len(set(tags)) == len(tags)
    assert list(METRICS_BY_TAG) == tags


def test_the_catalogue_lists_record_then_sampled_then_scalar_metrics():
    """JSONL order first, then the runner's samples, then the run-level values."""
    kinds = [m.kind for m in METRICS]

    assert sorted(kinds, key=[RECORD, SAMPLED, SCALAR].index) == kinds


def test_bench_views_are_projections_of_the_catalogue():
    """The bench's metric tuples are the catalogue's rows of each kind, in its order."""
    assert tuple(m for m in METRICS if m.kind == RECORD) == RECORD_METRICS
    assert tuple(m for m in METRICS if m.kind == SAMPLED) == DISTRIBUTION_METRICS
    assert tuple(m for m in METRICS if m.kind == SCALAR) == SCALAR_METRICS
    assert {m.tag for m in RECORD_METRICS} == RECORD_TAGS
    assert all(metric_info(m.tag) is m for m in METRICS)


def test_config_tags_are_projections_of_the_catalogue():
    """A threshold may name every metric; its kind and the counters that are absent when
    zero come from the catalogue."""
    expected = {m.tag: metric_tags.DISTRIBUTION if m.kind in (RECORD, SAMPLED)
                else metric_tags.SCALAR for m in METRICS}

    assert expected == dict(metric_tags.METRIC_KINDS)
    assert {m.tag for m in METRICS if m.zero_when_absent} == metric_tags.ZERO_WHEN_ABSENT


def test_only_counters_are_zero_when_absent():
    """Leaving a distribution out for being zero would make no sense."""
    assert all(m.kind == SCALAR for m in METRICS if m.zero_when_absent)


def test_console_tables_in_the_references_order():
    """The "LLM Metrics" rows are the reference's, in its order; the health table is
    ours. A table's positions are unique and put its distributions before its scalars,
    as it is printed."""
    assert (
        ("time_to_first_token", "time_to_second_token", "time_to_first_output_token",
         "request_latency", "decode_duration", "inter_token_latency",
         "output_token_throughput_per_user", "e2e_output_token_throughput",
         "output_sequence_length", "input_sequence_length"),
        ("output_token_throughput", "input_token_throughput", "request_throughput",
         "completed_request_count", "request_error_rate", "request_count",
         "error_request_count", "cancelled_request_count", "goodput",
         "good_request_fraction"),
    ) == console_rows("llm")
    assert (("scheduling_lag", "event_loop_lag", "connection_setup"),
            ("requested_request_rate", "achieved_request_rate")) == console_rows("health")
    for table in CONSOLE_TABLES:
        rows = [m for m in METRICS if m.console is not None and m.console[0] == table]
        ranks = sorted((m.console[1], m.distribution) for m in rows if m.console)

        assert len({rank for rank, _ in ranks}) == len(ranks)
        assert [d for _, d in ranks] == sorted((d for _, d in ranks), reverse=True)
    assert all(m.ours for m in METRICS if m.console and m.console[0] == "health")


def test_summary_json_declared_keys_follow_the_catalogue():
    """The summary JSON's leading keys are the catalogue's declared ones, by position."""
    positions = [m.declared for m in METRICS if m.declared is not None]

    assert len(set(positions)) == len(positions)
    assert declared_summary_tags() == export._DECLARED_TAGS
    assert declared_summary_tags()[:4] == (
        "request_throughput", "request_latency", "request_count", "time_to_first_token")


def test_sweep_columns_follow_the_catalogue():
    """The sweep table's metric columns are the catalogue's, numbered 1..n without gaps,
    each a statistic the metric reports."""
    positions = sorted(position for m in METRICS for _, position in m.sweep)

    assert list(range(1, len(positions) + 1)) == positions
    assert [(f"{t}_{s}", t, s) for t, s in sweep_columns()] == list(sweep_aggregate.KEY_METRICS)
    for tag, stat in sweep_columns():
        assert stat in metric_tags.stats_of(tag)


def test_plot_labels_come_from_the_catalogue():
    """A metric with a plot label is named by it on an axis, with its unit shortened."""
    assert "time to first token p50 (ms)" == metric_label("time_to_first_token", "p50")
    assert "request throughput avg (requests/s)" == metric_label("request_throughput", "avg")
    for m in METRICS:
        if m.plot_label is not None:
            assert metric_label(m.tag, "avg").startswith(f"{m.plot_label} avg (")
    assert "decode duration p50" == metric_label("decode_duration", "p50")


def test_the_catalogue_imports_only_the_standard_library_and_attrs():
    """config, bench and plot all read it: it must stay light."""
    tree = ast.parse(Path(metric_catalogue.__file__).read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom)}

    assert set() == imported - set(sys.stdlib_module_names) - {"attrs", "__future__"}
