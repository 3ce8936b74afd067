"""The exports have the structure of AIPerf 0.13's and never carry a password."""

from __future__ import annotations

import json
from pathlib import Path

from aiperf.telemetry.prometheus import parse_exposition
from aiperf.telemetry.scraper import FetchStats
from aiperf.telemetry.server_export import ServerMetricsRun, write_exports

FIXTURE = Path(__file__).parents[1] / "fixtures" / "aiperf-0.13" / "single-chat-c4"
URL = "http://me:hunter22@127.0.0.1:18777/metrics"

EXPOSITION = """\
# TYPE simserver_requests_total counter
simserver_requests_total {requests}
# TYPE simserver_in_flight gauge
simserver_in_flight {in_flight}
# TYPE lat_seconds histogram
lat_seconds_bucket{{le="0.5"}} {requests}
lat_seconds_bucket{{le="+Inf"}} {requests}
lat_seconds_count {requests}
lat_seconds_sum 1.0
"""


def _run() -> ServerMetricsRun:
    from aiperf.telemetry.prometheus import Scrape

    scrapes = [Scrape(URL, int(t * 1e9), 2.0, parse_exposition(
        EXPOSITION.format(requests=r, in_flight=f)))
        for t, r, f in [(0, 0, 0), (1, 10, 4), (2, 20, 2), (3, 40, 0)]]
    stats = FetchStats(URL, 4, 0, 0, int(3e9), 2.0, 4, 0, int(3e9), 1000.0, 1000.0)
    return ServerMetricsRun((URL,), {URL: scrapes}, {URL: stats}, int(0.5e9), int(2.5e9))


def _keys(value: object) -> object:
    """The nested key structure of a JSON value (lists by their first item)."""
    if isinstance(value, dict):
        return {k: _keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keys(value[0])] if value else []
    return None


def test_json_export_has_the_reference_structure(tmp_path: Path) -> None:
    reference = json.loads((FIXTURE / "server_metrics_export.json").read_text())

    write_exports(tmp_path, _run(), "abc123", {"k": 1})

    ours = json.loads((tmp_path / "server_metrics_export.json").read_text())
    assert set(reference) == set(ours)
    assert set(reference["summary"]) == set(ours["summary"])
    ref_info = next(iter(reference["summary"]["endpoint_info"].values()))
    our_info = next(iter(ours["summary"]["endpoint_info"].values()))
    assert set(ref_info) == set(our_info)
    for name in ("simserver_requests", "simserver_in_flight"):
        assert _keys(reference["metrics"][name]) == _keys(ours["metrics"][name])


def test_counter_and_gauge_numbers_cover_the_window(tmp_path: Path) -> None:
    write_exports(tmp_path, _run(), "abc123", {})

    metrics = json.loads((tmp_path / "server_metrics_export.json").read_text())["metrics"]
    assert {"total": 40.0, "rate": 40.0 / 3} == metrics["simserver_requests"]["series"][0]["stats"]
    assert 3.0 == metrics["simserver_in_flight"]["series"][0]["stats"]["avg"]
    assert 40.0 == metrics["lat_seconds"]["series"][0]["stats"]["count"]


def test_csv_export_has_the_reference_header_lines_and_tables(tmp_path: Path) -> None:
    reference = (FIXTURE / "server_metrics_export.csv").read_bytes().split(b"\n")

    write_exports(tmp_path, _run(), "abc123", {})

    ours = (tmp_path / "server_metrics_export.csv").read_bytes().split(b"\n")
    assert [line.split(b":")[0] for line in reference[:6]] == [
        line.split(b":")[0] for line in ours[:6]]
    tables = [line for line in ours if line.startswith(b"Endpoint,")]
    assert [line for line in reference if line.startswith(b"Endpoint,")] == tables[:2]
    assert b"Endpoint,Type,Metric,Unit,count,sum,avg,p50,p90,p95,p99,Description\r" == tables[2]
    assert b"127.0.0.1:18777,counter,simserver_requests,requests,40.0000" in b"\n".join(ours)


def test_jsonl_export_has_one_object_per_scrape(tmp_path: Path) -> None:
    write_exports(tmp_path, _run(), "abc123", {})

    lines = (tmp_path / "server_metrics_export.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert 4 == len(records)
    assert {"timestamp_ns", "endpoint_url", "metrics"} == set(records[0])
    # A gauge's value, a counter's rate, a histogram's mean observation since the last scrape.
    assert {"simserver_in_flight": 4.0, "simserver_requests": 10.0,
            "lat_seconds": 0.0} == records[1]["metrics"]


def test_password_never_appears_in_the_exports(tmp_path: Path) -> None:
    paths = write_exports(tmp_path, _run(), "abc123", {})

    for path in paths:
        text = path.read_text()
        assert "hunter22" not in text
        assert "me:" not in text
    summary = json.loads(paths[0].read_text())["summary"]
    assert ["http://***@127.0.0.1:18777/metrics"] == summary["endpoints_configured"]
