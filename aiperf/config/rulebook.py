"""Load the shipped decision tables (``rules/*.yaml``) and check them as they load.

The tables are data shipped inside the package; reading them is this module's only
job. A malformed rules file is a packaging bug, reported with its file and line.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import attrs
import strictyaml as sy

from aiperf._resources import rules_dir
from aiperf.config.errors import ConfigError, ConfigErrors
from aiperf.config.kinds import ScalarKind
from aiperf.config.predicates import PREDICATES
from aiperf.config.schema import Leaf, type_node
from aiperf.config.table import TAKES, Rule, RuleRef, Table, Take

_RULE = sy.Map(
    {
        "id": sy.Str(),
        sy.Optional("about"): sy.Str(),
        sy.Optional("level"): sy.Enum(["info", "warning"]),
        "when": sy.Enum(["always"]) | sy.MapPattern(sy.Str(), sy.Any()),
        sy.Optional("take"): sy.Enum(["given", "default"])
        | sy.Map({sy.Optional("value"): sy.Any(), sy.Optional("recipe_attribute"): sy.Str()}),
        "because": sy.Str(),
        sy.Optional("hint"): sy.Str(),
    }
)

_TABLE = sy.Map(
    {
        "table": sy.Str(),
        "role": sy.Enum(["field", "note", "constraint"]),
        "hit_policy": sy.Enum(["first", "collect"]),
        sy.Optional("applies_to"): sy.Enum(["*"]) | sy.Seq(sy.Str()),
        "rules": sy.Seq(_RULE),
        sy.Optional("examples"): sy.Seq(sy.Any()),
    }
)

#: Rules files that are not decision tables.
NOT_TABLES = frozenset({"recipes.yaml"})


def _display(path: Path) -> str:
    return f"rules/{path.name}"


def _fail(label: str, line: int | None, message: str) -> ConfigErrors:
    return ConfigErrors([ConfigError("bad-rules-file", message, label, line)])


def _typed(kind: Any, node: sy.YAML, label: str) -> Any:
    value, problem = type_node(Leaf((), kind, node, node.start_line, 1), {})
    if problem:
        raise _fail(label, problem.line, problem.message)
    return value


def _rule(node: sy.YAML, table: str, label: str) -> Rule:
    # The item's own line: strictyaml reports the first key of a list item one line late.
    ref = RuleRef(table, str(node["id"].data), label, node.start_line)
    when: list[tuple[str, Any]] = []
    if node["when"].is_mapping():
        for k, v in node["when"].items():
            name = str(k.data)
            if name not in PREDICATES:
                raise _fail(label, k.start_line, f"unknown predicate '{name}' "
                            f"(known: {', '.join(sorted(PREDICATES))})")
            when.append((name, _typed(PREDICATES[name].arg, v, label)))
    take = None
    if "take" in node:
        t = node["take"]
        if t.is_scalar():
            take = Take(str(t.data))
        elif "value" in t:
            take = Take("value", _typed(ScalarKind(), t["value"], label))
        else:
            take = Take("recipe_attribute", str(t["recipe_attribute"].data))
        assert take.how in TAKES
    return Rule(
        ref=ref,
        when=tuple(when),
        because=str(node["because"].data),
        take=take,
        hint=str(node["hint"].data) if "hint" in node else None,
        level=str(node["level"].data) if "level" in node else None,
        about=str(node["about"].data) if "about" in node else None,
    )


def load_table(path: Path) -> Table:
    """One rules file as a checked :class:`Table`."""
    label = _display(path)
    text = path.read_text(encoding="utf-8")
    try:
        doc = sy.load(text, _TABLE, label=label)
    except sy.YAMLValidationError as e:
        raise _fail(label, e.problem_mark.line + 1, f"{e.context}: {e.problem}") from None
    name = str(doc["table"].data)
    role = str(doc["role"].data)
    rules = tuple(_rule(r, name, label) for r in doc["rules"])
    for rule in rules:
        if role == "field" and rule.take is None:
            raise _fail(label, rule.ref.line, f"field rule '{rule.id}' has no take:")
    applies = doc.data.get("applies_to")
    return Table(
        name=name,
        hit_policy=str(doc["hit_policy"].data),  # type: ignore[arg-type]
        role=role,  # type: ignore[arg-type]
        applies_to=None if applies in (None, "*") else tuple(applies),
        rules=rules,
        file=label,
        examples=tuple(doc.data.get("examples", [])),
    )


@attrs.frozen
class Rulebook:
    """Every decision table, split by role."""

    field_tables: tuple[Table, ...]
    note_tables: tuple[Table, ...]
    constraint_tables: tuple[Table, ...]

    @property
    def tables(self) -> tuple[Table, ...]:
        return self.field_tables + self.note_tables + self.constraint_tables

    def table_for(self, key: str) -> Table:
        """The field table that decides ``key``: a specific one, else the generic one."""
        generic = None
        for table in self.field_tables:
            if table.applies_to is None:
                generic = table
            elif key in table.applies_to:
                return table
        if generic is None:
            raise LookupError(f"no rules table decides {key}")
        return generic


def load_rulebook_from(folder: Path) -> Rulebook:
    """Every ``*.yaml`` table in ``folder``, in file-name order."""
    tables = [load_table(p) for p in sorted(folder.glob("*.yaml")) if p.name not in NOT_TABLES]
    return Rulebook(
        field_tables=tuple(t for t in tables if t.role == "field"),
        note_tables=tuple(t for t in tables if t.role == "note"),
        constraint_tables=tuple(t for t in tables if t.role == "constraint"),
    )


@functools.cache
def load_rulebook() -> Rulebook:
    """The shipped rulebook (read once per process)."""
    return load_rulebook_from(rules_dir())

