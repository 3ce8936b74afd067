"""A strict reader of the Prometheus text format (0.0.4) for tests.

The simulator renders its metrics with ``prometheus_client``; the tests check the format
with a reader of their own, independent of the library that wrote it: every
line is ``# HELP``, ``# TYPE`` or a sample; every sample belongs to a family declared by
``# TYPE`` before it (a histogram's samples are ``_bucket`` / ``_sum`` / ``_count``); label
sets are well formed; histogram buckets are cumulative and end with ``+Inf`` equal to
``_count``. :func:`parse` raises AssertionError naming the first bad line.
"""

from __future__ import annotations

import math
import re

import attrs

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_HELP = re.compile(rf"^# HELP ({_NAME}) (.*)$")
_TYPE = re.compile(rf"^# TYPE ({_NAME}) (counter|gauge|histogram|summary|untyped)$")
_SAMPLE = re.compile(rf"^({_NAME})(\{{(.*)\}})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@attrs.define
class Family:
    """One metric family: its type, help and samples ``(name, labels, value)``."""

    name: str
    type: str
    help: str = ""
    samples: list[tuple[str, dict[str, str], float]] = attrs.field(factory=list)

    def value(self, **labels: str) -> float:
        """The value of the family's (one) plain sample whose labels include ``labels``."""
        found = [v for n, lab, v in self.samples
                 if n == self.name and all(lab.get(k) == x for k, x in labels.items())]
        assert len(found) == 1, (self.name, labels, self.samples)
        return found[0]

    def histogram_count(self) -> float:
        return next(v for n, _, v in self.samples if n == self.name + "_count")

    def histogram_sum(self) -> float:
        return next(v for n, _, v in self.samples if n == self.name + "_sum")


def _labels(text: str | None, line: str) -> dict[str, str]:
    if not text:
        return {}
    pairs = _LABEL.findall(text)
    rebuilt = ",".join(f'{k}="{v}"' for k, v in pairs)
    assert rebuilt == text.rstrip(","), f"bad label set: {line!r}"
    return dict(pairs)


def _value(text: str, line: str) -> float:
    try:
        return float(text)  # accepts +Inf, -Inf, NaN as the format does
    except ValueError:
        raise AssertionError(f"bad sample value: {line!r}") from None


def _family_of(name: str, families: dict[str, Family]) -> Family | None:
    if name in families:
        return families[name]
    for suffix in ("_bucket", "_sum", "_count"):
        base = name.removesuffix(suffix)
        if base != name and base in families and families[base].type == "histogram":
            return families[base]
    return None


def parse(text: str) -> dict[str, Family]:
    """The families of an exposition, checked (see the module docstring)."""
    assert text.endswith("\n"), "the exposition must end with a newline"
    families: dict[str, Family] = {}
    helps: dict[str, str] = {}
    for line in text.splitlines():
        if not line:
            continue
        if m := _HELP.match(line):
            helps[m.group(1)] = m.group(2)
        elif m := _TYPE.match(line):
            assert m.group(1) not in families, f"family declared twice: {line!r}"
            families[m.group(1)] = Family(m.group(1), m.group(2), helps.get(m.group(1), ""))
        elif m := _SAMPLE.match(line):
            family = _family_of(m.group(1), families)
            assert family is not None, f"sample of an undeclared family: {line!r}"
            family.samples.append((m.group(1), _labels(m.group(3), line),
                                   _value(m.group(4), line)))
        else:
            raise AssertionError(f"not a Prometheus text line: {line!r}")
    for family in families.values():
        if family.type == "histogram":
            _check_histogram(family)
    return families


def _check_histogram(family: Family) -> None:
    buckets = [(lab["le"], v) for n, lab, v in family.samples if n == family.name + "_bucket"]
    assert buckets and buckets[-1][0] == "+Inf", f"{family.name}: no +Inf bucket"
    bounds = [float(le) for le, _ in buckets]
    counts = [v for _, v in buckets]
    assert bounds == sorted(bounds) and math.isinf(bounds[-1]), f"{family.name}: bounds order"
    assert counts == sorted(counts), f"{family.name}: buckets are not cumulative"
    assert counts[-1] == family.histogram_count(), f"{family.name}: +Inf != _count"
