"""GPU samples, from a DCGM exporter's scrape or an NVML poll, and their summary over the
profiling window: power, energy, utilisation, memory, and what the run's output tokens
cost in joules and earned per watt.

Everything here is data in, data out: no clock, no I/O, no thread.

Each reading is treated as a point on a piecewise-linear curve through time. The window
[start, end] is cut out of that curve (by interpolation between the readings either side
of each edge, or by holding the nearest reading where the samples do not reach an edge),
so that a poll taken just before the window opens counts for the part of the interval
that falls inside it, and a reading just inside an edge is not made to stand for the
whole interval.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Literal

import attrs

from aiperf.telemetry.prometheus import Family, Scrape

__all__ = ["GpuStats", "GpuSample", "GpuSummary", "gpu_summary", "samples_from_dcgm"]

_NS_PER_S = 1_000_000_000

#: DCGM exporter family -> GpuSample field, and the factor to the field's unit.
_DCGM_FIELDS: Mapping[str, tuple[str, float]] = {
    "DCGM_FI_DEV_POWER_USAGE": ("power_w", 1.0),
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": ("energy_j", 1e-3),  # mJ since boot
    "DCGM_FI_DEV_GPU_UTIL": ("utilization_pct", 1.0),
    "DCGM_FI_DEV_FB_USED": ("memory_used_mib", 1.0),
    "DCGM_FI_DEV_SM_CLOCK": ("sm_clock_mhz", 1.0),
    "DCGM_FI_DEV_GPU_TEMP": ("temperature_c", 1.0),
}
#: The framebuffer is used + free + reserved (what nvidia-smi calls total); the exporter
#: has no total family of its own in its default set.
_DCGM_MEMORY_PARTS = ("DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_FB_RESERVED")


@attrs.frozen
class GpuSample:
    """One GPU at one moment. ``source`` is the exporter's URL, or ``"nvml"``.

    ``energy_j`` is the driver's cumulative counter (since boot or driver load), so only
    differences between two samples of one GPU mean anything. A reading the source did
    not give is None.
    """

    timestamp_ns: int
    source: str
    gpu_index: int
    uuid: str = ""
    model_name: str = ""
    pci_bus_id: str = ""
    device: str = ""
    hostname: str = ""
    power_w: float | None = None
    energy_j: float | None = None
    utilization_pct: float | None = None
    memory_used_mib: float | None = None
    memory_total_mib: float | None = None
    sm_clock_mhz: float | None = None
    temperature_c: float | None = None

    @property
    def key(self) -> str:
        """Which GPU this is, across sources: its UUID, else its index at its source."""
        return self.uuid or f"{self.source}#{self.gpu_index}"


def samples_from_dcgm(scrape: Scrape) -> list[GpuSample]:
    """One sample per GPU that a DCGM exporter reported in ``scrape``, by GPU index.

    Series without a numeric ``gpu`` label are not per GPU and are skipped. Where a GPU
    has several series of one family (MIG instances, or one per pod in Kubernetes), the
    first one counts: the device-level readings are the same in each.
    """
    labels_by_gpu: dict[int, Mapping[str, str]] = {}
    values: dict[int, dict[str, float]] = {}
    for name in (*_DCGM_FIELDS, *_DCGM_MEMORY_PARTS):
        family = scrape.families.get(name)
        if family is None:
            continue
        for gpu, labels, value in _per_gpu(family):
            labels_by_gpu.setdefault(gpu, labels)
            values.setdefault(gpu, {}).setdefault(name, value)
    out = []
    for gpu in sorted(labels_by_gpu):
        labels, readings = labels_by_gpu[gpu], values[gpu]
        fields = {field: readings[name] * factor
                  for name, (field, factor) in _DCGM_FIELDS.items() if name in readings}
        total = None
        if "DCGM_FI_DEV_FB_USED" in readings and "DCGM_FI_DEV_FB_FREE" in readings:
            total = sum(readings.get(name, 0.0) for name in _DCGM_MEMORY_PARTS)
        out.append(GpuSample(
            timestamp_ns=scrape.timestamp_ns, source=scrape.url, gpu_index=gpu,
            uuid=labels.get("UUID", ""), model_name=labels.get("modelName", ""),
            pci_bus_id=labels.get("pci_bus_id", ""), device=labels.get("device", ""),
            hostname=labels.get("Hostname", ""), memory_total_mib=total, **fields))
    return out


def _per_gpu(family: Family) -> Iterable[tuple[int, Mapping[str, str], float]]:
    for sample in family.samples:
        try:
            gpu = int(sample.labels.get("gpu", ""))
        except ValueError:
            continue
        yield gpu, sample.labels, sample.value


# --------------------------------------------------------------------------- summary


@attrs.frozen
class GpuStats:
    """One GPU over the profiling window. ``energy_from`` says how ``energy_j`` was
    found: the difference of the driver's energy counter, or the integral of power."""

    key: str
    gpu_index: int
    uuid: str
    model_name: str
    source: str
    hostname: str
    samples: int
    power_avg_w: float | None
    power_max_w: float | None
    energy_j: float | None
    energy_from: Literal["counter", "power"] | None
    utilization_avg_pct: float | None
    memory_used_max_mib: float | None
    memory_total_mib: float | None
    sm_clock_avg_mhz: float | None
    temperature_max_c: float | None


