"""Summarise one endpoint's scrapes over the profiling window ``[start_ns, end_ns]``.

The window is bounded by the last scrape at or before ``start_ns`` and the first at or
after ``end_ns`` (:func:`window_scrapes`), so counters cover at least the whole window.

- **counter**: ``total``, the increase over the window, and ``rate``, total per second
  between the bounding scrapes. A drop in value is a reset (the server restarted) and
  counting resumes from zero: the increase is then the new value.
- **gauge**: avg, min, max, std (population), p1 ... p99 (linear interpolation between
  the closest ranks) of the values scraped inside the window (the bounding scrapes when
  none falls inside).
- **histogram**: the bucket increases over the window (reset-aware, as counters) give
  ``count``, ``sum``, ``avg`` and p50/p90/p95/p99 estimated as Prometheus'
  ``histogram_quantile`` does (:func:`histogram_quantile`).

Everything is per series (label set). Summaries and untyped families are left out.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence

import attrs

from aiperf.telemetry.families import ServerFamilies, detect, role_family
from aiperf.telemetry.prometheus import Family, Scrape

__all__ = ["GAUGE_STATS", "HISTOGRAM_QUANTILES", "MetricSummary", "SeriesStats", "TimePoint",
           "counter_increase", "gauge_stats", "histogram_quantile", "series_key",
           "server_latencies_ms", "summarise", "time_series", "window_scrapes"]

GAUGE_STATS = ("avg", "min", "max", "std", "p1", "p5", "p10", "p25", "p50", "p75", "p90",
               "p95", "p99")
HISTOGRAM_QUANTILES = ("p50", "p90", "p95", "p99")

LabelKey = tuple[tuple[str, str], ...]


@attrs.frozen
class SeriesStats:
    """The statistics of one series (label set) of a family."""

    labels: Mapping[str, str]
    stats: Mapping[str, float]


@attrs.frozen
class MetricSummary:
    """One family over the window: its type, help text, unit and per-series statistics."""

    name: str
    type: str
    description: str
    unit: str
    series: tuple[SeriesStats, ...]


@attrs.frozen
class TimePoint:
    """One scrape for plotting: each gauge's value and each counter's rate per second
    since the previous scrape, keyed by :func:`series_key`."""

    timestamp_ns: int
    values: Mapping[str, float]


def window_scrapes(scrapes: Sequence[Scrape], start_ns: int, end_ns: int) -> list[Scrape]:
    """The scrapes that cover ``[start_ns, end_ns]``: the last one at or before the start,
    those inside, and the first one at or after the end (``scrapes`` oldest first)."""
    before = [s for s in scrapes if s.timestamp_ns <= start_ns][-1:]
    inside = [s for s in scrapes if start_ns < s.timestamp_ns < end_ns]
    after = [s for s in scrapes if s.timestamp_ns >= end_ns][:1]
    return before + inside + after


def series_key(name: str, labels: Mapping[str, str]) -> str:
    """``name`` or ``name{a="1",b="2"}`` (labels sorted), the key of a series in the JSONL."""
    if not labels:
        return name
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def counter_increase(values: Sequence[float]) -> float:
    """How much a counter grew over ``values`` (oldest first); a drop is a reset, after
    which the counter counted up from zero to its new value."""
    return sum(b - a if b >= a else b for a, b in zip(values, values[1:], strict=False))


def _percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q`` (0..1) percentile of sorted values, interpolating between closest ranks."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def gauge_stats(values: Sequence[float]) -> dict[str, float]:
    """avg, min, max, std (population) and p1 ... p99 of ``values`` (not empty)."""
    ordered = sorted(values)
    out = {"avg": statistics.fmean(ordered), "min": ordered[0], "max": ordered[-1],
           "std": statistics.pstdev(ordered)}
    for name in GAUGE_STATS[4:]:
        out[name] = _percentile(ordered, int(name[1:]) / 100)
    return out


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float:
    """The ``q`` quantile of a histogram, as Prometheus' ``histogram_quantile`` estimates it.

    ``buckets`` are ``(upper bound, cumulative count)`` sorted by bound and ending with
    ``+Inf``. The rank ``q * total`` falls in a bucket, and the observations are assumed
    spread evenly within it: lower bound + width * (rank - count below) / count in bucket.
    The first bucket's lower bound is 0 (unless its upper bound is not positive, when
    that bound is the answer); a rank in the ``+Inf`` bucket gives the largest finite
    bound. NaN when there are no observations.
    """
    if not buckets or buckets[-1][1] <= 0:
        return math.nan
    rank = q * buckets[-1][1]
    below_bound, below_count = 0.0, 0.0
    for index, (bound, count) in enumerate(buckets):
        if count >= rank:
            if math.isinf(bound):
                return buckets[index - 1][0] if index else math.nan
            if index == 0 and bound <= 0:
                return bound
            in_bucket = count - below_count
            if in_bucket <= 0:
                return bound
            return below_bound + (bound - below_bound) * (rank - below_count) / in_bucket
        below_bound, below_count = bound, count
    return buckets[-1][0]


def _values(scrapes: Iterable[Scrape], family: str, sample: str | None = None,
            ) -> dict[LabelKey, list[float]]:
    """Each series' values over ``scrapes``, by label set (``sample`` picks one sample
    name, e.g. ``x_sum``; otherwise every sample of the family)."""
    out: dict[LabelKey, list[float]] = {}
    for scrape in scrapes:
        fam = scrape.families.get(family)
        for s in fam.samples if fam else ():
            if sample is None or s.name == sample:
                out.setdefault(tuple(sorted(s.labels.items())), []).append(s.value)
    return out


def _histogram_stats(scrapes: Sequence[Scrape], name: str) -> list[SeriesStats]:
    """Per series: the reset-aware increase of every bucket, ``_count`` and ``_sum``."""
    per_series: dict[LabelKey, list[dict[str, float]]] = {}
    for scrape in scrapes:
        fam = scrape.families.get(name)
        snapshot: dict[LabelKey, dict[str, float]] = {}
        for s in fam.samples if fam else ():
            labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            field = s.labels["le"] if s.name.endswith("_bucket") else s.name.rpartition("_")[2]
            snapshot.setdefault(labels, {})[field] = s.value
        for labels, fields in snapshot.items():
            per_series.setdefault(labels, []).append(fields)
    out = []
    for labels, snaps in per_series.items():
        delta: dict[str, float] = {}
        for before, after in zip(snaps, snaps[1:], strict=False):
            reset = after.get("count", 0.0) < before.get("count", 0.0)
            for field, value in after.items():
                base = 0.0 if reset else before.get(field, 0.0)
                delta[field] = delta.get(field, 0.0) + value - base
        count, total = delta.get("count", 0.0), delta.get("sum", 0.0)
        stats = {"count": count, "sum": total}
        if count > 0:
            buckets = sorted((float(le), n) for le, n in delta.items()
                             if le not in ("count", "sum"))
            stats["avg"] = total / count
            for q in HISTOGRAM_QUANTILES:
                value = histogram_quantile(int(q[1:]) / 100, buckets)
                if not math.isnan(value):
                    stats[q] = value
        out.append(SeriesStats(dict(labels), stats))
    return out


def _unit(family: Family) -> str:
    """The family's declared unit, else one read off its name (``..._seconds``)."""
    if family.unit:
        return family.unit
    for suffix, unit in (("seconds", "seconds"), ("tokens", "tokens"), ("requests", "requests"),
                         ("bytes", "bytes"), ("ratio", "ratio")):
        if family.name.endswith(("_" + suffix, ":" + suffix)):
            return unit
    return ""


