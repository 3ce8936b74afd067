"""Stream the per-request JSONL to disk while the run goes on, so a crash keeps it.

Each profiling record is rendered to its JSONL line as it finishes (the very line the
final export writes, :func:`aiperf.bench.export.record_line`) and appended to a small
buffer. The buffer goes to the file when it reaches :data:`FLUSH_BYTES`, and at least
every :data:`FLUSH_INTERVAL_S` from a timer on the run's event loop: a write into the
page cache takes microseconds, so doing it on the loop does not disturb the
measurements, and a process killed outright (SIGKILL, OOM) has every record that
finished more than a second earlier on disk. Only whole lines are written, so a reader
at most meets a line cut by the kill itself, which the readers skip.

At the end of a run the exporter replaces the file atomically with the same lines in
the same (completion) order, so the streamed file is the crash copy, never the final
one. A write that fails (a full disk) stops the streaming without disturbing the run;
:meth:`RecordWriter.close` then raises :class:`~aiperf.bench.atomic.ArtifactWriteError`
naming the file.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from aiperf.bench.atomic import ArtifactWriteError
from aiperf.bench.records import RequestRecord

__all__ = ["FLUSH_BYTES", "FLUSH_INTERVAL_S", "RecordWriter", "run_record_writer"]

#: The longest a finished record waits in memory before it is written.
FLUSH_INTERVAL_S = 0.5
#: Buffered bytes that trigger a write at once (a fast run need not wait for the timer).
FLUSH_BYTES = 64 * 1024


class RecordWriter:
    """Appends the JSONL line of every profiling record to ``path`` as it finishes.

    ``render`` turns a record into its line (newline included). Use :meth:`start` with
    the run's loop before the run and :meth:`close` after it; :meth:`add` is the runner's
    ``on_record``. Warm-up records are not exported, so they are not written either.
    """

    def __init__(self, path: Path, render: Callable[[RequestRecord], str],
                 flush_interval_s: float = FLUSH_INTERVAL_S,
                 flush_bytes: int = FLUSH_BYTES) -> None:
        self.path = path
        self._render = render
        self._interval_s = flush_interval_s
        self._flush_bytes = flush_bytes
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._file: BinaryIO | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.error: ArtifactWriteError | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Create (truncate) the file and start the periodic flush on ``loop``."""
        try:
            self._file = self.path.open("wb")
        except OSError as e:
            self.error = ArtifactWriteError(self.path, e)
            return
        self._loop = loop
        self._timer = loop.call_later(self._interval_s, self._tick)

    def add(self, record: RequestRecord) -> None:
        """Buffer one finished record's line; write the buffer when it is full."""
        if record.phase != "profiling" or self._file is None:
            return
        line = self._render(record).encode("utf-8")
        self._pending.append(line)
        self._pending_bytes += len(line)
        if self._pending_bytes >= self._flush_bytes:
            self.flush()

    def flush(self) -> None:
        """Write what is buffered (whole lines only)."""
        if not self._pending or self._file is None:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        try:
            self._file.write(data)
            self._file.flush()  # into the OS: what a killed process leaves behind
        except OSError as e:
            self._fail(e)

    def close(self) -> None:
        """Stop the timer, write the rest and close the file; raise the first write
        error, if any (:class:`~aiperf.bench.atomic.ArtifactWriteError`)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.flush()
        if self._file is not None:
            try:
                self._file.close()
            except OSError as e:
                self._fail(e)
            self._file = None
        if self.error is not None:
            raise self.error

    def _tick(self) -> None:
        self.flush()
        if self._file is not None and self._loop is not None:
            self._timer = self._loop.call_later(self._interval_s, self._tick)

    def _fail(self, error: OSError) -> None:
        # The run goes on (its records are still in memory and may yet be exported);
        # streaming stops, and close() reports the failure.
        if self.error is None:
            self.error = ArtifactWriteError(self.path, error)
        if self._file is not None:
            # Closing flushes nothing more (the buffer was just written or failed); a
            # second failure here adds nothing to the first.
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None


def run_record_writer(path: Path, *, streaming: bool) -> RecordWriter:
    """The writer of a run's JSONL: each record rendered exactly as the export renders it
    (``streaming`` decides which metrics a record gets, as in ``RunFacts``)."""
    from aiperf.bench.export import record_line
    from aiperf.bench.metrics import record_metrics

    return RecordWriter(path, lambda record: record_line(record_metrics(record,
                                                                        streaming=streaming)))
