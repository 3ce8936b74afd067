"""Configuration errors: each one says where, what, and how to fix it.

Errors are collected while a source is read and raised together as one
:class:`ConfigErrors`, so a user sees every problem of a file at once.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import attrs


@attrs.frozen
class ConfigError:
    """One problem in the user's configuration.

    ``code`` is a stable kebab-case slug (``unknown-key``, ``wrong-type``) that tests and
    documentation can refer to; the rest is what the user reads.
    """

    code: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    key: str | None = None
    hint: str | None = None

    def location(self) -> str:
        """``file:line:column`` (as much of it as is known), or the empty string."""
        if self.file is None:
            return ""
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def render(self) -> str:
        """The error as the user sees it: ``file:line:col: key: message`` plus a hint."""
        head = ": ".join(p for p in (self.location(), self.key, self.message) if p)
        if self.hint:
            return f"{head}\n  hint: {self.hint}"
        return head


class ConfigErrors(Exception):
    """Every error found in one pass over the configuration, raised together."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        self.errors = tuple(errors)
        super().__init__(self.render())

    def render(self) -> str:
        """All errors, one block each, with a count line when there are several."""
        body = "\n".join(f"error: {e.render()}" for e in self.errors)
        if len(self.errors) > 1:
            return f"{body}\n{len(self.errors)} errors"
        return body


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A ``did you mean 'x'?`` hint for a misspelt name, or None when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