def summarise(scrapes: Sequence[Scrape], start_ns: int, end_ns: int) -> dict[str, MetricSummary]:
    """Every counter, gauge and histogram of ``scrapes`` over the window, by family name
    (sorted); empty when fewer than one scrape covers it."""
    window = window_scrapes(scrapes, start_ns, end_ns)
    if not window:
        return {}
    inside = [s for s in window if start_ns <= s.timestamp_ns <= end_ns] or window
    seconds = (window[-1].timestamp_ns - window[0].timestamp_ns) / 1e9
    latest: dict[str, Family] = {}
    for scrape in window:
        latest.update(scrape.families)
    out: dict[str, MetricSummary] = {}
    for name in sorted(latest):
        family = latest[name]
        series: list[SeriesStats] = []
        if family.type == "counter":
            for labels, values in _values(window, name).items():
                total = counter_increase(values)
                series.append(SeriesStats(dict(labels), {
                    "total": total, "rate": total / seconds if seconds > 0 else 0.0}))
        elif family.type == "gauge":
            series = [SeriesStats(dict(labels), gauge_stats(values))
                      for labels, values in _values(inside, name).items()]
        elif family.type == "histogram":
            series = _histogram_stats(window, name)
        if series:
            out[name] = MetricSummary(name, family.type, family.help, _unit(family),
                                      tuple(series))
    return out


