"""The artifact directory (aiperf.bench.export, aiperf.artifacts.manifest).

Layouts are compared with NVIDIA AIPerf 0.13's own files (tests/fixtures/aiperf-0.13):
the fixture's 40 requests are rebuilt as records, run through our metrics and exporters,
and the output is compared key by key, header by header, row by row.
"""

from __future__ import annotations

import csv
import io
import json
import re

import jsonschema
import pytest
from metrics_helpers import (
    FIXTURE_DIR,
    FIXTURE_END_NS,
    FIXTURE_START_NS,
    WALL0,
    fixture_lines,
    fixture_records,
    fixture_summary,
    make_record,
    render_lines,
    write_jsonl,
)

from aiperf._resources import schemas_dir
from aiperf.artifacts.manifest import (
    REFERENCE_NAMES,
    NotARunDirectory,
    RecordCounts,
    RunIdentity,
    RunManifest,
    export_names,
    read_run,
    write_manifest,
)
from aiperf.bench.export import (
    RunExport,
    export_run,
    render_summary_csv,
    render_summary_json,
    render_timeslices_csv,
    render_timeslices_json,
)
from aiperf.bench.metrics import RunFacts, metric_info
from aiperf.bench.records import RequestError
from aiperf.bench.run_tally import compute_run_metrics
from aiperf.bench.timeslices import compute_timeslices

FAILED = RequestError(type="http-status", message="Internal Server Error", code=500)

#: Summary keys of the fixture we do not produce: GPU telemetry (we collect none), HTTP
#: trace timings (the client records no per-phase socket timings), the client-vs-server
#: token-count comparisons, and the time-weighted sweep-line family (effective_*,
#: active_*, tokens_in_flight) and credit_to_start_latency / effective_latency.
NOT_PRODUCED = {
    "telemetry_data",
    *(f"http_req_{n}" for n in (
        "blocked", "chunks_received", "chunks_sent", "connecting", "connection_overhead",
        "connection_reused", "data_received", "data_sent", "dns_lookup", "duration",
        "receiving", "sending", "total", "waiting",
    )),
    "osl_mismatch_count", "osl_mismatch_diff_pct", "usage_completion_tokens_diff_pct",
    "usage_discrepancy_count", "usage_prompt_tokens_diff_pct",
    *(f"effective_{n}" for n in (
        "concurrency", "decode_concurrency", "decode_throughput", "decode_throughput_per_user",
        "prefill_concurrency", "prefill_throughput", "prefill_throughput_per_user",
        "total_throughput", "latency",
    )),
    *(f"active_{n}" for n in (
        "decode_throughput", "decode_throughput_per_user", "prefill_throughput",
        "prefill_throughput_per_user", "total_throughput",
    )),
    "tokens_in_flight", "credit_to_start_latency",
}

#: Our additions to the summary: client-health tags and the method/health blocks. The
#: fixture is a closed-loop (concurrency) run, so it has no achieved_request_rate, which
#: only a rate-driven run reports (see test_a_rate_driven_run_adds_its_achieved_rate).
OURS = {"scheduling_lag", "statistics", "client_health", "warnings",
        "client_input_sequence_length"}
#: Rows that differ from the reference on purpose: our ISL is the server's
#: usage.prompt_tokens where the reference counts with the client's tokenizer.
SERVER_ISL_ROWS = {
    "Input Sequence Length (tokens)", "Total Input Sequence Length (tokens)",
    "Input Token Throughput (tokens/sec)", "Total Token Throughput (tokens/sec)",
    "Prefill Throughput Per User (tokens/sec/user)",
}
SERVER_ISL_TAGS = {"input_sequence_length", "prefill_throughput_per_user"}


@pytest.fixture(scope="module")
def fixture_metrics():
    """Our metrics of the fixture's requests, over the fixture's profiling window."""
    facts = RunFacts(start_wall_ns=FIXTURE_START_NS, end_wall_ns=FIXTURE_END_NS, streaming=True)
    return compute_run_metrics(fixture_records(), facts)


@pytest.fixture(scope="module")
def fixture_export():
    summary = fixture_summary()
    return RunExport(
        benchmark_id=summary["benchmark_id"],
        input_config=summary["input_config"],
        cli_command=summary["run_info"]["cli_command"],
    )


