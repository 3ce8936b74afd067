"""Load the shipped decision tables (``rules/*.yaml``) and check them as they load.

The tables are data shipped inside the package; reading them is this module's only
job. A malformed rules file is a packaging bug, reported with its file and line.

strictyaml is slow (tens of milliseconds for the four tables, a large share of a CLI
start), so :func:`load_rulebook` keeps strictyaml's results for the shipped files in
:class:`aiperf.config.parse_cache.ParseCache`. Checking the rules and building the
:class:`Table` objects runs on every start either way.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from aiperf._resources import rules_dir
from aiperf.config.derive import DERIVATIONS
from aiperf.config.errors import ConfigError, ConfigErrors
from aiperf.config.kinds import ScalarKind
from aiperf.config.parse_cache import ParseCache
from aiperf.config.predicates import PREDICATES
from aiperf.config.schema import type_plain
from aiperf.config.table import TAKES, Rule, RuleRef, Table, Take


@functools.cache
def _table_schema() -> Any:
    """strictyaml's schema of one rules file (built on a cache miss only: strictyaml is
    imported only when something is actually parsed)."""
    import strictyaml as sy

    rule = sy.Map(
        {
            "id": sy.Str(),
            sy.Optional("inherit"): sy.Str(),
            sy.Optional("about"): sy.Str(),
            sy.Optional("level"): sy.Enum(["info", "warning"]),
            sy.Optional("when"): sy.Enum(["always"]) | sy.MapPattern(sy.Str(), sy.Any()),
            sy.Optional("take"): sy.Enum(["given", "default", "unset"])
            | sy.Map({sy.Optional("value"): sy.Any(), sy.Optional("recipe_attribute"): sy.Str(),
                      sy.Optional("derive"): sy.Str()}),
            sy.Optional("because"): sy.Str(),
            sy.Optional("hint"): sy.Str(),
        }
    )
    return sy.Map(
        {
            "table": sy.Str(),
            "role": sy.Enum(["field", "note", "constraint"]),
            "hit_policy": sy.Enum(["first", "collect"]),
            sy.Optional("extends"): sy.Str(),
            sy.Optional("applies_to"): sy.Enum(["*"]) | sy.Seq(sy.Str()),
            "rules": sy.Seq(rule),
            sy.Optional("examples"): sy.Seq(sy.Any()),
        }
    )


#: Rules files that are not decision tables.
NOT_TABLES = frozenset({"recipes.yaml"})


def _display(path: Path) -> str:
    return f"rules/{path.name}"


def _fail(label: str, line: int | None, message: str) -> ConfigErrors:
    return ConfigErrors([ConfigError("bad-rules-file", message, label, line)])


#: A rule row's first line, ``- id: <id>``.
_ROW_ID = re.compile(r"^\s*-\s*id:\s*(\S+)\s*$")


def _row_lines(lines: list[str]) -> dict[str, int]:
    """Rule id -> the line of its ``- id:``, in one pass over the file."""
    found: dict[str, int] = {}
    for n, text in enumerate(lines, 1):
        match = _ROW_ID.match(text)
        if match:
            found.setdefault(match.group(1), n)
    return found


@attrs.frozen
class _Row:
    """One rule row's parsed data and the file and line of its ``- id:`` (for an
    inherited row: the parent row's data under this row's id)."""

    data: dict[str, Any]
    label: str
    line: int


#: One parsed rules file: its label, its text and strictyaml's reading of it.
_Doc = tuple[str, str, dict[str, Any]]


def _key_line(text: str, key: str) -> int:
    """The line of the top-level ``key:`` in a rules file (1 if it is not there)."""
    at = re.search(rf"^{re.escape(key)}:", text, re.MULTILINE)
    return 1 if at is None else text.count("\n", 0, at.start()) + 1


def _resolve_rows(docs: Sequence[_Doc]) -> list[list[_Row]]:
    """Each table's rows, in order, with ``extends:`` resolved.

    A table that ``extends: <parent>`` lists each of the parent's rows (resolved the
    same way) where it wants it, as a row of just ``id:`` (its id in this table, unique
    in the rulebook) and ``inherit: <the parent's row id>``; its own rows go between
    them. An inherited row is the parent's row under the new id, located at its ``- id:``
    line here. An unknown parent, a cycle, a parent of another role or hit policy, a
    parent row inherited twice or never, and an ``inherit:`` naming no parent row are
    errors with the file and line; so is a row that is neither inherited nor complete.
    """
    index: dict[str, int] = {}
    for i, (_, _, data) in enumerate(docs):
        index.setdefault(data["table"], i)
    done: dict[int, list[_Row]] = {}

    def rows(i: int, chain: tuple[int, ...]) -> list[_Row]:
        if i not in done:
            label, text, data = docs[i]
            row_lines = _row_lines(text.splitlines())
            own = [_Row(r, label, row_lines.get(r["id"], 1)) for r in data["rules"]]
            parent: list[_Row] = []
            if "extends" in data:
                parent = rows(_parent(docs, index, i, chain), (*chain, i))
            done[i] = _inherit(docs[i], own, parent)
        return done[i]

    return [rows(i, ()) for i in range(len(docs))]


def _parent(docs: Sequence[_Doc], index: dict[str, int], i: int,
            chain: tuple[int, ...]) -> int:
    """The index of the table that table ``i`` extends; an unknown one or a cycle fails."""
    label, text, data = docs[i]
    parent, line = data["extends"], _key_line(text, "extends")
    if parent not in index:
        raise _fail(label, line, f"extends unknown table '{parent}' "
                    f"(known: {', '.join(sorted(index))})")
    j = index[parent]
    path = (*chain, i)
    if j in path:
        loop = [docs[k][2]["table"] for k in path[path.index(j):]] + [parent]
        raise _fail(label, line, "extends makes a cycle: " + " -> ".join(loop))
    for key in ("role", "hit_policy"):
        if docs[j][2][key] != data[key]:
            raise _fail(label, line, f"extends table '{parent}' whose {key} is "
                        f"{docs[j][2][key]}, not {data[key]}")
    return j


def _inherit(doc: _Doc, own: list[_Row], parent: list[_Row]) -> list[_Row]:
    """A table's rows with its ``inherit:`` rows filled in from its parent's rows."""
    label, text, data = doc
    by_id = {row.data["id"]: row for row in parent}
    taken: dict[str, _Row] = {}
    out = []
    for row in own:
        name = row.data.get("inherit")
        if name is None:
            for key in ("when", "because"):
                if key not in row.data:
                    raise _fail(label, row.line, f"rule '{row.data['id']}' has no {key}: "
                                "(and inherits no row)")
            out.append(row)
            continue
        if "extends" not in data:
            raise _fail(label, row.line, f"rule '{row.data['id']}' inherits, but the "
                        "table extends no table (extends:)")
        extra = sorted(set(row.data) - {"id", "inherit"})
        if extra:
            raise _fail(label, row.line, f"rule '{row.data['id']}' inherits '{name}', so "
                        f"it has only id: and inherit: (not {', '.join(extra)})")
        if name not in by_id:
            raise _fail(label, row.line, f"rule '{row.data['id']}' inherits no row of "
                        f"table '{data['extends']}' ('{name}'; it has: {', '.join(by_id)})")
        if name in taken:
            raise _fail(label, row.line, f"row '{name}' of table '{data['extends']}' is "
                        f"inherited twice (also line {taken[name].line})")
        taken[name] = row
        out.append(attrs.evolve(row, data={**by_id[name].data, "id": row.data["id"]}))
    missing = [name for name in by_id if name not in taken]
    if missing:
        raise _fail(label, _key_line(text, "extends"), f"table '{data['table']}' extends "
                    f"'{data['extends']}' but does not inherit its rows: {', '.join(missing)}")
    return out


#: ``type_plain`` or a stand-in with its contract (see :meth:`ParseCache.typed`).
TypePlain = Callable[[Any, Any], Any]


def _typed(kind: Any, data: Any, label: str, line: int, typed: TypePlain) -> Any:
    try:
        return typed(kind, data)
    except ValueError as e:
        raise _fail(label, line, str(e)) from None


def _rule(row: _Row, table: str, typed: TypePlain = type_plain) -> Rule:
    # Work on plain data: walking strictyaml nodes of a large document is slow.
    data, label = row.data, row.label
    ref = RuleRef(table, data["id"], label, row.line)
    when: list[tuple[str, Any]] = []
    if isinstance(data["when"], dict):
        for name, arg in data["when"].items():
            if name not in PREDICATES:
                raise _fail(label, ref.line, f"unknown predicate '{name}' "
                            f"(known: {', '.join(sorted(PREDICATES))})")
            when.append((name, _typed(PREDICATES[name].arg, arg, label, ref.line, typed)))
    take = None
    if "take" in data:
        t = data["take"]
        if isinstance(t, str):
            take = Take(t)
        elif "value" in t:
            take = Take("value", _typed(ScalarKind(), t["value"], label, ref.line, typed))
        elif "derive" in t:
            if t["derive"] not in DERIVATIONS:
                raise _fail(label, ref.line, f"unknown derivation '{t['derive']}' "
                            f"(known: {', '.join(sorted(DERIVATIONS))})")
            take = Take("derive", t["derive"])
        else:
            take = Take("recipe_attribute", t["recipe_attribute"])
        assert take.how in TAKES
    return Rule(
        ref=ref,
        when=tuple(when),
        because=data["because"],
        take=take,
        hint=data.get("hint"),
        level=data.get("level"),
        about=data.get("about"),
    )


def _without_examples(text: str) -> str:
    # The examples are for the test suite; skipping them halves strictyaml's work.
    at = re.search(r"^examples:", text, re.MULTILINE)
    return text if at is None else text[: at.start()]


def _table_text(path: Path, with_examples: bool) -> str:
    text = path.read_text(encoding="utf-8")
    return text if with_examples else _without_examples(text)


def _parse_table(text: str, label: str) -> dict[str, Any]:
    """strictyaml's reading of one rules file, as plain data (dicts, lists, strings)."""
    import strictyaml as sy

    try:
        doc = sy.load(text, _table_schema(), label=label)
    except sy.YAMLValidationError as e:
        raise _fail(label, e.problem_mark.line + 1, f"{e.context}: {e.problem}") from None
    return doc.data


