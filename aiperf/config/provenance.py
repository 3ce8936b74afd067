"""Provenance: for every resolved field, why it has its value.

A :class:`Provenance` holds the value, the winning origin, the rule that decided it
(with the rule's file and line), the rendered reason, and every source that was
considered with its status. :class:`Resolved` bundles the frozen config with the
provenance of all fields, the notes and any constraint problems.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from aiperf.config.errors import ConfigError, ConfigErrors
from aiperf.config.layer import EXPLICIT_SCOPES, Origin
from aiperf.config.model import Config
from aiperf.config.recipe import Recipe
from aiperf.config.table import RuleRef

#: Statuses a considered source can have.
WON, OVERRIDDEN, MERGED, NOT_GIVEN, NOT_SET = "won", "overridden", "merged", "not given", "not set"
PRESENT_OUTRANKED, ABSENT = "present, outranked", "absent"
#: A field a derived value was computed from (see aiperf/config/derive.py).
READ = "read"


@attrs.frozen
class Consideration:
    """One source looked at while deciding a field, whether or not it said anything."""

    scope: str
    label: str
    status: str
    value: Any = None
    origin: Origin | None = None


@attrs.frozen
class Provenance:
    """Why one field has its value."""

    key: str
    value: Any
    origin: Origin
    rule: RuleRef
    because: str
    hint: str | None
    considered: tuple[Consideration, ...]

    @property
    def explicit(self) -> bool:
        """Whether the user set the value themselves (file, envelope, env or CLI)."""
        return self.origin.scope in EXPLICIT_SCOPES

    @property
    def changed(self) -> bool:
        """Whether the value came from anywhere but the built-in default."""
        return self.origin.scope != "default"


@attrs.frozen
class Note:
    """An informational message about the resolution, from a notes table."""

    id: str
    level: str
    about: str | None
    message: str
    hint: str | None
    rule: RuleRef


@attrs.frozen
class Resolved:
    """The frozen configuration and the reasons behind it."""

    config: Config
    provenance: Mapping[str, Provenance]
    notes: tuple[Note, ...] = ()
    problems: tuple[ConfigError, ...] = ()
    recipe: Recipe | None = None

    def value(self, key: str) -> Any:
        """The resolved value of a field by its dotted key."""
        return self.provenance[key].value

    def values(self) -> dict[str, Any]:
        """Every field's resolved value by dotted key."""
        return {k: p.value for k, p in self.provenance.items()}

    def notes_about(self, key: str) -> list[Note]:
        return [n for n in self.notes if n.about == key]

    def check(self) -> Resolved:
        """Raise every constraint problem together; return self when there are none."""
        if self.problems:
            raise ConfigErrors(self.problems)
        return self