def small_records():
    """Two successes and a failure."""
    return [make_record(0), make_record(1, start=2_000 * 10**6), make_record(2, error=FAILED)]


def small_metrics(slice_duration_s=None, **facts):
    """Two successes and a failure, with a one-second window."""
    records = small_records()
    defaults = {"start_wall_ns": WALL0, "end_wall_ns": WALL0 + 10**9, "streaming": True}
    return compute_run_metrics(records, RunFacts(**{**defaults, **facts}),
                               slice_duration_s=slice_duration_s)


def in_order(keys, reference):
    """The keys shared with ``reference``, in our order and in the reference's order."""
    shared = set(keys) & set(reference)
    return [k for k in keys if k in shared], [k for k in reference if k in shared]


# --------------------------------------------------------------------------- summary JSON


class TestSummaryJson:
    """profile_export_aiperf.json against the fixture."""

    @pytest.fixture(scope="class")
    @classmethod
    def ours(cls, fixture_metrics, fixture_export):
        return json.loads(render_summary_json(fixture_metrics, fixture_export))

    def test_top_level_keys_in_the_reference_order(self, ours):
        mine, reference = in_order(list(ours), list(fixture_summary()))

        assert reference == mine
        assert ["schema_version", "aiperf_version", "benchmark_id"] == list(ours)[:3]
        assert "1.4" == ours["schema_version"]

    def test_missing_and_added_keys_are_the_documented_ones(self, ours):
        reference = set(fixture_summary())

        assert NOT_PRODUCED == reference - set(ours)
        assert OURS == set(ours) - reference

    def test_stat_blocks_have_the_reference_key_order(self, ours):
        reference = fixture_summary()

        for tag in ("request_latency", "inter_chunk_latency", "request_count", "total_isl"):
            assert list(reference[tag]) == list(ours[tag]), tag
        assert isinstance(ours["request_latency"]["count"], int)
        assert isinstance(ours["request_count"]["avg"], float)  # 40.0, as the reference

    def test_values_match(self, ours):
        reference = fixture_summary()

        for tag in ("request_latency", "time_to_first_token", "inter_token_latency",
                    "request_throughput", "output_token_throughput", "total_osl"):
            for stat, value in reference[tag].items():
                assert value == (ours[tag][stat] if stat == "unit"
                                 else pytest.approx(ours[tag][stat], rel=1e-9)), (tag, stat)

    def test_run_facts(self, ours, fixture_export):
        reference = fixture_summary()

        assert reference["input_config"] == ours["input_config"]
        assert reference["run_info"] == ours["run_info"]
        assert (False, True) == (ours["was_cancelled"], ours["is_complete"])
        assert [] == ours["error_summary"]
        # The naive local ISO times of the reference.
        iso = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$"
        assert re.match(iso, ours["start_time"]) and re.match(iso, ours["end_time"])

    def test_statistics_and_client_health(self, ours):
        """The reference's own run left requests waiting 9.1 ms on average (26.5 ms p99)
        between credit and send: 5.0% of their 183 ms latency, at the threshold and not
        over it, so no client-bound warning."""
        assert "linear interpolation" in ours["statistics"]["percentiles"]
        assert "population (ddof=0)" == ours["statistics"]["std"]
        assert "successful requests" == ours["statistics"]["latency_population"]
        health = ours["client_health"]
        assert (False, None) == (health["client_bound"], health["warning"])
        assert 26.5 == pytest.approx(health["scheduling_lag_p99_ms"], abs=0.01)
        assert 9.14 == pytest.approx(health["scheduling_lag_avg_ms"], abs=0.01)
        assert 0.0499 == pytest.approx(health["lag_share"], abs=1e-4)

    def test_text_layout(self, fixture_metrics, fixture_export):
        """Indent 2 and no final newline, as the reference writes it."""
        text = render_summary_json(fixture_metrics, fixture_export)
        reference = (FIXTURE_DIR / "profile_export_aiperf.json").read_text()

        head = '{\n  "schema_version": "1.4",\n  "aiperf_version": '
        assert reference.startswith(head) and text.startswith(head)
        assert text.endswith("\n}") and not text.endswith("\n")

    def test_failed_and_partial_run(self):
        run = RunExport(benchmark_id="b", input_config={}, status="partial",
                        partial_reason="cancelled by the user (Ctrl-C)", was_cancelled=True)

        got = json.loads(render_summary_json(small_metrics(), run))

        assert (True, False) == (got["was_cancelled"], got["is_complete"])
        assert "cancelled by the user (Ctrl-C)" == got["incomplete_reason"]
        details = {"code": 500, "type": "http-status", "message": "Internal Server Error"}
        assert [{"error_details": details, "count": 1}] == got["error_summary"]
        assert {"unit": "requests", "avg": 1.0} == got["error_request_count"]

    def test_achieved_request_rate_only_for_rate_driven_runs(self):
        """The achieved rate (scalar and client-health pair) is in a rate-driven run's
        summary and absent from a closed-loop run's."""
        run = RunExport(benchmark_id="b", input_config={})
        closed = json.loads(render_summary_json(small_metrics(), run))
        driven = json.loads(render_summary_json(small_metrics(requested_request_rate=2.0), run))

        assert "achieved_request_rate" not in closed
        assert "achieved_request_rate" not in closed["client_health"]
        assert "requested_request_rate" not in closed["client_health"]
        assert driven["achieved_request_rate"]["unit"] == "requests/sec"
        assert driven["client_health"]["requested_request_rate"] == 2.0
        assert driven["client_health"]["achieved_request_rate"] == \
            driven["achieved_request_rate"]["avg"]

    def test_non_finite_numbers_become_null(self):
        got = json.loads(
            render_summary_json(small_metrics(client_cpu_fraction=float("nan")),
                                RunExport(benchmark_id="b", input_config={"x": float("inf")}))
        )

        assert got["client_health"]["client_cpu_fraction"] is None
        assert {"x": None} == got["input_config"]


