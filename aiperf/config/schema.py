"""The YAML schema: the one place where scalar types are decided (by strictyaml).

:func:`walk` checks the shape of a parsed document against a table of fields (unknown
keys, mappings where mappings belong) and :func:`type_node` turns one node into a typed
Python value with strictyaml validators. Every problem becomes a :class:`NodeProblem`
with its line and column; callers collect them all before reporting.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from aiperf.config.errors import did_you_mean
from aiperf.config.interpolate import InterpolationError, has_reference, interpolate
from aiperf.config.kinds import (
    SCALAR_KINDS,
    EnumKind,
    EnvelopeKind,
    ListKind,
    MapKind,
    RecordKind,
    ScalarKind,
)

if TYPE_CHECKING:
    import strictyaml as sy


@attrs.frozen
class NodeProblem:
    """What is wrong with one node, and where it is (1-based line and column)."""

    code: str
    path: tuple[str, ...]
    message: str
    line: int | None
    column: int | None
    hint: str | None = None


@attrs.frozen
class Node:
    """One node of a parsed document: its data and where it starts (1-based).

    ``data`` is what strictyaml's parser built with the ``Any`` schema: a mapping, a
    list, or a string. Positions come from the parser's own marks, which stay cheap
    however large the document is (strictyaml's ``start_line`` re-serialises it).
    """

    data: Any
    line: int
    column: int

    def is_mapping(self) -> bool:
        return isinstance(self.data, dict)

    def is_sequence(self) -> bool:
        return isinstance(self.data, list)

    def is_scalar(self) -> bool:
        return not (self.is_mapping() or self.is_sequence())

    def items(self) -> Iterator[tuple[Node, Node]]:
        """(key, value) nodes of a mapping, in document order."""
        for key, value in self.data.items():
            kl, kc = self.data.lc.key(key)
            vl, vc = self.data.lc.value(key)
            yield Node(key, kl + 1, kc + 1), Node(value, vl + 1, vc + 1)

    def __iter__(self) -> Iterator[Node]:
        """The item nodes of a list."""
        for i, item in enumerate(self.data):
            line, col = self.data.lc.item(i)
            yield Node(item, line + 1, col + 1)


def root_node(doc: sy.YAML) -> Node:
    """The top of a document parsed by strictyaml."""
    return Node(doc.as_marked_up(), 1, 1)


@attrs.frozen
class Leaf:
    """A node that sits exactly at a field's path; ``line``/``column`` are its key's."""

    path: tuple[str, ...]
    kind: Any
    node: Node
    line: int
    column: int


def kind_name(node: Node) -> str:
    """How a node looks to a person: a mapping, a list or a scalar."""
    if node.is_mapping():
        return "a mapping"
    if node.is_sequence():
        return "a list"
    return f"{node.data!r}"


def walk(
    root: Node,
    kind_at: Callable[[tuple[str, ...]], Any],
    children: Callable[[tuple[str, ...]], set[str]],
    prefix: tuple[str, ...] = (),
    base: int = 0,
) -> Iterator[Leaf | NodeProblem]:
    """Yield every field leaf below ``root`` and every shape problem on the way.

    Paths are reported in full (``prefix``); the field table is asked about them from
    position ``base`` on, so a table can describe a sub-document such as ``plot:``.
    """
    for key, value in root.items():
        name = str(key.data)
        path = (*prefix, name)
        kind = kind_at(path[base:])
        if kind is not None:
            yield Leaf(path, kind, value, key.line, key.column)
            continue
        allowed = children(path[base:])
        if not allowed:
            known = sorted(children(prefix[base:]))
            hint = did_you_mean(name, known) or "known keys here: " + ", ".join(known)
            yield NodeProblem("unknown-key", path, f"unknown key '{name}'", key.line,
                              key.column, hint)
            continue
        if not value.is_mapping():
            yield NodeProblem(
                "wrong-type", path, f"expected a mapping, found {kind_name(value)}", key.line,
                key.column, "known keys here: " + ", ".join(sorted(allowed)),
            )
            continue
        yield from walk(value, kind_at, children, path, base)


#: Characters YAML cannot carry literally inside a double-quoted scalar.
# (plus the characters YAML reads as line breaks, which a quoted scalar would fold).
_UNPRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def yaml_quote(text: str) -> str:
    """``text`` as a YAML double-quoted scalar that reads back as exactly ``text``."""
    quoted = json.dumps(text, ensure_ascii=False)
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


@functools.lru_cache(maxsize=4096)
def _scalar(kind: Any, text: str) -> Any:
    # A one-line document per scalar keeps typing inside strictyaml; quoting means the
    # text can never be read as structure. Cached because strictyaml is slow.
    import strictyaml as sy

    return sy.load("v: " + yaml_quote(text), sy.Map({"v": kind.validator()})).data["v"]


def _typed_scalar(kind: Any, text: str) -> Any:
    """strictyaml's reading of ``text`` as ``kind``; _Bad when it does not fit."""
    if text == "" and isinstance(kind, ScalarKind):
        return ""  # strictyaml's number validators raise on empty text instead of passing
    if isinstance(kind, EnumKind) and text in kind.choices:
        # strictyaml's Enum returns an exact choice unchanged; answering here spares a
        # run given only flags (``--endpoint-type chat``) the strictyaml import.
        return text
    import strictyaml as sy

    try:
        value = _scalar(kind, text)
    except (sy.YAMLValidationError, ValueError):
        # strictyaml raises ValueError itself for some inputs (an empty number).
        hint = None
        if hasattr(kind, "choices"):
            hint = did_you_mean(text, kind.choices) or "known: " + ", ".join(kind.choices)
        raise _Bad(f"expected {kind.expected}, found {text!r}", hint=hint) from None
    problem = kind.check(value)
    if problem:
        # A kind whose check is about more than a range names its own error code.
        raise _Bad(problem, code=getattr(kind, "problem_code", "out-of-range"))
    return value


class _Bad(Exception):
    def __init__(self, message: str, line: int | None = None, hint: str | None = None,
                 code: str = "wrong-type") -> None:
        super().__init__(message)
        self.message, self.line, self.hint, self.code = message, line, hint, code


def _type(kind: Any, node: Node, environ: Mapping[str, str]) -> Any:
    line = node.line
    if isinstance(kind, SCALAR_KINDS):
        if not node.is_scalar():
            raise _Bad(f"expected {kind.expected}, found {kind_name(node)}", line)
        text = str(node.data)
        if has_reference(text):
            try:
                text = interpolate(text, environ)
            except InterpolationError as e:
                raise _Bad(e.message, line, e.hint, code="env-reference") from None
        try:
            return _typed_scalar(kind, text)
        except _Bad as bad:
            bad.line = line
            raise
    if isinstance(kind, ListKind):
        if not node.is_sequence():
            raise _Bad(f"expected {kind.expected}, found {kind_name(node)}", line)
        value: Any = [_type(kind.item, item, environ) for item in node]
    elif isinstance(kind, MapKind):
        if not node.is_mapping():
            raise _Bad(f"expected {kind.expected}, found {kind_name(node)}", line)
        value = {}
        for k, v in node.items():
            name = str(k.data)
            if kind.keys is not None and name not in kind.keys:
                hint = did_you_mean(name, kind.keys) or "known: " + ", ".join(kind.keys)
                raise _Bad(f"unknown name '{name}'", k.line, hint, code="unknown-key")
            try:
                value[name] = _type(kind.value_for(name), v, environ)
            except _Bad as bad:
                if name in dict(kind.per_key):
                    # A kind of its own (a swept field's): say which entry is off.
                    bad.message = f"{name}: {bad.message}"
                raise
    elif isinstance(kind, RecordKind):
        if not node.is_mapping():
            raise _Bad(f"expected {kind.expected}, found {kind_name(node)}", line)
        members = dict(kind.members)
        value = {}
        for k, v in node.items():
            name = str(k.data)
            if name not in members:
                hint = did_you_mean(name, members) or "known: " + ", ".join(members)
                raise _Bad(f"unknown key '{name}'", k.line, hint, code="unknown-key")
            value[name] = _type(members[name], v, environ)
        missing = [m for m in kind.required if m not in value]
        if missing:
            raise _Bad("missing " + ", ".join(missing), line, code="missing-key")
    elif isinstance(kind, EnvelopeKind):
        raise TypeError("the plot envelope is read by aiperf.config.sources")
    else:
        raise TypeError(f"unknown kind {kind!r}")
    problem = kind.check(value)
    if problem:
        raise _Bad(problem, line, code="out-of-range")
    return value


def type_node(
    leaf: Leaf, environ: Mapping[str, str]
) -> tuple[Any, None] | tuple[None, NodeProblem]:
    """The typed value of ``leaf``, or the problem that stops it being typed."""
    try:
        return _type(leaf.kind, leaf.node, environ), None
    except _Bad as bad:
        # A scalar is reported at its key, like every key error; a problem deeper inside
        # a list or mapping at its own line.
        line = leaf.line if leaf.node.is_scalar() or bad.line is None else bad.line
        col = leaf.column if line == leaf.line else None
        return None, NodeProblem(bad.code, leaf.path, bad.message, line, col, bad.hint)


def type_text(kind: Any, text: str) -> Any:
    """Type a bare string (an environment variable, a CLI word) with ``kind``'s validator.

    Raises ValueError with a user-facing message when it does not fit.
    """
    try:
        return _typed_scalar(kind, text)
    except _Bad as bad:
        raise ValueError(bad.message + (f" ({bad.hint})" if bad.hint else "")) from None


def type_plain(kind: Any, data: Any) -> Any:
    """Type plain strictyaml data (strings, lists, dicts) with ``kind``; ValueError if off.

    Used for shipped data files, where walking strictyaml nodes would be slow and line
    numbers matter less.
    """
    if isinstance(kind, SCALAR_KINDS):
        if not isinstance(data, str):
            raise ValueError(f"expected {kind.expected}, found a {type(data).__name__}")
        return type_text(kind, data)
    value: list[Any] | dict[str, Any]
    if isinstance(kind, ListKind):
        if not isinstance(data, list):
            raise ValueError(f"expected {kind.expected}")
        value = [type_plain(kind.item, item) for item in data]
    elif isinstance(kind, MapKind):
        if not isinstance(data, dict):
            raise ValueError(f"expected {kind.expected}")
        value = {str(k): type_plain(kind.value_for(str(k)), v) for k, v in data.items()}
    else:
        raise ValueError(f"{kind!r} cannot be typed from plain data")
    problem = kind.check(value)
    if problem:
        raise ValueError(problem)
    return value