def server_latencies_ms(scrapes: Sequence[Scrape], start_ns: int, end_ns: int,
                        server: ServerFamilies | None = None) -> dict[str, dict[str, float]]:
    """The server's own TTFT, ITL and end-to-end latency over the window, in ms, to put
    beside the client's: ``{"ttft": {"avg": ..., "p50": ...}, "itl": ..., "e2e": ...}``,
    from the first series of each role's histogram (roles the server lacks are absent)."""
    window = window_scrapes(scrapes, start_ns, end_ns)
    if not window:
        return {}
    server = server or detect(window[-1].families)
    if server is None:
        return {}
    out: dict[str, dict[str, float]] = {}
    for role, key in (("ttft_seconds", "ttft"), ("itl_seconds", "itl"), ("e2e_seconds", "e2e")):
        name = role_family(server, role, window[-1].families)
        if name is None:
            continue
        series = _histogram_stats(window, name)
        if series and series[0].stats["count"] > 0:
            scale = 1e3 * server.roles[role].scale
            out[key] = {k: v * scale for k, v in series[0].stats.items()
                        if k == "avg" or k in HISTOGRAM_QUANTILES}
            out[key]["count"] = series[0].stats["count"]
    return out


def time_series(scrapes: Sequence[Scrape]) -> list[TimePoint]:
    """Per scrape: each gauge series' value, each counter series' rate per second since
    the previous scrape (reset-aware), and each histogram series' mean observation over
    that interval (the growth of its ``_sum`` over that of its ``_count``; absent when
    nothing was observed). Rates and means are absent on the first scrape."""
    points = []
    previous: Scrape | None = None
    for scrape in scrapes:
        values: dict[str, float] = {}
        for name, family in scrape.families.items():
            if family.type == "histogram":
                if previous is not None:
                    values.update(_interval_means(previous, name, family))
                continue
            if family.type not in ("gauge", "counter"):
                continue
            for s in family.samples:
                key = series_key(name, s.labels)
                if family.type == "gauge":
                    values[key] = s.value
                elif previous is not None:
                    rate = _rate(previous, name, s.labels, s.value, scrape.timestamp_ns)
                    if rate is not None:
                        values[key] = rate
        points.append(TimePoint(scrape.timestamp_ns, values))
        previous = scrape
    return points


def _interval_means(previous: Scrape, name: str, family: Family) -> dict[str, float]:
    """Each series of histogram ``name``: its mean observation since ``previous``."""
    before = previous.families.get(name)
    if before is None:
        return {}
    out = {}
    for s in family.samples:
        if not s.name.endswith("_count"):
            continue
        labels = s.labels
        count = _sample(family, name + "_count", labels)
        total = _sample(family, name + "_sum", labels)
        count0 = _sample(before, name + "_count", labels)
        total0 = _sample(before, name + "_sum", labels)
        if None in (count, total, count0, total0):
            continue
        assert count is not None and total is not None
        assert count0 is not None and total0 is not None
        observed = counter_increase([count0, count])
        if observed > 0:
            out[series_key(name, labels)] = counter_increase([total0, total]) / observed
    return out


def _sample(family: Family, sample_name: str, labels: Mapping[str, str]) -> float | None:
    return next((s.value for s in family.samples
                 if s.name == sample_name and s.labels == labels), None)


def _rate(previous: Scrape, name: str, labels: Mapping[str, str], value: float,
          now_ns: int) -> float | None:
    """A counter's rate per second between ``previous`` and now; None when the series is
    new or no time passed."""
    fam = previous.families.get(name)
    before = next((s.value for s in fam.samples if s.labels == labels), None) if fam else None
    seconds = (now_ns - previous.timestamp_ns) / 1e9
    if before is None or seconds <= 0:
        return None
    return counter_increase([before, value]) / seconds
