"""The closed set of named conditions a rule may use.

A rule's ``when:`` is a mapping of predicate name -> argument; the row matches when
every predicate holds. Adding a predicate means adding it here, with the kind of its
argument, so rules files are checked when they are loaded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from aiperf.config.kinds import BoolKind, EnumKind, ListKind, MapKind, ScalarKind, StrKind
from aiperf.config.layer import SCOPES, Layer, Origin, Value
from aiperf.config.recipe import Recipe


@attrs.frozen
class Facts:
    """What predicates may look at: one field's layers, or the whole resolution."""

    field: str | None
    #: (layer, value) for every layer that gives ``field``, lowest precedence first.
    given: tuple[tuple[Layer, Value], ...]
    envelope: Value | None
    recipe: Recipe | None
    resolved: Mapping[str, Any] = attrs.field(factory=dict)
    #: Every field the user set in a file, the environment or on the command line, with
    #: the origin of the value that outranks the others.
    explicit: Mapping[str, Origin] = attrs.field(factory=dict)
    #: The values of those fields (the ones that outrank the others).
    explicit_values: Mapping[str, Any] = attrs.field(factory=dict)

    def given_in(self, scope: str) -> tuple[Layer, Value] | None:
        """The highest-precedence layer of ``scope`` that gives the field."""
        hits = [g for g in self.given if g[0].scope == scope]
        return hits[-1] if hits else None


def _given_in(facts: Facts, scope: str) -> bool:
    return facts.given_in(scope) is not None


def _explicitly_set(facts: Facts, key: str) -> bool:
    return key in facts.explicit


def _set_by_user(facts: Facts, key: str) -> bool:
    # A sweep cell's value counts as explicit for field tables (it must win), but it is
    # the sweep's choice, not the user's: a recipe's own cells must not trip a rule that
    # forbids the user setting what the recipe drives.
    return key in facts.explicit and facts.explicit[key].scope != "cell"


def _explicit_matches(facts: Facts, patterns: Mapping[str, Any]) -> bool:
    return all(
        key in facts.explicit_values
        and re.search(str(pattern), str(facts.explicit_values[key])) is not None
        for key, pattern in patterns.items()
    )


def _envelope_present(facts: Facts, want: bool) -> bool:
    return (facts.envelope is not None) == want


def _recipe_attribute(facts: Facts, name: str) -> bool:
    return facts.recipe is not None and getattr(facts.recipe, name) is not None


def _recipe_flag(facts: Facts, name: str) -> bool:
    return facts.recipe is not None and bool(getattr(facts.recipe, name))


def _recipe_sweeps(facts: Facts, dimension: str) -> bool:
    return facts.recipe is not None and dimension in facts.recipe.sweeps


def _recipe_requirement_unmet(facts: Facts, want: bool) -> bool:
    return bool(unmet_requirements(facts)) == want


def _resolved(facts: Facts, expected: Mapping[str, Any]) -> bool:
    return all(facts.resolved.get(k) == v for k, v in expected.items())


def _is_set(facts: Facts, key: str) -> bool:
    return facts.resolved.get(key) is not None


def _has_entries(facts: Facts, key: str) -> bool:
    return bool(facts.resolved.get(key))


def _never_set(facts: Facts, key: str) -> bool:
    # A sweep leaves the base value unset and gives it per cell, so "unset" alone would
    # misjudge `--request-rate 1,2,4`: the field is never set only when no cell sets it.
    if facts.resolved.get(key) is not None:
        return False
    if key in (facts.resolved.get("benchmark.sweep.parameters") or {}):
        return False
    scenarios = facts.resolved.get("benchmark.sweep.scenarios") or ()
    return not any(key in scenario.get("values", {}) for scenario in scenarios)


def _greater(facts: Facts, keys: list[str]) -> bool:
    a, b = (facts.resolved.get(k) for k in keys)
    return a is not None and b is not None and a > b


def unmet_requirements(facts: Facts) -> list[str]:
    """The recipe's requirement groups that no resolved value satisfies, as text."""
    if facts.recipe is None:
        return []
    return [
        " or ".join(group)
        for group in facts.recipe.requires
        if all(facts.resolved.get(k) is None for k in group)
    ]


@attrs.frozen
class Predicate:
    """A named condition: the kind of its argument and the function that tests it."""

    name: str
    arg: Any
    test: Callable[[Facts, Any], bool]
    doc: str


PREDICATES: Mapping[str, Predicate] = {
    p.name: p
    for p in (
        Predicate("given_in", EnumKind(SCOPES), _given_in,
                  "a layer of this scope gives the field"),
        Predicate("explicitly_set", StrKind(), _explicitly_set,
                  "the user set this (other) field in a file, the environment or a flag"),
        Predicate("set_by_user", StrKind(), _set_by_user,
                  "the user set this field in a file, the environment or a flag (a sweep "
                  "cell's value does not count)"),
        Predicate("explicit_matches", MapKind(StrKind()), _explicit_matches,
                  "the user set these (other) fields to values matching these patterns"),
        Predicate("envelope_present", BoolKind(), _envelope_present,
                  "a plot: envelope is (or is not) present"),
        Predicate("recipe_attribute", StrKind(), _recipe_attribute,
                  "the active recipe defines this attribute"),
        Predicate("recipe_flag", StrKind(), _recipe_flag,
                  "the active recipe's attribute is true"),
        Predicate("recipe_sweeps", StrKind(), _recipe_sweeps,
                  "the active recipe drives this load dimension itself"),
        Predicate("recipe_requirement_unmet", BoolKind(), _recipe_requirement_unmet,
                  "a setting the active recipe needs is missing"),
        Predicate("resolved", MapKind(ScalarKind()), _resolved,
                  "resolved fields have these values"),
        Predicate("is_set", StrKind(), _is_set, "the resolved field has a value"),
        Predicate("has_entries", StrKind(), _has_entries,
                  "the resolved mapping or list field has at least one entry"),
        Predicate("never_set", StrKind(), _never_set,
                  "the resolved field has no value, and no sweep parameter or scenario "
                  "gives it one"),
        Predicate("greater", ListKind(StrKind(), min_len=2), _greater,
                  "the first resolved field is greater than the second"),
    )
}
