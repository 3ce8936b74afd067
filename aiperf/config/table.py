"""Decision tables: the types and a pure interpreter.

A table is an ordered list of rules. With the FIRST hit policy the first row whose
condition holds decides; with COLLECT every row that holds fires (notes, constraint
errors). The interpreter reads no files and keeps no state.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from aiperf.config.predicates import PREDICATES, Facts

HitPolicy = Literal["first", "collect"]
Role = Literal["field", "note", "constraint"]
TAKES = ("given", "default", "unset", "value", "recipe_attribute", "derive")


@attrs.frozen
class RuleRef:
    """Where a rule lives, for people: ``rules/auto-plot.yaml:12`` and its id."""

    table: str
    id: str
    file: str
    line: int

    def location(self) -> str:
        return f"{self.file}:{self.line}"


@attrs.frozen
class Take:
    """How a field rule produces its value."""

    how: str
    arg: Any = None


@attrs.frozen
class Rule:
    """One row: an id, a condition (all predicates hold), an outcome and a reason."""

    ref: RuleRef
    when: tuple[tuple[str, Any], ...]
    because: str
    take: Take | None = None
    hint: str | None = None
    level: str | None = None
    about: str | None = None

    @property
    def id(self) -> str:
        return self.ref.id

    def atoms(self) -> frozenset[tuple[str, str]]:
        """The condition as a set, to decide whether one row shadows another."""
        return frozenset((name, repr(arg)) for name, arg in self.when)

    def matches(self, facts: Facts) -> bool:
        return all(PREDICATES[name].test(facts, arg) for name, arg in self.when)

    def placeholders(self) -> set[str]:
        """Names used in the ``because`` and ``hint`` templates."""
        names = set()
        for text in (self.because, self.hint or ""):
            names |= {f for _, f, _, _ in string.Formatter().parse(text) if f}
        return names


@attrs.frozen
class Table:
    """An ordered list of rules with one hit policy, loaded from one rules file."""

    name: str
    hit_policy: HitPolicy
    role: Role
    #: The fields a field table decides; None means every field no other table claims.
    applies_to: tuple[str, ...] | None
    rules: tuple[Rule, ...]
    file: str
    examples: tuple[Mapping[str, Any], ...] = ()

    def first(self, facts: Facts) -> Rule | None:
        """The first row whose condition holds (FIRST policy)."""
        for rule in self.rules:
            if rule.matches(facts):
                return rule
        return None

    def collect(self, facts: Facts) -> list[Rule]:
        """Every row whose condition holds (COLLECT policy)."""
        return [rule for rule in self.rules if rule.matches(facts)]

    def shadowed(self) -> list[tuple[Rule, Rule]]:
        """(earlier, later) pairs where the earlier row matches whenever the later does."""
        if self.hit_policy != "first":
            return []
        return [
            (earlier, later)
            for j, later in enumerate(self.rules)
            for earlier in self.rules[:j]
            if earlier.atoms() <= later.atoms()
        ]

    def has_fallback(self) -> bool:
        """Whether the last row always matches, so every field gets a decision."""
        return bool(self.rules) and not self.rules[-1].when


class SafeFormat(dict[str, Any]):
    """Template values; a missing name renders as ``{name}`` rather than failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(template: str, values: Mapping[str, Any]) -> str:
    """Fill a ``because`` or ``hint`` template."""
    return template.format_map(SafeFormat(values))
