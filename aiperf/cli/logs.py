"""Console logging in the style of the rest of the output: ``warning: message``.

The commands print their own lines through :mod:`aiperf.bench.output` (``warning: ...``,
``error: ...``); log records from the modules below (``log.warning(...)``) reach the
user too, and must not look different (``WARNING aiperf.profile - ...``). One handler
on the root logger writes them in that style: warnings and errors with their label,
informational lines as they are.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

#: The label a record of each level gets; levels below WARNING get none.
LABELS = {logging.WARNING: "warning:", logging.ERROR: "error:", logging.CRITICAL: "error:"}


class ConsoleFormatter(logging.Formatter):
    """``warning: message`` / ``error: message``; an INFO line is its message alone."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        label = LABELS.get(record.levelno)
        return f"{label} {text}" if label else text


class ConsoleHandler(logging.StreamHandler[TextIO]):
    """Writes to the *current* ``sys.stderr``, looked up at every record.

    A handler that kept the stream it was made with would write into a stream that has
    since been replaced or closed (test runners and embedding tools swap ``sys.stderr``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(ConsoleFormatter())

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """Ignored: the stream is always the current ``sys.stderr``."""


def console_logging(level: int = logging.WARNING) -> None:
    """Show log records of ``level`` and above on stderr, in the console style.

    Like :func:`logging.basicConfig` it leaves logging alone when the root logger already
    has handlers of someone else's (an application embedding aiperf, a test runner). It
    adds its own handler only once, however many commands run in one process; each
    command's call sets the level that command shows.
    """
    root = logging.getLogger()
    ours = any(isinstance(h, ConsoleHandler) for h in root.handlers)
    if root.handlers and not ours:
        return
    if not ours:
        root.addHandler(ConsoleHandler())
    root.setLevel(level)