@attrs.frozen
class GpuSummary:
    """All GPUs over the profiling window, and what the run's output cost.

    Totals add the GPUs up: ``power_avg_w`` and ``energy_j`` are sums, ``power_max_w``
    and ``memory_used_max_mib`` the peak of the summed curves (not the sum of each
    GPU's peak, which may never have happened at once), ``utilization_avg_pct`` the
    mean over GPUs. A figure that cannot be computed is None.
    """

    window_s: float
    gpus: tuple[GpuStats, ...]
    power_avg_w: float | None
    power_max_w: float | None
    energy_j: float | None
    utilization_avg_pct: float | None
    memory_used_max_mib: float | None
    output_tokens: int | None
    energy_per_output_token_j: float | None
    output_tokens_per_s_per_w: float | None


_Points = Sequence[tuple[int, float]]


def gpu_summary(samples: Iterable[GpuSample], start_ns: int, end_ns: int,
                output_tokens: int | None = None) -> GpuSummary:
    """Summarise ``samples`` over the profiling window ``[start_ns, end_ns]``.

    ``output_tokens`` is the run's total over the same window; with it come the energy
    per output token (J/token) and the output token rate per watt of average total
    power ((tokens/s)/W). A GPU whose samples do not cover the window at all (all of
    them before it, or all after) is left out.
    """
    by_gpu: dict[str, list[GpuSample]] = {}
    for sample in sorted(samples, key=lambda s: s.timestamp_ns):
        by_gpu.setdefault(sample.key, []).append(sample)
    window_s = max(end_ns - start_ns, 0) / _NS_PER_S
    gpus: list[GpuStats] = []
    power_curves: list[_Points] = []
    memory_curves: list[_Points] = []
    for key, series in by_gpu.items():
        if not _covers(series, start_ns, end_ns):
            continue
        power = _window(_points(series, lambda s: s.power_w), start_ns, end_ns)
        memory = _window(_points(series, lambda s: s.memory_used_mib), start_ns, end_ns)
        power_curves += [power] if power else []
        memory_curves += [memory] if memory else []
        gpus.append(_gpu_stats(key, series, start_ns, end_ns, power, memory))
    power_avg = _sum_or_none(g.power_avg_w for g in gpus)
    energy = _sum_or_none(g.energy_j for g in gpus)
    utilisations = [g.utilization_avg_pct for g in gpus if g.utilization_avg_pct is not None]
    per_token = per_watt = None
    if energy is not None and output_tokens:
        per_token = energy / output_tokens
    if power_avg and output_tokens is not None and window_s > 0:
        per_watt = output_tokens / window_s / power_avg
    return GpuSummary(
        window_s=window_s, gpus=tuple(gpus), power_avg_w=power_avg,
        power_max_w=_peak_of_sum(power_curves), energy_j=energy,
        utilization_avg_pct=sum(utilisations) / len(utilisations) if utilisations else None,
        memory_used_max_mib=_peak_of_sum(memory_curves), output_tokens=output_tokens,
        energy_per_output_token_j=per_token, output_tokens_per_s_per_w=per_watt)


