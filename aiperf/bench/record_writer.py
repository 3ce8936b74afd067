"""Stream the per-request JSONL to disk while the run goes on, so a crash keeps it.

Each profiling request's metrics are rendered to its JSONL line as it finishes
(:func:`aiperf.bench.export.record_line`) and appended to a small buffer. The buffer
goes to the file when it reaches :data:`FLUSH_BYTES`, and at least every
:data:`FLUSH_INTERVAL_S` from a timer on the run's event loop: a write into the page
cache takes microseconds, so doing it on the loop does not disturb the measurements,
and a process killed outright (SIGKILL, OOM) has every record that finished more than a
second earlier on disk. Only whole lines are written, so a reader
at most meets a line cut by the kill itself, which the readers skip.

This file is the run's JSONL export: no copy of the records stays in memory to write it
again at the end (a long run's memory must not grow with its requests). At the end of a
run :meth:`RecordWriter.close` writes the rest and syncs the file to disk before the
summaries, which are written atomically, say the run is complete. A write that fails (a
full disk) stops the streaming without disturbing the run; :meth:`RecordWriter.close`
then raises :class:`~aiperf.artifacts.atomic.ArtifactWriteError` naming the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from aiperf.artifacts.atomic import ArtifactWriteError
from aiperf.bench.metrics import RecordMetrics

__all__ = ["FLUSH_BYTES", "FLUSH_INTERVAL_S", "RecordWriter", "run_record_writer"]

#: The longest a finished record waits in memory before it is written.
FLUSH_INTERVAL_S = 0.5
#: Buffered bytes that trigger a write at once (a fast run need not wait for the timer).
FLUSH_BYTES = 64 * 1024


class RecordWriter:
    """Appends the JSONL line of every profiling request to ``path`` as it finishes.

    ``render`` turns a request's metrics into its line (newline included), as text or
    as UTF-8 bytes (the run's own renderer gives bytes: no encoding step per request). Use
    :meth:`start` before the run (with the run's loop for the periodic flush) and
    :meth:`close` after it. Warm-up records are not exported, so they are not written
    either.
    """

    def __init__(self, path: Path, render: Callable[[RecordMetrics], str | bytes],
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

    def start(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Create (truncate) the file and start the periodic flush on ``loop`` (None: no
        periodic flush, only the size trigger and :meth:`close`)."""
        try:
            self._file = self.path.open("wb")
        except OSError as e:
            self.error = ArtifactWriteError(self.path, e)
            return
        self._loop = loop
        if loop is not None:
            self._timer = loop.call_later(self._interval_s, self._tick)

    def add(self, item: RecordMetrics) -> None:
        """Buffer one finished request's line; write the buffer when it is full."""
        if item.record.phase != "profiling" or self._file is None:
            return
        rendered = self._render(item)
        line = rendered if isinstance(rendered, bytes) else rendered.encode("utf-8")
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
        """Stop the timer, write the rest, sync the file to disk and close it; raise the
        first write error, if any (:class:`~aiperf.artifacts.atomic.ArtifactWriteError`)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.flush()
        if self._file is not None:
            try:
                os.fsync(self._file.fileno())
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
        # The run goes on (a full disk must not disturb what is being measured);
        # streaming stops, and close() reports the failure.
        if self.error is None:
            self.error = ArtifactWriteError(self.path, error)
        if self._file is not None:
            # Closing flushes nothing more (the buffer was just written or failed); a
            # second failure here adds nothing to the first.
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None


def run_record_writer(path: Path) -> RecordWriter:
    """The writer of a run's JSONL export, in the reference's line format."""
    from aiperf.bench.export import record_line_bytes

    return RecordWriter(path, record_line_bytes)