# --------------------------------------------------------------------------- summary CSV


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


class TestSummaryCsv:
    """profile_export_aiperf.csv against the fixture."""

    @pytest.fixture(scope="class")
    @classmethod
    def ours(cls, fixture_metrics):
        return render_summary_csv(fixture_metrics)

    @pytest.fixture(scope="class")
    @classmethod
    def reference(cls):
        with (FIXTURE_DIR / "profile_export_aiperf.csv").open(encoding="utf-8", newline="") as f:
            return f.read()

    def test_section_layout(self, ours, reference):
        """Same headers, one blank line between sections, two before the GPU header, \r\n."""

        def skeleton(text):
            # Headers and blank lines kept; each run of data rows collapsed into one "...".
            shape = []
            for row in csv_rows(text):
                line = ",".join(row) if not row or row[0] in ("Metric", "Endpoint") else "..."
                if not (line == "..." and shape and shape[-1] == "..."):
                    shape.append(line)
            return shape

        assert skeleton(reference) == skeleton(ours)
        assert "Metric,avg,min,max,sum,p1,p5,p10,p25,p50,p75,p90,p95,p99,std" == skeleton(ours)[0]
        assert "\r\n" in ours and "\n" not in ours.replace("\r\n", "")

    def test_shared_rows_are_identical(self, ours, reference):
        """Display names, units and 2-decimal numbers, byte for byte."""
        reference_rows = {r[0]: r for r in csv_rows(reference) if r}
        our_rows = [r for r in csv_rows(ours) if r and r[0] not in ("Metric", "Endpoint")]
        shared = [r for r in our_rows if r[0] in reference_rows and r[0] not in SERVER_ISL_ROWS]

        assert len(shared) >= 25
        for row in shared:
            assert reference_rows[row[0]] == row

    def test_only_our_additions_are_new(self, ours, reference):
        names = {r[0] for r in csv_rows(reference) if r}
        added = {r[0] for r in csv_rows(ours) if r and r[0] not in names}

        # The fixture is a closed-loop run: no Achieved Request Rate row (rate runs only).
        assert {"Scheduling Lag (ms)", "Client Input Sequence Length (tokens)"} == added

    def test_achieved_request_rate_row_only_for_rate_driven_runs(self):
        """A rate-driven run's CSV has the Achieved Request Rate row; a closed loop's not."""
        row = "Achieved Request Rate (requests/sec)"
        closed = {r[0] for r in csv_rows(render_summary_csv(small_metrics())) if r}
        driven = {r[0] for r in csv_rows(render_summary_csv(
            small_metrics(requested_request_rate=2.0))) if r}

        assert (row not in closed, row in driven) == (True, True)

    def test_rows_sorted_by_tag(self, fixture_metrics):
        """The reference sorts by tag, not by display name."""
        rows = csv_rows(render_summary_csv(fixture_metrics))
        blank = rows.index([])
        by_name = {metric_info(d.tag).header: d.tag for d in fixture_metrics.distributions}
        tags = [by_name[re.sub(r" \([^)]*\)$", "", r[0])] for r in rows[1:blank]]

        assert sorted(by_name.values()) == tags

    def test_numbers(self, ours):
        """Reals with 2 decimals; nothing else in the numeric columns."""
        for row in csv_rows(ours):
            if row and row[0] not in ("Metric", "Endpoint"):
                assert all(re.fullmatch(r"-?\d+\.\d\d", cell) for cell in row[1:]), row

    def test_units_count_and_requests_are_hidden(self, ours):
        names = [r[0] for r in csv_rows(ours) if r]

        assert "Request Count" in names
        assert "Completed Requests (Success + Error)" in names
        assert "Request Latency (ms)" in names


