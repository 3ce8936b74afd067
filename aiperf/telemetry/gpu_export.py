"""``gpu_telemetry_export.jsonl``: every GPU sample of a run, one JSON object a line, in
the shape NVIDIA AIPerf 0.13 writes, so that tools reading its runs read ours.

A line holds the GPU's identity and, under ``telemetry_data``, its readings in the
reference's units: W, MJ for the cumulative energy counter, %, GB (10^9 bytes) for
memory, MHz, degrees C. A reading the source did not give is left out of
``telemetry_data`` rather than written as null.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from aiperf.artifacts.atomic import write_chunks_atomic
from aiperf.telemetry.gpu import GpuSample

__all__ = ["GPU_TELEMETRY_FILE", "gpu_record", "read_gpu_export", "sample_from_record",
           "write_gpu_export"]

GPU_TELEMETRY_FILE = "gpu_telemetry_export.jsonl"

_MIB_TO_GB = 1024 * 1024 / 1e9
_J_TO_MJ = 1e-6

#: telemetry_data key -> GpuSample field, and the factor from the field's unit to the
#: key's. ``sm_clock_frequency`` is the reference's name for the SM clock.
_TELEMETRY: Mapping[str, tuple[str, float]] = {
    "gpu_power_usage": ("power_w", 1.0),
    "energy_consumption": ("energy_j", _J_TO_MJ),
    "gpu_utilization": ("utilization_pct", 1.0),
    "gpu_memory_used": ("memory_used_mib", _MIB_TO_GB),
    "total_gpu_memory": ("memory_total_mib", _MIB_TO_GB),
    "sm_clock_frequency": ("sm_clock_mhz", 1.0),
    "gpu_temperature": ("temperature_c", 1.0),
}


def gpu_record(sample: GpuSample) -> dict[str, Any]:
    """One export line as a mapping. ``dcgm_url`` is the source: an exporter's URL, or
    ``"nvml"`` for a local poll."""
    data = {}
    for key, (field, factor) in _TELEMETRY.items():
        value = getattr(sample, field)
        if value is not None:
            data[key] = value * factor
    return {
        "timestamp_ns": sample.timestamp_ns,
        "dcgm_url": sample.source,
        "gpu_index": sample.gpu_index,
        "gpu_model_name": sample.model_name,
        "gpu_uuid": sample.uuid,
        "pci_bus_id": sample.pci_bus_id,
        "device": sample.device,
        "hostname": sample.hostname,
        "telemetry_data": data,
    }


def gpu_export_lines(samples: Iterable[GpuSample]) -> Iterator[str]:
    """The export's lines, oldest first (newline included)."""
    ordered = sorted(samples, key=lambda s: (s.timestamp_ns, s.source, s.gpu_index))
    return (json.dumps(gpu_record(s), separators=(",", ":")) + "\n" for s in ordered)


def write_gpu_export(path: str | os.PathLike[str], samples: Iterable[GpuSample]) -> None:
    """Replace ``path`` with ``samples``, oldest first, atomically (a reader never sees
    half a file). Samples are streamed, not held as one string."""
    write_chunks_atomic(path, gpu_export_lines(samples))


def sample_from_record(record: Mapping[str, Any]) -> GpuSample:
    """The sample an export line holds; KeyError or ValueError when it is not one."""
    data = record.get("telemetry_data") or {}
    fields = {field: float(data[key]) / factor
              for key, (field, factor) in _TELEMETRY.items() if data.get(key) is not None}
    return GpuSample(
        timestamp_ns=int(record["timestamp_ns"]), source=str(record.get("dcgm_url", "")),
        gpu_index=int(record["gpu_index"]), uuid=str(record.get("gpu_uuid", "")),
        model_name=str(record.get("gpu_model_name", "")),
        pci_bus_id=str(record.get("pci_bus_id", "")), device=str(record.get("device", "")),
        hostname=str(record.get("hostname", "")), **fields)


def read_gpu_export(path: str | os.PathLike[str]) -> list[GpuSample]:
    """The samples of an export file, ours or the reference's. Blank lines are skipped;
    a line that is not a sample raises ValueError naming the file and line."""
    out = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise TypeError("not a JSON object")
                out.append(sample_from_record(record))
            except (ValueError, KeyError, TypeError) as e:
                msg = f"{path}:{number}: not a GPU telemetry sample ({e})"
                raise ValueError(msg) from None
    return out
