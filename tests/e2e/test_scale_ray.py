"""Distributed runs on Ray (``--workers``, ``--ray-address``): one experiment sharded over
worker actors, one merged result. Checked against the simulator's ground truth: what it
received, its peak in flight; and against the merged records themselves."""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aiperf.cli import app

ray = pytest.importorskip("ray", reason="the ray extra is not installed")

RUN = ("--model", "m", "--streaming", "--osl", "4", "--isl", "16", "--ui", "none",
       "--prompt-sizing", "builtin", "--no-server-metrics", "--no-gpu-telemetry")


@pytest.fixture(scope="module", autouse=True)
def _ray_stops_with_the_module():
    """The local Ray a run starts in this process is shut down after these tests."""
    yield
    ray.shutdown()


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


def records_of(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "profile_export.jsonl").read_text().splitlines()]


def turns_of_each_conversation(run: Path) -> list[list[int]]:
    """The turn indices sent of each conversation (sorted), the conversations sorted."""
    turns: dict[str, list[int]] = {}
    for record in records_of(run):
        turns.setdefault(record["metadata"]["conversation_id"], []).append(
            record["metadata"]["turn_index"])
    return sorted(sorted(t) for t in turns.values())


def test_a_closed_loop_is_split_exactly_and_merged_whole(sim_server, tmp_path):
    server = sim_server(mode="deterministic", ttft_ms=20, itl_ms=5)
    run = tmp_path / "run"
    result = cli("profile", "--url", server.url, *RUN, "--workers", "2", "--concurrency", "6",
                 "--request-count", "60", "--artifact-dir", str(run))

    assert result.exit_code == 0, result.output
    stats = server.stats(records=False)
    manifest = json.loads((run / "run.json").read_text())
    assert len(records_of(run)) == 60 == stats["totals"]["requests"]
    assert stats["concurrency"]["max_in_flight"] == 6
    assert [w["requests"] for w in manifest["workers"]] == [30, 30]
    assert all(w["error_bound_ms"] < 5 and w["shared_clock"] for w in manifest["workers"])
    assert len({w["pid"] for w in manifest["workers"]} | {os.getpid()}) == 3
    assert "worker: 0 on" in result.output and "worker: 1 on" in result.output


def test_the_summary_is_the_one_of_the_merged_records(sim_server, tmp_path):
    server = sim_server(mode="realistic", jitter=0.2, seed=3)
    run = tmp_path / "run"
    result = cli("profile", "--url", server.url, *RUN, "--workers", "2", "--concurrency", "4",
                 "--request-count", "40", "--artifact-dir", str(run))
    assert result.exit_code == 0, result.output
    summary = json.loads((run / "profile_export_aiperf.json").read_text())
    ttft = [r["metrics"]["time_to_first_token"]["value"] for r in records_of(run)]

    block = summary["time_to_first_token"]
    assert block["count"] == 40
    assert block["avg"] == pytest.approx(statistics.fmean(ttft), rel=1e-9)
    assert (block["min"], block["max"]) == (min(ttft), max(ttft))
    assert block["p50"] == pytest.approx(statistics.median(ttft), rel=1e-9)


def test_a_rate_is_dealt_out_so_the_achieved_rate_is_the_target(sim_server, tmp_path):
    server = sim_server(mode="deterministic", ttft_ms=5, itl_ms=1)
    run = tmp_path / "run"
    result = cli("profile", "--url", server.url, *RUN, "--workers", "2", "--request-rate",
                 "40", "--arrival-pattern", "constant", "--request-count", "120",
                 "--artifact-dir", str(run))

    assert result.exit_code == 0, result.output
    summary = json.loads((run / "profile_export_aiperf.json").read_text())
    assert server.stats(records=False)["totals"]["requests"] == 120
    assert summary["achieved_request_rate"]["avg"] == pytest.approx(40, rel=0.02)


def test_a_run_refuses_to_start_when_a_clock_is_known_too_loosely(sim_server, tmp_path,
                                                                  monkeypatch):
    # A driver that cannot tell the workers share its machine (no boot id: not Linux)
    # knows their clocks only from the ping rounds, never to a nanosecond.
    monkeypatch.setattr("aiperf.scale.driver.boot_id", lambda: None)
    server = sim_server(mode="deterministic", ttft_ms=5, itl_ms=1)
    result = cli("profile", "--url", server.url, *RUN, "--workers", "2", "--concurrency", "2",
                 "--request-count", "10", "--max-clock-error", "0.000001",
                 "--artifact-dir", str(tmp_path / "run"))

    assert result.exit_code == 1
    assert "above --max-clock-error" in result.output and "did not start" in result.output
    assert server.stats(records=False)["totals"]["requests"] == 0