def _gpu_stats(key: str, series: Sequence[GpuSample], start_ns: int, end_ns: int,
               power: _Points, memory: _Points) -> GpuStats:
    first = series[0]
    energy_from: Literal["counter", "power"] | None = None
    energy = _counter_delta(_points(series, lambda s: s.energy_j), start_ns, end_ns)
    if energy is not None:
        energy_from = "counter"
    elif power:
        energy, energy_from = _integral(power) / _NS_PER_S, "power"
    totals = [s.memory_total_mib for s in series if s.memory_total_mib is not None]
    temperatures = _window(_points(series, lambda s: s.temperature_c), start_ns, end_ns)
    return GpuStats(
        key=key, gpu_index=first.gpu_index, uuid=first.uuid, model_name=first.model_name,
        source=first.source, hostname=first.hostname,
        samples=sum(start_ns <= s.timestamp_ns <= end_ns for s in series),
        power_avg_w=_mean(power), power_max_w=_max(power), energy_j=energy,
        energy_from=energy_from,
        utilization_avg_pct=_mean(_window(_points(series, lambda s: s.utilization_pct),
                                          start_ns, end_ns)),
        memory_used_max_mib=_max(memory), memory_total_mib=max(totals) if totals else None,
        sm_clock_avg_mhz=_mean(_window(_points(series, lambda s: s.sm_clock_mhz),
                                       start_ns, end_ns)),
        temperature_max_c=_max(temperatures))


def _covers(series: Sequence[GpuSample], start_ns: int, end_ns: int) -> bool:
    """Whether the samples say anything about the window: one inside it, or readings on
    both sides of it (an interval longer than the window)."""
    return (any(start_ns <= s.timestamp_ns <= end_ns for s in series)
            or (series[0].timestamp_ns < start_ns and series[-1].timestamp_ns > end_ns))


def _points(series: Sequence[GpuSample],
            field: Callable[[GpuSample], float | None]) -> _Points:
    out = []
    for sample in series:
        value = field(sample)
        if value is not None and math.isfinite(value):
            out.append((sample.timestamp_ns, value))
    return out


def _at(points: _Points, t: int) -> float:
    """The curve's value at ``t``: linear between readings, the nearest one outside them."""
    if t <= points[0][0]:
        return points[0][1]
    if t >= points[-1][0]:
        return points[-1][1]
    # A bisection, not a scan: a long run at the default interval has thousands of
    # readings per GPU, and the peak of the summed curves asks for every one of them.
    i = bisect.bisect_right(points, t, key=lambda p: p[0])
    (t0, v0), (t1, v1) = points[i - 1], points[i]
    return v0 + (v1 - v0) * (t - t0) / (t1 - t0)


def _window(points: _Points, start_ns: int, end_ns: int) -> _Points:
    """The vertices of the curve cut to ``[start_ns, end_ns]``; empty without readings."""
    if not points or end_ns < start_ns:
        return []
    inside = [(t, v) for t, v in points if start_ns < t < end_ns]
    return [(start_ns, _at(points, start_ns)), *inside, (end_ns, _at(points, end_ns))]


def _integral(window: _Points) -> float:
    """Trapezoid area under the cut curve, in value x ns."""
    return sum((t1 - t0) * (v0 + v1) / 2
               for (t0, v0), (t1, v1) in zip(window, window[1:], strict=False))


def _mean(window: _Points) -> float | None:
    """Time-weighted mean of the cut curve (its one value for a zero-length window)."""
    if not window:
        return None
    span = window[-1][0] - window[0][0]
    return _integral(window) / span if span > 0 else window[0][1]


def _max(window: _Points) -> float | None:
    return max(v for _, v in window) if window else None


def _counter_delta(points: _Points, start_ns: int, end_ns: int) -> float | None:
    """The counter's growth over the window; None with fewer than two readings that
    reach into it, or if the counter went backwards (a driver reload resets it), so
    that power is integrated instead. Readings that do not bracket an edge leave out
    the time between that edge and the nearest reading: the pollers start before the
    window opens and take a last reading after it closes, so that gap stays empty."""
    if len(points) < 2 or points[-1][0] <= start_ns or points[0][0] >= end_ns:
        return None
    if any(v1 < v0 for (_, v0), (_, v1) in zip(points, points[1:], strict=False)):
        return None
    return _at(points, end_ns) - _at(points, start_ns)


def _peak_of_sum(curves: Sequence[_Points]) -> float | None:
    """The highest value of the sum of piecewise-linear curves: it lies at a vertex of
    one of them, so evaluating the sum at every vertex finds it."""
    if not curves:
        return None
    times = sorted({t for curve in curves for t, _ in curve})
    return max(sum(_at(curve, t) for curve in curves) for t in times)


def _sum_or_none(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None
