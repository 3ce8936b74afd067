"""CLI values -> a Layer of scope ``cli``.

The CLI hands over the flags the user actually gave (tri-state flags that were not
given arrive as None and are dropped here), keyed by field. Composite flags
(``--header K:V``, ``--goodput "tag:value ..."``, ``--isl-osl-pairs 128/128,...``) are
parsed here so every flag is checked by its field's kind, exactly like YAML values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiperf.config import fields as F
from aiperf.config.errors import ConfigError, ConfigErrors, did_you_mean
from aiperf.config.kinds import SCALAR_KINDS, IntKind, ListKind, MapKind, StrKind
from aiperf.config.layer import Layer, Origin, Value
from aiperf.config.schema import type_text

SWEEP_PARAMETERS = "benchmark.sweep.parameters"


def _pairs(items: list[str], sep: str, flag: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        name, found, value = item.partition(sep)
        if not found or not name.strip():
            raise ValueError(f"expected NAME{sep}VALUE, found {item!r}")
        out.append((name.strip(), value.strip()))
    return out


def _words(raw: Any) -> list[str]:
    items = raw if isinstance(raw, list | tuple) else [raw]
    return [w for item in items for w in str(item).split()]


def parse_flag(field: F.Field, raw: Any) -> Any:
    """The typed value of one given flag; ValueError says what is wrong with it."""
    kind = field.kind
    if isinstance(kind, MapKind):
        if field.key == "benchmark.slos":
            pairs = _pairs(_words(raw), ":", field.flag or "")
        else:
            items = list(raw) if isinstance(raw, list | tuple) else [raw]
            pairs = _pairs([str(i) for i in items], ":", field.flag or "")
        out = {}
        for name, text in pairs:
            if kind.keys is not None and name not in kind.keys:
                hint = did_you_mean(name, kind.keys)
                raise ValueError(f"unknown name '{name}'" + (f" ({hint})" if hint else
                                 "; known: " + ", ".join(kind.keys)))
            out[name] = type_text(kind.value, text)
        return out
    if isinstance(kind, ListKind):
        parts = raw if isinstance(raw, list | tuple) else str(raw).split(",")
        value = [type_text(kind.item, str(i).strip()) for i in parts if str(i).strip()]
        problem = kind.check(value)
        if problem:
            raise ValueError(problem)
        return value
    if isinstance(kind, SCALAR_KINDS):
        # Typed flags arrive typed from the CLI; text is typed by strictyaml like YAML.
        value = type_text(kind, raw) if isinstance(raw, str) and not isinstance(
            kind, StrKind) else raw
        problem = kind.check(value)
        if problem:
            raise ValueError(problem)
        return value
    raise ValueError(f"{field.key} cannot be set from the command line")


def _number(field: F.Field, text: str) -> int | float:
    """One number of a sweepable flag, checked against the field's bounds."""
    kind = field.kind
    word = text.strip()
    try:
        value: int | float = int(word) if isinstance(kind, IntKind) else float(word)
    except ValueError:
        raise ValueError(f"expected {kind.expected}, found {word!r}") from None
    problem = kind.check(value)
    if problem:
        raise ValueError(problem)
    return value


def cli_layer(given: Mapping[str, Any]) -> Layer:
    """A Layer from ``{field key: raw flag value}``; None values mean "not given".

    A sweepable flag given a comma list (``--concurrency 1,4,16``) sweeps that field: the
    list goes to ``benchmark.sweep.parameters`` instead of the field itself.
    """
    values: dict[str, Value] = {}
    errors: list[ConfigError] = []
    swept: dict[str, list[int | float]] = {}
    swept_flags: list[str] = []
    for key, raw in given.items():
        if raw is None or (isinstance(raw, list | tuple) and not raw):
            continue
        field = F.field(key)
        flag = field.flag or key
        if raw is False and field.negative_flag:
            flag = field.negative_flag  # name the spelling the user typed
        try:
            if field.repeats_into is not None and isinstance(raw, list | tuple):
                # --url A --url B: A is the field's, the rest its list field's.
                if len(raw) > 1:
                    more = F.field(field.repeats_into)
                    values[more.key] = Value(parse_flag(more, list(raw[1:])),
                                             Origin("cli", flag))
                raw = raw[0]
            if key in F.SWEEPABLE and isinstance(raw, str):
                numbers = [_number(field, part) for part in raw.split(",")]
                if len(numbers) > 1:
                    swept[key] = numbers  # typed by the field: 2,8 stays whole
                    swept_flags.append(flag)
                    continue
                values[key] = Value(numbers[0], Origin("cli", flag))
                continue
            values[key] = Value(parse_flag(field, raw), Origin("cli", flag))
        except ValueError as e:
            errors.append(ConfigError("bad-flag", str(e), f"command-line flag {flag}",
                                      key=key))
    if errors:
        raise ConfigErrors(errors)
    if swept:
        values[SWEEP_PARAMETERS] = Value(swept, Origin("cli", " ".join(swept_flags)))
    return Layer("cli", "command line", values)