def test_sessions_stay_whole_on_their_worker(sim_server, tmp_path):
    server = sim_server(mode="deterministic", ttft_ms=5, itl_ms=1)
    run = tmp_path / "run"
    result = cli("profile", "--url", server.url, *RUN, "--workers", "2", "--concurrency", "4",
                 "--num-sessions", "8", "--session-turns-mean", "3",
                 "--session-header", "X-Session-ID", "--artifact-dir", str(run))

    assert result.exit_code == 0, result.output
    assert turns_of_each_conversation(run) == [[0, 1, 2]] * 8
    assert server.stats(records=False)["concurrency"]["max_in_flight"] <= 4


def test_each_cell_of_a_sweep_runs_distributed(sim_server, tmp_path):
    server = sim_server(mode="deterministic", ttft_ms=5, itl_ms=1)
    base = tmp_path / "sweep"
    result = cli("profile", "--url", server.url, *RUN, "--workers", "2", "--concurrency",
                 "2,4", "--request-count", "12", "--artifact-dir", str(base))

    assert result.exit_code == 0, result.output
    cells = sorted(p.parent for p in base.glob("*/run.json"))
    assert len(cells) == 2
    for cell in cells:
        assert len(json.loads((cell / "run.json").read_text())["workers"]) == 2
        assert len(records_of(cell)) == 12


def test_a_trace_is_dealt_out_with_each_prompt_on_its_own_due_time(sim_server, tmp_path):
    """Twelve trace lines 100 ms apart, each with its own input length: the workers send
    six each, and every request went out at the due time of the line its prompt came
    from (told by the record's due stamp, not by when it was really sent)."""
    server = sim_server(mode="deterministic", ttft_ms=2, itl_ms=1)
    trace = tmp_path / "trace.jsonl"
    trace.write_text("".join(json.dumps({"timestamp": j * 100, "input_length": 20 + j,
                                         "output_length": 4, "hash_ids": [j]}) + "\n"
                             for j in range(12)), encoding="utf-8")
    run = tmp_path / "run"
    result = cli("profile", "--url", server.url, *RUN, "--workers", "2", "--input-file",
                 str(trace), "--custom-dataset-type", "mooncake_trace",
                 "--artifact-dir", str(run))

    assert result.exit_code == 0, result.output
    assert [w["requests"] for w in json.loads((run / "run.json").read_text())["workers"]] == [
        6, 6]
    records = records_of(run)
    first_due = min(r["metadata"]["credit_issued_ns"] for r in records)
    line_of = {round((r["metadata"]["credit_issued_ns"] - first_due) / 100e6):
               r["metrics"]["input_sequence_length"]["value"] for r in records}
    assert line_of == {j: 20 + j for j in range(12)}


def test_a_file_of_conversations_is_shared_out_whole(sim_server, tmp_path):
    """Four conversations of three turns from a file, over two workers: every turn of
    each is sent once, in order, under one session id."""
    server = sim_server(mode="deterministic", ttft_ms=2, itl_ms=1)
    talks = tmp_path / "talks.jsonl"
    talks.write_text("".join(json.dumps({"session_id": name, "turns": [
        {"text": f"{name} {turn}"} for turn in ("one", "two", "three")]}) + "\n"
        for name in ("a", "b", "c", "d")), encoding="utf-8")
    run = tmp_path / "run"
    result = cli("profile", "--url", server.url, *RUN, "--workers", "2", "--concurrency",
                 "2", "--custom-dataset-type", "multi_turn", "--input-file", str(talks),
                 "--session-header", "X-Session-ID", "--artifact-dir", str(run))

    assert result.exit_code == 0, result.output
    assert turns_of_each_conversation(run) == [[0, 1, 2]] * 4
    sessions = [r["session_id"] for r in server.stats()["records"]]
    assert sorted(sessions.count(s) for s in set(sessions)) == [3] * 4


