"""Where the profile command's words go: a rich console on a terminal, plain lines off one.

Off a terminal (CI logs, pipes, ``--ui none``) nothing is animated and nothing needs
colour, so the plain writer prints text and fixed-width tables itself. That spares a
scripted run rich's import and table layout (about 60 ms of every run, measured by
``benchmarks/run_overhead.py``), and keeps logs free of box-drawing characters.

Messages are passed as text plus a separate label style, never as rich markup, so a
server's error message containing ``[brackets]`` is printed as it is.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, Protocol, TextIO


class Output(Protocol):
    """What the profile command prints through."""

    #: Whether this is an interactive terminal (a progress bar can be drawn).
    is_terminal: bool

    def line(self, text: str, label: str | None = None, style: str | None = None) -> None:
        """One message; ``label`` (e.g. ``warning:``) is shown in ``style`` if colours are on."""

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """A table; the first column is the row label, every column right-aligned."""


class PlainOutput:
    """Plain text to a stream: no colours, no animation, no rich."""

    is_terminal = False

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def _write(self, text: str) -> None:
        stream = self._stream or sys.stdout
        stream.write(text + "\n")
        stream.flush()

    def line(self, text: str, label: str | None = None, style: str | None = None) -> None:
        self._write(f"{label} {text}" if label else text)

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        widths = [max(len(str(r[i])) for r in (columns, *rows)) for i in range(len(columns))]
        rule = "-+-".join("-" * w for w in widths)
        out = [title, " | ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)), rule]
        out += [" | ".join(str(v).rjust(w) for v, w in zip(row, widths, strict=True))
                for row in rows]
        self._write("\n".join(out))


class RichOutput:
    """A rich console: colours, tables with borders, and a live progress bar."""

    def __init__(self, width: int | None = None) -> None:
        from rich.console import Console

        self.console: Any = Console(width=width)
        self.is_terminal = bool(self.console.is_terminal)

    def line(self, text: str, label: str | None = None, style: str | None = None) -> None:
        from rich.text import Text

        message = Text()
        if label:
            message.append(label, style=style or "")
            message.append(" ")
        message.append(text)
        self.console.print(message, soft_wrap=label is None)

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        from rich.table import Table

        table = Table(title=title, title_style="bold")
        for name in columns:
            table.add_column(name, justify="right")
        for row in rows:
            table.add_row(*row)
        self.console.print(table)


def open_output(ui: str, stdout_is_terminal: bool) -> Output:
    """Rich on a terminal or when a progress bar is asked for; plain text otherwise."""
    if ui == "progress" or stdout_is_terminal:
        # Off a terminal rich would assume 80 columns and wrap every table row.
        return RichOutput(width=None if stdout_is_terminal else 140)
    return PlainOutput()