def _build_table(data: dict[str, Any], rows: list[_Row], label: str,
                 typed: TypePlain = type_plain) -> Table:
    """The checked :class:`Table` from the parsed data of one rules file and its rows
    (``extends:`` resolved, see :func:`_resolve_rows`)."""
    name, role = data["table"], data["role"]
    rules = tuple(_rule(row, name, typed) for row in rows)
    for rule in rules:
        if role == "field" and rule.take is None:
            raise _fail(rule.ref.file, rule.ref.line, f"field rule '{rule.id}' has no take:")
    applies = data.get("applies_to")
    return Table(
        name=name,
        hit_policy=data["hit_policy"],
        role=role,
        applies_to=None if applies in (None, "*") else tuple(applies),
        rules=rules,
        file=label,
        examples=tuple(data.get("examples", [])),
    )


def _build_tables(docs: Sequence[_Doc], typed: TypePlain = type_plain) -> list[Table]:
    """The checked tables of parsed rules files that may extend one another."""
    return [_build_table(data, rows, label, typed)
            for (label, _, data), rows in zip(docs, _resolve_rows(docs), strict=True)]


def _load_tables(paths: Sequence[Path], with_examples: bool) -> list[Table]:
    docs = []
    for path in paths:
        label = _display(path)
        text = _table_text(path, with_examples)
        docs.append((label, text, _parse_table(text, label)))
    return _build_tables(docs)