# --------------------------------------------------------------------------- JSONL


#: Metadata keys of a reference record (section 6.3), in order.
REFERENCE_METADATA = [
    "session_num", "x_request_id", "x_correlation_id", "conversation_id", "turn_index",
    "credit_issued_ns", "request_start_ns", "request_ack_ns", "request_end_ns", "worker_id",
    "record_processor_id", "benchmark_phase", "phase_index", "profiling_index", "phase_name",
    "phase_kind", "was_cancelled", "cancellation_time_ns", "context_overflow_skip",
    "agent_depth", "parent_correlation_id", "root_correlation_id",
]


class TestRecordsJsonl:
    """profile_export.jsonl against the fixture."""

    @pytest.fixture(scope="class")
    @classmethod
    def ours(cls):
        return [json.loads(line) for line in render_lines(fixture_records()).splitlines()]

    def test_one_compact_line_per_request(self):
        text = render_lines(fixture_records())

        assert 40 == text.count("\n") and text.endswith("}\n")
        assert text.startswith('{"metadata":{"session_num":0,')

    def test_metadata(self, ours):
        for mine, reference in zip(ours, fixture_lines(), strict=True):
            assert ["metadata", "metrics"] == list(mine)
            keys = list(mine["metadata"])
            assert keys == [k for k in REFERENCE_METADATA if k in keys]
            for key in ("session_num", "x_request_id", "credit_issued_ns", "request_start_ns",
                        "request_ack_ns", "request_end_ns", "benchmark_phase",
                        "profiling_index", "was_cancelled"):
                assert reference["metadata"][key] == mine["metadata"][key], key

    def test_metrics(self, ours):
        """Same tags, units and values as the reference, in its order, plus scheduling_lag."""
        for mine, reference in zip(ours, fixture_lines(), strict=True):
            got, want = mine["metrics"], reference["metrics"]
            shared_mine, shared_ref = in_order(list(got), list(want))
            assert shared_ref == shared_mine
            assert {"scheduling_lag", "client_input_sequence_length"} == set(got) - set(want)
            assert want["input_sequence_length"]["value"] == (
                got["client_input_sequence_length"]["value"])
            for tag in (t for t in shared_mine if t not in SERVER_ISL_TAGS):
                assert want[tag]["unit"] == got[tag]["unit"]
                assert want[tag]["value"] == pytest.approx(got[tag]["value"], rel=1e-12)

    def test_failed_request(self):
        lines = [json.loads(x) for x in render_lines(small_records()).splitlines()]

        failed = lines[-1]
        assert ["metadata", "metrics", "error"] == list(failed)
        details = {"code": 500, "type": "http-status", "message": "Internal Server Error"}
        assert details == failed["error"]
        assert {"error_isl", "scheduling_lag"} == set(failed["metrics"])

    def test_cancelled_request(self):
        record = make_record(cancelled=True)

        (line,) = [json.loads(x) for x in render_lines([record]).splitlines()]

        assert line["metadata"]["was_cancelled"] is True
        assert record.end_wall_ns == line["metadata"]["cancellation_time_ns"]
        assert "cancelled" == line["error"]["type"]


# --------------------------------------------------------------------------- the directory


