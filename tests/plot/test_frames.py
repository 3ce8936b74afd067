"""Loading runs into pandas tables (aiperf.plot.frames), from real run files.

Two tiny runs are made once per module with the real CLI (``python -m aiperf profile``
against the built-in simulator): a clean streaming run, and one where the simulator fails
some requests (and with ``--profile-export-prefix``). The NVIDIA AIPerf 0.13 fixture is
copied before use. Cases our CLI does not produce (warm-up records in the JSONL, corrupt
lines, timeslice and GPU exports) are made by editing copies of those files.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from aiperf.artifacts.manifest import read_run
from aiperf.plot.frames import LoadedRun, NoData, load_run, runs_table

FIXTURE = Path(__file__).parents[1] / "fixtures" / "aiperf-0.13" / "single-chat-c4"
SIM = "sim://?mode=deterministic&ttft_ms=2&itl_ms=1"

REQUEST_COLUMNS = [
    "request_number", "start_ns", "end_ns", "start_s", "end_s", "ttft_ms", "ttst_ms",
    "itl_ms", "latency_ms", "isl", "osl", "per_user_tps", "ok", "error_type",
]
#: requests column -> record metric tag
METRIC_TAGS = {
    "ttft_ms": "time_to_first_token",
    "ttst_ms": "time_to_second_token",
    "itl_ms": "inter_token_latency",
    "latency_ms": "request_latency",
    "isl": "input_sequence_length",
    "osl": "output_sequence_length",
    "per_user_tps": "output_token_throughput_per_user",
}
RUN_COLUMNS = ["run_name", "model", "concurrency", "request_rate", "trial", "cell", "status",
               "isl", "osl", "sla_pass", "degraded", "degradation_threshold"]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``plain``: 8 streaming requests, concurrency 2. ``errors``: 12 streaming requests,
    concurrency 3, the simulator failing about a third of them, export prefix ``myexp``."""
    root = tmp_path_factory.mktemp("made")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIPERF_")}
    env["HOME"] = str(root / "home")
    (root / "home").mkdir()
    runs = {
        "plain": ["--url", SIM, "--request-count", "8", "--concurrency", "2"],
        "errors": ["--url", SIM + "&error_rate=0.3&seed=7", "--request-count", "12",
                   "--concurrency", "3", "--profile-export-prefix", "myexp"],
    }
    children = [
        subprocess.Popen([sys.executable, "-m", "aiperf", "profile", "--model", "m",
                          "--streaming", "--ui", "none", "--artifact-dir", str(root / name),
                          *args],
                         cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
        for name, args in runs.items()
    ]
    for child in children:
        output, _ = child.communicate(timeout=120)
        assert child.returncode == 0, output
    return {name: root / name for name in runs}


def copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def load(path: Path, name: str = "run") -> LoadedRun:
    return load_run(read_run(path), name)


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def write_jsonl(path: Path, records: list[Any], **dumps: Any) -> None:
    path.write_text("".join(json.dumps(r, **dumps) + "\n" for r in records), encoding="utf-8")


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def metric(record: dict[str, Any], tag: str) -> float:
    entry = record.get("metrics", {}).get(tag)
    return float("nan") if entry is None else float(entry["value"])


# --------------------------------------------------------------------------- requests


def test_request_columns_and_dtypes(made):
    requests = load(made["plain"]).requests
    assert list(requests.columns) == REQUEST_COLUMNS
    dtypes = {column: str(dtype) for column, dtype in requests.dtypes.items()}
    assert dtypes == {
        "request_number": "int64", "start_ns": "int64", "end_ns": "int64",
        **{column: "float64" for column in ["start_s", "end_s", *METRIC_TAGS]},
        "ok": "bool", "error_type": "object",
    }


def test_request_values_equal_the_jsonl(made):
    run = read_run(made["plain"])
    requests = load_run(run, "plain").requests
    records = sorted(jsonl(run.records_path), key=lambda r: r["metadata"]["request_start_ns"])
    assert len(requests) == len(records) == 8
    first = records[0]["metadata"]["request_start_ns"]
    assert requests["request_number"].tolist() == list(range(8))
    assert requests["start_ns"].tolist() == [r["metadata"]["request_start_ns"] for r in records]
    assert requests["end_ns"].tolist() == [r["metadata"]["request_end_ns"] for r in records]
    assert requests["start_s"].tolist() == pytest.approx(
        [(r["metadata"]["request_start_ns"] - first) / 1e9 for r in records], abs=1e-9)
    assert requests["end_s"].tolist() == pytest.approx(
        [(r["metadata"]["request_end_ns"] - first) / 1e9 for r in records], abs=1e-9)
    assert requests["start_s"].iloc[0] == 0.0
    for column, tag in METRIC_TAGS.items():
        assert requests[column].tolist() == [metric(r, tag) for r in records], column
    assert requests["ok"].all()
    assert requests["error_type"].tolist() == [None] * 8


def test_error_records_are_kept_and_flagged(made):
    run = read_run(made["errors"])
    assert run.records_path.name == "myexp.jsonl"
    requests = load_run(run, "errors").requests
    records = sorted(jsonl(run.records_path), key=lambda r: r["metadata"]["request_start_ns"])
    failed = ["error" in r for r in records]
    assert 0 < sum(failed) < len(records) == len(requests) == 12
    assert requests["ok"].tolist() == [not f for f in failed]
    assert requests["error_type"].tolist() == [
        r["error"]["type"] if "error" in r else None for r in records]
    assert set(requests.loc[~requests["ok"], "error_type"]) == {"http-status"}
    assert requests.loc[~requests["ok"], "ttft_ms"].isna().all()
    assert requests.loc[requests["ok"], "ttft_ms"].notna().all()


def test_warmup_records_are_dropped(made, tmp_path):
    run_dir = copy(made["plain"], tmp_path / "run")
    path = read_run(run_dir).records_path
    records = jsonl(path)
    earliest = min(r["metadata"]["request_start_ns"] for r in records)
    warmup = []
    for number, phase_keys in enumerate(
            [{"benchmark_phase": "warmup", "phase_kind": "warmup"}, {"phase_kind": "warmup"}]):
        record = json.loads(json.dumps(records[number]))
        record["metadata"].pop("benchmark_phase")
        record["metadata"].update(phase_keys, request_start_ns=earliest - 10**9 + number)
        warmup.append(record)
    write_jsonl(path, warmup + records, separators=(",", ":"))
    requests = load(run_dir).requests
    assert len(requests) == len(records)
    assert requests["start_ns"].min() == earliest
    assert requests["start_s"].iloc[0] == 0.0


def test_corrupt_lines_are_skipped_and_counted(made, tmp_path, caplog):
    run_dir = copy(made["plain"], tmp_path / "run")
    path = read_run(run_dir).records_path
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    no_start = json.loads(lines[0])
    del no_start["metadata"]["request_start_ns"]
    bad = [
        "not json\n",
        lines[1][: len(lines[1]) // 2] + "\n",  # a line cut short
        "[1, 2]\n",
        '{"metrics": {}}\n',
        json.dumps(no_start, separators=(",", ":")) + "\n",
        "\n",  # blank: allowed, not counted
    ]
    # The last line cut short without a newline, as a killed writer leaves it.
    path.write_text("".join(lines[:4] + bad + lines[4:]) + lines[0][:-40], encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        requests = load(run_dir).requests
    assert len(requests) == 8
    assert requests["ttft_ms"].notna().all()
    assert "skipped 6 corrupt line(s)" in caplog.text


@pytest.mark.parametrize("source", ["plain", "errors", "fixture"])
def test_spaced_json_reads_the_same_as_compact(made, tmp_path, source):
    """Records written with other separators (the slower, exact reading) give the same
    table as the compact lines our CLI and AIPerf 0.13 write."""
    run_dir = copy(FIXTURE if source == "fixture" else made[source], tmp_path / "run")
    compact = load(run_dir).requests
    path = read_run(run_dir).records_path
    write_jsonl(path, jsonl(path), indent=None)  # json's default ", " and ": "
    assert '{"metadata": {' in path.read_text(encoding="utf-8")
    pd.testing.assert_frame_equal(load(run_dir).requests, compact)


def _unusual(record: dict[str, Any], number: int) -> dict[str, Any]:
    """A copy of ``record`` changed in one of the ways a compact line rarely looks."""
    record = json.loads(json.dumps(record))
    metadata, metrics = record["metadata"], record["metrics"]
    changes = [
        lambda: metadata.update(extra={"nested": 1}),
        lambda: metadata.update(phase_kind="warm,up"),
        lambda: metadata.update(benchmark_phase=None),
        lambda: metadata.update(x_request_id='a{b}"c,'),
        lambda: metadata.update(request_start_ns=True),
        lambda: metadata.update(request_end_ns=None),
        lambda: metrics.update(time_to_first_token={"value": None, "unit": "ms"}),
        lambda: metrics.update(time_to_first_token={"value": "5", "unit": "ms"}),
        lambda: metrics.update(time_to_first_token={"unit": "ms", "value": 7.5}),
        lambda: metrics.update(time_to_first_token={"value": [1.0, 2.0], "unit": "ms"}),
        lambda: metrics.update(time_to_first_token={"value": {"a": 1}, "unit": "ms"}),
        lambda: metrics.update(time_to_first_token=3.25),
        lambda: metrics.update(request_latency={"value": True, "unit": "ms"}),
        lambda: metrics.pop("inter_token_latency"),
        lambda: record.update(error={"type": "timeout", "message": 'x "y"'}),
    ]
    changes[number % len(changes)]()
    return record


def test_unusual_compact_records_read_as_json_reads_them(made, tmp_path):
    """Compact lines that do not fit the fast reading's expectations are read exactly as
    the same records written with spaces (read through json alone)."""
    base = jsonl(read_run(made["plain"]).records_path)
    records = [_unusual(base[n % len(base)], n) for n in range(15)] + base
    frames = []
    for name, dumps in [("compact", {"separators": (",", ":")}), ("spaced", {})]:
        run_dir = copy(made["plain"], tmp_path / name)
        write_jsonl(read_run(run_dir).records_path, records, **dumps)
        frames.append(load(run_dir).requests)
    pd.testing.assert_frame_equal(*frames)
    assert len(frames[0]) == 15 + 8 - 3  # the warm-up and the two without times dropped


# --------------------------------------------------------------------------- settings


def test_our_run_settings(made):
    loaded = load(made["plain"], "plain")
    assert loaded.name == "plain"
    assert loaded.run.path == made["plain"]
    assert (loaded.model, loaded.concurrency, loaded.request_rate) == ("m", 2, None)
    assert loaded.streaming is True
    assert loaded.slice_duration_s is None
    assert loaded.timeslices is None and loaded.gpu is None
    summary = json.loads((made["plain"] / "profile_export_aiperf.json").read_text())
    assert dict(loaded.summary) == summary


def test_our_request_rate_and_slice_duration(made, tmp_path):
    run_dir = copy(made["plain"], tmp_path / "run")

    def change(summary):
        benchmark = summary["input_config"]["benchmark"]
        benchmark["load"].update(concurrency=None, request_rate=5)
        benchmark["artifacts"]["slice_duration"] = 1.5

    edit_json(run_dir / "profile_export_aiperf.json", change)
    loaded = load(run_dir)
    assert (loaded.concurrency, loaded.request_rate, loaded.slice_duration_s) == (None, 5.0, 1.5)


def test_the_aiperf_013_fixture_loads(tmp_path):
    loaded = load(copy(FIXTURE, tmp_path / "single-chat-c4"), "single-chat-c4")
    assert (loaded.model, loaded.concurrency, loaded.streaming) == ("test-model", 4, True)
    assert loaded.request_rate is None and loaded.slice_duration_s is None
    assert loaded.timeslices is None and loaded.gpu is None
    requests = loaded.requests
    assert len(requests) == 40 and requests["ok"].all()
    first = jsonl(FIXTURE / "profile_export.jsonl")[0]
    assert requests["ttft_ms"].iloc[0] == metric(first, "time_to_first_token")
    assert requests[list(METRIC_TAGS)].notna().all().all()


@pytest.mark.parametrize(("config", "expected"), [
    ({"output": {"slice_duration": 0.5}, "artifacts": {"slice_duration": 9}}, 0.5),
    ({"artifacts": {"slice_duration": "2s"}}, 2.0),
    ({"artifacts": {"slice_duration": "250ms"}}, 0.25),
])
def test_reference_slice_duration(tmp_path, config, expected):
    run_dir = copy(FIXTURE, tmp_path / "run")
    edit_json(run_dir / "profile_export_aiperf.json",
              lambda summary: summary["input_config"].update(config))
    assert load(run_dir).slice_duration_s == expected


def test_reference_rate_phase_and_legacy_model_names(tmp_path):
    run_dir = copy(FIXTURE, tmp_path / "run")

    def change(summary):
        config = summary["input_config"]
        del config["models"]
        config["endpoint"]["model_names"] = ["other-model"]
        config["phases"] = [
            {"name": "warmup", "kind": "warmup", "type": "concurrency", "concurrency": 1},
            {"name": "profiling", "kind": "profiling", "type": "poisson", "rate": 7.5},
        ]

    edit_json(run_dir / "profile_export_aiperf.json", change)
    loaded = load(run_dir)
    assert (loaded.model, loaded.concurrency, loaded.request_rate) == ("other-model", None, 7.5)


# --------------------------------------------------------------------------- optional exports

TIMESLICES = """\
Timeslice,Start_NS,End_NS,Metric,Unit,Stat,Value
0,1000000000,1500000000,Time to First Token,ms,avg,30.25
0,1000000000,1500000000,Time to First Token,ms,p50,29.00
0,1000000000,1500000000,Request Count,,avg,4
1,1500000000,2000000000,Time to First Token,ms,avg,31.50
"""


def test_timeslices_are_read_in_tidy_form(tmp_path):
    run_dir = copy(FIXTURE, tmp_path / "run")
    (run_dir / "profile_export_aiperf_timeslices.csv").write_text(TIMESLICES)
    slices = load(run_dir).timeslices
    assert list(slices.columns) == ["slice", "start_s", "end_s", "metric", "unit", "stat",
                                    "value"]
    assert str(slices["slice"].dtype) == "int64"
    assert slices["slice"].tolist() == [0, 0, 0, 1]
    assert slices["start_s"].tolist() == [0.0, 0.0, 0.0, 0.5]
    assert slices["end_s"].tolist() == [0.5, 0.5, 0.5, 1.0]
    assert slices["metric"].tolist()[:3] == ["Time to First Token"] * 2 + ["Request Count"]
    assert slices["unit"].tolist() == ["ms", "ms", "", "ms"]
    assert slices["stat"].tolist() == ["avg", "p50", "avg", "avg"]
    assert slices["value"].tolist() == [30.25, 29.0, 4.0, 31.5]


def test_timeslices_without_start_and_end_have_nan_times(made, tmp_path):
    run_dir = copy(made["errors"], tmp_path / "run")  # prefix myexp: myexp_timeslices.csv
    lines = [line.split(",") for line in TIMESLICES.splitlines()]
    text = "\n".join(",".join([f[0], *f[3:]]) for f in lines) + "\n"
    (run_dir / "myexp_timeslices.csv").write_text(text)
    slices = load(run_dir).timeslices
    assert slices["slice"].tolist() == [0, 0, 0, 1]
    assert slices["start_s"].isna().all() and slices["end_s"].isna().all()
    assert slices["value"].tolist() == [30.25, 29.0, 4.0, 31.5]


def test_timeslices_are_found_by_their_role_in_run_json(made, tmp_path):
    run_dir = copy(made["plain"], tmp_path / "run")
    (run_dir / "slices.csv").write_text(TIMESLICES)
    edit_json(run_dir / "run.json", lambda m: m["files"].update({"slices.csv": "timeslices_csv"}))
    assert len(load(run_dir).timeslices) == 4


def test_gpu_telemetry_is_flattened_onto_the_request_clock(tmp_path):
    run_dir = copy(FIXTURE, tmp_path / "run")
    first_start = jsonl(run_dir / "profile_export.jsonl")[0]["metadata"]["request_start_ns"]
    samples = [
        {"timestamp_ns": first_start + offset, "dcgm_url": "http://localhost:9401/metrics",
         "gpu_index": index, "gpu_uuid": f"GPU-{index}", "gpu_model_name": "H100",
         "telemetry_data": {"gpu_utilization": 50.0 + index, "gpu_power_usage": 300.0,
                            "clocks": {"sm": 1980}}}
        for offset in (0, 500_000_000) for index in (0, 1)
    ]
    write_jsonl(run_dir / "gpu_telemetry_export.jsonl", samples)
    gpu = load(run_dir).gpu
    assert len(gpu) == 4
    assert {"gpu_index", "gpu_uuid", "gpu_utilization", "gpu_power_usage", "clocks_sm",
            "timestamp_s"} <= set(gpu.columns)
    assert "telemetry_data" not in gpu.columns
    assert gpu["timestamp_s"].tolist() == [0.0, 0.0, 0.5, 0.5]
    assert gpu["gpu_utilization"].tolist() == [50.0, 51.0, 50.0, 51.0]


# --------------------------------------------------------------------------- no data


def test_a_missing_records_file_is_no_data(made, tmp_path):
    run_dir = copy(made["plain"], tmp_path / "run")
    run = read_run(run_dir)
    run.records_path.unlink()
    with pytest.raises(NoData, match=r"^gone: no per-request records \(.*is missing\)$"):
        load_run(run, "gone")


def test_a_run_without_successful_requests_is_no_data(made, tmp_path):
    run_dir = copy(made["errors"], tmp_path / "run")
    path = read_run(run_dir).records_path
    write_jsonl(path, [r for r in jsonl(path) if "error" in r])
    with pytest.raises(NoData, match="^failing: no successful requests"):
        load(run_dir, "failing")


def test_a_run_with_only_warmup_records_is_no_data(made, tmp_path):
    run_dir = copy(made["plain"], tmp_path / "run")
    path = read_run(run_dir).records_path
    records = jsonl(path)
    for record in records:
        record["metadata"]["benchmark_phase"] = "warmup"
    write_jsonl(path, records)
    with pytest.raises(NoData, match="^warm: no profiling requests"):
        load(run_dir, "warm")


# --------------------------------------------------------------------------- runs table


def test_runs_table(made, tmp_path):
    trial_dir = copy(made["plain"], tmp_path / "trial")
    edit_json(trial_dir / "run.json", lambda m: m.update(kind="trial", trial=2, cell="c1"))
    runs = [load(made["plain"], "plain"), load(copy(FIXTURE, tmp_path / "ref"), "ref"),
            load(trial_dir, "trial")]
    table = runs_table(runs)
    assert list(table.columns[:len(RUN_COLUMNS)]) == RUN_COLUMNS
    assert table["run_name"].tolist() == ["plain", "ref", "trial"]
    # Our runs record the resolved threshold their knee is judged by; AIPerf's do not.
    assert table["degradation_threshold"].isna().tolist()[1] is True
    assert table["model"].tolist() == ["m", "test-model", "m"]
    assert table["concurrency"].tolist() == [2, 4, 2]
    assert table["status"].tolist() == ["complete"] * 3
    assert table["trial"].tolist()[2] == 2 and table["cell"].tolist()[2] == "c1"
    assert table["trial"].isna().tolist()[:2] == [True, True]

    stats = ["avg", "min", "max", "std", "p1", "p5", "p10", "p25", "p50", "p75", "p90",
             "p95", "p99"]
    for run, (_, row) in zip(runs, table.iterrows(), strict=True):
        ttft = run.summary["time_to_first_token"]
        for stat in stats:
            assert row[f"time_to_first_token_{stat}"] == ttft[stat]
        assert row["request_throughput_avg"] == run.summary["request_throughput"]["avg"]
    # Only the statistics a metric has: a throughput has no percentiles.
    assert "request_throughput_p50" not in table.columns
    assert "time_to_first_token_count" not in table.columns  # not a listed statistic
    # A metric only the reference run has is NaN elsewhere.
    assert table["http_req_duration_avg"].isna().tolist() == [True, False, True]
    # Mappings that are not metrics give no columns.
    assert not [c for c in table.columns if c.startswith(("input_config", "client_health",
                                                          "run_info", "telemetry_data"))]


def test_runs_table_reads_whether_a_cell_is_degraded_from_the_sweep_aggregate(made, tmp_path):
    base = tmp_path / "sweep"
    broken = copy(made["plain"], base / "c1")
    edit_json(broken / "run.json", lambda m: m.update(kind="cell", cell="c1"))
    trial = copy(made["plain"], base / "c2" / "profile_runs" / "trial_0001")
    edit_json(trial / "run.json", lambda m: m.update(kind="trial", trial=1))
    (base / "sweep_aggregate").mkdir()
    (base / "sweep_aggregate" / "profile_export_aiperf_sweep.json").write_text(json.dumps(
        {"cells": [{"cell": "c1", "status": "degraded"}, {"cell": "c2", "status": "complete"}]}),
        encoding="utf-8")

    table = runs_table([load(broken, "c1"), load(trial, "c2/trial"), load(made["plain"])])

    assert table["degraded"].tolist() == [True, False, None]


def test_runs_table_of_no_runs_has_the_run_columns():
    table = runs_table([])
    assert list(table.columns) == RUN_COLUMNS and table.empty


def test_runs_table_carries_the_configured_lengths(made, tmp_path):
    fixture = tmp_path / "ref"
    shutil.copytree(FIXTURE, fixture)
    ours = load_run(read_run(made["plain"]), "plain")
    reference = load_run(read_run(fixture), "ref")
    table = runs_table([ours, reference])
    assert table["isl"].tolist() == [550.0, 64.0]
    assert table["osl"].isna().tolist()[0] is True and table["osl"].tolist()[1] == 32.0
