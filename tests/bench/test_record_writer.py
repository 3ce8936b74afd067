"""The streamed per-request JSONL (aiperf.bench.record_writer): on disk while the run goes
on, and the run's JSONL export itself."""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path

import pytest

from aiperf.artifacts.atomic import ArtifactWriteError
from aiperf.bench.export import record_line
from aiperf.bench.metrics import record_metrics
from aiperf.bench.record_writer import RecordWriter, run_record_writer
from aiperf.bench.records import RequestError
from tests.bench.metrics_helpers import MS, make_record


def some_records():
    """Successes, a failure and a cancelled request, in completion order (not by index)."""
    return [make_record(2), make_record(0, start=1_100 * MS),
            make_record(1, error=RequestError("http-status", "HTTP 500", 500)),
            make_record(3, cancelled=True)]


def stream(writer: RecordWriter, records, *, wait_s: float = 0.0) -> None:
    """Run ``writer`` on a loop of its own: add ``records``' metrics, wait."""
    loop = asyncio.new_event_loop()
    try:
        writer.start(loop)
        for record in records:
            writer.add(record_metrics(record, streaming=True))
        if wait_s:
            loop.run_until_complete(asyncio.sleep(wait_s))
    finally:
        loop.close()


def test_each_request_is_one_line_in_the_export_format_in_completion_order(tmp_path):
    path = tmp_path / "profile_export.jsonl"
    records = some_records()
    writer = run_record_writer(path)

    stream(writer, records)
    writer.close()

    lines = "".join(record_line(record_metrics(r, streaming=True)) for r in records)
    assert lines.encode() == path.read_bytes()


def test_without_a_loop_lines_are_written_by_size_and_on_close(tmp_path):
    path = tmp_path / "profile_export.jsonl"
    writer = RecordWriter(path, lambda item: f"{item.record.index}\n")
    writer.start(None)
    writer.add(record_metrics(make_record(0), streaming=True))

    writer.close()

    assert "0\n" == path.read_text()


def test_warmup_records_are_not_written(tmp_path):
    path = tmp_path / "profile_export.jsonl"
    writer = run_record_writer(path)

    stream(writer, [make_record(0, phase="warmup"), make_record(1)])
    writer.close()

    assert 1 == len(path.read_text().splitlines())


def test_records_reach_the_file_within_the_flush_interval(tmp_path):
    path = tmp_path / "profile_export.jsonl"
    writer = RecordWriter(path, lambda item: f"{item.record.index}\n", flush_interval_s=0.05)

    stream(writer, some_records(), wait_s=1.0)  # the timer had twenty chances

    assert "2\n0\n1\n3\n" == path.read_text()  # before close(): the timer wrote them
    writer.close()


def test_a_full_buffer_is_written_at_once(tmp_path):
    path = tmp_path / "profile_export.jsonl"
    writer = RecordWriter(path, lambda r: "x" * 40 + "\n", flush_interval_s=3600,
                          flush_bytes=100)

    stream(writer, [make_record(i) for i in range(5)])

    assert 3 == path.read_text().count("\n")  # 41 + 41 + 41 >= 100: the first three
    writer.close()
    assert 5 == path.read_text().count("\n")


def test_a_failed_write_is_reported_by_close_naming_the_file(tmp_path, monkeypatch):
    path = tmp_path / "profile_export.jsonl"
    writer = RecordWriter(path, lambda r: "x\n", flush_interval_s=3600, flush_bytes=1)
    loop = asyncio.new_event_loop()
    writer.start(loop)
    loop.close()

    def full(data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writer._file, "write", full)
    writer.add(record_metrics(make_record(0), streaming=True))  # fails; the run goes on
    writer.add(record_metrics(make_record(1), streaming=True))

    with pytest.raises(ArtifactWriteError) as caught:
        writer.close()
    assert f"cannot write {path}: No space left on device" == str(caught.value)


def test_an_unwritable_file_is_reported_by_close(tmp_path: Path):
    path = tmp_path / "missing-folder" / "profile_export.jsonl"
    writer = RecordWriter(path, lambda r: "x\n")

    stream(writer, [make_record(0)])

    with pytest.raises(ArtifactWriteError, match="missing-folder"):
        writer.close()