def validate_manifest(data):
    schema = json.loads((schemas_dir() / "run.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(data)


class TestExportRun:
    """export_run writes every file, atomically, and a manifest that lists them."""

    def test_default_names(self, tmp_path, fixture_metrics, fixture_export):
        run = RunExport(benchmark_id="abc", input_config={}, resolved_config_yaml="a: 1  # cli\n")

        write_jsonl(tmp_path / "run", fixture_records())
        manifest = export_run(tmp_path / "run", fixture_metrics, run)

        assert {
            "profile_export.jsonl": "records",
            "profile_export_aiperf.json": "summary_json",
            "profile_export_aiperf.csv": "summary_csv",
            "resolved_config.yaml": "resolved_config",
            ".aiperf_results_ready.json": "ready_marker",
        } == dict(manifest.files)
        written = sorted(p.name for p in (tmp_path / "run").iterdir())
        assert sorted([*manifest.files, "run.json"]) == written
        assert "a: 1  # cli\n" == (tmp_path / "run" / "resolved_config.yaml").read_text()
        assert RecordCounts(profiling=40, successful=40, failed=0, warmup=0) == (
            manifest.record_counts
        )
        assert (tmp_path / "run" / ".aiperf_results_ready.json").read_text() == (
            FIXTURE_DIR / ".aiperf_results_ready.json"
        ).read_text()
        validate_manifest(json.loads((tmp_path / "run" / "run.json").read_text()))

    def test_prefix_and_export_file(self, tmp_path):
        names = export_names(prefix="my_run.json", export_file="requests")
        run = RunExport(benchmark_id="abc", input_config={}, names=names)
        write_jsonl(tmp_path, small_records(), name="requests.jsonl")

        manifest = export_run(tmp_path, small_metrics(), run)

        assert {"my_run.json", "my_run.csv", "requests.jsonl"} <= set(manifest.files)
        assert ("my_run.json", "requests") == (manifest.export_names.prefix,
                                               manifest.export_names.export_file)
        loaded = read_run(tmp_path)
        assert 3 == len(list(loaded.iter_records()))
        assert "abc" == loaded.summary()["benchmark_id"]

    def test_partial_run(self, tmp_path):
        run = RunExport(benchmark_id="abc", input_config={}, status="partial",
                        partial_reason="interrupted", was_cancelled=True)

        manifest = export_run(tmp_path, small_metrics(), run)

        assert ("partial", "interrupted") == (manifest.status, manifest.partial_reason)
        marker = json.loads((tmp_path / ".aiperf_results_ready.json").read_text())
        assert {"ready": True, "was_cancelled": True, "partial": True} == marker

    def test_extra_files(self, tmp_path):
        run = RunExport(benchmark_id="abc", input_config={},
                        extra_files={"explain.json": ('{"fields": []}', "explain")})

        manifest = export_run(tmp_path, small_metrics(), run)

        assert "explain" == manifest.files["explain.json"]
        assert '{"fields": []}' == (tmp_path / "explain.json").read_text()
        validate_manifest(manifest.to_json())

    @pytest.mark.parametrize("name", ["run.json", "profile_export.jsonl", "sub/x.json", ""])
    def test_extra_files_cannot_clash_or_escape(self, tmp_path, name):
        run = RunExport(benchmark_id="abc", input_config={}, extra_files={name: ("x", "other")})

        with pytest.raises(ValueError, match="extra artifact"):
            export_run(tmp_path / "run", small_metrics(), run)
        assert not (tmp_path / "run").exists()  # nothing was written

    def test_complete_run_has_no_partial_reason(self, tmp_path):
        run = RunExport(benchmark_id="abc", input_config={}, partial_reason="stale")

        assert export_run(tmp_path, small_metrics(), run).partial_reason is None


class TestExportNames:
    @pytest.mark.parametrize(
        ("prefix", "export_file", "expected"),
        [
            (None, None, ("profile_export.jsonl", "profile_export_aiperf.json",
                          "profile_export_aiperf.csv")),
            ("foo", None, ("foo.jsonl", "foo.json", "foo.csv")),
            ("foo.json", None, ("foo.jsonl", "foo.json", "foo.csv")),
            ("foo.csv", None, ("foo.jsonl", "foo.json", "foo.csv")),
            ("foo_raw.jsonl", None, ("foo.jsonl", "foo.json", "foo.csv")),
            ("/abs/dir/foo", None, ("foo.jsonl", "foo.json", "foo.csv")),
            (None, "reqs.jsonl", ("reqs.jsonl", "profile_export_aiperf.json",
                                  "profile_export_aiperf.csv")),
            ("foo", "reqs", ("reqs.jsonl", "foo.json", "foo.csv")),
        ],
    )
    def test_names(self, prefix, export_file, expected):
        names = export_names(prefix, export_file)

        assert expected == (names.records, names.summary_json, names.summary_csv)
        assert (prefix, export_file) == (names.prefix, names.export_file)

    def test_prefix_that_is_only_a_suffix(self):
        with pytest.raises(ValueError, match="leaves no file name"):
            export_names(".json")


class TestManifest:
    def manifest(self, **kwargs):
        defaults = {"kind": "single", "status": "complete", "benchmark_id": "b",
                    "aiperf_version": "0.1.0", "files": {"a.jsonl": "records"}}
        return RunManifest(**{**defaults, **kwargs})

    def test_round_trip(self, tmp_path):
        manifest = self.manifest(
            kind="trial", identity=RunIdentity(parent="../..", trial=2, cell="concurrency8"),
            record_counts=RecordCounts(10, 9, 1, 3), export_names=export_names("p", "q"),
            status="partial", partial_reason="interrupted", started="2026-01-01T00:00:00+00:00",
        )

        write_manifest(tmp_path, manifest)

        assert manifest == read_run(tmp_path).manifest
        validate_manifest(manifest.to_json())

    @pytest.mark.parametrize(
        "change",
        [
            {"status": "done"},
            {"kind": "sweep-of-sweeps"},
            {"files": {"sub/dir.json": "summary_json"}},
            {"files": {"a.json": "Not A Role"}},
            {"trial": -1},
            {"extra": 1},
        ],
    )
    def test_schema_rejects(self, change):
        data = {**self.manifest().to_json(), **change}

        with pytest.raises(jsonschema.ValidationError):
            validate_manifest(data)

    def test_malformed_manifest(self, tmp_path):
        (tmp_path / "run.json").write_text('{"kind": "single"}')

        with pytest.raises(ValueError, match="malformed run.json"):
            read_run(tmp_path)


class TestReadRun:
    """read_run loads our directories and NVIDIA AIPerf 0.13's."""

    def test_our_output(self, tmp_path, fixture_metrics, fixture_export):
        write_jsonl(tmp_path, fixture_records())
        written = export_run(tmp_path, fixture_metrics, fixture_export)

        loaded = read_run(tmp_path)

        assert loaded.from_manifest
        assert written == loaded.manifest
        assert 40 == len(list(loaded.iter_records()))
        assert 40.0 == loaded.summary()["request_count"]["avg"]

    def test_reference_directory(self):
        loaded = read_run(FIXTURE_DIR)

        assert not loaded.from_manifest
        manifest = loaded.manifest
        assert ("single", "complete") == (manifest.kind, manifest.status)
        assert manifest.partial_reason is None
        assert ("fda8318a0a1f", "0.13.0") == (manifest.benchmark_id, manifest.aiperf_version)
        assert RecordCounts(profiling=40, successful=40, failed=0) == manifest.record_counts
        assert REFERENCE_NAMES == manifest.export_names
        assert "2026-11-28T23:18:15.302037" == manifest.started
        assert {"records", "summary_json", "summary_csv", "ready_marker", "console", "inputs",
                "server_metrics_json", "server_metrics_csv"} == set(manifest.files.values())
        assert 40 == len(list(loaded.iter_records()))
        assert loaded.summary_csv_path.is_file()
        validate_manifest(manifest.to_json())

    def test_reference_partial_marker(self, tmp_path):
        for name in ("profile_export.jsonl", "profile_export_aiperf.json"):
            (tmp_path / name).write_bytes((FIXTURE_DIR / name).read_bytes())
        (tmp_path / ".aiperf_results_ready.json").write_text(
            '{"ready":true,"was_cancelled":true,"partial":true}'
        )

        manifest = read_run(tmp_path).manifest

        assert ("partial", "cancelled") == (manifest.status, manifest.partial_reason)

    def test_our_directory_without_run_json(self, tmp_path):
        """Default names are the reference's, so the fallback finds them too."""
        write_jsonl(tmp_path, small_records())
        export_run(tmp_path, small_metrics(), RunExport(benchmark_id="abc", input_config={}))
        (tmp_path / "run.json").unlink()

        loaded = read_run(tmp_path)

        assert RecordCounts(profiling=3, successful=2, failed=1) == loaded.manifest.record_counts

    def test_not_a_run_directory(self, tmp_path):
        (tmp_path / "profile_export.jsonl").write_text("")

        with pytest.raises(NotARunDirectory, match="not a run directory"):
            read_run(tmp_path)

    def test_corrupt_record_line(self, tmp_path):
        write_jsonl(tmp_path, small_records())
        export_run(tmp_path, small_metrics(), RunExport(benchmark_id="abc", input_config={}))
        path = tmp_path / "profile_export.jsonl"
        path.write_text(path.read_text() + "{truncated\n\n[1]\n")
        loaded = read_run(tmp_path)

        with pytest.raises(ValueError, match=r"profile_export.jsonl:4: not valid JSON"):
            list(loaded.iter_records())
        assert 3 == len(list(loaded.iter_records(skip_corrupt=True)))


# --------------------------------------------------------------------------- timeslices


class TestTimesliceExport:
    """profile_export_aiperf_timeslices.{csv,json} with a slice duration (section 6.6)."""

    STATS = ["avg", "min", "max", "sum", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95",
             "p99", "std"]

    @pytest.fixture(scope="class")
    @classmethod
    def sliced(cls):
        """The fixture's 2.02 s phase in 0.5 s windows: four whole ones and a 20 ms tail."""
        facts = RunFacts(start_wall_ns=FIXTURE_START_NS, end_wall_ns=FIXTURE_END_NS,
                         streaming=True)
        return compute_run_metrics(fixture_records(), facts, slice_duration_s=0.5)

    @pytest.fixture(scope="class")
    @classmethod
    def slices(cls, sliced):
        return sliced.timeslices

    def test_files_and_roles(self, tmp_path, sliced):
        run = RunExport(benchmark_id="abc", input_config={})

        run_dir = tmp_path / "run"
        write_jsonl(run_dir, fixture_records())
        manifest = export_run(run_dir, sliced, run)

        assert "timeslices_csv" == manifest.files["profile_export_aiperf_timeslices.csv"]
        assert "timeslices_json" == manifest.files["profile_export_aiperf_timeslices.json"]
        # atomic writes leave no temporary files behind
        assert sorted([*manifest.files, "run.json"]) == sorted(p.name for p in run_dir.iterdir())
        validate_manifest(json.loads((run_dir / "run.json").read_text()))
        assert manifest == read_run(run_dir).manifest
        data = json.loads((run_dir / "profile_export_aiperf_timeslices.json").read_text())
        assert 40 == sum(s["request_count"]["avg"] for s in data["timeslices"])

    def test_names_follow_the_prefix(self, tmp_path):
        run = RunExport(benchmark_id="abc", input_config={}, names=export_names(prefix="foo"))

        manifest = export_run(tmp_path, small_metrics(slice_duration_s=1.0), run)

        assert {"foo_timeslices.csv": "timeslices_csv",
                "foo_timeslices.json": "timeslices_json"}.items() <= manifest.files.items()
        assert (tmp_path / "foo_timeslices.csv").is_file()

    def test_a_reference_directory_lists_its_timeslice_files(self, tmp_path, sliced):
        run = RunExport(benchmark_id="abc", input_config={})
        write_jsonl(tmp_path, fixture_records())
        export_run(tmp_path, sliced, run)
        (tmp_path / "run.json").unlink()

        files = read_run(tmp_path).manifest.files

        assert "timeslices_csv" == files["profile_export_aiperf_timeslices.csv"]
        assert "timeslices_json" == files["profile_export_aiperf_timeslices.json"]

    def test_no_files_without_a_slice_duration_or_without_windows(self, tmp_path):
        plain = export_run(tmp_path / "a", small_metrics(),
                           RunExport(benchmark_id="abc", input_config={}))
        empty_phase = export_run(tmp_path / "b",
                                 small_metrics(slice_duration_s=1.0, end_wall_ns=WALL0),
                                 RunExport(benchmark_id="abc", input_config={}))

        for manifest in (plain, empty_phase):
            assert not {"timeslices_csv", "timeslices_json"} & set(manifest.files.values())
        assert not list(tmp_path.glob("*/*timeslices*"))

    def test_a_refused_slice_duration_leaves_the_timeslices_out_and_says_why(self, tmp_path):
        metrics = small_metrics(slice_duration_s=1e-9)

        manifest = export_run(tmp_path / "run", metrics,
                              RunExport(benchmark_id="abc", input_config={}))

        assert metrics.timeslices is None
        assert "windows, more than the" in metrics.timeslice_error
        assert not {"timeslices_csv", "timeslices_json"} & set(manifest.files.values())

    def test_an_extra_file_cannot_take_a_timeslice_name(self, tmp_path):
        run = RunExport(benchmark_id="abc", input_config={},
                        extra_files={"profile_export_aiperf_timeslices.csv": ("x", "other")})

        with pytest.raises(ValueError, match="overwrite"):
            export_run(tmp_path / "run", small_metrics(slice_duration_s=1.0), run)

    def test_csv_header_rows_and_numbers(self, slices):
        text = render_timeslices_csv(slices)
        rows = csv_rows(text)

        assert ["Timeslice", "Start_NS", "End_NS", "Metric", "Unit", "Stat", "Value"] == rows[0]
        assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
        rewritten = io.StringIO()
        csv.writer(rewritten).writerows(rows)
        assert rewritten.getvalue() == text  # exactly what the csv module writes
        # one row per (slice, metric, stat): 14 stats per distribution, 1 per scalar
        expected = sum(14 * len(s.distributions) + len(s.scalars) for s in slices)
        assert expected == len(rows) - 1
        assert {str(i) for i in range(5)} == {r[0] for r in rows[1:]}
        first = [r for r in rows[1:] if r[0] == "0"]
        assert {(str(slices[0].start_ns), str(slices[0].end_ns))} == {(r[1], r[2]) for r in first}
        ttft = [r for r in first if r[3] == "Time to First Token"]
        assert self.STATS == [r[5] for r in ttft]
        assert {"ms"} == {r[4] for r in ttft}
        for row in rows[1:]:
            assert re.fullmatch(r"-?\d+(\.\d\d)?", row[6]), row
        counts = [r for r in rows[1:] if r[3] == "Request Count"]
        assert [("requests", "avg")] == list({(r[4], r[5]) for r in counts})
        assert 40 == sum(int(r[6]) for r in counts)

    def test_csv_metrics_are_sorted_by_tag(self, slices):
        rows = csv_rows(render_timeslices_csv(slices))
        headers = list(dict.fromkeys(r[3] for r in rows[1:] if r[0] == "0"))
        tags = {metric_info(t).header: t for t in (
            *(d.tag for d in slices[0].distributions), *(s.tag for s in slices[0].scalars))}

        assert sorted(tags.values()) == [tags[h] for h in headers]

    def test_json_shape(self, slices):
        data = json.loads(render_timeslices_json(slices))

        assert ["timeslices"] == list(data)
        got = data["timeslices"]
        assert [True, True, True, True, False] == [s["is_complete"] for s in got]
        assert [(s.start_ns, s.end_ns) for s in slices] == [(s["start_ns"], s["end_ns"])
                                                            for s in got]
        first = got[0]
        assert ["start_ns", "end_ns", "is_complete"] == list(first)[:3]
        tags = list(first)[3:]
        assert sorted(tags) == tags
        assert ["unit", "avg", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99",
                "min", "max", "std", "count", "sum"] == list(first["time_to_first_token"])
        assert "ms" == first["time_to_first_token"]["unit"]
        assert {"unit": "requests", "avg": slices[0].request_count} == first["request_count"]
        assert {"request_throughput", "output_token_throughput", "error_request_count"} <= set(
            first)

    def test_json_of_an_empty_window(self):
        (only,) = compute_timeslices((), 1.0, WALL0, WALL0 + 10**9)

        entry = json.loads(render_timeslices_json([only]))["timeslices"][0]

        assert {"start_ns": WALL0, "end_ns": WALL0 + 10**9, "is_complete": True,
                "error_request_count": {"unit": "requests", "avg": 0},
                "request_count": {"unit": "requests", "avg": 0},
                "request_throughput": {"unit": "requests/sec", "avg": 0.0}} == entry