def load_table(path: Path, with_examples: bool = False) -> Table:
    """One rules file as a checked :class:`Table` (examples only when asked for); the
    other tables in its folder are read too, for ``extends:``."""
    tables = _load_tables(_table_paths(path.parent), with_examples)
    return next(t for t in tables if t.file == _display(path))


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


def _table_paths(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.glob("*.yaml")) if p.name not in NOT_TABLES]


def _rulebook(tables: Sequence[Table]) -> Rulebook:
    return Rulebook(
        field_tables=tuple(t for t in tables if t.role == "field"),
        note_tables=tuple(t for t in tables if t.role == "note"),
        constraint_tables=tuple(t for t in tables if t.role == "constraint"),
    )


def load_rulebook_from(folder: Path, with_examples: bool = False) -> Rulebook:
    """Every ``*.yaml`` table in ``folder``, in file-name order (never cached)."""
    return _rulebook(_load_tables(_table_paths(folder), with_examples))


@functools.cache
def load_rulebook() -> Rulebook:
    """The shipped rulebook (read once per process).

    The same tables as ``load_rulebook_from(rules_dir())``; strictyaml's results for
    the files come from the on-disk cache when it matches them (see :class:`ParseCache`).
    """
    docs = [(_display(p), _table_text(p, False)) for p in _table_paths(rules_dir())]
    cache = ParseCache("rulebook", docs)
    parsed = cache.parse(_parse_table)
    # Only each file's parse is cached; extends: is resolved on every start from the
    # parsed files, all of whose texts are part of the cache key.
    rulebook = _rulebook(_build_tables(
        [(label, text, data) for (label, text), data in zip(docs, parsed, strict=True)],
        cache.typed))
    cache.save()
    return rulebook
