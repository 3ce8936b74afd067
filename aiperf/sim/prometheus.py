"""Metric families for ``/metrics`` endpoints, rendered by ``prometheus_client``.

:class:`Exposition` gathers the families of one scrape (built from the simulator's state
at that moment) and renders them with ``prometheus_client.generate_latest`` in the text
format 0.0.4, so escaping and number formatting are the library's, as in vLLM's and
SGLang's own ``/metrics`` (both use ``prometheus_client``).

One thing the library cannot write: a counter whose sample name does not end in
``_total`` (TGI's ``tgi_request_count``, llama.cpp's ``n_tokens_max``, DCGM's
``DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION``). Those keep their real sample name and are
declared ``untyped``: a scraper reads the same name and value, only the TYPE line differs.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator, Mapping

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

#: The 0.0.4 text format, which every scraper reads (``generate_latest`` writes it).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Histogram:
    """Observations counted into fixed buckets (upper bounds, ``le``), plus sum and count.

    Kept by the simulator itself rather than as a ``prometheus_client.Histogram``: a
    request of ``n`` tokens adds ``n - 1`` equal inter-token observations at once, which
    the library's histogram can only do one at a time.
    """

    def __init__(self, bounds: Iterable[float]) -> None:
        self.bounds = tuple(sorted(bounds))
        self.bucket_counts = [0] * len(self.bounds)  # per bucket, not yet cumulative
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float, times: int = 1) -> None:
        """Count ``value`` ``times`` times (``times`` equal observations at once)."""
        if times <= 0:
            return
        i = bisect.bisect_left(self.bounds, value)  # first bound >= value: le is inclusive
        if i < len(self.bounds):
            self.bucket_counts[i] += times
        self.count += times
        self.sum += value * times

    def cumulative(self) -> list[tuple[str, int]]:
        """``(le, observations <= le)`` for every bound, then ``+Inf``."""
        return [(_short(le), n) for le, n in self._cumulative()]

    def _cumulative(self) -> list[tuple[float, int]]:
        out, running = [], 0
        for bound, n in zip(self.bounds, self.bucket_counts, strict=True):
            running += n
            out.append((bound, running))
        out.append((math.inf, self.count))
        return out

    def buckets(self) -> list[tuple[str, int]]:
        """:meth:`cumulative` with ``le`` as ``prometheus_client`` writes it (``1.0``)."""
        return [("+Inf" if math.isinf(le) else repr(float(le)), n)
                for le, n in self._cumulative()]


def _short(value: float) -> str:
    """A bound without a needless fraction (``1``, ``0.5``, ``+Inf``)."""
    if math.isinf(value):
        return "+Inf"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class _Families(Collector):
    """A one-shot collector: the families built for this scrape."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


class Exposition:
    """Metric families in the order added; :meth:`text` renders them.

    ``labels`` go on every sample (a server's ``model_name``, say); ``series`` variants
    take one label set per sample on top of them.
    """

    def __init__(self, labels: Mapping[str, str] | None = None) -> None:
        self._labels = dict(labels or {})
        self._families: list[Metric] = []

    def _keys(self, extra: Iterable[str] = ()) -> list[str]:
        return [*self._labels, *extra]

    def counter(self, name: str, help: str, value: float) -> None:
        """A counter family with one sample."""
        self.counter_series(name, help, [({}, value)])

    def labelled_counter(self, name: str, help: str, label: str,
                         values: Mapping[str, float]) -> None:
        """A counter family with one sample per value of ``label``."""
        self.counter_series(name, help, [({label: k}, v) for k, v in values.items()])

    def counter_series(self, name: str, help: str,
                       series: Iterable[tuple[Mapping[str, str], float]]) -> None:
        """A counter family with one sample per ``(labels, value)``."""
        rows = list(series)
        if not name.endswith("_total"):
            self._untyped(name, help, rows)
            return
        keys = self._keys(rows[0][0] if rows else ())
        family = CounterMetricFamily(name, help, labels=keys)
        for labels, value in rows:
            family.add_metric(self._values(keys, labels), value)
        self._families.append(family)

    def gauge(self, name: str, help: str, value: float) -> None:
        """A gauge family with one sample."""
        self.gauge_series(name, help, [({}, value)])

    def gauge_series(self, name: str, help: str,
                     series: Iterable[tuple[Mapping[str, str], float]]) -> None:
        """A gauge family with one sample per ``(labels, value)``."""
        rows = list(series)
        keys = self._keys(rows[0][0] if rows else ())
        family = GaugeMetricFamily(name, help, labels=keys)
        for labels, value in rows:
            family.add_metric(self._values(keys, labels), value)
        self._families.append(family)

    def histogram(self, name: str, help: str, hist: Histogram) -> None:
        """A histogram family: ``_bucket`` per bound, ``_sum`` and ``_count``."""
        keys = self._keys()
        family = HistogramMetricFamily(name, help, labels=keys)
        family.add_metric(self._values(keys, {}), hist.buckets(), hist.sum)
        self._families.append(family)

    def _untyped(self, name: str, help: str,
                 rows: list[tuple[Mapping[str, str], float]]) -> None:
        family = Metric(name, help, "unknown")
        for labels, value in rows:
            family.add_sample(name, {**self._labels, **labels}, value)
        self._families.append(family)

    def _values(self, keys: list[str], labels: Mapping[str, str]) -> list[str]:
        merged = {**self._labels, **labels}
        return [merged[k] for k in keys]

    def text(self) -> str:
        """The exposition in the text format 0.0.4."""
        return generate_latest(_Families(self._families)).decode()
