"""The YAML schema: the one place where scalar types are decided (by strictyaml).

:func:`walk` checks the shape of a parsed document against a table of fields (unknown
keys, mappings where mappings belong) and :func:`type_node` turns one node into a typed
Python value with strictyaml validators. Every problem becomes a :class:`NodeProblem`
with its line and column; callers collect them all before reporting.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
import strictyaml as sy

from aiperf.config.errors import did_you_mean
from aiperf.config.interpolate import InterpolationError, has_reference, interpolate
from aiperf.config.kinds import (
    SCALAR_KINDS,
    EnvelopeKind,
    ListKind,
    MapKind,
    RecordKind,
)


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
class Leaf:
    """A node that sits exactly at a field's path."""

    path: tuple[str, ...]
    kind: Any
    node: sy.YAML
    line: int
    column: int


class SourceText:
    """The lines of a document, to find the column a key starts at."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()

    def column(self, line: int, word: str) -> int:
        if 1 <= line <= len(self._lines):
            found = self._lines[line - 1].find(word)
            if found >= 0:
                return found + 1
        return 1


def kind_name(node: sy.YAML) -> str:
    """How a node looks to a person: a mapping, a list or a scalar."""
    if node.is_mapping():
        return "a mapping"
    if node.is_sequence():
        return "a list"
    return f"{node.data!r}"


def walk(
    root: sy.YAML,
    kind_at: Callable[[tuple[str, ...]], Any],
    children: Callable[[tuple[str, ...]], set[str]],
    text: SourceText,
    prefix: tuple[str, ...] = (),
) -> Iterator[Leaf | NodeProblem]:
    """Yield every field leaf below ``root`` and every shape problem on the way."""
    for key_node, value in root.items():
        name = str(key_node.data)
        path = (*prefix, name)
        line = key_node.start_line
        col = text.column(line, name)
        kind = kind_at(path)
        if kind is not None:
            yield Leaf(path, kind, value, line, col)
            continue
        allowed = children(path)
        if not allowed:
            known = sorted(children(prefix))
            hint = did_you_mean(name, known) or "known keys here: " + ", ".join(known)
            yield NodeProblem("unknown-key", path, f"unknown key '{name}'", line, col, hint)
            continue
        if not value.is_mapping():
            yield NodeProblem(
                "wrong-type", path, f"expected a mapping, found {kind_name(value)}", line, col,
                "known keys here: " + ", ".join(sorted(allowed)),
            )
            continue
        yield from walk(value, kind_at, children, text, path)


@functools.lru_cache(maxsize=4096)
def _scalar(kind: Any, text: str) -> Any:
    # A one-line document per scalar keeps typing inside strictyaml; json quoting means
    # the text can never be read as structure. Cached because strictyaml is slow.
    return sy.load("v: " + json.dumps(text), sy.Map({"v": kind.validator()})).data["v"]


class _Bad(Exception):
    def __init__(self, message: str, line: int | None = None, hint: str | None = None,
                 code: str = "wrong-type") -> None:
        super().__init__(message)
        self.message, self.line, self.hint, self.code = message, line, hint, code


def _type(kind: Any, node: sy.YAML, environ: Mapping[str, str]) -> Any:
    line = node.start_line
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
            value = _scalar(kind, text)
        except sy.YAMLValidationError:
            hint = did_you_mean(text, kind.choices) if hasattr(kind, "choices") else None
            raise _Bad(f"expected {kind.expected}, found {text!r}", line, hint) from None
        problem = kind.check(value)
        if problem:
            raise _Bad(problem, line, code="out-of-range")
        return value
    if isinstance(kind, ListKind):
        if not node.is_sequence():
            raise _Bad(f"expected {kind.expected}, found {kind_name(node)}", line)
        value = [_type(kind.item, item, environ) for item in node]
    elif isinstance(kind, MapKind):
        if not node.is_mapping():
            raise _Bad(f"expected {kind.expected}, found {kind_name(node)}", line)
        value = {}
        for k, v in node.items():
            name = str(k.data)
            if kind.keys is not None and name not in kind.keys:
                hint = did_you_mean(name, kind.keys) or "known: " + ", ".join(kind.keys)
                raise _Bad(f"unknown name '{name}'", k.start_line, hint, code="unknown-key")
            value[name] = _type(kind.value, v, environ)
    elif isinstance(kind, RecordKind):
        if not node.is_mapping():
            raise _Bad(f"expected {kind.expected}, found {kind_name(node)}", line)
        members = dict(kind.members)
        value = {}
        for k, v in node.items():
            name = str(k.data)
            if name not in members:
                hint = did_you_mean(name, members) or "known: " + ", ".join(members)
                raise _Bad(f"unknown key '{name}'", k.start_line, hint, code="unknown-key")
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
        line = bad.line if bad.line is not None else leaf.line
        col = leaf.column if line == leaf.line else None
        return None, NodeProblem(bad.code, leaf.path, bad.message, line, col, bad.hint)


def type_text(kind: Any, text: str) -> Any:
    """Type a bare string (an environment variable, a CLI word) with ``kind``'s validator.

    Raises ValueError with a user-facing message when it does not fit.
    """
    try:
        value = _scalar(kind, text)
    except sy.YAMLValidationError:
        raise ValueError(f"expected {kind.expected}, found {text!r}") from None
    problem = kind.check(value)
    if problem:
        raise ValueError(problem)
    return value


def type_plain(kind: Any, data: Any) -> Any:
    """Type plain strictyaml data (strings, lists, dicts) with ``kind``; ValueError if off.

    Used for shipped data files, where walking strictyaml nodes would be slow and line
    numbers matter less.
    """
    if isinstance(kind, SCALAR_KINDS):
        if not isinstance(data, str):
            raise ValueError(f"expected {kind.expected}, found a {type(data).__name__}")
        return type_text(kind, data)
    if isinstance(kind, ListKind):
        if not isinstance(data, list):
            raise ValueError(f"expected {kind.expected}")
        value = [type_plain(kind.item, item) for item in data]
    elif isinstance(kind, MapKind):
        if not isinstance(data, dict):
            raise ValueError(f"expected {kind.expected}")
        value = {str(k): type_plain(kind.value, v) for k, v in data.items()}
    else:
        raise ValueError(f"{kind!r} cannot be typed from plain data")
    problem = kind.check(value)
    if problem:
        raise ValueError(problem)
    return value
