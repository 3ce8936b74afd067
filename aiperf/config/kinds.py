"""Value kinds: the type and constraints of a field, as data.

A kind knows which strictyaml validator decides its scalars, which constraints a typed
value must meet, and how to describe itself in JSON Schema. It never reads a file.
"""

from __future__ import annotations

import math
import operator
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    import strictyaml as sy

# strictyaml is imported by each ``validator()`` rather than here: the field table (and so
# ``aiperf --help``) needs the kinds but not strictyaml, which costs tens of milliseconds
# to import. Everything that reads YAML imports it anyway.


@attrs.frozen
class IntKind:
    """A whole number, optionally bounded."""

    min: int | None = None
    max: int | None = None
    expected = "an integer"

    def validator(self) -> sy.Validator:
        import strictyaml as sy

        return sy.Int()

    def check(self, value: Any) -> str | None:
        if self.min is not None and value < self.min:
            return f"expected an integer >= {self.min}, got {value}"
        if self.max is not None and value > self.max:
            return f"expected an integer <= {self.max}, got {value}"
        return None

    def json_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer"}
        if self.min is not None:
            out["minimum"] = self.min
        if self.max is not None:
            out["maximum"] = self.max
        return out


@attrs.frozen
class FloatKind:
    """A finite number; ``gt``/``lt`` are exclusive bounds, ``ge``/``le`` inclusive."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    expected = "a number"

    def validator(self) -> sy.Validator:
        import strictyaml as sy

        return sy.Float()

    def check(self, value: Any) -> str | None:
        if not math.isfinite(value):
            return f"expected a finite number, got {value}"
        for bound, ok, text in (
            (self.gt, operator.gt, ">"),
            (self.ge, operator.ge, ">="),
            (self.lt, operator.lt, "<"),
            (self.le, operator.le, "<="),
        ):
            if bound is not None and not ok(value, bound):
                return f"expected a number {text} {bound:g}, got {value:g}"
        return None

    def json_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "number"}
        for name, key in (
            ("gt", "exclusiveMinimum"),
            ("ge", "minimum"),
            ("lt", "exclusiveMaximum"),
            ("le", "maximum"),
        ):
            if getattr(self, name) is not None:
                out[key] = getattr(self, name)
        return out


@attrs.frozen
class BoolKind:
    """true/false (strictyaml also accepts yes/no, on/off)."""

    expected = "a boolean (true or false)"

    def validator(self) -> sy.Validator:
        import strictyaml as sy

        return sy.Bool()

    def check(self, value: Any) -> str | None:
        return None

    def json_schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


@attrs.frozen
class StrKind:
    """Text; empty text is refused unless ``allow_empty``."""

    allow_empty: bool = False
    expected = "a string"

    def validator(self) -> sy.Validator:
        import strictyaml as sy

        return sy.Str()

    def check(self, value: Any) -> str | None:
        if not self.allow_empty and value == "":
            return "expected a non-empty string"
        return None

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string"} if self.allow_empty else {"type": "string", "minLength": 1}


@attrs.frozen
class EnumKind:
    """One of a closed set of words."""

    choices: tuple[str, ...]

    @property
    def expected(self) -> str:
        if len(self.choices) > 6:
            # A long list goes in the hint, not in the one-line message.
            return f"one of {len(self.choices)} known names"
        return "one of " + ", ".join(self.choices)

    def validator(self) -> sy.Validator:
        import strictyaml as sy

        return sy.Enum(list(self.choices))

    def check(self, value: Any) -> str | None:
        return None

    def json_schema(self) -> dict[str, Any]:
        return {"enum": list(self.choices)}


@attrs.frozen
class ScalarKind:
    """Any scalar: strictyaml tries integer, then number, then boolean, then text.

    Integers come first because strictyaml's booleans include "1" and "0".
    """

    expected = "a scalar"

    def validator(self) -> sy.Validator:
        import strictyaml as sy

        return sy.Int() | sy.Float() | sy.Bool() | sy.Str()

    def check(self, value: Any) -> str | None:
        return None

    def json_schema(self) -> dict[str, Any]:
        return {"type": ["boolean", "integer", "number", "string"]}


@attrs.frozen
class ThresholdKind:
    """A threshold expression, ``METRIC[.STAT] OP LIMIT`` (:mod:`aiperf.config.thresholds`),
    checked against the metric registry when the configuration is loaded. The value stays
    the text the user wrote; the bench parses it again to evaluate it."""

    expected = "a threshold"
    problem_code = "bad-threshold"

    def validator(self) -> sy.Validator:
        import strictyaml as sy

        return sy.Str()

    def check(self, value: Any) -> str | None:
        from aiperf.config.thresholds import ThresholdError, parse_threshold

        try:
            parse_threshold(value)
        except ThresholdError as e:
            return str(e)
        return None

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string",
                "pattern": r"^\s*[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)?\s*(<=|>=|==|<|>)\s*\S+\s*$"}


@attrs.frozen
class ListKind:
    """A YAML sequence of ``item`` values."""

    item: Any
    min_len: int = 0

    @property
    def expected(self) -> str:
        return f"a list of {self.item.expected.removeprefix('a ').removeprefix('an ')}s"

    def check(self, value: Any) -> str | None:
        if len(value) < self.min_len:
            return f"expected at least {self.min_len} item(s), got {len(value)}"
        return None

    def json_schema(self) -> dict[str, Any]:
        return {"type": "array", "items": self.item.json_schema(), "minItems": self.min_len}


@attrs.frozen
class MapKind:
    """A YAML mapping from free-form (or, with ``keys``, known) names to ``value`` values."""

    value: Any
    keys: tuple[str, ...] | None = None
    #: (name, kind) pairs for names whose values have a kind of their own: a sweep's
    #: ``benchmark.load.concurrency: [2, 8]`` must be whole numbers because the field is,
    #: while ``request_rate`` may list fractions. ``value`` is the kind of all others.
    per_key: tuple[tuple[str, Any], ...] = ()
    expected = "a mapping"

    def value_for(self, name: str) -> Any:
        """The kind of the value under ``name``."""
        return dict(self.per_key).get(name, self.value)

    def check(self, value: Any) -> str | None:
        return None

    def json_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "object", "additionalProperties": self.value.json_schema()}
        if self.keys is not None:
            out["propertyNames"] = {"enum": list(self.keys)}
        return out


@attrs.frozen
class RecordKind:
    """A mapping with a fixed set of named members (``required`` ones must be present)."""

    members: tuple[tuple[str, Any], ...]
    required: tuple[str, ...] = ()
    expected = "a mapping"

    def check(self, value: Any) -> str | None:
        return None

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {name: kind.json_schema() for name, kind in self.members},
            "required": list(self.required),
            "additionalProperties": False,
        }


@attrs.frozen
class EnvelopeKind:
    """The top-level ``plot:`` envelope: an inline mapping or a path string."""

    expected = "an inline plot-config mapping or a path string"

    def check(self, value: Any) -> str | None:
        return None

    def json_schema(self) -> dict[str, Any]:
        return {
            "oneOf": [
                {"type": "string", "minLength": 1},
                {"$ref": "plot-config.schema.json"},
            ]
        }


SCALAR_KINDS = (IntKind, FloatKind, BoolKind, StrKind, EnumKind, ScalarKind, ThresholdKind)
