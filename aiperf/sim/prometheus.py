"""The Prometheus text exposition format (0.0.4): histograms and a writer for ``/metrics``.

Just what the simulated servers need, so the simulator does not depend on
``prometheus_client``: counters, gauges and cumulative histograms, with ``# HELP`` and
``# TYPE`` lines, label values escaped as the format requires.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Histogram:
    """Observations counted into fixed buckets (upper bounds, ``le``), plus sum and count."""

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
        out, running = [], 0
        for bound, n in zip(self.bounds, self.bucket_counts, strict=True):
            running += n
            out.append((format_number(bound), running))
        out.append(("+Inf", self.count))
        return out


def format_number(value: float) -> str:
    """A sample value as the format writes it: integers without a fraction."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


class Exposition:
    """Metric families in the order added; :meth:`text` renders them.

    ``labels`` go on every sample (a server's ``model_name``, say).
    """

    def __init__(self, labels: Mapping[str, str] | None = None) -> None:
        self._labels = dict(labels or {})
        self._lines: list[str] = []

    def _family(self, name: str, kind: str, help: str) -> None:
        self._lines.append(f"# HELP {name} {help}")
        self._lines.append(f"# TYPE {name} {kind}")

    def _sample(self, name: str, value: float, extra: Mapping[str, str] | None = None) -> None:
        labels = {**self._labels, **(extra or {})}
        self._lines.append(f"{name}{_labels(labels)} {format_number(value)}")

    def counter(self, name: str, help: str, value: float) -> None:
        """A counter family with one sample."""
        self._family(name, "counter", help)
        self._sample(name, value)

    def labelled_counter(self, name: str, help: str, label: str,
                         values: Mapping[str, float]) -> None:
        """A counter family with one sample per value of ``label``."""
        self._family(name, "counter", help)
        for key, value in values.items():
            self._sample(name, value, {label: key})

    def gauge(self, name: str, help: str, value: float) -> None:
        """A gauge family with one sample."""
        self._family(name, "gauge", help)
        self._sample(name, value)

    def histogram(self, name: str, help: str, hist: Histogram) -> None:
        """A histogram family: ``_bucket`` per bound, ``_sum`` and ``_count``."""
        self._family(name, "histogram", help)
        for le, n in hist.cumulative():
            self._sample(f"{name}_bucket", n, {"le": le})
        self._sample(f"{name}_sum", hist.sum)
        self._sample(f"{name}_count", hist.count)

    def text(self) -> str:
        """The exposition, one line each, ending with a newline."""
        return "\n".join(self._lines) + "\n"
