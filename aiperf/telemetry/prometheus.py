"""One scrape of a Prometheus text endpoint, parsed by ``prometheus_client``'s own parser
(not by hand: the exposition format has escaping, exemplars, ``_created`` series and
OpenMetrics variants that a hand-written parser gets wrong)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import attrs

__all__ = ["Family", "Sample", "Scrape", "parse_exposition"]


@attrs.frozen
class Sample:
    """One sample line: its full name (``..._bucket``, ``..._sum``, ``..._count`` for a
    histogram), its labels and its value."""

    name: str
    labels: Mapping[str, str]
    value: float


@attrs.frozen
class Family:
    """A metric family as the endpoint declared it: ``type`` is ``counter``, ``gauge``,
    ``histogram``, ``summary`` or ``unknown``; ``name`` has no ``_total`` suffix for a
    counter (the parser strips it, as OpenMetrics names them)."""

    name: str
    type: str
    help: str
    unit: str
    samples: tuple[Sample, ...]


@attrs.frozen
class Scrape:
    """What one endpoint said at one moment: when (wall clock, ns), how long the fetch
    took, and its families by name."""

    url: str
    timestamp_ns: int
    latency_ms: float
    families: Mapping[str, Family]


def parse_exposition(text: str) -> dict[str, Family]:
    """The families of a Prometheus text exposition; ValueError when it is not one.

    ``_created`` samples (the time a series was created, not a measurement) and
    non-finite values of gauges that were never set are left out.
    """
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, Family] = {}
    try:
        for family in text_string_to_metric_families(text):
            samples = tuple(
                Sample(s.name, dict(s.labels), float(s.value))
                for s in family.samples
                if not s.name.endswith("_created") and not math.isnan(float(s.value)))
            if samples:  # a declared family with no series yet says nothing
                out[family.name] = Family(family.name, family.type,
                                          family.documentation or "", family.unit or "",
                                          samples)
    except (ValueError, TypeError, IndexError) as e:
        raise ValueError(f"not a Prometheus text exposition: {e}") from None
    return out