def test_without_ray_several_workers_is_an_error_naming_the_extra(monkeypatch, tmp_path):
    import aiperf.scale.driver as driver

    monkeypatch.setattr(driver, "ray_available", lambda: False)
    result = cli("profile", "--url", "sim://", *RUN, "--workers", "2", "--request-count", "4",
                 "--artifact-dir", str(tmp_path / "run"))

    assert result.exit_code == 2
    assert ".[ray]" in result.output
    assert not (tmp_path / "run").exists()


def test_a_rate_without_an_end_cannot_be_distributed(tmp_path):
    result = cli("profile", "--url", "sim://", *RUN, "--workers", "2", "--request-rate",
                 "10", "--benchmark-duration", "0", "--artifact-dir", str(tmp_path / "run"))

    assert result.exit_code == 2


def test_two_nodes_get_one_worker_each(sim_server, tmp_path):
    ray.shutdown()  # one Ray on the machine at a time: the local one of earlier tests goes
    server = sim_server(mode="deterministic", ttft_ms=5, itl_ms=1)
    run = tmp_path / "run"
    script = Path(__file__).with_name("two_node_cluster.py")
    # What an earlier ray.init in this process exported (token auth) is not the cluster's.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RAY_") and k != "PYTHONBREAKPOINT"}
    done = subprocess.run([sys.executable, str(script), "--url", server.url, *RUN,
                           "--workers", "2", "--concurrency", "4", "--request-count", "40",
                           "--artifact-dir", str(run)], capture_output=True, text=True,
                          timeout=300, check=False, env=env)

    lines = done.stdout.strip().splitlines()
    assert lines and lines[-1] == "0", done.stdout + done.stderr[-3000:]
    workers = json.loads((run / "run.json").read_text())["workers"]
    assert len({w["node"] for w in workers}) == 2
    assert [w["requests"] for w in workers] == [20, 20]
    assert len(records_of(run)) == 40 == server.stats(records=False)["totals"]["requests"]


def _ray_processes() -> set[int]:
    out = subprocess.run(["pgrep", "-f", "ray::|raylet|gcs_server"], capture_output=True,
                         text=True, check=False).stdout
    return {int(p) for p in out.split()}


def _worker_pids() -> list[int]:
    out = subprocess.run(["pgrep", "-f", "ray::LoadWorker"], capture_output=True, text=True,
                         check=False).stdout
    return [int(p) for p in out.split()]


def _wait_for_records(run: Path, proc, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    records = run / "profile_export.jsonl"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stdout.read() + proc.stderr.read())
        if records.exists() and records.stat().st_size > 0 and len(_worker_pids()) == 2:
            return
        time.sleep(0.2)
    raise AssertionError("no records within the time allowed")


def _long_run(sim_server, aiperf_subprocess, run: Path):
    """A 60 s distributed run in a child process, once both workers are sending; the Ray
    processes that were there before it."""
    ray.shutdown()
    before = _ray_processes()
    server = sim_server(mode="deterministic", ttft_ms=5, itl_ms=5)
    proc = aiperf_subprocess("profile", "--url", server.url, *RUN, "--workers", "2",
                             "--concurrency", "4", "--benchmark-duration", "60",
                             "--artifact-dir", str(run))
    _wait_for_records(run, proc)
    return proc, before


def _ended_partial_with_every_record(run: Path, before: set[int]) -> dict:
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["status"] == "partial"
    assert len(records_of(run)) == sum(w["requests"] for w in manifest["workers"]) > 0
    time.sleep(1)
    assert _ray_processes() <= before  # the local Ray went with the run
    assert _worker_pids() == []
    return manifest


def test_a_worker_that_dies_makes_the_run_partial_and_exit_1(sim_server, aiperf_subprocess,
                                                             tmp_path):
    proc, before = _long_run(sim_server, aiperf_subprocess, tmp_path / "run")
    os.kill(_worker_pids()[0], signal.SIGKILL)
    code = proc.wait(timeout=120)

    assert code == 1, proc.stdout.read()
    manifest = _ended_partial_with_every_record(tmp_path / "run", before)
    assert re.search(r"worker \d on .* died after sending \d+ request", manifest["partial_reason"])
    assert [w["status"] for w in manifest["workers"]].count("died") == 1


def test_ctrl_c_stops_every_worker_and_keeps_what_they_measured(sim_server, aiperf_subprocess,
                                                                tmp_path):
    proc, before = _long_run(sim_server, aiperf_subprocess, tmp_path / "run")
    proc.send_signal(signal.SIGINT)

    assert proc.wait(timeout=120) == 130
    _ended_partial_with_every_record(tmp_path / "run", before)
