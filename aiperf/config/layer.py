"""Layers: what one source says, each value with its origin attached when it is read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

Scope = Literal["default", "home", "recipe", "file", "envelope", "env", "cli", "cell"]

#: Scopes in increasing precedence for a generic field; files are ordered among
#: themselves by position (a later ``-f`` beats an earlier one). ``home`` holds what the
#: user keeps in their home folder for every run (``~/.aiperf/plot_config.yaml``, moved by
#: ``AIPERF_HOME``): above
#: the built-in defaults, below anything said for this run.
#: ``cell`` is one sweep cell's own values: they win over everything, since the cell
#: exists to vary them.
SCOPES: tuple[Scope, ...] = (
    "default", "home", "recipe", "file", "envelope", "env", "cli", "cell")

#: Scopes whose values the user wrote themselves.
EXPLICIT_SCOPES: frozenset[str] = frozenset({"file", "envelope", "env", "cli", "cell"})


@attrs.frozen
class Origin:
    """Where one value came from: a scope plus the precise place in that scope."""

    scope: Scope
    source: str
    line: int | None = None
    column: int | None = None

    def describe(self) -> str:
        """The single origin-to-text function used by errors, explain and artifacts."""
        if self.scope in ("file", "envelope", "home"):
            where = self.source
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            return f"your {where}" if self.scope == "home" else where
        if self.scope == "env":
            return f"environment variable {self.source}"
        if self.scope == "cli":
            return f"command-line flag {self.source}"
        if self.scope == "cell":
            return f"sweep cell {self.source}"
        if self.scope == "recipe":
            return f"recipe {self.source}"
        return "built-in default"


@attrs.frozen
class Value:
    """A value that never travels without its origin."""

    value: Any
    origin: Origin


@attrs.frozen
class Layer:
    """Everything one source says: field key -> :class:`Value`.

    ``label`` names the source for people (a file path, ``command line``,
    ``environment``, ``recipe concurrency-ramp``, ``built-in defaults``).
    """

    scope: Scope
    label: str
    values: Mapping[str, Value] = attrs.field(factory=dict)

    def get(self, key: str) -> Value | None:
        """The value this layer gives ``key``, or None when it says nothing about it."""
        return self.values.get(key)

    def without(self, key: str) -> Layer:
        """A copy of this layer that says nothing about ``key``."""
        return attrs.evolve(self, values={k: v for k, v in self.values.items() if k != key})
